"""A cell value in four SQL columns (type, number, text, flag), as every service stores it.

``value_type`` is 0 empty, 1 number, 2 string, 3 boolean, 4 error (its code in
the text column); the schemas of import_svc, eval_svc and validation_svc all
use this layout, so the encoding lives here once.
"""

from __future__ import annotations

from typing import Final

from calcwire.values import CellValue, XlError

__all__ = [
    "VALUE_BOOLEAN",
    "VALUE_EMPTY",
    "VALUE_ERROR",
    "VALUE_NUMBER",
    "VALUE_STRING",
    "decode_value",
    "encode_value",
]

VALUE_EMPTY: Final = 0
VALUE_NUMBER: Final = 1
VALUE_STRING: Final = 2
VALUE_BOOLEAN: Final = 3
VALUE_ERROR: Final = 4


def encode_value(value: CellValue) -> tuple[int, float | None, str | None, bool | None]:
    """The value's (type, number, text, flag) columns."""
    t = type(value)
    if t is float or t is int:
        return VALUE_NUMBER, float(value), None, None  # type: ignore[arg-type]
    if t is str:
        return VALUE_STRING, None, value, None  # type: ignore[return-value]
    if t is bool:
        return VALUE_BOOLEAN, None, None, value  # type: ignore[return-value]
    if t is XlError:
        return VALUE_ERROR, None, value.code, None  # type: ignore[union-attr]
    return VALUE_EMPTY, None, None, None


def decode_value(kind: int, number: float | None, text: str | None,
                 flag: bool | None) -> CellValue:
    """The value those columns hold; an unknown error code reads as #VALUE!."""
    if kind == VALUE_NUMBER:
        return number
    if kind == VALUE_STRING:
        return text
    if kind == VALUE_BOOLEAN:
        return flag
    if kind == VALUE_ERROR:
        try:
            return XlError(text or "#VALUE!")
        except ValueError:
            return XlError.VALUE
    return None

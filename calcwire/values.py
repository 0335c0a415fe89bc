"""Excel cell values as plain Python objects.

A cell value is one of:

- ``float`` (or ``int``): a number; dates are Excel serial numbers;
- ``str``: text;
- ``bool``: a logical (check ``type(v) is bool`` before numbers: bool is an int);
- :class:`XlError`: an Excel error such as ``#DIV/0!``;
- ``None``: an empty cell.

Everything that moves cell values around (the workbook reader, the engine, the
stores, the comparison rules, the wire format) uses these types, so that no
layer needs to convert another layer's representation.
"""

from __future__ import annotations

from typing import ClassVar, Final, TypeAlias, final

__all__ = [
    "ERROR_CODES",
    "CellValue",
    "XlError",
    "is_number",
    "value_kind",
]


@final
class XlError:
    """An Excel error value; one shared instance per code, so ``is`` compares them."""

    __slots__ = ("code",)
    _instances: ClassVar[dict[str, XlError]] = {}

    code: str

    def __new__(cls, code: str) -> XlError:
        known = cls._instances.get(code)
        if known is not None:
            return known
        if code not in ERROR_CODES:
            raise ValueError(f"not an Excel error code: {code!r}")
        obj = super().__new__(cls)
        object.__setattr__(obj, "code", code)
        cls._instances[code] = obj
        return obj

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("XlError is immutable")

    def __reduce__(self) -> tuple[type[XlError], tuple[str]]:
        return (XlError, (self.code,))

    def __repr__(self) -> str:
        return f"XlError({self.code!r})"

    def __str__(self) -> str:
        return self.code

    # Class-level shortcuts, filled in below: XlError.DIV0, XlError.NA, ...
    NULL: ClassVar[XlError]
    DIV0: ClassVar[XlError]
    VALUE: ClassVar[XlError]
    REF: ClassVar[XlError]
    NAME: ClassVar[XlError]
    NUM: ClassVar[XlError]
    NA: ClassVar[XlError]
    GETTING_DATA: ClassVar[XlError]
    SPILL: ClassVar[XlError]
    CALC: ClassVar[XlError]


#: Every error code Excel writes into a file, in ERROR.TYPE order first.
ERROR_CODES: Final[tuple[str, ...]] = (
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#UNKNOWN!",
    "#BUSY!",
    "#PYTHON!",
)

XlError.NULL = XlError("#NULL!")
XlError.DIV0 = XlError("#DIV/0!")
XlError.VALUE = XlError("#VALUE!")
XlError.REF = XlError("#REF!")
XlError.NAME = XlError("#NAME?")
XlError.NUM = XlError("#NUM!")
XlError.NA = XlError("#N/A")
XlError.GETTING_DATA = XlError("#GETTING_DATA")
XlError.SPILL = XlError("#SPILL!")
XlError.CALC = XlError("#CALC!")

CellValue: TypeAlias = float | int | str | bool | XlError | None


def is_number(value: CellValue) -> bool:
    """True for numbers, False for booleans (which Python counts as ints)."""
    t = type(value)
    return t is float or t is int


def value_kind(value: CellValue) -> str:
    """The kind of a value: ``number``, ``string``, ``boolean``, ``error`` or ``empty``."""
    t = type(value)
    if t is float or t is int:
        return "number"
    if t is str:
        return "string"
    if t is bool:
        return "boolean"
    if t is XlError:
        return "error"
    if value is None:
        return "empty"
    raise TypeError(f"not a cell value: {value!r}")

"""The `formulas` package's function library as a fallback, imported lazily.

Functions the engine does not implement natively (CONVERT, the BASES family,
statistical distributions, complex numbers...) are called through this
adapter: our values are converted to formulas' conventions (numpy object
arrays, its XlError, its EMPTY) and the result back. Only the submodule that
holds the function is imported, and only when a formula needs it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any, Final

from calcwire.values import XlError
from eval_svc.engine.functions._formulas_names import FORMULAS_FUNCTIONS
from eval_svc.engine.functions._registry import MAX_ARGS, FunctionSpec
from eval_svc.engine.runtime import NA, VALUE, Array, Lambda, MultiRef, Omitted, Ref

__all__ = ["fallback_spec", "has_fallback"]

# Functions formulas implements on its own reference objects or lambda machinery:
# never routed through the adapter (they are native, or not supported).
_DENIED: Final = frozenset(
    {
        "ROW",
        "COLUMN",
        "ROWS",
        "COLUMNS",
        "OFFSET",
        "INDEX",
        "INDIRECT",
        "ISREF",
        "AREAS",
        "CELL",
        "IF",
        "IFS",
        "IFERROR",
        "IFNA",
        "SWITCH",
        "CHOOSE",
        "LAMBDA",
        "LET",
        "MAP",
        "REDUCE",
        "SCAN",
        "BYROW",
        "BYCOL",
        "MAKEARRAY",
        "SINGLE",
        "ISFORMULA",
        "FORMULATEXT",
        "DUMMYFUNCTION",
        "TRIMRANGE",
        "GROUPBY",
        "PIVOTBY",
    }
)

_specs: dict[str, FunctionSpec] = {}


def has_fallback(name: str) -> bool:
    return name in FORMULAS_FUNCTIONS and name not in _DENIED


def fallback_spec(name: str) -> FunctionSpec | None:
    """A FunctionSpec calling formulas' implementation, or None if it has none."""
    if not has_fallback(name):
        return None
    spec = _specs.get(name)
    if spec is None:
        module, key = FORMULAS_FUNCTIONS[name]
        spec = FunctionSpec(
            name, _adapter(module, key), "", "r", 0, MAX_ARGS, name in _VOLATILE, False, "x", False
        )
        _specs[name] = spec
    return spec


_VOLATILE: Final = frozenset({"RAND", "RANDBETWEEN", "NOW", "TODAY", "RANDARRAY"})


class _Formulas:
    """formulas' value conventions, imported on first use."""

    def __init__(self) -> None:
        import numpy as np
        import schedula as sh  # type: ignore[import-untyped]
        from formulas.tokens import operand  # type: ignore[import-untyped]

        self.np = np
        self.empty = sh.EMPTY
        self.errors = operand.Error.errors
        self.error_type = operand.XlError


_conv: list[_Formulas] = []


def _formulas() -> _Formulas:
    if not _conv:
        _conv.append(_Formulas())
    return _conv[0]


def _to_formulas(value: Any, f: _Formulas) -> Any:
    t = type(value)
    if t is Ref and value.is_cell:
        return _scalar_to_formulas(value.first(), f)
    if t is Ref or t is Array:
        rows = value.bounded_rows() if t is Ref else value.rows
        if not rows or not rows[0]:
            rows = [[None]]
        arr = f.np.empty((len(rows), len(rows[0])), dtype=object)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                arr[i, j] = _scalar_to_formulas(v, f)
        return arr
    if t is MultiRef:
        raise _Unconvertible
    if t is Lambda:
        raise _Unconvertible
    return _scalar_to_formulas(value, f)


def _scalar_to_formulas(v: Any, f: _Formulas) -> Any:
    if v is None or type(v) is Omitted:
        return f.empty
    if isinstance(v, XlError):
        return f.errors.get(v.code, f.errors["#VALUE!"])
    if type(v) is int:
        return float(v)
    return v


def _from_formulas(value: Any, f: _Formulas) -> Any:
    np = f.np
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _scalar_from_formulas(value.item(), f)
        if value.ndim == 1:
            value = value.reshape(1, -1)
        if value.size == 0:
            return NA
        if value.shape == (1, 1):
            return _scalar_from_formulas(value[0, 0], f)
        return Array([[_scalar_from_formulas(v, f) for v in row] for row in value.tolist()])
    return _scalar_from_formulas(value, f)


def _scalar_from_formulas(v: Any, f: _Formulas) -> Any:
    np = f.np
    if v is f.empty or v is None:
        return None
    if isinstance(v, f.error_type):
        try:
            return XlError(str(v))
        except ValueError:
            return VALUE
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | float | np.integer | np.floating):
        x = float(v)
        if not math.isfinite(x):
            return XlError.NUM
        return x
    if isinstance(v, str):
        return v
    if isinstance(v, np.ndarray):
        return _from_formulas(v, f)
    return VALUE


class _Unconvertible(Exception):
    pass


def _adapter(module: str, key: str) -> Callable[..., Any]:
    impl: list[Callable[..., Any]] = []

    def call(*args: Any) -> Any:
        f = _formulas()
        if not impl:
            mod = importlib.import_module(f"formulas.functions.{module}")
            impl.append(mod.FUNCTIONS[key])
        try:
            converted = [_to_formulas(a, f) for a in args]
        except _Unconvertible:
            return VALUE
        try:
            with f.np.errstate(all="ignore"):
                result = impl[0](*converted)
        except Exception:  # noqa: BLE001 - a library failure is Excel's #VALUE!
            return VALUE
        return _from_formulas(result, f)

    call.__name__ = f"formulas_{key}"
    return call

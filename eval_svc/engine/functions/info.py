"""Information functions (ISBLANK, ISNUMBER, ISERROR, TYPE, N, NA, ERROR.TYPE...)."""

from __future__ import annotations

from typing import Any

from calcwire.values import ERROR_CODES, XlError
from eval_svc.engine.functions._helpers import num, safe
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import NA, VALUE, Array, Lambda, MultiRef, Ref, text_to_number


@register("ISBLANK", "v")
def isblank(x: Any) -> Any:
    return x is None


@register("ISERROR", "v")
def iserror(x: Any) -> Any:
    return isinstance(x, XlError)


@register("ISERR", "v")
def iserr(x: Any) -> Any:
    return isinstance(x, XlError) and x is not NA


@register("ISNA", "v")
def isna(x: Any) -> Any:
    return x is NA


@register("ISNUMBER", "v")
def isnumber(x: Any) -> Any:
    return type(x) is float or type(x) is int


@register("ISTEXT", "v")
def istext(x: Any) -> Any:
    return type(x) is str


@register("ISNONTEXT", "v")
def isnontext(x: Any) -> Any:
    return type(x) is not str


@register("ISLOGICAL", "v")
def islogical(x: Any) -> Any:
    return type(x) is bool


def _parity(x: Any) -> Any:
    if type(x) is bool:
        return VALUE
    if type(x) is str:
        n = text_to_number(x)
        if isinstance(n, XlError):
            return n
        x = n
    return int(num(x)) % 2


@register("ISEVEN", "s")
@safe
def iseven(x: Any) -> Any:
    p = _parity(x)
    return p if isinstance(p, XlError) else p == 0


@register("ISODD", "s")
@safe
def isodd(x: Any) -> Any:
    p = _parity(x)
    return p if isinstance(p, XlError) else p == 1


@register("ISREF", "r")
def isref(x: Any) -> Any:
    return type(x) is Ref or type(x) is MultiRef


@register("ISFORMULA", "r", context=True)
def isformula(ctx: Any, key: int, x: Any) -> Any:
    if type(x) is not Ref:
        return XlError.VALUE if not isinstance(x, XlError) else x
    return ctx.is_formula((x.sheet << 36) | (x.r1 << 15) | x.c1)


@register("FORMULATEXT", "r", context=True)
def formulatext(ctx: Any, key: int, x: Any) -> Any:
    if type(x) is not Ref:
        return NA
    text = ctx.formula_text((x.sheet << 36) | (x.r1 << 15) | x.c1)
    return NA if text is None else "=" + text


@register("N", "r")
def xn(x: Any) -> Any:
    if type(x) is Ref:
        x = x.first()
    elif type(x) is Array:
        x = x.rows[0][0]
    t = type(x)
    if t is float or t is int:
        return float(x)
    if t is bool:
        return 1.0 if x else 0.0
    if t is XlError:
        return x
    return 0.0


@register("T", "r")
def xt(x: Any) -> Any:
    if type(x) is Ref:
        x = x.first()
    elif type(x) is Array:
        x = x.rows[0][0]
    if type(x) is str:
        return x
    if isinstance(x, XlError):
        return x
    return ""


@register("TYPE", "r")
def xtype(x: Any) -> Any:
    t = type(x)
    if t is Ref:
        if not x.is_cell:
            return 64.0
        x = x.first()
        t = type(x)
    if t is Array or t is MultiRef:
        return 64.0
    if t is Lambda:
        return 128.0
    if t is float or t is int or x is None:
        return 1.0
    if t is str:
        return 2.0
    if t is bool:
        return 4.0
    if t is XlError:
        return 16.0
    return 1.0


@register("ERROR.TYPE", "v")
def error_type(x: Any) -> Any:
    if isinstance(x, XlError):
        i = ERROR_CODES.index(x.code)
        if i < 8:
            return float(i + 1)
        return _LATER_ERRORS.get(x.code, NA)
    return NA


_LATER_ERRORS = {
    "#SPILL!": 9.0,
    "#CONNECT!": 10.0,
    "#BLOCKED!": 11.0,
    "#UNKNOWN!": 12.0,
    "#FIELD!": 13.0,
    "#CALC!": 14.0,
}


@register("NA", "")
def xna() -> Any:
    return NA


_ = VALUE


@register("CELL", "vr", context=True)
@safe
def cell(ctx: Any, key: int, info_type: Any, ref: Any = None) -> Any:
    """CELL for the information a workbook carries (no formatting or window state)."""
    from calcwire.formula import column_letters
    from eval_svc.engine.functions._helpers import text

    what = text(info_type).lower()
    if ref is None:
        s, r, c = key >> 36, (key >> 15) & 0x1FFFFF, key & 0x7FFF
        value = ctx.book.get(key)
    elif type(ref) is Ref:
        s, r, c = ref.sheet, ref.r1, ref.c1
        value = ref.first()
    else:
        return VALUE
    if what == "address":
        return f"${column_letters(c)}${r}"
    if what == "row":
        return float(r)
    if what == "col":
        return float(c)
    if what == "contents":
        return value if value is not None else 0.0
    if what == "type":
        if value is None:
            return "b"
        return "l" if type(value) is str else "v"
    if what == "sheet":
        return float(s + 1)
    return VALUE

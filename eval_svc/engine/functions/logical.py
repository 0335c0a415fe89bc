"""Logical functions (AND, OR, XOR, NOT, TRUE, FALSE).

IF, IFS, IFERROR, IFNA, SWITCH, CHOOSE, LET and LAMBDA are compiled inline
(eval_svc.engine.compiler) because their arguments are evaluated lazily.
"""

from __future__ import annotations

from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import is_range, present_values
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import VALUE, to_bool


def _logicals(args: tuple[Any, ...]) -> list[bool] | XlError:
    out: list[bool] = []
    for a in args:
        if is_range(a):
            for v in present_values(a):
                tv = type(v)
                if tv is bool:
                    out.append(v)
                elif tv is float or tv is int:
                    out.append(v != 0)
                elif isinstance(v, XlError):
                    return v
            continue
        if a is None:
            continue
        if type(a) is str:
            u = a.upper()
            if u in ("TRUE", "FALSE"):
                out.append(u == "TRUE")
            continue  # other text given directly is ignored
        b = to_bool(a)
        if isinstance(b, XlError):
            return b
        out.append(b)
    return out


@register("AND", "", rest="r")
def xand(*args: Any) -> Any:
    values = _logicals(args)
    if isinstance(values, XlError):
        return values
    if not values:
        return VALUE
    return all(values)


@register("OR", "", rest="r")
def xor_(*args: Any) -> Any:
    values = _logicals(args)
    if isinstance(values, XlError):
        return values
    if not values:
        return VALUE
    return any(values)


@register("XOR", "", rest="r")
def xxor(*args: Any) -> Any:
    values = _logicals(args)
    if isinstance(values, XlError):
        return values
    if not values:
        return VALUE
    return sum(values) % 2 == 1


@register("NOT", "v")
def xnot(x: Any) -> Any:
    b = to_bool(x)
    if isinstance(b, XlError):
        return b
    return not b


@register("TRUE", "")
def xtrue() -> Any:
    return True


@register("FALSE", "")
def xfalse() -> Any:
    return False

"""The namespace compiled formulas run in: operators and the inline special forms.

Generated code refers to these by short names (``_add``, ``_if_a``...). The
model adds what is bound to its book: ``_g`` (read a cell by key), ``_rng``
and ``_cref`` (make references) and ``_X`` (the calculation context).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from calcwire.values import ERROR_CODES, XlError
from eval_svc.engine.runtime import (
    BINARY_OPS,
    BINARY_OPS_ARRAY,
    NA,
    NULL,
    OMITTED,
    UNARY_OPS,
    UNARY_OPS_ARRAY,
    VALUE,
    Array,
    Lambda,
    MultiRef,
    Ref,
    _element,
    as_array,
    intersect,
    lift,
    op_add_final,
    op_eq,
    op_sub_final,
    scalar,
    to_bool,
    to_number,
    top_array,
    top_value,
)

__all__ = ["base_env"]


def _fill(x: Any) -> Any:
    return 0.0 if x is None else x


def _fill_text(x: Any) -> Any:
    return "" if x is None else x


def _cond(x: Any) -> Any:
    return to_bool(x)


def _shape(*values: Any) -> tuple[int, int]:
    nr = nc = 1
    for v in values:
        if type(v) is Array:
            nr = max(nr, v.nrows)
            nc = max(nc, v.ncols)
    return nr, nc


def _at(v: Any, i: int, j: int) -> Any:
    if type(v) is Array:
        return _element(v.rows, i, j)
    return v


def _if_a(cond: Any, yes: Callable[[], Any], no: Callable[[], Any]) -> Any:
    cond = as_array(cond)
    if type(cond) is not Array:
        b = to_bool(cond)
        if b is True:
            return yes()
        if b is False:
            return no()
        return b
    y = as_array(yes())
    n = as_array(no())
    nr, nc = _shape(cond, y, n)
    out = []
    for i in range(nr):
        row = []
        for j in range(nc):
            b = to_bool(_element(cond.rows, i, j))
            if b is True:
                row.append(_at(y, i, j))
            elif b is False:
                row.append(_at(n, i, j))
            else:
                row.append(b)
        out.append(row)
    return Array(out)


def _iserror_v(x: Any, key: int) -> bool:
    return type(x) is XlError


def _isna_v(x: Any, key: int) -> bool:
    return x is NA


def _iferror_a(value: Any, alt: Callable[[], Any], test: Callable[[Any, int], bool]) -> Any:
    value = as_array(value)
    if type(value) is not Array:
        return alt() if test(value, 0) else value
    fallback: list[Any] = []

    def get_alt() -> Any:
        if not fallback:
            fallback.append(as_array(alt()))
        return fallback[0]

    out = []
    for i, row in enumerate(value.rows):
        new = []
        for j, v in enumerate(row):
            new.append(_at(get_alt(), i, j) if test(v, 0) else v)
        out.append(new)
    return Array(out)


def _index_of(x: Any, n: int) -> int | XlError:
    x = to_number(x)
    if type(x) is XlError:
        return x
    i = int(x)
    if not 1 <= i <= n:
        return VALUE
    return i


def _choose(index: Any, options: Sequence[Callable[[], Any]]) -> Any:
    index = as_array(index)
    if type(index) is not Array:
        i = _index_of(index, len(options))
        if isinstance(i, XlError):
            return i
        return options[i - 1]()
    values: dict[int, Any] = {}
    out = []
    for r, row in enumerate(index.rows):
        new = []
        for c, v in enumerate(row):
            i = _index_of(v, len(options))
            if isinstance(i, XlError):
                new.append(i)
                continue
            if i not in values:
                values[i] = as_array(options[i - 1]())
            new.append(_at(values[i], r, c))
        out.append(new)
    return Array(out)


def _ifs(parts: Sequence[Callable[[], Any]]) -> Any:
    for i in range(0, len(parts), 2):
        c = parts[i]()
        if type(c) is Ref or type(c) is Array:
            c = as_array(c)
            if type(c) is Array:
                c = c.rows[0][0]
        b = to_bool(c)
        if type(b) is XlError:
            return b
        if b:
            return parts[i + 1]()
    return NA


def _switch_one(value: Any, parts: Sequence[Callable[[], Any]], has_default: bool) -> Any:
    if type(value) is XlError:
        return value
    if value is None:
        value = 0.0  # an empty cell matches 0, not "" or FALSE
    pairs = len(parts) - (1 if has_default else 0)
    for i in range(0, pairs, 2):
        candidate = parts[i]()
        if type(candidate) is Ref:
            candidate = candidate.first()
        if type(candidate) is XlError:
            return candidate
        if candidate is None:
            candidate = 0.0
        eq = op_eq(value, candidate)
        if eq is True:
            return parts[i + 1]()
    if has_default:
        return parts[-1]()
    return NA


def _switch(value: Any, parts: Sequence[Callable[[], Any]], has_default: bool) -> Any:
    value = as_array(value)
    if type(value) is not Array:
        return _switch_one(value, parts, has_default)
    out = []
    for i, row in enumerate(value.rows):
        new = []
        for j, v in enumerate(row):
            r = as_array(_switch_one(v, parts, has_default))
            new.append(_at(r, i, j))
        out.append(new)
    return Array(out)


def _invoke(callee: Any, args: tuple[Any, ...]) -> Any:
    if type(callee) is Lambda:
        return callee(*args)
    if type(callee) is XlError:
        return callee
    return VALUE


def _range_op(a: Any, b: Any) -> Any:
    if type(a) is XlError:
        return a
    if type(b) is XlError:
        return b
    if type(a) is not Ref or type(b) is not Ref or a.sheet != b.sheet:
        return VALUE
    return Ref(
        a.book,
        a.sheet,
        min(a.r1, b.r1),
        min(a.c1, b.c1),
        max(a.r2, b.r2),
        max(a.c2, b.c2),
        a.dynamic or b.dynamic,
    )


def _isect_op(a: Any, b: Any) -> Any:
    if type(a) is XlError:
        return a
    if type(b) is XlError:
        return b
    left = a.refs if type(a) is MultiRef else [a]
    right = b.refs if type(b) is MultiRef else [b]
    out: list[Ref] = []
    for x in left:
        for y in right:
            if type(x) is not Ref or type(y) is not Ref:
                return VALUE
            if x.sheet != y.sheet:
                continue
            r1, c1 = max(x.r1, y.r1), max(x.c1, y.c1)
            r2, c2 = min(x.r2, y.r2), min(x.c2, y.c2)
            if r1 <= r2 and c1 <= c2:
                out.append(Ref(x.book, x.sheet, r1, c1, r2, c2, x.dynamic or y.dynamic))
    if not out:
        return NULL
    if len(out) == 1:
        return out[0]
    return MultiRef(out)


def _union_op(a: Any, b: Any) -> Any:
    refs: list[Ref] = []
    for x in (a, b):
        if type(x) is XlError:
            return x
        if type(x) is Ref:
            refs.append(x)
        elif type(x) is MultiRef:
            refs.extend(x.refs)
        else:
            return VALUE
    return MultiRef(refs)


def make_range_from_keys(book: Any) -> Callable[[int, int], Ref]:
    """``_rngk(k1, k2)``: the area between two corner keys (in either order)."""

    def rngk(k1: int, k2: int) -> Ref:
        r1, c1 = (k1 >> 15) & 0x1FFFFF, k1 & 0x7FFF
        r2, c2 = (k2 >> 15) & 0x1FFFFF, k2 & 0x7FFF
        if r1 > r2:
            r1, r2 = r2, r1
        if c1 > c2:
            c1, c2 = c2, c1
        return Ref(book, k1 >> 36, r1, c1, r2, c2)

    return rngk


def base_env() -> dict[str, Any]:
    env: dict[str, Any] = {
        "XlError": XlError,
        "_cond": _cond,
        "_fill": _fill,
        "_fill_text": _fill_text,
        "_if_a": _if_a,
        "_iserror_v": _iserror_v,
        "_isna_v": _isna_v,
        "_iferror_a": _iferror_a,
        "_choose": _choose,
        "_ifs": _ifs,
        "_switch": _switch,
        "_invoke": _invoke,
        "_range_op": _range_op,
        "_isect_op": _isect_op,
        "_union_op": _union_op,
        "_lift": lift,
        "_ii": intersect,
        "_sc": scalar,
        "_asarr": as_array,
        "_top": top_value,
        "_topa": top_array,
        "_Lambda": Lambda,
        "_OMIT": OMITTED,
        "_add_final": op_add_final,
        "_sub_final": op_sub_final,
    }
    names = {
        "+": "add",
        "-": "sub",
        "*": "mul",
        "/": "div",
        "^": "pow",
        "&": "concat",
        "=": "eq",
        "<>": "ne",
        "<": "lt",
        "<=": "le",
        ">": "gt",
        ">=": "ge",
    }
    for op, name in names.items():
        env[f"_{name}"] = BINARY_OPS[op]
        env[f"_{name}_a"] = BINARY_OPS_ARRAY[op]
    for op, name in {"-": "neg", "+": "pos", "%": "pct"}.items():
        env[f"_{name}"] = UNARY_OPS[op]
        env[f"_{name}_a"] = UNARY_OPS_ARRAY[op]
    for i, code in enumerate(ERROR_CODES):
        env[f"_E{i}"] = XlError(code)
    return env

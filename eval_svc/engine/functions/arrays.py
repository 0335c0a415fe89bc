"""Dynamic-array functions (SEQUENCE, FILTER, SORT, UNIQUE, TAKE...) and LAMBDA helpers (MAP...)."""

from __future__ import annotations

from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import ErrorResult, grid, integer, opt_num, safe
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import CALC, NA, VALUE, Array, Lambda, Ref, to_number


@register("SEQUENCE", "vvvv", returns="x")
@safe
def sequence(rows: Any, cols: Any = None, start: Any = None, step: Any = None) -> Any:
    nr = integer(rows)
    nc = 1 if cols is None else integer(cols)
    s = opt_num(start, 1.0)
    d = opt_num(step, 1.0)
    if nr < 1 or nc < 1:
        return VALUE
    return Array([[s + (i * nc + j) * d for j in range(nc)] for i in range(nr)])


_ = grid


# -- LAMBDA helpers -------------------------------------------------------------------------


def _lambda(fn: Any) -> Lambda:
    if type(fn) is not Lambda:
        raise ErrorResult(VALUE)
    return fn


def _single(v: Any) -> Any:
    """A LAMBDA helper's per-item result must be one value."""
    if type(v) is Ref:
        if v.is_cell:
            return v.first()
        return CALC
    if type(v) is Array:
        if v.nrows == 1 and v.ncols == 1:
            return v.rows[0][0]
        return CALC
    return v


def _lines(x: Any, by_row: bool) -> list[Any]:
    if type(x) is Ref:
        if by_row:
            return [x.sub(r, x.c1, r, x.c2) for r in range(x.r1, x.r2 + 1)]
        return [x.sub(x.r1, c, x.r2, c) for c in range(x.c1, x.c2 + 1)]
    g = grid(x)
    if by_row:
        return [Array([list(row)]) for row in g]
    return [Array([[row[j]] for row in g]) for j in range(len(g[0]))]


@register("BYROW", "al", returns="x")
@safe
def byrow(array: Any, fn: Any) -> Any:
    f = _lambda(fn)
    return Array([[_single(f(line))] for line in _lines(array, True)])


@register("BYCOL", "al", returns="x")
@safe
def bycol(array: Any, fn: Any) -> Any:
    f = _lambda(fn)
    return Array([[_single(f(line)) for line in _lines(array, False)]])


@register("MAP", "a", rest="a", returns="x")
@safe
def xmap(*args: Any) -> Any:
    if len(args) < 2:
        return VALUE
    f = _lambda(args[-1])
    grids = [grid(a) for a in args[:-1]]
    nr = max(len(g) for g in grids)
    nc = max(len(g[0]) for g in grids)
    out = []
    for i in range(nr):
        row = []
        for j in range(nc):
            items = []
            for g in grids:
                if len(g) == 1 and len(g[0]) == 1:
                    items.append(g[0][0])
                elif i < len(g) and j < len(g[0]):
                    items.append(g[i][j])
                else:
                    items.append(NA)
            row.append(_single(f(*items)))
        out.append(row)
    return Array(out)


@register("REDUCE", "val", returns="x")
@safe
def reduce(initial: Any, array: Any, fn: Any) -> Any:
    f = _lambda(fn)
    acc = initial
    for row in grid(array):
        for v in row:
            acc = _single(f(acc, v))
    return acc


@register("SCAN", "val", returns="x")
@safe
def scan(initial: Any, array: Any, fn: Any) -> Any:
    f = _lambda(fn)
    acc = initial
    out = []
    for row in grid(array):
        new = []
        for v in row:
            acc = _single(f(acc, v))
            new.append(acc)
        out.append(new)
    return Array(out)


@register("MAKEARRAY", "ssl", returns="x")
@safe
def makearray(rows: Any, cols: Any, fn: Any) -> Any:
    if type(rows) is str or type(cols) is str:
        return VALUE
    nr, nc = integer(rows), integer(cols)
    if nr < 1 or nc < 1:
        return VALUE
    f = _lambda(fn)
    return Array(
        [[_single(f(float(i), float(j))) for j in range(1, nc + 1)] for i in range(1, nr + 1)]
    )


def _trim_mode(x: Any) -> int:
    if x is None:
        return 3
    if type(x) is Array or type(x) is Ref:
        raise ErrorResult(VALUE)
    n = to_number(x)
    if isinstance(n, XlError):
        raise ErrorResult(n)
    if n != int(n) or not 0 <= n <= 3:
        raise ErrorResult(VALUE)
    return int(n)


@register("TRIMRANGE", "rss", returns="x")
@safe
def trimrange(rng: Any, trim_rows: Any = None, trim_cols: Any = None) -> Any:
    """The range without its empty leading and/or trailing rows and columns."""
    rows_mode, cols_mode = _trim_mode(trim_rows), _trim_mode(trim_cols)
    values = grid(rng)
    nr, nc = len(values), len(values[0])
    used_rows = [i for i in range(nr) if any(v is not None for v in values[i])]
    used_cols = [j for j in range(nc) if any(values[i][j] is not None for i in range(nr))]
    if not used_rows:
        return XlError.REF
    r1, r2, c1, c2 = 0, nr - 1, 0, nc - 1
    if rows_mode in (1, 3):
        r1 = used_rows[0]
    if rows_mode in (2, 3):
        r2 = used_rows[-1]
    if cols_mode in (1, 3):
        c1 = used_cols[0]
    if cols_mode in (2, 3):
        c2 = used_cols[-1]
    if type(rng) is Ref:
        return rng.sub(rng.r1 + r1, rng.c1 + c1, rng.r1 + r2, rng.c1 + c2)
    return Array([row[c1 : c2 + 1] for row in values[r1 : r2 + 1]])

"""Criteria of the *IF and *IFS functions (``">=10"``, ``"ap*"``, ``"<>"``...)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import ErrorResult
from eval_svc.engine.runtime import VALUE, Array, Ref, num_equal, text_to_number

__all__ = ["ifs_select", "make_predicate", "wildcard_regex"]

_OP_RE = re.compile(r"(<=|>=|<>|=|<|>)?(.*)", re.S)


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """Excel wildcards (``*``, ``?``, ``~`` escapes) as a case-insensitive regex."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "~" and i + 1 < len(pattern) and pattern[i + 1] in "*?~":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.I | re.S)


def _compare(op: str, c: int) -> bool:
    if op == "=":
        return c == 0
    if op == "<>":
        return c != 0
    if op == "<":
        return c < 0
    if op == "<=":
        return c <= 0
    if op == ">":
        return c > 0
    return c >= 0


def make_predicate(criterion: Any) -> Callable[[Any], bool]:
    t = type(criterion)
    if t is Ref:
        criterion = criterion.first()
        t = type(criterion)
    elif t is Array:
        criterion = criterion.rows[0][0]
        t = type(criterion)
    if criterion is None:
        criterion, t = 0.0, float
    if t is float or t is int:
        target = float(criterion)
        return lambda v: (type(v) is float or type(v) is int) and num_equal(v, target)
    if t is bool:
        return lambda v: type(v) is bool and v == criterion
    if t is XlError:
        return lambda v: v is criterion
    if t is not str:
        raise ErrorResult(VALUE)
    m = _OP_RE.fullmatch(criterion)
    assert m is not None
    op = m.group(1) or "="
    rest = m.group(2)
    explicit = m.group(1) is not None
    if rest == "":
        if op == "=":
            if explicit:
                return lambda v: v is None
            return lambda v: v is None or v == ""
        if op == "<>":
            return lambda v: v is not None and v != ""
        return lambda v: False
    number = text_to_number(rest)
    upper = rest.upper()
    if type(number) is float:
        target = number

        def numeric(v: Any) -> bool:
            tv = type(v)
            if tv is float or tv is int:
                c = 0 if num_equal(v, target) else (-1 if v < target else 1)
                return _compare(op, c)
            if op in ("=", "<>") and tv is str:
                n = text_to_number(v)
                same = type(n) is float and num_equal(n, target)
                return same if op == "=" else not same
            return op == "<>"

        return numeric
    if upper in ("TRUE", "FALSE"):
        flag = upper == "TRUE"

        def logical(v: Any) -> bool:
            if type(v) is bool:
                return _compare(op, 0 if v == flag else (-1 if v < flag else 1))
            return op == "<>"

        return logical
    if upper.startswith("#"):
        try:
            err = XlError(upper)
        except ValueError:
            err = None
        if err is not None:
            if op == "=":
                return lambda v: v is err
            if op == "<>":
                return lambda v: v is not err
    if op in ("=", "<>"):
        if any(ch in rest for ch in "*?~"):
            rx = wildcard_regex(rest)
            if op == "=":
                return lambda v: type(v) is str and rx.fullmatch(v) is not None
            return lambda v: not (type(v) is str and rx.fullmatch(v) is not None)
        low = rest.lower()
        if op == "=":
            return lambda v: type(v) is str and v.lower() == low
        return lambda v: not (type(v) is str and v.lower() == low)
    low = rest.lower()

    def textual(v: Any) -> bool:
        if type(v) is not str:
            return False
        lv = v.lower()
        return _compare(op, 0 if lv == low else (-1 if lv < low else 1))

    return textual


def _area(x: Any) -> tuple[int, int]:
    if type(x) is Ref or type(x) is Array:
        return x.nrows, x.ncols
    return 1, 1


def _used_rows(x: Any) -> int:
    if type(x) is Ref:
        return max(0, min(x.r2, x.book.max_row[x.sheet]) - x.r1 + 1)
    return _area(x)[0]


def _used_cols(x: Any) -> int:
    if type(x) is Ref:
        return max(0, min(x.c2, x.book.max_col[x.sheet]) - x.c1 + 1)
    return _area(x)[1]


def _rows(x: Any, nr: int, nc: int) -> list[list[Any]]:
    if type(x) is Ref:
        base = x.sheet << 36
        get = x.book.dyn_get if x.dynamic else x.book.get
        return [
            [get(base | (r << 15) | c) for c in range(x.c1, x.c1 + nc)]
            for r in range(x.r1, x.r1 + nr)
        ]
    if type(x) is Array:
        return [row[:nc] for row in x.rows[:nr]]
    return [[x]]


def ifs_select(
    target: Any,
    pairs: Sequence[tuple[Any, Any]],
    resize: bool = False,
    count_only: bool = False,
) -> Iterator[Any]:
    """Values of ``target`` at the positions where every (range, criterion) pair matches."""
    shape = _area(pairs[0][0])
    for rng, _ in pairs:
        if type(rng) is not Ref and type(rng) is not Array:
            raise ErrorResult(VALUE)
        if _area(rng) != shape:
            raise ErrorResult(VALUE)
    if not resize and not count_only and _area(target) != shape:
        raise ErrorResult(VALUE)
    if type(target) is not Ref and type(target) is not Array:
        raise ErrorResult(VALUE)
    nr = min(shape[0], max(_used_rows(r) for r, _ in [*pairs, (target, None)]))
    nc = min(shape[1], max(_used_cols(r) for r, _ in [*pairs, (target, None)]))
    if nr <= 0 or nc <= 0:
        # Only empty cells: they match criteria that accept empties.
        preds = [make_predicate(c) for _, c in pairs]
        if shape[0] * shape[1] and all(p(None) for p in preds):
            for _ in range(shape[0] * shape[1] if not count_only else shape[0] * shape[1]):
                yield None
        return
    masks: list[list[list[bool]]] = []
    selected = [[True] * nc for _ in range(nr)]
    for rng, criterion in pairs:
        pred = make_predicate(criterion)
        rows = _rows(rng, nr, nc)
        for i in range(nr):
            row, sel = rows[i], selected[i]
            for j in range(nc):
                if sel[j] and not pred(row[j]):
                    sel[j] = False
    del masks
    if count_only:
        for i in range(nr):
            for j in range(nc):
                if selected[i][j]:
                    yield True
        # cells beyond the used range are empty: count them when empties match
        extra = shape[0] * shape[1] - nr * nc
        if extra > 0:
            preds = [make_predicate(c) for _, c in pairs]
            if all(p(None) for p in preds):
                for _ in range(extra):
                    yield True
        return
    values = _rows(target, nr, nc)
    for i in range(nr):
        for j in range(nc):
            if selected[i][j]:
                v = values[i][j] if j < len(values[i]) and i < len(values) else None
                yield v

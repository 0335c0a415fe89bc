"""Criteria of the *IF and *IFS functions (``">=10"``, ``"ap*"``, ``"<>"``...)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import ErrorResult
from eval_svc.engine.runtime import VALUE, Array, Ref, num_equal, text_to_number

__all__ = ["ifs_select", "make_predicate", "wildcard_regex"]

_OP_RE = re.compile(r"(<=|>=|<>|=|<|>)?(.*)", re.DOTALL)


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
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


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


def _flat(x: Any, nr: int, nc: int) -> list[Any]:
    """The first nr x nc values of a range or array, row by row."""
    if type(x) is Ref:
        base = x.sheet << 36
        get = x.book.dyn_get if x.dynamic else x.book.get
        if nc == 1:
            c = x.c1
            return [get(base | (r << 15) | c) for r in range(x.r1, x.r1 + nr)]
        return [
            get(base | (r << 15) | c)
            for r in range(x.r1, x.r1 + nr)
            for c in range(x.c1, x.c1 + nc)
        ]
    if type(x) is Array:
        out: list[Any] = []
        for row in x.rows[:nr]:
            out.extend(row[:nc])
            out.extend([None] * (nc - len(row[:nc])))
        return out
    return [x]


def _mask(rng: Any, criterion: Any, nr: int, nc: int) -> list[bool]:
    """Which cells of rng match, memoised per calculation pass (criteria ranges repeat)."""
    memo = rng.book.memo if type(rng) is Ref and not rng.dynamic else None
    key = None
    if memo is not None:
        ckey = criterion
        if type(ckey) is Ref or type(ckey) is Array:
            ckey = None
        if ckey is not None or criterion is None:
            key = (rng.sheet, rng.r1, rng.c1, nr, nc, type(ckey), ckey)
            found = memo.get(key)
            if found is not None:
                return found  # type: ignore[no-any-return]
    pred = make_predicate(criterion)
    mask = [pred(v) for v in _flat(rng, nr, nc)]
    if key is not None and memo is not None:
        memo[key] = mask
    return mask


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
    total = shape[0] * shape[1]
    if nr <= 0 or nc <= 0:
        preds = [make_predicate(c) for _, c in pairs]
        if total and all(p(None) for p in preds):
            for _ in range(total):
                yield None
        return
    selected: list[int] | None = None
    for rng, criterion in pairs:
        mask = _mask(rng, criterion, nr, nc)
        if selected is None:
            selected = [i for i, ok in enumerate(mask) if ok]
        else:
            selected = [i for i in selected if mask[i]]
    assert selected is not None
    if count_only:
        yield from (True for _ in selected)
        extra = total - nr * nc
        if extra > 0 and all(make_predicate(c)(None) for _, c in pairs):
            yield from (True for _ in range(extra))
        return
    if type(target) is Ref:
        base = target.sheet << 36
        get = target.book.dyn_get if target.dynamic else target.book.get
        r1, c1 = target.r1, target.c1
        for i in selected:
            r, c = divmod(i, nc)
            yield get(base | ((r1 + r) << 15) | (c1 + c))
        return
    assert isinstance(target, Array)
    rows = target.rows
    for i in selected:
        r, c = divmod(i, nc)
        yield rows[r][c] if r < len(rows) and c < len(rows[r]) else None

"""Lookup and reference functions (INDEX, MATCH, VLOOKUP, XLOOKUP, OFFSET, INDIRECT...)."""

from __future__ import annotations

import re
from typing import Any

from calcwire.formula import MAX_COL, MAX_ROW, FormulaSyntaxError, TokenKind, column_letters, parse_range, tokenize
from calcwire.values import XlError
from eval_svc.engine.functions._helpers import (
    ErrorResult,
    boolean,
    first_value,
    grid,
    integer,
    num,
    opt_num,
    safe,
    text,
)
from eval_svc.engine.functions._registry import register
from eval_svc.engine.functions.criteria import wildcard_regex
from eval_svc.engine.runtime import (
    NA,
    REF,
    VALUE,
    Array,
    MultiRef,
    Ref,
    compare,
    num_equal,
)

# -- shape -------------------------------------------------------------------------------


@register("ROW", "r", returns="x")
def row(ref: Any = None) -> Any:
    if type(ref) is Ref:
        if ref.nrows == 1:
            return float(ref.r1)
        return Array([[float(r)] for r in range(ref.r1, ref.r2 + 1)])
    if type(ref) is XlError:
        return ref
    return VALUE


@register("COLUMN", "r", returns="x")
def column(ref: Any = None) -> Any:
    if type(ref) is Ref:
        if ref.ncols == 1:
            return float(ref.c1)
        return Array([[float(c) for c in range(ref.c1, ref.c2 + 1)]])
    if type(ref) is XlError:
        return ref
    return VALUE


@register("ROWS", "a")
def rows(x: Any) -> Any:
    if type(x) is Ref or type(x) is Array:
        return float(x.nrows)
    if type(x) is XlError:
        return x
    if type(x) is MultiRef:
        return REF
    return 1.0


@register("COLUMNS", "a")
def columns(x: Any) -> Any:
    if type(x) is Ref or type(x) is Array:
        return float(x.ncols)
    if type(x) is XlError:
        return x
    if type(x) is MultiRef:
        return REF
    return 1.0


@register("AREAS", "r")
def areas(x: Any) -> Any:
    if type(x) is MultiRef:
        return float(len(x.refs))
    if type(x) is Ref:
        return 1.0
    if type(x) is XlError:
        return x
    return VALUE


# -- INDEX ------------------------------------------------------------------------------


def _opt_index(x: Any) -> int | None:
    if x is None:
        return None
    return integer(x)


@register("INDEX", "avvv", returns="x")
@safe
def index(array: Any, row_num: Any = None, col_num: Any = None, area: Any = None) -> Any:
    if type(array) is XlError:
        return array
    if type(array) is MultiRef:
        a = _opt_index(area) or 1
        if not 1 <= a <= len(array.refs):
            return REF
        array = array.refs[a - 1]
    r = _opt_index(row_num)
    c = _opt_index(col_num)
    if type(array) is Ref or type(array) is Array:
        nr, nc = array.nrows, array.ncols
    else:
        array = Array([[array]])
        nr = nc = 1
    if c is None and r is not None and nr == 1 and nc > 1:
        r, c = None, r
    r = r or 0
    c = c or 0
    if r < 0 or c < 0 or r > nr or c > nc:
        return REF
    if type(array) is Ref:
        r1, r2 = (array.r1, array.r2) if r == 0 else (array.r1 + r - 1, array.r1 + r - 1)
        c1, c2 = (array.c1, array.c2) if c == 0 else (array.c1 + c - 1, array.c1 + c - 1)
        return array.sub(r1, c1, r2, c2)
    rows_ = array.rows
    if r and c:
        return rows_[r - 1][c - 1]
    if r:
        return Array([list(rows_[r - 1])])
    if c:
        return Array([[row_[c - 1]] for row_ in rows_])
    return array


# -- comparisons for lookups ------------------------------------------------------------


def _kind(v: Any) -> int:
    t = type(v)
    if t is float or t is int:
        return 0
    if t is str:
        return 1
    if t is bool:
        return 2
    if t is XlError:
        return 3
    return 4  # empty


def _exact(value: Any, wildcard: bool = True) -> Any:
    """A predicate for exact matching (text case-insensitive, wildcards if allowed)."""
    k = _kind(value)
    if k == 1:
        if wildcard and any(ch in value for ch in "*?~"):
            rx = wildcard_regex(value)
            return lambda v: type(v) is str and rx.fullmatch(v) is not None
        low = value.lower()
        return lambda v: type(v) is str and v.lower() == low
    if k == 0:
        x = float(value)
        return lambda v: (type(v) is float or type(v) is int) and num_equal(v, x)
    if k == 2:
        return lambda v: type(v) is bool and v == value
    return lambda v: False


def _vector(x: Any) -> list[Any]:
    """A one-row or one-column range or array as a flat list."""
    if type(x) is Ref:
        if x.nrows != 1 and x.ncols != 1:
            raise ErrorResult(NA)
        return [v for row_ in x.rows() for v in row_]
    if type(x) is Array:
        if x.nrows != 1 and x.ncols != 1:
            raise ErrorResult(NA)
        return list(x.flat())
    return [x]


def _approx(values: list[Any], value: Any, descending: bool = False) -> int | None:
    """Excel's approximate match on sorted data, by bisection as Excel does it.

    Ascending: the position of the largest value <= ``value``; descending: of
    the smallest value >= ``value``. Values of another type are skipped.
    """
    k = _kind(value)
    lo, hi = 0, len(values) - 1
    found = None
    while lo <= hi:
        mid = (lo + hi) // 2
        # Step over values of another type, as Excel's binary search does.
        probe = mid
        while probe <= hi and _kind(values[probe]) != k:
            probe += 1
        if probe > hi:
            hi = mid - 1
            continue
        c = compare(values[probe], value)
        if type(c) is XlError:
            return None
        if (c <= 0) if not descending else (c >= 0):
            found = probe
            lo = probe + 1
        else:
            hi = mid - 1
    return found


def _match_position(value: Any, values: list[Any], mode: int) -> int | None:
    if mode == 0:
        pred = _exact(value)
        for i, v in enumerate(values):
            if pred(v):
                return i
        return None
    return _approx(values, value, descending=mode < 0)


def _lookup_value(value: Any) -> Any:
    if type(value) is Ref or type(value) is Array:
        value = first_value(value)
    if value is None:
        value = 0.0
    if type(value) is XlError:
        raise ErrorResult(value)
    return value


@register("MATCH", "vav")
@safe
def match(value: Any, lookup_array: Any, match_type: Any = None) -> Any:
    value = _lookup_value(value)
    mode = int(opt_num(match_type, 1.0))
    mode = 0 if mode == 0 else (1 if mode > 0 else -1)
    pos = _match_position(value, _vector(lookup_array), mode)
    return NA if pos is None else float(pos + 1)


def _table_lookup(value: Any, table: Any, index: Any, approx: Any, by_row: bool) -> Any:
    value = _lookup_value(value)
    i = integer(index)
    exact = approx is not None and not boolean(approx)
    g = grid(table) if type(table) is not Ref else table.rows()
    if type(table) is Ref:
        nlines = table.ncols if by_row else table.nrows
    else:
        nlines = len(g[0]) if by_row else len(g)
    if i < 1:
        return VALUE
    width = (table.nrows if by_row else table.ncols) if type(table) in (Ref, Array) else 1
    if i > width:
        return REF
    if by_row:
        keys = list(g[0]) if g else []
    else:
        keys = [r[0] for r in g]
    keys += [None] * max(0, nlines - len(keys))
    pos = _match_position(value, keys, 0 if exact else 1)
    if pos is None:
        return NA
    if type(table) is Ref:
        if by_row:
            return table.value_at(table.r1 + i - 1, table.c1 + pos)
        return table.value_at(table.r1 + pos, table.c1 + i - 1)
    return g[i - 1][pos] if by_row else g[pos][i - 1]


@register("VLOOKUP", "vavv")
@safe
def vlookup(value: Any, table: Any, col_index: Any, approx: Any = None) -> Any:
    return _table_lookup(value, table, col_index, approx, by_row=False)


@register("HLOOKUP", "vavv")
@safe
def hlookup(value: Any, table: Any, row_index: Any, approx: Any = None) -> Any:
    return _table_lookup(value, table, row_index, approx, by_row=True)


@register("LOOKUP", "vaa")
@safe
def lookup(value: Any, lookup_vector: Any, result_vector: Any = None) -> Any:
    value = _lookup_value(value)
    if result_vector is None:
        g = grid(lookup_vector) if type(lookup_vector) is not Ref else lookup_vector.full_rows()
        nr, nc = len(g), len(g[0])
        if nc > nr:
            keys, results = list(g[0]), list(g[-1])
        else:
            keys, results = [r[0] for r in g], [r[-1] for r in g]
    else:
        keys = _vector(lookup_vector)
        results = _vector(result_vector)
    pos = _approx(keys, value)
    if pos is None:
        return NA
    if pos >= len(results):
        if type(result_vector) is Ref:
            rv = result_vector
            if rv.nrows == 1:
                return rv.value_at(rv.r1, rv.c1 + pos)
            return rv.value_at(rv.r1 + pos, rv.c1)
        return NA
    return results[pos]


def _xsearch(value: Any, values: list[Any], match_mode: int, search_mode: int) -> int | None:
    order = range(len(values)) if search_mode >= 0 else range(len(values) - 1, -1, -1)
    if abs(search_mode) == 2:
        if match_mode in (0, 2):
            pos = _approx(values, value, descending=search_mode < 0)
            if pos is not None and _exact(value, match_mode == 2)(values[pos]):
                return pos
            return None
        pos = _approx(values, value, descending=search_mode < 0)
        if pos is not None and _exact(value, False)(values[pos]):
            return pos
        if match_mode == -1:
            return pos
        return None
    pred = _exact(value, wildcard=match_mode == 2)
    for i in order:
        if pred(values[i]):
            return i
    if match_mode in (-1, 1):
        best = None
        k = _kind(value)
        for i in order:
            v = values[i]
            if _kind(v) != k:
                continue
            c = compare(v, value)
            if type(c) is XlError:
                continue
            if match_mode == -1 and c < 0:
                if best is None or compare(v, values[best]) == 1:
                    best = i
            if match_mode == 1 and c > 0:
                if best is None or compare(v, values[best]) == -1:
                    best = i
        return best
    return None


@register("XLOOKUP", "vaarvv", returns="x")
@safe
def xlookup(
    value: Any,
    lookup_array: Any,
    return_array: Any,
    if_not_found: Any = None,
    match_mode: Any = None,
    search_mode: Any = None,
) -> Any:
    value = _lookup_value(value)
    keys = _vector(lookup_array)
    mm = int(opt_num(match_mode, 0.0))
    sm = int(opt_num(search_mode, 1.0))
    if mm not in (-1, 0, 1, 2) or sm not in (-2, -1, 1, 2):
        return VALUE
    pos = _xsearch(value, keys, mm, sm)
    if pos is None:
        if if_not_found is None:
            return NA
        return if_not_found
    vertical = True
    if type(lookup_array) in (Ref, Array):
        vertical = lookup_array.ncols == 1 and lookup_array.nrows != 1 or lookup_array.nrows > 1
    if type(return_array) is Ref:
        ra = return_array
        if vertical:
            if pos >= ra.nrows:
                return VALUE
            return ra.sub(ra.r1 + pos, ra.c1, ra.r1 + pos, ra.c2)
        if pos >= ra.ncols:
            return VALUE
        return ra.sub(ra.r1, ra.c1 + pos, ra.r2, ra.c1 + pos)
    g = grid(return_array)
    if vertical:
        if pos >= len(g):
            return VALUE
        row_ = g[pos]
        return row_[0] if len(row_) == 1 else Array([list(row_)])
    if pos >= len(g[0]):
        return VALUE
    col = [r[pos] for r in g]
    return col[0] if len(col) == 1 else Array([[v] for v in col])


@register("XMATCH", "vavv")
@safe
def xmatch(value: Any, lookup_array: Any, match_mode: Any = None, search_mode: Any = None) -> Any:
    value = _lookup_value(value)
    keys = _vector(lookup_array)
    mm = int(opt_num(match_mode, 0.0))
    sm = int(opt_num(search_mode, 1.0))
    if mm not in (-1, 0, 1, 2) or sm not in (-2, -1, 1, 2):
        return VALUE
    pos = _xsearch(value, keys, mm, sm)
    return NA if pos is None else float(pos + 1)


# -- references built at run time -------------------------------------------------------------


@register("OFFSET", "rvvvv", context=True, returns="x", volatile=True, dynamic=True)
@safe
def offset(ctx: Any, key: int, ref: Any, rows_: Any, cols: Any, height: Any = None, width: Any = None) -> Any:
    if type(ref) is XlError:
        return ref
    if type(ref) is not Ref:
        return VALUE
    dr, dc = integer(rows_ if rows_ is not None else 0.0), integer(cols if cols is not None else 0.0)
    h = ref.nrows if height is None else integer(height)
    w = ref.ncols if width is None else integer(width)
    if h == 0 or w == 0:
        return REF
    r1, c1 = ref.r1 + dr, ref.c1 + dc
    r2, c2 = r1 + h - 1 if h > 0 else r1, c1 + w - 1 if w > 0 else c1
    if h < 0:
        r1, r2 = r1 + h + 1, r1
    if w < 0:
        c1, c2 = c1 + w + 1, c1
    if r1 < 1 or c1 < 1 or r2 > MAX_ROW or c2 > MAX_COL:
        return REF
    return Ref(ref.book, ref.sheet, r1, c1, r2, c2, True)


@register("INDIRECT", "vv", context=True, returns="x", volatile=True, dynamic=True)
@safe
def indirect(ctx: Any, key: int, ref_text: Any, a1: Any = None) -> Any:
    if type(ref_text) is XlError:
        return ref_text
    style_a1 = True if a1 is None else boolean(a1)
    return ctx.parse_reference(text(ref_text), key, style_a1)


_R1C1_RE = re.compile(
    r"R(\[-?\d+\]|\d+)?C(\[-?\d+\]|\d+)?(?::R(\[-?\d+\]|\d+)?C(\[-?\d+\]|\d+)?)?", re.I
)


def _r1c1_part(part: str | None, base: int) -> int:
    if not part:
        return base
    if part.startswith("["):
        return base + int(part[1:-1])
    return int(part)


def resolve_text_reference(book: Any, ref_text: str, key: int, a1: bool) -> Ref | XlError:
    """A reference written as text (INDIRECT), on the formula's sheet unless it names one."""
    from eval_svc.engine.ast import Area, CellRef
    from eval_svc.engine.parser import split_prefix

    s = ref_text.strip()
    if s.startswith("="):
        s = s[1:]
    if not s:
        return REF
    sheet = key >> 36
    row0, col0 = (key >> 15) & 0x1FFFFF, key & 0x7FFF
    prefix, part = split_prefix(s)
    if prefix is not None:
        found = book.sheet_index(prefix)
        if found is None:
            return REF
        sheet = found
    if not a1:
        m = _R1C1_RE.fullmatch(part)
        if m is None:
            return REF
        r1 = _r1c1_part(m.group(1), row0)
        c1 = _r1c1_part(m.group(2), col0)
        r2 = _r1c1_part(m.group(3), row0) if m.group(3) or m.group(4) else r1
        c2 = _r1c1_part(m.group(4), col0) if m.group(3) or m.group(4) else c1
        if not (1 <= r1 <= MAX_ROW and 1 <= c1 <= MAX_COL and 1 <= r2 <= MAX_ROW and 1 <= c2 <= MAX_COL):
            return REF
        return Ref(book, sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2), True)
    try:
        r1, c1, r2, c2 = parse_range(part)
        return Ref(book, sheet, r1, c1, r2, c2, True)
    except ValueError:
        pass
    try:
        tokens = tokenize(part)
    except FormulaSyntaxError:
        return REF
    if len(tokens) == 1 and tokens[0].kind is TokenKind.NAME:
        node = book.defined_name(part, sheet)
        if type(node) is CellRef and node.row_abs and node.col_abs:
            s_ = node.sheet if node.sheet is not None else sheet
            return Ref(book, s_, node.row, node.col, node.row, node.col, True)
        if type(node) is Area and node.r1_abs and node.c1_abs and node.r2_abs and node.c2_abs:
            s_ = node.sheet if node.sheet is not None else sheet
            return Ref(book, s_, node.r1, node.c1, node.r2, node.c2, True)
    return REF


@register("ADDRESS", "vvvvv")
@safe
def address(row_num: Any, col_num: Any, abs_num: Any = None, a1: Any = None, sheet: Any = None) -> Any:
    r, c = integer(row_num), integer(col_num)
    mode = int(opt_num(abs_num, 1.0))
    style_a1 = True if a1 is None else boolean(a1)
    if not (1 <= r <= MAX_ROW and 1 <= c <= MAX_COL) or mode not in (1, 2, 3, 4):
        return VALUE
    if style_a1:
        col_s = ("$" if mode in (1, 3) else "") + column_letters(c)
        row_s = ("$" if mode in (1, 2) else "") + str(r)
        out = col_s + row_s
    else:
        row_s = f"R{r}" if mode in (1, 2) else f"R[{r}]"
        col_s = f"C{c}" if mode in (1, 3) else f"C[{c}]"
        out = row_s + col_s
    if sheet is not None:
        name = text(sheet)
        if name:
            if not re.fullmatch(r"[A-Za-z_][\w.]*", name) or re.fullmatch(r"[A-Za-z]{1,3}\d+", name):
                name = "'" + name.replace("'", "''") + "'"
            out = f"{name}!{out}"
    return out


@register("TRANSPOSE", "a", returns="x")
@safe
def transpose(x: Any) -> Any:
    g = grid(x)
    return Array([list(col) for col in zip(*g)])


@register("ANCHORARRAY", "r", context=True, returns="x", dynamic=True)
def anchorarray(ctx: Any, key: int, ref: Any) -> Any:
    if type(ref) is not Ref:
        return REF
    spill = ctx.spill_ref((ref.sheet << 36) | (ref.r1 << 15) | ref.c1)
    return spill if spill is not None else REF


_ = num

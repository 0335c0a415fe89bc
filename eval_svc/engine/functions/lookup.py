"""Lookup and reference functions (INDEX, MATCH, VLOOKUP, XLOOKUP, OFFSET, INDIRECT...)."""

from __future__ import annotations

import math
import re
from typing import Any

from calcwire.formula import (
    MAX_COL,
    MAX_ROW,
    FormulaSyntaxError,
    TokenKind,
    column_letters,
    parse_range,
    tokenize,
)
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
    num_equal,
)

# -- shape -------------------------------------------------------------------------------


@register("ROW", "r", returns="x")
def row(ref: Any = None) -> Any:
    if type(ref) is Ref:
        if ref.nrows == 1:
            return float(ref.r1)
        return Array([[float(r)] for r in range(ref.r1, ref.r2 + 1)])
    if isinstance(ref, XlError):
        return ref
    return VALUE


@register("COLUMN", "r", returns="x")
def column(ref: Any = None) -> Any:
    if type(ref) is Ref:
        if ref.ncols == 1:
            return float(ref.c1)
        return Array([[float(c) for c in range(ref.c1, ref.c2 + 1)]])
    if isinstance(ref, XlError):
        return ref
    return VALUE


@register("ROWS", "a")
def rows(x: Any) -> Any:
    if type(x) is Ref or type(x) is Array:
        return float(x.nrows)
    if isinstance(x, XlError):
        return x
    if type(x) is MultiRef:
        return REF
    return 1.0


@register("COLUMNS", "a")
def columns(x: Any) -> Any:
    if type(x) is Ref or type(x) is Array:
        return float(x.ncols)
    if isinstance(x, XlError):
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
    if isinstance(x, XlError):
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
    for x in (array, row_num, col_num, area):
        if isinstance(x, XlError):
            return x
    r = _opt_index(row_num)
    c = _opt_index(col_num)
    a = _opt_index(area) or 1
    if (r is not None and r < 0) or (c is not None and c < 0) or a < 1:
        return VALUE
    if type(array) is MultiRef:
        if a > len(array.refs):
            return REF
        array = array.refs[a - 1]
    elif a > 1:
        return REF
    if type(array) is Ref or type(array) is Array:
        nr, nc = array.nrows, array.ncols
    else:
        array = Array([[array]])
        nr = nc = 1
    if c is None:
        if nr == 1:
            r, c = 0 if nc > 1 else r, r
        elif nc == 1:
            c = 0
        elif type(array) is Ref:
            return REF
    r = r or 0
    c = c or 0
    if r > nr or c > nc:
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


# -- lookups ------------------------------------------------------------------------------
#
# The search rules below reproduce Excel's results on mixed-type and unsorted
# data as measured on the corpus (the same rules as the `formulas` package):
# values are compared within their type (numbers, text case-insensitively,
# logicals), approximate MATCH scans linearly and stops at the first larger
# value, XMATCH/XLOOKUP binary modes bisect over (type, value) pairs.


def _type_id(v: Any) -> int:
    t = type(v)
    if t is bool:
        return 2
    if t is str:
        return 1
    if t is float or t is int:
        return 0
    if t is XlError:
        return 4
    return 5  # empty


def _key(v: Any) -> Any:
    return v.lower() if type(v) is str else v


def _xkey(v: Any) -> Any:
    """XMATCH and XLOOKUP fold case fully ("ß" matches "ss"); MATCH only lowercases."""
    return v.casefold() if type(v) is str else v


def _vector(x: Any) -> list[Any]:
    """A range or array as a flat list (row by row), a scalar as a one-item list."""
    if type(x) is Ref:
        return [v for row_ in x.full_rows() for v in row_]
    if type(x) is Array:
        return list(x.flat())
    return [x]


def _first_line(x: Any) -> list[Any]:
    """LOOKUP's vector: a 2-D range is read along its first column (or row, if wider)."""
    if isinstance(x, Ref | Array):
        rows_ = x.full_rows() if isinstance(x, Ref) else x.rows
        if len(rows_) > 1 and len(rows_[0]) > 1:
            if len(rows_[0]) > len(rows_):
                return list(rows_[0])
            return [r[0] for r in rows_]
    return _vector(x)


def _lookup_value(value: Any, empty: Any = 0.0) -> Any:
    if type(value) is Ref or type(value) is Array:
        value = first_value(value)
    if value is None:
        value = empty
    if isinstance(value, XlError):
        raise ErrorResult(value)
    return value


def _wildcard(value: Any) -> Any:
    if type(value) is str and any(ch in value for ch in "*?~"):
        return wildcard_regex(value)
    return None


def _match(value: Any, values: list[Any], match_type: int) -> int | None:
    """MATCH's 0-based position, or None."""
    vt = _type_id(value)
    key = _key(value)
    if match_type == 0:
        rx = _wildcard(value)
        for j, v in enumerate(values):
            if _type_id(v) != vt:
                continue
            if rx is not None:
                if rx.fullmatch(v):
                    return j
            elif _key(v) == key or (vt == 0 and num_equal(v, key)):
                return j
        return None
    found = None
    for j, v in enumerate(values):
        if _type_id(v) != vt:
            continue
        x = _key(v)
        if match_type > 0:
            if x <= key:
                found = j
                if x == key and j > 0:
                    break
            elif j > 0:
                break
        else:
            if x < key:
                break
            found = j
            if x == key:
                break
    return found


@register("MATCH", "vav")
@safe
def match(value: Any, lookup_array: Any, match_type: Any = None) -> Any:
    value = _lookup_value(value)
    mt = opt_num(match_type, 1.0)
    mode = 0 if mt == 0 else (1 if mt > 0 else -1)
    pos = _match(value, _vector(lookup_array), mode)
    return NA if pos is None else float(pos + 1)


def _table_lookup(value: Any, table: Any, index: Any, approx: Any, by_row: bool) -> Any:
    value = _lookup_value(value)
    i = integer(index)
    mode = 1 if approx is None or boolean(approx) else 0
    rows_ = table.full_rows() if type(table) is Ref else grid(table)
    if i < 1:
        return VALUE
    lines = rows_ if by_row else [list(col) for col in zip(*rows_)]
    if i > len(lines):
        return REF
    pos = _match(value, list(lines[0]), mode)
    if pos is None:
        return NA
    return lines[i - 1][pos]


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
        rows_ = grid(lookup_vector) if type(lookup_vector) is not Ref else lookup_vector.full_rows()
        nr, nc = len(rows_), len(rows_[0])
        if nr > 1 and nc > 1:
            if nc > nr:
                keys, results = list(rows_[0]), list(rows_[-1])
            else:
                keys, results = [r[0] for r in rows_], [r[-1] for r in rows_]
        else:
            keys = results = [v for r in rows_ for v in r]
    else:
        keys = _first_line(lookup_vector)
        if (
            type(result_vector) in (Ref, Array)
            and result_vector.nrows > 1
            and result_vector.ncols > 1
        ):
            return NA
        results = _vector(result_vector)
    pos = _match(value, keys, 1)
    if pos is None:
        return NA
    if pos >= len(results):
        if type(result_vector) is Ref:
            rv = result_vector
            if rv.nrows == 1:
                return rv.value_at(rv.r1, rv.c1 + pos)
            return rv.value_at(rv.r1 + pos, rv.c1)
        return NA
    v = results[pos]
    return 0.0 if v is None else v


def _xmatch(value: Any, values: list[Any], match_mode: int, search_mode: int) -> int | None:
    """XMATCH's 0-based position, or None."""
    if value is None:
        vt, vkey = 3, -1.0
    else:
        vt, vkey = _type_id(value), _xkey(value)
    rx = None
    if match_mode in (0, 2):
        if vt == 1 and match_mode == 2:
            rx = wildcard_regex(value)
        else:
            match_mode = 0
    items = [(j, (_type_id(v), _xkey(v))) for j, v in enumerate(values)]
    if match_mode in (0, 2) and abs(search_mode) == 1:
        items = [(j, x) for j, x in items if x[0] == vt]
    target = (vt, vkey)
    best: list[Any] = [None, None]

    def stop(j: int, x: tuple[int, Any], force: bool = False) -> bool:
        try:
            if match_mode == 2:
                if x[0] == vt and rx is not None and type(x[1]) is str and rx.fullmatch(x[1]):
                    best[0], best[1] = j, x
                    return True
                return False
            if x == target or (x[0] == vt == 0 and num_equal(x[1], vkey)):
                best[0], best[1] = j, x
                return True
            if (
                match_mode == -1
                and x < target
                and (force or best[1] is None or best[1] < x)
                or match_mode == 1
                and x > target
                and (force or best[1] is None or best[1] > x)
            ):
                best[0], best[1] = j, x
        except TypeError:
            pass
        return False

    if abs(search_mode) == 1:
        seq = items if search_mode == 1 else list(reversed(items))
        for j, x in seq:
            if stop(j, x):
                break
    else:
        asc = search_mode == 2
        left, right = 0, len(items) - 1
        while left <= right:
            mid = (left + right) // 2
            j, x = items[mid]
            if stop(j, x, True):
                break
            try:
                less = x < target
            except TypeError:
                less = False
            if less:
                if asc:
                    left = mid + 1
                else:
                    right = mid - 1
            else:
                if asc:
                    right = mid - 1
                else:
                    left = mid + 1
    found: int | None = best[0]
    return found


def _modes(match_mode: Any, search_mode: Any) -> tuple[int, int]:
    mm = math.floor(opt_num(match_mode, 0.0))
    sm = math.floor(opt_num(search_mode, 1.0))
    if not (-2 < mm <= 3) or (abs(mm) == 2 and abs(sm) == 2) or sm not in (1, 2, -1, -2):
        raise ErrorResult(VALUE)
    return (2 if mm == 3 else mm), sm


@register("XMATCH", "vavv")
@safe
def xmatch(value: Any, lookup_array: Any, match_mode: Any = None, search_mode: Any = None) -> Any:
    value = _lookup_value(value, empty=None)
    mm, sm = _modes(match_mode, search_mode)
    pos = _xmatch(value, _vector(lookup_array), mm, sm)
    return NA if pos is None else float(pos + 1)


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
    value = _lookup_value(value, empty=None)
    mm, sm = _modes(match_mode, search_mode)
    pos = _xmatch(value, _vector(lookup_array), mm, sm)
    if pos is None:
        return NA if if_not_found is None else if_not_found
    vertical = True
    if type(lookup_array) in (Ref, Array):
        vertical = lookup_array.nrows > 1 or lookup_array.ncols == 1
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
    if vertical and len(g) > 1 or len(g[0]) == 1:
        if pos >= len(g):
            return VALUE
        row_ = g[pos]
        return row_[0] if len(row_) == 1 else Array([list(row_)])
    if pos >= len(g[0]):
        return VALUE
    col = [r[pos] for r in g]
    return col[0] if len(col) == 1 else Array([[v] for v in col])


# -- references built at run time -------------------------------------------------------------


@register("OFFSET", "rvvvv", context=True, returns="x", volatile=True, dynamic=True)
@safe
def offset(
    ctx: Any, key: int, ref: Any, rows_: Any, cols: Any, height: Any = None, width: Any = None
) -> Any:
    if isinstance(ref, XlError):
        return ref
    if type(ref) is not Ref:
        return VALUE
    dr, dc = (
        integer(rows_ if rows_ is not None else 0.0),
        integer(cols if cols is not None else 0.0),
    )
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
    if isinstance(ref_text, XlError):
        return ref_text
    style_a1 = True if a1 is None else boolean(a1)
    return ctx.parse_reference(text(ref_text), key, style_a1)


_R1C1_RE = re.compile(
    r"R(\[-?\d+\]|\d+)?C(\[-?\d+\]|\d+)?(?::R(\[-?\d+\]|\d+)?C(\[-?\d+\]|\d+)?)?", re.IGNORECASE
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
    s = s.removeprefix("=")
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
        if not (
            1 <= r1 <= MAX_ROW and 1 <= c1 <= MAX_COL and 1 <= r2 <= MAX_ROW and 1 <= c2 <= MAX_COL
        ):
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


@register("ADDRESS", "vvvvv", text_optional=(4,))
@safe
def address(
    row_num: Any, col_num: Any, abs_num: Any = None, a1: Any = None, sheet: Any = None
) -> Any:
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
        if name and (
            not re.fullmatch(r"[A-Za-z_][\w.]*", name) or re.fullmatch(r"[A-Za-z]{1,3}\d+", name)
        ):
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

"""GROUPBY and PIVOTBY: group records by some fields and aggregate others, with totals.

::

    GROUPBY(row_fields, values, function, [field_headers], [total_depth],
            [sort_order], [filter_array], [field_relationship])
    PIVOTBY(row_fields, col_fields, values, function, [field_headers],
            [row_total_depth], [row_sort_order], [col_total_depth],
            [col_sort_order], [filter_array], [relative_to])

Each axis (rows, and for PIVOTBY columns) lists its groups as *lines*: the
distinct combinations of its fields, sorted level by level, with a total line
for each group prefix shallower than ``|total_depth|`` (after its group, or
before it when the depth is negative; ``0`` is no totals). A cell aggregates
the values of the records on both its row line and its column line, by
calling ``function`` on them as a column; PERCENTOF (or a LAMBDA of two
parameters) also gets the records it is relative to
(``relative_to``: 0 column total, 1 row total, 2 grand total, 3 parent column
total, 4 parent row total). Cells with no records are empty text.

``field_headers``: 0 no headers, 1 headers not shown, 2 no headers but
generated names shown, 3 headers shown; by default the data has headers when
the first value is text, and PIVOTBY shows them when an axis has several
fields. Sorting: ``n`` (1-based field) ascending, ``-n`` descending, or the
number of fields plus ``k`` to sort the deepest level by the ``k``-th value's
total. GROUPBY's ``field_relationship`` 1 sorts whole lines like a table
(in the order of the sort keys) and shows no subtotals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import ErrorResult, grid, integer, safe
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import VALUE, Array, Lambda, MultiRef, Ref

__all__ = ["groupby", "pivotby"]

_EMPTY = ""
Key = tuple[Any, ...]


def _norm(v: Any) -> Any:
    """The grouping identity of a label: text compares case-insensitively."""
    if type(v) is str:
        return ("s", v.casefold())
    if type(v) is float or type(v) is int:
        return ("n", float(v))
    if type(v) is bool:
        return ("b", v)
    if v is None:
        return ("e", "")
    return ("x", str(v))


def _order(v: Any) -> tuple[int, Any]:
    """Excel's sort order of labels: numbers, text, logicals, errors, then empty."""
    t = type(v)
    if t is float or t is int:
        return (0, float(v))
    if t is str:
        return (1, v.casefold()) if v != "" else (4, "")
    if t is bool:
        return (2, v)
    if v is None:
        return (4, "")
    return (3, str(v))


@dataclass(slots=True)
class _Line:
    """One group (or total) along an axis: its key prefix and the labels shown."""

    key: Key
    labels: tuple[Any, ...]
    total: bool


@dataclass(slots=True)
class _Sort:
    """How one axis is sorted: a direction per field, or the deepest level by a value."""

    descending: set[int]
    by_value: int | None = None  # index of the value whose total sorts the deepest level
    value_descending: bool = False
    priority: tuple[int, ...] = ()  # table mode: fields in the order they sort


def _sort_spec(spec: Any, nfields: int, nvalues: int, vector_ok: bool = True) -> _Sort:
    numbers = [integer(v) for row in grid(spec) for v in row] if spec is not None else [1]
    if len(numbers) == 1 and nfields < abs(numbers[0]) <= nfields + nvalues:
        n = numbers[0]
        return _Sort(set(), abs(n) - nfields - 1, n < 0)
    fields = [abs(n) for n in numbers]
    if (
        len(set(fields)) != len(fields)
        or any(not 1 <= f <= nfields for f in fields)
        or (len(fields) > 1 and not vector_ok)
    ):
        raise ErrorResult(VALUE)
    return _Sort({abs(n) - 1 for n in numbers if n < 0}, priority=tuple(f - 1 for f in fields))


def _function(fn: Any) -> Lambda:
    if type(fn) is Lambda:
        return fn
    if type(fn) is Ref:
        fn = fn.first() if fn.is_cell else VALUE
    if type(fn) is XlError:
        raise ErrorResult(fn)
    raise ErrorResult(VALUE)


def _columns(x: Any) -> list[list[Any]]:
    if type(x) is MultiRef:
        raise ErrorResult(VALUE)
    return grid(x)


def _depth(x: Any, default: int, nfields: int) -> int:
    d = default if x is None else integer(x)
    if abs(d) > nfields + 1:
        raise ErrorResult(VALUE)
    return d


class _Axis:
    """The records' keys along one axis, and the lines they make."""

    def __init__(
        self, keys: list[Key], labels: list[tuple[Any, ...]], nfields: int, depth: int
    ) -> None:
        self.keys = keys
        self.labels = labels
        self.nfields = nfields
        self.depth = depth
        # Record indices under each key prefix (all lengths), in record order.
        self.members: dict[Key, list[int]] = {}
        for i, key in enumerate(keys):
            for j in range(nfields + 1):
                self.members.setdefault(key[:j], []).append(i)
        self.shown: dict[Key, tuple[Any, ...]] = {}
        for key, label in zip(keys, labels):
            for j in range(nfields + 1):
                self.shown.setdefault(key[:j], label[:j])

    def _label_order(self, field: int, key: Key) -> tuple[int, Any]:
        return _order(self.shown[key][field])

    def _total(self, key: Key) -> _Line:
        j = len(key)
        labels: list[Any] = list(self.shown[key])
        if j == 0:
            labels.append("Grand Total" if abs(self.depth) > 1 else "Total")
        else:
            labels.append(_EMPTY)
        labels += [_EMPTY] * (self.nfields - len(labels))
        return _Line(key, tuple(labels[: max(self.nfields, 1)]), True)

    def lines(
        self, sort: _Sort, value_of: Callable[[Key], Any], table: bool = False
    ) -> list[_Line]:
        """Every line of this axis in order, totals included."""
        if self.nfields == 0:
            return [_Line((), (), False)]
        if table:
            return self._table_lines(sort, value_of)
        return self._lines((), sort, value_of)

    def _children(self, prefix: Key, sort: _Sort, value_of: Callable[[Key], Any]) -> list[Key]:
        level = len(prefix)
        children = list(dict.fromkeys(self.keys[i][: level + 1] for i in self.members[prefix]))
        if sort.by_value is not None and level == self.nfields - 1:
            children.sort(key=lambda k: _order(self.shown[k][-1]))
            children.sort(key=lambda k: _order(value_of(k)), reverse=sort.value_descending)
        else:
            children.sort(key=lambda k: _order(self.shown[k][-1]), reverse=level in sort.descending)
        return children

    def _lines(self, prefix: Key, sort: _Sort, value_of: Callable[[Key], Any]) -> list[_Line]:
        if len(prefix) == self.nfields:
            return [_Line(prefix, self.shown[prefix], False)]
        out: list[_Line] = []
        for child in self._children(prefix, sort, value_of):
            out += self._lines(child, sort, value_of)
        if len(prefix) < abs(self.depth):
            total = self._total(prefix)
            out = [total, *out] if self.depth < 0 else [*out, total]
        return out

    def _table_lines(self, sort: _Sort, value_of: Callable[[Key], Any]) -> list[_Line]:
        """Table mode: the distinct full keys sorted like rows of a table; a grand total only."""
        full = list(dict.fromkeys(self.keys))
        order = list(sort.priority) + [f for f in range(self.nfields) if f not in sort.priority]
        for f in reversed(order):
            full.sort(key=functools.partial(self._label_order, f), reverse=f in sort.descending)
        if sort.by_value is not None:
            full.sort(key=lambda k: _order(value_of(k)), reverse=sort.value_descending)
        out = [_Line(k, self.shown[k], False) for k in full]
        if self.depth:
            total = self._total(())
            out = [total, *out] if self.depth < 0 else [*out, total]
        return out


def _headers_mode(field_headers: Any, values: list[list[Any]], several: bool) -> tuple[bool, bool]:
    """(the data has a header row, the names are shown)."""
    if field_headers is None:
        has = bool(values) and type(values[0][0]) is str
        return has, several
    mode = integer(field_headers)
    if mode not in (0, 1, 2, 3):
        raise ErrorResult(VALUE)
    return mode in (1, 3), mode in (2, 3)


def _names(columns: list[list[Any]], count: int, has: bool, generated: str) -> list[Any]:
    if has:
        return [_EMPTY if v is None else v for v in columns[0][:count]]
    return [f"{generated} {i}" for i in range(1, count + 1)]


def _keep(filter_array: Any, n: int, skip: int) -> list[bool]:
    if filter_array is None:
        return [True] * n
    rows = _columns(filter_array)
    if len(rows) != n + skip:
        raise ErrorResult(VALUE)
    out = []
    for row in rows[skip:]:
        v = row[0]
        if v is None:
            v = False
        if type(v) is bool:
            out.append(v)
        elif type(v) is float or type(v) is int:
            out.append(v != 0)
        else:
            raise ErrorResult(VALUE)
    return out


def _aggregate(fn: Lambda, subset: list[Any], totals: list[Any] | None) -> Any:
    if not subset or all(v is None or v == _EMPTY for v in subset):
        return _EMPTY
    column = Array([[v] for v in subset])
    if totals is not None:
        result = fn(column, Array([[v] for v in totals] or [[None]]))
    else:
        result = fn(column)
    if type(result) is Ref:
        result = result.first() if result.is_cell else VALUE
    elif type(result) is Array:
        result = result.rows[0][0] if result.nrows == result.ncols == 1 else VALUE
    elif type(result) is Lambda:
        result = XlError.CALC
    if result is None:
        return _EMPTY
    if type(result) is int:
        return float(result)
    return result


def _pivot(
    row_fields: Any,
    col_fields: Any,
    values: Any,
    function: Any,
    field_headers: Any,
    row_depth: Any,
    row_sort: Any,
    col_depth: Any,
    col_sort: Any,
    filter_array: Any,
    relative_to: Any,
    groupby: bool,
    table: bool = False,
) -> Any:
    fn = _function(function)
    rows_in = _columns(row_fields)
    cols_in = _columns(col_fields) if col_fields is not None else None
    vals_in = _columns(values)
    n_all = len(rows_in)
    if len(vals_in) != n_all or (cols_in is not None and len(cols_in) != n_all):
        raise ErrorResult(VALUE)
    nr = len(rows_in[0])
    nc = len(cols_in[0]) if cols_in is not None else 0
    nv = len(vals_in[0])
    several = nr > 1 or nc > 1 or nv > 1
    has, show = _headers_mode(field_headers, vals_in, several and not groupby)
    skip = 1 if has else 0
    rel = 0 if relative_to is None else integer(relative_to)
    if rel not in (0, 1, 2, 3, 4):
        raise ErrorResult(VALUE)
    r_depth = _depth(row_depth, 1 if groupby else nr, nr)
    c_depth = _depth(col_depth, nc, nc) if cols_in is not None else 0
    r_sort = _sort_spec(row_sort, nr, nv, vector_ok=True)
    c_sort = _sort_spec(col_sort, nc, nv) if cols_in is not None else _Sort(set())
    keep = _keep(filter_array, n_all - skip, skip)

    row_names = _names(rows_in, nr, has, "Row Field")
    col_names = _names(cols_in, nc, has, "Column Field") if cols_in is not None else []
    value_names = _names(vals_in, nv, has, "Value")

    records = [i for i in range(skip, n_all) if keep[i - skip]]
    r_labels = [tuple(rows_in[i]) for i in records]
    c_labels = [tuple(cols_in[i]) for i in records] if cols_in is not None else [()] * len(records)
    rows = _Axis([tuple(_norm(v) for v in lab) for lab in r_labels], r_labels, nr, r_depth)
    cols = _Axis([tuple(_norm(v) for v in lab) for lab in c_labels], c_labels, nc, c_depth)
    data = [vals_in[i] for i in records]
    # PERCENTOF, or a LAMBDA of two parameters, is also given what it is relative to.
    wants_total = fn.eta == "PERCENTOF" or (fn.eta is None and fn.nparams >= 2)
    cache: dict[tuple[Key, Key, int], Any] = {}

    def members(r_key: Key, c_key: Key) -> list[int]:
        in_rows = rows.members.get(r_key, [])
        in_cols = set(cols.members.get(c_key, []))
        return [i for i in in_rows if i in in_cols]

    def cell(r_key: Key, c_key: Key, v: int) -> Any:
        found = cache.get((r_key, c_key, v))
        if found is None:
            subset = [data[i][v] for i in members(r_key, c_key)]
            totals = None
            if wants_total:
                if rel == 0:
                    base = members((), c_key)
                elif rel == 1:
                    base = members(r_key, ())
                elif rel == 2:
                    base = list(range(len(data)))
                elif rel == 3:
                    base = members(r_key, c_key[:-1])
                else:
                    base = members(r_key[:-1], c_key)
                totals = [data[i][v] for i in base]
            found = cache[(r_key, c_key, v)] = _aggregate(fn, subset, totals)
        return found

    if r_sort.by_value is not None:
        k = r_sort.by_value
        row_lines = rows.lines(r_sort, lambda key: cell(key, (), k), table)
    else:
        row_lines = rows.lines(r_sort, lambda key: _EMPTY, table)
    if c_sort.by_value is not None:
        k = c_sort.by_value
        col_lines = cols.lines(c_sort, lambda key: cell((), key, k))
    else:
        col_lines = cols.lines(c_sort, lambda key: _EMPTY)
    if not row_lines or not col_lines:
        raise ErrorResult(XlError.CALC)  # nothing left after filtering

    data_columns = [(line, v) for line in col_lines for v in range(nv)]
    out: list[list[Any]] = []
    if cols_in is not None:
        if show:
            joined = ", ".join(str(n) for n in col_names)
            out.append([_EMPTY] * nr + [joined] + [_EMPTY] * (len(data_columns) - 1))
        for level in range(nc):
            out.append([_EMPTY] * nr + [line.labels[level] for line, _ in data_columns])
    if show:
        out.append(list(row_names) + [value_names[v] for _, v in data_columns])
    for line in row_lines:
        labels = [_EMPTY if v is None else v for v in line.labels]
        out.append(labels + [cell(line.key, c.key, v) for c, v in data_columns])
    return Array(out)


@register("PIVOTBY", "aaalvvavaav", returns="x")
@safe
def pivotby(
    row_fields: Any,
    col_fields: Any,
    values: Any,
    function: Any,
    field_headers: Any = None,
    row_total_depth: Any = None,
    row_sort_order: Any = None,
    col_total_depth: Any = None,
    col_sort_order: Any = None,
    filter_array: Any = None,
    relative_to: Any = None,
) -> Any:
    return _pivot(
        row_fields,
        col_fields,
        values,
        function,
        field_headers,
        row_total_depth,
        row_sort_order,
        col_total_depth,
        col_sort_order,
        filter_array,
        relative_to,
        groupby=False,
    )


@register("GROUPBY", "aalvvaav", returns="x")
@safe
def groupby(
    row_fields: Any,
    values: Any,
    function: Any,
    field_headers: Any = None,
    total_depth: Any = None,
    sort_order: Any = None,
    filter_array: Any = None,
    field_relationship: Any = None,
) -> Any:
    relationship = 0 if field_relationship is None else integer(field_relationship)
    if relationship not in (0, 1):
        return VALUE
    return _pivot(
        row_fields,
        None,
        values,
        function,
        field_headers,
        total_depth,
        sort_order,
        None,
        None,
        filter_array,
        None,
        groupby=True,
        table=relationship == 1,
    )

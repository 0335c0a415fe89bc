"""compile_workbook and CompiledModel: the engine's public entry points.

The pipeline: Book (values by key) -> shapes (parse and compile each distinct
formula once) -> graph (precedents per formula cell, evaluation plan with
cycles) -> calculate (plan order; cycles computed dynamically) -> results.
What-if recalculation and Data Tables both recompute only the formula cells
that depend on changed inputs, in plan order.
"""

from __future__ import annotations

import bisect
import functools
import operator
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from calcwire.formula import (
    MAX_COL,
    MAX_ROW,
    FormulaSyntaxError,
    Token,
    TokenKind,
    parse_range,
    shape_key,
    tokenize,
)
from calcwire.values import CellValue, XlError
from calcwire.workbook.model import Workbook
from eval_svc.engine.ast import Area, CellRef
from eval_svc.engine.book import Book
from eval_svc.engine.compiler import CompiledShape, ShapeCompiler, is_special
from eval_svc.engine.conventions import Conventions, using
from eval_svc.engine.env import base_env, make_range_from_keys, make_table_row
from eval_svc.engine.errors import EngineError, ReferenceNotFound
from eval_svc.engine.functions import FUNCTIONS
from eval_svc.engine.functions.fallback import has_fallback
from eval_svc.engine.parser import count_slots, parse_formula, split_prefix
from eval_svc.engine.results import CellResult, CellStatus, result_maker
from eval_svc.engine.runtime import (
    ROW_SHIFT,
    SHEET_SHIFT,
    Array,
    NotComputable,
    Ref,
    _element,
    cell_key,
    to_array,
)
from eval_svc.engine.templates import SplitError, split_references

__all__ = ["CompiledModel", "Progress", "compile_workbook"]

Progress = Callable[[str, int, int], None]

_NORMAL, _ARRAY, _TABLE, _BROKEN, _RANGE = 0, 1, 2, 3, 4
_PROGRESS_EVERY = 16  # nodes between looks at the clock (reports are at most every 50 ms);
# few, so that a cancel (the progress callback raising) stops even slow formulas promptly
# A range holding this many formula cells becomes one graph node of its own, so
# that its many readers do not each carry every cell as a precedent.
_RANGE_NODE_MIN = 16


_row_col = operator.attrgetter("row", "col")
# Iteration off: Excel leaves each cell of a cycle at its last value, and so do we.
_CIRCULAR_REASON = "circular reference (iterative calculation off: the cell keeps its last value)"
# Long chains of formulas evaluated on demand (OFFSET, INDIRECT, cycles) recurse deeply.
_RECURSION_LIMIT = 20000

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _deep_enough() -> None:
    """Raise the interpreter's recursion limit for long formula chains.

    The limit is process-wide and another thread may be computing, so it is
    only ever raised, never put back.
    """
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)


def _exclusive(
    method: Callable[Concatenate[CompiledModel, _P], _R],
) -> Callable[Concatenate[CompiledModel, _P], _R]:
    """One call at a time on a model, under the model's own conventions (dates, character set)."""

    @functools.wraps(method)
    def wrapper(self: CompiledModel, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.lock, using(self.conventions):
            return method(self, *args, **kwargs)

    return wrapper


def _is_function(name: str) -> bool:
    return name in FUNCTIONS or is_special(name) or has_fallback(name)


@dataclass(slots=True)
class _Table:
    sheet: int
    r1: int
    c1: int
    r2: int
    c2: int
    two_dimensional: bool
    row_input: bool
    input1: int | None  # key of r1
    input2: int | None  # key of r2


class Context:
    """What context functions (INDIRECT, OFFSET, ISFORMULA, CELL...) may ask of the model."""

    def __init__(self, model: CompiledModel) -> None:
        self.model = model
        self.book = model._book

    def is_formula(self, key: int) -> bool:
        return key in self.model._node_of_key

    def formula_text(self, key: int) -> str | None:
        i = self.model._node_of_key.get(key)
        return None if i is None else self.model._formulas[i]

    def spill_ref(self, key: int) -> Ref | None:
        i = self.model._provider.get(key)
        if i is None or i not in self.model._arrays:
            return None
        s, r1, c1, r2, c2, _ = self.model._arrays[i]
        return Ref(self.book, s, r1, c1, r2, c2, True)

    def parse_reference(self, text: str, key: int, a1: bool = True) -> Ref | XlError:
        """INDIRECT: a reference written as text, resolved on the formula's sheet."""
        return self.model._indirect(text, key, a1)


class CompiledModel:
    """A workbook compiled for calculation; see the package docstring for the API."""

    def __init__(self, workbook: Workbook, progress: Progress | None = None) -> None:
        #: Held by every public method; hold it yourself around a sequence of calls
        #: that must not interleave with another thread's (set_values, values, reset).
        self.lock = threading.RLock()
        #: The workbook's date system and character set, current while this model computes.
        self.conventions = Conventions.of(workbook)
        with using(self.conventions):
            self._compile(workbook, progress)

    def _compile(self, workbook: Workbook, progress: Progress | None) -> None:
        self._workbook = workbook
        self._calc = workbook.calc
        self._book = book = Book(workbook, _is_function)
        self._values = book.values
        env = base_env()
        env["_g"] = book.values.get
        env["_rng"] = book.ref
        env["_rngk"] = make_range_from_keys(book)
        env["_trow"] = make_table_row(book)
        env["_cref"] = book.cell_ref
        self._env = env
        self._context = Context(self)
        env["_X"] = self._context
        self._compiler = ShapeCompiler(env)
        self._shapes: list[CompiledShape] = []
        self._shape_index: dict[tuple[int, bool, str], int] = {}
        self._template_index: dict[tuple[int, bool, str], int] = {}

        # Formula nodes, in sheet order then row-major.
        self._keys: list[int] = []
        self._formulas: list[str] = []
        self._kinds = bytearray()
        self._fns: list[Callable[[int, tuple[int, ...]], Any] | None] = []
        self._params: list[tuple[int, ...]] = []
        self._shape_of: list[int] = []
        self._cached: list[CellValue] = []
        self._reasons: dict[int, str] = {}
        self._arrays: dict[int, tuple[int, int, int, int, int, bool]] = {}
        self._tables: dict[int, _Table] = {}
        self._node_of_key: dict[int, int] = {}
        self._provider: dict[int, int] = {}
        self._progress = progress
        self._last_progress = 0.0
        self._position = 0
        self._guarded = False

        self._load_nodes(workbook)
        self._build_graph()
        if book.unreadable:
            self._mark_unreadable()
        self._state = bytearray(len(self._keys))
        self._baseline: dict[int, CellValue] | None = None
        self._failed: dict[int, str] = {}
        self._circular: set[int] = set()
        self._overridden: set[int] = set()
        self._cycle_members: set[int] | None = None
        self._stack: list[int] = []
        self._readers: (
            tuple[dict[int, list[int]], list[list[tuple[int, int, int, int, int]]]] | None
        ) = None

    # -- progress -------------------------------------------------------------

    def _report(self, stage: str, done: int, total: int, force: bool = False) -> None:
        if self._progress is None:
            return
        now = time.perf_counter()
        if force or now - self._last_progress >= 0.05:
            self._last_progress = now
            self._progress(stage, done, total)

    # -- loading and compiling -------------------------------------------------------

    def _load_nodes(self, workbook: Workbook) -> None:
        book = self._book
        total = sum(1 for s in workbook.sheets for c in s.cells if c.formula is not None)
        done = 0
        # The common case inline: a plain formula whose skeleton has a template. Per
        # template: its index, each slot's sheet shifted into a key, its function.
        fast: dict[tuple[int, str], tuple[int, tuple[int, ...], Any]] = {}
        keys, formulas, cached = self._keys, self._formulas, self._cached
        node_of_key, provider = self._node_of_key, self._provider
        shape_of, params_of, kinds, fns = self._shape_of, self._params, self._kinds, self._fns
        split = split_references
        with_tables = bool(book.tables)
        for s, sheet in enumerate(workbook.sheets):
            cells = [c for c in sheet.cells if c.formula is not None]
            cells.sort(key=_row_col)
            base = s << SHEET_SHIFT
            for cell in cells:
                done += 1
                if not done & 255:
                    self._report("parsing", done, total)
                formula = cell.formula or ""
                if cell.array_ref is None and cell.data_table is None and formula.strip():
                    try:
                        skeleton, corners = split(formula)
                    except SplitError:
                        skeleton = ""
                    if skeleton:
                        if with_tables and "[" in formula:
                            skeleton += self._table_scope(s, cell.row, cell.col, formula)
                        info = fast.get((s, skeleton))
                        if info is None:
                            info = self._template_info(
                                s, cell.row, cell.col, formula, skeleton, len(corners)
                            )
                            fast[(s, skeleton)] = info
                        index, bases, fn = info
                        if fn is not None and len(bases) == len(corners):
                            key = base | (cell.row << ROW_SHIFT) | cell.col
                            i = len(keys)
                            keys.append(key)
                            formulas.append(formula)
                            cached.append(cell.value)
                            node_of_key[key] = i
                            provider[key] = i
                            shape_of.append(index)
                            params_of.append(tuple(map(operator.or_, bases, corners)))
                            kinds.append(_NORMAL)
                            fns.append(fn)
                            continue
                self._load_node(s, cell, formula)
        self._report("parsing", total, total, force=True)

    def _template_info(
        self, sheet: int, row: int, col: int, formula: str, skeleton: str, nparams: int
    ) -> tuple[int, tuple[int, ...], Any]:
        """For the inline path: the template of a skeleton, its slots' sheets as key
        bases and its function; a None function sends the cells the general way."""
        index = self._template_index.get((sheet, False, skeleton))
        if index is None:
            index = self._make_template(sheet, row, col, formula, False, nparams)
            self._template_index[(sheet, False, skeleton)] = index
        if index < 0 or self._shapes[index].unsupported is not None:
            return index, (), None
        compiled = self._shapes[index]
        bases = tuple(s << SHEET_SHIFT for s in compiled.param_sheets)
        return index, bases, compiled.value

    def _load_node(self, s: int, cell: Any, formula: str) -> None:
        """One formula cell the general way: arrays, Data Tables, formulas without a template."""
        book = self._book
        base = s << SHEET_SHIFT
        key = base | (cell.row << ROW_SHIFT) | cell.col
        if not formula.strip() and cell.data_table is None:
            return  # an empty <f/> inside an array formula's range
        i = len(self._keys)
        self._keys.append(key)
        self._formulas.append(formula)
        self._cached.append(cell.value)
        self._node_of_key[key] = i
        self._provider[key] = i
        if cell.data_table is not None:
            self._add_table(i, s, cell)
            return
        array = cell.array_ref is not None
        if array:
            try:
                r1, c1, r2, c2 = parse_range(cell.array_ref or "")
            except ValueError:
                r1, c1, r2, c2 = cell.row, cell.col, cell.row, cell.col
            self._arrays[i] = (s, r1, c1, r2, c2, cell.dynamic)
            book.extend(s, r2, c2)
            for r in range(r1, r2 + 1):
                rb = base | (r << ROW_SHIFT)
                for c in range(c1, c2 + 1):
                    self._provider.setdefault(rb | c, i)
        shape, params = self._template_for(s, cell.row, cell.col, formula, array)
        compiled = self._shapes[shape]
        self._shape_of.append(shape)
        self._params.append(params)
        if compiled.unsupported is not None:
            self._kinds.append(_BROKEN)
            self._fns.append(None)
            self._reasons[i] = compiled.unsupported
        else:
            self._kinds.append(_ARRAY if array else _NORMAL)
            self._fns.append(compiled.value)

    def _add_table(self, i: int, s: int, cell: Any) -> None:
        dt_ = cell.data_table
        base = s << SHEET_SHIFT
        self._shape_of.append(-1)
        self._fns.append(None)
        self._params.append(())
        try:
            r1, c1, r2, c2 = parse_range(dt_.ref)
        except ValueError:
            self._kinds.append(_BROKEN)
            self._reasons[i] = f"bad data table range {dt_.ref!r}"
            return

        def input_key(ref: str | None) -> int | None:
            if not ref:
                return None
            try:
                r, c = parse_range(ref)[:2]
            except ValueError:
                return None
            return base | (r << ROW_SHIFT) | c

        table = _Table(
            s,
            r1,
            c1,
            r2,
            c2,
            dt_.two_dimensional,
            dt_.row_input,
            input_key(dt_.r1),
            input_key(dt_.r2),
        )
        if (
            r1 < 2
            or c1 < 2
            or table.input1 is None
            or (table.two_dimensional and table.input2 is None)
        ):
            self._kinds.append(_BROKEN)
            self._reasons[i] = "data table without its input cells"
            return
        self._tables[i] = table
        self._kinds.append(_TABLE)
        for r in range(r1, r2 + 1):
            rb = base | (r << ROW_SHIFT)
            for c in range(c1, c2 + 1):
                self._provider.setdefault(rb | c, i)

    def _template_for(
        self, sheet: int, row: int, col: int, formula: str, array: bool
    ) -> tuple[int, tuple[int, ...]]:
        """The compiled template of a formula and this cell's reference keys.

        Formulas with the same skeleton (text without its references) share
        a template; a formula whose references the splitter and the parser
        count differently is compiled on its own (shape_for).
        """
        try:
            skeleton, corners = split_references(formula)
        except SplitError:
            return self._shape_for(sheet, row, col, formula, array), ()
        key = (sheet, array, skeleton + self._table_scope(sheet, row, col, formula))
        index = self._template_index.get(key)
        if index is None:
            index = self._make_template(sheet, row, col, formula, array, len(corners))
            self._template_index[key] = index
        if index < 0:
            return self._shape_for(sheet, row, col, formula, array), ()
        if self._shapes[index].unsupported is not None:
            return index, ()
        sheets = self._shapes[index].param_sheets
        if len(sheets) != len(corners):
            return self._shape_for(sheet, row, col, formula, array), ()
        return index, tuple([(s << SHEET_SHIFT) | rc for s, rc in zip(sheets, corners)])

    def _table_scope(self, sheet: int, row: int, col: int, formula: str) -> str:
        """An unqualified structured reference (``[@Qty]``) means the table the formula is
        in: such formulas share a compiled template within one table only."""
        if "[" in formula and self._book.tables:
            return f"\x01{self._book.table_at(sheet, row, col)}"
        return ""

    def _make_template(
        self, sheet: int, row: int, col: int, formula: str, array: bool, nparams: int
    ) -> int:
        """Compile a template from one formula; -1 when its slots disagree with the splitter."""
        try:
            node = parse_formula(formula, row, col, sheet, self._book, slots=True)
        except (FormulaSyntaxError, ValueError, RecursionError):
            return -1  # compiled (and reported) on its own
        if count_slots(node) != nparams:
            return -1
        compiled = self._compiler.compile(node, sheet, array, nparams)
        if compiled.unsupported is None and len(compiled.param_sheets) != nparams:
            return -1
        index = len(self._shapes)
        self._shapes.append(compiled)
        return index

    def _shape_for(self, sheet: int, row: int, col: int, formula: str, array: bool) -> int:
        key = (
            sheet,
            array,
            shape_key(formula, row, col) + self._table_scope(sheet, row, col, formula),
        )
        index = self._shape_index.get(key)
        if index is not None:
            return index
        try:
            node = parse_formula(formula, row, col, sheet, self._book)
        except (FormulaSyntaxError, ValueError) as exc:
            compiled = CompiledShape(None, None, False, False, f"cannot parse formula: {exc}", "")
        except RecursionError:
            compiled = CompiledShape(None, None, False, False, "formula too deeply nested", "")
        else:
            compiled = self._compiler.compile(node, sheet, array)
        index = len(self._shapes)
        self._shapes.append(compiled)
        self._shape_index[key] = index
        return index

    # -- the graph ---------------------------------------------------------------------

    def _node_deps(
        self, i: int
    ) -> tuple[tuple[int, ...], tuple[tuple[int, int, int, int, int], ...]]:
        kind = self._kinds[i]
        if kind == _TABLE:
            t = self._tables[i]
            return (), (
                (t.sheet, t.r1 - 1, t.c1 - 1, t.r1 - 1, t.c2),
                (t.sheet, t.r1, t.c1 - 1, t.r2, t.c1 - 1),
            )
        shape = self._shape_of[i]
        if shape < 0:
            return (), ()
        compiled = self._shapes[shape]
        k = self._keys[i]
        cells: tuple[int, ...] = compiled.const_cells
        ranges: tuple[tuple[int, int, int, int, int], ...] = compiled.const_ranges
        if compiled.deps is not None:
            cells, ranges = compiled.deps(k)
        p = self._params[i]
        if p:
            if compiled.cell_slots:
                cells = cells + tuple([p[j] for j in compiled.cell_slots])
            if compiled.area_slots:
                extra = []
                for j in compiled.area_slots:
                    k1, k2 = p[j], p[j + 1]
                    extra.append(
                        (
                            k1 >> SHEET_SHIFT,
                            (k1 >> ROW_SHIFT) & 0x1FFFFF,
                            k1 & 0x7FFF,
                            (k2 >> ROW_SHIFT) & 0x1FFFFF,
                            k2 & 0x7FFF,
                        )
                    )
                ranges = ranges + tuple(extra)
        return cells, ranges

    def _build_graph(self) -> None:
        n = len(self._keys)
        provider = self._provider
        # Column index of formula-provided cells: sheet -> col -> (rows, nodes), sorted by row.
        columns: dict[int, dict[int, tuple[list[int], list[int]]]] = {}
        for count, key in enumerate(sorted(provider)):
            if not count & 4095:
                self._report("graph", 0, n)
            s, r, c = key >> SHEET_SHIFT, (key >> ROW_SHIFT) & 0x1FFFFF, key & 0x7FFF
            rows, nodes = columns.setdefault(s, {}).setdefault(c, ([], []))
            rows.append(r)
            nodes.append(provider[key])
        self._columns = columns
        range_cache: dict[tuple[int, int, int, int, int], tuple[int, ...]] = {}
        precedents: list[tuple[int, ...]] = []
        virtual: list[tuple[int, ...]] = []
        # Readers of constant cells and of ranges of the template fast path, kept for
        # what-if; the other nodes (and names' references) are indexed on first use.
        cell_readers: dict[int, list[int]] = {}
        range_readers: list[tuple[int, int, int]] = []  # (corner key, corner key, node)
        slow: list[int] = []
        kinds = self._kinds
        shapes = self._shapes
        shape_of = self._shape_of
        params = self._params
        get_provider = provider.get
        nodes_in = self._nodes_in
        # Per template whose reads are all in its slots: (cell slots, area slots, names' reads).
        plans = [(c.cell_slots, c.area_slots, c) if c.deps is None else None for c in shapes]
        # Areas by their two corner keys, as the slots hold them (the common case).
        area_cache: dict[tuple[int, int], tuple[int, ...]] = {}
        special = set(self._arrays) | set(self._tables)
        for i in range(n):
            if not i & 255:
                self._report("graph", i, n)
            shape = shape_of[i]
            plan = plans[shape] if shape >= 0 else None
            if plan is not None:
                # the common case: everything read is in the cell's slots
                cell_slots, area_slots, compiled = plan
                p = params[i]
                precs = []
                for j in cell_slots:
                    key = p[j]
                    q = get_provider(key)
                    if q is not None:
                        precs.append(q)
                    else:  # a constant cell: remember who reads it, for what-if
                        found_readers = cell_readers.get(key)
                        if found_readers is None:
                            cell_readers[key] = [i]
                        else:
                            found_readers.append(i)
                if compiled.const_cells or compiled.const_ranges:  # references inside names
                    for key in compiled.const_cells:
                        q = get_provider(key)
                        if q is not None:
                            precs.append(q)
                    for rng in compiled.const_ranges:
                        found = range_cache.get(rng)
                        if found is None:
                            found = range_cache[rng] = self._range_precedents(
                                nodes_in(rng), n, virtual
                            )
                        precs.extend(found)
                for j in area_slots:
                    k1, k2 = p[j], p[j + 1]
                    range_readers.append((k1, k2, i))
                    found = area_cache.get((k1, k2))
                    if found is None:
                        rng = (
                            k1 >> SHEET_SHIFT,
                            (k1 >> ROW_SHIFT) & 0x1FFFFF,
                            k1 & 0x7FFF,
                            (k2 >> ROW_SHIFT) & 0x1FFFFF,
                            k2 & 0x7FFF,
                        )
                        found = range_cache.get(rng)
                        if found is None:
                            found = range_cache[rng] = self._range_precedents(
                                nodes_in(rng), n, virtual
                            )
                        area_cache[(k1, k2)] = found
                    precs.extend(found)
            else:
                slow.append(i)
                cells, ranges = self._node_deps(i)
                precs = []
                for key in cells:
                    q = get_provider(key)
                    if q is not None:
                        precs.append(q)
                for rng in ranges:
                    found = range_cache.get(rng)
                    if found is None:
                        found = range_cache[rng] = self._range_precedents(nodes_in(rng), n, virtual)
                    precs.extend(found)
            if special and i in special:
                precs = [q for q in precs if q != i]
            precedents.append(tuple(precs))
        self._report("graph", n, n, force=True)
        self._n_real = n
        self._partial_readers = (cell_readers, range_readers, slow)
        for range_nodes in virtual:
            precedents.append(range_nodes)
            self._keys.append(self._keys[range_nodes[0]])
            self._formulas.append("")
            self._cached.append(None)
            self._kinds.append(_RANGE)
            self._fns.append(None)
            self._params.append(())
            self._shape_of.append(-1)
        n = len(self._keys)
        from eval_svc.engine.graph import dependents_of, evaluation_plan

        def tick(done: int) -> None:
            self._report("graph", done, n)

        self._precedents = precedents
        self._dependents = dependents_of(precedents, tick)
        self._plan, self._cycles = evaluation_plan(precedents, self._dependents, tick)
        self._rank = [0] * n
        self._group_of: dict[int, int] = {}
        for pos, i in enumerate(self._plan):
            if i >= 0:
                self._rank[i] = pos
            else:
                for m in self._cycles[-i - 1]:
                    self._rank[m] = pos
                    self._group_of[m] = -i - 1
        # Static propagation along the plan: volatile and not computable, from the few
        # nodes that are so themselves to everything that depends on them.
        volatile = bytearray(n)
        shapes = self._shapes
        volatile_shapes = {j for j, c in enumerate(shapes) if c.volatile or c.dynamic}
        if volatile_shapes:
            shape_of = self._shape_of
            for i in range(n):
                if shape_of[i] in volatile_shapes:
                    volatile[i] = 1
        self._self_volatile = [i for i in range(n) if volatile[i]]
        dependents = self._dependents
        todo = list(self._self_volatile)
        while todo:
            for d in dependents[todo.pop()]:
                if not volatile[d]:
                    volatile[d] = 1
                    todo.append(d)
        broken = [i for i in range(n) if kinds[i] == _BROKEN] if _BROKEN in kinds else []
        if broken:
            reached = set(broken)
            todo = list(broken)
            while todo:
                for d in dependents[todo.pop()]:
                    if d not in reached:
                        reached.add(d)
                        todo.append(d)
            # In plan order, so that each names the first broken cell it reads.
            for done, i in enumerate(self._order()):
                if not done & 4095:
                    self._report("graph", done, n)
                if i not in reached or kinds[i] == _BROKEN:
                    continue
                for q in precedents[i]:
                    if kinds[q] == _BROKEN:
                        kinds[i] = _BROKEN
                        self._reasons[i] = self._cause(q, "not computable", self._reasons)
                        break
        self._volatile = volatile

    def _mark_unreadable(self) -> None:
        """What formulas read on linked sheets Excel could not read becomes #REF!."""
        book = self._book
        for i in range(self._n_real):
            cells, ranges = self._node_deps(i)
            for key in cells:
                s, r, c = key >> SHEET_SHIFT, (key >> ROW_SHIFT) & 0x1FFFFF, key & 0x7FFF
                book.mark_unreadable(s, r, c, r, c)
            for s, r1, c1, r2, c2 in ranges:
                book.mark_unreadable(s, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))

    def _range_precedents(
        self, nodes: tuple[int, ...], n_real: int, virtual: list[tuple[int, ...]]
    ) -> tuple[int, ...]:
        if len(nodes) < _RANGE_NODE_MIN:
            return nodes
        virtual.append(nodes)
        return (n_real + len(virtual) - 1,)

    def _cause(self, p: int, what: str, reasons: dict[int, str]) -> str:
        """Why a cell reading node p is not computed; a range node passes on its cell's reason."""
        if p >= self._n_real:
            return reasons.get(p) or self._reasons.get(p) or f"depends on {what} cells"
        return f"depends on {what} {self._book.address(self._keys[p])}"

    def _order(self) -> Iterable[int]:
        for i in self._plan:
            if i >= 0:
                yield i
            else:
                yield from self._cycles[-i - 1]

    def _nodes_in(self, rng: tuple[int, int, int, int, int]) -> tuple[int, ...]:
        s, r1, c1, r2, c2 = rng
        if r1 > r2:
            r1, r2 = r2, r1
        if c1 > c2:
            c1, c2 = c2, c1
        sheet_cols = self._columns.get(s)
        if not sheet_cols:
            return ()
        if c2 - c1 > len(sheet_cols):
            cols: Iterable[int] = sorted(c for c in sheet_cols if c1 <= c <= c2)
        else:
            cols = range(c1, c2 + 1)
        found: list[int] = []
        for c in cols:
            entry = sheet_cols.get(c)
            if entry is None:
                continue
            rows, nodes = entry
            lo = bisect.bisect_left(rows, r1)
            hi = bisect.bisect_right(rows, r2)
            if lo < hi:
                found.extend(nodes[lo:hi])
        if len(found) > 1:
            found = list(dict.fromkeys(found))
        return tuple(found)

    # -- evaluation ------------------------------------------------------------------------

    def _fail(self, i: int, exc: BaseException) -> None:
        if isinstance(exc, NotComputable):
            self._failed[i] = str(exc)
        elif isinstance(exc, RecursionError):
            self._failed[i] = "formula chain too deep to evaluate"
        else:
            self._failed[i] = f"engine error: {type(exc).__name__}: {exc}"

    def _eval(self, i: int) -> None:
        """Compute one node (any kind) and store its value(s)."""
        kind = self._kinds[i]
        k = self._keys[i]
        if kind == _NORMAL:
            self._values[k] = self._fns[i](k, self._params[i])  # type: ignore[misc]
        elif kind == _ARRAY:
            self._eval_array(i, k)
        elif kind == _TABLE:
            self._eval_table(i)

    def _eval_array(self, i: int, k: int) -> None:
        result = self._fns[i](k, self._params[i])  # type: ignore[misc]
        rows = to_array(result).rows
        s, r1, c1, r2, c2, dynamic = self._arrays[i]
        nr, nc = len(rows), len(rows[0])
        values = self._values
        base = s << SHEET_SHIFT
        for r in range(r1, r2 + 1):
            rb = base | (r << ROW_SHIFT)
            ii = r - r1
            for c in range(c1, c2 + 1):
                jj = c - c1
                if dynamic:
                    v = rows[ii][jj] if ii < nr and jj < nc else None
                    if v is None and ii < nr and jj < nc:
                        v = 0.0
                else:
                    v = _element(rows, ii, jj)
                    if v is None:
                        v = 0.0
                key = rb | c
                if v is None:
                    values.pop(key, None)
                else:
                    values[key] = float(v) if type(v) is int else v

    def _eval_guarded(self, i: int) -> None:
        state = self._state
        state[i] = 1
        self._stack.append(i)
        try:
            self._eval(i)
        except Exception as exc:  # noqa: BLE001 - a formula must never crash the model
            self._fail(i, exc)
        finally:
            self._stack.pop()
            state[i] = 2

    def _guarded_get(self, key: int) -> CellValue:
        i = self._provider.get(key)
        if i is not None:
            st = self._state[i]
            if st == 0:
                if self._kinds[i] != _BROKEN and i not in self._overridden:
                    if self._guarded:
                        self._eval_guarded(i)
                    else:
                        # Read through OFFSET/INDIRECT before its turn: whatever that
                        # cell reads must be computed first too, so read guarded.
                        self._guard(True)
                        try:
                            self._eval_guarded(i)
                        finally:
                            self._guard(False)
            elif st == 1:
                self._cycle_hit(i, key)
        return self._values.get(key)

    def _cycle_hit(self, i: int, key: int) -> None:
        members = self._cycle_members
        if members is None:
            return  # iterating: the previous value is what Excel uses
        stack = self._stack
        for pos in range(len(stack) - 1, -1, -1):
            if stack[pos] == i:
                start = pos if key == self._keys[i] else pos + 1
                members.update(stack[start:])
                return

    def _guard(self, on: bool) -> None:
        self._guarded = on
        get = self._guarded_get if on else self._values.get
        self._env["_g"] = get
        self._book.get = get
        self._book.memo = None if on else {}

    def _eval_cycle(self, group: list[int]) -> None:
        state = self._state
        values = self._values
        keys = self._keys
        evaluable = [i for i in group if self._kinds[i] != _BROKEN and i not in self._overridden]
        self._guard(True)
        try:
            if self._calc.iterate:
                count = max(1, self._calc.iterate_count)
                delta = self._calc.iterate_delta
                for _ in range(count):
                    before = [values.get(keys[i]) for i in evaluable]
                    for i in evaluable:
                        state[i] = 0
                    for i in evaluable:
                        if state[i] == 0:
                            self._eval_guarded(i)
                    if _max_change(before, [values.get(keys[i]) for i in evaluable]) < delta:
                        break
                return
            members: set[int] = set()
            self._cycle_members = members
            for i in evaluable:
                state[i] = 0
            for i in evaluable:
                if state[i] == 0:
                    self._eval_guarded(i)
            if members:
                rest = [i for i in evaluable if i not in members]
                for m in members:
                    self._set_circular_value(m)
                for i in rest:
                    state[i] = 0
                for i in rest:
                    if state[i] == 0:
                        self._eval_guarded(i)
                for m in members:
                    self._set_circular_value(m)
                self._circular |= members
        finally:
            self._cycle_members = None
            self._guard(False)

    def _set_circular_value(self, i: int) -> None:
        """Excel leaves a circular cell at its last value: the cached one, else 0."""
        v = self._cached[i]
        self._values[self._keys[i]] = 0.0 if v is None else v
        self._state[i] = 2

    @_exclusive
    def calculate(self, progress: Progress | None = None) -> list[CellResult]:
        """Recompute every formula cell (a full calculation) and return one result per formula cell."""
        if progress is not None:
            self._progress = progress
        n = len(self._keys)
        self._state = state = bytearray(n)
        self._failed = {}
        self._circular = set()
        self._overridden = set()
        values = self._values
        keys = self._keys
        fns = self._fns
        params = self._params
        kinds = self._kinds
        cycles = self._cycles
        self._book.dyn_get = self._guarded_get
        self._book.new_epoch()
        _deep_enough()
        done = 0
        for i in self._plan:
            done += 1
            self._position = done
            if done % _PROGRESS_EVERY == 0:
                self._report("computing", done, len(self._plan))
            if i < 0:
                self._eval_cycle(cycles[-i - 1])
                continue
            if state[i]:
                continue
            state[i] = 1
            kind = kinds[i]
            k = keys[i]
            try:
                if kind == 0:
                    values[k] = fns[i](k, params[i])  # type: ignore[misc]
                elif kind != _BROKEN:
                    self._eval(i)
            except Exception as exc:  # noqa: BLE001 - a formula must never crash the model
                self._fail(i, exc)
            state[i] = 2
        self._report("computing", len(self._plan), len(self._plan), force=True)
        results = self._results()
        self._baseline = dict(values)
        return results

    def _results(self) -> list[CellResult]:
        """One CellResult per formula node, propagating runtime failures and circularity."""
        n = len(self._keys)
        status = bytearray(n)  # 0 computed, 1 not computable, 2 circular
        reasons: dict[int, str] = {}
        precedents = self._precedents
        failed = self._failed
        circular = self._circular
        kinds = self._kinds
        if failed or circular:
            for i in self._order():
                if kinds[i] == _BROKEN:
                    status[i] = 1
                    continue
                if i in circular:
                    status[i] = 2
                    reasons[i] = _CIRCULAR_REASON
                    continue
                if i in failed:
                    status[i] = 1
                    reasons[i] = failed[i]
                    continue
                for p in precedents[i]:
                    sp = status[p]
                    if sp:
                        status[i] = sp
                        what = "not computable" if sp == 1 else "circular"
                        reasons[i] = self._cause(p, what, reasons)
                        if sp == 2 and i < self._n_real:
                            self._set_circular_value(i)
                        break
        else:
            for i in range(n):
                if kinds[i] == _BROKEN:
                    status[i] = 1
        names = self._book.sheet_names
        values = self._values
        out: list[CellResult] = []
        make = result_maker()
        volatile = self._volatile
        for i in range(self._n_real):
            if not i & 1023:
                self._report("computing", i, self._n_real)
            k = self._keys[i]
            st = status[i]
            s, r, c = k >> SHEET_SHIFT, (k >> ROW_SHIFT) & 0x1FFFFF, k & 0x7FFF
            if st == 1:
                reason = reasons.get(i) or self._reasons.get(i) or "not computable"
                out.append(make(names[s], r, c, None, "not_computable", reason, bool(volatile[i])))
                continue
            v = values.get(k)
            if type(v) is int:
                v = float(v)
            label: CellStatus = "circular" if st == 2 else "computed"
            out.append(make(names[s], r, c, v, label, reasons.get(i), bool(volatile[i])))
        return out

    # -- incremental recalculation ---------------------------------------------------------

    def _reader_index(
        self,
    ) -> tuple[dict[int, list[int]], list[list[tuple[int, int, int, int, int]]]]:
        """Which formula nodes read each constant cell or range (completed on first use)."""
        if self._readers is None:
            cell_readers, fast_ranges, slow = self._partial_readers
            range_readers: list[list[tuple[int, int, int, int, int]]] = [
                [] for _ in self._book.sheet_names
            ]
            for k1, k2, i in fast_ranges:
                s = k1 >> SHEET_SHIFT
                r1, c1 = (k1 >> ROW_SHIFT) & 0x1FFFFF, k1 & 0x7FFF
                r2, c2 = (k2 >> ROW_SHIFT) & 0x1FFFFF, k2 & 0x7FFF
                range_readers[s].append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2), i))
            with_names = {
                index
                for index, compiled in enumerate(self._shapes)
                if compiled.deps is None and (compiled.const_cells or compiled.const_ranges)
            }
            if with_names:
                shapes, shape_of = self._shapes, self._shape_of
                for i in range(self._n_real):
                    if shape_of[i] not in with_names:
                        continue
                    compiled = shapes[shape_of[i]]
                    for key in compiled.const_cells:
                        cell_readers.setdefault(key, []).append(i)
                    for s, r1, c1, r2, c2 in compiled.const_ranges:
                        range_readers[s].append(
                            (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2), i)
                        )
            for i in slow:
                cells, ranges = self._node_deps(i)
                for key in cells:
                    cell_readers.setdefault(key, []).append(i)
                for s, r1, c1, r2, c2 in ranges:
                    if s < len(range_readers):
                        range_readers[s].append(
                            (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2), i)
                        )
            self._readers = (cell_readers, range_readers)
        return self._readers

    def _readers_of(self, key: int) -> set[int]:
        cell_readers, range_readers = self._reader_index()
        found = set(cell_readers.get(key, ()))
        s, r, c = key >> SHEET_SHIFT, (key >> ROW_SHIFT) & 0x1FFFFF, key & 0x7FFF
        if s < len(range_readers):
            for r1, c1, r2, c2, i in range_readers[s]:
                if r1 <= r <= r2 and c1 <= c <= c2:
                    found.add(i)
        return found

    def _affected(self, seeds: Iterable[int], limit_rank: int | None = None) -> list[int]:
        """Seeds and everything depending on them, in plan order."""
        seen = set(seeds)
        todo = list(seen)
        dependents = self._dependents
        while todo:
            i = todo.pop()
            for d in dependents[i]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        rank = self._rank
        nodes = [i for i in seen if limit_rank is None or rank[i] < limit_rank]
        nodes.sort(key=rank.__getitem__)
        return nodes

    def _recompute(self, nodes: list[int], skip: set[int] | None = None) -> None:
        state = self._state
        for i in nodes:
            state[i] = 0
        groups_done: set[int] = set()
        for i in nodes:
            if skip is not None and i in skip:
                state[i] = 2
                continue
            if i in self._overridden or self._kinds[i] == _BROKEN:
                state[i] = 2
                continue
            g = self._group_of.get(i)
            if g is not None:
                if g not in groups_done:
                    groups_done.add(g)
                    self._eval_cycle(self._cycles[g])
                continue
            if state[i] == 2:
                continue
            state[i] = 1
            try:
                self._eval(i)
            except Exception as exc:  # noqa: BLE001
                self._fail(i, exc)
            state[i] = 2

    def _eval_table(self, i: int) -> None:
        t = self._tables[i]
        values = self._values
        base = t.sheet << SHEET_SHIFT
        inputs = [k for k in (t.input1, t.input2) if k is not None]
        seeds: set[int] = set()
        input_nodes: set[int] = set()
        for k in inputs:
            seeds |= self._readers_of(k)
            j = self._node_of_key.get(k)
            if (
                j is not None
            ):  # an input cell holding a formula: its value is replaced, not computed
                input_nodes.add(j)
                seeds.update(self._dependents[j])
        affected = [
            j
            for j in self._affected(seeds, self._rank[i])
            if j not in self._tables and j not in input_nodes
        ]
        touched = [k for k in inputs]
        for j in affected:
            if j >= self._n_real:
                continue
            touched.append(self._keys[j])
            if j in self._arrays:
                s, r1, c1, r2, c2, _ = self._arrays[j]
                touched.extend(
                    cell_key(s, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                )
        saved = {k: values.get(k) for k in touched}
        results: dict[int, CellValue] = {}

        def key(r: int, c: int) -> int:
            return base | (r << ROW_SHIFT) | c

        # Header values are read once: they may themselves depend on the input cells.
        row_head = {c: values.get(key(t.r1 - 1, c)) for c in range(t.c1, t.c2 + 1)}
        col_head = {r: values.get(key(r, t.c1 - 1)) for r in range(t.r1, t.r2 + 1)}
        try:
            for r in range(t.r1, t.r2 + 1):
                for c in range(t.c1, t.c2 + 1):
                    if t.two_dimensional:
                        formula = key(t.r1 - 1, t.c1 - 1)
                        settings = [(t.input1, row_head[c]), (t.input2, col_head[r])]
                    elif t.row_input:
                        formula = key(r, t.c1 - 1)
                        settings = [(t.input1, row_head[c])]
                    else:
                        formula = key(t.r1 - 1, c)
                        settings = [(t.input1, col_head[r])]
                    for input_key, v in settings:
                        if input_key is None:
                            continue
                        if v is None:
                            values.pop(input_key, None)
                        else:
                            values[input_key] = v
                    self._book.new_epoch()
                    self._recompute(affected)
                    self._report("computing", self._position, len(self._plan))
                    v = values.get(formula)
                    results[key(r, c)] = 0.0 if v is None else v
        finally:
            for k, v in saved.items():
                if v is None:
                    values.pop(k, None)
                else:
                    values[k] = v
            for j in affected:
                self._state[j] = 2
            self._book.new_epoch()
        values.update(results)

    @_exclusive
    def set_values(self, changes: Mapping[str, CellValue]) -> int:
        """Change input cells (A1 references or defined names); recompute what depends on them.

        Returns the number of formula cells recomputed. Call :meth:`calculate`
        first; :meth:`reset` undoes every change.
        """
        if self._baseline is None:
            self.calculate()
        _deep_enough()
        seeds: set[int] = set()
        for target, value in changes.items():
            key = self._target_cell(target)
            if type(value) is int:
                value = float(value)
            if value is None:
                self._values.pop(key, None)
            else:
                self._values[key] = value
            node = self._node_of_key.get(key)
            if node is not None:
                self._overridden.add(node)
                seeds.update(self._dependents[node])
            seeds |= self._readers_of(key)
        seeds.update(self._self_volatile)
        affected = self._affected(seeds)
        self._book.dyn_get = self._guarded_get
        self._book.new_epoch()
        self._recompute(affected)
        return sum(1 for i in affected if i < self._n_real)

    @_exclusive
    def check_input(self, target: str) -> None:
        """Raise :class:`ReferenceNotFound` unless ``target`` (an A1 reference or a defined
        name) is one cell of this workbook that :meth:`set_values` can change; changes nothing."""
        self._target_cell(target)

    @_exclusive
    def reset(self) -> None:
        """Back to the values of the last full calculate()."""
        if self._baseline is None:
            return
        self._values.clear()
        self._values.update(self._baseline)
        self._overridden = set()
        self._book.new_epoch()

    # -- reading values -------------------------------------------------------------------

    @_exclusive
    def value(self, target: str) -> Any:
        """The current value of a cell, a range (tuple of row tuples) or a defined name."""
        found = self._target(target)
        if type(found) is Ref:
            if found.is_cell:
                return found.first()
            return tuple(tuple(row) for row in found.full_rows())
        return found

    @_exclusive
    def values(self, targets: Iterable[str]) -> list[Any]:
        return [self.value(t) for t in targets]

    def _target_cell(self, target: str) -> int:
        found = self._target(target, want_ref=True)
        if type(found) is not Ref or not found.is_cell or found.sheet >= self._book.n_real:
            raise ReferenceNotFound(f"not a single cell of this workbook: {target!r}")
        return cell_key(found.sheet, found.r1, found.c1)

    def _target(self, target: str, want_ref: bool = False) -> Any:
        text = target.strip().lstrip("=")
        try:
            tokens = tokenize(text)
        except FormulaSyntaxError:
            raise ReferenceNotFound(f"not a reference or name: {target!r}") from None
        if len(tokens) != 1 or tokens[0].kind not in (TokenKind.REF, TokenKind.NAME):
            raise ReferenceNotFound(f"not a reference or name: {target!r}")
        tok: Token = tokens[0]
        if tok.kind is TokenKind.REF:
            prefix, part = split_prefix(tok.text)
            if prefix is None:
                if len(self._book.sheet_names) == 0:
                    raise ReferenceNotFound(f"no sheet for {target!r}")
                sheet = 0
            else:
                found = self._book.sheet_index(prefix)
                if found is None:
                    raise ReferenceNotFound(f"no sheet named {prefix!r}")
                sheet = found
            try:
                r1, c1, r2, c2 = parse_range(part)
            except ValueError:
                raise ReferenceNotFound(f"not a reference: {target!r}") from None
            return self._book.ref(
                sheet,
                r1,
                c1,
                min(r2, max(r1, self._book.max_row[sheet])),
                min(c2, max(c1, self._book.max_col[sheet])),
            )
        prefix, name = split_prefix(tok.text)
        scope = self._book.sheet_index(prefix) if prefix else None
        node = self._book.defined_name(name, scope)
        if node is None:
            raise ReferenceNotFound(f"no defined name {target!r}")
        if type(node) is CellRef and node.row_abs and node.col_abs and node.sheet is not None:
            return self._book.ref(node.sheet, node.row, node.col, node.row, node.col)
        if (
            type(node) is Area
            and node.sheet is not None
            and all((node.r1_abs, node.c1_abs, node.r2_abs, node.c2_abs))
        ):
            return self._book.ref(node.sheet, node.r1, node.c1, node.r2, node.c2)
        if want_ref:
            raise ReferenceNotFound(f"name {target!r} does not refer to a cell")
        compiled = self._compiler.compile(node, 0, False)
        if compiled.value is None:
            raise EngineError(f"cannot evaluate name {target!r}: {compiled.unsupported}")
        return compiled.value(cell_key(0, 1, 1), ())

    def _indirect(self, text: str, key: int, a1: bool) -> Ref | XlError:
        from eval_svc.engine.functions.lookup import resolve_text_reference

        return resolve_text_reference(self._book, text, key, a1)


def _max_change(before: list[CellValue], after: list[CellValue]) -> float:
    worst = 0.0
    for a, b in zip(before, after):
        if a == b:
            continue
        if type(a) is float and type(b) is float:
            d = abs(a - b)
        else:
            d = float("inf")
        worst = max(worst, d)
    return worst


def compile_workbook(workbook: Workbook, progress: Progress | None = None) -> CompiledModel:
    """Parse, compile and graph a workbook; ``progress(stage, done, total)`` reports along the way."""
    return CompiledModel(workbook, progress)


_ = (MAX_ROW, MAX_COL, Array)

"""Pairing each formula cell with the engine's outcome for it, and the verdict on the pair.

Both sources come in batches in the same order, (sheet index, row, column):
import_svc's cells and eval_svc's computed values. :func:`check_cells` walks
them side by side (a merge join), so memory holds a batch of each, never the
model. A formula cell the engine left out is NOT_COMPUTABLE with that reason;
a computed value without a formula cell (a spilled array's cells) is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from operator import attrgetter
from typing import Final

from calcwire.values import CellValue, XlError, is_number
from validation_svc.compare import Status, Tolerance, Verdict, classify
from validation_svc.domain import CellResult, ComputedCell, FormulaCell

__all__ = ["OutOfOrder", "check_cells", "judge", "kind_name"]

NO_RESULT: Final = "the engine gave no result for this cell"


class OutOfOrder(Exception):
    """A source did not come in (sheet, row, column) order, so the two cannot be paired."""


def kind_name(value: CellValue) -> str:
    """The kind of a value as a person says it: number, text, logical, error or empty."""
    if value is None:
        return "empty"
    if type(value) is bool:
        return "logical"
    if type(value) is XlError:
        return "error"
    if type(value) is str:
        return "text"
    return "number"


def judge(cell: FormulaCell, computed: ComputedCell | None, tolerance: Tolerance, *,
          logicals_as_numbers: bool = False) -> CellResult:
    """The result of one formula cell, by :func:`validation_svc.compare.classify`.

    A mismatch between values of different kinds says so in its reason
    ("cached text, computed number").
    """
    if computed is None:
        verdict = Verdict(Status.NOT_COMPUTABLE, NO_RESULT)
        value: CellValue = None
    else:
        value = computed.value
        verdict = classify(cached=cell.cached, computed=value, engine_status=computed.status,
                           reason=computed.reason, volatile=computed.volatile,
                           tolerance=tolerance, logicals_as_numbers=logicals_as_numbers)
    reason = verdict.reason
    abs_diff = None
    if is_number(value) and is_number(cell.cached):
        abs_diff = abs(float(value) - float(cell.cached))  # type: ignore[arg-type]
    elif verdict.status in (Status.MISMATCH, Status.VOLATILE):
        cached_kind, computed_kind = kind_name(cell.cached), kind_name(value)
        if cached_kind != computed_kind:
            detail = f"cached {cached_kind}, computed {computed_kind}"
            reason = f"{reason}; {detail}" if reason else detail
    return CellResult(cell.sheet_index, cell.sheet, cell.row, cell.col, cell.formula,
                      cell.cached, value, verdict.status, reason, abs_diff)


_key: Final[Callable[[FormulaCell | ComputedCell], tuple[int, int, int]]] = attrgetter(
    "sheet_index", "row", "col")


def _check_order(batch: Sequence[FormulaCell | ComputedCell],
                 after: tuple[int, int, int] | None, what: str) -> tuple[int, int, int] | None:
    previous = after
    for key in map(_key, batch):
        if previous is not None and key <= previous:
            raise OutOfOrder(f"{what} are not in (sheet, row, column) order at {key}")
        previous = key
    return previous


def _judge_batch(batch: Sequence[FormulaCell], pending: Sequence[ComputedCell], pos: int,
                 tolerance: Tolerance, logicals_as_numbers: bool
                 ) -> tuple[list[CellResult], int]:
    """The results of ``batch``, pairing its cells with ``pending[pos:]``, and the position
    in ``pending`` after the last value used. The usual cell (computed, and both values
    numbers that match) is judged here inline, as :func:`judge` would; every other one goes
    through :func:`judge`."""
    absolute, relative = tolerance.absolute, tolerance.relative
    match_status = Status.MATCH
    out: list[CellResult] = []
    append = out.append
    size = len(pending)
    for cell in batch:
        sheet_index, sheet, row, col, formula, cached = cell
        key = (sheet_index, row, col)
        while pos < size and (pending[pos][0], pending[pos][1], pending[pos][2]) < key:
            pos += 1  # a value of a cell without a formula (a spill)
        match = None
        if pos < size:
            candidate = pending[pos]
            if (candidate[0], candidate[1], candidate[2]) == key:
                match = candidate
                pos += 1
                value = candidate[3]
                if (type(value) is float and type(cached) is float
                        and candidate[4] == "computed"):
                    delta = abs(value - cached)
                    if delta <= absolute + relative * abs(cached):
                        append(CellResult(sheet_index, sheet, row, col, formula, cached,
                                          value, match_status, None, delta))
                        continue
        append(judge(cell, match, tolerance, logicals_as_numbers=logicals_as_numbers))
    return out, pos


async def check_cells(
    cells: AsyncIterable[Sequence[FormulaCell]],
    computed: AsyncIterable[Sequence[ComputedCell]],
    tolerance: Tolerance,
    *,
    logicals_as_numbers: bool = False,
) -> AsyncIterator[list[CellResult]]:
    """The result of every formula cell of ``cells``, one list per batch of ``cells``
    (each batch judged by :func:`_judge_batch` in a worker thread)."""
    values = aiter(computed)
    pending: Sequence[ComputedCell] = ()
    pos = 0
    exhausted = False
    last_cell: tuple[int, int, int] | None = None
    last_value: tuple[int, int, int] | None = None
    async for batch in cells:
        if not batch:
            continue
        last_cell = _check_order(batch, last_cell, "the model's cells")
        assert last_cell is not None
        # Take computed values until they reach past this batch's last cell.
        while not exhausted and (pos >= len(pending) or _key(pending[-1]) < last_cell):
            more = await anext(values, None)
            if more is None:
                exhausted = True
                break
            last_value = _check_order(more, last_value, "the computed values")
            pending = [*pending[pos:], *more] if pos < len(pending) else more
            pos = 0
        # Judging a batch is CPU work of a tenth of a second or more on a busy machine: in a
        # thread, the event loop (and the job's progress ticker) keeps running meanwhile.
        out, pos = await asyncio.to_thread(_judge_batch, batch, pending, pos, tolerance,
                                           logicals_as_numbers)
        yield out

"""A run's summary, built as the results go by: counts per sheet, the largest mismatches,
and findings a person can read.

Findings are about the model as a whole; the first ones name the likely cause
of stale values (manual calculation), the others what could not be checked.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Final

from validation_svc.compare import Status, StatusCounts, Tolerance
from validation_svc.domain import CellResult, SheetCounts, SheetRef, ValidationSummary

__all__ = ["LARGEST_MISMATCHES", "SummaryBuilder", "findings"]

LARGEST_MISMATCHES: Final = 20

_sheet_index: Final[Callable[[CellResult], int]] = attrgetter("sheet_index")
_status: Final[Callable[[CellResult], Status]] = attrgetter("status")


def _cells(n: int, one: str = "cell", many: str = "cells") -> str:
    return f"{n:,} {one if n == 1 else many}"


def findings(calc_mode: str, totals: StatusCounts) -> list[str]:
    """Plain-language findings about a model from its calculation mode and counts."""
    out: list[str] = []
    stale = totals.mismatch
    differ = f"{_cells(stale, 'cached value', 'cached values')} " + (
        "differs" if stale == 1 else "differ")
    if calc_mode == "manual":
        if stale:
            out.append("the file was saved with manual calculation: stale values are likely "
                       f"({differ} from the formulas' results)")
        else:
            out.append("the file was saved with manual calculation: stale values are likely, "
                       "although every cached value checked matches")
    elif stale:
        out.append(f"{differ} from the formulas' results: values pasted over formulas, "
                   "stale links, or a calculation Excel did not finish")
    if totals.not_cached:
        out.append(f"{_cells(totals.not_cached, 'formula has', 'formulas have')} no cached "
                   "value: the file was saved without calculating them")
    if totals.not_computable:
        out.append(f"{_cells(totals.not_computable, 'formula', 'formulas')} could not be "
                   "computed by calcwire (see ListUncalculated for the reasons)")
    if totals.circular:
        are = "is" if totals.circular == 1 else "are"
        out.append(f"{_cells(totals.circular)} {are} in circular references the file does not "
                   "iterate: Excel keeps their last values")
    if totals.volatile:
        depend = "depends" if totals.volatile == 1 else "depend"
        out.append(f"{_cells(totals.volatile)} {depend} on volatile functions (NOW, RAND, "
                   "OFFSET...): their differences are expected")
    return out


class SummaryBuilder:
    """Takes every result of a run once (:meth:`add`), then makes the summary (:meth:`build`)."""

    def __init__(self, sheets: Sequence[SheetRef]) -> None:
        self.totals = StatusCounts()
        self._sheets = {s.index: SheetCounts(s.index, s.name) for s in sheets}
        # A min-heap on (-rank, tie) holding the LARGEST_MISMATCHES smallest ranks.
        self._largest: list[tuple[float, tuple[int, int, int], CellResult]] = []

    def add(self, results: Iterable[CellResult]) -> None:
        results = results if isinstance(results, Sequence) else list(results)
        totals, sheets, largest = self.totals, self._sheets, self._largest
        # Count (sheet, status) pairs in C first: a run adds one result per formula cell.
        tally = Counter(zip(map(_sheet_index, results), map(_status, results), strict=True))
        for (sheet_index, status), count in tally.items():
            totals.add(status, count)
            sheet = sheets.get(sheet_index)
            if sheet is None:
                name = next(r.sheet for r in results if r.sheet_index == sheet_index)
                sheet = sheets[sheet_index] = SheetCounts(sheet_index, name)
            sheet.counts.add(status, count)
        if not any(status is Status.MISMATCH for _, status in tally):
            return
        for result in results:
            if result.status is Status.MISMATCH:
                rank = result.mismatch_rank
                assert rank is not None
                # Keep the smallest (rank, key): negate both for a max-heap of the kept ones.
                key = result.key
                entry = (-rank, (-key[0], -key[1], -key[2]), result)
                if len(largest) < LARGEST_MISMATCHES:
                    heapq.heappush(largest, entry)
                elif entry[:2] > largest[0][:2]:
                    heapq.heapreplace(largest, entry)

    def build(self, *, model_id: str, job_id: str, tolerance: Tolerance, calc_mode: str,
              create_time: datetime) -> ValidationSummary:
        largest = sorted((e[2] for e in self._largest),
                         key=lambda r: (r.mismatch_rank, r.key))
        return ValidationSummary(
            model_id=model_id,
            job_id=job_id,
            tolerance=tolerance,
            totals=self.totals,
            sheets=[s for _, s in sorted(self._sheets.items()) if s.counts.formula_cells],
            largest_mismatches=largest,
            calc_mode=calc_mode,
            findings=findings(calc_mode, self.totals),
            create_time=create_time,
        )

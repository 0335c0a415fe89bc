"""Pairing cells with computed values, the verdict on each, and the summary: pure code."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from calcwire.values import XlError
from validation_svc.checking import NO_RESULT, OutOfOrder, check_cells, judge
from validation_svc.compare import Status, Tolerance
from validation_svc.domain import CellResult, ComputedCell, FormulaCell, SheetRef
from validation_svc.summary import LARGEST_MISMATCHES, SummaryBuilder, findings

T = TypeVar("T")
TOL = Tolerance()


async def batches(items: Sequence[T], size: int) -> AsyncIterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def cell(s: int, r: int, c: int, cached: object = 1.0) -> FormulaCell:
    return FormulaCell(s, f"S{s}", r, c, "A1+1", cached)  # type: ignore[arg-type]


class TestJudge:
    def test_numbers_within_tolerance_match(self) -> None:
        r = judge(cell(0, 1, 1, 10.0), ComputedCell(0, 1, 1, 10.0 + 1e-9), TOL)
        assert r.status is Status.MATCH and r.abs_diff == pytest.approx(1e-9)

    def test_numeric_mismatch_has_its_difference(self) -> None:
        r = judge(cell(0, 1, 1, 10.0), ComputedCell(0, 1, 1, 12.5), TOL)
        assert (r.status, r.abs_diff, r.reason, r.mismatch_rank) == (Status.MISMATCH, 2.5, None,
                                                                      -2.5)

    def test_kinds_that_differ_are_named(self) -> None:
        r = judge(cell(0, 1, 1, "n/a"), ComputedCell(0, 1, 1, 3.0), TOL)
        assert r.status is Status.MISMATCH and r.abs_diff is None
        assert r.reason == "cached text, computed number" and r.mismatch_rank == math.inf
        e = judge(cell(0, 1, 1, XlError.DIV0), ComputedCell(0, 1, 1, True), TOL)
        assert e.reason == "cached error, computed logical"

    def test_engine_statuses_and_missing_results(self) -> None:
        nc = judge(cell(0, 1, 1), ComputedCell(0, 1, 1, None, "not_computable", "FOO"), TOL)
        assert (nc.status, nc.reason) == (Status.NOT_COMPUTABLE, "FOO")
        circ = judge(cell(0, 1, 1), ComputedCell(0, 1, 1, 3.0, "circular", "cycle"), TOL)
        assert circ.status is Status.CIRCULAR
        none = judge(cell(0, 1, 1), None, TOL)
        assert (none.status, none.reason) == (Status.NOT_COMPUTABLE, NO_RESULT)
        uncached = judge(cell(0, 1, 1, None), ComputedCell(0, 1, 1, 3.0), TOL)
        assert uncached.status is Status.NOT_CACHED
        vol = judge(cell(0, 1, 1, 1.0), ComputedCell(0, 1, 1, 2.0, volatile=True), TOL)
        assert (vol.status, vol.abs_diff, vol.mismatch_rank) == (Status.VOLATILE, 1.0, None)


class TestCheckCells:
    async def test_merge_join_over_uneven_batches(self) -> None:
        cells = [cell(0, 1, 2), cell(0, 3, 1), cell(1, 1, 1), cell(1, 2, 2), cell(2, 5, 5)]
        # A spilled value (0, 2, 2) without a formula cell; (1, 2, 2) has no value.
        values = [ComputedCell(0, 1, 2, 1.0), ComputedCell(0, 2, 2, 9.0),
                  ComputedCell(0, 3, 1, 2.0), ComputedCell(1, 1, 1, 1.0),
                  ComputedCell(2, 5, 5, 1.0)]
        for cell_size, value_size in ((1, 1), (2, 3), (5, 1), (1, 5), (3, 2)):
            out: list[CellResult] = []
            async for batch in check_cells(batches(cells, cell_size), batches(values, value_size),
                                           TOL):
                out.extend(batch)
            assert [(r.key, r.status) for r in out] == [
                ((0, 1, 2), Status.MATCH), ((0, 3, 1), Status.MISMATCH),
                ((1, 1, 1), Status.MATCH), ((1, 2, 2), Status.NOT_COMPUTABLE),
                ((2, 5, 5), Status.MATCH)]

    async def test_sources_out_of_order_are_refused(self) -> None:
        cells = [cell(0, 2, 1), cell(0, 1, 1)]
        with pytest.raises(OutOfOrder):
            async for _ in check_cells(batches(cells, 5), batches([], 1), TOL):
                pass
        values = [ComputedCell(1, 1, 1, 1.0), ComputedCell(0, 1, 1, 1.0)]
        with pytest.raises(OutOfOrder):
            async for _ in check_cells(batches([cell(1, 5, 5)], 5), batches(values, 1), TOL):
                pass


class TestSummary:
    def test_counts_largest_and_findings(self) -> None:
        sheets = [SheetRef(0, "Inputs"), SheetRef(1, "Model"), SheetRef(2, "Empty")]
        builder = SummaryBuilder(sheets)
        results = [CellResult(1, "Model", r, 2, "X", 0.0, float(r), Status.MISMATCH, None,
                              float(r)) for r in range(1, 31)]
        results.append(CellResult(1, "Model", 40, 1, "X", "a", 1.0, Status.MISMATCH,
                                  "cached text, computed number", None))
        results.append(CellResult(0, "Inputs", 1, 1, "X", 1.0, 1.0, Status.MATCH, None, 0.0))
        results.append(CellResult(0, "Inputs", 2, 1, "X", None, 1.0, Status.NOT_CACHED, "no", None))
        builder.add(results[::-1])
        summary = builder.build(model_id="m", job_id="j", tolerance=TOL, calc_mode="manual",
                                create_time=datetime.now(UTC))
        assert summary.totals.as_dict() == {"formula_cells": 33, "match": 1, "mismatch": 31,
                                            "not_cached": 1, "not_computable": 0, "volatile": 0,
                                            "circular": 0}
        assert [(s.name, s.counts.formula_cells) for s in summary.sheets] == [("Inputs", 2),
                                                                              ("Model", 31)]
        assert len(summary.largest_mismatches) == LARGEST_MISMATCHES
        assert [r.row for r in summary.largest_mismatches] == list(range(30, 10, -1))
        assert summary.findings[0].startswith("the file was saved with manual calculation: "
                                              "stale values are likely (31 cached values")
        assert any("1 formula has no cached value" in f for f in summary.findings)

    def test_non_numeric_mismatches_come_after_numbers(self) -> None:
        builder = SummaryBuilder([SheetRef(0, "S")])
        builder.add([CellResult(0, "S", 1, 1, "X", "a", "b", Status.MISMATCH, None, None),
                     CellResult(0, "S", 2, 1, "X", 1.0, 1.5, Status.MISMATCH, None, 0.5)])
        summary = builder.build(model_id="m", job_id="j", tolerance=TOL, calc_mode="auto",
                                create_time=datetime.now(UTC))
        assert [r.row for r in summary.largest_mismatches] == [2, 1]

    def test_automatic_calculation_findings(self) -> None:
        builder = SummaryBuilder([])
        assert findings("auto", builder.totals) == []
        builder.add([CellResult(0, "S", 1, 1, "X", 1.0, 2.0, Status.MISMATCH, None, 1.0)])
        (only,) = findings("auto", builder.totals)
        assert only.startswith("1 cached value differs from the formulas' results")
        assert "manual" not in only

"""Must show (issue 5): through the real services and the gateway, with an API key.

- Upload a workbook -> WatchJob follows import, evaluation and validation to
  SUCCEEDED: the stages in order, the percentage never going back, an event at
  least every 500 ms on a large model -> the summary and the cells are there.
- Staleness is found exactly: a generated model whose tax rate was changed and
  saved without recalculating; the mismatches are exactly the cells that depend
  on the tax rate, worked out independently of calcwire (dependents.py: the
  references of the formulas as written, followed transitively).

One upload per case, shared by the tests of its class.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from dependents import dependents
from pipeline_helpers import (
    PIPELINE_STAGES,
    TAX_RATE,
    Pipeline,
    PipelineFactory,
    Watched,
    generated,
    stage_name,
    stale,
)

from calcwire.common.v1 import calculation_pb2, cell_status_pb2
from calcwire.formula import column_letters
from calcwire.jobs.v1 import jobs_pb2
from calcwire.validation.v1 import validation_pb2
from calcwire.wire import value_from_proto
from calcwire.workbooks.v1 import workbooks_pb2

pytestmark = pytest.mark.stack

LARGE = 60_000  # formula cells: each stage works long enough to report progress several times
STALE = 3_000


@dataclass
class Run:
    pipeline: Pipeline
    response: workbooks_pb2.UploadWorkbookResponse
    watched: Watched
    formulas: int
    data: bytes

    @property
    def model(self) -> str:
        return self.response.model.name

    @property
    def events(self) -> list[jobs_pb2.JobEvent]:
        return [m.event for _, m in self.watched]

    @property
    def final(self) -> jobs_pb2.Job:
        return self.watched[-1][1].job


async def _run(make_pipeline: PipelineFactory, data: bytes, formulas: int, name: str) -> Run:
    pipeline = await make_pipeline()
    response = await pipeline.upload(data, file_name=name)
    watched = await pipeline.watch(response.job.name, timeout=240)
    return Run(pipeline, response, watched, formulas, data)


@pytest.fixture(scope="module")
async def large(make_pipeline: PipelineFactory) -> Run:
    data, formulas = generated(LARGE)
    return await _run(make_pipeline, data, formulas, "large model.xlsx")


@pytest.fixture(scope="module")
async def stale_run(make_pipeline: PipelineFactory) -> Run:
    data = stale(STALE)
    return await _run(make_pipeline, data, generated(STALE)[1], "stale model.xlsx")


def _succeeded(run: Run) -> None:
    final = run.final
    assert final.state == jobs_pb2.JOB_STATE_SUCCEEDED, (
        f"the job ended {jobs_pb2.JobState.Name(final.state)} at "
        f"{stage_name(final.stage)}: {final.error.reason} {final.error.message}")


def _key(result: validation_pb2.CellResult) -> tuple[str, int, int]:
    return (result.sheet, result.row, result.column)


class TestUploadToValidated:
    def test_the_job_succeeds_at_done_100_percent(self, large: Run) -> None:
        _succeeded(large)
        assert large.final.stage == jobs_pb2.JOB_STAGE_DONE
        assert large.final.percent == 100
        assert not large.final.HasField("error")

    def test_the_stages_appear_in_order(self, large: Run) -> None:
        running = [e.stage for e in large.events
                   if e.state != jobs_pb2.JOB_STATE_QUEUED]
        stages = [stage for stage, _ in itertools.groupby(running)]
        assert [stage_name(s) for s in stages] == [stage_name(s) for s in PIPELINE_STAGES], [
            (stage_name(e.stage), e.percent, e.message) for e in large.events]

    def test_events_are_numbered_and_the_percentage_never_goes_back(self, large: Run) -> None:
        events = large.events
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        percents = [e.percent for e in events]
        assert percents == sorted(percents), percents
        assert percents[-1] == 100

    def test_progress_at_least_every_half_second(self, large: Run) -> None:
        events = [e for e in large.events if e.state != jobs_pb2.JOB_STATE_QUEUED]
        times = [e.time.ToDatetime().timestamp() for e in events]
        gaps = [(round(b - a, 3), stage_name(e.stage), e.message)
                for (a, b), e in zip(itertools.pairwise(times), events[1:], strict=True)]
        late = [g for g in gaps if g[0] > 0.65]  # 0.5 s, and slack for a busy machine
        assert not late, late
        # Each stage of evaluation and validation reported progress within itself too.
        for stage in (jobs_pb2.JOB_STAGE_COMPUTING, jobs_pb2.JOB_STAGE_VALIDATING):
            assert sum(e.stage == stage for e in events) >= 2, stage_name(stage)
        arrivals = [t for t, _ in large.watched]
        assert len({round(t, 1) for t in arrivals}) > 5  # followed live, not all at the end

    async def test_the_summary_is_there(self, large: Run) -> None:
        _succeeded(large)
        summary = await large.pipeline.summary(large.model)
        assert summary.model == large.model
        assert summary.job == large.response.job.name
        totals = summary.totals
        assert totals.formula_cells == large.formulas
        # A generated model's cached values are what its formulas give: everything matches.
        assert totals.match == large.formulas, totals
        assert (totals.mismatch, totals.not_cached, totals.not_computable, totals.circular) == (
            0, 0, 0, 0)
        assert sum(s.counts.formula_cells for s in summary.sheets) == large.formulas
        model = (await large.pipeline.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=large.model), metadata=large.pipeline.md)).model
        sheet_order = [s.name for s in model.sheets]
        listed = [s.sheet for s in summary.sheets]
        assert listed == [n for n in sheet_order if n in listed]
        assert summary.tolerance.absolute == pytest.approx(1e-6)
        assert summary.tolerance.relative == pytest.approx(1e-9)
        assert summary.calculation_mode == calculation_pb2.CALCULATION_MODE_AUTOMATIC
        assert not summary.largest_mismatches
        assert model.latest_job.state == jobs_pb2.JOB_STATE_SUCCEEDED

    async def test_the_cells_carry_computed_values_and_status(self, large: Run) -> None:
        _succeeded(large)
        cells = await large.pipeline.cells(large.model, formulas_only=True)
        assert len(cells) == large.formulas
        no_status = [c.address for c in cells
                     if c.validation_status != cell_status_pb2.CELL_STATUS_MATCH]
        assert not no_status, no_status[:10]
        differ = []
        for c in cells:
            cached, computed = value_from_proto(c.value), value_from_proto(c.computed_value)
            if isinstance(cached, float) and isinstance(computed, float):
                if abs(cached - computed) > 1e-6 + 1e-9 * abs(cached):
                    differ.append((c.sheet, c.address, cached, computed))
            elif cached != computed:
                differ.append((c.sheet, c.address, cached, computed))
        assert not differ, differ[:10]
        matching = await large.pipeline.cells(
            large.model, validation_status=cell_status_pb2.CELL_STATUS_MATCH)
        assert len(matching) == large.formulas

    async def test_nothing_mismatches_or_is_left_uncalculated(self, large: Run) -> None:
        _succeeded(large)
        assert await large.pipeline.mismatches(large.model) == []
        uncalculated = await large.pipeline.validation.ListUncalculated(
            validation_pb2.ListUncalculatedRequest(parent=large.model),
            metadata=large.pipeline.md)
        assert (list(uncalculated.results), uncalculated.total_size) == ([], 0)


class TestStalenessFoundExactly:
    def test_the_sample_is_stale_in_part(self) -> None:
        expected = dependents(stale(STALE), TAX_RATE)
        assert 50 < len(expected) < generated(STALE)[1] / 2  # some cells, not all of them

    async def test_the_mismatches_are_exactly_the_dependents_of_the_changed_input(
        self, stale_run: Run
    ) -> None:
        _succeeded(stale_run)
        expected = dependents(stale_run.data, TAX_RATE)
        results = await stale_run.pipeline.mismatches(stale_run.model, page_size=97)
        found = [_key(r) for r in results]
        assert len(found) == len(set(found)), "a cell listed twice across pages"
        missing = sorted(expected - set(found))
        extra = sorted(set(found) - expected)
        assert not missing and not extra, (
            f"{len(missing)} dependents not reported, e.g. {missing[:5]}; "
            f"{len(extra)} reported that do not depend on the input, e.g. {extra[:5]}")
        for r in results:
            assert r.status == cell_status_pb2.CELL_STATUS_MISMATCH
            assert r.address == f"{column_letters(r.column)}{r.row}"
            assert r.formula.startswith("=")
            assert value_from_proto(r.cached) != value_from_proto(r.computed)
        numeric = [r.absolute_difference for r in results
                   if isinstance(value_from_proto(r.cached), float)
                   and isinstance(value_from_proto(r.computed), float)]
        assert numeric == sorted(numeric, reverse=True)  # largest difference first
        assert numeric == [r.absolute_difference for r in results[:len(numeric)]]

    async def test_the_summary_counts_them_and_names_manual_calculation(
        self, stale_run: Run
    ) -> None:
        _succeeded(stale_run)
        expected = dependents(stale_run.data, TAX_RATE)
        summary = await stale_run.pipeline.summary(stale_run.model)
        totals = summary.totals
        assert totals.formula_cells == stale_run.formulas
        assert totals.mismatch == len(expected)
        assert totals.match == stale_run.formulas - len(expected)
        assert summary.calculation_mode == calculation_pb2.CALCULATION_MODE_MANUAL
        assert any("manual" in f.lower() for f in summary.findings), list(summary.findings)
        largest = [_key(r) for r in summary.largest_mismatches]
        assert 0 < len(largest) <= 20 and set(largest) <= expected
        per_sheet = {s.sheet: s.counts.mismatch for s in summary.sheets if s.counts.mismatch}
        by_sheet: dict[str, int] = {}
        for sheet, _, _ in expected:
            by_sheet[sheet] = by_sheet.get(sheet, 0) + 1
        assert per_sheet == by_sheet

    async def test_list_cells_filters_the_same_cells_by_status(self, stale_run: Run) -> None:
        _succeeded(stale_run)
        expected = dependents(stale_run.data, TAX_RATE)
        cells = await stale_run.pipeline.cells(
            stale_run.model, validation_status=cell_status_pb2.CELL_STATUS_MISMATCH)
        assert {(c.sheet, c.row, c.column) for c in cells} == expected
        assert all(c.computed_value.WhichOneof("kind") for c in cells)

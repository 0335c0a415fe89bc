"""Must show: a workbook of several MiB uploaded in chunks through the gateway is imported;
WatchJob shows the stages in order, live; ListCells gives back every non-empty cell openpyxl
sees, with the same formula and cached value; each cell once across pages; idempotency."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from import_helpers import Client, cell_key, cell_value, import_over, wait_for
from nats.js import JetStreamContext
from test_import_bad_files import SLOW, slow_chunks

from calcwire.jobs.v1 import jobs_pb2
from calcwire.messaging import WORKBOOKS_BUCKET
from calcwire.testing.badfiles import small_workbook
from calcwire.workbooks.v1 import workbooks_pb2

if TYPE_CHECKING:  # conftest is a module name several test directories share
    from conftest import BigUpload

pytestmark = pytest.mark.stack

MIB = 1024 * 1024


def stages(events: list[jobs_pb2.JobEvent]) -> list[str]:
    """The stages in the order the events went through them, each once."""
    out: list[str] = []
    for event in events:
        name = jobs_pb2.JobStage.Name(event.stage).removeprefix("JOB_STAGE_")
        if not out or out[-1] != name:
            out.append(name)
    return out


class TestUpload:
    def test_the_answer_comes_at_once_with_model_and_job(self, big_upload: BigUpload) -> None:
        response, data = big_upload.response, big_upload.data
        assert len(data) > 4 * MIB  # several MiB, so several chunks of 1 MiB
        assert response.model.name.startswith("models/")
        assert response.model.sha256 == hashlib.sha256(data).hexdigest()
        assert response.model.size_bytes == len(data)
        assert response.model.state == workbooks_pb2.MODEL_STATE_IMPORTING
        assert response.model.display_name == response.model.file_name == "big model.xlsx"
        assert response.job.model == response.model.name
        assert response.job.kind == jobs_pb2.JOB_KIND_IMPORT
        assert response.job.state == jobs_pb2.JOB_STATE_QUEUED

    def test_watch_shows_the_stages_in_order(self, big_upload: BigUpload) -> None:
        events = [m.event for _, m in big_upload.watched]
        assert stages(events) == ["UPLOADING", "STORING", "PARSING", "WRITING_CELLS"]
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert [e.job for e in events] == [big_upload.job] * len(events)
        percents = [e.percent for e in events]
        assert percents == sorted(percents) and percents[-1] == 50
        assert events[0].state == jobs_pb2.JOB_STATE_QUEUED
        assert events[-1].state == jobs_pb2.JOB_STATE_RUNNING
        parsing = [e for e in events if e.stage == jobs_pb2.JOB_STAGE_PARSING]
        assert any("parsing sheet" in e.message for e in parsing)

    def test_watch_follows_live_with_progress_every_half_second(
        self, big_upload: BigUpload
    ) -> None:
        arrivals = [t for t, _ in big_upload.watched]
        events = [m.event for _, m in big_upload.watched]
        # The events came one by one while the job worked, not all at once at the end.
        assert arrivals[-1] - arrivals[0] > 0.3
        assert len({round(t, 1) for t in arrivals}) > 3
        working = [e.time.ToDatetime().timestamp() for e in events
                   if e.stage in (jobs_pb2.JOB_STAGE_PARSING, jobs_pb2.JOB_STAGE_WRITING_CELLS)]
        gaps = [b - a for a, b in itertools.pairwise(working)]
        assert gaps and max(gaps) <= 0.65, gaps

    def test_the_job_waits_for_evaluation_once_cells_are_stored(
        self, big_upload: BigUpload
    ) -> None:
        job = big_upload.watched[-1][1].job
        assert job.state == jobs_pb2.JOB_STATE_RUNNING
        assert job.stage == jobs_pb2.JOB_STAGE_WRITING_CELLS
        assert job.percent == 50 and "queued for evaluation" in job.message
        assert not job.HasField("end_time")

    async def test_watch_after_the_import_replays_the_whole_history(
        self, big_upload: BigUpload, big_client: Client
    ) -> None:
        first = [m.event for _, m in big_upload.watched]
        again = await big_client.watch(big_upload.job, import_over)
        replay = [m.event for _, m in again]
        assert replay[: len(first)] == first
        resumed = await big_client.watch(big_upload.job, import_over, after=3)
        assert next(m.event.sequence for _, m in resumed) == 4


class TestCells:
    async def test_every_cell_openpyxl_sees_with_its_formula_and_cached_value(
        self, big_upload: BigUpload, big_client: Client, big_view: dict[tuple[str, int, int], tuple[str, object]]
    ) -> None:
        formulas = [cached for formula, cached in big_view.values() if formula]
        assert len(formulas) > 60_000 and sum(v is not None for v in formulas) > 60_000
        cells = await big_client.all_cells(big_upload.model, page_size=10_000)
        assert len(cells) > 10_000
        keys = [cell_key(c) for c in cells]
        assert [k for k, n in Counter(keys).items() if n > 1] == []  # each cell exactly once
        ours = {cell_key(c): (c.formula, cell_value(c)) for c in cells}
        assert ours.keys() == big_view.keys()
        different = {k: (ours[k], big_view[k]) for k in ours if ours[k] != big_view[k]}
        assert different == {}

    async def test_pages_are_in_sheet_row_column_order(self, big_upload: BigUpload, big_client: Client) -> None:
        model = await big_client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=big_upload.model), metadata=big_client.md
        )
        order = {s.name: s.index for s in model.model.sheets}
        cells = await big_client.all_cells(big_upload.model, page_size=3_000)
        positions = [(order[c.sheet], c.row, c.column) for c in cells]
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions) == model.model.cell_counts.total

    async def test_stream_cells_gives_the_same_cells(self, big_upload: BigUpload, big_client: Client) -> None:
        listed = await big_client.all_cells(big_upload.model)
        streamed: list[workbooks_pb2.Cell] = []
        sizes = []
        async for batch in big_client.workbooks.StreamCells(
            workbooks_pb2.StreamCellsRequest(parent=big_upload.model, batch_size=4_000),
            metadata=big_client.md,
        ):
            sizes.append(len(batch.cells))
            streamed.extend(batch.cells)
        assert streamed == listed
        assert max(sizes) == 4_000 and len(sizes) > 2

    async def test_stream_one_sheet(self, big_upload: BigUpload, big_client: Client) -> None:
        streamed = []
        async for batch in big_client.workbooks.StreamCells(
            workbooks_pb2.StreamCellsRequest(parent=big_upload.model, sheet="Debt"),
            metadata=big_client.md,
        ):
            streamed.extend(batch.cells)
        assert streamed and {c.sheet for c in streamed} == {"Debt"}
        assert streamed == await big_client.all_cells(big_upload.model, sheet="Debt")


class TestModel:
    async def test_get_model(
        self, big_upload: BigUpload, big_client: Client, big_view: dict[tuple[str, int, int], tuple[str, object]]
    ) -> None:
        model = (
            await big_client.workbooks.GetModel(
                workbooks_pb2.GetModelRequest(name=big_upload.model),
                metadata=big_client.md,
            )
        ).model
        assert model.state == workbooks_pb2.MODEL_STATE_READY
        assert model.sha256 == hashlib.sha256(big_upload.data).hexdigest()
        assert [s.name for s in model.sheets] == ["Inputs", "Operations", "Debt", "Valuation"]
        assert [s.index for s in model.sheets] == [0, 1, 2, 3]
        assert all(s.dimension.startswith("A1:") for s in model.sheets)
        per_sheet = Counter(sheet for sheet, _, _ in big_view)
        assert {s.name: s.cell_count for s in model.sheets} == dict(per_sheet)
        formulas = sum(1 for formula, _ in big_view.values() if formula)
        counts = model.cell_counts
        assert counts.total == len(big_view) and counts.formulas == formulas
        assert sum(s.formula_count for s in model.sheets) == formulas
        assert counts.numbers + counts.strings + counts.booleans + counts.errors == (
            counts.total - counts.formulas
        )
        assert len(model.defined_names) > 0
        assert model.calculation.mode != 0
        assert model.validate and model.tolerance.absolute == 1e-6
        assert model.latest_job.name == big_upload.job
        assert model.create_time.ToDatetime() <= model.update_time.ToDatetime()


class TestIdempotency:
    async def test_the_same_request_id_returns_the_first_answer(self, client: Client) -> None:
        data = small_workbook()
        first = await client.upload(data, request_id="req-1")
        again = await client.upload(data + b"", request_id="req-1")
        assert again.model.name == first.model.name and again.job.name == first.job.name
        listed = await client.workbooks.ListModels(workbooks_pb2.ListModelsRequest(),
                                                   metadata=client.md)
        assert [m.name for m in listed.models] == [first.model.name]

    async def test_a_replay_is_answered_before_its_bytes(self, client: Client) -> None:
        first = await client.upload(small_workbook(), request_id="req-2")
        meta = workbooks_pb2.UploadMetadata(file_name="again.xlsx", request_id="req-2")
        started = time.monotonic()
        again = await client.workbooks.UploadWorkbook(slow_chunks(meta, small_workbook()),
                                                      metadata=client.md)
        assert again.model.name == first.model.name
        assert time.monotonic() - started < SLOW / 2

    async def test_two_uploads_at_once_with_the_same_request_id(self, client: Client) -> None:
        data = small_workbook()
        answers = await asyncio.gather(
            *(client.upload(data, request_id="same", chunk=512) for _ in range(4))
        )
        assert len({a.model.name for a in answers}) == 1
        assert len({a.job.name for a in answers}) == 1
        listed = await client.workbooks.ListModels(workbooks_pb2.ListModelsRequest(),
                                                   metadata=client.md)
        assert len(listed.models) == 1
        jobs = await client.jobs.ListJobs(jobs_pb2.ListJobsRequest(), metadata=client.md)
        assert len(jobs.jobs) <= 1

    async def test_the_same_bytes_again_refer_to_the_same_stored_file(
        self, client: Client, jetstream: JetStreamContext
    ) -> None:
        data = small_workbook() + b""  # the same bytes, a new request each time
        first = await client.upload(data)
        second = await client.upload(data)
        assert first.model.name != second.model.name
        assert first.model.sha256 == second.model.sha256
        events = await client.wait_imported(second.job.name)
        storing = [e for e in events if e.stage == jobs_pb2.JOB_STAGE_STORING]
        assert "already stored" in storing[0].message
        store = await jetstream.object_store(WORKBOOKS_BUCKET)
        info = await store.get_info(first.model.sha256)
        assert info.size == len(data)
        listed = await client.workbooks.ListModels(workbooks_pb2.ListModelsRequest(),
                                                   metadata=client.md)
        assert {m.sha256 for m in listed.models} == {first.model.sha256}

        async def both_ready() -> bool:
            models = await client.workbooks.ListModels(workbooks_pb2.ListModelsRequest(),
                                                       metadata=client.md)
            return all(m.state == workbooks_pb2.MODEL_STATE_READY for m in models.models)

        await wait_for(both_ready, 30)

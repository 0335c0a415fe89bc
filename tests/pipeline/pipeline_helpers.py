"""What the pipeline tests do again and again: upload, follow a job to its end, read results."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import grpc
import grpc.aio

from calcwire.evaluation.v1 import evaluation_pb2_grpc
from calcwire.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from calcwire.tenancy import INTERNAL_SECRET_METADATA_KEY, TENANT_METADATA_KEY
from calcwire.validation.v1 import validation_pb2, validation_pb2_grpc
from calcwire.workbook.generate import generate_model
from calcwire.workbook.model import CalcSettings, Workbook
from calcwire.workbook.writer import write_workbook
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

MIB = 1024 * 1024
FINAL = (jobs_pb2.JOB_STATE_SUCCEEDED, jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED)
# The stages of an upload's job, in the order they must appear.
PIPELINE_STAGES = (
    jobs_pb2.JOB_STAGE_PARSING,
    jobs_pb2.JOB_STAGE_WRITING_CELLS,
    jobs_pb2.JOB_STAGE_BUILDING_GRAPH,
    jobs_pb2.JOB_STAGE_COMPUTING,
    jobs_pb2.JOB_STAGE_WRITING_RESULTS,
    jobs_pb2.JOB_STAGE_VALIDATING,
    jobs_pb2.JOB_STAGE_DONE,
)
EVALUATION_STAGES = (
    jobs_pb2.JOB_STAGE_BUILDING_GRAPH,
    jobs_pb2.JOB_STAGE_COMPUTING,
    jobs_pb2.JOB_STAGE_WRITING_RESULTS,
)
# The generated model's tax rate (defined name TaxRate): the input stale samples change.
TAX_RATE = ("Inputs", 5, 2)

Metadata = tuple[tuple[str, str], ...]
Watched = list[tuple[float, jobs_pb2.WatchJobResponse]]


def internal_metadata(secret: str, tenant: str) -> Metadata:
    """What the gateway sends a backend: the internal secret and the tenant."""
    return ((INTERNAL_SECRET_METADATA_KEY, secret), (TENANT_METADATA_KEY, tenant))


def new_tenant() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def stage_name(stage: int) -> str:
    return jobs_pb2.JobStage.Name(stage)  # type: ignore[arg-type]


def xlsx(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    write_workbook(workbook, buffer, shared_formulas=True)
    return buffer.getvalue()


@cache
def generated(formula_cells: int) -> tuple[bytes, int]:
    """A generated model (its cached values right) and its number of formula cells."""
    workbook = generate_model(formula_cells)
    formulas = sum(1 for s in workbook.sheets for c in s.cells if c.formula is not None)
    return xlsx(workbook), formulas


@cache
def stale(formula_cells: int, tax_rate: float = 0.30) -> bytes:
    """A generated model after someone changed the tax rate (25 % -> ``tax_rate``) and saved
    in manual calculation mode: the formulas' cached values are the old ones."""
    workbook = generate_model(formula_cells)
    sheet, row, col = TAX_RATE
    cell = next(c for s in workbook.sheets if s.name == sheet for c in s.cells
                if (c.row, c.col) == (row, col))
    assert cell.formula is None and cell.value == 0.25
    cell.value = tax_rate
    workbook.calc = CalcSettings(mode="manual")
    return xlsx(workbook)


@dataclass
class Pipeline:
    """Stubs of the four public services on one channel, acting for one tenant."""

    channel: grpc.aio.Channel
    tenant: str
    md: Metadata
    jobs_seen: list[str] = field(default_factory=list)

    @property
    def workbooks(self) -> workbooks_pb2_grpc.WorkbookServiceStub:
        return workbooks_pb2_grpc.WorkbookServiceStub(self.channel)

    @property
    def jobs(self) -> jobs_pb2_grpc.JobServiceStub:
        return jobs_pb2_grpc.JobServiceStub(self.channel)

    @property
    def evaluation(self) -> evaluation_pb2_grpc.EvaluationServiceStub:
        return evaluation_pb2_grpc.EvaluationServiceStub(self.channel)

    @property
    def validation(self) -> validation_pb2_grpc.ValidationServiceStub:
        return validation_pb2_grpc.ValidationServiceStub(self.channel)

    async def upload(
        self, data: bytes, *, file_name: str = "model.xlsx", chunk: int = MIB
    ) -> workbooks_pb2.UploadWorkbookResponse:
        meta = workbooks_pb2.UploadMetadata(
            file_name=file_name, request_id=str(uuid.uuid4()), expected_size_bytes=len(data)
        )

        async def requests() -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
            yield workbooks_pb2.UploadWorkbookRequest(metadata=meta)
            for start in range(0, len(data), chunk):
                yield workbooks_pb2.UploadWorkbookRequest(chunk=data[start:start + chunk])

        response: workbooks_pb2.UploadWorkbookResponse = await self.workbooks.UploadWorkbook(
            requests(), metadata=self.md, timeout=120
        )
        return response

    async def watch(
        self,
        job: str,
        until: Any = None,
        *,
        timeout: float = 180,
    ) -> Watched:
        """WatchJob until ``until(message)`` is true or the job ends; each message with the
        monotonic time it arrived."""
        seen: Watched = []
        call = self.jobs.WatchJob(jobs_pb2.WatchJobRequest(name=job), metadata=self.md,
                                  timeout=timeout)
        async for message in call:
            seen.append((time.monotonic(), message))
            if message.job.state in FINAL or (until is not None and until(message)):
                call.cancel()
                break
        return seen

    async def finish(self, job: str, *, timeout: float = 180) -> jobs_pb2.Job:
        """The job once it ended."""
        seen = await self.watch(job, timeout=timeout)
        last = seen[-1][1].job
        assert last.state in FINAL, f"WatchJob ended before the job: {last}"
        return last

    async def summary(self, model: str) -> validation_pb2.ValidationSummary:
        reply = await self.validation.GetValidationSummary(
            validation_pb2.GetValidationSummaryRequest(model=model), metadata=self.md, timeout=30
        )
        return reply.summary

    async def mismatches(self, model: str, *, page_size: int = 500) -> list[Any]:
        results: list[Any] = []
        token = ""
        while True:
            page = await self.validation.ListMismatches(
                validation_pb2.ListMismatchesRequest(parent=model, page_size=page_size,
                                                     page_token=token),
                metadata=self.md, timeout=30,
            )
            results.extend(page.results)
            token = page.next_page_token
            if not token:
                return results

    async def cells(self, model: str, *, page_size: int = 10_000, **filters: Any) -> list[Any]:
        cells: list[Any] = []
        token = ""
        while True:
            page = await self.workbooks.ListCells(
                workbooks_pb2.ListCellsRequest(parent=model, page_size=page_size,
                                               page_token=token, **filters),
                metadata=self.md, timeout=60,
            )
            cells.extend(page.cells)
            token = page.next_page_token
            if not token:
                return cells


PipelineFactory = Callable[[], Awaitable[Pipeline]]


def comparable(summary: validation_pb2.ValidationSummary) -> validation_pb2.ValidationSummary:
    """The summary without what differs between two runs of the same workbook (its job,
    its time, and the model's name)."""
    copy = validation_pb2.ValidationSummary()
    copy.CopyFrom(summary)
    copy.ClearField("job")
    copy.ClearField("create_time")
    copy.ClearField("model")
    return copy

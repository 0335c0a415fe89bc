"""What the import service's tests do again and again: upload, watch, page through cells."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc.aio
import openpyxl
from openpyxl.utils.datetime import to_excel

from calcwire.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from calcwire.tenancy import INTERNAL_SECRET_METADATA_KEY, TENANT_METADATA_KEY
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

MIB = 1024 * 1024
FINAL = (jobs_pb2.JOB_STATE_SUCCEEDED, jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED)


Metadata = tuple[tuple[str, str], ...]


def internal_metadata(secret: str, tenant: str) -> Metadata:
    """What a service (or the gateway) sends a backend: the internal secret and the tenant."""
    return ((INTERNAL_SECRET_METADATA_KEY, secret), (TENANT_METADATA_KEY, tenant))


def new_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@dataclass
class Client:
    """Stubs of import_svc's two services on one channel, acting for one tenant:
    through the gateway with an API key, or straight to import_svc with the internal secret."""

    channel: grpc.aio.Channel
    tenant: str
    md: Metadata

    @property
    def workbooks(self) -> workbooks_pb2_grpc.WorkbookServiceStub:
        return workbooks_pb2_grpc.WorkbookServiceStub(self.channel)

    @property
    def jobs(self) -> jobs_pb2_grpc.JobServiceStub:
        return jobs_pb2_grpc.JobServiceStub(self.channel)

    async def upload(
        self,
        data: bytes,
        *,
        file_name: str = "model.xlsx",
        display_name: str = "",
        request_id: str | None = None,
        chunk: int = MIB,
        expected_size: int = 0,
        sent: list[int] | None = None,
    ) -> workbooks_pb2.UploadWorkbookResponse:
        """Upload ``data`` in ``chunk``-byte messages; ``sent`` counts the chunks consumed."""
        meta = workbooks_pb2.UploadMetadata(
            file_name=file_name,
            display_name=display_name,
            request_id=request_id if request_id is not None else str(uuid.uuid4()),
            expected_size_bytes=expected_size,
        )

        async def requests() -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
            yield workbooks_pb2.UploadWorkbookRequest(metadata=meta)
            for start in range(0, len(data), chunk):
                if sent is not None:
                    sent.append(start)
                yield workbooks_pb2.UploadWorkbookRequest(chunk=data[start:start + chunk])

        response: workbooks_pb2.UploadWorkbookResponse = await self.workbooks.UploadWorkbook(
            requests(), metadata=self.md, timeout=60
        )
        return response

    async def watch(
        self,
        job: str,
        until: Callable[[jobs_pb2.WatchJobResponse], bool],
        *,
        after: int = 0,
        timeout: float = 60,
    ) -> list[tuple[float, jobs_pb2.WatchJobResponse]]:
        """WatchJob until ``until`` is true of a message (or the stream ends); each message
        with the monotonic time it arrived."""
        seen: list[tuple[float, jobs_pb2.WatchJobResponse]] = []
        call = self.jobs.WatchJob(
            jobs_pb2.WatchJobRequest(name=job, after_sequence=after), metadata=self.md,
            timeout=timeout,
        )
        async for message in call:
            seen.append((time.monotonic(), message))
            if until(message):
                call.cancel()
                break
        return seen

    async def wait_imported(self, job: str, *, timeout: float = 90) -> list[jobs_pb2.JobEvent]:
        """The job's events until its import stage is over (cells stored, or the job ended)."""
        seen = await self.watch(job, import_over, timeout=timeout)
        return [m.event for _, m in seen]

    async def all_cells(self, model: str, *, page_size: int = 10_000,
                        **filters: Any) -> list[workbooks_pb2.Cell]:
        cells: list[workbooks_pb2.Cell] = []
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


def import_over(message: jobs_pb2.WatchJobResponse) -> bool:
    job = message.job
    return job.state in FINAL or (
        job.stage == jobs_pb2.JOB_STAGE_WRITING_CELLS and job.percent >= 50
    )


async def wait_for(predicate: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)


def openpyxl_view(data: bytes) -> dict[tuple[str, int, int], tuple[str, Any]]:
    """Every non-empty cell openpyxl sees: (sheet, row, col) -> (formula text or "", cached value).

    Dates come back as Excel serial numbers, as calcwire keeps them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    out: dict[tuple[str, int, int], tuple[str, Any]] = {}
    for ws_f, ws_v in zip(formulas.worksheets, values.worksheets, strict=True):
        cached = {
            (c.row, c.column): c.value
            for row in ws_v.iter_rows() for c in row if getattr(c, "value", None) is not None
        }
        for row in ws_f.iter_rows():
            for c in row:
                if not hasattr(c, "row"):
                    continue  # read-only mode's filler for a gap in a row
                value = c.value
                formula = value if isinstance(value, str) and value.startswith("=") else ""
                key = (c.row, c.column)
                if value is None and key not in cached:
                    continue
                cached_value = cached.get(key) if formula else value
                if isinstance(cached_value, dt.datetime | dt.date):
                    cached_value = float(to_excel(cached_value))
                elif isinstance(cached_value, int) and not isinstance(cached_value, bool):
                    cached_value = float(cached_value)
                out[(ws_f.title, c.row, c.column)] = (formula, cached_value)
    formulas.close()
    values.close()
    return out


def cell_key(cell: workbooks_pb2.Cell) -> tuple[str, int, int]:
    return (cell.sheet, cell.row, cell.column)


def cell_value(cell: workbooks_pb2.Cell) -> Any:
    kind = cell.value.WhichOneof("kind")
    if kind is None or kind == "empty_value":
        return None
    if kind == "error_value":
        from calcwire.wire import value_from_proto

        return str(value_from_proto(cell.value))
    return getattr(cell.value, kind)


def names(items: Iterable[Any]) -> list[str]:
    return [item.name for item in items]


def unique_workbook(rows: int = 3) -> bytes:
    """A small valid workbook whose bytes no other test uploads."""
    import random

    from calcwire.workbook.model import Cell, Sheet, Workbook
    from calcwire.workbook.writer import workbook_bytes

    seed = random.random()
    cells = [Cell(r, 1, seed + r) for r in range(1, rows + 1)]
    cells += [Cell(r, 2, (seed + r) * 2, formula=f"A{r}*2") for r in range(1, rows + 1)]
    cells.sort(key=lambda c: (c.row, c.col))
    return workbook_bytes(Workbook(sheets=[Sheet("Sheet1", cells=cells)]))


async def refused(call: object) -> grpc.aio.AioRpcError:
    """The error a call that must fail ends with."""
    import pytest

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value

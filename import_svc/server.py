"""import_svc's gRPC servicers: WorkbookService and JobService, protobuf <-> domain only.

Errors are domain exceptions (:mod:`calcwire.errors`), mapped to status codes
and ErrorInfo reasons by the shared error interceptor.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from calcwire.common.v1 import cell_status_pb2
from calcwire.errors import InvalidArgument
from calcwire.formula import column_letters
from calcwire.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from calcwire.names import model_name, parse_job_name, parse_model_name
from calcwire.server import request_tenant
from calcwire.wire import (
    calc_settings_to_proto,
    job_event_to_proto,
    job_to_proto,
    timestamp,
    value_to_proto,
)
from calcwire.workbook.model import DefinedName, ExternalLink, Table
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc
from import_svc.catalog import Catalog, CellPage, CellQuery
from import_svc.domain import CellCounts, ModelDetails, ModelRecord, ModelState, StoredCell
from import_svc.jobs import Jobs
from import_svc.results import CellVerdict
from import_svc.upload import UploadRequest, Uploads, receive_file

__all__ = [
    "JobServicer",
    "WorkbookServicer",
    "cell_to_proto",
    "details_to_proto",
    "model_to_proto",
]

Context = grpc.aio.ServicerContext[Any, Any]

_MODEL_STATES = {
    ModelState.IMPORTING: workbooks_pb2.MODEL_STATE_IMPORTING,
    ModelState.READY: workbooks_pb2.MODEL_STATE_READY,
    ModelState.FAILED: workbooks_pb2.MODEL_STATE_FAILED,
}
_VISIBILITY = {
    "visible": workbooks_pb2.SHEET_VISIBILITY_VISIBLE,
    "hidden": workbooks_pb2.SHEET_VISIBILITY_HIDDEN,
    "veryHidden": workbooks_pb2.SHEET_VISIBILITY_VERY_HIDDEN,
}


# --------------------------------------------------------------------------- conversions


def _counts(counts: CellCounts) -> workbooks_pb2.CellCounts:
    return workbooks_pb2.CellCounts(
        total=counts.total,
        formulas=counts.formulas,
        numbers=counts.numbers,
        strings=counts.strings,
        booleans=counts.booleans,
        errors=counts.errors,
    )


def _defined_name(name: DefinedName) -> workbooks_pb2.DefinedName:
    return workbooks_pb2.DefinedName(
        name=name.name, refers_to=name.refers_to, scope=name.scope or "", hidden=name.hidden
    )


def _external_link(link: ExternalLink) -> workbooks_pb2.ExternalLink:
    msg = workbooks_pb2.ExternalLink(
        index=link.index,
        target=link.target,
        sheet_names=link.sheet_names,
        defined_names=[_defined_name(n) for n in link.names],
        refresh_error_sheets=link.refresh_errors,
    )
    for sheet, cells in link.cells.items():
        for address, value in cells.items():
            cell = msg.cells.add(sheet=sheet, address=address)
            value_to_proto(value, cell.value)
    return msg


def _table(table: Table) -> workbooks_pb2.Table:
    return workbooks_pb2.Table(
        name=table.name,
        display_name=table.display_name,
        sheet=table.sheet,
        range=table.ref,
        header_row_count=table.header_row_count,
        totals_row_count=table.totals_row_count,
        columns=table.columns,
    )


def model_to_proto(model: ModelRecord) -> workbooks_pb2.Model:
    msg = workbooks_pb2.Model(
        name=model_name(model.model_id),
        display_name=model.display_name,
        file_name=model.file_name,
        sha256=model.sha256,
        size_bytes=model.size_bytes,
        state=_MODEL_STATES[model.state],
        cell_counts=_counts(model.counts),
        tolerance=cell_status_pb2.Tolerance(
            absolute=model.tolerance[0], relative=model.tolerance[1]
        ),
        validate=model.validate,
        create_time=timestamp(model.create_time),
        update_time=timestamp(model.update_time),
        application=model.application,
    )
    if model.state != ModelState.IMPORTING:  # known once the file has been read
        msg.calculation.CopyFrom(calc_settings_to_proto(model.calc, date1904=model.date1904))
    if model.latest_job is not None:
        msg.latest_job.CopyFrom(job_to_proto(model.latest_job))
    return msg


def details_to_proto(details: ModelDetails) -> workbooks_pb2.Model:
    msg = model_to_proto(details.model)
    for sheet in details.sheets:
        msg.sheets.add(
            name=sheet.name,
            index=sheet.index,
            visibility=_VISIBILITY.get(sheet.state, workbooks_pb2.SHEET_VISIBILITY_VISIBLE),
            dimension=sheet.dimension,
            cell_count=sheet.cell_count,
            formula_count=sheet.formula_count,
        )
    msg.defined_names.extend(_defined_name(n) for n in details.names)
    msg.external_links.extend(_external_link(link) for link in details.external_links)
    msg.tables.extend(_table(t) for t in details.tables)
    return msg


def cell_to_proto(cell: StoredCell, verdict: CellVerdict | None = None) -> workbooks_pb2.Cell:
    msg = workbooks_pb2.Cell(
        sheet=cell.sheet,
        address=f"{column_letters(cell.col)}{cell.row}",
        row=cell.row,
        column=cell.col,
        formula=f"={cell.formula}" if cell.formula is not None else "",
        formula_kind=cell.kind,  # type: ignore[arg-type]
        array_range=cell.array_range or "",
        number_format=cell.number_format,
    )
    value_to_proto(cell.value, msg.value)
    if verdict is not None:
        value_to_proto(verdict.computed, msg.computed_value)
        msg.validation_status = verdict.status  # type: ignore[assignment]
        msg.reason = verdict.reason
    return msg


RepeatedCells = RepeatedCompositeFieldContainer[workbooks_pb2.Cell]


@functools.cache
def _letters(col: int) -> str:
    return column_letters(col)


def _fill_cells(out: RepeatedCells, page: CellPage) -> None:
    """:func:`cell_to_proto` of each cell of the page, built in place in ``out`` (a
    repeated field): a message made apart is copied again when it is added, and
    StreamCells sends one per cell of a model."""
    verdicts = page.verdicts
    add = out.add
    for cell in page.cells:
        sheet, row, col, value, formula = cell.sheet, cell.row, cell.col, cell.value, cell.formula
        msg = add(
            sheet=sheet,
            address=f"{_letters(col)}{row}",
            row=row,
            column=col,
            formula=f"={formula}" if formula is not None else "",
            formula_kind=cell.kind,
            array_range=cell.array_range or "",
            number_format=cell.number_format,
        )
        if type(value) is float:
            msg.value.number_value = value
        elif value is not None:
            value_to_proto(value, msg.value)
        if verdicts:
            verdict = verdicts.get((sheet, row, col))
            if verdict is not None:
                value_to_proto(verdict.computed, msg.computed_value)
                msg.validation_status = verdict.status  # type: ignore[assignment]
                msg.reason = verdict.reason


# --------------------------------------------------------------------------- servicers


class WorkbookServicer(workbooks_pb2_grpc.WorkbookServiceServicer):
    def __init__(self, uploads: Uploads, catalog: Catalog) -> None:
        self.uploads = uploads
        self.catalog = catalog

    async def UploadWorkbook(
        self,
        request_iterator: AsyncIterator[workbooks_pb2.UploadWorkbookRequest],
        context: Context,
    ) -> workbooks_pb2.UploadWorkbookResponse:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("content") != "metadata":
            raise InvalidArgument(
                "the first message of an upload must carry its metadata (file_name, request_id...)",
                reason="MISSING_METADATA",
            )
        meta = first.metadata
        request = UploadRequest(
            tenant=request_tenant(context),
            file_name=meta.file_name,
            display_name=meta.display_name,
            request_id=meta.request_id,
            validate=meta.validate if meta.HasField("validate") else True,
            tolerance=(meta.tolerance.absolute, meta.tolerance.relative),
            expected_size=meta.expected_size_bytes,
        )
        earlier = await self.uploads.before_bytes(request)
        if earlier is None:
            received = await receive_file(_chunks(request_iterator),
                                          limit=self.uploads.max_bytes)
            try:
                result = await self.uploads.accept(request, received)
            finally:
                received.close()
        else:
            result = earlier
        return workbooks_pb2.UploadWorkbookResponse(
            model=model_to_proto(result.model), job=job_to_proto(result.job)
        )

    async def GetModel(
        self, request: workbooks_pb2.GetModelRequest, context: Context
    ) -> workbooks_pb2.GetModelResponse:
        details = await self.catalog.get(request_tenant(context), parse_model_name(request.name))
        return workbooks_pb2.GetModelResponse(model=details_to_proto(details))

    async def ListModels(
        self, request: workbooks_pb2.ListModelsRequest, context: Context
    ) -> workbooks_pb2.ListModelsResponse:
        models, token = await self.catalog.list_models(
            request_tenant(context), request.filter, request.page_size, request.page_token
        )
        return workbooks_pb2.ListModelsResponse(
            models=[model_to_proto(m) for m in models], next_page_token=token
        )

    async def DeleteModel(
        self, request: workbooks_pb2.DeleteModelRequest, context: Context
    ) -> workbooks_pb2.DeleteModelResponse:
        await self.catalog.delete(request_tenant(context), parse_model_name(request.name))
        return workbooks_pb2.DeleteModelResponse()

    async def ListCells(
        self, request: workbooks_pb2.ListCellsRequest, context: Context
    ) -> workbooks_pb2.ListCellsResponse:
        query = CellQuery(
            sheet=request.sheet,
            range=request.range,
            formulas_only=request.formulas_only,
            validation_status=request.validation_status,
        )
        page, token = await self.catalog.list_cells(
            request_tenant(context),
            parse_model_name(request.parent),
            query,
            request.page_size,
            request.page_token,
        )
        response = workbooks_pb2.ListCellsResponse(next_page_token=token)
        _fill_cells(response.cells, page)
        return response

    async def StreamCells(
        self, request: workbooks_pb2.StreamCellsRequest, context: Context
    ) -> AsyncIterator[workbooks_pb2.StreamCellsResponse]:
        batches = self.catalog.stream_cells(
            request_tenant(context),
            parse_model_name(request.parent),
            request.sheet,
            request.batch_size,
            with_results=not request.file_contents_only,
        )
        async for page in batches:
            response = workbooks_pb2.StreamCellsResponse()
            _fill_cells(response.cells, page)
            yield response


async def _chunks(
    requests: AsyncIterator[workbooks_pb2.UploadWorkbookRequest],
) -> AsyncIterator[bytes]:
    async for message in requests:
        if message.WhichOneof("content") != "chunk":
            raise InvalidArgument(
                "only the first message of an upload carries metadata; the others carry chunks",
                reason="DUPLICATE_METADATA",
            )
        yield message.chunk


class JobServicer(jobs_pb2_grpc.JobServiceServicer):
    def __init__(self, jobs: Jobs, stopping: asyncio.Event) -> None:
        self.jobs = jobs
        self.stopping = stopping

    async def GetJob(
        self, request: jobs_pb2.GetJobRequest, context: Context
    ) -> jobs_pb2.GetJobResponse:
        job = await self.jobs.get(request_tenant(context), parse_job_name(request.name))
        return jobs_pb2.GetJobResponse(job=job_to_proto(job))

    async def ListJobs(
        self, request: jobs_pb2.ListJobsRequest, context: Context
    ) -> jobs_pb2.ListJobsResponse:
        jobs, token = await self.jobs.list_jobs(
            request_tenant(context), request.filter, request.page_size, request.page_token
        )
        return jobs_pb2.ListJobsResponse(jobs=[job_to_proto(j) for j in jobs],
                                         next_page_token=token)

    async def CancelJob(
        self, request: jobs_pb2.CancelJobRequest, context: Context
    ) -> jobs_pb2.CancelJobResponse:
        job = await self.jobs.cancel(request_tenant(context), parse_job_name(request.name))
        return jobs_pb2.CancelJobResponse(job=job_to_proto(job))

    async def WatchJob(
        self, request: jobs_pb2.WatchJobRequest, context: Context
    ) -> AsyncIterator[jobs_pb2.WatchJobResponse]:
        events = self.jobs.watch(
            request_tenant(context),
            parse_job_name(request.name),
            request.after_sequence,
            self.stopping,
        )
        async for sequence, event, job in events:
            yield jobs_pb2.WatchJobResponse(
                event=job_event_to_proto(sequence, event), job=job_to_proto(job)
            )

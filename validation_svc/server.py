"""validation_svc's gRPC servicer: ValidationService, protobuf <-> domain only.

Errors are domain exceptions (:mod:`calcwire.errors`), mapped to status codes
and ErrorInfo reasons by the shared error interceptor.
"""

from __future__ import annotations

import math
from typing import Any, Final

import grpc.aio

from calcwire.common.v1 import calculation_pb2, cell_status_pb2
from calcwire.errors import InvalidArgument
from calcwire.formula import column_letters
from calcwire.names import job_name, model_name, parse_model_name
from calcwire.server import request_tenant
from calcwire.validation.v1 import validation_pb2, validation_pb2_grpc
from calcwire.wire import CALC_MODES, job_to_proto, timestamp, value_to_proto
from validation_svc.compare import Status, StatusCounts
from validation_svc.domain import CellResult, ValidationSummary
from validation_svc.jobs import ValidationJobs
from validation_svc.results import Results

__all__ = ["ValidationServicer", "result_to_proto", "status_from_proto", "status_to_proto"]

Context = grpc.aio.ServicerContext[Any, Any]

_STATUS_TO_PROTO: Final[dict[Status, cell_status_pb2.CellStatus]] = {
    Status.MATCH: cell_status_pb2.CELL_STATUS_MATCH,
    Status.MISMATCH: cell_status_pb2.CELL_STATUS_MISMATCH,
    Status.NOT_CACHED: cell_status_pb2.CELL_STATUS_NOT_CACHED,
    Status.NOT_COMPUTABLE: cell_status_pb2.CELL_STATUS_NOT_COMPUTABLE,
    Status.VOLATILE: cell_status_pb2.CELL_STATUS_VOLATILE,
    Status.CIRCULAR: cell_status_pb2.CELL_STATUS_CIRCULAR,
}
_STATUS_FROM_PROTO: Final = {v: k for k, v in _STATUS_TO_PROTO.items()}


def status_to_proto(status: Status) -> cell_status_pb2.CellStatus:
    return _STATUS_TO_PROTO[status]


def status_from_proto(value: int) -> Status:
    """INVALID_ARGUMENT for CELL_STATUS_UNSPECIFIED or an unknown number."""
    try:
        return _STATUS_FROM_PROTO[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument(f"{value} is not a validation status", reason="INVALID_STATUS") \
            from None


def result_to_proto(r: CellResult) -> validation_pb2.CellResult:
    msg = validation_pb2.CellResult(
        sheet=r.sheet,
        address=f"{column_letters(r.col)}{r.row}",
        row=r.row,
        column=r.col,
        formula=f"={r.formula}",
        status=_STATUS_TO_PROTO[r.status],
        reason=r.reason or "",
        absolute_difference=r.abs_diff if r.abs_diff is not None and math.isfinite(r.abs_diff)
        else 0.0,
    )
    value_to_proto(r.cached, msg.cached)
    value_to_proto(r.computed, msg.computed)
    return msg


def _counts(c: StatusCounts) -> validation_pb2.StatusCounts:
    return validation_pb2.StatusCounts(**c.as_dict())


def summary_to_proto(s: ValidationSummary) -> validation_pb2.ValidationSummary:
    return validation_pb2.ValidationSummary(
        model=model_name(s.model_id),
        job=job_name(s.job_id),
        tolerance=cell_status_pb2.Tolerance(absolute=s.tolerance.absolute,
                                            relative=s.tolerance.relative),
        totals=_counts(s.totals),
        sheets=[validation_pb2.SheetSummary(sheet=sh.name, counts=_counts(sh.counts))
                for sh in s.sheets],
        largest_mismatches=[result_to_proto(r) for r in s.largest_mismatches],
        calculation_mode=CALC_MODES.get(s.calc_mode,
                                        calculation_pb2.CALCULATION_MODE_UNSPECIFIED),
        findings=s.findings,
        create_time=timestamp(s.create_time),
    )


class ValidationServicer(validation_pb2_grpc.ValidationServiceServicer):
    def __init__(self, jobs: ValidationJobs, results: Results) -> None:
        self.jobs = jobs
        self.results = results

    async def ValidateModel(
        self, request: validation_pb2.ValidateModelRequest, context: Context
    ) -> validation_pb2.ValidateModelResponse:
        job = await self.jobs.start(
            request_tenant(context), parse_model_name(request.name),
            (request.tolerance.absolute, request.tolerance.relative), request.request_id)
        return validation_pb2.ValidateModelResponse(job=job_to_proto(job))

    async def GetValidationSummary(
        self, request: validation_pb2.GetValidationSummaryRequest, context: Context
    ) -> validation_pb2.GetValidationSummaryResponse:
        summary = await self.results.summary(request_tenant(context),
                                             parse_model_name(request.model))
        return validation_pb2.GetValidationSummaryResponse(summary=summary_to_proto(summary))

    async def ListMismatches(
        self, request: validation_pb2.ListMismatchesRequest, context: Context
    ) -> validation_pb2.ListMismatchesResponse:
        page, token, total = await self.results.mismatches(
            request_tenant(context), parse_model_name(request.parent), request.sheet,
            request.page_size, request.page_token)
        return validation_pb2.ListMismatchesResponse(
            results=[result_to_proto(r) for r in page], next_page_token=token, total_size=total)

    async def ListUncalculated(
        self, request: validation_pb2.ListUncalculatedRequest, context: Context
    ) -> validation_pb2.ListUncalculatedResponse:
        page, token, total = await self.results.uncalculated(
            request_tenant(context), parse_model_name(request.parent), request.sheet,
            request.page_size, request.page_token)
        return validation_pb2.ListUncalculatedResponse(
            results=[result_to_proto(r) for r in page], next_page_token=token, total_size=total)

    async def ListCellResults(
        self, request: validation_pb2.ListCellResultsRequest, context: Context
    ) -> validation_pb2.ListCellResultsResponse:
        page, token = await self.results.cell_results(
            request_tenant(context), parse_model_name(request.parent), request.sheet,
            [status_from_proto(s) for s in request.statuses], request.page_size,
            request.page_token, request.range)
        return validation_pb2.ListCellResultsResponse(
            results=[result_to_proto(r) for r in page], next_page_token=token)

    async def BatchGetCellResults(
        self, request: validation_pb2.BatchGetCellResultsRequest, context: Context
    ) -> validation_pb2.BatchGetCellResultsResponse:
        status = status_from_proto(request.status) if request.status else None
        found = await self.results.batch_get(
            request_tenant(context), parse_model_name(request.parent),
            [(c.sheet, c.row, c.column) for c in request.cells], status)
        return validation_pb2.BatchGetCellResultsResponse(
            results=[result_to_proto(r) for r in found])

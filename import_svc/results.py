"""Validation results of a model's cells, from validation_svc over the internal channel:
protobuf <-> import_svc's domain.

Cells carry what validation concluded (:class:`CellVerdict`), and ListCells'
``validation_status`` filter walks validation's own list of results
(ListCellResults), since validation_svc owns them. Calls act for the tenant
they are given. validation_svc's FAILED_PRECONDITION and INVALID_ARGUMENT pass
through to the caller as the same errors (NOT_VALIDATED, INVALID_PAGE_TOKEN...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import grpc
import grpc.aio

from calcwire.errors import CalcwireError, FailedPrecondition, InvalidArgument, NotFound
from calcwire.grpc_errors import error_reason
from calcwire.internal_client import InternalChannel
from calcwire.names import model_name
from calcwire.validation.v1 import validation_pb2, validation_pb2_grpc
from calcwire.values import CellValue
from calcwire.wire import value_from_proto

__all__ = ["CellVerdict", "ValidationResults"]

_CALL_TIMEOUT: Final = 30.0
_PASSED_ON: Final[dict[grpc.StatusCode, type[CalcwireError]]] = {
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
}


@dataclass(frozen=True, slots=True)
class CellVerdict:
    """What validation concluded about one formula cell; ``status`` is the proto's CellStatus."""

    sheet: str
    row: int
    col: int
    computed: CellValue
    status: int
    reason: str


def _verdict(r: validation_pb2.CellResult) -> CellVerdict:
    return CellVerdict(r.sheet, r.row, r.column, value_from_proto(r.computed), r.status,
                       r.reason)


def _passed_on(error: grpc.aio.AioRpcError) -> Exception:
    kind = _PASSED_ON.get(error.code())
    if kind is None:
        return error
    return kind(error.details() or "", reason=error_reason(error))


class ValidationResults:
    """validation_svc's results, read for import_svc's cells."""

    def __init__(self, channel: InternalChannel) -> None:
        self.channel = channel
        self.stub = validation_pb2_grpc.ValidationServiceStub(  # type: ignore[no-untyped-call]
            channel.channel)

    async def of_cells(self, tenant: str, model_id: str,
                       cells: Sequence[tuple[str, int, int]]) -> dict[tuple[str, int, int],
                                                                      CellVerdict]:
        """The verdicts of ``cells`` (sheet, row, column) that have one."""
        if not cells:
            return {}
        try:
            reply = await self.stub.BatchGetCellResults(
                validation_pb2.BatchGetCellResultsRequest(
                    parent=model_name(model_id),
                    cells=[validation_pb2.CellKey(sheet=s, row=r, column=c) for s, r, c in cells]),
                metadata=self.channel.metadata(tenant), timeout=_CALL_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise _passed_on(exc) from None
        return {(r.sheet, r.row, r.column): _verdict(r) for r in reply.results}

    async def with_status(self, tenant: str, model_id: str, status: int, sheet: str,
                          range_text: str, size: int, token: str
                          ) -> tuple[list[CellVerdict], str]:
        """A page of the formula cells with ``status`` (in cell order), and validation's token
        for the next page."""
        try:
            reply = await self.stub.ListCellResults(
                validation_pb2.ListCellResultsRequest(
                    parent=model_name(model_id), page_size=size, page_token=token, sheet=sheet,
                    statuses=[status], range=range_text),  # type: ignore[list-item]
                metadata=self.channel.metadata(tenant), timeout=_CALL_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise _passed_on(exc) from None
        return [_verdict(r) for r in reply.results], reply.next_page_token

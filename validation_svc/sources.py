"""What validation reads from the other services, over the internal channel: protobuf <-> domain.

- :class:`Workbooks` (import_svc's WorkbookService): the model (sheets,
  calculation mode, tolerance, application) and its formula cells with the
  values Excel cached;
- :class:`Evaluations` (eval_svc's EvaluationService): the computed values.

Each call acts for the tenant it is given. A model that is missing, or
another tenant's, is :class:`~validation_svc.domain.ModelGone`; a model not
evaluated yet is :class:`~validation_svc.domain.NotEvaluated`. Other failures
are left as they are (the worker retries them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Final

import grpc
import grpc.aio

from calcwire.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from calcwire.grpc_errors import error_reason
from calcwire.internal_client import InternalChannel
from calcwire.names import model_name
from calcwire.wire import calc_settings_from_proto, tolerance_from_proto, value_from_proto
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc
from validation_svc.compare import Tolerance
from validation_svc.domain import (
    ComputedCell,
    FormulaCell,
    ModelGone,
    ModelInfo,
    NotEvaluated,
    SheetRef,
)

__all__ = ["Evaluations", "Workbooks"]

STREAM_BATCH: Final = 10_000
_CALL_TIMEOUT: Final = 30.0

_ENGINE_STATUS: Final = {
    evaluation_pb2.COMPUTE_STATUS_COMPUTED: "computed",
    evaluation_pb2.COMPUTE_STATUS_NOT_COMPUTABLE: "not_computable",
    evaluation_pb2.COMPUTE_STATUS_CIRCULAR: "circular",
}


def _translated(error: grpc.aio.AioRpcError, model_id: str) -> Exception:
    code = error.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return ModelGone(model_id)
    if code == grpc.StatusCode.FAILED_PRECONDITION and error_reason(error) in (
            "NOT_EVALUATED", "MODEL_NOT_READY"):
        return NotEvaluated(model_id)
    return error


class Workbooks:
    """import_svc's models and cells."""

    def __init__(self, channel: InternalChannel) -> None:
        self.channel = channel
        self.stub = workbooks_pb2_grpc.WorkbookServiceStub(  # type: ignore[no-untyped-call]
            channel.channel)

    async def get_model(self, tenant: str, model_id: str) -> ModelInfo:
        try:
            reply = await self.stub.GetModel(
                workbooks_pb2.GetModelRequest(name=model_name(model_id)),
                metadata=self.channel.metadata(tenant), timeout=_CALL_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model_id) from None
        model = reply.model
        calc, _ = calc_settings_from_proto(model.calculation)
        absolute, relative = tolerance_from_proto(model.tolerance)
        return ModelInfo(
            model_id=model_id,
            sheets=tuple(SheetRef(s.index, s.name) for s in model.sheets),
            calc_mode=calc.mode,
            tolerance=Tolerance(absolute, relative),
            application=model.application,
            formula_count=model.cell_counts.formulas,
        )

    async def formula_cells(
        self, tenant: str, model: ModelInfo
    ) -> AsyncIterator[list[FormulaCell]]:
        """The model's formula cells with their cached values, a batch at a time, in order."""
        index = {s.name: s.index for s in model.sheets}
        call = self.stub.StreamCells(
            workbooks_pb2.StreamCellsRequest(parent=model_name(model.model_id),
                                             batch_size=STREAM_BATCH, file_contents_only=True),
            metadata=self.channel.metadata(tenant))
        try:
            async for reply in call:
                yield [
                    FormulaCell(index[c.sheet], c.sheet, c.row, c.column, c.formula[1:],
                                value_from_proto(c.value))
                    for c in reply.cells if c.formula
                ]
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model.model_id) from None
        finally:
            call.cancel()


class Evaluations:
    """eval_svc's computed values."""

    def __init__(self, channel: InternalChannel) -> None:
        self.channel = channel
        self.stub = evaluation_pb2_grpc.EvaluationServiceStub(  # type: ignore[no-untyped-call]
            channel.channel)

    def _stream(self, tenant: str, model_id: str, batch: int) -> grpc.aio.UnaryStreamCall[
            evaluation_pb2.StreamComputedValuesRequest,
            evaluation_pb2.StreamComputedValuesResponse]:
        call: grpc.aio.UnaryStreamCall[evaluation_pb2.StreamComputedValuesRequest,
                                       evaluation_pb2.StreamComputedValuesResponse]
        call = self.stub.StreamComputedValues(
            evaluation_pb2.StreamComputedValuesRequest(model=model_name(model_id),
                                                       batch_size=batch),
            metadata=self.channel.metadata(tenant))
        return call

    async def evaluated(self, tenant: str, model_id: str) -> None:
        """Return when the model has computed values; raise NotEvaluated or ModelGone."""
        call = self._stream(tenant, model_id, 1)
        try:
            await call.read()
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model_id) from None
        finally:
            call.cancel()

    async def computed_values(
        self, tenant: str, model_id: str, sheet_index: Mapping[str, int]
    ) -> AsyncIterator[list[ComputedCell]]:
        """The model's computed values, a batch at a time, in (sheet, row, column) order."""
        call = self._stream(tenant, model_id, STREAM_BATCH)
        statuses = _ENGINE_STATUS
        try:
            async for reply in call:
                yield [
                    ComputedCell(sheet_index[v.sheet], v.row, v.column, value_from_proto(v.value),
                                 statuses.get(v.status, "not_computable"), v.reason or None,
                                 v.volatile)
                    for v in reply.values
                ]
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model_id) from None
        finally:
            call.cancel()

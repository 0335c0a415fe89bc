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

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from math import isfinite
from typing import Final, TypeVar

import grpc
import grpc.aio

from calcwire.common.v1 import cell_value_pb2
from calcwire.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from calcwire.grpc_errors import error_reason
from calcwire.internal_client import InternalChannel
from calcwire.names import model_name
from calcwire.values import CellValue, XlError
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
READ_AHEAD: Final = 2
"""Batches of each stream read (and converted) before the caller asks for them, so the
serving side keeps producing while validation judges and writes the batch before."""

CONVERT_SLICE: Final = 2_000

_T = TypeVar("_T")


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


async def read_ahead(source: AsyncGenerator[_T, None], depth: int = READ_AHEAD
                     ) -> AsyncIterator[_T]:
    """``source``'s items, read by a task of their own up to ``depth`` items ahead; the
    source is closed (its call cancelled) when the reader stops early."""
    queue: asyncio.Queue[_T | _Failed | None] = asyncio.Queue(depth)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
            await queue.put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which raises it
            await queue.put(_Failed(exc))
        finally:
            await source.aclose()

    task = asyncio.create_task(pump())
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # The pump's own cancellation is expected; the caller's must go on.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

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


# Each protobuf field read costs a call: the two below read each field once, and take
# the usual value (a finite number) without value_from_proto's call.

def _value(msg: cell_value_pb2.CellValue) -> CellValue:
    if msg.WhichOneof("kind") == "number_value":
        number = msg.number_value
        return number if isfinite(number) else XlError.NUM
    return value_from_proto(msg)


def _slices(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in slices of CONVERT_SLICE, converted one at a time with a pause between:
    a batch converted at once would hold the event loop (and the progress ticker) for
    a tenth of a second or more on a busy machine."""
    for start in range(0, len(items), CONVERT_SLICE):
        yield items[start:start + CONVERT_SLICE]


def _formula_cells(cells: Iterable[workbooks_pb2.Cell],
                   index: Mapping[str, int]) -> list[FormulaCell]:
    out: list[FormulaCell] = []
    append, value = out.append, _value
    for c in cells:
        formula = c.formula
        if formula:
            sheet = c.sheet
            append(FormulaCell(index[sheet], sheet, c.row, c.column, formula[1:],
                               value(c.value)))
    return out


def _computed_cells(values: Iterable[evaluation_pb2.ComputedValue],
                    index: Mapping[str, int], statuses: Mapping[evaluation_pb2.ComputeStatus, str]
                    ) -> list[ComputedCell]:
    out: list[ComputedCell] = []
    append, value = out.append, _value
    for v in values:
        append(ComputedCell(index[v.sheet], v.row, v.column, value(v.value),
                            statuses.get(v.status, "not_computable"), v.reason or None,
                            v.volatile))
    return out


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

    def formula_cells(self, tenant: str, model: ModelInfo) -> AsyncIterator[list[FormulaCell]]:
        """The model's formula cells with their cached values, a batch at a time, in order
        (read ahead)."""
        return read_ahead(self._formula_cells(tenant, model))

    async def _formula_cells(
        self, tenant: str, model: ModelInfo
    ) -> AsyncGenerator[list[FormulaCell], None]:
        index = {s.name: s.index for s in model.sheets}
        call = self.stub.StreamCells(
            workbooks_pb2.StreamCellsRequest(parent=model_name(model.model_id),
                                             batch_size=STREAM_BATCH, file_contents_only=True),
            metadata=self.channel.metadata(tenant))
        try:
            async for reply in call:
                cells: list[FormulaCell] = []
                for part in _slices(reply.cells):
                    cells += _formula_cells(part, index)
                    await asyncio.sleep(0)
                yield cells
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

    def computed_values(
        self, tenant: str, model_id: str, sheet_index: Mapping[str, int]
    ) -> AsyncIterator[list[ComputedCell]]:
        """The model's computed values, a batch at a time, in (sheet, row, column) order
        (read ahead)."""
        return read_ahead(self._computed_values(tenant, model_id, sheet_index))

    async def _computed_values(
        self, tenant: str, model_id: str, sheet_index: Mapping[str, int]
    ) -> AsyncGenerator[list[ComputedCell], None]:
        call = self._stream(tenant, model_id, STREAM_BATCH)
        statuses = _ENGINE_STATUS
        try:
            async for reply in call:
                values: list[ComputedCell] = []
                for part in _slices(reply.values):
                    values += _computed_cells(part, sheet_index, statuses)
                    await asyncio.sleep(0)
                yield values
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model_id) from None
        finally:
            call.cancel()

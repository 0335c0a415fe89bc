"""eval_svc's gRPC servicer: EvaluationService, protobuf <-> domain only.

Errors are domain exceptions (:mod:`calcwire.errors`), mapped to status codes
and ErrorInfo reasons by the shared error interceptor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc.aio
from google.protobuf.duration_pb2 import Duration
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from calcwire.common.v1 import cell_value_pb2
from calcwire.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from calcwire.names import parse_model_name
from calcwire.server import request_tenant
from calcwire.wire import job_to_proto, value_from_proto, value_to_proto
from eval_svc.domain import StoredValue
from eval_svc.engine import CellResult
from eval_svc.results import Evaluations
from eval_svc.whatif import Output, WhatIf

__all__ = ["EvaluationServicer", "computed_value_to_proto"]

Context = grpc.aio.ServicerContext[Any, Any]
RepeatedValues = RepeatedCompositeFieldContainer[evaluation_pb2.ComputedValue]

_STATUS = {
    "computed": evaluation_pb2.COMPUTE_STATUS_COMPUTED,
    "not_computable": evaluation_pb2.COMPUTE_STATUS_NOT_COMPUTABLE,
    "circular": evaluation_pb2.COMPUTE_STATUS_CIRCULAR,
}


def computed_value_to_proto(result: CellResult | StoredValue) -> evaluation_pb2.ComputedValue:
    msg = evaluation_pb2.ComputedValue(
        sheet=result.sheet,
        row=result.row,
        column=result.col,
        status=_STATUS[result.status],
        reason=result.reason or "",
        volatile=result.volatile,
    )
    value_to_proto(result.value, msg.value)
    return msg


def _fill_values(out: RepeatedValues, values: Sequence[StoredValue]) -> None:
    """:func:`computed_value_to_proto` of each value, built in place in ``out`` (a repeated
    field): a message made apart is copied again when it is added, and
    StreamComputedValues sends one per formula cell of a model."""
    add, status_of = out.add, _STATUS
    for sheet, row, col, value, status, reason, volatile in values:
        msg = add(sheet=sheet, row=row, column=col, status=status_of[status],
                  reason=reason or "", volatile=volatile)
        if type(value) is float:
            msg.value.number_value = value
        elif value is not None:
            value_to_proto(value, msg.value)


def _output_to_proto(output: Output) -> evaluation_pb2.OutputValue:
    msg = evaluation_pb2.OutputValue(
        reference=output.reference,
        not_computable_reason=output.not_computable_reason or "",
    )
    value_to_proto(output.value, msg.value)
    if output.values is not None:
        grid = output.values
        msg.values.CopyFrom(cell_value_pb2.CellValueArray(
            rows=len(grid), columns=len(grid[0]) if grid else 0,
        ))
        for row in grid:
            for value in row:
                value_to_proto(value, msg.values.values.add())
    return msg


class EvaluationServicer(evaluation_pb2_grpc.EvaluationServiceServicer):
    def __init__(self, evaluations: Evaluations, whatif: WhatIf) -> None:
        self.evaluations = evaluations
        self.whatif = whatif

    async def EvaluateModel(
        self, request: evaluation_pb2.EvaluateModelRequest, context: Context
    ) -> evaluation_pb2.EvaluateModelResponse:
        job = await self.evaluations.start(
            request_tenant(context), parse_model_name(request.name), request.request_id
        )
        return evaluation_pb2.EvaluateModelResponse(job=job_to_proto(job))

    async def Calculate(
        self, request: evaluation_pb2.CalculateRequest, context: Context
    ) -> evaluation_pb2.CalculateResponse:
        answer = await self.whatif.calculate(
            request_tenant(context),
            parse_model_name(request.model),
            [(o.reference, value_from_proto(o.value)) for o in request.overrides],
            list(request.outputs),
        )
        compute_time = Duration()
        compute_time.FromNanoseconds(int(answer.compute_seconds * 1e9))
        return evaluation_pb2.CalculateResponse(
            outputs=[_output_to_proto(o) for o in answer.outputs],
            recomputed_cells=answer.recomputed_cells,
            compute_time=compute_time,
            warm=answer.warm,
        )

    async def StreamComputedValues(
        self, request: evaluation_pb2.StreamComputedValuesRequest, context: Context
    ) -> AsyncIterator[evaluation_pb2.StreamComputedValuesResponse]:
        batches = self.evaluations.stream(
            request_tenant(context), parse_model_name(request.model), request.batch_size
        )
        async for results in batches:
            response = evaluation_pb2.StreamComputedValuesResponse()
            _fill_values(response.values, results)
            yield response

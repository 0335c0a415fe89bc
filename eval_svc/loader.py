"""A model as import_svc serves it: GetModel + StreamCells -> a :class:`Workbook` for the engine.

The evaluation service never reads the uploaded file nor import_svc's tables: it
asks WorkbookService over the internal channel, acting for the model's tenant,
and rebuilds the workbook the reader read (cells with their values, formulas,
array and Data Table ranges; defined names with their scope; external links
with their cached cells and the sheets Excel could not refresh; Excel Tables;
the application that saved the file; calculation settings and date1904).
``tests/eval_svc/test_eval_round_trip.py`` holds it to that.

import_svc's NOT_FOUND (a missing model, or another tenant's) becomes
:class:`~calcwire.errors.NotFound` ``MODEL_NOT_FOUND``; its FAILED_PRECONDITION
for a model still importing becomes ``MODEL_NOT_READY``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import grpc
import grpc.aio

from calcwire.errors import FailedPrecondition, NotFound
from calcwire.grpc_errors import error_reason
from calcwire.internal_client import InternalChannel
from calcwire.names import model_name
from calcwire.values import CellValue
from calcwire.wire import (
    calc_settings_from_proto,
    cell_from_proto,
    cells_from_proto,
    value_from_proto,
)
from calcwire.workbook.model import DefinedName, ExternalLink, Sheet, SheetState, Table, Workbook
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

__all__ = [
    "ModelInfo",
    "WorkbookSource",
    "model_not_found",
    "workbook_from_model",
]

#: Cells per StreamCells message the loader asks for (the most import_svc sends).
STREAM_BATCH = 10_000
_CALL_TIMEOUT = 30.0

_STATES = {
    workbooks_pb2.MODEL_STATE_IMPORTING: "IMPORTING",
    workbooks_pb2.MODEL_STATE_READY: "READY",
    workbooks_pb2.MODEL_STATE_FAILED: "FAILED",
}
_VISIBILITY: dict[int, SheetState] = {
    workbooks_pb2.SHEET_VISIBILITY_HIDDEN: "hidden",
    workbooks_pb2.SHEET_VISIBILITY_VERY_HIDDEN: "veryHidden",
}


def model_not_found(model_id: str) -> NotFound:
    return NotFound(f"no model models/{model_id}", reason="MODEL_NOT_FOUND")


def _not_ready(model_id: str, state: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"model models/{model_id} is {state.lower()}, not ready: it can be evaluated once "
        "its import has finished",
        reason="MODEL_NOT_READY",
    )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the evaluation service needs to know of a model besides its cells."""

    model_id: str
    state: str
    """IMPORTING, READY or FAILED."""
    sha256: str
    update_time: datetime
    validate: bool
    tolerance: tuple[float, float]
    formula_count: int
    sheet_names: tuple[str, ...]

    @property
    def version(self) -> str:
        """Changes whenever the model's contents may have changed (a re-import)."""
        return f"{self.sha256}@{self.update_time.isoformat()}"

    @property
    def ready(self) -> bool:
        return self.state == "READY"

    def require_ready(self) -> None:
        if not self.ready:
            raise _not_ready(self.model_id, self.state)


def _name(msg: workbooks_pb2.DefinedName) -> DefinedName:
    return DefinedName(msg.name, msg.refers_to, msg.scope or None, msg.hidden)


def _link(msg: workbooks_pb2.ExternalLink) -> ExternalLink:
    cells: dict[str, dict[str, CellValue]] = {}
    for cell in msg.cells:
        cells.setdefault(cell.sheet, {})[cell.address] = value_from_proto(cell.value)
    return ExternalLink(
        index=msg.index,
        target=msg.target,
        sheet_names=list(msg.sheet_names),
        cells=cells,
        names=[_name(n) for n in msg.defined_names],
        refresh_errors=list(msg.refresh_error_sheets),
    )


def _table(msg: workbooks_pb2.Table) -> Table:
    return Table(
        name=msg.name,
        display_name=msg.display_name or msg.name,
        sheet=msg.sheet,
        ref=msg.range,
        columns=tuple(msg.columns),
        header_row_count=msg.header_row_count,
        totals_row_count=msg.totals_row_count,
    )


def workbook_from_model(model: workbooks_pb2.Model) -> Workbook:
    """The workbook a GetModel answer describes, with its sheets still empty of cells."""
    calc, date1904 = calc_settings_from_proto(model.calculation)
    sheets = sorted(model.sheets, key=lambda s: s.index)
    return Workbook(
        sheets=[
            Sheet(s.name, state=_VISIBILITY.get(s.visibility, "visible"),
                  dimension=s.dimension or None)
            for s in sheets
        ],
        names=[_name(n) for n in model.defined_names],
        calc=calc,
        external_links=[_link(link) for link in model.external_links],
        date1904=date1904,
        application=model.application,
        tables=[_table(t) for t in model.tables],
    )


def _info(model_id: str, model: workbooks_pb2.Model) -> ModelInfo:
    return ModelInfo(
        model_id=model_id,
        state=_STATES.get(model.state, "IMPORTING"),
        sha256=model.sha256,
        update_time=model.update_time.ToDatetime(),
        validate=model.validate,
        tolerance=(model.tolerance.absolute, model.tolerance.relative),
        formula_count=model.cell_counts.formulas,
        sheet_names=tuple(s.name for s in sorted(model.sheets, key=lambda s: s.index)),
    )


class WorkbookSource:
    """Models and their cells, read from import_svc's WorkbookService."""

    def __init__(self, workbooks: InternalChannel) -> None:
        self._channel = workbooks
        self._stub = workbooks_pb2_grpc.WorkbookServiceStub(workbooks.channel)  # type: ignore[no-untyped-call]

    async def _get(self, tenant: str, model_id: str) -> workbooks_pb2.Model:
        try:
            reply: workbooks_pb2.GetModelResponse = await self._stub.GetModel(
                workbooks_pb2.GetModelRequest(name=model_name(model_id)),
                metadata=self._channel.metadata(tenant),
                timeout=_CALL_TIMEOUT,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model_id) from exc
        return reply.model

    async def model(self, tenant: str, model_id: str) -> ModelInfo:
        """The model as it is now; NotFound when it is gone or another tenant's."""
        return _info(model_id, await self._get(tenant, model_id))

    async def load(
        self, tenant: str, model_id: str, *, progress: Callable[[int, int], None] | None = None
    ) -> tuple[ModelInfo, Workbook]:
        """The model and its whole workbook; ``progress(cells, total)`` after each batch.

        ``progress`` may raise (a cancelled job) to stop the load at that batch.

        Raises :class:`~calcwire.errors.FailedPrecondition` ``MODEL_NOT_READY``
        for a model whose cells are not stored yet.
        """
        model = await self._get(tenant, model_id)
        info = _info(model_id, model)
        info.require_ready()
        workbook = workbook_from_model(model)
        by_name = {sheet.name: sheet for sheet in workbook.sheets}
        total = model.cell_counts.total
        done = 0
        call = self._stub.StreamCells(
            workbooks_pb2.StreamCellsRequest(parent=model_name(model_id), batch_size=STREAM_BATCH,
                                             file_contents_only=True),
            metadata=self._channel.metadata(tenant),
            timeout=max(_CALL_TIMEOUT, total / 20_000),
        )
        try:
            async for batch in call:
                msgs = batch.cells
                first, last = msgs[0].sheet if msgs else "", msgs[-1].sheet if msgs else ""
                if first == last and first in by_name:
                    # The usual batch: all on one sheet (cells come sheet by sheet). Converted
                    # in a thread: on a busy machine a batch holds the CPU for a tenth of a
                    # second or more, which the event loop (the progress ticker) must not wait.
                    by_name[first].cells.extend(await asyncio.to_thread(cells_from_proto, msgs))
                else:
                    for msg in msgs:
                        sheet = by_name.get(msg.sheet)
                        if sheet is None:  # a sheet GetModel did not list: the model changed
                            sheet = by_name[msg.sheet] = Sheet(msg.sheet)
                            workbook.sheets.append(sheet)
                        sheet.cells.append(cell_from_proto(msg))
                done += len(msgs)
                if progress is not None:
                    progress(done, total)
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc, model_id) from exc
        finally:
            call.cancel()  # a no-op once the stream ended; stops it when progress raised
        return info, workbook


def _translated(exc: grpc.aio.AioRpcError, model_id: str) -> Exception:
    """import_svc's answer as this service's domain error; anything else unchanged."""
    code = exc.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return model_not_found(model_id)
    if code == grpc.StatusCode.FAILED_PRECONDITION and error_reason(exc) == "MODEL_NOT_READY":
        return _not_ready(model_id, "IMPORTING")
    return exc

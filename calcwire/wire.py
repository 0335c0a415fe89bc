"""Conversions between calcwire's domain types and the protobuf messages, once for all services.

- cell values (:mod:`calcwire.values`) <-> ``calcwire.common.v1.CellValue``;
- jobs (:class:`calcwire.job_events.JobEvent`) -> ``calcwire.jobs.v1.Job`` and ``JobEvent``;
- calculation settings, tolerance;
- a ``calcwire.workbooks.v1.Cell`` -> a :class:`calcwire.workbook.model.Cell` (how
  the evaluation worker rebuilds a workbook from StreamCells), and the formula
  kinds between the two.

Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Final, cast

from google.protobuf.timestamp_pb2 import Timestamp

from calcwire.common.v1 import calculation_pb2, cell_status_pb2, cell_value_pb2
from calcwire.job_events import JobEvent, JobKind, JobStage, JobState
from calcwire.jobs.v1 import jobs_pb2
from calcwire.names import job_name, model_name
from calcwire.values import ERROR_CODES, CellValue, XlError
from calcwire.workbook.data_tables import parse_table_formula
from calcwire.workbook.model import CalcSettings, Cell
from calcwire.workbooks.v1 import workbooks_pb2

__all__ = [
    "CALC_MODES",
    "DEFAULT_TOLERANCE",
    "FormulaKind",
    "calc_settings_from_proto",
    "calc_settings_to_proto",
    "cell_from_proto",
    "cells_from_proto",
    "formula_kind",
    "job_event_to_proto",
    "job_kind_to_proto",
    "job_state_from_proto",
    "job_state_to_proto",
    "job_to_proto",
    "timestamp",
    "tolerance_from_proto",
    "value_from_proto",
    "value_to_proto",
]

_ERROR_TO_PROTO: Final[dict[str, int]] = {
    code: index for index, code in enumerate(ERROR_CODES, start=1)
}
_ERROR_FROM_PROTO: Final[dict[int, XlError]] = {
    index: XlError(code) for code, index in _ERROR_TO_PROTO.items()
}
assert all(
    cell_value_pb2.ExcelError.Name(i).startswith("EXCEL_ERROR_") for i in _ERROR_FROM_PROTO
), "ERROR_CODES and the ExcelError enum drifted apart"

#: The model's calculation modes and the proto's.
CALC_MODES: Final[dict[str, calculation_pb2.CalculationMode]] = {
    "auto": calculation_pb2.CALCULATION_MODE_AUTOMATIC,
    "autoNoTable": calculation_pb2.CALCULATION_MODE_AUTOMATIC_EXCEPT_TABLES,
    "manual": calculation_pb2.CALCULATION_MODE_MANUAL,
}
_CALC_MODES_BACK: Final = {v: k for k, v in CALC_MODES.items()}

#: Tolerance.absolute / relative when a request leaves them 0 (the proto's documented defaults).
DEFAULT_TOLERANCE: Final = (1e-6, 1e-9)

# --------------------------------------------------------------------------- values


def value_to_proto(
    value: CellValue, out: cell_value_pb2.CellValue | None = None
) -> cell_value_pb2.CellValue:
    """``value`` as a CellValue (filled into ``out`` when given); None is an unset kind."""
    msg = cell_value_pb2.CellValue() if out is None else out
    t = type(value)
    if t is float or t is int:
        msg.number_value = float(value)  # type: ignore[arg-type]
    elif t is str:
        msg.string_value = value  # type: ignore[assignment]
    elif t is bool:
        msg.boolean_value = value  # type: ignore[assignment]
    elif t is XlError:
        msg.error_value = _ERROR_TO_PROTO[value.code]  # type: ignore[union-attr,assignment]
    elif value is not None:
        raise TypeError(f"not a cell value: {value!r}")
    return msg


def value_from_proto(msg: cell_value_pb2.CellValue) -> CellValue:
    kind = msg.WhichOneof("kind")
    if kind == "number_value":
        number = msg.number_value
        return number if math.isfinite(number) else XlError.NUM
    if kind == "string_value":
        return msg.string_value
    if kind == "boolean_value":
        return msg.boolean_value
    if kind == "error_value":
        return _ERROR_FROM_PROTO.get(msg.error_value, XlError.VALUE)
    return None


# --------------------------------------------------------------------------- cells


class FormulaKind:
    """``calcwire.workbooks.v1.FormulaKind`` values, named."""

    NONE: Final = workbooks_pb2.FORMULA_KIND_UNSPECIFIED
    NORMAL: Final = workbooks_pb2.FORMULA_KIND_NORMAL
    ARRAY: Final = workbooks_pb2.FORMULA_KIND_ARRAY
    DYNAMIC_ARRAY: Final = workbooks_pb2.FORMULA_KIND_DYNAMIC_ARRAY
    DATA_TABLE: Final = workbooks_pb2.FORMULA_KIND_DATA_TABLE


def formula_kind(cell: Cell) -> int:
    """The FormulaKind of a model cell."""
    if cell.formula is None:
        return FormulaKind.NONE
    if cell.data_table is not None:
        return FormulaKind.DATA_TABLE
    if cell.array_ref is not None:
        return FormulaKind.DYNAMIC_ARRAY if cell.dynamic else FormulaKind.ARRAY
    return FormulaKind.NORMAL


def cell_from_proto(msg: workbooks_pb2.Cell) -> Cell:
    """The model cell a StreamCells/ListCells cell describes (its sheet is ``msg.sheet``).

    Raises ``ValueError`` for a Data Table anchor whose formula is not ``TABLE(...)``.
    """
    formula = msg.formula[1:] if msg.formula.startswith("=") else msg.formula or None
    cell = Cell(
        row=msg.row,
        col=msg.column,
        value=value_from_proto(msg.value),
        formula=formula,
        number_format=msg.number_format or "General",
    )
    kind = msg.formula_kind
    if kind in (FormulaKind.ARRAY, FormulaKind.DYNAMIC_ARRAY):
        cell.array_ref = msg.array_range or None
        cell.dynamic = kind == FormulaKind.DYNAMIC_ARRAY
    elif kind == FormulaKind.DATA_TABLE and formula is not None:
        cell.data_table = parse_table_formula(formula, msg.array_range)
    return cell


def cells_from_proto(msgs: Iterable[workbooks_pb2.Cell]) -> list[Cell]:
    """``[cell_from_proto(m) for m in msgs]``, with the common cells (constants and plain
    formulas) converted inline: the evaluation service converts every cell of a model,
    and the calls and the second WhichOneof per cell were most of its load time."""
    out: list[Cell] = []
    append = out.append
    isfinite = math.isfinite
    plain = (FormulaKind.NONE, FormulaKind.NORMAL)
    for msg in msgs:
        if msg.formula_kind not in plain:
            append(cell_from_proto(msg))
            continue
        proto_value = msg.value
        which = proto_value.WhichOneof("kind")
        value: CellValue
        if which == "number_value":
            value = proto_value.number_value
            if not isfinite(value):
                value = XlError.NUM
        elif which == "string_value":
            value = proto_value.string_value
        elif which is None:
            value = None
        else:
            value = value_from_proto(proto_value)
        formula: str | None = msg.formula
        if formula:
            if formula[0] == "=":
                formula = formula[1:]
        else:
            formula = None
        append(Cell(msg.row, msg.column, value, formula, None, False, None,
                    msg.number_format or "General"))
    return out


# --------------------------------------------------------------------------- settings


def calc_settings_to_proto(
    calc: CalcSettings, *, date1904: bool
) -> calculation_pb2.CalculationSettings:
    return calculation_pb2.CalculationSettings(
        mode=CALC_MODES.get(calc.mode, calculation_pb2.CALCULATION_MODE_UNSPECIFIED),
        iterate=calc.iterate,
        iterate_count=calc.iterate_count,
        iterate_delta=calc.iterate_delta,
        full_calc_on_load=calc.full_calc_on_load,
        date1904=date1904,
    )


def calc_settings_from_proto(msg: calculation_pb2.CalculationSettings) -> tuple[CalcSettings, bool]:
    """The model's settings and its date1904 flag."""
    calc = CalcSettings(
        mode=_CALC_MODES_BACK.get(msg.mode, "auto"),  # type: ignore[arg-type]
        iterate=msg.iterate,
        iterate_count=msg.iterate_count or 100,
        iterate_delta=msg.iterate_delta or 0.001,
        full_calc_on_load=msg.full_calc_on_load,
    )
    return calc, msg.date1904


def tolerance_from_proto(msg: cell_status_pb2.Tolerance) -> tuple[float, float]:
    """(absolute, relative), with the documented defaults for 0 or unset."""
    return (msg.absolute or DEFAULT_TOLERANCE[0], msg.relative or DEFAULT_TOLERANCE[1])


# --------------------------------------------------------------------------- jobs


def timestamp(when: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def job_state_to_proto(state: JobState) -> jobs_pb2.JobState:
    return cast(jobs_pb2.JobState, jobs_pb2.JobState.Value(f"JOB_STATE_{state.value}"))


def job_state_from_proto(value: int) -> JobState:
    """Raises ``ValueError`` for JOB_STATE_UNSPECIFIED or an unknown number."""
    name = jobs_pb2.JobState.Name(value).removeprefix("JOB_STATE_")
    return JobState(name)


def job_kind_to_proto(kind: JobKind) -> jobs_pb2.JobKind:
    return cast(jobs_pb2.JobKind, jobs_pb2.JobKind.Value(f"JOB_KIND_{kind.value}"))


def _stage(stage: JobStage) -> jobs_pb2.JobStage:
    return cast(jobs_pb2.JobStage, jobs_pb2.JobStage.Value(f"JOB_STAGE_{stage.value}"))


def _error(job: JobEvent) -> jobs_pb2.JobError | None:
    if job.error is None:
        return None
    return jobs_pb2.JobError(reason=job.error.reason, message=job.error.message)


def job_to_proto(job: JobEvent) -> jobs_pb2.Job:
    """The Job a client sees, from the job's latest event."""
    msg = jobs_pb2.Job(
        name=job_name(job.job_id),
        model=model_name(job.model_id),
        kind=job_kind_to_proto(job.kind),
        state=job_state_to_proto(job.state),
        stage=_stage(job.stage),
        percent=job.percent,
        message=job.message,
        error=_error(job),
        cancel_requested=job.cancel_requested,
        create_time=timestamp(job.create_time),
        update_time=timestamp(job.time),
    )
    if job.end_time is not None:
        msg.end_time.CopyFrom(timestamp(job.end_time))
    return msg


def job_event_to_proto(sequence: int, event: JobEvent) -> jobs_pb2.JobEvent:
    return jobs_pb2.JobEvent(
        job=job_name(event.job_id),
        sequence=sequence,
        time=timestamp(event.time),
        state=job_state_to_proto(event.state),
        stage=_stage(event.stage),
        percent=event.percent,
        message=event.message,
        error=_error(event),
    )

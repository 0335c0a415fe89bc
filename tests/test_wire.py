"""Domain <-> protobuf conversions shared by the services (calcwire.wire, names, data tables)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from calcwire.common.v1 import calculation_pb2, cell_value_pb2
from calcwire.errors import InvalidArgument
from calcwire.job_events import JobError, JobKind, JobStage, JobState, new_job
from calcwire.jobs.v1 import jobs_pb2
from calcwire.names import job_name, model_name, new_id, parse_job_name, parse_model_name
from calcwire.values import ERROR_CODES, XlError
from calcwire.wire import (
    FormulaKind,
    calc_settings_from_proto,
    calc_settings_to_proto,
    cell_from_proto,
    cells_from_proto,
    formula_kind,
    job_event_to_proto,
    job_state_from_proto,
    job_to_proto,
    value_from_proto,
    value_to_proto,
)
from calcwire.workbook.data_tables import parse_table_formula, table_formula
from calcwire.workbook.model import CalcSettings, Cell, DataTable
from calcwire.workbooks.v1 import workbooks_pb2


class TestValues:
    @pytest.mark.parametrize(
        "value", [0.0, -1.5, 1e308, 42, "", "text", True, False, None, *map(XlError, ERROR_CODES)]
    )
    def test_round_trip(self, value: object) -> None:
        back = value_from_proto(value_to_proto(value))  # type: ignore[arg-type]
        assert back == value and type(back) is (float if type(value) is int else type(value))

    def test_kinds_on_the_wire(self) -> None:
        assert value_to_proto(True).WhichOneof("kind") == "boolean_value"
        assert value_to_proto(1).WhichOneof("kind") == "number_value"
        assert value_to_proto(None).WhichOneof("kind") is None
        assert value_to_proto(XlError.DIV0).error_value == cell_value_pb2.EXCEL_ERROR_DIV0
        assert value_to_proto(XlError.NA).error_value == cell_value_pb2.EXCEL_ERROR_NA

    def test_explicit_empty_is_none(self) -> None:
        assert value_from_proto(cell_value_pb2.CellValue(empty_value=0)) is None

    def test_a_non_finite_number_reads_as_num_error(self) -> None:
        assert value_from_proto(cell_value_pb2.CellValue(number_value=math.inf)) is XlError.NUM

    def test_not_a_value_is_a_programming_error(self) -> None:
        with pytest.raises(TypeError):
            value_to_proto(object())  # type: ignore[arg-type]


class TestNames:
    def test_round_trip(self) -> None:
        ident = new_id()
        assert parse_model_name(model_name(ident)) == ident
        assert parse_job_name(job_name(ident)) == ident

    @pytest.mark.parametrize(
        "name",
        ["", "models/", "models/42", "jobs/0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11",
         "models/0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11/cells", "models/*", "models/a.b"],
    )
    def test_bad_model_names(self, name: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            parse_model_name(name)
        assert caught.value.reason == "INVALID_NAME"


class TestDataTables:
    @pytest.mark.parametrize(
        ("table", "text"),
        [
            (DataTable("C3:E5", True, False, "B1", "B2"), "TABLE(B1,B2)"),
            (DataTable("C3:E3", False, True, "B1", None), "TABLE(B1,)"),
            (DataTable("C3:C9", False, False, "B2", None), "TABLE(,B2)"),
            (DataTable("C3:C9", False, False, None, None), "TABLE(,#REF!)"),
        ],
    )
    def test_round_trip(self, table: DataTable, text: str) -> None:
        assert table_formula(table) == text
        assert parse_table_formula(text, table.ref) == table
        assert parse_table_formula("=" + text.lower().replace("table", "TABLE"), table.ref).ref

    @pytest.mark.parametrize("text", ["SUM(A1)", "TABLE(,)", "TABLE(A1)"])
    def test_not_a_table(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_table_formula(text, "A1:A2")


class TestCells:
    def test_formula_kinds(self) -> None:
        assert formula_kind(Cell(1, 1, 2.0)) == FormulaKind.NONE
        assert formula_kind(Cell(1, 1, 2.0, formula="A2")) == FormulaKind.NORMAL
        assert formula_kind(Cell(1, 1, 2.0, formula="A2:A3*2", array_ref="A1:A2")) == (
            FormulaKind.ARRAY
        )
        assert formula_kind(
            Cell(1, 1, 2.0, formula="SEQUENCE(3)", array_ref="A1:A3", dynamic=True)
        ) == FormulaKind.DYNAMIC_ARRAY
        table = DataTable("B2:B4", False, False, "A1", None)
        assert formula_kind(Cell(2, 2, 1.0, formula="TABLE(,A1)", data_table=table)) == (
            FormulaKind.DATA_TABLE
        )

    def test_cell_from_proto_rebuilds_the_model_cell(self) -> None:
        msg = workbooks_pb2.Cell(
            sheet="S", address="B2", row=2, column=2, formula="=TABLE(,A1)",
            formula_kind=workbooks_pb2.FORMULA_KIND_DATA_TABLE, array_range="B2:B4",
            number_format="0.0%",
        )
        msg.value.number_value = 3.0
        cell = cell_from_proto(msg)
        assert cell == Cell(2, 2, 3.0, formula="TABLE(,A1)",
                            data_table=DataTable("B2:B4", False, False, "A1", None),
                            number_format="0.0%")
        array = workbooks_pb2.Cell(row=1, column=1, formula="=SEQUENCE(3)",
                                   formula_kind=workbooks_pb2.FORMULA_KIND_DYNAMIC_ARRAY,
                                   array_range="A1:A3")
        assert cell_from_proto(array) == Cell(1, 1, None, formula="SEQUENCE(3)",
                                              array_ref="A1:A3", dynamic=True)
        assert cell_from_proto(workbooks_pb2.Cell(row=1, column=1)) == Cell(1, 1)

    def test_cells_from_proto_is_cell_from_proto_of_each(self) -> None:
        msgs = [
            workbooks_pb2.Cell(row=1, column=1),
            workbooks_pb2.Cell(row=1, column=2, formula="=A1*2",
                               formula_kind=workbooks_pb2.FORMULA_KIND_NORMAL,
                               number_format="0.00"),
            workbooks_pb2.Cell(row=1, column=3, formula="=",
                               formula_kind=workbooks_pb2.FORMULA_KIND_NORMAL),
            workbooks_pb2.Cell(row=2, column=1, formula="=SEQUENCE(3)",
                               formula_kind=workbooks_pb2.FORMULA_KIND_DYNAMIC_ARRAY,
                               array_range="A2:A4"),
            workbooks_pb2.Cell(row=5, column=2, formula="=TABLE(,A1)",
                               formula_kind=workbooks_pb2.FORMULA_KIND_DATA_TABLE,
                               array_range="B5:B7"),
        ]
        values = [cell_value_pb2.CellValue(number_value=1.5),
                  cell_value_pb2.CellValue(number_value=math.inf),
                  cell_value_pb2.CellValue(string_value="x"),
                  cell_value_pb2.CellValue(boolean_value=False),
                  cell_value_pb2.CellValue(error_value=cell_value_pb2.EXCEL_ERROR_DIV0)]
        for i, value in enumerate(values):
            msgs.append(workbooks_pb2.Cell(row=10 + i, column=1, value=value))
            msgs.append(workbooks_pb2.Cell(row=10 + i, column=2, value=value, formula="=B1",
                                           formula_kind=workbooks_pb2.FORMULA_KIND_NORMAL))
        expected = [cell_from_proto(m) for m in msgs]
        assert cells_from_proto(msgs) == expected
        assert [type(c.value) for c in cells_from_proto(msgs)] == [type(c.value) for c in expected]
        assert expected[7].value == XlError.NUM and expected[9].value == "x"


class TestCalcSettings:
    def test_round_trip(self) -> None:
        calc = CalcSettings(mode="manual", iterate=True, iterate_count=7, iterate_delta=0.5,
                            full_calc_on_load=True)
        msg = calc_settings_to_proto(calc, date1904=True)
        assert msg.mode == calculation_pb2.CALCULATION_MODE_MANUAL
        assert calc_settings_from_proto(msg) == (calc, True)


class TestJobs:
    def test_job_to_proto(self) -> None:
        created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        job = new_job("0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11", tenant="t",
                      model_id="1b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11", kind=JobKind.IMPORT,
                      create_time=created)
        running = job.next(state=JobState.RUNNING, stage=JobStage.PARSING, percent=12.5,
                           time=created + timedelta(seconds=3))
        msg = job_to_proto(running)
        assert msg.name == "jobs/0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11"
        assert msg.model == "models/1b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11"
        assert msg.state == jobs_pb2.JOB_STATE_RUNNING
        assert msg.stage == jobs_pb2.JOB_STAGE_PARSING
        assert msg.kind == jobs_pb2.JOB_KIND_IMPORT
        assert msg.update_time.ToDatetime(UTC) - msg.create_time.ToDatetime(UTC) == timedelta(
            seconds=3
        )
        assert not msg.HasField("end_time") and not msg.HasField("error")

        failed = running.next(state=JobState.FAILED, error=JobError("X", "why"))
        msg = job_to_proto(failed)
        assert msg.HasField("end_time") and msg.error.reason == "X"
        event = job_event_to_proto(7, failed)
        assert (event.sequence, event.state, event.error.message) == (
            7, jobs_pb2.JOB_STATE_FAILED, "why"
        )

    def test_states_both_ways(self) -> None:
        for state in JobState:
            assert job_state_from_proto(job_to_proto(
                new_job(new_id(), tenant="t", model_id=new_id(), kind=JobKind.IMPORT).next(
                    state=state)).state) == state
        with pytest.raises(ValueError):
            job_state_from_proto(jobs_pb2.JOB_STATE_UNSPECIFIED)

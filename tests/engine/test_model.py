"""CompiledModel end to end: sheets, names, arrays, cycles, data tables, what-if."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from engine_helpers import calculate, make_workbook

from calcwire.values import XlError
from calcwire.workbook.model import CalcSettings, DataTable, ExternalLink
from eval_svc.engine import CellResult, EngineError, ReferenceNotFound, compile_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))


class TestCalculate:
    def test_one_result_per_formula_cell_in_sheet_then_row_order(self) -> None:
        _, results = calculate({"B": {"A2": "=1", "A1": "=2"}, "A": {"C1": "=3", "A1": 4.0}})
        assert list(results) == ["B!A1", "B!A2", "A!C1"]
        assert all(isinstance(r, CellResult) for r in results.values())

    def test_cross_sheet_chain(self) -> None:
        _, results = calculate(
            {"In": {"A1": 2.0}, "Out": {"A1": "=In!A1*3", "A2": "='Out'!A1+In!$A$1"}}
        )
        assert results["Out!A2"].value == 8.0

    def test_copies_share_a_template_but_keep_their_own_references(self) -> None:
        sheet = {"A1": 1.0}
        for r in range(2, 50):
            sheet[f"A{r}"] = f"=A{r - 1}*2"
            sheet[f"B{r}"] = f"=$A${r}+1"
        model, results = calculate({"S": sheet})
        assert results["S!A49"].value == 2.0**48
        assert results["S!B10"].value == 2.0**9 + 1
        assert len(model._shapes) <= 3

    def test_empty_and_integer_values(self) -> None:
        _, results = calculate({"S": {"A1": 5, "B1": "=A1", "C1": "=Z9"}})
        assert results["S!B1"].value == 5.0 and type(results["S!B1"].value) is float
        assert results["S!C1"].value == 0.0

    def test_implicit_intersection_in_legacy_formulas(self) -> None:
        cells = {"A1": 1.0, "A2": 2.0, "A3": 3.0, "B2": "=A1:A3*10", "B5": "=A1:A3*10"}
        _, results = calculate({"S": cells})
        assert results["S!B2"].value == 20.0
        assert results["S!B5"].value is XlError.VALUE


class TestNames:
    def test_workbook_and_sheet_scope(self) -> None:
        _, results = calculate(
            {"S": {"A1": 0.1, "B1": "=Rate*100"}, "T": {"A1": 0.2, "B1": "=Rate*100"}},
            names={"Rate": "S!$A$1", "T|Rate": "T!$A$1"},
        )
        assert results["S!B1"].value == 10.0
        assert results["T!B1"].value == 20.0

    def test_names_for_ranges_constants_and_formulas(self) -> None:
        _, results = calculate(
            {"S": {"A1": 1.0, "A2": 2.0, "B1": "=SUM(Data)*K+Twice"}},
            names={"Data": "S!$A$1:$A$2", "K": "=10", "Twice": "=S!$A$2*2"},
        )
        assert results["S!B1"].value == 34.0

    def test_lambda_names(self) -> None:
        _, results = calculate(
            {"S": {"A1": "=Square(3)"}}, names={"Square": "=_xlfn.LAMBDA(_xlpm.x,_xlpm.x*_xlpm.x)"}
        )
        assert results["S!A1"].value == 9.0


class TestArrays:
    def test_array_formula_fills_its_range(self) -> None:
        cells = {"A1": 1.0, "A2": 2.0, "A3": 3.0, "B1": ("=A1:A3*2", "B1:B3"), "C1": "=B3+1"}
        model, results = calculate({"S": cells})
        assert results["S!B1"].value == 2.0
        assert model.value("S!B2") == 4.0
        assert results["S!C1"].value == 7.0

    def test_legacy_array_pads_with_na_and_spill_with_empty(self) -> None:
        cells = {"B1": ("={1;2}", "B1:B3"), "C1": ("={1;2}", "C1:C3", True)}
        model, _ = calculate({"S": cells})
        assert model.value("S!B3") is XlError.NA
        assert model.value("S!C3") is None

    def test_sumproduct_and_array_if(self) -> None:
        cells = {
            "A1": 1.0,
            "A2": 5.0,
            "A3": 3.0,
            "B1": "=SUMPRODUCT((A1:A3>2)*A1:A3)",
            "B2": ("=SUM(IF(A1:A3>2,A1:A3,0))", "B2"),
        }
        _, results = calculate({"S": cells})
        assert results["S!B1"].value == 8.0
        assert results["S!B2"].value == 8.0

    def test_anchorarray_reads_the_spill(self) -> None:
        cells = {"A1": ("=SEQUENCE(3)", "A1:A3", True), "B1": "=SUM(_xlfn.ANCHORARRAY(A1))"}
        _, results = calculate({"S": cells})
        assert results["S!B1"].value == 6.0


class TestCycles:
    def test_without_iteration_cycles_are_circular(self) -> None:
        cells = {"A1": "=B1+1", "B1": "=A1", "C1": "=A1*2", "D1": "=5"}
        _, results = calculate({"S": cells})
        assert results["S!A1"].status == "circular"
        assert results["S!C1"].status == "circular"
        assert results["S!C1"].reason == "depends on circular S!A1"
        assert results["S!D1"].status == "computed"

    def test_a_cycle_not_taken_at_run_time_is_computed(self) -> None:
        cells = {"A1": False, "B1": "=IF(A1,C1,1)", "C1": "=B1"}
        _, results = calculate({"S": cells})
        assert results["S!C1"].status == "computed"
        assert results["S!C1"].value == 1.0

    def test_iteration_converges(self) -> None:
        # x = 1 + x/2 converges to 2
        calc = CalcSettings(iterate=True, iterate_count=200, iterate_delta=1e-12)
        _, results = calculate({"S": {"A1": "=1+B1/2", "B1": "=A1"}}, calc=calc)
        assert results["S!A1"].status == "computed"
        assert results["S!A1"].value == pytest.approx(2.0, abs=1e-9)

    def test_iteration_stops_at_the_count(self) -> None:
        calc = CalcSettings(iterate=True, iterate_count=10, iterate_delta=0.0)
        _, results = calculate({"S": {"A1": "=A1+1"}}, calc=calc)
        assert results["S!A1"].value == 10.0


class TestDataTables:
    def test_two_dimensional_table(self) -> None:
        cells = {
            "A1": 2.0,
            "A2": 3.0,
            "A3": "=A1*A2",  # model: result = x * y
            "C5": "=A3",
            "D5": 10.0,
            "E5": 20.0,
            "C6": 1.0,
            "C7": 2.0,
            "D6": DataTable("D6:E7", True, True, "A1", "A2"),
            "F6": "=D6+E7",
        }
        model, results = calculate({"S": cells})
        assert model.value("S!D6:E7") == ((10.0, 20.0), (20.0, 40.0))
        assert results["S!F6"].value == 50.0
        assert model.value("S!A3") == 6.0  # inputs restored

    def test_one_dimensional_column_table(self) -> None:
        cells = {
            "A1": 1.0,
            "A2": "=A1*10",
            "C1": "=A2",
            "D1": "=A2+1",
            "B2": 5.0,
            "B3": 6.0,
            "C2": DataTable("C2:D3", False, False, "A1", None),
        }
        model, _ = calculate({"S": cells})
        assert model.value("S!C2:D3") == ((50.0, 51.0), (60.0, 61.0))


class TestExternalLinks:
    def test_cached_values_of_linked_books(self) -> None:
        link = ExternalLink(1, "other.xlsx", ["Rates"], {"Rates": {"B2": 0.05}})
        _, results = calculate(
            {"S": {"A1": "=[1]Rates!$B$2*100", "A2": "=[1]Nope!A1"}}, external_links=[link]
        )
        assert results["S!A1"].value == 5.0
        assert results["S!A2"].value is XlError.REF

    def test_a_sheet_excel_could_not_read_is_ref_error(self) -> None:
        link = ExternalLink(
            2, "gone.xlsx", ["Gone", "Partly"], {"Partly": {"A1": 7.0}}, [], ["Gone", "Partly"]
        )
        _, results = calculate(
            {
                "S": {
                    "A1": "=[2]Gone!A1",
                    "A2": "=[2]Partly!A1",
                    "A3": "=[2]Partly!B9",
                    "A4": "=SUM([2]Gone!A1:B3)",
                    "A5": "=B1:'[2]Gone'!A2",  # still a reference, to another sheet
                }
            },
            external_links=[link],
        )
        assert results["S!A1"].value is XlError.REF
        assert results["S!A4"].value is XlError.REF
        assert results["S!A5"].value is XlError.VALUE
        assert results["S!A2"].value == 7.0  # what Excel cached of it is still used
        assert results["S!A3"].value == 0.0


class TestVolatile:
    def test_volatile_cells_and_their_dependents_are_flagged(self) -> None:
        _, results = calculate(
            {"S": {"A1": "=RAND()", "A2": "=A1*0", "A3": "=1", "A4": "=OFFSET(A3,0,0)"}}
        )
        assert results["S!A1"].volatile and results["S!A2"].volatile
        assert not results["S!A3"].volatile
        assert results["S!A4"].volatile and results["S!A4"].value == 1.0


class TestWhatIf:
    def test_set_values_recomputes_dependents_only(self) -> None:
        cells = {"A1": 1.0, "B1": "=A1*2", "C1": "=B1+1", "D1": "=7"}
        model, _ = calculate({"S": cells}, names={"Input": "S!$A$1"})
        assert model.set_values({"Input": 5}) == 2
        assert model.value("S!C1") == 11.0
        model.reset()
        assert model.value("S!C1") == 3.0

    def test_incremental_equals_full_recalculation(self) -> None:
        from synthetic_model import build

        wb = build(3_000)
        model = compile_workbook(wb)
        model.calculate()
        model.set_values({"Inputs!C12": 0.031, "TaxRate": 0.3, "Inputs!B15": 1234.0})
        incremental = {(r.sheet, r.row, r.col): r.value for r in model._results()}
        for sheet in wb.sheets:
            for cell in sheet.cells:
                key = (sheet.name, cell.row, cell.col)
                if key == ("Inputs", 12, 3):
                    cell.value = 0.031
                elif key == ("Inputs", 2, 2):
                    cell.value = 0.3
                elif key == ("Inputs", 15, 2):
                    cell.value = 1234.0
        full = {(r.sheet, r.row, r.col): r.value for r in compile_workbook(wb).calculate()}
        assert incremental == full

    def test_values_and_errors(self) -> None:
        model, _ = calculate({"S": {"A1": 1.0, "A2": 2.0, "B1": "=A1+A2"}}, names={"K": "=2*3"})
        assert model.values(["S!B1", "S!A1:A2", "K"]) == [3.0, ((1.0,), (2.0,)), 6.0]
        with pytest.raises(ReferenceNotFound):
            model.value("Nope!A1")
        with pytest.raises(ReferenceNotFound):
            model.set_values({"NoSuchName": 1})
        with pytest.raises(EngineError):
            model.set_values({"S!A1:A2": 1})
        assert model.set_values({"S!B1": 10.0}) == 0  # a formula cell overridden by a value
        assert model.value("S!B1") == 10.0


class TestProgress:
    def test_progress_reports_each_stage(self) -> None:
        seen: list[str] = []
        wb = make_workbook({"S": {f"A{r}": f"=ROW()*{r}" for r in range(1, 5000)}})
        model = compile_workbook(wb, progress=lambda stage, done, total: seen.append(stage))
        model.calculate()
        assert {"parsing", "graph", "computing"} <= set(seen)

    def test_an_exception_from_progress_cancels(self) -> None:
        class Cancelled(Exception):
            pass

        def cancel(stage: str, done: int, total: int) -> None:
            raise Cancelled

        wb = make_workbook({"S": {"A1": "=1"}})
        with pytest.raises(Cancelled):
            compile_workbook(wb, progress=cancel)


class TestDependencyOrder:
    def test_names_pointing_at_formula_cells_are_dependencies(self) -> None:
        # B1 reads A9 only through the name: it must still be computed after A9.
        cells: dict[str, object] = {"A1": 2.0, "B1": "=Late*10", "C1": "=SUM(Block)"}
        for r in range(2, 10):
            cells[f"A{r}"] = f"=A{r - 1}+1"
        _, results = calculate({"S": cells}, names={"Late": "S!$A$9", "Block": "S!$A$2:$A$9"})
        assert results["S!B1"].value == 100.0
        assert results["S!C1"].value == sum(range(3, 11))

    def test_dynamic_references_compute_what_they_read_first(self) -> None:
        # OFFSET reads B2:B3, which the static graph does not know A1 needs.
        cells = {
            "A1": "=SUM(OFFSET(B1,0,0,3,1))",
            "B1": 1.0,
            "B2": "=C1*2",
            "B3": "=B2+1",
            "C1": "=5",
        }
        _, results = calculate({"S": cells})
        assert results["S!A1"].value == 1.0 + 10.0 + 11.0
        cells = {"A1": '=INDIRECT("S!B2")+1', "B2": "=C1*2", "C1": "=5"}
        _, results = calculate({"S": cells})
        assert results["S!A1"].value == 11.0


class TestThreeDimensionalReferences:
    def test_the_same_cells_across_sheets(self) -> None:
        sheets: dict[str, dict[str, object]] = {
            "Jan": {"B2": 1.0, "B3": 10.0},
            "Feb": {"B2": 2.0, "B3": "x"},
            "Mar": {"B2": "=Feb!B2*2", "B3": 30.0},
            "Out": {
                "A1": "=SUM(Jan:Mar!B2)",
                "A2": "=SUM('Jan:Mar'!B2:B3)",
                "A3": "=COUNT(Mar:Jan!B3)",  # either order
                "A4": "=AVERAGE(Jan:Feb!B2)",
                "A5": "=SUM(Jan:Nope!B2)",
                "A6": "=Jan:Mar!B2",  # outside a function that reads unions
            },
        }
        _, results = calculate(sheets)
        assert results["Out!A1"].value == 7.0
        assert results["Out!A2"].value == 47.0
        assert results["Out!A3"].value == 2.0
        assert results["Out!A4"].value == 1.5
        assert results["Out!A5"].value is XlError.REF
        assert results["Out!A6"].value is XlError.VALUE

    def test_copies_move_their_cells_on_every_sheet(self) -> None:
        sheets: dict[str, dict[str, object]] = {
            "A": {"B1": 1.0, "B2": 2.0},
            "B": {"B1": 10.0, "B2": 20.0},
            "Out": {"C1": "=SUM(A:B!B1)", "C2": "=SUM(A:B!B2)"},
        }
        _, results = calculate(sheets)
        assert (results["Out!C1"].value, results["Out!C2"].value) == (11.0, 22.0)


class TestResults:
    def test_the_fast_maker_makes_ordinary_results(self) -> None:
        from eval_svc.engine.results import result_maker

        made = result_maker()("S", 2, 3, 1.5, "computed", None, True)
        plain = CellResult("S", 2, 3, 1.5, "computed", None, True)
        assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
        with pytest.raises(AttributeError):
            made.value = 2.0  # type: ignore[misc]

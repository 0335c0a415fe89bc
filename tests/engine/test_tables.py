"""Excel Tables and structured references: Sales[Amount], [@Qty], Sales[#Totals]..."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import calculate

from calcwire.values import XlError
from calcwire.workbook.model import Table
from eval_svc.engine import compile_workbook
from eval_svc.engine.tables import (
    StructuredReference,
    StructuredReferenceError,
    parse_structured_reference,
)


def _ref(
    table: str | None, items: set[str], first: str | None = None, last: str | None = None
) -> StructuredReference:
    return StructuredReference(table, frozenset(items), first, last if last else first)


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("T[]", _ref("T", set())),
            ("T[Qty]", _ref("T", set(), "Qty")),
            ("T[Unit price]", _ref("T", set(), "Unit price")),
            ("T[#All]", _ref("T", {"all"})),
            ("T[#this row]", _ref("T", {"this_row"})),
            ("T[[#Headers],[#Data]]", _ref("T", {"headers", "data"})),
            ("T[[#This Row],[Qty]]", _ref("T", {"this_row"}, "Qty")),
            ("T[[#This Row], [Qty]]", _ref("T", {"this_row"}, "Qty")),
            ("T[[Qty]:[Price]]", _ref("T", set(), "Qty", "Price")),
            ("T[[#Totals],[Qty]:[Price]]", _ref("T", {"totals"}, "Qty", "Price")),
            ("T[@Qty]", _ref("T", {"this_row"}, "Qty")),
            ("T[@[Unit price]]", _ref("T", {"this_row"}, "Unit price")),
            ("T[@]", _ref("T", {"this_row"})),
            ("[@Qty]", _ref(None, {"this_row"}, "Qty")),
            ("[Qty]", _ref(None, set(), "Qty")),
            ("T[Sales '[USD']]", _ref("T", set(), "Sales [USD]")),
            ("T[['#Data]]", _ref("T", set(), "#Data")),
        ],
    )
    def test_forms(self, text: str, expected: StructuredReference) -> None:
        assert parse_structured_reference(text) == expected

    @pytest.mark.parametrize("text", ["T", "T[[Qty]", "T[[A],B]", "T[[A]:[B]:[C]]", "T[[A]:]"])
    def test_not_structured_references(self, text: str) -> None:
        with pytest.raises(StructuredReferenceError):
            parse_structured_reference(text)


# Sales, on sheet S, B2:E6: a header row, three data rows, a totals row.
#        B        C      D       E
#   2    Region   Qty    Price   Amount
#   3    North    2      10      =[@Qty]*[@Price]
#   4    South    3      20      =Sales[[#This Row],[Qty]]*Sales[[#This Row],[Price]]
#   5    East     4      30      =[@Qty]*[@Price]
#   6    Total    =SUBTOTAL(109,[Qty])      =SUBTOTAL(109,[Amount])
SALES = Table("Sales", "Sales", "S", "B2:E6", ("Region", "Qty", "Price", "Amount"), 1, 1)


def _sales(**formulas: str) -> dict[str, Any]:
    cells: dict[str, Any] = {
        "B2": "Region",
        "C2": "Qty",
        "D2": "Price",
        "E2": "Amount",
        "B3": "North",
        "C3": 2.0,
        "D3": 10.0,
        "E3": "=[@Qty]*[@Price]",
        "B4": "South",
        "C4": 3.0,
        "D4": 20.0,
        "E4": "=Sales[[#This Row],[Qty]]*Sales[[#This Row],[Price]]",
        "B5": "East",
        "C5": 4.0,
        "D5": 30.0,
        "E5": "=[@Qty]*[@Price]",
        "B6": "Total",
        "C6": "=SUBTOTAL(109,[Qty])",
        "E6": "=SUBTOTAL(109,[Amount])",
    }
    cells.update({address: "=" + f for address, f in formulas.items()})
    return cells


def _values(tables: list[Table] | None = None, **formulas: str) -> dict[str, Any]:
    _, results = calculate({"S": _sales(**formulas)}, tables=tables or [SALES])
    return {address.split("!")[1]: r.value for address, r in results.items()}


class TestStructuredReferences:
    def test_calculated_column_and_totals_row(self) -> None:
        v = _values()
        assert (v["E3"], v["E4"], v["E5"]) == (20.0, 60.0, 120.0)
        assert (v["C6"], v["E6"]) == (9.0, 200.0)

    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("SUM(Sales[Amount])", 200.0),
            ("SUM(sales[AMOUNT])", 200.0),  # names are case-insensitive
            ("SUM(Sales[])", 2 + 3 + 4 + 10 + 20 + 30 + 200.0),
            ("SUM(Sales)", 2 + 3 + 4 + 10 + 20 + 30 + 200.0),
            ("SUM(Sales[#Data])", 2 + 3 + 4 + 10 + 20 + 30 + 200.0),
            ("SUM(Sales[#All])", 2 + 3 + 4 + 10 + 20 + 30 + 200.0 + 9 + 200),
            ("SUM(Sales[#Totals])", 209.0),
            ("SUM(Sales[[#Totals],[Amount]])", 200.0),
            ("SUM(Sales[[#Data],[#Totals],[Qty]])", 18.0),
            ("_xlfn.CONCAT(Sales[#Headers])", "RegionQtyPriceAmount"),
            ("COUNTA(Sales[[#Headers],[#Data],[Region]])", 4.0),
            ("SUM(Sales[[Qty]:[Price]])", 69.0),
            ("SUM(Sales[[Price]:[Qty]])", 69.0),
            ("ROWS(Sales[#All])*10+COLUMNS(Sales[#All])", 54.0),
            ("INDEX(Sales[Region],MATCH(90,Sales[Amount]*1.5,0))", "South"),
            ('SUMIFS(Sales[Amount],Sales[Region],"<>North")', 180.0),
            ("Sales[Nope]", XlError.REF),
            ("Nope[Qty]", XlError.REF),
            ("Sales[[#Headers],[#Totals]]", XlError.REF),
            ('SUM(INDIRECT("Sales[Qty]"))', 9.0),
            ('SUM(INDIRECT("sales"))', 269.0),
        ],
    )
    def test_areas(self, formula: str, expected: Any) -> None:
        assert _values(G10=formula)["G10"] == expected

    def test_this_row_from_outside_the_table(self) -> None:
        v = _values(
            G4="Sales[@Qty]*100",
            G9="Sales[@Qty]",
            H4="SUM(Sales[@])",
            H5="Sales[@Qty]",
            I5='INDIRECT("Sales[@Price]")',
            I9='INDIRECT("Sales[@Price]")',
        )
        assert v["G4"] == 300.0
        assert (v["I5"], v["I9"]) == (30.0, XlError.VALUE)
        assert v["G9"] is XlError.VALUE  # no row of the table
        assert v["H4"] == 3.0 + 20.0 + 60.0
        assert v["H5"] == 4.0

    def test_this_row_in_header_or_totals_row_is_value_error(self) -> None:
        assert _values(G2="Sales[@Qty]", G6="Sales[@Qty]") == {
            **_values(),
            "G2": XlError.VALUE,
            "G6": XlError.VALUE,
        }

    def test_a_whole_column_intersects_the_formula_row(self) -> None:
        v = _values(G4="Sales[Qty]*2", G9="Sales[Qty]*2")
        assert v["G4"] == 6.0
        assert v["G9"] is XlError.VALUE

    def test_unqualified_reference_outside_any_table_is_ref_error(self) -> None:
        assert _values(G10="SUM([Qty])")["G10"] is XlError.REF

    def test_defined_name_over_a_table_column(self) -> None:
        _, results = calculate(
            {"S": _sales(G1="SUM(Amounts)"), "T": {"A1": "=MAX(Amounts)"}},
            tables=[SALES],
            names={"Amounts": "Sales[Amount]"},
        )
        assert results["S!G1"].value == 200.0
        assert results["T!A1"].value == 120.0

    def test_from_another_sheet(self) -> None:
        _, results = calculate(
            {"S": _sales(), "T": {"A1": "=SUM(Sales[Amount])", "A3": "=Sales[@Qty]"}},
            tables=[SALES],
        )
        assert results["T!A1"].value == 200.0
        assert results["T!A3"].value == 2.0

    def test_table_without_header_row(self) -> None:
        grid = Table("Grid", "Grid", "S", "A1:B2", ("Column1", "Column2"), header_row_count=0)
        _, results = calculate(
            {
                "S": {
                    "A1": 1.0,
                    "B1": "=[@Column1]*10",
                    "A2": 2.0,
                    "B2": "=[@Column1]*10",
                    "D1": "=SUM(Grid[Column2])",
                    "D2": "=SUM(Grid[#Headers])",
                }
            },
            tables=[grid],
        )
        assert results["S!D1"].value == 30.0
        assert results["S!D2"].value is XlError.REF

    def test_two_tables_with_the_same_calculated_column_formula(self) -> None:
        """Unqualified references mean each its own table: no shared compiled template."""
        first = Table("A", "A", "S", "A1:B3", ("X", "Y"))
        second = Table("B", "B", "S", "D1:E3", ("Y", "X"))
        cells = {"A1": "X", "B1": "Y", "D1": "Y", "E1": "X"}
        for r in (2, 3):
            cells[f"A{r}"] = float(r)
            cells[f"B{r}"] = "=[@X]*10"
            cells[f"E{r}"] = float(r * 100)
            cells[f"D{r}"] = "=[@X]*10"
        _, results = calculate({"S": cells}, tables=[first, second])
        assert results["S!B3"].value == 30.0
        assert results["S!D3"].value == 3000.0

    def test_formula_columns_are_computed_before_their_readers(self) -> None:
        """The graph knows what a structured reference reads."""
        cells = _sales(A1="SUM(Sales[Amount])", A4="Sales[@Amount]+0")
        cells["C3"] = "=In!A1"  # the first quantity comes from another sheet
        _, results = calculate({"S": cells, "In": {"A1": 5.0}}, tables=[SALES])
        assert results["S!E3"].value == 50.0
        assert results["S!A1"].value == 50.0 + 60.0 + 120.0
        assert results["S!A4"].value == 60.0

    def test_what_if_through_a_table(self) -> None:
        from engine_helpers import make_workbook

        model = compile_workbook(
            make_workbook({"S": _sales(G1="SUM(Sales[Amount])")}, tables=[SALES])
        )
        model.calculate()
        assert model.set_values({"S!C4": 10.0}) >= 3  # E4, the totals, G1
        assert model.values(["S!E4", "S!E6", "S!G1"]) == [200.0, 340.0, 340.0]
        model.reset()
        assert model.value("S!G1") == 200.0

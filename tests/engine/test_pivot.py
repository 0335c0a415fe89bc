"""GROUPBY and PIVOTBY, on data and results taken from Excel (formulas' test workbook)."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import calculate

from calcwire.values import XlError

# (region, sub-region, leaf) -> (val1, val2), 18 records with a header row, as in Excel's test.
RECORDS = [
    ("r2", "r2-1", "r2-1-1", 1.0, 5.0),
    ("r2", "r2-2", "r2-2-2", 6.0, 9.0),
    ("r3", "r1-1", "r1-1-2", -9.0, 8.0),
    ("r2", "r2-2", "r2-2-1", -1.0, 7.0),
    ("r3", "r1-2", "r1-2-2", 6.0, 3.0),
    ("r2", "r2-1", "r2-1-2", 3.0, -7.0),
    ("r3", "r1-2", "r1-2-1", 7.0, -4.0),
    ("r2", "r2-2", "r2-2-2", -4.0, 1.0),
    ("r2", "r2-1", "r2-1-2", -7.0, 6.0),
    ("r2", "r2-2", "r2-2-1", 9.0, -9.0),
    ("r2", "r2-2", "r2-2-2", 7.0, -1.0),
    ("r2", "r2-2", "r2-2-1", 5.0, 7.0),
    ("r3", "r1-1", "r1-1-2", 9.0, 3.0),
    ("r2", "r2-1", "r2-1-2", 8.0, -7.0),
    ("r3", "r1-2", "r1-2-2", 8.0, -4.0),
    ("r2", "r2-2", "r2-2-2", -6.0, -7.0),
    ("r3", "r1-2", "r1-2-2", 1.0, -1.0),
    ("r3", "r1-1", "r1-1-2", -2.0, -2.0),
]


def _data() -> dict[str, Any]:
    cells: dict[str, Any] = {"A1": "row-1", "B1": "row-2", "C1": "row-3", "D1": "v1", "E1": "v2"}
    for i, record in enumerate(RECORDS, start=2):
        for col, value in zip("ABCDE", record):
            cells[f"{col}{i}"] = value
        cells[f"F{i}"] = float(i % 2)  # a filter
    cells["F1"] = "keep"
    return cells


def _spill(formula: str, extra: dict[str, Any] | None = None) -> list[list[Any]]:
    cells = _data()
    cells.update(extra or {})
    cells["H1"] = ("=" + formula, "H1:Z40", True)
    model, results = calculate({"S": cells})
    anchor = results["S!H1"]
    assert anchor.status == "computed", anchor
    grid = [list(row) for row in model.value("S!H1:Z40")]
    rows = [row for row in grid if any(v is not None for v in row)]
    width = max(max(i for i, v in enumerate(row) if v is not None) for row in rows) + 1
    return [row[:width] for row in rows]


class TestGroupBy:
    def test_subtotals_and_headers(self) -> None:
        out = _spill("_xlfn.GROUPBY(A1:C19,D1:E19,_xleta.SUM,3,3)")
        assert out[0] == ["row-1", "row-2", "row-3", "v1", "v2"]
        assert out[1:5] == [
            ["r2", "r2-1", "r2-1-1", 1.0, 5.0],
            ["r2", "r2-1", "r2-1-2", 4.0, -8.0],
            ["r2", "r2-1", "", 5.0, -3.0],
            ["r2", "r2-2", "r2-2-1", 13.0, 5.0],
        ]
        assert out[7] == ["r2", "", "", 21.0, 4.0]
        assert out[-1] == ["Grand Total", "", "", 41.0, 7.0]
        assert len(out) == 15

    def test_default_headers_are_detected_and_hidden(self) -> None:
        out = _spill("_xlfn.GROUPBY(A1:A19,D1:D19,_xleta.AVERAGE)")
        assert out == [["r2", 21 / 11], ["r3", 20 / 7], ["Total", 41 / 18]]

    def test_percentof_is_given_the_grand_total(self) -> None:
        out = _spill("_xlfn.GROUPBY(A1:A19,D1:D19,_xleta.PERCENTOF,3)")
        assert out == [["row-1", "v1"], ["r2", 21 / 41], ["r3", 20 / 41], ["Total", 1.0]]

    def test_filter_sort_descending_and_totals_on_top(self) -> None:
        out = _spill("_xlfn.GROUPBY(A1:B19,D1:D19,_xleta.SUM,1,-1,-2,F1:F19)")
        assert out == [
            ["Total", "", 18.0],
            ["r2", "r2-2", 9.0],  # the second field descending, the first ascending
            ["r2", "r2-1", 11.0],
            ["r3", "r1-1", -2.0],  # r1-2 is filtered out
        ]

    def test_sort_by_value(self) -> None:
        out = _spill("_xlfn.GROUPBY(A1:B19,D1:D19,_xleta.SUM,1,0,-3)")
        assert out == [
            ["r2", "r2-2", 16.0],
            ["r2", "r2-1", 5.0],
            ["r3", "r1-2", 22.0],
            ["r3", "r1-1", -2.0],
        ]

    def test_table_relationship_with_grand_total_only_is_the_hierarchy(self) -> None:
        hierarchy = _spill("_xlfn.GROUPBY(A1:C19,D1:E19,_xleta.AVERAGE,3,1,1,F1:F19,0)")
        table = _spill("_xlfn.GROUPBY(A1:C19,D1:E19,_xleta.AVERAGE,3,1,1,F1:F19,1)")
        assert table == hierarchy
        assert len(table) == 1 + 4 + 1  # headers, the four groups the filter keeps, the total

    def test_a_lambda_aggregates(self) -> None:
        out = _spill(
            "_xlfn.GROUPBY(A2:A19,D2:D19,_xlfn.LAMBDA(_xlpm.x,MAX(_xlpm.x)-MIN(_xlpm.x)),0,0)"
        )
        assert out == [["r2", 16.0], ["r3", 18.0]]

    @pytest.mark.parametrize(
        "formula",
        [
            "_xlfn.GROUPBY(A1:C19,D1:E18,_xleta.SUM)",  # sizes differ
            "_xlfn.GROUPBY(A1:C19,D1:E19,_xleta.SUM,1,2,6)",  # no sixth column to sort by
            "_xlfn.GROUPBY(A1:C19,D1:E19,_xleta.SUM,7)",  # no such header mode
            "_xlfn.GROUPBY(A1:C19,D1:E19,_xleta.IF,1)",  # IF needs two arguments
            "_xlfn.GROUPBY(A1:C19,D1:E19,1)",  # not a function
        ],
    )
    def test_errors(self, formula: str) -> None:
        out = _spill(formula)
        flat = [v for row in out for v in row]
        assert XlError.VALUE in flat

    def test_an_error_given_as_function_is_returned(self) -> None:
        out = _spill("_xlfn.GROUPBY(A1:A19,D1:D19,G1)", {"G1": XlError.NA})
        assert out == [[XlError.NA]]


class TestPivotBy:
    def test_rows_columns_and_totals(self) -> None:
        out = _spill("_xlfn.PIVOTBY(A2:A19,B2:B19,D2:D19,_xleta.SUM)")
        assert out[0] == ["", "r1-1", "r1-2", "r2-1", "r2-2", "Total"]
        assert out[1] == ["r2", "", "", 5.0, 16.0, 21.0]
        assert out[2] == ["r3", -2.0, 22.0, "", "", 20.0]
        assert out[3] == ["Total", -2.0, 22.0, 5.0, 16.0, 41.0]

    @pytest.mark.parametrize(
        ("relative_to", "r2_row"),
        [
            (0, [7 / 16, 12 / -3, 19 / 13]),  # of the column's total
            (1, [7 / 19, 12 / 19, 1.0]),  # of the row's total
            (2, [7 / 13, 12 / 13, 19 / 13]),  # of the grand total
            (3, [7 / 19, 12 / 19, 1.0]),  # of the parent column (here: the row)
            (4, [7 / 16, 12 / -3, 19 / 13]),  # of the parent row (here: the column)
        ],
    )
    def test_percentof_relative_to(self, relative_to: int, r2_row: list[float]) -> None:
        rows = '{"r2";"r2";"r3";"r2";"r2";"r2";"r3";"r2";"r3"}'
        cols = '{"c1";"c1";"c2";"c2";"c1";"c2";"c1";"c2";"c2"}'
        vals = "{1;-1;-7;-1;7;5;9;8;-8}"
        out = _spill(
            f"_xlfn.PIVOTBY({rows},{cols},{vals},_xleta.PERCENTOF,0,1,1,1,1,,{relative_to})"
        )
        assert out[0] == ["", "c1", "c2", "Total"]
        assert out[1][0] == "r2"
        assert out[1][1:] == pytest.approx(r2_row)

    def test_sort_by_value_and_totals_first(self) -> None:
        out = _spill("_xlfn.PIVOTBY(A1:A19,C1:C19,D1:D19,_xleta.SUM,1,-1,2,0,1)")
        assert out[1][0] == "Total"
        assert [row[0] for row in out[2:]] == ["r3", "r2"]  # 20 before 21

    def test_headers_shown_for_several_fields(self) -> None:
        out = _spill("_xlfn.PIVOTBY(A1:A19,B1:B19,D1:E19,_xleta.SUM,3,0,1,0)")
        assert out[0][:3] == ["", "row-2", ""]
        assert out[1][:5] == ["", "r1-1", "r1-1", "r1-2", "r1-2"]
        assert out[2][:5] == ["row-1", "v1", "v2", "v1", "v2"]
        assert out[3][:3] == ["r2", "", ""]

    def test_depth_beyond_the_fields_is_value_error(self) -> None:
        assert _spill("_xlfn.PIVOTBY(A2:A19,B2:B19,D2:D19,_xleta.SUM,0,3)") == [[XlError.VALUE]]

"""Building small workbooks for engine tests."""

from __future__ import annotations

from typing import Any

from calcwire.formula import parse_a1
from calcwire.values import CellValue
from calcwire.workbook.model import CalcSettings, Cell, DataTable, DefinedName, Sheet, Workbook
from eval_svc.engine import CellResult, CompiledModel, compile_workbook


def make_workbook(
    sheets: dict[str, dict[str, Any]],
    names: dict[str, str] | None = None,
    calc: CalcSettings | None = None,
    **kwargs: Any,
) -> Workbook:
    """Sheets as {"A1": value or "=formula" or ("{=formula}", "A1:B2")} per sheet.

    A tuple ("=formula", "A1:B2") is an array formula over that range; a
    DataTable value makes the cell a Data Table anchor.
    """
    out = []
    for name, cells in sheets.items():
        sheet = Sheet(name)
        for address, value in cells.items():
            row, col = parse_a1(address)
            if isinstance(value, DataTable):
                sheet.cells.append(Cell(row, col, None, "TABLE()", data_table=value))
            elif isinstance(value, tuple):
                formula, ref = value[0], value[1]
                dynamic = len(value) > 2 and bool(value[2])
                sheet.cells.append(
                    Cell(row, col, None, formula.lstrip("="), array_ref=ref, dynamic=dynamic)
                )
            elif isinstance(value, str) and value.startswith("="):
                sheet.cells.append(Cell(row, col, None, value[1:]))
            else:
                sheet.cells.append(Cell(row, col, value))
        sheet.cells.sort(key=lambda c: (c.row, c.col))
        out.append(sheet)
    defined = []
    for name, refers in (names or {}).items():
        scope = None
        if "|" in name:
            scope, name = name.split("|", 1)
        defined.append(DefinedName(name, refers, scope))
    return Workbook(out, defined, calc or CalcSettings(), **kwargs)


def calculate(
    sheets: dict[str, dict[str, Any]], **kwargs: Any
) -> tuple[CompiledModel, dict[str, CellResult]]:
    model = compile_workbook(make_workbook(sheets, **kwargs))
    results = {f"{r.sheet}!{_a1(r.row, r.col)}": r for r in model.calculate()}
    return model, results


def _a1(row: int, col: int) -> str:
    from calcwire.formula import column_letters

    return f"{column_letters(col)}{row}"


def evaluate(formula: str, cells: dict[str, Any] | None = None) -> CellValue:
    """The value of one formula written in Sheet1!Z100, with optional inputs on Sheet1."""
    sheet = dict(cells or {})
    sheet["Z100"] = "=" + formula.lstrip("=")
    _, results = calculate({"Sheet1": sheet})
    result = results["Sheet1!Z100"]
    assert result.status == "computed", result
    return result.value

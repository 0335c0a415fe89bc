"""The reader against openpyxl on every workbook of the corpus: same cells, formulas, values."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.datetime import from_excel, to_excel
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from calcwire.values import XlError, is_number
from calcwire.workbook._escapes import unescape_text
from calcwire.workbook.model import Cell
from calcwire.workbook.reader import read_workbook

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

pytestmark = pytest.mark.corpus


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*.xls*") if p.is_file())


def _load(path: Path, data_only: bool) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, data_only=data_only)


def _same_value(ours: Any, theirs: Any, data_type: str, epoch: dt.datetime) -> bool:
    """Our value equals openpyxl's, in calcwire's terms (serials, XlError, unescaped text)."""
    if isinstance(theirs, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        # openpyxl turned a date-formatted number into a datetime: compare serials, our
        # number going through the same conversion (serial 60, the 29 February 1900 that
        # never was, comes back as 59).
        if not is_number(ours):
            return False
        kind = type(theirs)
        if kind is dt.timedelta:
            return abs(ours - theirs.total_seconds() / 86400) <= 1e-9 * max(1.0, abs(ours))
        theirs = float(to_excel(theirs, epoch))
        if kind is not dt.time:
            ours = float(to_excel(from_excel(ours, epoch), epoch))
    if data_type == "e" and isinstance(theirs, str):
        theirs = XlError(theirs)
    if is_number(ours) and is_number(theirs):
        return abs(ours - theirs) <= 1e-9 * max(1.0, abs(theirs))
    if theirs is None and ours == "":
        return True  # openpyxl reads an empty formula-string result as None
    if isinstance(theirs, str) and isinstance(ours, str):
        # openpyxl leaves _xHHHH_ escapes in, except _x005F_ in shared strings.
        return ours in (theirs, unescape_text(theirs))
    return type(ours) is type(theirs) and ours == theirs


def _problems(path: Path) -> tuple[int, list[str]]:
    ours = read_workbook(path)
    formulas_wb = _load(path, data_only=False)
    values_wb = _load(path, data_only=True)
    epoch = formulas_wb.epoch
    problems: list[str] = []
    checked = 0
    assert [s.name for s in ours.sheets] == [ws.title for ws in formulas_wb.worksheets]
    for sheet in ours.sheets:
        ws_f = formulas_wb[sheet.name]
        ws_v = values_wb[sheet.name]
        index: dict[tuple[int, int], Cell] = {(c.row, c.col): c for c in sheet.cells}
        theirs_nonempty = set()
        for (row, col), cell_f in ws_f._cells.items():
            formula = cell_f.value
            if formula is None:
                continue
            theirs_nonempty.add((row, col))
            where = f"{sheet.name}!{cell_f.coordinate}"
            mine = index.get((row, col))
            if mine is None:
                problems.append(f"{where}: missing (openpyxl: {formula!r})")
                continue
            checked += 1
            if isinstance(formula, ArrayFormula):
                if (mine.formula, mine.array_ref) != (formula.text[1:], formula.ref):
                    problems.append(f"{where}: array {mine.formula!r} {mine.array_ref} "
                                    f"!= {formula.text!r} {formula.ref}")
            elif isinstance(formula, DataTableFormula):
                table = mine.data_table
                if table is None or (table.ref, table.two_dimensional, table.row_input,
                                     table.r1, table.r2) != (
                        formula.ref, formula.dt2D in ("1", True), formula.dtr in ("1", True),
                        formula.r1, formula.r2):
                    problems.append(f"{where}: data table {table} != {dict(formula)}")
            elif cell_f.data_type == "f" and formula == "=":
                # An empty <f/> (on the cells a volatile dynamic array spills into): openpyxl
                # says "=", the reader says no formula.
                if mine.formula is not None:
                    problems.append(f"{where}: empty formula read as {mine.formula!r}")
            elif cell_f.data_type == "f":
                if mine.formula != formula[1:]:
                    problems.append(f"{where}: formula {mine.formula!r} != {formula!r}")
            elif mine.formula is not None:
                problems.append(f"{where}: formula {mine.formula!r} where openpyxl has a value")
            cell_v = ws_v.cell(row, col)
            if not _same_value(mine.value, cell_v.value, cell_v.data_type, epoch):
                problems.append(f"{where}: value {mine.value!r} != {cell_v.value!r}")
        for key, mine in index.items():
            if key not in theirs_nonempty and mine.value != "":
                problems.append(f"{sheet.name} R{key[0]}C{key[1]}: {mine} not in openpyxl")
    return checked, problems


class TestReaderAgainstOpenpyxl:
    @pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
    def test_same_cells_formulas_and_cached_values(self, path: Path) -> None:
        checked, problems = _problems(path)
        assert not problems, f"{len(problems)} differences of {checked}: {problems[:15]}"

    def test_corpus_present(self) -> None:
        if not _corpus_files():
            pytest.skip(f"corpus not found at {CORPUS}: the reader is not checked against it")
        assert len(_corpus_files()) >= 90

"""The financial-model generator and the writer that saves it."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator

import numpy_financial as npf
import openpyxl
import pytest

from calcwire.formula import column_letters
from calcwire.workbook.generate import (
    ModelShape,
    _edate,
    _ipmt,
    _irr,
    _npv,
    _pmt,
    generate_model,
    model_shape,
)
from calcwire.workbook.model import Cell, Workbook
from calcwire.workbook.reader import read_workbook
from calcwire.workbook.writer import workbook_bytes


def _formula_cells(wb: Workbook) -> Iterator[tuple[str, Cell]]:
    for sheet in wb.sheets:
        for cell in sheet.cells:
            if cell.formula is not None:
                yield sheet.name, cell


def _values(wb: Workbook) -> dict[str, object]:
    return {f"{s.name}!{column_letters(c.col)}{c.row}": c.value for s in wb.sheets
            for c in s.cells}


class TestShape:
    @pytest.mark.parametrize("target", [1_000, 10_000, 50_000, 500_000])
    def test_close_to_the_target(self, target: int) -> None:
        shape = model_shape(target)
        assert abs(shape.formula_cells - target) / target < 0.05

    @pytest.mark.parametrize("target", [100, 1_000, 10_000])
    def test_formula_count_is_the_shapes(self, target: int) -> None:
        wb = generate_model(target)
        assert sum(1 for _ in _formula_cells(wb)) == model_shape(target).formula_cells

    def test_an_explicit_shape(self) -> None:
        wb = generate_model(shape=ModelShape(months=12, products=3))
        assert sum(1 for _ in _formula_cells(wb)) == ModelShape(12, 3).formula_cells

    def test_deterministic(self) -> None:
        assert generate_model(2_000) == generate_model(2_000)
        assert generate_model(2_000, seed=1) != generate_model(2_000, seed=2)


class TestContent:
    def test_sheets_names_and_functions(self) -> None:
        wb = generate_model(5_000)
        assert [s.name for s in wb.sheets] == ["Inputs", "Operations", "Debt", "Valuation"]
        text = " ".join(c.formula or "" for _, c in _formula_cells(wb))
        for function in ("SUMIFS(", "SUM(", "IF(", "INDEX(", "MATCH(", "PMT(", "IPMT(",
                         "NPV(", "IRR(", "XNPV(", "EDATE(", "MAX(", "Inputs!", "Operations!"):
            assert function in text
        names = {n.name: n for n in wb.names}
        assert names["CashFlows"].scope == "Valuation"
        values = _values(wb)
        for name in names.values():
            ref = name.refers_to.replace("$", "").split(":")[0]
            assert ref in values, name

    def test_every_formula_cell_has_a_number(self) -> None:
        for _, cell in _formula_cells(generate_model(3_000)):
            assert isinstance(cell.value, float), cell

    def test_values_agree_with_each_other(self) -> None:
        """Spot checks: each relation recomputed from the cached values of its inputs."""
        wb = generate_model(shape=ModelShape(months=24, products=3))
        v = _values(wb)
        for month in range(1, 25):
            c = column_letters(2 + month)
            for block in range(3):
                r = 6 + 5 * block
                assert v[f"Operations!{c}{r + 2}"] == pytest.approx(
                    v[f"Operations!{c}{r}"] * v[f"Operations!{c}{r + 1}"], rel=1e-12)
                assert v[f"Operations!{c}{31 + block}"] == pytest.approx(
                    v[f"Operations!{c}{r + 2}"] / v[f"Operations!{c}22"], rel=1e-12)
            total = sum(v[f"Operations!{c}{6 + 5 * b + 2}"] for b in range(3))  # type: ignore[misc]
            assert v[f"Operations!{c}22"] == pytest.approx(total, rel=1e-12)
            assert v[f"Debt!{c}9"] == pytest.approx(v[f"Debt!{c}5"] - v[f"Debt!{c}8"], abs=1e-6)
            assert v[f"Valuation!{c}11"] > 0  # positive cash flows: one IRR
        assert abs(v["Debt!T9"]) < 1e-6  # the loan is repaid at the end of its 18-month term
        assert 0.0 < v["Valuation!B18"] < 0.1  # a monthly IRR, found from the 0.01 guess

    def test_financial_functions_match_numpy_financial(self) -> None:
        assert _pmt(0.005, 18, -200_000) == pytest.approx(npf.pmt(0.005, 18, -200_000), rel=1e-12)
        for period in (1, 2, 10, 18):
            assert _ipmt(0.005, period, 18, -200_000) == pytest.approx(
                npf.ipmt(0.005, period, 18, -200_000), rel=1e-12)
        flows = [-1000.0, 300.0, 400.0, 500.0, 200.0]
        assert _irr(flows) == pytest.approx(npf.irr(flows), rel=1e-12)
        assert _npv(0.01, flows) == pytest.approx(npf.npv(0.01, [0.0, *flows]), rel=1e-12)
        assert _edate(45292.0, 1) == 45323.0  # 2024-01-01 -> 2024-02-01


class TestWriterRoundTrip:
    def test_reader_gets_back_every_cell(self) -> None:
        wb = generate_model(10_000)
        back = read_workbook(workbook_bytes(wb))
        assert [s.name for s in back.sheets] == [s.name for s in wb.sheets]
        for ours, theirs in zip(back.sheets, wb.sheets, strict=True):
            assert ours.cells == theirs.cells
        assert back.names == wb.names

    def test_shared_formulas_expand_to_the_same_cells(self) -> None:
        wb = generate_model(10_000)
        data = workbook_bytes(wb, shared_formulas=True)
        sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet2.xml").decode()
        assert sheet.count('t="shared" si=') > 5_000  # most copies are written shared
        back = read_workbook(data)
        for ours, theirs in zip(back.sheets, wb.sheets, strict=True):
            assert ours.cells == theirs.cells

    def test_openpyxl_reads_the_same_formulas_and_values(self) -> None:
        wb = generate_model(2_000)
        data = workbook_bytes(wb, shared_formulas=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            formulas = openpyxl.load_workbook(io.BytesIO(data))
            values = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        for sheet_name, cell in _formula_cells(wb):
            assert formulas[sheet_name].cell(cell.row, cell.col).value == "=" + cell.formula
            cached = values[sheet_name].cell(cell.row, cell.col).value
            if isinstance(cached, float):
                assert cached == cell.value

    def test_without_cached_values(self) -> None:
        back = read_workbook(workbook_bytes(generate_model(1_000), cached_values=False))
        cells = [c for s in back.sheets for c in s.cells]
        assert all(c.value is None for c in cells if c.formula is not None)
        assert any(c.value is not None for c in cells if c.formula is None)

    def test_a_stale_workbook_keeps_its_old_values(self) -> None:
        wb = generate_model(1_000)
        inputs = wb.sheets[0]
        tax = next(c for c in inputs.cells if (c.row, c.col) == (5, 2))
        old_formulas = [c.value for _, c in _formula_cells(wb)]
        tax.value = 0.30
        back = read_workbook(workbook_bytes(wb))
        assert next(c for c in back.sheets[0].cells if (c.row, c.col) == (5, 2)).value == 0.30
        assert [c.value for _, c in _formula_cells(back)] == old_formulas

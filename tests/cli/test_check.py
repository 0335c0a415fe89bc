"""``calcwire check``: comparing engine results, the two outputs, and the command itself."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from calcwire.cli.check import (
    CheckReport,
    compare_results,
    json_value,
    render_text,
    report_json,
)
from calcwire.testing import badfiles
from calcwire.values import CellValue, XlError
from calcwire.workbook import CalcSettings, Cell, Sheet, Workbook
from validation_svc.compare import DEFAULT_TOLERANCE, Status, Summary

CALCWIRE = Path(sys.executable).with_name("calcwire")


@dataclass(frozen=True, slots=True)
class Result:
    """An engine result as eval_svc.engine.CellResult has it."""

    sheet: str
    row: int
    col: int
    value: CellValue
    status: str = "computed"
    reason: str | None = None
    volatile: bool = False


def _workbook() -> Workbook:
    return Workbook(sheets=[
        Sheet("Inputs", cells=[Cell(1, 1, 2.0), Cell(2, 1, 10.0, formula="A1*5")]),
        Sheet("Calc", cells=[
            Cell(1, 1, 4.0, formula="Inputs!A1*2"),
            Cell(1, 2, 100.0, formula="Inputs!A2*10"),
            Cell(2, 1, None, formula="A1+1"),
            Cell(2, 2, 3.0, formula="FOOBAR(1)"),
            Cell(3, 1, 45000.0, formula="TODAY()"),
        ]),
    ])


def _results() -> list[Result]:
    return [
        Result("Inputs", 2, 1, 10.0),
        Result("Calc", 1, 1, 4.0000001),
        Result("Calc", 1, 2, 150.0),
        Result("Calc", 2, 1, 5.0),
        Result("Calc", 2, 2, None, "not_computable", "unsupported function: FOOBAR"),
        Result("Calc", 3, 1, 46000.0, volatile=True),
    ]


def _report(cells_kept: str = "non-matching") -> CheckReport:
    wb = _workbook()
    checked = list(compare_results(wb, _results()))
    summary = Summary.of((c.sheet, c.verdict.status) for c in checked)
    if cells_kept != "all":
        checked = [c for c in checked if c.verdict.status is not Status.MATCH]
    return CheckReport(file="/data/model.xlsx", sha256="ab" * 32, calc=CalcSettings(),
                       tolerance=DEFAULT_TOLERANCE, summary=summary, cells=checked,
                       sheet_order=["Inputs", "Calc"])


class TestCompareResults:
    def test_statuses(self) -> None:
        statuses = {(c.sheet, c.address): c.verdict.status
                    for c in compare_results(_workbook(), _results())}
        assert statuses == {
            ("Inputs", "A2"): Status.MATCH,
            ("Calc", "A1"): Status.MATCH,
            ("Calc", "B1"): Status.MISMATCH,
            ("Calc", "A2"): Status.NOT_CACHED,
            ("Calc", "B2"): Status.NOT_COMPUTABLE,
            ("Calc", "A3"): Status.VOLATILE,
        }

    def test_results_out_of_order_are_matched_by_position(self) -> None:
        ordered = list(compare_results(_workbook(), _results()))
        shuffled = list(compare_results(_workbook(), list(reversed(_results()))))
        assert shuffled == ordered

    def test_a_missing_result_is_not_computable(self) -> None:
        checked = list(compare_results(_workbook(), _results()[:-1]))
        assert checked[-1].verdict.status is Status.NOT_COMPUTABLE
        assert "no result" in (checked[-1].verdict.reason or "")

    def test_tolerance(self) -> None:
        from validation_svc.compare import Tolerance

        checked = list(compare_results(_workbook(), _results(), Tolerance(absolute=60.0)))
        assert checked[2].verdict.status is Status.MATCH


class TestJson:
    def test_document(self) -> None:
        doc = report_json(_report())
        assert set(doc) == {"file", "sha256", "summary", "cells"}
        assert doc["summary"] == {"formula_cells": 6, "match": 2, "mismatch": 1, "not_cached": 1,
                                  "not_computable": 1, "volatile": 1, "circular": 0}
        assert doc["cells"][0] == {
            "sheet": "Calc", "cell": "B1", "formula": "=Inputs!A2*10", "cached": 100.0,
            "computed": 150.0, "status": "mismatch", "reason": None}
        assert [c["status"] for c in doc["cells"]] == [
            "mismatch", "not_cached", "not_computable", "volatile"]
        assert doc["cells"][2]["reason"] == "unsupported function: FOOBAR"
        json.dumps(doc, allow_nan=False)

    @pytest.mark.parametrize(("value", "encoded"), [
        (1.5, 1.5), ("x", "x"), (True, True), (None, None),
        (XlError.DIV0, {"error": "#DIV/0!"}), (math.nan, {"error": "#NUM!"}),
    ])
    def test_values(self, value: CellValue, encoded: object) -> None:
        assert json_value(value) == encoded


class TestText:
    def test_totals_and_sections(self) -> None:
        text = render_text(_report())
        assert text.startswith("model.xlsx: 6 formula cells\n")
        assert "2 match · 1 mismatch · 1 not cached · 1 not computable · 1 volatile · 0 circular"\
            in text
        assert "Mismatches (1)" in text and "=Inputs!A2*10" in text
        assert "cached 100   computed 150   difference 50" in text
        assert "unsupported function: FOOBAR (1): Calc!B2" in text
        assert "Volatile (1)" in text

    def test_largest_difference_first_and_limit(self) -> None:
        wb = Workbook(sheets=[Sheet("S", cells=[Cell(r, 1, 0.0, formula=f"X{r}")
                                                for r in range(1, 31)])])
        results = [Result("S", r, 1, float(r)) for r in range(1, 31)]
        checked = list(compare_results(wb, results))
        report = CheckReport(file="m.xlsx", sha256="", calc=CalcSettings(mode="manual"),
                             tolerance=DEFAULT_TOLERANCE,
                             summary=Summary.of((c.sheet, c.verdict.status) for c in checked),
                             cells=checked, sheet_order=["S"])
        text = render_text(report)
        assert text.index("A30 ") < text.index("A29 ") < text.index("A11 ")
        assert "A10 " not in text and "... and 10 more" in text
        assert "manual calculation" in text
        assert "A1 " in render_text(report, all_cells=True)

    def test_never_calculated(self) -> None:
        wb = Workbook(sheets=[Sheet("S", cells=[Cell(1, 1, None, formula="1+1")])])
        checked = list(compare_results(wb, [Result("S", 1, 1, 2.0)]))
        report = CheckReport(file="m.xlsx", sha256="", calc=CalcSettings(),
                             tolerance=DEFAULT_TOLERANCE,
                             summary=Summary.of((c.sheet, c.verdict.status) for c in checked),
                             cells=checked, sheet_order=["S"])
        assert "never calculated" in render_text(report)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CALCWIRE), *args], capture_output=True, text=True, timeout=300,
                          check=False)


class TestCommandErrors:
    @pytest.mark.parametrize("kind", sorted(badfiles.BAD_FILES))
    def test_unreadable_files_exit_2_with_one_line(self, kind: str, tmp_path: Path) -> None:
        make, reason = badfiles.BAD_FILES[kind]
        path = tmp_path / "upload.xlsx"
        path.write_bytes(make())
        done = _run("check", str(path))
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"[{reason}]" in lines[0], done.stderr
        assert "Traceback" not in done.stderr

    def test_missing_file(self, tmp_path: Path) -> None:
        done = _run("check", str(tmp_path / "nope.xlsx"))
        assert done.returncode == 2 and "[FILE_NOT_FOUND]" in done.stderr

    def test_bad_tolerance(self, tmp_path: Path) -> None:
        path = tmp_path / "m.xlsx"
        path.write_bytes(badfiles.small_workbook())
        done = _run("check", str(path), "--tolerance", "-1")
        assert done.returncode == 2 and "[INVALID_TOLERANCE]" in done.stderr

    def test_help(self) -> None:
        done = _run("check", "--help")
        assert done.returncode == 0 and "--all-cells" in done.stdout


class TestCommandEndToEnd:
    """The real command on generated models: the reader, the engine and the comparison."""

    def test_a_computed_model_matches(self, tmp_path: Path) -> None:
        from calcwire.workbook import write_workbook
        from calcwire.workbook.generate import generate_model, model_shape

        path = tmp_path / "model.xlsx"
        write_workbook(generate_model(2_000), path, shared_formulas=True)
        done = _run("check", "--json", str(path))
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        cells = model_shape(2_000).formula_cells
        assert doc["summary"] == {"formula_cells": cells, "match": cells, "mismatch": 0,
                                  "not_cached": 0, "not_computable": 0, "volatile": 0,
                                  "circular": 0}
        assert doc["cells"] == []
        assert len(doc["sha256"]) == 64

    def test_a_stale_input_is_found_exactly(self, tmp_path: Path) -> None:
        """Change the tax rate, keep Excel's values: the mismatches are exactly its dependents."""
        from calcwire.workbook import write_workbook
        from calcwire.workbook.generate import ModelShape, generate_model

        shape = ModelShape(months=24, products=2)
        workbook = generate_model(shape=shape)
        tax = next(c for c in workbook.sheets[0].cells if (c.row, c.col) == (5, 2))
        tax.value = 0.31
        path = tmp_path / "stale.xlsx"
        write_workbook(workbook, path, shared_formulas=True)

        done = _run("check", "--json", str(path))
        assert done.returncode == 1, done.stderr
        doc = json.loads(done.stdout)
        found = {(c["sheet"], c["cell"]) for c in doc["cells"] if c["status"] == "mismatch"}
        # Tax (row 8) feeds net income (9), cash flow (11), present value (13), equity flow
        # (14), and the summary's NPV, PV sum, IRR, XNPV, total tax and lowest cash flow.
        from calcwire.formula import column_letters

        months = [column_letters(3 + m) for m in range(shape.months)]
        expected = {("Valuation", f"{c}{r}") for c in months for r in (8, 9, 11, 13, 14)}
        expected |= {("Valuation", f"B{r}") for r in (16, 17, 18, 19, 22, 23)}
        assert found == expected
        assert doc["summary"]["mismatch"] == len(expected)

        text = _run("check", str(path))
        assert text.returncode == 1
        assert "Mismatches (" in text.stdout and "=SUM(C8:Z8)" in text.stdout

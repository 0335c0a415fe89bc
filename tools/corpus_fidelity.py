"""Measure the engine's fidelity over the Excel-computed corpus (../shared/corpus).

A stop-gap until the workbook reader lands: it builds
:class:`calcwire.workbook.model.Workbook` objects with openpyxl (formulas
with ``data_only=False``, cached values with ``data_only=True``), computes
them with the engine and compares every cached formula cell with the rule of
issue 3. Prints per-file and total figures.

    .venv/bin/python tools/corpus_fidelity.py [--show N] [--file SUBSTRING]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from calcwire.values import CellValue, XlError
from calcwire.workbook.model import (
    CalcSettings,
    Cell,
    DataTable,
    DefinedName,
    ExternalLink,
    Sheet,
    Workbook,
)

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def _value(v: Any, data_type: str, epoch: dt.datetime) -> CellValue:
    if v is None:
        return None
    if data_type == "e" or (isinstance(v, str) and v in _ERRORS):
        try:
            return XlError(str(v))
        except ValueError:
            return str(v)
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, dt.datetime | dt.date | dt.time | dt.timedelta):
        return float(to_excel(v, epoch))
    return str(v)


_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!"}


def load_with_openpyxl(path: Path) -> Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wbf = openpyxl.load_workbook(path, data_only=False)
        wbv = openpyxl.load_workbook(path, data_only=True)
    epoch = wbf.epoch
    sheets: list[Sheet] = []
    names: list[DefinedName] = []
    for dn in wbf.defined_names.values():
        names.append(DefinedName(dn.name, dn.attr_text or "", None, bool(dn.hidden)))
    for ws in wbf.worksheets:
        wsv = wbv[ws.title]
        cells: list[Cell] = []
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is None:
                    continue
                cached = _value(wsv[c.coordinate].value, wsv[c.coordinate].data_type, epoch)
                if isinstance(v, ArrayFormula):
                    text = (v.text or "").removeprefix("=")
                    cells.append(Cell(c.row, c.column, cached, text, array_ref=v.ref))
                elif isinstance(v, DataTableFormula):
                    d = dict(v)
                    table = DataTable(
                        ref=d["ref"],
                        two_dimensional=d.get("dt2D") in ("1", "true"),
                        row_input=d.get("dtr") in ("1", "true"),
                        r1=d.get("r1"),
                        r2=d.get("r2"),
                    )
                    cells.append(Cell(c.row, c.column, cached, "TABLE()", data_table=table))
                elif c.data_type == "f" or (isinstance(v, str) and v.startswith("=")):
                    cells.append(Cell(c.row, c.column, cached, str(v)[1:]))
                else:
                    cells.append(Cell(c.row, c.column, _value(v, c.data_type, epoch)))
        for dn in ws.defined_names.values():
            names.append(DefinedName(dn.name, dn.attr_text or "", ws.title, bool(dn.hidden)))
        sheets.append(Sheet(ws.title, ws.sheet_state, ws.dimensions, cells))
    links: list[ExternalLink] = []
    for i, el in enumerate(getattr(wbf, "_external_links", []), start=1):
        eb = el.externalBook
        sheet_names = list(eb.sheetNames.sheetName) if eb.sheetNames else []
        ext_cells: dict[str, dict[str, CellValue]] = {}
        if eb.sheetDataSet is not None:
            for sd in eb.sheetDataSet.sheetData:
                if sd.sheetId is None or int(sd.sheetId) >= len(sheet_names):
                    continue
                target = ext_cells.setdefault(sheet_names[int(sd.sheetId)], {})
                for r in sd.row or []:
                    for ec in r.cell or []:
                        if ec.v is None:
                            continue
                        if ec.t == "e":
                            target[ec.r] = _value(ec.v, "e", epoch)
                        elif ec.t in ("s", "str"):
                            target[ec.r] = str(ec.v)
                        elif ec.t == "b":
                            target[ec.r] = ec.v in ("1", "true", True)
                        else:
                            target[ec.r] = float(ec.v)
        ext_names = [
            DefinedName(n.name, n.refersTo or "", None) for n in (eb.definedNames or [])
        ]
        target = el.file_link.Target if el.file_link is not None else ""
        links.append(ExternalLink(i, target, sheet_names, ext_cells, ext_names))
    calc = wbf.calculation
    settings = CalcSettings(
        mode=calc.calcMode or "auto",
        iterate=bool(calc.iterate),
        iterate_count=int(calc.iterateCount or 100),
        iterate_delta=float(calc.iterateDelta or 0.001),
        full_calc_on_load=bool(calc.fullCalcOnLoad),
    )
    return Workbook(sheets, names, settings, links, date1904=epoch.year == 1904)


def values_match(cached: CellValue, computed: CellValue) -> bool:
    """The comparison rule of issue 3."""
    if cached is None or cached == "":
        return computed is None or computed == ""
    if type(cached) is bool or type(computed) is bool:
        return type(cached) is type(computed) and cached == computed
    if isinstance(cached, int | float):
        if not isinstance(computed, int | float):
            return False
        if math.isnan(computed):
            return False
        return abs(computed - cached) <= 1e-6 + 1e-9 * abs(cached)
    return type(cached) is type(computed) and cached == computed


def main() -> int:
    from eval_svc.engine import compile_workbook

    ap = argparse.ArgumentParser()
    ap.add_argument("--show", type=int, default=0, help="print up to N mismatches per file")
    ap.add_argument("--file", default="", help="only files whose path contains this")
    args = ap.parse_args()
    files = sorted(p for p in CORPUS.rglob("*.xls*") if args.file in str(p))
    total = matched = 0
    worst: list[tuple[float, str, int, int]] = []
    t_all = time.perf_counter()
    for path in files:
        rel = str(path.relative_to(CORPUS))
        wb = load_with_openpyxl(path)
        cached = {
            (s.name, c.row, c.col): c.value
            for s in wb.sheets
            for c in s.cells
            if c.formula is not None and c.value is not None
        }
        t0 = time.perf_counter()
        try:
            model = compile_workbook(wb)
            results = model.calculate()
        except Exception:
            traceback.print_exc()
            print(f"CRASH {rel}")
            total += len(cached)
            worst.append((0.0, rel, 0, len(cached)))
            continue
        elapsed = time.perf_counter() - t0
        n = ok = 0
        bad: list[str] = []
        for r in results:
            key = (r.sheet, r.row, r.col)
            if key not in cached:
                continue
            n += 1
            if values_match(cached[key], r.value):
                ok += 1
            elif len(bad) < args.show:
                from calcwire.formula import column_letters

                formula = next(
                    c.formula for s in wb.sheets if s.name == r.sheet for c in s.cells if (c.row, c.col) == (r.row, r.col)
                )
                bad.append(
                    f"    {r.sheet}!{column_letters(r.col)}{r.row} ={formula[:90]} cached={cached[key]!r} "
                    f"computed={r.value!r} {r.status} {r.reason or ''}"
                )
        total += n
        matched += ok
        share = ok / n if n else 1.0
        worst.append((share, rel, ok, n))
        print(f"{share:8.2%} {ok:6d}/{n:<6d} {elapsed:6.2f}s {rel}")
        for line in bad:
            print(line)
    print(f"TOTAL {matched}/{total} = {matched / max(total, 1):.4%} in {time.perf_counter() - t_all:.1f}s")
    worst.sort()
    print("worst:", ", ".join(f"{rel} {ok}/{n}" for share, rel, ok, n in worst[:8] if share < 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``calcwire check FILE``: read a workbook, recompute every formula, compare with Excel's values.

Everything runs in-process, with no servers: :func:`check_file` reads the file
(:func:`calcwire.workbook.read_workbook`), computes it with the engine
(``eval_svc.engine``, imported only here because it is heavy) and classifies
each formula cell with :mod:`validation_svc.compare`. :func:`render_text` and
:func:`report_json` turn the result into what the command prints.

Exit status: 0 when no formula cell mismatches, 1 when some do, 2 when the file
cannot be read or an option is wrong (one line on stderr says why), 3 when
calcwire itself fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from calcwire.formula import column_letters
from calcwire.values import CellValue, XlError
from calcwire.workbook import CalcSettings, Cell, Workbook, read_workbook
from validation_svc.compare import (
    DEFAULT_TOLERANCE,
    Status,
    StatusCounts,
    Summary,
    Tolerance,
    Verdict,
    caches_logicals_as_numbers,
    classify,
)

__all__ = [
    "CheckReport",
    "CheckedCell",
    "check_file",
    "compare_results",
    "register",
    "render_text",
    "report_json",
]

EXIT_MATCH: Final = 0
EXIT_MISMATCH: Final = 1
_PER_SHEET_LIMIT: Final = 20
_FORMULA_WIDTH: Final = 60


class EngineResult(Protocol):
    """What the engine says about one formula cell (``eval_svc.engine.CellResult``)."""

    @property
    def sheet(self) -> str: ...
    @property
    def row(self) -> int: ...
    @property
    def col(self) -> int: ...
    @property
    def value(self) -> CellValue: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def volatile(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CheckedCell:
    """One formula cell with its cached and computed values and its verdict."""

    sheet: str
    row: int
    col: int
    formula: str
    cached: CellValue
    computed: CellValue
    verdict: Verdict

    @property
    def address(self) -> str:
        return f"{column_letters(self.col)}{self.row}"


@dataclass(slots=True)
class CheckReport:
    """The outcome of a check: counts for every formula cell, and the cells kept."""

    file: str
    sha256: str
    calc: CalcSettings
    tolerance: Tolerance
    summary: Summary
    cells: list[CheckedCell] = field(default_factory=list)
    cached_formula_cells: int = 0
    cached_matches: int = 0
    sheet_order: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- the check


def check_file(path: str | os.PathLike[str], tolerance: Tolerance = DEFAULT_TOLERANCE, *,
               keep_matches: bool = False) -> CheckReport:
    """Read, compute and compare one workbook file.

    The report keeps the cells that do not match (every formula cell with
    ``keep_matches``). Raises :class:`~calcwire.errors.InvalidWorkbook` when the
    file cannot be read.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    workbook = read_workbook(path)
    digest = _sha256(path)
    timings["read"] = time.perf_counter() - start

    start = time.perf_counter()
    from eval_svc.engine import compile_workbook  # the engine is heavy: only when checking

    model = compile_workbook(workbook)
    results = model.calculate()
    timings["compute"] = time.perf_counter() - start

    start = time.perf_counter()
    # Counted per (sheet, status) and summed once; a CheckedCell is made only for the
    # cells the report keeps (with 50,000 matching cells, that is most of the work saved).
    counts: dict[tuple[str, Status], int] = {}
    cells = []
    cached = cached_matches = 0
    for sheet, cell, computed, verdict in _verdicts(workbook, results, tolerance):
        status = verdict.status
        counts[sheet, status] = counts.get((sheet, status), 0) + 1
        if cell.value is not None:
            cached += 1
            cached_matches += status is Status.MATCH
        if keep_matches or status is not Status.MATCH:
            cells.append(CheckedCell(sheet, cell.row, cell.col, cell.formula or "", cell.value,
                                     computed, verdict))
    summary = Summary()
    for (sheet, status), count in counts.items():
        summary.totals.add(status, count)
        summary.sheets.setdefault(sheet, StatusCounts()).add(status, count)
    timings["compare"] = time.perf_counter() - start
    return CheckReport(
        file=os.fspath(path), sha256=digest, calc=workbook.calc, tolerance=tolerance,
        summary=summary, cells=cells, sheet_order=[s.name for s in workbook.sheets],
        timings=timings, cached_formula_cells=cached, cached_matches=cached_matches,
    )


def compare_results(workbook: Workbook, results: Iterable[EngineResult],
                    tolerance: Tolerance = DEFAULT_TOLERANCE) -> Iterator[CheckedCell]:
    """Every formula cell of ``workbook``, in workbook order, with the verdict on its result.

    The engine gives its results in the same order; a formula cell it left out
    is reported as not computable rather than dropped. Files saved by
    LibreOffice cache logicals as numbers, and are compared accordingly.
    """
    for sheet, cell, computed, verdict in _verdicts(workbook, results, tolerance):
        yield CheckedCell(sheet, cell.row, cell.col, cell.formula or "", cell.value, computed,
                          verdict)


def _verdicts(workbook: Workbook, results: Iterable[EngineResult], tolerance: Tolerance
              ) -> Iterator[tuple[str, Cell, CellValue, Verdict]]:
    """:func:`compare_results` as (sheet, cell, computed value, verdict)."""
    logicals_as_numbers = caches_logicals_as_numbers(workbook.application)
    by_position: dict[tuple[str, int, int], EngineResult] | None = None
    pending = iter(results)
    for sheet, cell in _formula_cells(workbook):
        result: EngineResult | None
        if by_position is None:
            result = next(pending, None)
            if result is None or (result.sheet, result.row, result.col) != (
                    sheet, cell.row, cell.col):
                # Out of step: match the rest by position instead.
                by_position = {(r.sheet, r.row, r.col): r for r in pending}
                if result is not None:
                    by_position[(result.sheet, result.row, result.col)] = result
                result = by_position.get((sheet, cell.row, cell.col))
        else:
            result = by_position.get((sheet, cell.row, cell.col))
        if result is None:
            verdict = Verdict(Status.NOT_COMPUTABLE, "the engine gave no result for this cell")
            computed: CellValue = None
        else:
            computed = result.value
            verdict = classify(cached=cell.value, computed=computed, engine_status=result.status,
                               reason=result.reason, volatile=result.volatile,
                               tolerance=tolerance, logicals_as_numbers=logicals_as_numbers)
        yield sheet, cell, computed, verdict


def _formula_cells(workbook: Workbook) -> Iterator[tuple[str, Cell]]:
    for sheet in workbook.sheets:
        for cell in sheet.cells:
            if cell.formula is not None:
                yield sheet.name, cell


def _sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- JSON


def json_value(value: CellValue) -> Any:
    """A cell value in the JSON schema: number, string, boolean, null or ``{"error": code}``."""
    if isinstance(value, XlError):
        return {"error": value.code}
    if isinstance(value, float) and not math.isfinite(value):
        return {"error": "#NUM!"}  # Excel has no infinities or NaN: it would show #NUM!
    return value


def report_json(report: CheckReport) -> dict[str, Any]:
    """The ``--json`` document (its schema is in the README)."""
    return {
        "file": report.file,
        "sha256": report.sha256,
        "summary": report.summary.totals.as_dict(),
        "cells": [
            {
                "sheet": c.sheet,
                "cell": c.address,
                "formula": "=" + c.formula,
                "cached": json_value(c.cached),
                "computed": json_value(c.computed),
                "status": c.verdict.status.value,
                "reason": c.verdict.reason,
            }
            for c in report.cells
        ],
    }


# --------------------------------------------------------------------------- text


def render_text(report: CheckReport, *, all_cells: bool = False) -> str:
    """What ``calcwire check`` prints: totals, then mismatches by sheet, then the rest."""
    limit = None if all_cells else _PER_SHEET_LIMIT
    totals = report.summary.totals
    out = [
        f"{os.path.basename(report.file)}: {totals.formula_cells:,} formula cells",
        "  " + " · ".join(f"{getattr(totals, s.value):,} {s.value.replace('_', ' ')}"
                          for s in Status),
    ]
    if report.calc.mode == "manual":
        out.append("  saved in manual calculation mode: cached values may be stale")
    elif report.calc.mode == "autoNoTable":
        out.append("  saved with automatic calculation except Data Tables: "
                   "Data Table values may be stale")
    if totals.formula_cells and totals.not_cached == totals.formula_cells:
        out.append("  no formula has a cached value: the file was never calculated in Excel")

    by_status: dict[Status, list[CheckedCell]] = defaultdict(list)
    for cell in report.cells:
        by_status[cell.verdict.status].append(cell)

    if by_status[Status.MISMATCH]:
        out += ["", f"Mismatches ({totals.mismatch:,}), largest difference first:"]
        out += _by_sheet(report, by_status[Status.MISMATCH], limit, with_values=True)
    if by_status[Status.NOT_COMPUTABLE]:
        out += ["", f"Not computable ({totals.not_computable:,}):"]
        out += _by_reason(by_status[Status.NOT_COMPUTABLE], limit)
    if by_status[Status.CIRCULAR]:
        out += ["", f"Circular references ({totals.circular:,}), not iterated by the file:"]
        out += _by_reason(by_status[Status.CIRCULAR], limit)
    if by_status[Status.VOLATILE]:
        out += ["", (f"Volatile ({totals.volatile:,}): they differ, as volatile functions "
                    "(NOW, RAND, OFFSET...) may:")]
        out += _by_sheet(report, by_status[Status.VOLATILE], limit, with_values=True)
    if all_cells and by_status[Status.MATCH]:
        out += ["", f"Matches ({totals.match:,}):"]
        out += _by_sheet(report, by_status[Status.MATCH], None, with_values=True)
    if report.timings:
        out += ["", " · ".join(f"{k} {v:.2f} s" for k, v in report.timings.items())]
    return "\n".join(out) + "\n"


def _by_sheet(report: CheckReport, cells: list[CheckedCell], limit: int | None, *,
              with_values: bool) -> list[str]:
    groups: dict[str, list[CheckedCell]] = defaultdict(list)
    for cell in cells:
        groups[cell.sheet].append(cell)
    lines = []
    for sheet in [s for s in report.sheet_order if s in groups] + sorted(
            set(groups) - set(report.sheet_order)):
        group = sorted(groups[sheet], key=lambda c: (-(c.verdict.difference or 0.0), c.row, c.col))
        lines.append(f"  {sheet} ({len(group):,})")
        for cell in group[:limit]:
            line = f"    {cell.address:<8} {_formula(cell.formula)}"
            if with_values:
                line += (f"\n             cached {_show(cell.cached)}   computed "
                         f"{_show(cell.computed)}")
                if cell.verdict.difference not in (None, 0.0, math.inf):
                    line += f"   difference {_show(cell.verdict.difference)}"
            lines.append(line)
        if limit is not None and len(group) > limit:
            lines.append(f"    ... and {len(group) - limit:,} more "
                         "(--all-cells or --json lists them all)")
    return lines


def _reason_group(reason: str | None) -> str:
    """The engine names the cell a failure comes from ("depends on circular Sheet1!B3"):
    group those by kind, so that one broken cell does not make a group per dependent."""
    if not reason:
        return "no reason given"
    for kind in ("depends on not computable", "depends on circular"):
        if reason.startswith(kind + " "):
            return f"{kind} cells"
    return reason


def _by_reason(cells: list[CheckedCell], limit: int | None) -> list[str]:
    groups: dict[str, list[CheckedCell]] = defaultdict(list)
    for cell in cells:
        groups[_reason_group(cell.verdict.reason)].append(cell)
    lines = []
    for reason, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(f"{_sheet_ref(c.sheet)}!{c.address}" for c in group[:limit or None])
        more = f", ... and {len(group) - limit:,} more" if limit and len(group) > limit else ""
        lines.append(f"  {reason} ({len(group):,}): {shown}{more}")
    return lines


def _sheet_ref(name: str) -> str:
    if name.replace("_", "").isalnum():
        return name
    return "'" + name.replace("'", "''") + "'"


def _formula(text: str) -> str:
    text = "=" + text
    return text if len(text) <= _FORMULA_WIDTH else text[: _FORMULA_WIDTH - 3] + "..."


def _show(value: CellValue | float | None) -> str:
    if value is None:
        return "(empty)"
    if value is True or value is False:
        return "TRUE" if value else "FALSE"
    if isinstance(value, XlError):
        return value.code
    if isinstance(value, (int, float)):
        return f"{value:.15g}"
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- the command


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="recompute a workbook in-process and report the cells whose saved values are wrong",
        description="Read an .xlsx/.xlsm workbook, recompute every formula and compare with "
                    "the values Excel saved. Exit status: 0 when nothing mismatches, 1 when "
                    "something does, 2 when the file cannot be read.",
    )
    parser.add_argument("file", metavar="FILE", help="the workbook (.xlsx or .xlsm)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (schema in the README)")
    parser.add_argument("--all-cells", action="store_true",
                        help="list every formula cell, not only those that do not match")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE.absolute,
                        metavar="T", help="absolute tolerance for numbers (default 1e-6); "
                                          "numbers match when |computed - cached| <= "
                                          "T + R * |cached|")
    parser.add_argument("--relative-tolerance", type=float, default=DEFAULT_TOLERANCE.relative,
                        metavar="R", help="relative tolerance for numbers (default 1e-9)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tolerance = Tolerance(absolute=args.tolerance, relative=args.relative_tolerance)
    report = check_file(args.file, tolerance, keep_matches=args.all_cells)
    if args.json:
        json.dump(report_json(report), sys.stdout, ensure_ascii=False, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(report, all_cells=args.all_cells))
    return EXIT_MISMATCH if report.summary.totals.mismatch else EXIT_MATCH

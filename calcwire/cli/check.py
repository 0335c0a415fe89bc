"""``calcwire check FILE``: read a workbook, recompute every formula, compare with Excel's values.

Everything runs in-process, with no servers: :func:`check_file` reads the file
(:func:`calcwire.workbook.read_workbook`), computes it with the engine
(``eval_svc.engine``, imported only here because it is heavy) and classifies
each formula cell with :mod:`validation_svc.compare`. :mod:`calcwire.cli.report`
(shared with ``calcwire import``) turns the result into what the command prints.

Exit status: 0 when no formula cell mismatches, 1 when some do, 2 when the file
cannot be read or an option is wrong (one line on stderr says why), 3 when
calcwire itself fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Final, Protocol

from calcwire.cli.report import CheckedCell, CheckReport, json_value, render_text, report_json
from calcwire.values import CellValue
from calcwire.workbook import Cell, Workbook, read_workbook
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
    "json_value",
    "register",
    "render_text",
    "report_json",
]

EXIT_MATCH: Final = 0
EXIT_MISMATCH: Final = 1


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

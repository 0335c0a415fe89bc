"""The outcome of a validation as ``calcwire`` shows it, in one layout for every command.

``calcwire check`` (in-process) and ``calcwire import`` (through the services)
both fill a :class:`CheckReport`; :func:`render_text` and :func:`report_json`
turn it into what they print, so a stale workbook reads the same either way.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from calcwire.formula import column_letters
from calcwire.values import CellValue, XlError
from calcwire.workbook import CalcSettings
from validation_svc.compare import Status, Summary, Tolerance, Verdict

__all__ = [
    "CheckReport",
    "CheckedCell",
    "json_value",
    "render_text",
    "report_json",
    "show_value",
]

_PER_SHEET_LIMIT: Final = 20
_FORMULA_WIDTH: Final = 60


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
                line += (f"\n             cached {show_value(cell.cached)}   computed "
                         f"{show_value(cell.computed)}")
                if cell.verdict.difference not in (None, 0.0, math.inf):
                    line += f"   difference {show_value(cell.verdict.difference)}"
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


def show_value(value: CellValue | float | None) -> str:
    """A value as the text output shows it: Excel's spelling for logicals and errors."""
    if value is None:
        return "(empty)"
    if value is True or value is False:
        return "TRUE" if value else "FALSE"
    if isinstance(value, XlError):
        return value.code
    if isinstance(value, (int, float)):
        return f"{value:.15g}"
    return json.dumps(value, ensure_ascii=False)



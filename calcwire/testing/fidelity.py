"""Fidelity on Excel-computed workbooks: the share of cached formula values calcwire reproduces.

This is the yardstick of ../shared/corpus/README.md: over the formula cells
that carry a value cached by Excel, how many does calcwire compute to the same
value (numbers within 1e-6 + 1e-9*|cached|, the rest exactly). Used by the
corpus test (which fails below the committed baseline) and by
``make fidelity-baseline`` (which records it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calcwire.cli.check import check_file

__all__ = ["FileFidelity", "corpus_files", "format_row", "load_baseline", "measure_file",
           "totals", "write_baseline"]


@dataclass(slots=True)
class FileFidelity:
    """One workbook's figures; ``error`` is set when calcwire crashed or refused it."""

    file: str
    formula_cells: int = 0
    cached: int = 0
    match: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    @property
    def fidelity(self) -> float:
        return self.match / self.cached if self.cached else 1.0


def corpus_files(root: Path) -> list[Path]:
    """Every workbook under ``root``, in a stable order."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm"))


def measure_file(path: Path, root: Path) -> FileFidelity:
    """Check one workbook; any exception becomes the figure's ``error`` (a crash)."""
    name = path.relative_to(root).as_posix()
    try:
        report = check_file(path)
    except Exception as exc:  # noqa: BLE001 - a crash on any file is what is measured
        return FileFidelity(name, error=f"{type(exc).__name__}: {exc}")
    totals_ = report.summary.totals
    return FileFidelity(
        file=name,
        formula_cells=totals_.formula_cells,
        cached=report.cached_formula_cells,
        match=report.cached_matches,
        statuses={k: v for k, v in totals_.as_dict().items() if k != "formula_cells" and v},
        seconds=sum(report.timings.values()),
    )


def totals(figures: Iterable[FileFidelity]) -> FileFidelity:
    """All files together, each cell weighted alike."""
    total = FileFidelity("TOTAL")
    for f in figures:
        total.formula_cells += f.formula_cells
        total.cached += f.cached
        total.match += f.match
        total.seconds += f.seconds
        for k, v in f.statuses.items():
            total.statuses[k] = total.statuses.get(k, 0) + v
    return total


def write_baseline(figures: list[FileFidelity], path: Path) -> None:
    """Record the figures (crashed files are refused: fix them first)."""
    crashed = [f.file for f in figures if f.error]
    if crashed:
        raise SystemExit(f"not writing a baseline while files crash: {crashed}")
    total = totals(figures)
    doc: dict[str, Any] = {
        "rule": "cached formula cells matched / cached formula cells",
        "total": {"match": total.match, "cached": total.cached, "fidelity": total.fidelity},
        "files": {f.file: {"match": f.match, "cached": f.cached, "fidelity": f.fidelity}
                  for f in figures},
    }
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def load_baseline(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"total": {"fidelity": 0.0}, "files": {}}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def format_row(f: FileFidelity) -> str:
    if f.error:
        return f"  CRASH  {f.file}: {f.error}"
    others = ", ".join(f"{k} {v}" for k, v in sorted(f.statuses.items()) if k != "match")
    return (f"  {f.fidelity:7.2%}  {f.match:6,}/{f.cached:<6,} {f.seconds:6.2f}s  {f.file}"
            + (f"  ({others})" if others else ""))

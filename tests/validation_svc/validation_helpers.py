"""What the validation service's tests do again and again: upload and wait for the whole
pipeline, page through results, and make workbooks with known stale cells."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from import_helpers import FINAL, Client

from calcwire.formula import column_letters
from calcwire.jobs.v1 import jobs_pb2
from calcwire.validation.v1 import validation_pb2, validation_pb2_grpc
from calcwire.workbook.model import CalcSettings, Cell, Sheet, Workbook
from calcwire.workbook.writer import workbook_bytes


def job_over(message: jobs_pb2.WatchJobResponse) -> bool:
    return message.job.state in FINAL


@dataclass
class ValidationClient(Client):
    """import_svc's client (upload, watch, cells) plus ValidationService, for one tenant."""

    @property
    def validation(self) -> validation_pb2_grpc.ValidationServiceStub:
        return validation_pb2_grpc.ValidationServiceStub(self.channel)

    async def finished(self, job: str, *, timeout: float = 120) -> list[jobs_pb2.WatchJobResponse]:
        """WatchJob from the start until the job ends."""
        return [m for _, m in await self.watch(job, job_over, timeout=timeout)]

    async def summary(self, model: str) -> validation_pb2.ValidationSummary:
        reply = await self.validation.GetValidationSummary(
            validation_pb2.GetValidationSummaryRequest(model=model), metadata=self.md,
            timeout=30)
        return reply.summary

    async def all_mismatches(self, model: str, *, page_size: int = 1000,
                             sheet: str = "") -> list[validation_pb2.CellResult]:
        out: list[validation_pb2.CellResult] = []
        token = ""
        while True:
            page = await self.validation.ListMismatches(
                validation_pb2.ListMismatchesRequest(parent=model, page_size=page_size,
                                                     page_token=token, sheet=sheet),
                metadata=self.md, timeout=30)
            out.extend(page.results)
            token = page.next_page_token
            if not token:
                return out

    async def all_results(self, model: str, *, page_size: int = 1000,
                          **filters: Any) -> list[validation_pb2.CellResult]:
        out: list[validation_pb2.CellResult] = []
        token = ""
        while True:
            page = await self.validation.ListCellResults(
                validation_pb2.ListCellResultsRequest(parent=model, page_size=page_size,
                                                      page_token=token, **filters),
                metadata=self.md, timeout=30)
            out.extend(page.results)
            token = page.next_page_token
            if not token:
                return out


def key(result: Any) -> tuple[str, int, int]:
    return (result.sheet, result.row, result.column)


# --------------------------------------------------------------------------- stale workbooks

_REF = re.compile(r"(?:(\w+)!)?\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def references(sheet: str, formula: str) -> set[tuple[str, int, int]]:
    """The cells a formula of this module's workbooks reads (ranges expanded): read from
    the formula text, independently of calcwire."""
    out: set[tuple[str, int, int]] = set()
    for m in _REF.finditer(formula):
        on = m.group(1) or sheet
        c1, r1 = _col_number(m.group(2)), int(m.group(3))
        c2, r2 = (_col_number(m.group(4)), int(m.group(5))) if m.group(4) else (c1, r1)
        out |= {(on, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    return out


def dependents(formulas: dict[tuple[str, int, int], str],
               changed: Iterable[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """Every formula cell that reads ``changed``, directly or through other formulas."""
    readers: dict[tuple[str, int, int], set[tuple[str, int, int]]] = {}
    for cell, formula in formulas.items():
        for ref in references(cell[0], formula):
            readers.setdefault(ref, set()).add(cell)
    found: set[tuple[str, int, int]] = set()
    todo = list(changed)
    while todo:
        for reader in readers.get(todo.pop(), ()):
            if reader not in found:
                found.add(reader)
                todo.append(reader)
    return found


@dataclass
class StaleModel:
    """A workbook whose input ``changed`` was edited after Excel last calculated it."""

    data: bytes
    formulas: dict[tuple[str, int, int], str]
    changed: tuple[str, int, int]
    delta: float


def stale_model(n_formulas: int = 300, *, seed: int = 11, manual: bool = True,
                delta: float = 1000.0) -> StaleModel:
    """Inputs!B1:B10 and ``n_formulas`` formulas on Model (columns C:F) that add and scale
    inputs and earlier formulas with positive weights, so that any change to an input
    changes every cell that depends on it. The cached values are computed here for the
    original inputs; then Inputs!B4 is raised by ``delta`` without recalculating."""
    rng = random.Random(seed)
    values: dict[tuple[str, int, int], float] = {("Inputs", r, 2): float(rng.randint(1, 50))
                                                 for r in range(1, 11)}
    formulas: dict[tuple[str, int, int], str] = {}
    model_cells: list[tuple[str, int, int]] = []
    for i in range(n_formulas):
        row, col = i // 4 + 1, 3 + i % 4
        here = ("Model", row, col)
        terms: list[str] = []
        total = 0.0
        for _ in range(rng.randint(1, 3)):
            pick = rng.random()
            if pick < 0.3 or not model_cells:
                r = rng.randint(1, 10)
                terms.append(f"Inputs!B{r}*{rng.randint(1, 3)}")
                total += values[("Inputs", r, 2)] * int(terms[-1].rsplit("*", 1)[1])
            elif pick < 0.4:
                a = rng.randint(1, 8)
                b = a + rng.randint(0, 2)
                terms.append(f"SUM(Inputs!B{a}:B{b})")
                total += sum(values[("Inputs", r, 2)] for r in range(a, b + 1))
            else:
                ref = rng.choice(model_cells[-40:])
                terms.append(f"{column_letters(ref[2])}{ref[1]}")
                total += values[ref]
        formulas[here] = "+".join(terms)
        values[here] = total
        model_cells.append(here)
    changed = ("Inputs", 4, 2)
    inputs = [Cell(r, 2, values[("Inputs", r, 2)] + (delta if ("Inputs", r, 2) == changed else 0))
              for r in range(1, 11)]
    cells = [Cell(k[1], k[2], values[k], formula=f) for k, f in formulas.items()]
    cells.sort(key=lambda c: (c.row, c.col))
    workbook = Workbook(sheets=[Sheet("Inputs", cells=inputs), Sheet("Model", cells=cells)],
                        calc=CalcSettings(mode="manual" if manual else "auto"))
    return StaleModel(workbook_bytes(workbook), formulas, changed, delta)

"""Calculate: what-if answers from a model compiled once and kept in memory.

Cold (the model is not in the cache, or was imported again since): load it
from import_svc, compile and calculate it in a thread, keep it in the
:class:`~eval_svc.cache.ModelCache`. Then, warm or cold, in a thread and under
the model's lock: check every override names one cell, ``set_values`` (only
what the overrides reach is recomputed), read the outputs, and ``reset()`` in
any case, so the cached model is always back at the stored inputs and nothing
is ever written anywhere. Every call asks import_svc for the model first (one
small GetModel): a deleted model answers NOT_FOUND and leaves the cache, and a
model whose version changed is compiled again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from calcwire.errors import InvalidArgument, NotFound
from calcwire.formula import parse_range
from calcwire.logs import get_logger
from calcwire.values import CellValue, XlError
from calcwire.workbook.model import Workbook
from eval_svc.cache import Entry, ModelCache, estimate_bytes
from eval_svc.engine import CompiledModel, EngineError, ReferenceNotFound, compile_workbook
from eval_svc.engine.runtime import Array, Ref
from eval_svc.loader import WorkbookSource

__all__ = ["Answer", "CompiledEntry", "Output", "WhatIf"]

log = get_logger(__name__)

Grid = tuple[tuple[CellValue, ...], ...]
_CellPlace = tuple[str, int, int]  # (sheet name folded, row, col)


@dataclass(frozen=True, slots=True)
class Output:
    """One requested output: a single value, or a range's values (``value`` is its top left)."""

    reference: str
    value: CellValue
    values: Grid | None = None
    not_computable_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    outputs: list[Output]
    recomputed_cells: int
    compute_seconds: float
    warm: bool


@dataclass(slots=True)
class CompiledEntry:
    """A compiled, calculated model and what its full calculation said it could not compute."""

    model: CompiledModel
    workbook: Workbook
    reasons: dict[_CellPlace, str]
    formula_cells: int
    build_seconds: float


def _unknown(reference: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"unknown reference {reference!r}: {why}", reason="UNKNOWN_REFERENCE",
                           metadata={"reference": reference})


def _scalar(value: object) -> CellValue:
    t = type(value)
    if t is int:
        return float(value)  # type: ignore[arg-type]
    if value is None or t in (float, str, bool, XlError):
        return value  # type: ignore[return-value]
    return XlError.VALUE  # a function or something else that is not a cell value


def _shape(found: object) -> tuple[CellValue, Grid | None]:
    """What the engine's ``value()`` returned, as (top left value, all values of a range)."""
    if type(found) is Ref:
        if found.is_cell:
            return _scalar(found.first()), None
        found = found.full_rows()
    elif type(found) is Array:
        found = found.rows
    if isinstance(found, list | tuple):
        grid = tuple(tuple(_scalar(v) for v in row) for row in found)
        if len(grid) == 1 and len(grid[0]) == 1:
            return grid[0][0], None
        return (grid[0][0] if grid and grid[0] else None), grid
    return _scalar(found), None


class WhatIf:
    """Answers Calculate requests for any tenant's models."""

    def __init__(self, source: WorkbookSource, cache: ModelCache[CompiledEntry]) -> None:
        self.source = source
        self.cache = cache

    async def calculate(
        self,
        tenant: str,
        model_id: str,
        overrides: Sequence[tuple[str, CellValue]],
        outputs: Sequence[str],
    ) -> Answer:
        if not outputs:
            raise InvalidArgument("name at least one output (a reference, range or name)",
                                  reason="OUTPUTS_REQUIRED")
        for reference in [r for r, _ in overrides] + list(outputs):
            if not reference.strip():
                raise _unknown(reference, "empty")
        key = (tenant, model_id)
        try:
            info = await self.source.model(tenant, model_id)
        except NotFound:
            self.cache.drop(key)
            raise
        info.require_ready()

        async def build() -> Entry[CompiledEntry]:
            started = time.perf_counter()
            _, workbook = await self.source.load(tenant, model_id)
            compiled = await asyncio.to_thread(_compile, workbook, time.perf_counter() - started)
            cells = sum(len(s.cells) for s in workbook.sheets)
            log.info("model compiled for what-if", model_id=model_id,
                     formula_cells=compiled.formula_cells,
                     seconds=round(compiled.build_seconds, 3))
            return Entry(compiled, info.version, estimate_bytes(cells, compiled.formula_cells))

        entry, warm = await self.cache.get(key, info.version, build)
        compiled = entry.value
        outs, recomputed, seconds = await asyncio.to_thread(_answer, compiled, overrides, outputs)
        if not warm:
            recomputed += compiled.formula_cells
            seconds += compiled.build_seconds
        return Answer(outs, recomputed, seconds, warm)


def _compile(workbook: Workbook, load_seconds: float) -> CompiledEntry:
    started = time.perf_counter()
    model = compile_workbook(workbook)
    results = model.calculate()
    reasons = {
        (r.sheet.casefold(), r.row, r.col): r.reason or r.status
        for r in results if r.status != "computed"
    }
    return CompiledEntry(model, workbook, reasons, len(results),
                         load_seconds + time.perf_counter() - started)


def _answer(
    compiled: CompiledEntry,
    overrides: Sequence[tuple[str, CellValue]],
    outputs: Sequence[str],
) -> tuple[list[Output], int, float]:
    """Overrides in, outputs out, and the model back as it was: (outputs, recomputed, seconds)."""
    model = compiled.model
    with model.lock:
        started = time.perf_counter()
        try:
            for reference, _ in overrides:
                try:
                    model.check_input(reference)
                except ReferenceNotFound as exc:
                    raise _unknown(reference, exc.message) from None
            recomputed = model.set_values(dict(overrides)) if overrides else 0
            answers = [_output(compiled, reference) for reference in outputs]
        finally:
            if overrides:
                model.reset()
        return answers, recomputed, time.perf_counter() - started


def _output(compiled: CompiledEntry, reference: str) -> Output:
    try:
        found = compiled.model.value(reference)
    except ReferenceNotFound as exc:
        raise _unknown(reference, exc.message) from None
    except EngineError as exc:
        return Output(reference, XlError.VALUE, not_computable_reason=exc.message)
    value, grid = _shape(found)
    return Output(reference, value, grid, _reason(compiled, reference))


def _reason(compiled: CompiledEntry, reference: str) -> str | None:
    """Why a cell of the output could not be computed, if one could not."""
    if not compiled.reasons:
        return None
    text = reference.strip().lstrip("=")
    for name in compiled.workbook.names:
        if name.name.casefold() == text.casefold():
            text = name.refers_to
            break
    sheet, _, part = text.rpartition("!")
    sheet = sheet.strip("'").replace("''", "'")
    if not sheet:
        sheet = compiled.workbook.sheets[0].name if compiled.workbook.sheets else ""
    try:
        r1, c1, r2, c2 = parse_range(part.replace("$", ""))
    except ValueError:
        return None
    folded = sheet.casefold()
    for (s, r, c), why in compiled.reasons.items():
        if s == folded and r1 <= r <= r2 and c1 <= c <= c2:
            return why
    return None

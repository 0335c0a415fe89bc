"""The import stage: a stored workbook file -> the model's sheets, names, links and cells.

:func:`parse_workbook` (synchronous, run in a thread) reads the file sheet by
sheet with :class:`~calcwire.workbook.reader.WorkbookReader` and turns each
cell into a compact :data:`~import_svc.domain.CellRow`, so the reader's cell
objects of one row at a time are all that is alive besides the rows.

:class:`Importer` runs the stage for one work order, in PIPELINE.md's order:
check cancel -> RUNNING/PARSING -> download, parse with progress -> WRITING_CELLS:
one transaction that replaces an earlier attempt's rows -> queue evaluation ->
the worker acks. The outcome tells the worker what to do with the message.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from calcwire.errors import InvalidWorkbook
from calcwire.formula import parse_range
from calcwire.job_events import (
    JobCancelled,
    JobError,
    JobProgress,
    JobStage,
    JobState,
)
from calcwire.logs import get_logger, log_context
from calcwire.values import XlError
from calcwire.wire import formula_kind
from calcwire.work import Outcome, WorkOrder, publish_work
from calcwire.workbook.package import PackageLimits
from calcwire.workbook.reader import WorkbookReader
from import_svc.backends import Backends
from import_svc.domain import CellCounts, CellRow, ModelState, ParsedModel, SheetRecord
from import_svc.files import FileMissing
from import_svc.store import ModelGone

__all__ = [
    "PARSE_FAILED",
    "Importer",
    "ParseProgress",
    "parse_workbook",
]

log = get_logger(__name__)

PARSE_FAILED = "WORKBOOK_PARSE_FAILED"


@dataclass(frozen=True, slots=True)
class ParseProgress:
    sheet: str
    sheet_number: int
    sheet_count: int
    cells: int
    fraction: float


def _last_row(dimension: str | None) -> int | None:
    if not dimension:
        return None
    try:
        return parse_range(dimension)[2]
    except ValueError:
        return None


def parse_workbook(
    path: str | Path,
    *,
    limits: PackageLimits,
    report: Callable[[ParseProgress], None] | None = None,
    stop: Callable[[], bool] | None = None,
    report_interval: float = 0.2,
) -> ParsedModel:
    """Read every sheet of the workbook at ``path``.

    Raises :class:`~calcwire.errors.InvalidWorkbook` for a file the reader
    refuses, and :class:`~calcwire.job_events.JobCancelled` as soon as
    ``stop()`` is true (checked every row).
    """
    cells: list[CellRow] = []
    sheets: list[SheetRecord] = []
    numbers = strings = booleans = errors = formulas = 0
    with WorkbookReader(path, limits=limits) as reader:
        total_bytes = sum(s.size for s in reader.sheets) or 1
        done_bytes = 0
        last_report = 0.0
        count = len(reader.sheets)
        for index, info in enumerate(reader.sheets):
            dimension = reader.dimension(info) or ""
            last_row = _last_row(dimension)
            sheet_cells = sheet_formulas = 0
            for row, row_cells in reader.iter_rows(info):
                if stop is not None and stop():
                    raise JobCancelled("stopped while parsing")
                for cell in row_cells:
                    value = cell.value
                    if cell.formula is not None:
                        formulas += 1
                        sheet_formulas += 1
                        kind = formula_kind(cell)
                        array_range = cell.array_ref or (
                            cell.data_table.ref if cell.data_table is not None else None
                        )
                    else:
                        kind, array_range = 0, None
                        t = type(value)
                        if t is float or t is int:
                            numbers += 1
                        elif t is str:
                            strings += 1
                        elif t is bool:
                            booleans += 1
                        elif t is XlError:
                            errors += 1
                    cells.append((index, row, cell.col, value, cell.formula, kind, array_range,
                                  cell.number_format))
                    sheet_cells += 1
                now = time.monotonic()
                if report is not None and now - last_report >= report_interval:
                    last_report = now
                    within = min(row / last_row, 1.0) if last_row else 0.0
                    report(ParseProgress(info.name, index + 1, count, len(cells),
                                         (done_bytes + info.size * within) / total_bytes))
            done_bytes += info.size
            sheets.append(SheetRecord(index, info.name, info.state, dimension, sheet_cells,
                                      sheet_formulas))
            if report is not None:
                report(ParseProgress(info.name, index + 1, count, len(cells),
                                     done_bytes / total_bytes))
        return ParsedModel(
            sheets=sheets,
            names=list(reader.names),
            external_links=list(reader.external_links),
            tables=list(reader.tables),
            application=reader.application,
            calc=reader.calc,
            date1904=reader.date1904,
            counts=CellCounts(
                total=len(cells),
                formulas=formulas,
                numbers=numbers,
                strings=strings,
                booleans=booleans,
                errors=errors,
            ),
            cells=cells,
        )


class Importer:
    """Runs the import stage of a job."""

    def __init__(self, backends: Backends, *, spool_dir: str | None = None) -> None:
        self.store = backends.store
        self.files = backends.files
        self.events = backends.events
        self.js = backends.js
        self.limits = backends.limits
        self.spool_dir = spool_dir

    async def run(self, order: WorkOrder, *, attempt: int, last_attempt: bool) -> Outcome:
        with log_context(job_id=order.job_id, model_id=order.model_id):
            job = await self.events.last(order.job_id)
            if job is None:
                log.warning("import order for a job without events; dropped")
                return Outcome.DONE
            if job.final:
                log.info("job already ended; nothing to do", state=job.state)
                return Outcome.DONE
            model = await self.store.get_model(order.tenant, order.model_id)
            async with JobProgress(self.events, job) as progress:
                if model is None:
                    await progress.finish(
                        JobState.FAILED,
                        "the model was deleted",
                        error=JobError("MODEL_NOT_FOUND", "the model was deleted before its "
                                       "import finished"),
                    )
                    return Outcome.DONE
                if model.state == ModelState.READY and model.import_job_id == order.job_id:
                    # An earlier attempt stored everything but was not acked: only queue on.
                    await self._queue_evaluation(order, progress)
                    return Outcome.DONE
                try:
                    await self._import(order, model.sha256, progress, attempt)
                except JobCancelled:
                    await self.store.set_model_state(order.tenant, order.model_id,
                                                     ModelState.FAILED, unless=ModelState.READY)
                    await progress.finish(JobState.CANCELLED, "cancelled on request")
                    log.info("import cancelled")
                except InvalidWorkbook as exc:
                    await self._fail(order, progress, JobError(
                        PARSE_FAILED, f"{exc.message} [{exc.reason}]"))
                except FileMissing as exc:
                    await self._fail(order, progress, JobError("FILE_MISSING", str(exc)))
                except ModelGone:
                    await progress.finish(
                        JobState.FAILED,
                        "the model was deleted",
                        error=JobError("MODEL_NOT_FOUND", "the model was deleted while it "
                                       "was being imported"),
                    )
                except Exception as exc:
                    if not last_attempt:
                        log.warning("import attempt failed; it will be retried", attempt=attempt,
                                    error=f"{type(exc).__name__}: {exc}")
                        return Outcome.RETRY
                    log.exception("import failed on its last attempt")
                    await self._fail(order, progress, JobError(
                        "MAX_DELIVERIES_EXCEEDED",
                        f"the import failed {attempt} times; last error: {type(exc).__name__}"))
            return Outcome.DONE

    async def _fail(self, order: WorkOrder, progress: JobProgress, error: JobError) -> None:
        await self.store.set_model_state(order.tenant, order.model_id, ModelState.FAILED)
        await progress.finish(JobState.FAILED, "the import failed", error=error)
        log.info("import failed", reason=error.reason, error=error.message)

    async def _import(
        self, order: WorkOrder, sha256: str, progress: JobProgress, attempt: int
    ) -> None:
        await progress.check_cancel()
        again = f" (attempt {attempt})" if attempt > 1 else ""
        await progress.begin(JobStage.PARSING, f"reading the workbook{again}")
        started = time.monotonic()
        with tempfile.NamedTemporaryFile(prefix="calcwire-import-", suffix=".xlsx",
                                         dir=self.spool_dir) as spool:
            await self.files.download(sha256, spool)
            spool.flush()

            def report(p: ParseProgress) -> None:
                progress.report(
                    fraction=p.fraction,
                    message=f"parsing sheet {p.sheet} ({p.sheet_number} of {p.sheet_count}), "
                    f"{p.cells:,} cells{again}",
                )

            abandoned = threading.Event()

            def stop() -> bool:
                return progress.cancelled.is_set() or abandoned.is_set()

            try:
                parsed = await asyncio.to_thread(
                    parse_workbook, spool.name, limits=self.limits, report=report, stop=stop,
                )
            except asyncio.CancelledError:
                abandoned.set()  # shutting down: the thread stops at its next row, not at the end
                raise
        parsed_at = time.monotonic()
        await progress.check_cancel()
        total = len(parsed.cells)
        await progress.advance(JobStage.WRITING_CELLS, f"writing {total:,} cells")

        def written(n: int) -> None:
            progress.report(fraction=n / max(total, 1), message=f"writing cells: {n:,} of {total:,}")

        await self.store.replace_contents(
            order.tenant, order.model_id, parsed, progress=written,
            before_commit=progress.check_cancel,
        )
        log.info("cells stored", cells=total, formulas=parsed.counts.formulas,
                 parse_s=round(parsed_at - started, 3),
                 write_s=round(time.monotonic() - parsed_at, 3))
        await self._queue_evaluation(order, progress)

    async def _queue_evaluation(self, order: WorkOrder, progress: JobProgress) -> None:
        # The event first: the evaluation worker's first event must come after it.
        await progress.hand_over(JobStage.WRITING_CELLS, "cells stored; queued for evaluation")
        await publish_work(self.js, "evaluate", order)

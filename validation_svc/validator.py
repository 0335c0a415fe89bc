"""The validation stage: a model's cached values against its computed values -> stored results.

:class:`Validator` runs the stage for one work order, in the pipeline's order:
job not final -> check cancel -> VALIDATING -> the model (GetModel) -> cells
(StreamCells) and computed values (StreamComputedValues) side by side, each
cell judged (:mod:`validation_svc.checking`) and COPYed in one transaction
that replaces the model's earlier results -> check cancel before commit ->
SUCCEEDED, stage DONE. A cancelled or failed run rolls back: the model keeps
the results it had. The outcome tells the worker what to do with the message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from calcwire.job_events import (
    JobCancelled,
    JobError,
    JobEventLog,
    JobProgress,
    JobStage,
    JobState,
)
from calcwire.logs import get_logger, log_context
from calcwire.work import Outcome, WorkOrder
from validation_svc.checking import OutOfOrder, check_cells
from validation_svc.compare import Tolerance, caches_logicals_as_numbers
from validation_svc.domain import CellResult, ModelGone, NotEvaluated
from validation_svc.sources import Evaluations, Workbooks
from validation_svc.store import ValidationStore
from validation_svc.summary import SummaryBuilder

__all__ = ["Validator", "order_tolerance", "outcome_message"]

log = get_logger(__name__)


def order_tolerance(options: dict[str, Any], default: Tolerance) -> Tolerance:
    """The tolerance an order asks for (``options["tolerance"]``), each part defaulting to
    ``default``'s when absent or 0."""
    raw = options.get("tolerance")
    if not isinstance(raw, dict):
        return default
    absolute = raw.get("absolute") or default.absolute
    relative = raw.get("relative") or default.relative
    return Tolerance(float(absolute), float(relative))


def outcome_message(totals: Any) -> str:
    """The job's final message: the counts a person looks at first."""
    return (f"validated {totals.formula_cells:,} formula cells: {totals.match:,} match, "
            f"{totals.mismatch:,} mismatch, {totals.not_cached:,} not cached, "
            f"{totals.not_computable:,} not computable, {totals.volatile:,} volatile, "
            f"{totals.circular:,} circular")


class Validator:
    """Runs the validation stage of a job."""

    def __init__(self, store: ValidationStore, events: JobEventLog, workbooks: Workbooks,
                 evaluations: Evaluations) -> None:
        self.store = store
        self.events = events
        self.workbooks = workbooks
        self.evaluations = evaluations

    async def run(self, order: WorkOrder, *, attempt: int, last_attempt: bool) -> Outcome:
        with log_context(job_id=order.job_id, model_id=order.model_id):
            job = await self.events.last(order.job_id)
            if job is None:
                log.warning("validate order for a job without events; dropped")
                return Outcome.DONE
            if job.final:
                log.info("job already ended; nothing to do", state=job.state)
                return Outcome.DONE
            async with JobProgress(self.events, job) as progress:
                try:
                    await self._validate(order, progress, attempt)
                except JobCancelled:
                    await progress.finish(JobState.CANCELLED, "cancelled on request")
                    log.info("validation cancelled")
                except ModelGone:
                    await progress.finish(
                        JobState.FAILED, "the model was deleted",
                        error=JobError("MODEL_NOT_FOUND", "the model was deleted before its "
                                       "validation finished"))
                except NotEvaluated:
                    await progress.finish(
                        JobState.FAILED, "the model has no computed values",
                        error=JobError("NOT_EVALUATED", "the model has no computed values to "
                                       "validate: evaluate it first"))
                except Exception as exc:
                    if not last_attempt:
                        log.warning("validation attempt failed; it will be retried",
                                    attempt=attempt, error=f"{type(exc).__name__}: {exc}")
                        return Outcome.RETRY
                    log.exception("validation failed on its last attempt")
                    reason = "RESULTS_OUT_OF_ORDER" if isinstance(exc, OutOfOrder) else \
                        "MAX_DELIVERIES_EXCEEDED"
                    await progress.finish(JobState.FAILED, "the validation failed", error=JobError(
                        reason, f"the validation failed {attempt} times; last error: "
                        f"{type(exc).__name__}"))
            return Outcome.DONE

    async def _validate(self, order: WorkOrder, progress: JobProgress, attempt: int) -> None:
        await progress.check_cancel()
        again = f" (attempt {attempt})" if attempt > 1 else ""
        await progress.begin(JobStage.VALIDATING, f"reading the model{again}")
        started = time.monotonic()
        model = await self.workbooks.get_model(order.tenant, order.model_id)
        tolerance = order_tolerance(order.options, model.tolerance)
        total = model.formula_count
        builder = SummaryBuilder(model.sheets)
        done = [0]

        async def results() -> AsyncIterator[Sequence[CellResult]]:
            cells = self.workbooks.formula_cells(order.tenant, model)
            values = self.evaluations.computed_values(
                order.tenant, order.model_id, {s.name: s.index for s in model.sheets})
            checked = check_cells(cells, values, tolerance,
                                  logicals_as_numbers=caches_logicals_as_numbers(
                                      model.application))
            async for batch in checked:
                if progress.cancelled.is_set():
                    raise JobCancelled(order.job_id)
                await asyncio.to_thread(builder.add, batch)  # CPU work: off the event loop
                done[0] += len(batch)
                progress.report(fraction=done[0] / max(total, 1),
                                message=f"validating: {done[0]:,} of {total:,} formula "
                                f"cells{again}")
                # The sources read ahead, so awaiting them may not suspend: let the
                # progress ticker run between batches.
                await asyncio.sleep(0)
                yield batch

        stored = await self.store.replace_results(
            order.tenant, order.model_id, results(),
            lambda: builder.build(model_id=order.model_id, job_id=order.job_id,
                                  tolerance=tolerance, calc_mode=model.calc_mode,
                                  create_time=datetime.now(UTC)),
            before_commit=progress.check_cancel,
        )
        totals = builder.totals
        log.info("validation stored", cells=stored, mismatch=totals.mismatch,
                 seconds=round(time.monotonic() - started, 3))
        await progress.finish(JobState.SUCCEEDED, outcome_message(totals))

"""The evaluate stage: a stored model -> every formula cell's computed value, stored.

:class:`Evaluator` runs the stage for one work order, in the pipeline's order:
check the job is not over and not cancelled -> BUILDING_GRAPH: load the model
from import_svc (:mod:`eval_svc.loader`) and compile it in a thread ->
COMPUTING: calculate in a thread, "computing n of N cells" -> WRITING_RESULTS:
one transaction that replaces the model's earlier values -> queue validation,
or finish the job SUCCEEDED when the order says not to validate. The outcome
tells the worker what to do with the message.

Cancellation stops a compile or calculation within one engine progress report
(every 50 ms at most): the progress callback raises :class:`_Stopped` once the
job's cancel was seen. It is a ``BaseException`` so that the engine, which
turns any ``Exception`` of a formula into a not computable cell, lets it through.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from nats.js import JetStreamContext

from calcwire.errors import FailedPrecondition, NotFound
from calcwire.job_events import (
    JobCancelled,
    JobError,
    JobEventLog,
    JobProgress,
    JobStage,
    JobState,
)
from calcwire.logs import get_logger, log_context
from calcwire.work import Outcome, WorkOrder, publish_work
from calcwire.workbook.model import Workbook
from eval_svc.domain import EvaluationSummary, Timings
from eval_svc.engine import CellResult, CompiledModel, compile_workbook
from eval_svc.gc_pause import collector_paused
from eval_svc.loader import WorkbookSource
from eval_svc.store import EvaluationStore

__all__ = ["Evaluator"]

log = get_logger(__name__)

_T = TypeVar("_T")
_T_in = TypeVar("_T_in")

# Where each step of BUILDING_GRAPH ends, as a fraction of the stage.
_LOADED, _PARSED = 0.3, 0.7


class _Stopped(BaseException):
    """Ends a compile or calculation in its thread: the job was cancelled, or the worker stops."""


class Evaluator:
    """Runs the evaluate stage of a job."""

    def __init__(
        self,
        source: WorkbookSource,
        store: EvaluationStore,
        events: JobEventLog,
        js: JetStreamContext,
    ) -> None:
        self.source = source
        self.store = store
        self.events = events
        self.js = js

    async def run(self, order: WorkOrder, *, attempt: int, last_attempt: bool) -> Outcome:
        with log_context(job_id=order.job_id, model_id=order.model_id):
            job = await self.events.last(order.job_id)
            if job is None:
                log.warning("evaluate order for a job without events; dropped")
                return Outcome.DONE
            if job.final:
                log.info("job already ended; nothing to do", state=job.state)
                return Outcome.DONE
            async with JobProgress(self.events, job) as progress:
                try:
                    if await self.store.evaluated_by(order.tenant, order.model_id) == order.job_id:
                        # An earlier attempt stored everything but was not acked: only go on.
                        await self._go_on(order, progress)
                        return Outcome.DONE
                    with collector_paused():
                        await self._evaluate(order, progress, attempt)
                except JobCancelled:
                    await progress.finish(JobState.CANCELLED, "cancelled on request")
                    log.info("evaluation cancelled")
                except NotFound:
                    await self.store.delete_model(order.tenant, order.model_id)
                    await progress.finish(
                        JobState.FAILED,
                        "the model was deleted",
                        error=JobError("MODEL_NOT_FOUND",
                                       "the model was deleted before its evaluation finished"),
                    )
                except FailedPrecondition as exc:
                    await progress.finish(JobState.FAILED, "the model cannot be evaluated",
                                          error=JobError(exc.reason, exc.message))
                except Exception as exc:
                    if not last_attempt:
                        log.warning("evaluation attempt failed; it will be retried",
                                    attempt=attempt, error=f"{type(exc).__name__}: {exc}")
                        return Outcome.RETRY
                    log.exception("evaluation failed on its last attempt")
                    await progress.finish(JobState.FAILED, "the evaluation failed", error=JobError(
                        "MAX_DELIVERIES_EXCEEDED",
                        f"the evaluation failed {attempt} times; last error: "
                        f"{type(exc).__name__}"))
            return Outcome.DONE

    async def _evaluate(self, order: WorkOrder, progress: JobProgress, attempt: int) -> None:
        await progress.check_cancel()
        again = f" (attempt {attempt})" if attempt > 1 else ""
        await progress.begin(JobStage.BUILDING_GRAPH, f"loading the model{again}")
        started = time.monotonic()

        def loaded(done: int, total: int) -> None:
            if progress.cancelled.is_set():  # stop the load at this batch
                raise JobCancelled(order.job_id)
            progress.report(fraction=_LOADED * done / max(total, 1),
                            message=f"loading cells: {done:,} of {total:,}{again}")

        info, workbook = await self.source.load(order.tenant, order.model_id, progress=loaded)
        load_s = time.monotonic() - started
        await progress.check_cancel()
        formulas = info.formula_count

        def compiling(step: str, done: int, total: int) -> None:
            low, high = (_LOADED, _PARSED) if step == "parsing" else (_PARSED, 1.0)
            what = "parsing formulas" if step == "parsing" else "building the dependency graph"
            progress.report(fraction=low + (high - low) * done / max(total, 1),
                            message=f"{what}: {done:,} of {total:,}{again}")

        model = await self._in_thread(progress, compiling, _compile, workbook)
        compiled_at = time.monotonic()
        await progress.check_cancel()
        await progress.advance(JobStage.COMPUTING, f"computing {formulas:,} formula cells{again}")

        def computing(step: str, done: int, total: int) -> None:
            progress.report(fraction=done / max(total, 1),
                            message=f"computing {done:,} of {total:,} cells{again}")

        results = await self._in_thread(progress, computing, _calculate, model)
        computed_at = time.monotonic()
        del model  # the graph is not needed for writing; let it go before the COPY
        await progress.check_cancel()
        total = len(results)
        await progress.advance(JobStage.WRITING_RESULTS, f"writing {total:,} computed values")

        def written(n: int) -> None:
            progress.report(fraction=n / max(total, 1),
                            message=f"writing computed values: {n:,} of {total:,}")

        async def before_commit() -> None:
            await progress.check_cancel()
            await self.source.model(order.tenant, order.model_id)  # NotFound if deleted meanwhile

        timings = Timings(load=load_s, compile=compiled_at - started - load_s,
                          compute=computed_at - compiled_at)
        summary = EvaluationSummary.of(order.job_id, results, timings)
        await self.store.replace_results(
            order.tenant, order.model_id, [s.name for s in workbook.sheets], results,
            summary, progress=written, before_commit=before_commit,
        )
        log.info("computed values stored", formula_cells=total, computed=summary.computed,
                 not_computable=summary.not_computable, circular=summary.circular,
                 load_s=round(load_s, 3), compile_s=round(timings.compile, 3),
                 compute_s=round(timings.compute, 3),
                 write_s=round(time.monotonic() - computed_at, 3))
        await self._go_on(order, progress)

    async def _go_on(self, order: WorkOrder, progress: JobProgress) -> None:
        """Queue validation, or end the job when the order does not validate."""
        if order.options.get("validate", True):
            # The event first: the validation worker's first event must come after it.
            await progress.hand_over(JobStage.WRITING_RESULTS,
                                     "computed values stored; queued for validation")
            await publish_work(self.js, "validate", order)
        else:
            await progress.finish(JobState.SUCCEEDED, "evaluated (validation not requested)")

    @staticmethod
    async def _in_thread(
        progress: JobProgress,
        report: Callable[[str, int, int], None],
        work: Callable[[Callable[[str, int, int], None], _T_in], _T],
        arg: _T_in,
    ) -> _T:
        """``work(callback, arg)`` in a thread; the callback reports, and raises
        :class:`_Stopped` once the job is cancelled or the worker gives up on the thread."""
        abandoned = threading.Event()

        def callback(step: str, done: int, total: int) -> None:
            if progress.cancelled.is_set() or abandoned.is_set():
                raise _Stopped
            report(step, done, total)

        try:
            return await asyncio.to_thread(work, callback, arg)
        except _Stopped:
            raise JobCancelled(progress.job.job_id) from None
        except asyncio.CancelledError:
            abandoned.set()  # shutting down: the thread stops at its next report
            raise



def _compile(report: Callable[[str, int, int], None], workbook: Workbook) -> CompiledModel:
    return compile_workbook(workbook, progress=report)


def _calculate(report: Callable[[str, int, int], None], model: CompiledModel) -> list[CellResult]:
    return model.calculate(progress=report)

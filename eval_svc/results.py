"""EvaluateModel and StreamComputedValues: new evaluation jobs, and the stored values.

EvaluateModel checks the model (import_svc's GetModel: NOT_FOUND for a missing
or another tenant's model, FAILED_PRECONDITION ``MODEL_NOT_READY`` while it
imports), records a new EVALUATE job's first event, and queues the evaluate
stage with the model's ``validate`` and tolerance. ``request_id`` makes it
idempotent: the same id from the same tenant returns the first call's job.

StreamComputedValues reads what the latest evaluation stored, after asking
import_svc whether the model still exists for the tenant: the values of a
deleted model are removed, not served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from nats.js import JetStreamContext

from calcwire.errors import FailedPrecondition, InvalidArgument, NotFound
from calcwire.job_events import JobEvent, JobEventLog, JobKind, JobState, new_job
from calcwire.logs import get_logger, log_context
from calcwire.names import new_id
from calcwire.paging import page_size
from calcwire.work import WorkOrder, publish_work
from eval_svc.domain import StoredValue
from eval_svc.loader import ModelInfo, WorkbookSource
from eval_svc.store import EvaluationStore, RequestTaken

__all__ = ["STREAM_BATCH", "Evaluations"]

log = get_logger(__name__)

STREAM_BATCH: Final = (1000, 10_000)
"""StreamComputedValues batch size: default, largest."""


def _order(job_id: str, tenant: str, info: ModelInfo) -> WorkOrder:
    return WorkOrder(
        job_id=job_id,
        tenant=tenant,
        model_id=info.model_id,
        kind=JobKind.EVALUATE,
        options={
            "validate": info.validate,
            "tolerance": {"absolute": info.tolerance[0], "relative": info.tolerance[1]},
        },
    )


class Evaluations:
    """Evaluation jobs and stored values of models."""

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

    async def start(self, tenant: str, model_id: str, request_id: str = "") -> JobEvent:
        """A new EVALUATE job on the model, queued; the first one's for a replayed request_id."""
        info = await self.source.model(tenant, model_id)
        info.require_ready()
        job_id = new_id()
        if request_id:
            try:
                owner = await self.store.claim_request(tenant, request_id, model_id, job_id)
            except RequestTaken:
                raise InvalidArgument(
                    "this request_id was already used for another model",
                    reason="REQUEST_ID_REUSED",
                ) from None
            if owner != job_id:
                earlier = await self.events.last(owner)
                if earlier is not None:
                    if earlier.state == JobState.QUEUED:  # its order may not have been queued
                        await publish_work(self.js, "evaluate", _order(owner, tenant, info))
                    return earlier
                job_id = owner  # the first call stopped before its job's first event: start it
        created = new_job(job_id, tenant=tenant, model_id=model_id, kind=JobKind.EVALUATE,
                          message="queued for evaluation")
        with log_context(job_id=job_id, model_id=model_id):
            await self.events.publish(created)
            await publish_work(self.js, "evaluate", _order(job_id, tenant, info))
            log.info("evaluation queued")
        return created

    async def stream(
        self, tenant: str, model_id: str, batch: int
    ) -> AsyncIterator[list[StoredValue]]:
        """The stored values in sheet order, then row, column; NOT_EVALUATED when none are."""
        try:
            await self.source.model(tenant, model_id)
        except NotFound:
            await self.store.delete_model(tenant, model_id)
            raise
        size = page_size(batch, default=STREAM_BATCH[0], maximum=STREAM_BATCH[1])
        if await self.store.evaluated_by(tenant, model_id) is None:
            raise FailedPrecondition(
                f"model models/{model_id} has not been evaluated yet",
                reason="NOT_EVALUATED",
            )
        async for results in self.store.stream_results(tenant, model_id, size):
            yield results

"""ValidateModel: a new VALIDATE job for a model that has computed values, queued at once.

The model must exist for the tenant (NOT_FOUND otherwise) and have been
evaluated (FAILED_PRECONDITION ``NOT_EVALUATED``). The tolerance is the
request's, each part defaulting to the model's when 0; a negative or
non-finite one is INVALID_ARGUMENT ``INVALID_TOLERANCE``. ``request_id`` makes
the call idempotent: the same id from the same tenant answers with the first
call's job and queues nothing new.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from nats.js import JetStreamContext

from calcwire.errors import FailedPrecondition, InvalidArgument
from calcwire.job_events import JobEvent, JobEventLog, JobKind, JobStage, JobState, new_job
from calcwire.logs import get_logger, log_context
from calcwire.names import new_id
from calcwire.work import WorkOrder, publish_work
from validation_svc.compare import Tolerance
from validation_svc.domain import ModelGone, NotEvaluated
from validation_svc.results import model_not_found
from validation_svc.sources import Evaluations, Workbooks
from validation_svc.store import ValidationStore

__all__ = ["ValidationJobs", "requested_tolerance"]

log = get_logger(__name__)


def requested_tolerance(absolute: float, relative: float, model: Tolerance) -> Tolerance:
    """The tolerance a request asks for: 0 means the model's; negative or NaN is refused."""
    for name, value in (("absolute", absolute), ("relative", relative)):
        if not math.isfinite(value) or value < 0:
            raise InvalidArgument(f"the {name} tolerance must be a finite number >= 0, "
                                  f"not {value!r}", reason="INVALID_TOLERANCE")
    return Tolerance(absolute or model.absolute, relative or model.relative)


class ValidationJobs:
    """Starts validation jobs on request."""

    def __init__(self, store: ValidationStore, events: JobEventLog, js: JetStreamContext,
                 workbooks: Workbooks, evaluations: Evaluations) -> None:
        self.store = store
        self.events = events
        self.js = js
        self.workbooks = workbooks
        self.evaluations = evaluations

    async def start(self, tenant: str, model_id: str, tolerance: tuple[float, float],
                    request_id: str) -> JobEvent:
        """Queue a validation of the model; the job as it is once queued."""
        # Refuse a bad tolerance before anything else, whatever the model.
        requested_tolerance(*tolerance, Tolerance())
        if request_id:
            earlier = await self._earlier(tenant, request_id)
            if earlier is not None:
                return earlier
        try:
            model = await self.workbooks.get_model(tenant, model_id)
            await self.evaluations.evaluated(tenant, model_id)
        except ModelGone:
            raise model_not_found(model_id) from None
        except NotEvaluated:
            raise FailedPrecondition(
                f"model models/{model_id} has not been evaluated yet: it can be validated once "
                "its evaluation has finished", reason="NOT_EVALUATED") from None
        chosen = requested_tolerance(*tolerance, model.tolerance)
        job_id = new_id()
        now = datetime.now(UTC)
        order = WorkOrder(job_id, tenant, model_id, JobKind.VALIDATE, options={
            "validate": True,
            "tolerance": {"absolute": chosen.absolute, "relative": chosen.relative},
        })
        with log_context(job_id=job_id, model_id=model_id):
            if request_id and not await self.store.record_request(request_id, order, now):
                earlier = await self._earlier(tenant, request_id)  # a concurrent call won
                if earlier is not None:
                    return earlier
            created = new_job(job_id, tenant=tenant, model_id=model_id, kind=JobKind.VALIDATE,
                              stage=JobStage.VALIDATING, message="queued for validation",
                              create_time=now)
            await self.events.publish(created)
            await publish_work(self.js, "validate", order)
            log.info("validation queued", tolerance=[chosen.absolute, chosen.relative])
        return created

    async def _earlier(self, tenant: str, request_id: str) -> JobEvent | None:
        """The job of an earlier call with ``request_id``; queued again if it never was."""
        order = await self.store.find_request(tenant, request_id)
        if order is None:
            return None
        job = await self.events.last(order.job_id)
        if job is None:
            # The first call stopped between recording the id and queuing the job.
            job = new_job(order.job_id, tenant=tenant, model_id=order.model_id,
                          kind=JobKind.VALIDATE, stage=JobStage.VALIDATING,
                          message="queued for validation")
            await self.events.publish(job)
            await publish_work(self.js, "validate", order)
        elif job.state == JobState.QUEUED:
            await publish_work(self.js, "validate", order)  # a duplicate unless it was lost
        return job

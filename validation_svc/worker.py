"""validation_svc's JetStream consumer: message <-> domain, ack / nak / progress.

The durable pull consumer ``validation-worker`` on ``calcwire.work.validate``
(several replicas share it). The message is kept "in progress" while the
stage runs, so only a dead worker's message is delivered again.
"""

from __future__ import annotations

from nats.aio.msg import Msg

from calcwire.logs import get_logger
from calcwire.messaging import keep_in_progress
from calcwire.work import WorkOrder, is_last_delivery
from validation_svc.validator import Outcome, Validator

__all__ = ["ValidationWorker"]

log = get_logger(__name__)


class ValidationWorker:
    """Handles one ``calcwire.work.validate`` message (see :func:`calcwire.messaging.consume`)."""

    def __init__(self, validator: Validator, *, ack_wait: float) -> None:
        self.validator = validator
        self.ack_wait = ack_wait

    async def handle(self, msg: Msg) -> None:
        try:
            order = WorkOrder.from_json(msg.data)
        except ValueError as exc:
            log.error("not a work order; dropped", error=str(exc))
            await msg.term()
            return
        attempt = int(msg.metadata.num_delivered)
        async with keep_in_progress(msg, every=self.ack_wait / 3):
            outcome = await self.validator.run(
                order, attempt=attempt, last_attempt=is_last_delivery(msg)
            )
        if outcome is Outcome.RETRY:
            await msg.nak(delay=min(2.0**attempt, 30.0))

"""eval_svc's JetStream consumer: message <-> domain, ack / nak / progress.

The evaluate worker is the durable pull consumer ``eval-worker`` on
``calcwire.work.evaluate`` (several replicas share it); the message is kept
"in progress" while the evaluation runs, so only a dead worker's message is
delivered again.
"""

from __future__ import annotations

from nats.aio.msg import Msg

from calcwire.logs import get_logger
from calcwire.messaging import keep_in_progress
from calcwire.work import WorkOrder, is_last_delivery
from eval_svc.evaluator import Evaluator, Outcome

__all__ = ["EvalWorker"]

log = get_logger(__name__)


class EvalWorker:
    """Handles one ``calcwire.work.evaluate`` message (see :func:`calcwire.messaging.consume`)."""

    def __init__(self, evaluator: Evaluator, *, ack_wait: float) -> None:
        self.evaluator = evaluator
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
            outcome = await self.evaluator.run(
                order, attempt=attempt, last_attempt=is_last_delivery(msg)
            )
        if outcome is Outcome.RETRY:
            await msg.nak(delay=min(2.0**attempt, 30.0))

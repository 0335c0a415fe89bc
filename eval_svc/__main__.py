"""``python -m eval_svc``: EvaluationService and the evaluate worker.

- servicer (not with CALCWIRE_ROLE=worker): ``calcwire.evaluation.v1.EvaluationService``
  (EvaluateModel, Calculate with its cache of compiled models, StreamComputedValues),
  covered by health and reflection;
- worker (not with CALCWIRE_ROLE=server): the ``eval-worker`` consumer of
  ``calcwire.work.evaluate`` and the MAX_DELIVERIES advisory listener of the
  evaluate stage.

Models and cells come from import_svc (``CALCWIRE_IMPORT_TARGET``) over the
internal channel; computed values go to schema ``evaluation``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from calcwire.evaluation.v1 import evaluation_pb2_grpc
from calcwire.internal_client import internal_channel
from calcwire.job_events import JobEventLog
from calcwire.messaging import consume
from calcwire.server import Registry, Runtime, ServiceSpec, main
from calcwire.work import StageWorker, fail_exhausted_orders
from eval_svc.cache import ModelCache
from eval_svc.evaluator import Evaluator
from eval_svc.loader import WorkbookSource
from eval_svc.results import Evaluations
from eval_svc.server import EvaluationServicer
from eval_svc.store import EvaluationStore
from eval_svc.whatif import CompiledEntry, WhatIf

__all__ = ["SPEC", "setup"]


async def setup(runtime: Runtime, registry: Registry) -> None:
    settings = runtime.settings
    js = runtime.require_jetstream()
    assert runtime.nats is not None
    nc = runtime.nats
    store = EvaluationStore(runtime.require_pool())
    events = await JobEventLog.open(js)
    workbooks = internal_channel(settings, settings.import_target)
    registry.add_cleanup(workbooks.close)
    source = WorkbookSource(workbooks)

    cache: ModelCache[CompiledEntry] = ModelCache(settings.eval_cache_mb * 1024 * 1024)
    registry.add_servicer(
        "calcwire.evaluation.v1.EvaluationService",
        evaluation_pb2_grpc.add_EvaluationServiceServicer_to_server,
        EvaluationServicer(Evaluations(source, store, events, js), WhatIf(source, cache)),
    )

    worker = StageWorker(Evaluator(source, store, events, js), ack_wait=settings.ack_wait_seconds)

    async def eval_worker(stopping: asyncio.Event) -> None:
        await consume(js, "evaluate", worker.handle, stopping)

    async def exhausted_evaluations(stopping: asyncio.Event) -> None:
        await fail_exhausted_orders(nc, js, "evaluate", stopping)

    registry.add_worker("eval-worker", eval_worker)
    registry.add_worker("eval-exhausted", exhausted_evaluations)


SPEC = ServiceSpec(
    name="eval_svc",
    schema="evaluation",
    migrations=Path(__file__).parent / "migrations",
    setup=setup,
)

if __name__ == "__main__":
    main(SPEC)

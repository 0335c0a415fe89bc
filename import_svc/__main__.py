"""``python -m import_svc``: WorkbookService and JobService, the import worker, the job history.

- servicers (not with CALCWIRE_ROLE=worker): ``calcwire.workbooks.v1.WorkbookService``
  and ``calcwire.jobs.v1.JobService``, covered by health and reflection; cells
  carry validation results asked of validation_svc (CALCWIRE_VALIDATION_TARGET);
- worker (not with CALCWIRE_ROLE=server): the ``import-worker`` consumer and
  the MAX_DELIVERIES advisory listener of the import stage;
- background, whatever the role: the ``job-history`` projection and the
  retention sweep (CALCWIRE_JOB_RETENTION_DAYS).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from calcwire.internal_client import internal_channel
from calcwire.job_events import JobError, JobEventLog
from calcwire.jobs.v1 import jobs_pb2_grpc
from calcwire.messaging import consume
from calcwire.server import Registry, Runtime, ServiceSpec, main
from calcwire.work import StageWorker, WorkOrder, fail_exhausted_orders
from calcwire.workbook.package import PackageLimits
from calcwire.workbooks.v1 import workbooks_pb2_grpc
from import_svc.backends import Backends
from import_svc.catalog import Catalog
from import_svc.domain import ModelState
from import_svc.files import WorkbookFiles
from import_svc.importer import Importer
from import_svc.jobs import Jobs
from import_svc.results import ValidationResults
from import_svc.server import JobServicer, WorkbookServicer
from import_svc.store import WorkbookStore
from import_svc.upload import Uploads
from import_svc.worker import (
    ensure_history_consumer,
    run_projection,
    run_retention,
)

__all__ = ["SPEC", "setup"]


async def setup(runtime: Runtime, registry: Registry) -> None:
    settings = runtime.settings
    js = runtime.require_jetstream()
    assert runtime.nats is not None
    nc = runtime.nats
    store = WorkbookStore(runtime.require_pool())
    files = await WorkbookFiles.open(js)
    events = await JobEventLog.open(js)
    limits = PackageLimits(max_file_bytes=settings.max_upload_bytes)
    jobs = Jobs(store, events)
    await ensure_history_consumer(js, ack_wait=settings.ack_wait_seconds)

    validation = internal_channel(settings, settings.validation_target)
    registry.add_cleanup(validation.close)
    backends = Backends(store=store, files=files, events=events, js=js, limits=limits)
    uploads = Uploads(backends)
    registry.add_servicer(
        "calcwire.workbooks.v1.WorkbookService",
        workbooks_pb2_grpc.add_WorkbookServiceServicer_to_server,
        WorkbookServicer(uploads, Catalog(store, files, events, ValidationResults(validation))),
    )
    registry.add_servicer(
        "calcwire.jobs.v1.JobService",
        jobs_pb2_grpc.add_JobServiceServicer_to_server,
        JobServicer(jobs, runtime.stopping),
    )

    importer = Importer(backends)
    worker = StageWorker(importer, ack_wait=settings.ack_wait_seconds)

    async def model_failed(order: WorkOrder, error: JobError) -> None:
        await store.set_model_state(order.tenant, order.model_id, ModelState.FAILED,
                                    unless=ModelState.READY)

    async def import_worker(stopping: asyncio.Event) -> None:
        await consume(js, "import", worker.handle, stopping)

    async def exhausted_imports(stopping: asyncio.Event) -> None:
        await fail_exhausted_orders(nc, js, "import", stopping, on_failed=model_failed)

    async def projection(stopping: asyncio.Event) -> None:
        await run_projection(js, jobs, stopping)

    async def retention(stopping: asyncio.Event) -> None:
        await run_retention(jobs, settings.job_retention_days, stopping)

    registry.add_worker("import-worker", import_worker)
    registry.add_worker("import-exhausted", exhausted_imports)
    registry.add_background("job-history", projection)
    registry.add_background("job-retention", retention)


SPEC = ServiceSpec(
    name="import_svc",
    schema="workbooks",
    migrations=Path(__file__).parent / "migrations",
    setup=setup,
)

if __name__ == "__main__":
    main(SPEC)

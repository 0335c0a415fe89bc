"""Uploads: bytes in, checked, stored once, a model and its job recorded, the import queued.

:func:`receive_file` takes the chunks as they arrive: it hashes them (SHA-256),
refuses the file as soon as it grows past the limit (never after), and spools
them to a temporary file that stays in memory only while it is small.
:class:`Uploads` then screens the file (zip, OOXML, encryption, .xls, bombs,
unsafe XML) before anything is queued, stores it in the object store under
its hash (unless the same bytes are there already), records the model and
the job, publishes the job's first events and the import order, and returns.

``request_id`` makes an upload idempotent: a second upload with the same id
from the same tenant answers with the first one's model and job and creates
nothing; two at once are settled by a unique index, and the loser answers
with the winner's model.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, BinaryIO, cast

from calcwire.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from calcwire.job_events import (
    JobEvent,
    JobKind,
    JobStage,
    JobState,
    new_job,
    stage_percent,
)
from calcwire.logs import get_logger, log_context
from calcwire.names import new_id
from calcwire.wire import DEFAULT_TOLERANCE
from calcwire.work import WorkOrder, publish_work
from calcwire.workbook.package import inspect_stream
from import_svc.backends import Backends
from import_svc.domain import ModelRecord, ModelState
from import_svc.store import UploadRecord

__all__ = [
    "SPOOL_MEMORY_BYTES",
    "ReceivedFile",
    "UploadRequest",
    "UploadResult",
    "Uploads",
    "receive_file",
]

log = get_logger(__name__)

MIB = 1024 * 1024
SPOOL_MEMORY_BYTES = 8 * MIB
"""Files up to this size stay in memory while they are checked and stored."""


def _too_large(limit: int, what: str) -> ResourceExhausted:
    return ResourceExhausted(
        f"{what} is over the upload limit of {limit / MIB:g} MiB ({limit:,} bytes)",
        reason="FILE_TOO_LARGE",
        metadata={"limit_bytes": str(limit)},
    )


@dataclass(slots=True)
class ReceivedFile:
    """An uploaded file's bytes (spooled), size and SHA-256, and when it finished arriving."""

    data: IO[bytes]
    size: int
    sha256: str
    started: datetime
    finished: datetime
    seconds: float

    def close(self) -> None:
        self.data.close()


async def receive_file(
    chunks: AsyncIterator[bytes],
    *,
    limit: int,
    spool_dir: str | None = None,
) -> ReceivedFile:
    """Take the file's chunks as they come; raise FILE_TOO_LARGE the moment it passes ``limit``."""
    started, clock = datetime.now(UTC), time.monotonic()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, dir=spool_dir)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, f"the file (more than {size:,} bytes so far)")
            digest.update(chunk)
            if size > SPOOL_MEMORY_BYTES:
                await asyncio.to_thread(spool.write, chunk)
            else:
                spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return ReceivedFile(spool, size, digest.hexdigest(), started, datetime.now(UTC),
                        time.monotonic() - clock)


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """What the uploader said about the file (the metadata message)."""

    tenant: str
    file_name: str
    display_name: str = ""
    request_id: str = ""
    validate: bool = True
    tolerance: tuple[float, float] = (0.0, 0.0)
    expected_size: int = 0


@dataclass(frozen=True, slots=True)
class UploadResult:
    model: ModelRecord
    job: JobEvent


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / 1024:.1f} KiB"


class Uploads:
    """Turns received files into models and queued import jobs."""

    def __init__(self, backends: Backends) -> None:
        self.store = backends.store
        self.files = backends.files
        self.events = backends.events
        self.js = backends.js
        self.limits = backends.limits

    @property
    def max_bytes(self) -> int:
        return self.limits.max_file_bytes

    async def before_bytes(self, request: UploadRequest) -> UploadResult | None:
        """What can be decided from the metadata alone: a replayed request_id gets its first
        answer (the bytes need not be read), an announced size over the limit is refused."""
        if request.expected_size < 0:
            raise InvalidArgument("expected_size_bytes must not be negative",
                                  reason="INVALID_ARGUMENT")
        if request.request_id:
            earlier = await self._earlier(request)
            if earlier is not None:
                return earlier
        if request.expected_size > self.max_bytes:
            raise _too_large(self.max_bytes, f"the file ({request.expected_size:,} bytes)")
        return None

    async def accept(self, request: UploadRequest, received: ReceivedFile) -> UploadResult:
        """Screen, store and record an uploaded file; queue its import."""
        if received.size > self.max_bytes:  # receive_file enforces it; a second line of defence
            raise _too_large(self.max_bytes, "the file")
        if request.expected_size and received.size != request.expected_size:
            # grpcio's asyncio server ends the request stream of a cancelled call as if the
            # client had finished: an announced size is how a cut-short upload is told apart.
            raise InvalidArgument(
                f"the upload announced {request.expected_size:,} bytes but carried "
                f"{received.size:,}: it was cut short (or the size was wrong)",
                reason="INCOMPLETE_UPLOAD",
            )
        await asyncio.to_thread(inspect_stream, cast(BinaryIO, received.data), received.size,
                                self.limits)

        model_id, job_id = new_id(), new_id()
        now = datetime.now(UTC)
        tolerance = (request.tolerance[0] or DEFAULT_TOLERANCE[0],
                     request.tolerance[1] or DEFAULT_TOLERANCE[1])
        file_name = request.file_name or "workbook.xlsx"
        model = ModelRecord(
            model_id=model_id,
            tenant=request.tenant,
            display_name=request.display_name or file_name,
            file_name=file_name,
            sha256=received.sha256,
            size_bytes=received.size,
            state=ModelState.IMPORTING,
            validate=request.validate,
            tolerance=tolerance,
            import_job_id=job_id,
            create_time=now,
            update_time=now,
        )
        created = new_job(
            job_id,
            tenant=request.tenant,
            model_id=model_id,
            kind=JobKind.IMPORT,
            stage=JobStage.UPLOADING,
            message=f"received {_size(received.size)} in {received.seconds:.1f} s, "
            f"SHA-256 {received.sha256[:12]}",
            create_time=now,
        )
        stored = {"new": False}

        async def store_file() -> None:
            if not await self.files.exists(received.sha256):
                await self.files.put(received.sha256, received.data)
                stored["new"] = True

        with log_context(model_id=model_id, job_id=job_id):
            recorded = await self.store.record_upload(
                UploadRecord(model, created, request.request_id or None), store_file
            )
            if recorded is None:  # the request_id was taken meanwhile
                earlier = await self._earlier(request)
                if earlier is None:
                    raise FailedPrecondition("an upload with this request_id was deleted",
                                             reason="REQUEST_ID_REUSED")
                return earlier
            job = await self._start(model, created, stored_new=bool(stored["new"]))
            log.info("workbook uploaded", size=received.size, sha256=received.sha256,
                     stored=bool(stored["new"]))
            return UploadResult(model, job)

    async def _start(self, model: ModelRecord, created: JobEvent, *, stored_new: bool) -> JobEvent:
        """Publish the job's first events and queue the import."""
        await self.events.publish(created)
        storing = created.next(
            stage=JobStage.STORING,
            percent=stage_percent(JobStage.STORING, 1.0),
            message="file stored" if stored_new else "file already stored (same bytes as "
            "an earlier upload)",
        )
        await self.events.publish(storing)
        await publish_work(self.js, "import", _import_order(model))
        return storing

    async def _earlier(self, request: UploadRequest) -> UploadResult | None:
        """The answer of the first upload with ``request.request_id``, if there was one.

        If that upload stopped between recording its job and queuing it (its
        events are missing), it is started again here; queuing is idempotent.
        """
        model = await self.store.find_upload(request.tenant, request.request_id)
        if model is None:
            return None
        job = await self.events.last(model.import_job_id)
        if job is None:
            stored = await self.store.get_job(request.tenant, model.import_job_id)
            if stored is None:
                return None
            job = await self._start(model, stored, stored_new=False)
        elif job.state == JobState.QUEUED:
            await publish_work(self.js, "import", _import_order(model))
        return UploadResult(model, job)


def _import_order(model: ModelRecord) -> WorkOrder:
    return WorkOrder(
        job_id=model.import_job_id,
        tenant=model.tenant,
        model_id=model.model_id,
        kind=JobKind.IMPORT,
        options={
            "validate": model.validate,
            "tolerance": {"absolute": model.tolerance[0], "relative": model.tolerance[1]},
        },
    )

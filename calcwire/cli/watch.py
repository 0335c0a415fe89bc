"""Following a job to its end, for ``calcwire import`` and ``calcwire jobs watch``.

``WatchJob`` replays a job's events from the start and then follows it live.
When the stream breaks (UNAVAILABLE: the gateway or import_svc restarting, the
network), :func:`follow_job` calls again, asking only for the events after the
last one seen and skipping any it gets twice, for up to
:data:`RECONNECT_SECONDS`.

Ctrl-C while following asks on the terminal whether to cancel the job
(``CancelJob`` on yes); either way the command ends with exit status 130
(:class:`Interrupted`). Without a terminal to ask on, the job is left running.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import grpc

from calcwire import errors
from calcwire.cli.client import Connection, ServiceFailure, domain_error
from calcwire.cli.output import StageProgress, job_line
from calcwire.jobs.v1 import jobs_pb2

__all__ = [
    "FINAL_STATES",
    "INPUT_FAILURES",
    "RECONNECT_SECONDS",
    "Interrupted",
    "follow_job",
    "interrupt_asks_to_cancel",
    "job_outcome",
]

FINAL_STATES: Final = frozenset(
    {jobs_pb2.JOB_STATE_SUCCEEDED, jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED}
)
#: How long a broken stream is retried before the command gives up (exit 3).
RECONNECT_SECONDS: Final = 60.0
_RETRY_PAUSE: Final = (0.2, 0.5, 1.0, 2.0)
#: Reasons of a failed job that its input caused (exit status 2, not 3).
INPUT_FAILURES: Final = frozenset({"WORKBOOK_PARSE_FAILED", "MODEL_NOT_FOUND"})


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while following a job, once the job was cancelled or left running as asked
    (a KeyboardInterrupt: the command line ends with exit status 130)."""


@contextmanager
def interrupt_asks_to_cancel(connection: Connection, name: str,
                             progress: StageProgress) -> Iterator[None]:
    """Ctrl-C inside asks whether to cancel the job ``name``, then raises :class:`Interrupted`."""
    try:
        yield
    except Interrupted:
        raise  # asked already, by an inner block
    except KeyboardInterrupt:
        progress.close()
        _ask_to_cancel(connection, name)
        raise Interrupted(name) from None


def follow_job(connection: Connection, name: str, progress: StageProgress) -> jobs_pb2.Job:
    """The job ``name`` once it has ended, showing its progress on the way."""
    with interrupt_asks_to_cancel(connection, name, progress):
        return _follow(connection, name, progress)


def _follow(connection: Connection, name: str, progress: StageProgress) -> jobs_pb2.Job:
    last_sequence = 0
    job: jobs_pb2.Job | None = None
    broken_since: float | None = None
    attempt = 0
    while True:
        call = connection.jobs.WatchJob(
            jobs_pb2.WatchJobRequest(name=name, after_sequence=last_sequence),
            metadata=connection.metadata,
        )
        try:
            for message in _messages(call):
                broken_since, attempt = None, 0
                if message.event.sequence and message.event.sequence <= last_sequence:
                    continue  # replayed: already shown
                last_sequence = message.event.sequence or last_sequence
                job = message.job
                progress.update(job)
                if job.state in FINAL_STATES:
                    call.cancel()
                    progress.close()
                    return job
        except KeyboardInterrupt:
            call.cancel()
            raise
        except grpc.RpcError as error:
            if not isinstance(error, grpc.Call) or error.code() != grpc.StatusCode.UNAVAILABLE:
                raise domain_error(error, connection.target) from None
            now = time.monotonic()
            broken_since = broken_since or now
            if now - broken_since > RECONNECT_SECONDS:
                raise domain_error(error, connection.target) from None
            pause = _RETRY_PAUSE[min(attempt, len(_RETRY_PAUSE) - 1)]
            attempt += 1
            progress.line(f"lost the job's progress stream ({error.details()}); "
                          f"reconnecting in {pause:g} s")
            time.sleep(pause)
            continue
        # The stream ended without a final state (a server that stopped cleanly).
        if job is not None and job.state in FINAL_STATES:
            return job
        broken_since = broken_since or time.monotonic()
        if time.monotonic() - broken_since > RECONNECT_SECONDS:
            raise ServiceFailure(f"the progress stream of {name} keeps ending early",
                                 reason="WATCH_ENDED")
        time.sleep(_RETRY_PAUSE[0])


def _messages(call: grpc.Call) -> Iterator[jobs_pb2.WatchJobResponse]:
    """The stream's messages, read by a daemon thread.

    So Ctrl-C reaches this (the main) thread while it waits on a queue, never
    in the middle of gRPC's own code: a KeyboardInterrupt raised there could
    leave the channel unable to make the CancelJob call or to close (seen: the
    command hung in ``Channel.close`` after the user answered yes).
    """
    out: queue.Queue[tuple[str, Any]] = queue.Queue()

    def read() -> None:
        try:
            for message in call:  # type: ignore[attr-defined]
                out.put(("message", message))
            out.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            out.put(("error", exc))

    threading.Thread(target=read, name="watch-job", daemon=True).start()
    try:
        while True:
            try:
                kind, item = out.get(timeout=0.25)
            except queue.Empty:
                continue
            if kind == "message":
                yield item
            elif kind == "end":
                return
            else:
                raise item
    finally:
        call.cancel()


def _ask_to_cancel(connection: Connection, name: str) -> None:
    if not sys.stdin.isatty():
        print(f"\ninterrupted; {name} keeps running (calcwire jobs watch {name}, "
              f"calcwire jobs cancel {name})", file=sys.stderr)
        return
    try:
        sys.stderr.write(f"\ncancel the job {name}? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
    except KeyboardInterrupt:
        answer = ""
    if answer not in ("y", "yes"):
        print(f"{name} keeps running (calcwire jobs watch {name})", file=sys.stderr)
        return
    try:
        response = connection.jobs.CancelJob(
            jobs_pb2.CancelJobRequest(name=name), metadata=connection.metadata,
            timeout=connection.timeout,
        )
    except grpc.RpcError as error:
        raise domain_error(error, connection.target) from None
    print(f"cancel requested: {job_line(response.job)}", file=sys.stderr)


def job_outcome(job: jobs_pb2.Job, what: str = "") -> None:
    """Nothing for a job that succeeded; else the error that says how it ended: the
    input's fault (exit 2) for :data:`INPUT_FAILURES`, a service failure (3) otherwise,
    including a job cancelled by someone else."""
    if job.state == jobs_pb2.JOB_STATE_SUCCEEDED:
        return
    name = f"{job.name} ({what})" if what else job.name
    if job.state == jobs_pb2.JOB_STATE_CANCELLED:
        raise ServiceFailure(f"{name} was cancelled", reason="JOB_CANCELLED")
    reason = job.error.reason or "JOB_FAILED"
    message = f"{name} failed: {job.error.message or 'no reason given'}"
    if reason in INPUT_FAILURES:
        raise errors.InvalidArgument(message, reason=reason)
    raise ServiceFailure(message, reason=reason)

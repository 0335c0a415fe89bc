"""What every command that calls the services shares: options, the channel, errors.

The commands talk to the gateway only, with grpcio's blocking client (its
asyncio client can lose the status of a client stream the server ends early,
grpc/grpc#36066, and a command line has nothing to do concurrently anyway).

Options every such command takes (:func:`connection_options`): ``--target``
(``CALCWIRE_TARGET``, default ``localhost:50051``), ``--api-key``
(``CALCWIRE_API_KEY``), ``--tls`` / ``--ca-cert FILE`` (``CALCWIRE_CA_CERT``)
for a gateway that speaks TLS, ``--timeout`` for each call, ``--json`` and
``--quiet``.

A failed call becomes a domain error (:func:`rpc_errors`), which
:mod:`calcwire.cli.main` prints as one line with the ErrorInfo reason and turns
into the exit status:

==========================================================  ======  ==================
gRPC status                                                 exit    meaning
==========================================================  ======  ==================
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,                2       the caller must
FAILED_PRECONDITION, OUT_OF_RANGE, UNAUTHENTICATED,                 change something
PERMISSION_DENIED, RESOURCE_EXHAUSTED FILE_TOO_LARGE
UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN,           3       the service failed
UNIMPLEMENTED, RESOURCE_EXHAUSTED (rate, uploads), others            or is out of reach
==========================================================  ======  ==================
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Self

import grpc

from calcwire import errors
from calcwire.evaluation.v1 import evaluation_pb2_grpc
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2_grpc
from calcwire.validation.v1 import validation_pb2_grpc
from calcwire.workbooks.v1 import workbooks_pb2_grpc

__all__ = [
    "DEFAULT_TARGET",
    "Connection",
    "ServiceFailure",
    "connect",
    "connection_options",
    "domain_error",
    "job_ref",
    "model_ref",
    "rpc_errors",
]

DEFAULT_TARGET: Final = "localhost:50051"
_DEFAULT_TIMEOUT: Final = 60.0
# Pages of 10,000 cells can pass gRPC's default 4 MiB; the services send up to 8 MiB.
_MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024

_CALLER_CODES: Final = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.OUT_OF_RANGE: errors.InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
}
# RESOURCE_EXHAUSTED reasons that only a different input can fix.
_CALLER_LIMITS: Final = frozenset({"FILE_TOO_LARGE"})


class ServiceFailure(errors.Unavailable):
    """The service failed, or could not be reached: exit status 3 (retrying may help)."""


def connection_options() -> argparse.ArgumentParser:
    """A parent parser with the options of every command that calls the gateway."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--target", default=os.environ.get("CALCWIRE_TARGET") or DEFAULT_TARGET,
        metavar="HOST:PORT", help="the gateway (default: CALCWIRE_TARGET, else %(default)s)",
    )
    group.add_argument(
        "--api-key", default=os.environ.get("CALCWIRE_API_KEY") or None, metavar="KEY",
        help="the API key (default: CALCWIRE_API_KEY)",
    )
    group.add_argument(
        "--tls", action="store_true",
        help="speak TLS to the gateway, verifying it against the system's CAs",
    )
    group.add_argument(
        "--ca-cert", default=os.environ.get("CALCWIRE_CA_CERT") or None, metavar="FILE",
        help="speak TLS, verifying the gateway against this PEM CA (default: CALCWIRE_CA_CERT)",
    )
    group.add_argument(
        "--timeout", type=float, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
        help="deadline of each call (default %(default)g; uploads and watching have none)",
    )
    group.add_argument("--json", action="store_true",
                       help="print one JSON document on stdout (schemas in the README)")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress on stderr")
    return common


@dataclass
class Connection:
    """A channel to the gateway and the call metadata carrying the API key."""

    target: str
    api_key: str | None = None
    ca_cert: str | None = None
    tls: bool = False
    timeout: float = _DEFAULT_TIMEOUT
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        options = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ]
        if self.ca_cert or self.tls:
            roots = None
            if self.ca_cert:
                try:
                    roots = Path(self.ca_cert).read_bytes()
                except OSError as exc:
                    raise errors.InvalidArgument(
                        f"cannot read the CA certificate {self.ca_cert}: {exc.strerror or exc}",
                        reason="CA_CERT_UNREADABLE",
                    ) from None
            credentials = grpc.ssl_channel_credentials(root_certificates=roots)
            self.channel = grpc.secure_channel(self.target, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(self.target, options=options)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Connection:
        if args.timeout <= 0:
            raise errors.InvalidArgument("--timeout must be more than 0 seconds",
                                         reason="INVALID_TIMEOUT")
        return cls(target=args.target, api_key=args.api_key, ca_cert=args.ca_cert,
                   tls=args.tls, timeout=args.timeout)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else ()

    @property
    def workbooks(self) -> workbooks_pb2_grpc.WorkbookServiceStub:
        return workbooks_pb2_grpc.WorkbookServiceStub(self.channel)  # type: ignore[no-untyped-call]

    @property
    def jobs(self) -> jobs_pb2_grpc.JobServiceStub:
        return jobs_pb2_grpc.JobServiceStub(self.channel)  # type: ignore[no-untyped-call]

    @property
    def evaluation(self) -> evaluation_pb2_grpc.EvaluationServiceStub:
        return evaluation_pb2_grpc.EvaluationServiceStub(self.channel)  # type: ignore[no-untyped-call]

    @property
    def validation(self) -> validation_pb2_grpc.ValidationServiceStub:
        return validation_pb2_grpc.ValidationServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Close the channel, waiting at most a few seconds: a command must end even if
        gRPC cannot shut a channel down cleanly (the process exit finishes the job)."""
        closing = threading.Thread(target=self.channel.close, name="close-channel", daemon=True)
        closing.start()
        closing.join(timeout=3.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def connect(args: argparse.Namespace) -> Iterator[Connection]:
    """The connection the options describe, closed afterwards; failed calls made
    inside become domain errors (:func:`rpc_errors`)."""
    with Connection.from_args(args) as connection, rpc_errors(connection.target):
        yield connection


def domain_error(error: grpc.RpcError, target: str) -> errors.CalcwireError:
    """The domain error that says what a failed call means for the person or script."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    reason = error_reason(error) or code.name
    details = error.details() if isinstance(error, grpc.Call) else None
    message = " ".join((details or "").split()) or code.name.lower().replace("_", " ")
    caller = _CALLER_CODES.get(code)
    if caller is not None:
        return caller(message, reason=reason)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and reason in _CALLER_LIMITS:
        return errors.ResourceExhausted(message, reason=reason)
    if code is grpc.StatusCode.UNAVAILABLE and reason == "UNAVAILABLE":
        message = f"cannot reach calcwire at {target}: {message}"
    elif code is grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"no answer from {target} in time (--timeout): {message}"
    elif code is grpc.StatusCode.UNIMPLEMENTED:
        message = f"{target} does not serve this yet: {message}"
    return ServiceFailure(message, reason=reason)


@contextmanager
def rpc_errors(target: str) -> Iterator[None]:
    """Failed calls inside become domain errors (see the module's table)."""
    try:
        yield
    except grpc.RpcError as error:
        raise domain_error(error, target) from None


def model_ref(text: str) -> str:
    """``models/{id}`` from a model name or a bare id (the server checks the id)."""
    return text if text.startswith("models/") else f"models/{text}"


def job_ref(text: str) -> str:
    """``jobs/{id}`` from a job name or a bare id."""
    return text if text.startswith("jobs/") else f"jobs/{text}"

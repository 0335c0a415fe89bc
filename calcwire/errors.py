"""Domain errors: what can go wrong, with a machine-readable reason.

Domain code raises these and knows nothing of gRPC; ``calcwire.grpc_errors``
maps each class to a gRPC status code with a ``google.rpc.ErrorInfo`` carrying
the reason, in one place. The CLI maps them to exit statuses.

::

    CalcwireError                 reason: UPPER_SNAKE, message: for a person
    ├── InvalidArgument           INVALID_ARGUMENT     bad request field, bad page token
    │   └── InvalidWorkbook       INVALID_ARGUMENT     not a zip, encrypted, .xls, bomb...
    ├── NotFound                  NOT_FOUND            no such model/job (or another tenant's)
    ├── AlreadyExists             ALREADY_EXISTS
    ├── FailedPrecondition        FAILED_PRECONDITION  e.g. a model whose import has not finished
    ├── ResourceExhausted         RESOURCE_EXHAUSTED   size limit, rate limit
    ├── Unauthenticated           UNAUTHENTICATED      missing, unknown or revoked API key
    ├── PermissionDenied          PERMISSION_DENIED    a backend called without the gateway's secret
    ├── Cancelled                 CANCELLED            the job was cancelled while working
    └── Unavailable               UNAVAILABLE          a dependency (PostgreSQL, NATS) is down

Anything else that escapes a handler is an internal error: logged with its
context and returned as INTERNAL without details.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AlreadyExists",
    "CalcwireError",
    "Cancelled",
    "FailedPrecondition",
    "InvalidArgument",
    "InvalidWorkbook",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
]


class CalcwireError(Exception):
    """Base of every error a caller can cause or must be told about."""

    default_reason = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        return self.message


class InvalidArgument(CalcwireError):
    default_reason = "INVALID_ARGUMENT"


class InvalidWorkbook(InvalidArgument):
    """The uploaded bytes are not a workbook calcwire can read; ``reason`` says why."""

    default_reason = "INVALID_WORKBOOK"


class NotFound(CalcwireError):
    default_reason = "NOT_FOUND"


class AlreadyExists(CalcwireError):
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(CalcwireError):
    default_reason = "FAILED_PRECONDITION"


class ResourceExhausted(CalcwireError):
    default_reason = "RESOURCE_EXHAUSTED"


class Unauthenticated(CalcwireError):
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(CalcwireError):
    default_reason = "PERMISSION_DENIED"


class Cancelled(CalcwireError):
    default_reason = "CANCELLED"


class Unavailable(CalcwireError):
    default_reason = "UNAVAILABLE"

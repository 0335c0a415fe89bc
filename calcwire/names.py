"""Resource names of the public API (``models/{model}``, ``jobs/{job}``) and their ids.

Ids are UUIDs in their canonical text form. A name that is not of the right
form is INVALID_ARGUMENT with reason ``INVALID_NAME``; a well-formed name that
names nothing is the caller's NOT_FOUND, not this module's business. Ids go
into NATS subjects and keys, so nothing but a canonical UUID may pass::

    >>> parse_model_name("models/0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11")
    '0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11'
"""

from __future__ import annotations

import uuid

from calcwire.errors import InvalidArgument

__all__ = [
    "job_name",
    "model_name",
    "new_id",
    "parse_job_name",
    "parse_model_name",
]


def new_id() -> str:
    """A fresh id for a model or a job."""
    return str(uuid.uuid4())


def model_name(model_id: str) -> str:
    return f"models/{model_id}"


def job_name(job_id: str) -> str:
    return f"jobs/{job_id}"


def parse_model_name(name: str) -> str:
    """The id in ``models/{model}``."""
    return _parse(name, "models")


def parse_job_name(name: str) -> str:
    """The id in ``jobs/{job}``."""
    return _parse(name, "jobs")


def _parse(name: str, collection: str) -> str:
    prefix, sep, text = name.partition("/")
    if not name:
        raise InvalidArgument(
            f"a {collection[:-1]} name is required, such as {collection}/<id>",
            reason="INVALID_NAME",
        )
    if sep and prefix == collection:
        try:
            parsed = uuid.UUID(text)
        except ValueError:
            parsed = None
        if parsed is not None and str(parsed) == text.lower():
            return str(parsed)
    raise InvalidArgument(
        f"{name!r} is not a {collection[:-1]} name; expected {collection}/<id>",
        reason="INVALID_NAME",
    )

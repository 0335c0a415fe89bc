"""Logging, configured once per process: structlog in front, the stdlib behind.

Every line goes through one pipeline of small processors and one handler on
stderr: JSON lines in production (``CALCWIRE_ENV=production``), a readable
console in development. Libraries that log with the stdlib (grpc, asyncio,
nats, asyncpg) come out in the same format.

Ids are bound to the context, never formatted into messages: the gRPC layer
binds ``request_id``, ``rpc_method`` and ``tenant`` for each call, workers bind
``job_id`` and ``model_id`` for each job, and every line logged inside carries
them::

    log = get_logger(__name__)
    with log_context(job_id=job.id, model_id=job.model_id):
        log.info("stage finished", stage="parse", cells=n)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

__all__ = ["bind_ids", "configure_logging", "get_logger", "log_context"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# Chatty at INFO, and nothing there a person running calcwire needs.
_QUIET = ("asyncio", "grpc._cython.cygrpc", "nats.aio.client")


def configure_logging(
    *,
    service: str,
    production: bool,
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) in one format.

    Call once, at start-up, before the first line is logged; loggers are
    cached on first use, so a later call changes where and how lines are
    written (the handler) but not the pipeline of loggers already used.
    """
    threshold = _LEVELS[level]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ServiceAdder(service),
    ]
    renderer: Processor
    if production:
        renderer = structlog.processors.JSONRenderer()
        finish: list[Processor] = [structlog.processors.dict_tracebacks]
    else:
        out = stream or sys.stderr
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        finish = []

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *finish,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(threshold, logging.WARNING))


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger named ``name`` (usually ``__name__``)."""
    return cast(FilteringBoundLogger, structlog.get_logger(name))


def bind_ids(**ids: str | None) -> None:
    """Bind ids for the rest of the current task (and the tasks it starts).

    ``None`` values are skipped, so callers can pass what they have.
    """
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Bind ids for the duration of a ``with`` block, then restore the previous ones."""
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in ids.items() if v is not None}):
        yield


class _ServiceAdder:
    """Adds ``service`` to every line, so mixed logs of the stack stay readable."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", self._service)
        return event_dict

"""What the upload and import domains work through, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from calcwire.job_events import JobEventLog
from calcwire.workbook.package import PackageLimits
from import_svc.files import WorkbookFiles
from import_svc.store import WorkbookStore

__all__ = ["Backends"]


@dataclass(frozen=True, slots=True)
class Backends:
    """The service's tables, stored files, job events and work queue, and the file limits."""

    store: WorkbookStore
    files: WorkbookFiles
    events: JobEventLog
    js: JetStreamContext
    limits: PackageLimits

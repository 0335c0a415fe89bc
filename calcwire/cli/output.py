"""What the client commands print: JSON documents, tables, resources, progress.

stdout carries the result only (text, or one JSON document with ``--json``);
progress goes to stderr, as redrawn bars on a terminal and as plain lines
otherwise (one per stage, so that logs of scripts stay short), and not at all
with ``--quiet``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any, Final, TextIO

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from calcwire.common.v1 import cell_value_pb2
from calcwire.jobs.v1 import jobs_pb2
from calcwire.values import CellValue, XlError
from calcwire.wire import value_from_proto

__all__ = [
    "ByteProgress",
    "StageProgress",
    "job_json",
    "job_line",
    "kind_name",
    "message_json",
    "print_json",
    "print_table",
    "stage_name",
    "state_name",
    "timestamp_text",
    "value_json",
    "value_text",
]

_BAR_WIDTH: Final = 30
_REDRAW_SECONDS: Final = 0.1


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell; the last column is left ragged."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        print("  ".join([*cells, row[-1]]).rstrip())


def message_json(message: Message) -> dict[str, Any]:
    """A protobuf message in the proto3 JSON mapping, with the .proto's field names."""
    return MessageToDict(message, preserving_proto_field_name=True)


def value_json(value: cell_value_pb2.CellValue | CellValue) -> Any:
    """A cell value as ``calcwire check --json`` writes it: number, string, boolean, null
    or ``{"error": code}``."""
    if isinstance(value, cell_value_pb2.CellValue):
        value = value_from_proto(value)
    if isinstance(value, XlError):
        return {"error": value.code}
    return value


def value_text(value: cell_value_pb2.CellValue | CellValue) -> str:
    from calcwire.cli.report import show_value

    if isinstance(value, cell_value_pb2.CellValue):
        value = value_from_proto(value)
    return show_value(value)


def state_name(state: int) -> str:
    """``succeeded`` for JOB_STATE_SUCCEEDED."""
    return jobs_pb2.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def stage_name(stage: int) -> str:
    """``writing cells`` for JOB_STAGE_WRITING_CELLS."""
    return jobs_pb2.JobStage.Name(stage).removeprefix("JOB_STAGE_").lower().replace("_", " ")


def kind_name(kind: int) -> str:
    return jobs_pb2.JobKind.Name(kind).removeprefix("JOB_KIND_").lower()


def timestamp_text(stamp: Timestamp) -> str | None:
    """ISO 8601 in UTC, or None for an unset time."""
    if not stamp.seconds and not stamp.nanos:
        return None
    return stamp.ToJsonString()


def job_json(job: jobs_pb2.Job) -> dict[str, Any]:
    """A job in the ``--json`` documents."""
    return {
        "name": job.name,
        "model": job.model,
        "kind": kind_name(job.kind),
        "state": state_name(job.state),
        "stage": jobs_pb2.JobStage.Name(job.stage).removeprefix("JOB_STAGE_").lower(),
        "percent": job.percent,
        "message": job.message,
        "error": ({"reason": job.error.reason, "message": job.error.message}
                  if job.HasField("error") else None),
        "cancel_requested": job.cancel_requested,
        "create_time": timestamp_text(job.create_time),
        "update_time": timestamp_text(job.update_time),
        "end_time": timestamp_text(job.end_time),
    }


def job_line(job: jobs_pb2.Job) -> str:
    """One line for a person: where the job is."""
    text = f"{job.name}: {state_name(job.state)}, {stage_name(job.stage)} {job.percent:.0f}%"
    if job.HasField("error") and job.error.reason:
        text += f" [{job.error.reason}] {job.error.message}"
    elif job.message:
        text += f" ({job.message})"
    if job.cancel_requested and job.state in (jobs_pb2.JOB_STATE_QUEUED,
                                              jobs_pb2.JOB_STATE_RUNNING):
        text += "; cancel requested, it stops at its next step"
    return text


class _Progress:
    """Progress on stderr: a bar redrawn in place on a terminal, lines otherwise."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._drawn = 0.0
        self._open = False

    def _draw(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < _REDRAW_SECONDS:
            return
        self._drawn = now
        self.stream.write("\r\x1b[2K" + text)
        self.stream.flush()
        self._open = True

    def line(self, text: str) -> None:
        """A line of its own (ending the bar being drawn)."""
        if self.quiet:
            return
        if self._open:
            self.stream.write("\r\x1b[2K")
            self._open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def _bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * _BAR_WIDTH)
    return "[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]"


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


class ByteProgress(_Progress):
    """The bytes of an upload."""

    def __init__(self, label: str, total: int, *, quiet: bool = False) -> None:
        super().__init__(quiet=quiet)
        self.label = label
        self.total = total
        self.started = time.monotonic()

    def update(self, sent: int) -> None:
        if self.quiet or not self.tty:
            return
        fraction = sent / self.total if self.total else 1.0
        self._draw(f"uploading {self.label} {_bar(fraction)} {fraction:4.0%} "
                   f"{_size(sent)} of {_size(self.total)}", force=sent >= self.total)

    def done(self) -> None:
        seconds = time.monotonic() - self.started
        self.close()
        self.line(f"uploaded {self.label}: {_size(self.total)} in {seconds:.1f} s")


class StageProgress(_Progress):
    """A job's stages and percentage, from its WatchJob events."""

    def __init__(self, *, quiet: bool = False) -> None:
        super().__init__(quiet=quiet)
        self._stage: int | None = None

    def update(self, job: jobs_pb2.Job) -> None:
        if self.quiet:
            return
        if job.stage != self._stage:
            self._stage = job.stage
            if not self.tty:
                self.line(f"{stage_name(job.stage)} ({job.percent:.0f}%)"
                          + (f": {job.message}" if job.message else ""))
                return
            self._draw(self._text(job), force=True)
            return
        if self.tty:
            # Events come at most a few times a second: each one is drawn.
            self._draw(self._text(job), force=True)

    @staticmethod
    def _text(job: jobs_pb2.Job) -> str:
        text = f"{stage_name(job.stage):<15} {_bar(job.percent / 100)} {job.percent:3.0f}%"
        if job.message:
            text += f"  {job.message[:60]}"
        return text

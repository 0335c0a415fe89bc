"""Processes the local stack starts, and how it stops exactly those.

A process is remembered by pid *and* start time (from ``/proc/<pid>/stat``),
so a pid the kernel reused for someone else's process is never signalled.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ManagedProcess", "spawn", "tail"]

STACK_MARK = "CALCWIRE_STACK_ID"
"""Environment variable set in every process the stack starts (value: its run dir)."""


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie has exited already
    return int(fields[19])


@dataclass
class ManagedProcess:
    name: str
    pid: int
    started: int
    log: Path
    stop_signal: int = signal.SIGTERM
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def is_running(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            return False
        return _start_ticks(self.pid) == self.started

    def stop(self, timeout: float = 40.0) -> None:
        """Ask the process to stop (its stop signal), wait, then kill it after ``timeout``."""
        if not self.is_running():
            self._reap()
            return
        os.kill(self.pid, self.stop_signal)
        if not self._wait(timeout):
            os.kill(self.pid, signal.SIGKILL)
            self._wait(5.0)
        self._reap()

    def _wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while time.monotonic() < deadline:
            if not self.is_running():
                return True
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        return not self.is_running()

    def _reap(self) -> None:
        if self.popen is not None:
            try:
                self.popen.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid,
            "started": self.started,
            "log": str(self.log),
            "stop_signal": int(self.stop_signal),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ManagedProcess:
        return cls(
            name=data["name"],
            pid=int(data["pid"]),
            started=int(data["started"]),
            log=Path(data["log"]),
            stop_signal=signal.Signals(int(data["stop_signal"])),
        )


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
    user: str | None = None,
    die_with_parent: bool = False,
    stop_signal: int = signal.SIGTERM,
) -> ManagedProcess:
    """Start ``argv`` in its own session with output to ``log``.

    ``die_with_parent`` (test harness): the kernel sends the process its stop
    signal if the process that started it dies, so an interrupted test run
    leaves nothing behind. Without it (``make up``) the process outlives the
    command that started it.
    """
    command = list(argv)
    setpriv = shutil.which("setpriv")
    if die_with_parent and setpriv:
        command = [setpriv, f"--pdeathsig={signal.Signals(stop_signal).name[3:]}", "--", *command]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            user=user,
            start_new_session=True,
        )
    started = _start_ticks(popen.pid)
    if started is None:  # exited at once; keep the record so the caller can read the log
        started = -1
    return ManagedProcess(
        name=name, pid=popen.pid, started=started, log=log, stop_signal=stop_signal, popen=popen
    )


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file (for error messages)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])

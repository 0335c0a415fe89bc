"""Runs one measurement in a child process: wall time, peak RSS, and what it printed as JSON.

Each figure comes from a fresh process so that one benchmark's memory does not
count against the next, and so that a slow library can be stopped at a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKERS = Path(__file__).with_name("workers.py")


@dataclass(slots=True)
class Measurement:
    """What a child process did: ``status`` is ok, failed or timeout."""

    status: str
    seconds: float
    peak_rss_mb: float
    exit_code: int | None = None
    output: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def run_child(argv: list[str], timeout: float, ok_codes: tuple[int, ...] = (0,)) -> Measurement:
    """Run ``argv``; its own peak RSS comes from wait4, not from the parent's children total."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            return Measurement("timeout", time.perf_counter() - start, usage.ru_maxrss / 1024)
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    stdout = proc.stdout.read() if proc.stdout else b""
    stderr = proc.stderr.read() if proc.stderr else b""
    code = os.waitstatus_to_exitcode(status)
    output: dict[str, Any] = {}
    lines = stdout.decode(errors="replace").strip().splitlines()
    if lines:
        try:
            output = json.loads(lines[-1])
        except json.JSONDecodeError:
            output = {}
    error = stderr.decode(errors="replace").strip().splitlines()
    return Measurement("ok" if code in ok_codes else "failed", seconds, usage.ru_maxrss / 1024,
                       code, output, error[-1] if error else "")


def worker(task: str, *args: str, timeout: float) -> Measurement:
    """Run a task of workers.py in a child process."""
    return run_child([sys.executable, str(WORKERS), task, *args], timeout)

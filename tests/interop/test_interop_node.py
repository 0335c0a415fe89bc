"""Interoperability: a Node.js client (@grpc/grpc-js, @grpc/proto-loader) loading the
repository's .proto files uploads a workbook through the gateway (client stream), follows
its job with WatchJob (server stream) to success and lists its mismatches.

The script is ``interop_client.js`` beside this file; it prints one JSON document, which
is checked here against what ``calcwire check`` finds in-process in the same file. Skipped
when ``node`` is not on the machine (``make install`` installs the Node packages).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from calcwire.cli.check import check_file
from calcwire.workbook.generate import generate_model, make_stale
from calcwire.workbook.writer import write_workbook
from validation_svc.compare import Status

pytestmark = pytest.mark.stack

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def stale_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interop") / "stale model.xlsx"
    write_workbook(make_stale(generate_model(1_000)), path, shared_formulas=True)
    return path


@pytest.fixture(scope="module")
async def api_key(issue_key: Callable[..., Awaitable[str]]) -> str:
    return await issue_key("interop-node")


@pytest.mark.skipif(NODE is None, reason="Node.js (node) is not installed")
def test_node_client_uploads_watches_and_lists_mismatches(
    gateway_target: str, api_key: str, stale_workbook: Path
) -> None:
    assert (ROOT / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "the Node packages are missing: run make install (npm ci)"
    )
    key = api_key
    done = subprocess.run(
        [NODE or "node", str(HERE / "interop_client.js"), "--target", gateway_target,
         "--api-key", key, "--protos", str(ROOT / "protos"), "--timeout", "30",
         str(stale_workbook)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    out = json.loads(done.stdout)
    assert done.returncode == 0, (done.stderr, out)

    # Client stream: the whole file arrived, in several chunks, as the same bytes.
    expected = check_file(stale_workbook)
    assert out["size_bytes"] == stale_workbook.stat().st_size
    assert out["sha256"] == expected.sha256
    assert out["model"].startswith("models/") and out["job"].startswith("jobs/")

    # Server stream: every event from the first, in order, to success.
    sequences = [e["sequence"] for e in out["events"]]
    assert sequences == list(range(1, len(sequences) + 1))
    assert out["events"][0]["stage"] == "JOB_STAGE_UPLOADING"
    assert out["final"]["state"] == "JOB_STATE_SUCCEEDED"
    assert out["final"]["stage"] == "JOB_STAGE_DONE"
    assert {"JOB_STAGE_PARSING", "JOB_STAGE_COMPUTING", "JOB_STAGE_VALIDATING"} <= {
        e["stage"] for e in out["events"]
    }

    # The mismatches are the ones calcwire check finds in the same file.
    mismatched = {(c.sheet, c.address) for c in expected.cells
                  if c.verdict.status is Status.MISMATCH}
    assert mismatched, "the stale sample should have mismatching cells"
    assert out["mismatches"]["total_size"] == len(mismatched)
    listed = out["mismatches"]["results"]
    assert {(r["sheet"], r["address"]) for r in listed} == mismatched
    assert all(r["status"] == "CELL_STATUS_MISMATCH" for r in listed)
    differences = [r["absolute_difference"] for r in listed]
    assert differences == sorted(differences, reverse=True)

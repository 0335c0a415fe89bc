"""``calcwire admin keys``: the console script, end to end, against the real database.

Each command runs as its own process (the installed ``calcwire`` script); the
keys it issues are then used at the real gateway of the harness's stack.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import grpc
import grpc.aio
import pytest
from tests_support import bearer

from calcwire.devstack import LocalStack, free_port
from calcwire.grpc_errors import error_reason
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

pytestmark = pytest.mark.stack

CALCWIRE = Path(sys.executable).with_name("calcwire")


def calcwire(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CALCWIRE), *args],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_reason(done: subprocess.CompletedProcess[str], reason: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("calcwire: ") and lines[0].endswith(f"[{reason}]"), lines[0]
    assert "Traceback" not in done.stderr


async def list_models(gateway_target: str, token: str) -> grpc.StatusCode | str | None:
    """What the gateway says to ListModels with ``token``: OK, or the reason of the refusal
    (the backend's own status when it is not about the key)."""
    async with grpc.aio.insecure_channel(gateway_target) as channel:
        stub = workbooks_pb2_grpc.WorkbookServiceStub(channel)
        try:
            await stub.ListModels(
                workbooks_pb2.ListModelsRequest(), metadata=bearer(token), timeout=10
            )
        except grpc.aio.AioRpcError as error:
            return error_reason(error) or error.code()
    return grpc.StatusCode.OK


class TestCreate:
    def test_prints_the_key_alone_on_stdout(self, database_url: str) -> None:
        done = calcwire(database_url, "admin", "keys", "create", "--tenant", "cli-text")
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        assert done.stdout == token + "\n" and token.startswith("cw_")
        assert "shown only now" in done.stderr and token not in done.stderr

    def test_json(self, database_url: str) -> None:
        done = calcwire(
            database_url,
            "admin",
            "keys",
            "create",
            "--tenant",
            "cli-json",
            "--name",
            "ci",
            "--json",
        )
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        assert set(document) == {
            "key_id", "tenant", "name", "state", "created_at", "revoked_at", "key"
        }  # fmt: skip
        assert (document["tenant"], document["name"], document["state"]) == (
            "cli-json",
            "ci",
            "active",
        )
        assert document["key"].startswith(f"cw_{document['key_id']}_")
        assert document["revoked_at"] is None and document["created_at"].endswith("Z")

    @pytest.mark.parametrize(
        ("args", "reason"),
        [
            (("--tenant", "Bad Tenant"), "INVALID_TENANT"),
            (("--tenant", "ok", "--name", "x" * 300), "INVALID_NAME"),
        ],
    )
    def test_bad_input_exits_2(self, database_url: str, args: tuple[str, ...], reason: str) -> None:
        done = calcwire(database_url, "admin", "keys", "create", *args)
        assert done.returncode == 2 and done.stdout == ""
        one_line_reason(done, reason)

    def test_usage_errors_exit_2(self, database_url: str) -> None:
        for args in (("admin",), ("admin", "keys"), ("admin", "keys", "create")):
            done = calcwire(database_url, *args)
            assert done.returncode == 2, args
            assert "usage:" in done.stderr and "Traceback" not in done.stderr


class TestListAndRevoke:
    def test_list_revoke_list(self, database_url: str) -> None:
        created = [
            json.loads(
                calcwire(
                    database_url, "admin", "keys", "create", "--tenant", "cli-list", "--json"
                ).stdout
            )
            for _ in range(2)
        ]
        listed = calcwire(database_url, "admin", "keys", "list", "--tenant", "cli-list", "--json")
        assert listed.returncode == 0, listed.stderr
        keys = json.loads(listed.stdout)["keys"]
        assert [k["key_id"] for k in keys] == [c["key_id"] for c in created]
        assert all("key" not in k for k in keys) and all(k["state"] == "active" for k in keys)

        revoked = calcwire(database_url, "admin", "keys", "revoke", created[0]["key_id"], "--json")
        assert revoked.returncode == 0, revoked.stderr
        document = json.loads(revoked.stdout)
        assert (document["state"], document["already_revoked"]) == ("revoked", False)

        again = calcwire(database_url, "admin", "keys", "revoke", created[0]["key_id"])
        assert again.returncode == 0 and "already revoked" in again.stdout

        text = calcwire(database_url, "admin", "keys", "list", "--tenant", "cli-list")
        assert text.returncode == 0
        header, first, second = text.stdout.strip().splitlines()
        assert header.split()[:5] == ["KEY", "ID", "TENANT", "STATE", "CREATED"]
        assert first.startswith(created[0]["key_id"]) and " revoked " in first
        assert second.startswith(created[1]["key_id"]) and " active " in second
        for token in (c["key"] for c in created):
            assert token.split("_")[2] not in text.stdout + listed.stdout  # never a secret

    def test_listing_everyone_and_nobody(self, database_url: str) -> None:
        calcwire(database_url, "admin", "keys", "create", "--tenant", "cli-all")
        everyone = json.loads(calcwire(database_url, "admin", "keys", "list", "--json").stdout)
        assert "cli-all" in {k["tenant"] for k in everyone["keys"]}
        nobody = calcwire(database_url, "admin", "keys", "list", "--tenant", "cli-nobody")
        assert (nobody.returncode, nobody.stdout) == (0, "no API keys for tenant cli-nobody\n")

    @pytest.mark.parametrize(
        ("key_id", "reason"),
        [("not-an-id", "INVALID_KEY_ID"), ("ffffffffffffff00", "KEY_NOT_FOUND")],
    )
    def test_revoking_what_is_not_a_key_exits_2(
        self, database_url: str, key_id: str, reason: str
    ) -> None:
        done = calcwire(database_url, "admin", "keys", "revoke", key_id)
        assert done.returncode == 2
        one_line_reason(done, reason)


class TestUnreachableDatabase:
    @pytest.mark.parametrize(
        "args",
        [
            ("create", "--tenant", "acme"),
            ("list",),
            ("revoke", "0123456789abcdef"),
        ],
    )
    def test_exits_3_with_one_line(self, args: tuple[str, ...]) -> None:
        nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/calcwire"
        done = calcwire(nowhere, "admin", "keys", *args, "--connect-timeout", "0.5")
        assert done.returncode == 3 and done.stdout == ""
        one_line_reason(done, "DATABASE_UNAVAILABLE")
        assert "127.0.0.1" in done.stderr

    def test_an_unknown_database_exits_3(self, database_url: str) -> None:
        other = database_url.rsplit("/", 1)[0] + "/no_such_database"
        done = calcwire(other, "admin", "keys", "list")
        assert done.returncode == 3
        one_line_reason(done, "DATABASE_UNAVAILABLE")

    def test_a_url_that_is_not_postgresql_exits_2(self) -> None:
        done = calcwire("mysql://localhost/x", "admin", "keys", "list")
        assert done.returncode == 2
        one_line_reason(done, "INVALID_DATABASE_URL")


class TestKeysAtTheGateway:
    async def test_a_created_key_works_and_a_revoked_one_stops(
        self, services: LocalStack, database_url: str, gateway_target: str
    ) -> None:
        created = json.loads(
            calcwire(
                database_url, "admin", "keys", "create", "--tenant", "cli-e2e", "--json"
            ).stdout
        )
        # Past the gateway: whatever the backend answers, it is not about the key.
        answer = await list_models(gateway_target, created["key"])
        assert answer not in ("API_KEY_INVALID", "API_KEY_REVOKED", "API_KEY_MISSING")
        assert calcwire(database_url, "admin", "keys", "revoke", created["key_id"]).returncode == 0
        # The harness's gateway caches keys for 1 s (TEST_SERVICE_ENV).
        started = time.monotonic()
        while await list_models(gateway_target, created["key"]) != "API_KEY_REVOKED":
            assert time.monotonic() - started < 1 + 1, "revoked key still accepted"
            await asyncio.sleep(0.25)

"""The ``calcwire`` client commands end to end: each run as its own process (the installed
console script) against the harness's gateway, with real API keys and the whole pipeline
(import, evaluation, validation). What they print is checked against what ``calcwire check``
finds in-process in the same file.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from calcwire.cli.check import check_file
from calcwire.cli.report import render_text, report_json
from calcwire.devstack import free_port
from calcwire.testing.badfiles import small_workbook
from calcwire.workbook.generate import generate_model, make_stale
from calcwire.workbook.writer import write_workbook

pytestmark = pytest.mark.stack

CALCWIRE = Path(sys.executable).with_name("calcwire")


class Cli:
    """Runs ``calcwire`` against one gateway with one API key."""

    def __init__(self, target: str, api_key: str | None) -> None:
        self.target = target
        self.api_key = api_key

    def env(self) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin", "CALCWIRE_TARGET": self.target}
        if self.api_key:
            env["CALCWIRE_API_KEY"] = self.api_key
        return env

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CALCWIRE), *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def one_line_reason(done: subprocess.CompletedProcess[str], status: int, reason: str) -> None:
    """Exit ``status`` with one line on stderr ending in ``[reason]``, never a traceback."""
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("calcwire: ") and last.endswith(f"[{reason}]"), done.stderr


@pytest.fixture(scope="module")
async def api_key(issue_key: Callable[..., Awaitable[str]]) -> str:
    return await issue_key("cli-tests")


@pytest.fixture(scope="module")
def cli(gateway_target: str, api_key: str) -> Cli:
    return Cli(gateway_target, api_key)


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated model as Excel saved it (``fresh``) and with a stale tax rate (``stale``)."""
    out = tmp_path_factory.mktemp("cli")
    paths = {"fresh": out / "fresh.xlsx", "stale": out / "stale model.xlsx"}
    write_workbook(generate_model(2_000), paths["fresh"], shared_formulas=True)
    write_workbook(make_stale(generate_model(2_000)), paths["stale"], shared_formulas=True)
    return paths


@pytest.fixture(scope="module")
def imported(cli: Cli, workbooks: dict[str, Path]) -> dict[str, Any]:
    """The stale model imported once with ``--json`` (exit status 1: it has mismatches)."""
    done = cli("import", str(workbooks["stale"]), "--json", "--name", "stale sample")
    assert done.returncode == 1, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


class TestImport:
    def test_json_is_what_check_finds(self, imported: dict[str, Any],
                                      workbooks: dict[str, Path]) -> None:
        expected = report_json(check_file(workbooks["stale"]))
        assert imported["summary"] == expected["summary"]
        assert imported["summary"]["mismatch"] > 0
        assert imported["cells"] == expected["cells"]
        assert imported["sha256"] == expected["sha256"]
        assert imported["model"].startswith("models/")
        assert imported["job"]["state"] == "succeeded" and imported["job"]["stage"] == "done"
        assert imported["job"]["model"] == imported["model"]

    def test_text_is_check_layout(self, cli: Cli, workbooks: dict[str, Path]) -> None:
        done = cli("import", str(workbooks["stale"]))
        assert done.returncode == 1, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("model models/") and " · job jobs/" in lines[0]
        expected = render_text(check_file(workbooks["stale"])).splitlines()
        # The same report; only the timings differ (read/compute here, upload/processing there).
        assert lines[1:-1] == expected[:-1]
        assert lines[-1].startswith("upload ") and "processing" in lines[-1]
        # Without a terminal, progress is plain lines on stderr: the upload, then each stage.
        assert "\r" not in done.stderr
        progress = done.stderr.splitlines()
        assert progress[0].startswith("uploaded stale model.xlsx")
        stages = [line.split(" (")[0] for line in progress[1:]]
        for stage in ("parsing", "computing", "validating", "done"):
            assert stage in stages, progress

    def test_fresh_workbook_exits_0(self, cli: Cli, workbooks: dict[str, Path]) -> None:
        done = cli("import", str(workbooks["fresh"]), "--json", "--quiet")
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        assert document["summary"]["mismatch"] == 0
        assert document["summary"]["formula_cells"] == document["summary"]["match"] > 0
        assert done.stderr == ""

    def test_no_wait(self, cli: Cli, workbooks: dict[str, Path]) -> None:
        done = cli("import", str(workbooks["fresh"]), "--no-wait")
        assert done.returncode == 0, done.stderr
        model, job = done.stdout.splitlines()
        assert model.startswith("model models/") and job.startswith("job jobs/")
        document = cli.json("import", str(workbooks["fresh"]), "--no-wait", "-q")
        assert document["job"]["state"] in ("queued", "running", "succeeded")
        assert document["job"]["model"] == document["model"]
        # The job goes on without the client; jobs watch follows it to its end.
        watched = cli.json("jobs", "watch", document["job"]["name"], "-q")
        assert watched["state"] == "succeeded"

    def test_request_id_makes_one_model(self, cli: Cli, workbooks: dict[str, Path]) -> None:
        args = ("import", str(workbooks["fresh"]), "--no-wait", "-q", "--request-id",
                f"cli-{time.time_ns()}")
        first, second = cli.json(*args), cli.json(*args)
        assert first["model"] == second["model"]
        assert first["job"]["name"] == second["job"]["name"]

    def test_unparsable_workbook_is_an_input_error(self, cli: Cli, tmp_path: Path) -> None:
        import io
        import zipfile

        source = zipfile.ZipFile(io.BytesIO(small_workbook()))
        path = tmp_path / "broken.xlsx"
        with source, zipfile.ZipFile(path, "w") as out:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "xl/worksheets/sheet1.xml":
                    data = data[: data.index(b"</row>")]  # passes screening, fails parsing
                out.writestr(info.filename, data)
        done = cli("import", str(path), "-q")
        one_line_reason(done, 2, "WORKBOOK_PARSE_FAILED")
        job = done.stdout.split(" · job ")[1].strip()
        one_line_reason(cli("jobs", "watch", job, "-q"), 2, "WORKBOOK_PARSE_FAILED")

    def test_not_a_workbook_is_refused_at_upload(self, cli: Cli, tmp_path: Path) -> None:
        path = tmp_path / "notes.xlsx"
        path.write_text("not a workbook")
        one_line_reason(cli("import", str(path), "-q"), 2, "NOT_A_ZIP")


class TestInterrupt:
    def test_ctrl_c_asks_and_cancels(self, cli: Cli, tmp_path: Path) -> None:
        """On a terminal: a progress bar, and Ctrl-C while watching asks; yes cancels."""
        path = tmp_path / "big.xlsx"
        write_workbook(generate_model(60_000), path, shared_formulas=True)
        master, slave = pty.openpty()
        process = subprocess.Popen([str(CALCWIRE), "import", str(path)], env=cli.env(),
                                   stdin=slave, stdout=slave, stderr=slave,
                                   start_new_session=True)
        os.close(slave)
        seen = b""

        def read_until(marker: bytes, timeout: float) -> None:
            nonlocal seen
            deadline = time.monotonic() + timeout
            while marker not in seen and time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.1)
                if ready:
                    try:
                        seen += os.read(master, 65536)
                    except OSError:
                        return

        try:
            read_until(b" \xc2\xb7 job jobs/", 60)  # uploaded: now it watches
            os.killpg(process.pid, signal.SIGINT)
            read_until(b"[y/N]", 10)
            os.write(master, b"y\n")
            status = process.wait(timeout=30)
            read_until(b"interrupted", 5)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
        text = seen.decode(errors="replace")
        assert status == 130, text
        assert "\r\x1b[2Kuploading big.xlsx [" in text  # the byte bar, redrawn in place
        assert "cancel the job jobs/" in text and "cancel requested" in text
        job = text.split(" · job ")[1].split()[0]
        done = cli("jobs", "watch", job, "-q", "--json")
        # The workers stop it at their next progress report or stage boundary.
        one_line_reason(done, 3, "JOB_CANCELLED")
        assert json.loads(done.stdout)["state"] == "cancelled"


class TestExitStatuses:
    def test_missing_file(self, cli: Cli, tmp_path: Path) -> None:
        one_line_reason(cli("import", str(tmp_path / "nothing.xlsx")), 2, "FILE_NOT_FOUND")

    def test_bad_flag(self, cli: Cli) -> None:
        done = cli("models", "list", "--no-such-flag")
        assert done.returncode == 2 and "usage:" in done.stderr
        assert "Traceback" not in done.stderr

    def test_bad_tolerance(self, cli: Cli, workbooks: dict[str, Path]) -> None:
        done = cli("import", str(workbooks["fresh"]), "--tolerance", "-1")
        one_line_reason(done, 2, "INVALID_TOLERANCE")

    @pytest.mark.parametrize("command", [
        ("models", "show"), ("models", "delete"), ("cells",), ("cells", "--mismatches"),
        ("calc", "--get", "A1"),
    ])
    def test_unknown_model(self, cli: Cli, command: tuple[str, ...]) -> None:
        missing = "models/00000000-0000-4000-8000-000000000000"
        args = [*command[:2], missing, *command[2:]] if command[0] == "models" else [
            command[0], missing, *command[1:]]
        one_line_reason(cli(*args), 2, "MODEL_NOT_FOUND")

    def test_malformed_model_name(self, cli: Cli) -> None:
        one_line_reason(cli("models", "show", "not-an-id"), 2, "INVALID_NAME")

    def test_unknown_job(self, cli: Cli) -> None:
        done = cli("jobs", "show", "00000000-0000-4000-8000-000000000000")
        one_line_reason(done, 2, "JOB_NOT_FOUND")

    def test_bad_api_key(self, gateway_target: str, workbooks: dict[str, Path]) -> None:
        wrong = Cli(gateway_target, "cw_0123456789abcdef_" + "x" * 40)
        one_line_reason(wrong("models", "list"), 2, "API_KEY_INVALID")
        one_line_reason(wrong("import", str(workbooks["fresh"])), 2, "API_KEY_INVALID")
        one_line_reason(Cli(gateway_target, None)("jobs", "list"), 2, "API_KEY_MISSING")

    def test_unreachable_target(self, api_key: str, workbooks: dict[str, Path]) -> None:
        nowhere = Cli(f"127.0.0.1:{free_port()}", api_key)
        one_line_reason(nowhere("models", "list"), 3, "UNAVAILABLE")
        one_line_reason(nowhere("import", str(workbooks["fresh"]), "-q"), 3, "UNAVAILABLE")
        one_line_reason(nowhere("calc", "models/x", "--get", "A1"), 3, "UNAVAILABLE")


class TestModelsCellsJobs:
    def test_models(self, cli: Cli, imported: dict[str, Any],
                    workbooks: dict[str, Path]) -> None:
        listed = cli.json("models", "list")["models"]
        assert imported["model"] in [m["name"] for m in listed]
        shown = cli.json("models", "show", imported["model"])
        assert shown["state"] == "ready" and shown["display_name"] == "stale sample"
        assert shown["sha256"] == imported["sha256"]
        assert [s["name"] for s in shown["sheets"]] == ["Inputs", "Operations", "Debt",
                                                       "Valuation"]
        assert shown["calculation_mode"] == "manual"
        assert shown["latest_job"]["name"] == imported["job"]["name"]
        # A bare id works as well as the name.
        text = cli("models", "show", imported["model"].removeprefix("models/"))
        assert text.returncode == 0 and "stale sample" in text.stdout

    def test_cells(self, cli: Cli, imported: dict[str, Any]) -> None:
        workbook = make_stale(generate_model(2_000))
        inputs = {(c.row, c.col): c for c in workbook.sheets[0].cells}
        cells = cli.json("cells", imported["model"], "--range", "Inputs!A1:B9")["cells"]
        assert cells and all(c["sheet"] == "Inputs" for c in cells)
        from calcwire.formula import parse_a1

        for cell in cells:
            source = inputs[parse_a1(cell["cell"])]
            assert cell["value"] == source.value
            assert cell["formula"] == (f"={source.formula}" if source.formula else None)

    def test_mismatches_are_check_mismatches(self, cli: Cli, imported: dict[str, Any]) -> None:
        expected = {(c["sheet"], c["cell"]) for c in imported["cells"]
                    if c["status"] == "mismatch"}
        document = cli.json("cells", imported["model"], "--mismatches", "--limit", "100000")
        assert document["total_size"] == len(expected)
        assert {(c["sheet"], c["cell"]) for c in document["cells"]} == expected
        differences = [c["difference"] for c in document["cells"]]
        assert differences == sorted(differences, reverse=True)
        ranged = cli.json("cells", imported["model"], "--mismatches", "--range",
                          "Valuation!B16:B22")["cells"]
        assert ranged and {c["cell"] for c in ranged} <= {f"B{r}" for r in range(16, 23)}
        # The same cells through ListCells carry their computed value and status.
        statuses = cli.json("cells", imported["model"], "--range", "Valuation!B16:B16")
        assert statuses["cells"][0]["status"] == "mismatch"

    def test_jobs(self, cli: Cli, imported: dict[str, Any]) -> None:
        job = imported["job"]["name"]
        listed = cli.json("jobs", "list", "--model", imported["model"])["jobs"]
        assert [j["name"] for j in listed] == [job]
        assert cli.json("jobs", "show", job)["state"] == "succeeded"
        assert cli.json("jobs", "watch", job, "-q")["state"] == "succeeded"
        # Cancelling an ended job changes nothing.
        cancelled = cli.json("jobs", "cancel", job)
        assert cancelled["state"] == "succeeded"
        text = cli("jobs", "list", "--state", "succeeded", "--kind", "import")
        assert text.returncode == 0 and job in text.stdout

    def test_delete(self, cli: Cli, workbooks: dict[str, Path]) -> None:
        model = cli.json("import", str(workbooks["fresh"]), "--no-wait", "-q")["model"]
        assert cli.json("models", "delete", model) == {"deleted": model}
        one_line_reason(cli("models", "show", model), 2, "MODEL_NOT_FOUND")


class TestCalc:
    def test_what_if_gives_the_values_before_the_change(
            self, cli: Cli, imported: dict[str, Any]) -> None:
        """The stale file cached the values of a 25 % tax rate; at 30 % (its input now) the
        engine gives what check computes; set back to 25 %, the cached values again."""
        fresh = {(c.row, c.col): c.value for c in generate_model(2_000).sheets[3].cells}
        refs = ["Valuation!B16", "Valuation!B18", "Valuation!B22"]
        gets = [arg for ref in refs for arg in ("--get", ref)]
        computed = {(c["sheet"], c["cell"]): c["computed"] for c in imported["cells"]}

        now = cli.json("calc", imported["model"], *gets)
        for output, ref in zip(now["outputs"], refs, strict=True):
            assert output["reference"] == ref
            assert output["value"] == pytest.approx(computed[tuple(ref.split("!"))], rel=1e-12)

        before = cli.json("calc", imported["model"], "--set", "TaxRate=25%", *gets)
        assert before["inputs"] == [{"reference": "TaxRate", "value": 0.25}]
        for output, row in zip(before["outputs"], (16, 18, 22), strict=True):
            assert output["value"] == pytest.approx(fresh[(row, 2)], rel=1e-9)
        assert 0 < before["recomputed_cells"] < now["recomputed_cells"] or before["warm"]

    def test_text_and_ranges(self, cli: Cli, imported: dict[str, Any]) -> None:
        done = cli("calc", imported["model"], "--set", "Inputs!B5=0.25", "--get",
                   "Valuation!C8:E8", "--get", "TaxRate")
        assert done.returncode == 0, done.stderr
        assert "Inputs!B5" in done.stdout and ":= 0.25" in done.stdout
        assert "TaxRate" in done.stdout and "= 0.25" in done.stdout
        assert "recomputed" in done.stdout.splitlines()[-1]

    def test_bad_input(self, cli: Cli, imported: dict[str, Any]) -> None:
        one_line_reason(cli("calc", imported["model"], "--set", "nothing", "--get", "A1"),
                        2, "INVALID_OVERRIDE")
        one_line_reason(cli("calc", imported["model"]), 2, "NO_OUTPUTS")
        one_line_reason(cli("calc", imported["model"], "--get", "Nope!A1"),
                        2, "UNKNOWN_REFERENCE")

"""Models computing at once in several threads each keep their own workbook conventions.

The evaluation service keeps several compiled models in memory and runs their
calculations in threads; a 1904 workbook must never borrow the 1900 date
system, nor a Mac workbook the Windows character set, of a model computing at
the same moment.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from engine_helpers import make_workbook

from calcwire.values import CellValue
from calcwire.workbook.model import Workbook
from eval_svc.engine import CompiledModel, compile_workbook

ROWS = 150


def _workbook(date1904: bool, mac: bool) -> Workbook:
    """Formulas whose values depend on the date system or on the character set."""
    cells: dict[str, Any] = {"A1": 2020.0}
    for r in range(2, ROWS + 2):
        cells[f"A{r}"] = f"=A{r - 1}+0*{r}"  # the year, down a chain
        cells[f"B{r}"] = f"=DATE(A{r},{r % 12 + 1},{r % 28 + 1})"
        cells[f"C{r}"] = f'=TEXT(B{r},"yyyy-mm-dd")'
        cells[f"D{r}"] = f'="{r % 12 + 1}/{r % 28 + 1}/2021"+0'  # text read as a date
        cells[f"E{r}"] = f"=WEEKDAY(B{r})+YEAR({r * 97})"
        cells[f"F{r}"] = f"=CHAR({128 + r % 128})"
        cells[f"G{r}"] = f'=CODE(F{r})+CODE("é")'
        cells[f"H{r}"] = f"=DATEVALUE(C{r})"
        cells[f"I{r}"] = f'=TEXT(B{r},"dddd")&" "&TEXT(D{r},"mmm d yyyy")'
    application = "Microsoft Macintosh Excel" if mac else "Microsoft Excel"
    return make_workbook({"S": cells}, date1904=date1904, application=application)


KINDS = {
    "1900-windows": (False, False),
    "1904-mac": (True, True),
    "1904-windows": (True, False),
    "1900-mac": (False, True),
}


def _values(model: CompiledModel) -> dict[tuple[int, int], CellValue]:
    return {(r.row, r.col): r.value for r in model.calculate()}


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[tuple[int, int], CellValue]]:
    """Each model's answers, computed alone."""
    return {kind: _values(compile_workbook(_workbook(*flags))) for kind, flags in KINDS.items()}


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads switch every 10 µs, so that calculations interleave finely."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run_threads(jobs: list[Callable[[], None]]) -> list[BaseException]:
    failures: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


class TestConventionsAlone:
    def test_the_models_really_differ(
        self, expected: dict[str, dict[tuple[int, int], CellValue]]
    ) -> None:
        first_date = (2, 2)
        assert expected["1900-windows"][first_date] - expected["1904-mac"][first_date] == 1462
        assert expected["1900-windows"][(2, 6)] != expected["1900-mac"][(2, 6)]  # CHAR(130)
        assert expected["1900-windows"][(2, 7)] != expected["1904-mac"][(2, 7)]  # CODE("é")
        for kind in KINDS:  # the same dates, whatever their serials
            assert expected[kind][(2, 3)] == "2020-03-03"
            assert expected[kind][(2, 9)] == "Tuesday Mar 3 2021"
            assert expected[kind][(2, 8)] == expected[kind][(2, 2)]  # DATEVALUE(TEXT(d))


class TestConcurrentModels:
    def test_full_calculations_in_threads_keep_their_own_conventions(
        self, expected: dict[str, dict[tuple[int, int], CellValue]], fast_switching: None
    ) -> None:
        models = {kind: compile_workbook(_workbook(*flags)) for kind, flags in KINDS.items()}

        def job(kind: str) -> Callable[[], None]:
            def run() -> None:
                for _ in range(15):
                    assert _values(models[kind]) == expected[kind], kind

            return run

        failures = _run_threads([job(kind) for kind in KINDS])
        assert not failures, failures

    def test_what_if_in_threads_keeps_its_own_conventions(
        self, expected: dict[str, dict[tuple[int, int], CellValue]], fast_switching: None
    ) -> None:
        models = {kind: compile_workbook(_workbook(*flags)) for kind, flags in KINDS.items()}
        for model in models.values():
            model.calculate()

        def job(kind: str) -> Callable[[], None]:
            model = models[kind]
            reference = compile_workbook(_workbook(*KINDS[kind]))
            reference.set_values({"S!A1": 2031.0})
            want = reference.values([f"S!B{ROWS + 1}", f"S!C{ROWS + 1}", f"S!H{ROWS + 1}"])

            def run() -> None:
                for _ in range(10):
                    model.set_values({"S!A1": 2031.0})
                    got = model.values([f"S!B{ROWS + 1}", f"S!C{ROWS + 1}", f"S!H{ROWS + 1}"])
                    assert got == want, kind
                    model.reset()
                    assert model.value("S!F2") == expected[kind][(2, 6)], kind

            return run

        failures = _run_threads([job(kind) for kind in KINDS])
        assert not failures, failures

    def test_one_model_shared_by_threads_is_serialised(
        self, expected: dict[str, dict[tuple[int, int], CellValue]], fast_switching: None
    ) -> None:
        """Each call is atomic; a what-if sequence holds the model's lock."""
        model = compile_workbook(_workbook(*KINDS["1904-mac"]))
        last = f"S!B{ROWS + 1}"
        want = {}
        for year in (2025.0, 2030.0):
            model.set_values({"S!A1": year})
            want[year] = model.value(last)
            model.reset()

        def full() -> None:
            for _ in range(5):
                assert _values(model) == expected["1904-mac"]

        def what_if(year: float) -> Callable[[], None]:
            def run() -> None:
                for _ in range(10):
                    with model.lock:
                        model.set_values({"S!A1": year})
                        assert model.value(last) == want[year]
                        model.reset()

            return run

        failures = _run_threads([full, what_if(2025.0), what_if(2030.0), full])
        assert not failures, failures

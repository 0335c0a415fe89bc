"""Fidelity over ../shared/corpus: never below the committed baseline, and no file crashes.

The figures (per file and in total) are printed on the terminal. The baseline,
tests/corpus_baseline.json, is written by ``make fidelity-baseline``, never by
this test.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from calcwire.testing.fidelity import (
    FileFidelity,
    corpus_files,
    format_row,
    load_baseline,
    measure_file,
    totals,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
BASELINE = Path(__file__).with_name("corpus_baseline.json")
EPSILON = 1e-12

pytestmark = pytest.mark.corpus


def _engine_available() -> bool:
    from eval_svc import engine

    return hasattr(engine, "compile_workbook")


@pytest.fixture(scope="module")
def figures(pytestconfig: pytest.Config) -> dict[str, FileFidelity]:
    files = corpus_files(CORPUS) if CORPUS.is_dir() else []
    if not files:
        pytest.skip(f"corpus not found at {CORPUS}: fidelity not measured")
    if not _engine_available():
        pytest.skip("eval_svc.engine.compile_workbook is not available: fidelity not measured")
    measured = {}
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\ncorpus fidelity (cached formula cells matched):")
        for path in files:
            figure = measure_file(path, CORPUS)
            print(format_row(figure), flush=True)
            measured[figure.file] = figure
        print(format_row(totals(measured.values())))
    return measured


def _baseline() -> dict[str, Any]:
    return load_baseline(BASELINE)


class TestCorpusFidelity:
    def test_no_file_crashes(self, figures: dict[str, FileFidelity]) -> None:
        crashed = {f.file: f.error for f in figures.values() if f.error}
        assert not crashed

    def test_total_not_below_baseline(self, figures: dict[str, FileFidelity]) -> None:
        total = totals(figures.values())
        floor = _baseline()["total"]["fidelity"]
        assert total.fidelity >= floor - EPSILON, (
            f"total fidelity {total.fidelity:.4%} fell below the baseline {floor:.4%}")

    def test_no_file_below_its_baseline(self, figures: dict[str, FileFidelity]) -> None:
        worse = []
        for name, floor in _baseline()["files"].items():
            figure = figures.get(name)
            if figure is None:
                continue  # a file removed from the corpus
            if figure.fidelity < floor["fidelity"] - EPSILON:
                worse.append(f"{name}: {figure.fidelity:.4%} < {floor['fidelity']:.4%}")
        assert not worse

    def test_every_corpus_file_has_a_baseline(self, figures: dict[str, FileFidelity]) -> None:
        missing = sorted(set(figures) - set(_baseline()["files"]))
        assert not missing, f"run `make fidelity-baseline` to record: {missing}"

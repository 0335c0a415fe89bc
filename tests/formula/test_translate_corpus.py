"""translate_formula against openpyxl's Translator on every shared formula of the corpus."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from openpyxl.formula.translate import Translator, TranslatorError

from calcwire.formula import parse_a1, translate_formula

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

pytestmark = pytest.mark.corpus


def _shared_formulas(path: Path) -> Iterator[tuple[str, str, str]]:
    """(master formula, master cell, dependent cell) for each shared-formula dependent."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            masters: dict[str, tuple[str, str]] = {}
            for _, c in etree.iterparse(zf.open(name), tag=f"{_NS}c"):
                f = c.find(f"{_NS}f")
                if f is not None and f.get("t") == "shared":
                    si = f.get("si", "")
                    if f.text:
                        masters[si] = (f.text, c.get("r", ""))
                    elif si in masters:
                        yield masters[si][0], masters[si][1], c.get("r", "")
                c.clear()


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*.xls*") if p.is_file())


class TestTranslateAgainstOpenpyxl:
    def test_every_shared_formula_of_the_corpus(self) -> None:
        files = _corpus_files()
        if not files:
            pytest.skip(f"corpus not found at {CORPUS}")
        checked = 0
        mismatches: list[str] = []
        for path in files:
            for formula, master, cell in _shared_formulas(path):
                (mr, mc), (r, c) = parse_a1(master), parse_a1(cell)
                ours = translate_formula(formula, r - mr, c - mc)
                try:
                    theirs = Translator("=" + formula, master).translate_formula(cell)[1:]
                except TranslatorError:
                    theirs = None
                checked += 1
                if theirs is None:
                    ok = "#REF!" in ours
                else:
                    ok = ours == theirs
                if not ok:
                    mismatches.append(f"{path.name} {cell}: {ours!r} != {theirs!r}")
        assert checked > 10_000, checked
        assert not mismatches, mismatches[:20]

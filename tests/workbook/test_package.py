"""Screening a file before parsing: each kind of bad upload gets its reason."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from calcwire.errors import InvalidWorkbook, ResourceExhausted
from calcwire.testing import badfiles
from calcwire.workbook.package import REASONS, PackageLimits, inspect_package


class TestBadFiles:
    @pytest.mark.parametrize("kind", sorted(badfiles.BAD_FILES))
    def test_each_bad_file_gets_its_reason(self, kind: str) -> None:
        make, reason = badfiles.BAD_FILES[kind]
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(make())
        assert caught.value.reason == reason
        assert caught.value.reason in REASONS
        assert "\n" not in caught.value.message and caught.value.message

    def test_the_same_from_a_path(self, tmp_path: Path) -> None:
        path = tmp_path / "book.xlsx"
        path.write_bytes(badfiles.legacy_xls())
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(path)
        assert caught.value.reason == "LEGACY_XLS"
        assert "save it as .xlsx" in caught.value.message


class TestValidFiles:
    def test_a_valid_workbook_passes(self) -> None:
        info = inspect_package(badfiles.small_workbook())
        assert info.workbook_part == "xl/workbook.xml"
        assert not info.macro_enabled
        assert info.part_count >= 5

    def test_an_openpyxl_workbook_passes(self) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active["A1"] = "=1+1"
        buffer = io.BytesIO()
        wb.save(buffer)
        assert inspect_package(buffer.getvalue()).workbook_part == "xl/workbook.xml"

    def test_a_corpus_macro_workbook_is_macro_enabled(self) -> None:
        corpus = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
        xlsm = sorted(corpus.rglob("*.xlsm"))
        if not xlsm:
            pytest.skip(f"corpus not found at {corpus}")
        assert inspect_package(xlsm[0]).macro_enabled


class TestLimits:
    def test_file_over_the_size_limit(self) -> None:
        data = badfiles.small_workbook()
        with pytest.raises(ResourceExhausted) as caught:
            inspect_package(data, PackageLimits(max_file_bytes=len(data) - 1))
        assert caught.value.reason == "FILE_TOO_LARGE"

    def test_total_uncompressed_size(self) -> None:
        data = badfiles.small_workbook()
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(data, PackageLimits(max_uncompressed_bytes=1000))
        assert caught.value.reason == "DECOMPRESSION_BOMB"

    def test_compression_ratio_applies_above_the_floor_only(self) -> None:
        data = badfiles.small_workbook()
        inspect_package(data, PackageLimits(max_compression_ratio=1.0))  # tiny parts: fine
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(data, PackageLimits(max_compression_ratio=1.0, ratio_floor_bytes=100))
        assert caught.value.reason == "DECOMPRESSION_BOMB"

    def test_too_many_parts(self) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(badfiles.small_workbook(), PackageLimits(max_parts=3))
        assert caught.value.reason == "DECOMPRESSION_BOMB"


class TestDamage:
    def test_corrupt_member_data(self) -> None:
        data = bytearray(badfiles.small_workbook())
        # Flip bytes inside the first member's compressed data (after its local header).
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            info = zf.infolist()[0]
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for i in range(start, start + min(info.compress_size, 40)):
            data[i] ^= 0x5A
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(bytes(data))
        assert caught.value.reason in ("DAMAGED_ZIP", "MALFORMED_XML")

    def test_ole2_with_garbage_directory(self) -> None:
        data = bytearray(badfiles.legacy_xls())
        data[0x30:0x34] = b"\x00\x00\x10\x00"  # first directory sector far beyond the end
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(bytes(data))
        assert caught.value.reason == "NOT_A_SPREADSHEET"

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(tmp_path / "nope.xlsx")
        assert caught.value.reason == "FILE_NOT_FOUND"

    def test_pdf_is_named(self) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            inspect_package(b"%PDF-1.7\n...")
        assert caught.value.reason == "NOT_A_ZIP"
        assert "PDF" in caught.value.message


class TestPublicApi:
    def test_exported_names(self) -> None:
        import calcwire.workbook

        assert sorted(calcwire.workbook.__all__) == [
            "CalcSettings", "Cell", "DataTable", "DefinedName", "ExternalLink", "PackageInfo",
            "PackageLimits", "ReadProgress", "Sheet", "Workbook", "WorkbookReader",
            "inspect_package", "read_workbook", "workbook_bytes", "write_workbook",
        ]

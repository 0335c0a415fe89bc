"""The workbook reader on small workbooks built here, one feature at a time."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from calcwire.errors import InvalidWorkbook
from calcwire.values import XlError
from calcwire.workbook.model import (
    CalcSettings,
    Cell,
    DataTable,
    DefinedName,
    ExternalLink,
    Sheet,
    Table,
    Workbook,
)
from calcwire.workbook.reader import ReadProgress, WorkbookReader, read_workbook
from calcwire.workbook.writer import workbook_bytes

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _replace(data: bytes, parts: dict[str, str]) -> bytes:
    """A copy of a package with some parts replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            if info.filename not in parts:
                zf.writestr(info.filename, source.read(info))
        for name, content in parts.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _with_sheet_xml(sheet_data: str, *, strings: list[str] | None = None,
                    workbook: Workbook | None = None) -> bytes:
    """A one-sheet workbook whose sheetData is exactly ``sheet_data``."""
    base = workbook_bytes(workbook or Workbook(sheets=[Sheet("S")]))
    parts = {"xl/worksheets/sheet1.xml":
             f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>{sheet_data}'
             "</sheetData></worksheet>"}
    if strings is not None:
        items = "".join(f"<si>{s}</si>" for s in strings)
        parts["xl/sharedStrings.xml"] = f'<?xml version="1.0"?><sst xmlns="{MAIN}">{items}</sst>'
    return _replace(base, parts)


def _cells(data: bytes) -> dict[str, Cell]:
    from calcwire.formula import column_letters

    wb = read_workbook(data)
    return {f"{column_letters(c.col)}{c.row}": c for c in wb.sheets[0].cells}


class TestValues:
    def test_each_value_type(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1"><v>1.5</v></c><c r="B1" t="n"><v>-3</v></c>'
            '<c r="C1" t="s"><v>1</v></c><c r="D1" t="b"><v>1</v></c>'
            '<c r="E1" t="b"><v>0</v></c><c r="F1" t="e"><v>#DIV/0!</v></c>'
            '<c r="G1" t="inlineStr"><is><t>inline</t></is></c>'
            '<c r="H1" s="0"/><c r="I1"><v>1E-3</v></c></row>',
            strings=["<t>zero</t>", "<t>one &amp; two</t>"],
        ))
        assert cells["A1"].value == 1.5
        assert cells["B1"].value == -3.0 and type(cells["B1"].value) is float
        assert cells["C1"].value == "one & two"
        assert cells["D1"].value is True and cells["E1"].value is False
        assert cells["F1"].value is XlError.DIV0
        assert cells["G1"].value == "inline"
        assert "H1" not in cells  # formatted but empty
        assert cells["I1"].value == 0.001

    def test_rich_text_runs_without_phonetics(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1" t="s"><v>0</v></c>'
            '<c r="B1" t="inlineStr"><is><r><rPr><b/></rPr><t>bold</t></r>'
            '<r><t xml:space="preserve"> plain</t></r></is></c></row>',
            strings=[('<r><t>Ka</t></r><r><rPr><i/></rPr><t>nji</t></r>'
                      '<rPh sb="0" eb="1"><t>KANA</t></rPh>')],
        ))
        assert cells["A1"].value == "Kanji"
        assert cells["B1"].value == "bold plain"

    def test_escaped_characters(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            '<c r="C1" t="str"><f>CHAR(1)</f><v>_x0001_</v></c></row>',
            strings=["<t>a_x000D_b</t>", "<t>_x005F_x0041_</t>"],
        ))
        assert cells["A1"].value == "a\rb"
        assert cells["B1"].value == "_x0041_"
        assert cells["C1"].value == "\x01"

    def test_iso_dates_become_serials(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1" t="d"><v>2024-01-01T00:00:00</v></c>'
            '<c r="B1" t="d"><v>1900-01-01</v></c><c r="C1" t="d"><v>1900-03-01</v></c>'
            '<c r="D1" t="d"><v>2024-01-01T18:00:00Z</v></c><c r="E1" t="d"><v>T06:00:00</v></c>'
            "</row>"))
        assert cells["A1"].value == 45292.0
        assert cells["B1"].value == 1.0
        assert cells["C1"].value == 61.0  # after Excel's 29 February 1900
        assert cells["D1"].value == 45292.75
        assert cells["E1"].value == 0.25

    def test_dates_in_a_1904_workbook(self) -> None:
        data = _with_sheet_xml('<row r="1"><c r="A1" t="d"><v>1904-01-02</v></c></row>',
                               workbook=Workbook(sheets=[Sheet("S")], date1904=True))
        wb = read_workbook(data)
        assert wb.date1904
        assert wb.sheets[0].cells[0].value == 1.0

    def test_rows_and_cells_without_references(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row><c><v>1</v></c><c><v>2</v></c></row><row r="4"><c><v>3</v></c>'
            '<c r="C4"><v>4</v></c><c><v>5</v></c></row>'))
        assert {k: c.value for k, c in cells.items()} == {
            "A1": 1.0, "B1": 2.0, "A4": 3.0, "C4": 4.0, "D4": 5.0}

    def test_empty_formula_string_result(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1" t="str"><f>""</f><v></v></c>'
            '<c r="B1" t="str"><f>""</f></c></row>'))
        assert cells["A1"].value == ""
        assert cells["B1"].value is None  # never calculated


class TestFormulas:
    def test_plain_formula_and_cached_value(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1"><f>SUM(B1:C1)&amp;"x"</f><v>3</v></c>'
            '<c r="B1"><f>_xlfn.XLOOKUP(1,C:C,D:D)</f></c></row>'))
        assert cells["A1"].formula == 'SUM(B1:C1)&"x"'
        assert cells["A1"].value == 3.0
        assert cells["B1"].formula == "_xlfn.XLOOKUP(1,C:C,D:D)"
        assert cells["B1"].value is None

    def test_shared_formulas_are_expanded(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="2"><c r="B2"><f t="shared" ref="B2:D3" si="0">A2*$A$1+A$1</f><v>1</v></c>'
            '<c r="C2"><f t="shared" si="0"/><v>2</v></c><c r="D2"><f t="shared" si="0"/></c>'
            '</row><row r="3"><c r="B3"><f t="shared" si="0"/><v>4</v></c>'
            '<c r="D3"><f t="shared" si="0"/></c></row>'))
        assert cells["B2"].formula == "A2*$A$1+A$1"
        assert cells["C2"].formula == "B2*$A$1+B$1"
        assert cells["D2"].formula == "C2*$A$1+C$1"
        assert cells["B3"].formula == "A3*$A$1+A$1"
        assert cells["D3"].formula == "C3*$A$1+C$1"
        assert cells["C2"].value == 2.0 and cells["D2"].value is None

    def test_shared_formula_without_master_is_refused(self) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(_with_sheet_xml('<row r="1"><c r="A1"><f t="shared" si="7"/></c></row>'))
        assert caught.value.reason == "MALFORMED_WORKBOOK"

    def test_an_empty_formula_element_is_no_formula(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1" t="str" cm="1"><f t="array" ref="A1:A2" ca="1">'
            "OFFSET(B1:B2,0,0)</f><v>x</v></c></row>"
            '<row r="2"><c r="A2"><f ca="1"/><v>12</v></c></row>'))
        assert cells["A1"].formula == "OFFSET(B1:B2,0,0)"
        assert cells["A2"].formula is None and cells["A2"].value == 12.0

    def test_array_formula(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="1"><c r="A1"><f t="array" ref="A1:A2">TRANSPOSE(B1:C1)</f><v>1</v></c></row>'
            '<row r="2"><c r="A2"><v>2</v></c></row>'))
        assert cells["A1"].array_ref == "A1:A2"
        assert cells["A1"].formula == "TRANSPOSE(B1:C1)"
        assert not cells["A1"].dynamic
        assert cells["A2"].formula is None and cells["A2"].value == 2.0

    def test_dynamic_array_formula(self) -> None:
        wb = Workbook(sheets=[Sheet("S", cells=[
            Cell(1, 1, 1.0, formula="SEQUENCE(3)", array_ref="A1:A3", dynamic=True),
            Cell(1, 2, 1.0, formula="SUM(A1:A3)", array_ref="B1"),
        ])])
        cells = _cells(workbook_bytes(wb))
        assert cells["A1"].dynamic and cells["A1"].array_ref == "A1:A3"
        assert not cells["B1"].dynamic

    def test_data_tables(self) -> None:
        cells = _cells(_with_sheet_xml(
            '<row r="5"><c r="C5"><f t="dataTable" ref="C5:G9" dt2D="1" dtr="1" r1="B1" r2="B2"/>'
            '<v>7</v></c><c r="J5"><f t="dataTable" ref="J5:J9" dt2D="0" dtr="0" r1="B3" ca="1"/>'
            '</c><c r="L5"><f t="dataTable" ref="L5:P5" dtr="1" r1="B3" del1="1"/></c></row>'))
        assert cells["C5"].data_table == DataTable("C5:G9", True, True, "B1", "B2")
        assert cells["C5"].formula == "TABLE(B1,B2)" and cells["C5"].value == 7.0
        assert cells["J5"].data_table == DataTable("J5:J9", False, False, "B3", None)
        assert cells["J5"].formula == "TABLE(,B3)"
        assert cells["L5"].data_table == DataTable("L5:P5", False, True, None, None)
        assert cells["L5"].formula == "TABLE(#REF!,)"


class TestWorkbookParts:
    def test_round_trip_through_the_writer(self) -> None:
        wb = Workbook(
            sheets=[
                Sheet("Inputs", cells=[
                    Cell(1, 1, "Rate"), Cell(1, 2, 0.05, number_format="0.00%"),
                    Cell(2, 2, 45292.0, number_format="yyyy-mm-dd"),
                    Cell(3, 2, True), Cell(4, 2, XlError.NA),
                ]),
                Sheet("Calc", state="hidden", cells=[
                    Cell(1, 1, 105.0, formula="100*(1+Rate)", number_format="#,##0.00"),
                    Cell(2, 1, "x", formula='IF(TRUE,"x")'),
                    Cell(3, 1, XlError.REF, formula="#REF!+1"),
                    Cell(4, 1, 42.0, formula="[1]Data!B3"),
                ]),
                Sheet("Secret", state="veryHidden", cells=[Cell(1, 1, 1.0)]),
            ],
            names=[
                DefinedName("Rate", "Inputs!$B$1"),
                DefinedName("Local", "Calc!$A$1", scope="Calc", hidden=True),
            ],
            calc=CalcSettings(mode="manual", iterate=True, iterate_count=50,
                              iterate_delta=0.0001, full_calc_on_load=True),
            external_links=[ExternalLink(
                index=1, target="../data/Source Book.xlsx", sheet_names=["Data", "Other"],
                cells={"Data": {"B3": 42.0, "C3": "text", "D3": True, "E3": XlError.NA}},
                names=[DefinedName("Remote", "Data!$B$3", scope="Data")],
                refresh_errors=["Other"],
            )],
        )
        back = read_workbook(workbook_bytes(wb))
        assert [(s.name, s.state, s.dimension) for s in back.sheets] == [
            ("Inputs", "visible", "A1:B4"), ("Calc", "hidden", "A1:A4"),
            ("Secret", "veryHidden", "A1")]
        for ours, theirs in zip(back.sheets, wb.sheets, strict=True):
            assert ours.cells == theirs.cells
        assert back.names == wb.names
        assert back.calc == wb.calc
        assert back.external_links == wb.external_links
        assert not back.date1904
        assert back.application == "calcwire"  # docProps/app.xml, as the writer put it

    def test_default_calc_settings_when_absent(self) -> None:
        data = workbook_bytes(Workbook(sheets=[Sheet("S")]))
        xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
        data = _replace(data, {"xl/workbook.xml": xml.replace('<calcPr calcId="191029"/>', "")})
        assert read_workbook(data).calc == CalcSettings()

    def test_builtin_and_custom_number_formats(self) -> None:
        data = _with_sheet_xml('<row r="1"><c r="A1" s="1"><v>1</v></c><c r="B1" s="2"><v>1</v>'
                               '</c><c r="C1" s="99"><v>1</v></c></row>')
        styles = (f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><numFmts count="1">'
                  '<numFmt numFmtId="170" formatCode="0.0&quot;x&quot;"/></numFmts>'
                  '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="10"/><xf numFmtId="170"/>'
                  "</cellXfs></styleSheet>")
        cells = _cells(_replace(data, {"xl/styles.xml": styles}))
        assert cells["A1"].number_format == "0.00%"
        assert cells["B1"].number_format == '0.0"x"'
        assert cells["C1"].number_format == "General"


class TestTables:
    def _workbook(self) -> Workbook:
        sales = [Cell(2, 2, "Region"), Cell(2, 3, "Sales [USD]"), Cell(3, 2, "North"),
                 Cell(3, 3, 10.0), Cell(4, 2, "South"), Cell(4, 3, 20.0), Cell(5, 2, "Total"),
                 Cell(5, 3, 30.0, formula="SUBTOTAL(109,[Sales '[USD']])")]
        plain = [Cell(1, 1, 1.0), Cell(1, 2, 2.0), Cell(2, 1, 3.0), Cell(2, 2, 4.0)]
        return Workbook(
            sheets=[Sheet("Data", cells=sales), Sheet("Empty"), Sheet("More", cells=plain)],
            tables=[
                Table("Sales", "Sales", "Data", "B2:C5", ("Region", "Sales [USD]"),
                      totals_row_count=1),
                Table("Table2", "Grid", "More", "A1:B2", ("Column1", "Column2"),
                      header_row_count=0),
            ],
        )

    def test_round_trip_through_the_writer(self) -> None:
        wb = self._workbook()
        back = read_workbook(workbook_bytes(wb))
        assert back.tables == wb.tables
        assert back.sheets[0].cells == wb.sheets[0].cells

    def test_without_tables_the_list_is_empty(self) -> None:
        assert read_workbook(workbook_bytes(Workbook(sheets=[Sheet("S")]))).tables == []

    def test_what_excel_writes(self) -> None:
        data = workbook_bytes(self._workbook())
        part = (f'<?xml version="1.0"?><table xmlns="{MAIN}" id="7" name="Internal" '
                'displayName="Shown" ref="B2:C5" totalsRowCount="1"><autoFilter ref="B2:C4"/>'
                '<tableColumns count="2"><tableColumn id="1" name="Line_x000a_one"/>'
                '<tableColumn id="2" name="B"/></tableColumns></table>')
        table = read_workbook(_replace(data, {"xl/tables/table1.xml": part})).tables[0]
        assert table == Table("Internal", "Shown", "Data", "B2:C5", ("Line\none", "B"), 1, 1)

    def test_a_broken_table_part_is_left_out(self) -> None:
        data = workbook_bytes(self._workbook())
        part = (f'<?xml version="1.0"?><table xmlns="{MAIN}" id="1" name="T" ref="nowhere">'
                '<tableColumns count="1"><tableColumn id="1" name="A"/></tableColumns></table>')
        assert [t.name for t in read_workbook(
            _replace(data, {"xl/tables/table1.xml": part})).tables] == ["Table2"]


class TestStreaming:
    def test_rows_one_sheet_at_a_time(self) -> None:
        wb = Workbook(sheets=[Sheet("A", cells=[Cell(r, 1, float(r)) for r in range(1, 6)]),
                              Sheet("B", cells=[Cell(1, 1, "b")])])
        with WorkbookReader(workbook_bytes(wb)) as reader:
            assert [s.name for s in reader.sheets] == ["A", "B"]
            rows = list(reader.iter_rows("A"))
            assert [r for r, _ in rows] == [1, 2, 3, 4, 5]
            assert reader.dimension("A") == "A1:A5"
            assert reader.read_sheet("B").cells == [Cell(1, 1, "b")]
            with pytest.raises(KeyError):
                reader.read_sheet("C")

    def test_progress_reaches_one(self) -> None:
        wb = Workbook(sheets=[Sheet(n, cells=[Cell(r, c, float(r * c)) for r in range(1, 301)
                                              for c in range(1, 4)]) for n in ("A", "B")])
        seen: list[ReadProgress] = []
        read_workbook(workbook_bytes(wb), progress=seen.append, progress_every_rows=100,
                      progress_interval=3600)
        assert [p.sheet for p in seen].count("A") == 5  # start, 100, 200, 300, end
        fractions = [p.fraction for p in seen]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert seen[-1].cells == 900 and seen[-1].rows == 300

    def test_progress_by_time_on_slow_rows(self) -> None:
        wb = Workbook(sheets=[Sheet("A", cells=[Cell(r, 1, 1.0) for r in range(1, 51)])])
        seen: list[ReadProgress] = []
        read_workbook(workbook_bytes(wb), progress=seen.append, progress_every_rows=10**9,
                      progress_interval=0.0)
        assert [p.rows for p in seen] == [0, *range(1, 51), 50]

    def test_progress_callback_cancels(self) -> None:
        wb = Workbook(sheets=[Sheet("A", cells=[Cell(r, 1, 1.0) for r in range(1, 2000)])])

        def cancel(p: ReadProgress) -> None:
            if p.rows >= 500:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            read_workbook(workbook_bytes(wb), progress=cancel, progress_every_rows=500)

    def test_reads_from_a_path(self, tmp_path: Path) -> None:
        path = tmp_path / "b.xlsx"
        path.write_bytes(workbook_bytes(Workbook(sheets=[Sheet("S", cells=[Cell(1, 1, 1.0)])])))
        assert read_workbook(path).sheets[0].cells == [Cell(1, 1, 1.0)]


class TestDamagedContent:
    def test_malformed_sheet_xml(self) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(_with_sheet_xml('<row r="1"><c r="A1"><v>1</v></row>'))
        assert caught.value.reason == "MALFORMED_XML"

    def test_shared_string_out_of_range(self) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(_with_sheet_xml('<row r="1"><c r="A1" t="s"><v>9</v></c></row>',
                                          strings=["<t>only</t>"]))
        assert caught.value.reason == "MALFORMED_WORKBOOK"
        assert "A1" in caught.value.message

    def test_bad_number(self) -> None:
        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(_with_sheet_xml('<row r="1"><c r="B2"><v>abc</v></c></row>'))
        assert caught.value.reason == "MALFORMED_WORKBOOK"

    def test_unsafe_xml_is_refused_before_parsing(self) -> None:
        from calcwire.testing.badfiles import external_entity_workbook

        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(external_entity_workbook())
        assert caught.value.reason == "UNSAFE_XML"

    def test_damage_beyond_what_the_screening_reads(self) -> None:
        """Corrupt deflate data deep in a big worksheet: the screening reads only its start."""
        from calcwire.workbook.generate import generate_model

        data = bytearray(workbook_bytes(generate_model(20_000)))
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            info = zf.getinfo("xl/worksheets/sheet2.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        middle = start + info.compress_size * 3 // 4
        for i in range(middle, middle + 64):
            data[i] ^= 0xA5
        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(bytes(data))
        assert caught.value.reason in ("DAMAGED_ZIP", "MALFORMED_XML")


def _both_ways(data: bytes) -> tuple[list[Cell], list[Cell]]:
    """The cells of the first sheet read by the fast scanner (when it reads it) and by lxml."""
    from calcwire.workbook import reader as r

    def lxml_only(self: object, stream: object, out: object) -> Iterator[None]:
        raise r.NotPlainExcel("lxml only")
        yield  # pragma: no cover

    fast = read_workbook(data).sheets[0].cells
    original = r._SheetParser.fast_rows
    r._SheetParser.fast_rows = lxml_only  # type: ignore[method-assign,assignment]
    try:
        slow = read_workbook(data).sheets[0].cells
    finally:
        r._SheetParser.fast_rows = original  # type: ignore[method-assign]
    return fast, slow


class TestFastScanner:
    """The regex scanner reads Excel's own dialect; lxml reads the rest; both agree."""

    SHEET = (
        '<row r="1" spans="1:4" ht="15"><c r="A1" s="1"><v>1.5</v></c>'
        '<c r="B1" t="s"><v>0</v></c><c r="C1" t="str"><f>A1&amp;"&lt;&gt;&#10;"</f>'
        '<v xml:space="preserve">1.5&lt;&gt;\n</v></c><c r="D1" t="e"><v>#N/A</v></c></row>'
        '<row r="2"><c r="A2"><f t="shared" ref="A2:C2" si="0">A1*2</f><v>3</v></c>'
        '<c r="B2"><f t="shared" si="0"/><v>0</v></c><c r="C2" t="str"><f t="shared" si="0"/>'
        '<v/></c><c r="D2" s="1"/></row><row r="3"/>'
        '<row r="4"><c r="A4"><f t="array" ref="A4:A5">{1;2}</f><v>1</v></c>'
        '<c r="B4"><f t="dataTable" ref="B4:B5" dt2D="0" dtr="1" r1="A1"/><v>7</v></c></row>'
    )

    def test_the_same_cells_as_lxml(self) -> None:
        data = _with_sheet_xml(self.SHEET, strings=["<t>text</t>"])
        fast, slow = _both_ways(data)
        assert fast == slow
        by_ref = {(c.row, c.col): c for c in fast}
        assert by_ref[(1, 3)].formula == 'A1&"<>\n"'
        assert by_ref[(1, 3)].value == "1.5<>\n"
        assert by_ref[(2, 2)].formula == "B1*2"
        assert by_ref[(2, 3)].value == ""

    @pytest.mark.parametrize(
        "unusual",
        [
            '<row r="9"><c r="A9" t="inlineStr"><is><t>inline</t></is></c></row>',
            '<row r="9"><c t="n" r="A9"><v>1</v></c></row>',  # attributes out of order
            '<row spans="1:1" r="9"><c r="A9"><v>1</v></c></row>',  # so is the row's
            '<row r="9"><c><v>1</v></c></row>',  # no reference
            '<!-- a comment --><row r="9"><c r="A9"><v>1</v></c></row>',
            '<row r="9"><c r="A9"><v>1&nbsp;</v></c></row>',  # an unknown entity
        ],
    )
    def test_anything_else_is_read_by_lxml(self, unusual: str) -> None:
        data = _with_sheet_xml(self.SHEET + unusual, strings=["<t>text</t>"])
        if "&nbsp;" in unusual:
            with pytest.raises(InvalidWorkbook):  # not XML: lxml's verdict stands
                read_workbook(data)
            return
        fast, slow = _both_ways(data)
        assert fast == slow
        assert any(c.row == 9 for c in fast)

    def test_declining_halfway_keeps_the_rows_already_read(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from calcwire.workbook import _fast_sheet

        monkeypatch.setattr(_fast_sheet, "_CHUNK", 64)  # many chunks
        rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 40))
        late = '<row r="40"><c r="A40" t="inlineStr"><is><t>late</t></is></c></row>'
        data = _with_sheet_xml(rows + late)
        fast, slow = _both_ways(data)
        assert fast == slow
        assert [c.value for c in fast] == [float(r) for r in range(1, 40)] + ["late"]

    def test_a_prefixed_sheet_is_read_by_lxml(self) -> None:
        base = workbook_bytes(Workbook(sheets=[Sheet("S")]))
        xml = (f'<?xml version="1.0"?><x:worksheet xmlns:x="{MAIN}"><x:sheetData>'
               '<x:row r="1"><x:c r="A1"><x:v>5</x:v></x:c></x:row></x:sheetData></x:worksheet>')
        cells = read_workbook(_replace(base, {"xl/worksheets/sheet1.xml": xml})).sheets[0].cells
        assert [(c.row, c.col, c.value) for c in cells] == [(1, 1, 5.0)]

    def test_damage_after_the_cells_is_still_seen(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The scanner stops parsing at </sheetData> but reads on, for the zip's CRC check."""
        from calcwire.workbook import _fast_sheet

        monkeypatch.setattr(_fast_sheet, "_CHUNK", 256)
        rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 50))
        # a "</row>" in a comment ends the chunk early; then 80 KB of incompressible text
        tail = "<!-- </row> " + random.Random(7).randbytes(40_000).hex() + " -->"
        data = bytearray(_replace(workbook_bytes(Workbook(sheets=[Sheet("S")])), {
            "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">'
                                        f"<sheetData>{rows}</sheetData>{tail}</worksheet>"}))
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            info = zf.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        end = start + info.compress_size
        for i in range(end - 16, end):
            data[i] ^= 0xA5
        with pytest.raises(InvalidWorkbook) as caught:
            read_workbook(bytes(data))
        assert caught.value.reason in ("DAMAGED_ZIP", "MALFORMED_XML")

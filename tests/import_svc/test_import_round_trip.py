"""What the evaluation worker will rely on: a workbook rebuilt from GetModel + StreamCells
(with calcwire.wire) is the workbook the reader reads from the file, so the engine never
needs the file. Array, dynamic-array and Data Table formulas, errors, logicals, text, number
formats, defined names of both scopes, calculation settings, date1904, external links (with
the sheets Excel could not refresh), Excel Tables and the application that saved the file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from import_helpers import Client

from calcwire.jobs.v1 import jobs_pb2
from calcwire.values import XlError
from calcwire.wire import calc_settings_from_proto, cell_from_proto, value_from_proto
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
from calcwire.workbook.reader import WorkbookReader, read_workbook
from calcwire.workbook.writer import workbook_bytes
from calcwire.workbooks.v1 import workbooks_pb2

pytestmark = pytest.mark.stack


def special_workbook() -> Workbook:
    calc = [
        Cell(1, 1, 1.0), Cell(1, 2, 2.0, formula="A1:A2*2", array_ref="B1:B2"),
        Cell(1, 3, 1.0, formula="_xlfn.SEQUENCE(2)", array_ref="C1:C2", dynamic=True),
        Cell(1, 4, "text"),
        Cell(2, 1, 2.0), Cell(2, 2, 4.0), Cell(2, 3, 2.0), Cell(2, 4, True),
        Cell(2, 5, 10.0, formula="TABLE(,A1)",
             data_table=DataTable("E2:E3", False, False, "A1", None)),
        Cell(3, 1, XlError.DIV0), Cell(3, 2, 0.25, number_format="0.0%"),
        Cell(3, 3, XlError.NA, formula="NA()"), Cell(3, 5, 20.0),
        Cell(4, 1, 45292.0, number_format="yyyy-mm-dd"),
        Cell(4, 2, 5.0, formula="[1]Other!A1"),
        Cell(4, 3, None, formula="A1+1"),  # never calculated
    ]
    return Workbook(
        sheets=[Sheet("Calc", cells=calc), Sheet("Hidden", state="hidden",
                                                 cells=[Cell(1, 1, "x")])],
        names=[DefinedName("Rate", "Calc!$B$3"),
               DefinedName("Local", "Calc!$A$1", scope="Calc", hidden=True)],
        calc=CalcSettings(mode="manual", iterate=True, iterate_count=50, iterate_delta=0.01,
                          full_calc_on_load=True),
        external_links=[ExternalLink(index=1, target="other.xlsx", sheet_names=["Other"],
                                     cells={"Other": {"A1": 5.0, "B2": "far"}},
                                     names=[DefinedName("Far", "Other!$B$2")])],
        date1904=True,
    )


class TestRoundTrip:
    async def test_the_stored_model_is_the_workbook_the_reader_reads(
        self, client: Client
    ) -> None:
        data = workbook_bytes(special_workbook())
        expected = read_workbook(data)
        answer = await client.upload(data, file_name="special.xlsx")
        events = await client.wait_imported(answer.job.name)
        assert events[-1].percent == 50, events[-1]

        model = (await client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=client.md)).model
        calc, date1904 = calc_settings_from_proto(model.calculation)
        assert (calc, date1904) == (expected.calc, expected.date1904)
        assert [(s.name, s.visibility) for s in model.sheets] == [
            ("Calc", workbooks_pb2.SHEET_VISIBILITY_VISIBLE),
            ("Hidden", workbooks_pb2.SHEET_VISIBILITY_HIDDEN),
        ]
        assert [DefinedName(n.name, n.refers_to, n.scope or None, n.hidden)
                for n in model.defined_names] == expected.names
        links = [
            ExternalLink(
                index=link.index, target=link.target, sheet_names=list(link.sheet_names),
                cells={sheet: {c.address: value_from_proto(c.value) for c in link.cells
                               if c.sheet == sheet} for sheet in {c.sheet for c in link.cells}},
                names=[DefinedName(n.name, n.refers_to, n.scope or None, n.hidden)
                       for n in link.defined_names],
            )
            for link in model.external_links
        ]
        assert links == expected.external_links

        rebuilt: dict[str, list[Cell]] = {}
        async for batch in client.workbooks.StreamCells(
            workbooks_pb2.StreamCellsRequest(parent=answer.model.name), metadata=client.md
        ):
            for cell in batch.cells:
                rebuilt.setdefault(cell.sheet, []).append(cell_from_proto(cell))
        assert rebuilt == {sheet.name: sheet.cells for sheet in expected.sheets}
        counts = model.cell_counts
        assert (counts.formulas, counts.numbers, counts.strings, counts.booleans,
                counts.errors) == (6, 7, 2, 1, 1)


# --------------------------------------------------------------------------- tables, links, app

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def _manifest_files() -> list[Path]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as f:
        return [CORPUS / row["file"] for row in csv.DictReader(f, delimiter="\t")]


def _corpus_with_tables_or_links() -> list[Path]:
    """The corpus files that have Excel Tables or external links (four today)."""
    chosen = []
    for path in _manifest_files():
        with WorkbookReader(path) as reader:
            if reader.tables or reader.external_links:
                chosen.append(path)
    return chosen


def _extras(model: workbooks_pb2.Model) -> tuple[str, list[Table], list[ExternalLink]]:
    """What GetModel says of the application, tables and links, as the reader's objects."""
    tables = [
        Table(t.name, t.display_name, t.sheet, t.range, tuple(t.columns), t.header_row_count,
              t.totals_row_count)
        for t in model.tables
    ]
    links = []
    for link in model.external_links:
        cells: dict[str, dict[str, object]] = {}
        for c in link.cells:
            cells.setdefault(c.sheet, {})[c.address] = value_from_proto(c.value)
        links.append(ExternalLink(
            index=link.index, target=link.target, sheet_names=list(link.sheet_names),
            cells=cells,  # type: ignore[arg-type]
            names=[DefinedName(n.name, n.refers_to, n.scope or None, n.hidden)
                   for n in link.defined_names],
            refresh_errors=list(link.refresh_error_sheets),
        ))
    return model.application, tables, links


def tables_workbook() -> Workbook:
    """Two tables (one with a totals row, one without headers) and a link Excel could not
    refresh."""
    cells = [Cell(1, 1, "Item"), Cell(1, 2, "Qty"), Cell(2, 1, "a"), Cell(2, 2, 3.0),
             Cell(3, 1, "b"), Cell(3, 2, 4.0), Cell(4, 1, "Total"),
             Cell(4, 2, 7.0, formula="SUBTOTAL(109,Sales[Qty])"),
             Cell(1, 4, 1.0), Cell(1, 5, 2.0),
             Cell(6, 1, XlError.REF, formula="[1]Gone!A1")]
    return Workbook(
        sheets=[Sheet("Data", cells=cells)],
        tables=[Table("Sales", "Sales", "Data", "A1:B4", ("Item", "Qty"), 1, 1),
                Table("Table2", "Bare", "Data", "D1:E1", ("Column1", "Column2"), 0, 0)],
        external_links=[ExternalLink(index=1, target="gone.xlsx", sheet_names=["Gone"],
                                     refresh_errors=["Gone"])],
    )


class TestTablesApplicationAndLinks:
    async def test_a_generated_workbook(self, client: Client) -> None:
        data = workbook_bytes(tables_workbook())
        expected = read_workbook(data)
        assert len(expected.tables) == 2 and expected.external_links[0].refresh_errors
        answer = await client.upload(data, file_name="tables.xlsx")
        await client.wait_imported(answer.job.name)
        model = (await client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=client.md)).model
        assert _extras(model) == (expected.application, expected.tables,
                                  expected.external_links)

    @pytest.mark.parametrize("path", _corpus_with_tables_or_links(), ids=lambda p: p.name)
    async def test_corpus_files(self, client: Client, path: Path) -> None:
        with WorkbookReader(path) as reader:
            expected = (reader.application, list(reader.tables), list(reader.external_links))
        answer = await client.upload(path.read_bytes(), file_name=path.name)
        events = await client.wait_imported(answer.job.name)
        assert events[-1].state != jobs_pb2.JOB_STATE_FAILED, events[-1]
        model = (await client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=client.md)).model
        assert _extras(model) == expected
        assert model.application  # every corpus file says what saved it

    def test_the_corpus_has_them(self) -> None:
        if not _manifest_files():
            pytest.skip(f"corpus not found at {CORPUS}: tables and links are not checked "
                        "against it")
        files = _corpus_with_tables_or_links()
        assert len(files) >= 4
        with WorkbookReader(files[0]) as reader:
            assert reader.application

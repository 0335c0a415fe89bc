"""What the evaluation worker will rely on: a workbook rebuilt from GetModel + StreamCells
(with calcwire.wire) is the workbook the reader reads from the file, so the engine never
needs the file. Array, dynamic-array and Data Table formulas, errors, logicals, text, number
formats, defined names of both scopes, calculation settings, date1904, external links."""

from __future__ import annotations

import pytest
from import_helpers import Client

from calcwire.values import XlError
from calcwire.wire import calc_settings_from_proto, cell_from_proto, value_from_proto
from calcwire.workbook.model import (
    CalcSettings,
    Cell,
    DataTable,
    DefinedName,
    ExternalLink,
    Sheet,
    Workbook,
)
from calcwire.workbook.reader import read_workbook
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

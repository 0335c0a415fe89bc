"""ListCells filters (sheet, A1 range, formulas only, validation status), their errors, and
page tokens bound to the filters; on the session's several-MiB model (which the pipeline
validates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import grpc.aio
import pytest
from import_helpers import FINAL, Client, refused

from calcwire.common.v1 import cell_status_pb2
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbooks.v1 import workbooks_pb2

if TYPE_CHECKING:  # conftest is a module name several test directories share
    from conftest import BigUpload

pytestmark = pytest.mark.stack


class TestFilters:
    async def test_one_sheet(self, big_upload: BigUpload, big_client: Client) -> None:
        cells = await big_client.all_cells(big_upload.model, sheet="debt")  # any case
        assert cells and {c.sheet for c in cells} == {"Debt"}

    async def test_a_range_with_its_sheet(self, big_upload: BigUpload, big_client: Client) -> None:
        cells = await big_client.all_cells(big_upload.model, range="Operations!B2:D10")
        assert cells and {c.sheet for c in cells} == {"Operations"}
        assert all(2 <= c.row <= 10 and 2 <= c.column <= 4 for c in cells)
        assert {c.address for c in cells} >= {"C6", "D6"}
        quoted = await big_client.all_cells(big_upload.model, range="'Operations'!B2:D10")
        assert quoted == cells
        single = await big_client.all_cells(big_upload.model, range="Operations!C6")
        assert [c.address for c in single] == ["C6"]

    async def test_a_range_without_sheet_applies_to_each_sheet(
        self, big_upload: BigUpload, big_client: Client
    ) -> None:
        cells = await big_client.all_cells(big_upload.model, range="A1:A3")
        assert {c.sheet for c in cells} == {"Inputs", "Operations", "Debt", "Valuation"}
        assert all(c.column == 1 and c.row <= 3 for c in cells)
        same = await big_client.all_cells(big_upload.model, range="A1:A3", sheet="Debt")
        assert same == [c for c in cells if c.sheet == "Debt"]

    async def test_formulas_only(self, big_upload: BigUpload, big_client: Client) -> None:
        cells = await big_client.all_cells(big_upload.model, formulas_only=True,
                                                  sheet="Valuation")
        assert cells and all(c.formula.startswith("=") for c in cells)
        assert all(c.formula_kind == workbooks_pb2.FORMULA_KIND_NORMAL for c in cells)
        everything = await big_client.all_cells(big_upload.model, sheet="Valuation")
        assert len(everything) > len(cells)
        assert [c for c in everything if c.formula] == cells

    async def test_validation_status(self, big_upload: BigUpload, big_client: Client) -> None:
        # The pipeline validates the model; the filter pages through validation's results.
        ended = await big_client.watch(big_upload.job, lambda m: m.job.state in FINAL,
                                       timeout=180)
        assert ended[-1][1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED
        match = cell_status_pb2.CELL_STATUS_MATCH
        formulas = await big_client.all_cells(big_upload.model, formulas_only=True,
                                              sheet="Valuation")
        assert all(c.validation_status != cell_status_pb2.CELL_STATUS_UNSPECIFIED
                   for c in formulas)
        matching = await big_client.all_cells(big_upload.model, page_size=333,
                                              sheet="Valuation", validation_status=match)
        assert matching and matching == [c for c in formulas if c.validation_status == match]
        ranged = await big_client.all_cells(big_upload.model, range="Valuation!B2:D30",
                                            validation_status=match, page_size=7)
        assert ranged == [c for c in matching if 2 <= c.row <= 30 and 2 <= c.column <= 4]

    @pytest.mark.parametrize(
        ("fields", "reason"),
        [
            ({"sheet": "Nowhere"}, "UNKNOWN_REFERENCE"),
            ({"range": "Nowhere!A1:B2"}, "UNKNOWN_REFERENCE"),
            ({"range": "A1:"}, "INVALID_RANGE"),
            ({"range": "ZZZZ1"}, "INVALID_RANGE"),
            ({"range": "!A1"}, "INVALID_RANGE"),
            ({"range": "Debt!A1:B2", "sheet": "Inputs"}, "INVALID_RANGE"),
            ({"page_size": -5}, "INVALID_PAGE_SIZE"),
            ({"page_token": "%%%"}, "INVALID_PAGE_TOKEN"),
        ],
    )
    async def test_bad_requests(
        self, big_upload: BigUpload, big_client: Client, fields: dict[str, object], reason: str
    ) -> None:
        error = await refused(big_client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=big_upload.model, **fields),  # type: ignore[arg-type]
            metadata=big_client.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == reason

    async def test_a_token_belongs_to_its_filters(self, big_upload: BigUpload, big_client: Client) -> None:
        client = big_client
        page = await client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=big_upload.model, page_size=10, sheet="Debt"),
            metadata=client.md)
        assert len(page.cells) == 10 and page.next_page_token
        error = await refused(client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=big_upload.model, page_size=10, sheet="Inputs",
                                           page_token=page.next_page_token),
            metadata=client.md))
        assert error_reason(error) == "INVALID_PAGE_TOKEN"
        following = await client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=big_upload.model, page_size=25, sheet="Debt",
                                           page_token=page.next_page_token),
            metadata=client.md)
        assert (following.cells[0].row, following.cells[0].column) > (
            page.cells[-1].row, page.cells[-1].column)

    async def test_default_page_size(self, big_upload: BigUpload, big_client: Client) -> None:
        page = await big_client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=big_upload.model), metadata=big_client.md)
        assert len(page.cells) == 500 and page.next_page_token
        big = await big_client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=big_upload.model, page_size=50_000),
            metadata=big_client.md)
        assert len(big.cells) == 10_000  # the maximum

"""ValidationService's reads over the results of a real run (upload -> import -> evaluation ->
validation) of a small workbook with every status: order, paging, filters, errors, tenancy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from import_helpers import refused
from validation_helpers import ValidationClient, ValidationClientFactory, key

from calcwire.common.v1 import cell_status_pb2 as cs
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.names import new_id
from calcwire.validation.v1 import validation_pb2 as v
from calcwire.wire import value_from_proto
from calcwire.workbook.model import Cell, Sheet, Workbook
from calcwire.workbook.writer import workbook_bytes
from calcwire.workbooks.v1 import workbooks_pb2

pytestmark = pytest.mark.stack


def every_status() -> bytes:
    calc = [
        Cell(1, 1, 5.0), Cell(2, 1, 7.0),
        Cell(1, 2, 10.0, formula="A1*2"),              # match
        Cell(2, 2, 99.0, formula="A1+A2"),             # mismatch by 87
        Cell(3, 2, 20.0, formula="A2*3"),              # mismatch by 1
        Cell(4, 2, "5y", formula='A1&"x"'),            # text mismatch
        Cell(5, 2, "oops", formula="A1*10"),           # cached text, computed number
        Cell(6, 2, None, formula="A1+1"),              # not cached
        Cell(7, 2, 3.0, formula="_xlfn.FORECAST.ETS(4,A1:A2,A1:A2)"),  # not computable
        Cell(8, 2, 1.0, formula="NOW()"),              # volatile
        Cell(1, 3, 0.0, formula="C2+1"),               # circular
        Cell(2, 3, 0.0, formula="C1+1"),               # circular
    ]
    calc.sort(key=lambda c: (c.row, c.col))
    other = [Cell(1, 1, 1.0, formula="Calc!A1*100"),   # mismatch by 499
             Cell(2, 1, 7.0, formula="Calc!A2")]       # match
    return workbook_bytes(Workbook(sheets=[Sheet("Calc", cells=calc),
                                           Sheet("Other", cells=other)]))


@dataclass
class Run:
    model: str
    job: str
    client: ValidationClient


@pytest.fixture(scope="module")
async def run(make_validation_client: ValidationClientFactory) -> Run:
    client = await make_validation_client()
    upload = await client.upload(every_status(), file_name="every status.xlsx")
    ended = await client.finished(upload.job.name)
    assert ended[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED, ended[-1].job
    return Run(upload.model.name, upload.job.name, client)


@pytest.fixture
async def me(run: Run, make_validation_client: ValidationClientFactory) -> ValidationClient:
    return await make_validation_client(run.client.tenant)


def at(sheet: str, address: str) -> tuple[str, int, int]:
    col = ord(address[0]) - 64
    return (sheet, int(address[1:]), col)


class TestSummary:
    async def test_counts_per_status_and_sheet(self, run: Run, me: ValidationClient) -> None:
        s = await me.summary(run.model)
        assert (s.totals.formula_cells, s.totals.match, s.totals.mismatch, s.totals.not_cached,
                s.totals.not_computable, s.totals.volatile, s.totals.circular) == (
            12, 2, 5, 1, 1, 1, 2)
        assert [(x.sheet, x.counts.formula_cells, x.counts.mismatch) for x in s.sheets] == [
            ("Calc", 10, 4), ("Other", 2, 1)]
        assert [key(r) for r in s.largest_mismatches] == [
            at("Other", "A1"), at("Calc", "B2"), at("Calc", "B3"), at("Calc", "B4"),
            at("Calc", "B5")]
        assert any("circular" in f for f in s.findings)
        assert any("could not be computed" in f for f in s.findings)


class TestListMismatches:
    async def test_largest_first_then_the_others_page_by_page(self, run: Run,
                                                             me: ValidationClient) -> None:
        seen, token = [], ""
        while True:
            page = await me.validation.ListMismatches(
                v.ListMismatchesRequest(parent=run.model, page_size=2, page_token=token),
                metadata=me.md)
            assert page.total_size == 5
            seen += page.results
            token = page.next_page_token
            if not token:
                break
        assert [key(r) for r in seen] == [at("Other", "A1"), at("Calc", "B2"), at("Calc", "B3"),
                                          at("Calc", "B4"), at("Calc", "B5")]
        assert [r.absolute_difference for r in seen] == [499.0, 87.0, 1.0, 0.0, 0.0]
        assert value_from_proto(seen[3].cached) == "5y"
        assert value_from_proto(seen[3].computed) == "5x"
        assert seen[4].reason == "cached text, computed number"
        assert seen[0].formula == "=Calc!A1*100" and seen[0].address == "A1"
        assert all(r.status == cs.CELL_STATUS_MISMATCH for r in seen)

    async def test_one_sheet(self, run: Run, me: ValidationClient) -> None:
        page = await me.validation.ListMismatches(
            v.ListMismatchesRequest(parent=run.model, sheet="other"), metadata=me.md)
        assert [key(r) for r in page.results] == [at("Other", "A1")]
        assert page.total_size == 1 and not page.next_page_token


class TestListUncalculated:
    async def test_not_cached_not_computable_and_circular_with_reasons(
        self, run: Run, me: ValidationClient
    ) -> None:
        page = await me.validation.ListUncalculated(
            v.ListUncalculatedRequest(parent=run.model), metadata=me.md)
        assert page.total_size == 4
        got = [(key(r), r.status) for r in page.results]
        assert got == [(at("Calc", "C1"), cs.CELL_STATUS_CIRCULAR),
                       (at("Calc", "C2"), cs.CELL_STATUS_CIRCULAR),
                       (at("Calc", "B6"), cs.CELL_STATUS_NOT_CACHED),
                       (at("Calc", "B7"), cs.CELL_STATUS_NOT_COMPUTABLE)]
        assert all(r.reason for r in page.results)
        assert "FORECAST.ETS" in page.results[3].reason.upper()
        other = await me.validation.ListUncalculated(
            v.ListUncalculatedRequest(parent=run.model, sheet="Other"), metadata=me.md)
        assert list(other.results) == [] and other.total_size == 0


class TestListCellResults:
    async def test_every_result_in_cell_order(self, run: Run, me: ValidationClient) -> None:
        results = await me.all_results(run.model, page_size=5)
        keys = [key(r) for r in results]
        assert len(results) == 12 and len(set(keys)) == 12
        assert keys[:10] == sorted(keys[:10], key=lambda k: (k[1], k[2]))
        assert {k[0] for k in keys[10:]} == {"Other"}

    async def test_statuses_sheet_and_range(self, run: Run, me: ValidationClient) -> None:
        matches = await me.all_results(run.model, statuses=[cs.CELL_STATUS_MATCH])
        assert [key(r) for r in matches] == [at("Calc", "B1"), at("Other", "A2")]
        two = await me.all_results(run.model, page_size=1,
                                   statuses=[cs.CELL_STATUS_VOLATILE, cs.CELL_STATUS_CIRCULAR])
        assert [key(r) for r in two] == [at("Calc", "C1"), at("Calc", "C2"), at("Calc", "B8")]
        ranged = await me.all_results(run.model, sheet="Calc", range="B2:C3")
        assert [key(r) for r in ranged] == [at("Calc", "B2"), at("Calc", "C2"), at("Calc", "B3")]


class TestBatchGet:
    async def test_in_the_order_asked_missing_left_out(self, run: Run,
                                                       me: ValidationClient) -> None:
        cells = [v.CellKey(sheet="Other", row=1, column=1), v.CellKey(sheet="Calc", row=1, column=1),
                 v.CellKey(sheet="Nowhere", row=1, column=1),
                 v.CellKey(sheet="calc", row=2, column=2)]
        got = await me.validation.BatchGetCellResults(
            v.BatchGetCellResultsRequest(parent=run.model, cells=cells), metadata=me.md)
        assert [key(r) for r in got.results] == [at("Other", "A1"), at("Calc", "B2")]
        only = await me.validation.BatchGetCellResults(
            v.BatchGetCellResultsRequest(parent=run.model, cells=cells,
                                         status=cs.CELL_STATUS_MATCH), metadata=me.md)
        assert list(only.results) == []


class TestErrors:
    @pytest.mark.parametrize(("request_", "reason"), [
        (lambda m: v.ListMismatchesRequest(parent=m, page_token="%%%"), "INVALID_PAGE_TOKEN"),
        (lambda m: v.ListMismatchesRequest(parent=m, page_size=-1), "INVALID_PAGE_SIZE"),
        (lambda m: v.ListMismatchesRequest(parent=m, sheet="Nowhere"), "UNKNOWN_REFERENCE"),
        (lambda m: v.ListCellResultsRequest(parent=m, range="Calc!A1:B2"), "INVALID_RANGE"),
        (lambda m: v.ListCellResultsRequest(parent=m, range="A1:"), "INVALID_RANGE"),
        (lambda m: v.ListCellResultsRequest(parent=m, statuses=[99]), "INVALID_STATUS"),
        (lambda m: v.ListUncalculatedRequest(parent="models/42"), "INVALID_NAME"),
    ])
    async def test_bad_requests(self, run: Run, me: ValidationClient,
                                request_: Callable[[str], object], reason: str) -> None:
        request = request_(run.model)
        method = {v.ListMismatchesRequest: me.validation.ListMismatches,
                  v.ListCellResultsRequest: me.validation.ListCellResults,
                  v.ListUncalculatedRequest: me.validation.ListUncalculated}[type(request)]
        error = await refused(method(request, metadata=me.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == reason

    async def test_a_token_belongs_to_its_filters(self, run: Run, me: ValidationClient) -> None:
        first = await me.validation.ListMismatches(
            v.ListMismatchesRequest(parent=run.model, page_size=1), metadata=me.md)
        error = await refused(me.validation.ListMismatches(
            v.ListMismatchesRequest(parent=run.model, page_size=1, sheet="Calc",
                                    page_token=first.next_page_token), metadata=me.md))
        assert error_reason(error) == "INVALID_PAGE_TOKEN"
        error = await refused(me.validation.ListCellResults(
            v.ListCellResultsRequest(parent=run.model, page_token=first.next_page_token),
            metadata=me.md))
        assert error_reason(error) == "INVALID_PAGE_TOKEN"


def every_call(model: str, c: ValidationClient) -> list[object]:
    s = c.validation
    return [
        s.ValidateModel(v.ValidateModelRequest(name=model), metadata=c.md),
        s.GetValidationSummary(v.GetValidationSummaryRequest(model=model), metadata=c.md),
        s.ListMismatches(v.ListMismatchesRequest(parent=model), metadata=c.md),
        s.ListUncalculated(v.ListUncalculatedRequest(parent=model), metadata=c.md),
        s.ListCellResults(v.ListCellResultsRequest(parent=model), metadata=c.md),
        s.BatchGetCellResults(v.BatchGetCellResultsRequest(
            parent=model, cells=[v.CellKey(sheet="Calc", row=1, column=2)]), metadata=c.md),
    ]


class TestTenancy:
    async def test_another_tenants_model_is_not_found_like_a_missing_one(
        self, run: Run, client: ValidationClient, direct: Callable[[str], ValidationClient]
    ) -> None:
        for c in (client, direct(client.tenant)):
            for model in (run.model, f"models/{new_id()}"):
                for call in every_call(model, c):
                    error = await refused(call)
                    assert error.code() == grpc.StatusCode.NOT_FOUND, (model, call)
                    assert error_reason(error) == "MODEL_NOT_FOUND"

    async def test_a_deleted_models_results_are_gone(self, me: ValidationClient) -> None:
        upload = await me.upload(every_status(), file_name="deleted.xlsx")
        assert (await me.finished(upload.job.name))[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED
        assert (await me.summary(upload.model.name)).totals.formula_cells == 12
        await me.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=upload.model.name),
                                       metadata=me.md)
        for call in every_call(upload.model.name, me):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND

"""The whole pipeline through the gateway: upload -> import -> evaluation -> validation, and
what validation then serves. The model is stale on purpose: an input changed after its last
calculation, so the mismatches must be exactly the cells that depend on it."""

from __future__ import annotations

import grpc
import pytest
from conftest import Validated
from import_helpers import refused
from validation_helpers import ValidationClient, dependents, job_over, key, stale_model

from calcwire.common.v1 import calculation_pb2, cell_status_pb2
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.validation.v1 import validation_pb2
from calcwire.wire import value_from_proto

pytestmark = pytest.mark.stack

MISMATCH = cell_status_pb2.CELL_STATUS_MISMATCH
MATCH = cell_status_pb2.CELL_STATUS_MATCH


class TestPipeline:
    async def test_the_job_goes_through_every_stage_to_succeeded(self, validated: Validated) -> None:
        jobs = [m.job for m in validated.watched]
        assert jobs[-1].state == jobs_pb2.JOB_STATE_SUCCEEDED, jobs[-1]
        assert jobs[-1].stage == jobs_pb2.JOB_STAGE_DONE and jobs[-1].percent == 100
        stages = [j.stage for j in jobs]
        for stage in (jobs_pb2.JOB_STAGE_PARSING, jobs_pb2.JOB_STAGE_WRITING_CELLS,
                      jobs_pb2.JOB_STAGE_COMPUTING, jobs_pb2.JOB_STAGE_VALIDATING):
            assert stage in stages
        assert stages.index(jobs_pb2.JOB_STAGE_VALIDATING) > stages.index(
            jobs_pb2.JOB_STAGE_COMPUTING)
        assert "300 formula cells" in jobs[-1].message and "mismatch" in jobs[-1].message

    async def test_the_mismatches_are_exactly_the_dependents_of_the_changed_input(
        self, validated: Validated, owner: ValidationClient
    ) -> None:
        stale = validated.stale
        expected = dependents(stale.formulas, [stale.changed])
        assert 0 < len(expected) < len(stale.formulas)  # the test means something
        mismatches = await owner.all_mismatches(validated.model, page_size=7)
        assert {key(r) for r in mismatches} == expected
        assert len(mismatches) == len(expected)
        for r in mismatches:
            assert r.absolute_difference > 0
            assert value_from_proto(r.computed) - value_from_proto(r.cached) == pytest.approx(
                r.absolute_difference)
            assert r.formula == "=" + stale.formulas[key(r)]
        differences = [r.absolute_difference for r in mismatches]
        assert differences == sorted(differences, reverse=True)

    async def test_the_summary(self, validated: Validated, owner: ValidationClient) -> None:
        stale = validated.stale
        summary = await owner.summary(validated.model)
        n_stale = len(dependents(stale.formulas, [stale.changed]))
        assert summary.model == validated.model and summary.job == validated.upload.job.name
        assert summary.totals.formula_cells == len(stale.formulas)
        assert summary.totals.mismatch == n_stale
        assert summary.totals.match == len(stale.formulas) - n_stale
        assert [(s.sheet, s.counts.formula_cells) for s in summary.sheets] == [
            ("Model", len(stale.formulas))]
        assert summary.calculation_mode == calculation_pb2.CALCULATION_MODE_MANUAL
        assert summary.findings[0].startswith(
            "the file was saved with manual calculation: stale values are likely")
        assert summary.tolerance.absolute == 1e-6 and summary.tolerance.relative == 1e-9
        top = await owner.all_mismatches(validated.model)
        assert [key(r) for r in summary.largest_mismatches] == [key(r) for r in top[:20]]

    async def test_list_cells_shows_computed_values_and_statuses(
        self, validated: Validated, owner: ValidationClient
    ) -> None:
        stale = validated.stale
        expected = dependents(stale.formulas, [stale.changed])
        cells = await owner.all_cells(validated.model, page_size=37)
        formulas = [c for c in cells if c.formula]
        assert len(formulas) == len(stale.formulas)
        for c in formulas:
            wanted = MISMATCH if (c.sheet, c.row, c.column) in expected else MATCH
            assert c.validation_status == wanted
            assert c.HasField("computed_value")
        for c in cells:
            if not c.formula:
                assert c.validation_status == cell_status_pb2.CELL_STATUS_UNSPECIFIED
                assert not c.HasField("computed_value")
        mismatching = await owner.all_cells(validated.model, page_size=9,
                                            validation_status=MISMATCH)
        assert {(c.sheet, c.row, c.column) for c in mismatching} == expected
        assert [(c.sheet, c.row, c.column) for c in mismatching] == sorted(
            (c.sheet, c.row, c.column) for c in mismatching)
        assert all(c.validation_status == MISMATCH for c in mismatching)
        in_range = await owner.all_cells(validated.model, page_size=5,
                                         validation_status=MISMATCH, range="Model!C1:D30")
        assert {(c.sheet, c.row, c.column) for c in in_range} == {
            k for k in expected if k[1] <= 30 and k[2] <= 4}
        on_inputs = await owner.all_cells(validated.model, validation_status=MISMATCH,
                                          sheet="Inputs")
        assert on_inputs == []

    async def test_stream_cells_carries_results(self, validated: Validated,
                                                owner: ValidationClient) -> None:
        from calcwire.workbooks.v1 import workbooks_pb2

        statuses = {}
        async for batch in owner.workbooks.StreamCells(
                workbooks_pb2.StreamCellsRequest(parent=validated.model, batch_size=50),
                metadata=owner.md):
            for c in batch.cells:
                if c.formula:
                    statuses[(c.sheet, c.row, c.column)] = c.validation_status
        expected = dependents(validated.stale.formulas, [validated.stale.changed])
        assert {k for k, s in statuses.items() if s == MISMATCH} == expected
        assert all(s in (MATCH, MISMATCH) for s in statuses.values())

    async def test_another_tolerance_changes_the_counts(
        self, make_validation_client: object, owner: ValidationClient
    ) -> None:
        # A model of its own: revalidating the shared one would race the other tests.
        stale = stale_model(120, seed=5, manual=False, delta=0.5)
        upload = await owner.upload(stale.data, file_name="small-change.xlsx")
        done = await owner.finished(upload.job.name)
        assert done[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED
        model = upload.model.name
        before = await owner.summary(model)
        assert before.totals.mismatch > 0
        assert before.calculation_mode == calculation_pb2.CALCULATION_MODE_AUTOMATIC
        assert not any("manual" in f for f in before.findings)
        wide = (await owner.validation.ValidateModel(
            validation_pb2.ValidateModelRequest(
                name=model, tolerance=cell_status_pb2.Tolerance(absolute=1e6)),
            metadata=owner.md)).job
        assert wide.kind == jobs_pb2.JOB_KIND_VALIDATE and wide.state == jobs_pb2.JOB_STATE_QUEUED
        ended = await owner.finished(wide.name)
        assert ended[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED, ended[-1].job
        after = await owner.summary(model)
        assert after.job == wide.name and after.tolerance.absolute == 1e6
        assert after.totals.mismatch == 0
        assert after.totals.match == before.totals.match + before.totals.mismatch
        assert await owner.all_mismatches(model) == []

    async def test_validate_model_request_id_returns_the_first_job(
        self, validated: Validated, owner: ValidationClient
    ) -> None:
        request = validation_pb2.ValidateModelRequest(name=validated.model,
                                                      request_id="same-request")
        first = (await owner.validation.ValidateModel(request, metadata=owner.md)).job
        again = (await owner.validation.ValidateModel(request, metadata=owner.md)).job
        assert first.name == again.name
        ended = await owner.finished(first.name)
        assert ended[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED
        assert job_over(ended[-1])


class TestErrors:
    async def test_bad_tolerance(self, validated: Validated, owner: ValidationClient) -> None:
        for tolerance in (cell_status_pb2.Tolerance(absolute=-1),
                          cell_status_pb2.Tolerance(relative=float("nan"))):
            error = await refused(owner.validation.ValidateModel(
                validation_pb2.ValidateModelRequest(name=validated.model, tolerance=tolerance),
                metadata=owner.md))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error_reason(error) == "INVALID_TOLERANCE"

    async def test_not_validated_when_the_upload_did_not_ask(self,
                                                             owner: ValidationClient) -> None:
        from import_helpers import unique_workbook

        from calcwire.workbooks.v1 import workbooks_pb2

        async def requests():  # type: ignore[no-untyped-def]
            yield workbooks_pb2.UploadWorkbookRequest(metadata=workbooks_pb2.UploadMetadata(
                file_name="no-validation.xlsx", validate=False))
            yield workbooks_pb2.UploadWorkbookRequest(chunk=unique_workbook(50))

        upload = await owner.workbooks.UploadWorkbook(requests(), metadata=owner.md)
        ended = await owner.finished(upload.job.name)
        assert ended[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED
        assert jobs_pb2.JOB_STAGE_VALIDATING not in [m.job.stage for m in ended]
        model = upload.model.name
        for call in (
            owner.validation.GetValidationSummary(
                validation_pb2.GetValidationSummaryRequest(model=model), metadata=owner.md),
            owner.validation.ListMismatches(
                validation_pb2.ListMismatchesRequest(parent=model), metadata=owner.md),
            owner.validation.ListUncalculated(
                validation_pb2.ListUncalculatedRequest(parent=model), metadata=owner.md),
            owner.validation.ListCellResults(
                validation_pb2.ListCellResultsRequest(parent=model), metadata=owner.md),
        ):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert error_reason(error) == "NOT_VALIDATED"
        none = await owner.validation.BatchGetCellResults(
            validation_pb2.BatchGetCellResultsRequest(
                parent=model, cells=[validation_pb2.CellKey(sheet="Sheet1", row=1, column=2)]),
            metadata=owner.md)
        assert list(none.results) == []
        cells = await owner.all_cells(model)
        assert cells and not any(c.HasField("computed_value") for c in cells)
        error = await refused(owner.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=model, validation_status=MISMATCH),
            metadata=owner.md))
        assert error_reason(error) == "NOT_VALIDATED"
        # It was evaluated, so it can be validated on request.
        job = (await owner.validation.ValidateModel(
            validation_pb2.ValidateModelRequest(name=model), metadata=owner.md)).job
        assert (await owner.finished(job.name))[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED
        summary = await owner.summary(model)
        assert summary.totals.formula_cells == summary.totals.match == 50

    async def test_not_evaluated(self, owner: ValidationClient) -> None:
        from test_import_bad_files import malformed_sheet

        upload = await owner.upload(malformed_sheet())
        ended = await owner.finished(upload.job.name)
        assert ended[-1].job.state == jobs_pb2.JOB_STATE_FAILED
        error = await refused(owner.validation.ValidateModel(
            validation_pb2.ValidateModelRequest(name=upload.model.name), metadata=owner.md))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(error) == "NOT_EVALUATED"

"""Must show: every public RPC through the gateway, four ways.

For every method of every public service (read from the descriptors, so a new
RPC without a row here fails ``test_the_matrix_covers_every_public_method``):

- without a key: UNAUTHENTICATED, ``API_KEY_MISSING``;
- with a revoked key: UNAUTHENTICATED, ``API_KEY_REVOKED``;
- with another tenant's key: NOT_FOUND, exactly as for an id that does not
  exist, and nothing of the owner's changed (lists: the owner's resources are
  not in the other tenant's list; an upload: the other tenant's model is not
  the owner's);
- with the right key: OK.

The first two are the gateway's alone and pass for every method today. The
last two need the backends: tenant ``owner`` uploads a generated workbook
through the gateway and its job runs the pipeline. Every backend implements
every method now, so a method that answers UNIMPLEMENTED, or a pipeline that
cannot get a model as far as a method needs (no upload, a job that never
succeeds), fails the case with the reason.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import grpc
import grpc.aio
import pytest
from tests_support import Metadata, bearer

from calcwire.common.v1 import cell_value_pb2
from calcwire.devstack import LocalStack
from calcwire.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from calcwire.validation.v1 import validation_pb2, validation_pb2_grpc
from calcwire.workbook import Cell, Sheet, Workbook, workbook_bytes
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc
from gateway.keys import revoke_api_key
from gateway.routes import public_service_descriptors
from gateway.store import KeyStore

pytestmark = pytest.mark.stack

# How long the fixture waits for the owner's upload to go through the pipeline.
PIPELINE_WAIT_SECONDS = 30.0
FINAL_STATES = {
    jobs_pb2.JOB_STATE_SUCCEEDED,
    jobs_pb2.JOB_STATE_FAILED,
    jobs_pb2.JOB_STATE_CANCELLED,
}
NO_SUCH_MODEL = "models/00000000-0000-4000-8000-000000000000"
NO_SUCH_JOB = "jobs/00000000-0000-4000-8000-000000000000"


@dataclass
class Stubs:
    workbooks: workbooks_pb2_grpc.WorkbookServiceStub
    jobs: jobs_pb2_grpc.JobServiceStub
    evaluation: evaluation_pb2_grpc.EvaluationServiceStub
    validation: validation_pb2_grpc.ValidationServiceStub


@dataclass
class Upload:
    model: str
    job: str


@dataclass
class World:
    """What the matrix works on: keys, and the owner's models once uploads work."""

    stubs: Stubs
    owner: Metadata
    other: Metadata
    revoked: Metadata
    main: Upload | None = None
    """The owner's model, taken through the pipeline."""
    to_delete: Upload | None = None
    to_cancel: Upload | None = None
    missing: str = ""
    """Why there are no uploads (set when ``main`` is None)."""
    pipeline: str = ""
    """Why ``main`` did not get through the pipeline ("" when it succeeded)."""

    @property
    def model(self) -> str:
        return self.main.model if self.main else NO_SUCH_MODEL

    @property
    def job(self) -> str:
        return self.main.job if self.main else NO_SUCH_JOB


def small_workbook() -> bytes:
    return workbook_bytes(
        Workbook(
            sheets=[
                Sheet("Inputs", cells=[Cell(1, 1, 2.0), Cell(2, 1, 10.0, formula="A1*5")]),
                Sheet("Calc", cells=[Cell(1, 1, 11.0, formula="Inputs!A2+1")]),
            ]
        )
    )


async def upload(
    stubs: Stubs, metadata: Metadata, name: str
) -> workbooks_pb2.UploadWorkbookResponse:
    data = small_workbook()

    async def messages() -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
        yield workbooks_pb2.UploadWorkbookRequest(
            metadata=workbooks_pb2.UploadMetadata(
                display_name=name,
                file_name=f"{name}.xlsx",
                request_id=str(uuid.uuid4()),
                expected_size_bytes=len(data),
            )
        )
        yield workbooks_pb2.UploadWorkbookRequest(chunk=data)

    response: workbooks_pb2.UploadWorkbookResponse = await stubs.workbooks.UploadWorkbook(
        messages(), metadata=metadata, timeout=30
    )
    return response


async def wait_for_job(stubs: Stubs, metadata: Metadata, job: str) -> str:
    """ "" once ``job`` succeeded, else why it did not (within PIPELINE_WAIT_SECONDS)."""
    deadline = time.monotonic() + PIPELINE_WAIT_SECONDS
    state = jobs_pb2.JOB_STATE_UNSPECIFIED
    while time.monotonic() < deadline:
        try:
            reply = await stubs.jobs.GetJob(
                jobs_pb2.GetJobRequest(name=job), metadata=metadata, timeout=10
            )
        except grpc.aio.AioRpcError as error:
            return f"GetJob answers {error.code().name}: cannot follow the upload's job"
        state = reply.job.state
        if state == jobs_pb2.JOB_STATE_SUCCEEDED:
            return ""
        if state in FINAL_STATES:
            return f"the upload's job ended {jobs_pb2.JobState.Name(state)}: {reply.job.error}"
        await asyncio.sleep(0.2)
    return (
        f"the upload's job is still {jobs_pb2.JobState.Name(state)} after "
        f"{PIPELINE_WAIT_SECONDS:g} s: a stage's worker is missing"
    )


@pytest.fixture(scope="module")
async def world(
    services: LocalStack,
    gateway_channel: grpc.aio.Channel,
    issue_key: Callable[..., Awaitable[str]],
    key_store: KeyStore,
) -> World:
    suffix = uuid.uuid4().hex[:8]  # unique tenants, even on a shared test database
    revoked_key = await issue_key(f"owner-{suffix}")
    await revoke_api_key(key_store, revoked_key.split("_")[1])
    found = World(
        stubs=Stubs(
            workbooks_pb2_grpc.WorkbookServiceStub(gateway_channel),
            jobs_pb2_grpc.JobServiceStub(gateway_channel),
            evaluation_pb2_grpc.EvaluationServiceStub(gateway_channel),
            validation_pb2_grpc.ValidationServiceStub(gateway_channel),
        ),
        owner=bearer(await issue_key(f"owner-{suffix}")),
        other=bearer(await issue_key(f"other-{suffix}")),
        revoked=bearer(revoked_key),
    )
    uploads = []
    try:
        for name in ("matrix", "matrix-delete", "matrix-cancel"):
            reply = await upload(found.stubs, found.owner, name)
            uploads.append(Upload(model=reply.model.name, job=reply.job.name))
    except grpc.aio.AioRpcError as error:
        found.missing = (
            f"UploadWorkbook answers {error.code().name} ({error_reason(error)}): "
            "the owner's model cannot be created yet (import_svc)"
        )
        return found
    found.main, found.to_delete, found.to_cancel = uploads
    found.pipeline = await wait_for_job(found.stubs, found.owner, found.main.job)
    return found


# ------------------------------------------------------------------ the calls


Call = Callable[[World, Metadata], Awaitable[Any]]
Need = Literal["keys", "model", "pipeline"]


async def _stream(call: Any) -> list[Any]:
    return [message async for message in call]


async def _first(call: Any) -> Any:
    """The first message of a stream that may go on (WatchJob of a live job), then cancel."""
    try:
        message = await call.read()
    finally:
        call.cancel()
    if message is grpc.aio.EOF:
        raise AssertionError("the stream ended without a message")
    return message


def _cell(sheet: str, row: int, column: int) -> validation_pb2.CellKey:
    return validation_pb2.CellKey(sheet=sheet, row=row, column=column)


async def _upload_call(world: World, metadata: Metadata) -> Any:
    return await upload(world.stubs, metadata, "matrix-upload")


@dataclass(frozen=True)
class Case:
    """One public method in the matrix."""

    call: Callable[[World, Metadata], Awaitable[Any]]
    cross: Literal["not_found", "invisible", "own"]
    """What another tenant gets: NOT_FOUND; a list without the owner's; its own new model."""
    need: Need
    """What the right-key call needs: only keys, the owner's model, or the whole pipeline."""
    listed: Callable[[Any], list[str]] | None = None


def cases() -> dict[str, Case]:
    s = lambda w: w.stubs
    return {
        # ---------------------------------------------------------------- workbooks
        "calcwire.workbooks.v1.WorkbookService/UploadWorkbook": Case(
            _upload_call, cross="own", need="keys"
        ),
        "calcwire.workbooks.v1.WorkbookService/GetModel": Case(
            lambda w, m: s(w).workbooks.GetModel(
                workbooks_pb2.GetModelRequest(name=w.model), metadata=m, timeout=10
            ),
            cross="not_found",
            need="model",
        ),
        "calcwire.workbooks.v1.WorkbookService/ListModels": Case(
            lambda w, m: s(w).workbooks.ListModels(
                workbooks_pb2.ListModelsRequest(page_size=1000), metadata=m, timeout=10
            ),
            cross="invisible",
            need="model",
            listed=lambda reply: [model.name for model in reply.models],
        ),
        "calcwire.workbooks.v1.WorkbookService/DeleteModel": Case(
            lambda w, m: s(w).workbooks.DeleteModel(
                workbooks_pb2.DeleteModelRequest(
                    name=w.to_delete.model if w.to_delete and m == w.owner else w.model
                ),
                metadata=m,
                timeout=10,
            ),
            cross="not_found",
            need="model",
        ),
        "calcwire.workbooks.v1.WorkbookService/ListCells": Case(
            lambda w, m: s(w).workbooks.ListCells(
                workbooks_pb2.ListCellsRequest(parent=w.model), metadata=m, timeout=10
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.workbooks.v1.WorkbookService/StreamCells": Case(
            lambda w, m: _stream(
                s(w).workbooks.StreamCells(
                    workbooks_pb2.StreamCellsRequest(parent=w.model), metadata=m, timeout=10
                )
            ),
            cross="not_found",
            need="pipeline",
        ),
        # ---------------------------------------------------------------- jobs
        "calcwire.jobs.v1.JobService/GetJob": Case(
            lambda w, m: s(w).jobs.GetJob(
                jobs_pb2.GetJobRequest(name=w.job), metadata=m, timeout=10
            ),
            cross="not_found",
            need="model",
        ),
        "calcwire.jobs.v1.JobService/ListJobs": Case(
            lambda w, m: s(w).jobs.ListJobs(
                jobs_pb2.ListJobsRequest(page_size=1000), metadata=m, timeout=10
            ),
            cross="invisible",
            need="model",
            listed=lambda reply: [job.name for job in reply.jobs],
        ),
        "calcwire.jobs.v1.JobService/CancelJob": Case(
            lambda w, m: s(w).jobs.CancelJob(
                jobs_pb2.CancelJobRequest(
                    name=w.to_cancel.job if w.to_cancel and m == w.owner else w.job
                ),
                metadata=m,
                timeout=10,
            ),
            cross="not_found",
            need="model",
        ),
        "calcwire.jobs.v1.JobService/WatchJob": Case(
            lambda w, m: _first(
                s(w).jobs.WatchJob(jobs_pb2.WatchJobRequest(name=w.job), metadata=m, timeout=10)
            ),
            cross="not_found",
            need="model",
        ),
        # ---------------------------------------------------------------- evaluation
        "calcwire.evaluation.v1.EvaluationService/EvaluateModel": Case(
            lambda w, m: s(w).evaluation.EvaluateModel(
                evaluation_pb2.EvaluateModelRequest(name=w.model, request_id=str(uuid.uuid4())),
                metadata=m,
                timeout=10,
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.evaluation.v1.EvaluationService/Calculate": Case(
            lambda w, m: s(w).evaluation.Calculate(
                evaluation_pb2.CalculateRequest(
                    model=w.model,
                    overrides=[
                        evaluation_pb2.InputOverride(
                            reference="Inputs!A1",
                            value=cell_value_pb2.CellValue(number_value=3.0),
                        )
                    ],
                    outputs=["Calc!A1"],
                ),
                metadata=m,
                timeout=30,
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.evaluation.v1.EvaluationService/StreamComputedValues": Case(
            lambda w, m: _stream(
                s(w).evaluation.StreamComputedValues(
                    evaluation_pb2.StreamComputedValuesRequest(model=w.model),
                    metadata=m,
                    timeout=10,
                )
            ),
            cross="not_found",
            need="pipeline",
        ),
        # ---------------------------------------------------------------- validation
        "calcwire.validation.v1.ValidationService/ValidateModel": Case(
            lambda w, m: s(w).validation.ValidateModel(
                validation_pb2.ValidateModelRequest(name=w.model, request_id=str(uuid.uuid4())),
                metadata=m,
                timeout=10,
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.validation.v1.ValidationService/GetValidationSummary": Case(
            lambda w, m: s(w).validation.GetValidationSummary(
                validation_pb2.GetValidationSummaryRequest(model=w.model), metadata=m, timeout=10
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.validation.v1.ValidationService/ListMismatches": Case(
            lambda w, m: s(w).validation.ListMismatches(
                validation_pb2.ListMismatchesRequest(parent=w.model), metadata=m, timeout=10
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.validation.v1.ValidationService/ListUncalculated": Case(
            lambda w, m: s(w).validation.ListUncalculated(
                validation_pb2.ListUncalculatedRequest(parent=w.model), metadata=m, timeout=10
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.validation.v1.ValidationService/ListCellResults": Case(
            lambda w, m: s(w).validation.ListCellResults(
                validation_pb2.ListCellResultsRequest(parent=w.model), metadata=m, timeout=10
            ),
            cross="not_found",
            need="pipeline",
        ),
        "calcwire.validation.v1.ValidationService/BatchGetCellResults": Case(
            lambda w, m: s(w).validation.BatchGetCellResults(
                validation_pb2.BatchGetCellResultsRequest(
                    parent=w.model, cells=[_cell("Inputs", 2, 1), _cell("Calc", 1, 1)]
                ),
                metadata=m,
                timeout=10,
            ),
            cross="not_found",
            need="pipeline",
        ),
    }


CASES = cases()
METHODS = sorted(CASES)


@dataclass
class Outcome:
    code: grpc.StatusCode
    reason: str | None
    reply: Any = None


async def outcome(world: World, method: str, metadata: Metadata) -> Outcome:
    try:
        reply = await CASES[method].call(world, metadata)
    except grpc.aio.AioRpcError as error:
        return Outcome(error.code(), error_reason(error))
    return Outcome(grpc.StatusCode.OK, None, reply)


def fail_if_unimplemented(result: Outcome, method: str, what: str = "") -> None:
    if result.code == grpc.StatusCode.UNIMPLEMENTED:
        pytest.fail(f"{what or method}: the backend does not implement it (UNIMPLEMENTED)")


def needs_model(world: World) -> None:
    if world.main is None:
        pytest.fail(world.missing)


async def owner_sees(world: World, method: str) -> Outcome:
    """An owner's read used to check that nothing changed."""
    result = await outcome(world, method, world.owner)
    fail_if_unimplemented(result, method, f"checking with {method}")
    assert result.code == grpc.StatusCode.OK, (method, result)
    return result


# ------------------------------------------------------------------ the matrix


class TestMatrix:
    def test_the_matrix_covers_every_public_method(self) -> None:
        public = {
            f"{service}/{method.name}"
            for service, descriptor in public_service_descriptors().items()
            for method in descriptor.methods
        }
        assert set(CASES) == public

    @pytest.mark.parametrize("method", METHODS)
    async def test_without_a_key(self, world: World, method: str) -> None:
        result = await outcome(world, method, ())
        assert (result.code, result.reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING")

    @pytest.mark.parametrize("method", METHODS)
    async def test_with_a_revoked_key(self, world: World, method: str) -> None:
        result = await outcome(world, method, world.revoked)
        assert (result.code, result.reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_REVOKED")

    @pytest.mark.parametrize("method", METHODS)
    async def test_with_another_tenants_key(self, world: World, method: str) -> None:
        needs_model(world)
        case = CASES[method]
        result = await outcome(world, method, world.other)
        fail_if_unimplemented(result, method)
        if case.cross == "not_found":
            assert result.code == grpc.StatusCode.NOT_FOUND, (
                f"another tenant's call answered {result.code.name} ({result.reason}), "
                "not NOT_FOUND"
            )
            assert result.reason in ("MODEL_NOT_FOUND", "JOB_NOT_FOUND"), result.reason
            await self._owner_unchanged(world, method)
        elif case.cross == "invisible":
            assert result.code == grpc.StatusCode.OK, result
            assert case.listed is not None
            seen = set(case.listed(result.reply))
            assert world.model not in seen and world.job not in seen
        else:  # an upload by another tenant makes that tenant's model, not the owner's
            assert result.code == grpc.StatusCode.OK, result
            theirs = result.reply.model.name
            try:
                await world.stubs.workbooks.GetModel(
                    workbooks_pb2.GetModelRequest(name=theirs), metadata=world.owner, timeout=10
                )
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as error:
                code = error.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                pytest.fail("checking with GetModel: the backend does not implement it")
            assert code == grpc.StatusCode.NOT_FOUND, "the owner sees another tenant's upload"

    async def _owner_unchanged(self, world: World, method: str) -> None:
        """After another tenant's NOT_FOUND: the owner's model and job are as they were."""
        if method.endswith(("/DeleteModel", "/GetModel")):
            await owner_sees(world, "calcwire.workbooks.v1.WorkbookService/GetModel")
        elif method.endswith("/CancelJob"):
            job = (await owner_sees(world, "calcwire.jobs.v1.JobService/GetJob")).reply.job
            assert not job.cancel_requested and job.state != jobs_pb2.JOB_STATE_CANCELLED
        elif method.endswith(("/EvaluateModel", "/ValidateModel")):
            jobs = (await owner_sees(world, "calcwire.jobs.v1.JobService/ListJobs")).reply.jobs
            on_model = [job for job in jobs if job.model == world.model]
            assert [job.name for job in on_model] == [world.job], "a job was started"

    @pytest.mark.parametrize("method", METHODS)
    async def test_with_the_right_key(self, world: World, method: str) -> None:
        case = CASES[method]
        if case.need != "keys":
            needs_model(world)
        result = await outcome(world, method, world.owner)
        fail_if_unimplemented(result, method)
        if (
            world.pipeline
            and result.code != grpc.StatusCode.OK
            and (case.need == "pipeline" or result.code == grpc.StatusCode.FAILED_PRECONDITION)
        ):
            pytest.fail(f"{method} needs a model through the pipeline: {world.pipeline}")
        assert result.code == grpc.StatusCode.OK, (result.code, result.reason)
        if case.listed is not None:
            listed = case.listed(result.reply)
            assert world.model in listed or world.job in listed, "the owner's own is not listed"

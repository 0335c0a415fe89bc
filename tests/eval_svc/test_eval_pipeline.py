"""The evaluate stage through the real services: an upload's job computes every formula cell
and stores it (StreamComputedValues), EvaluateModel computes again and replaces the values,
another tenant sees nothing, a deleted model is NOT_FOUND."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from eval_helpers import EvalClient, comparable, engine_rows
from import_helpers import new_tenant, refused

from calcwire.evaluation.v1 import evaluation_pb2
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbook.model import Cell, DefinedName, Sheet, Workbook
from calcwire.workbook.writer import workbook_bytes
from calcwire.workbooks.v1 import workbooks_pb2

pytestmark = pytest.mark.stack

CIRCULAR = "circular reference (iterative calculation off: the cell keeps its last value)"


def small_model(seed: float = 1.0) -> bytes:
    """Inputs and a Calc sheet: plain formulas, a name, FORECAST.ETS (not computable), a
    dependent of it, a two-cell cycle, NOW() (volatile), a range total."""
    inputs = [Cell(1, 1, "Rate"), Cell(1, 2, 0.05), Cell(2, 1, seed), Cell(2, 3, 1.0),
              Cell(3, 1, 2.0), Cell(3, 3, 2.0), Cell(4, 1, 3.0), Cell(4, 3, 3.0)]
    calc = [
        Cell(1, 1, 5.0, formula="Inputs!B1*100"),
        Cell(1, 2, 4.0, formula="_xlfn.FORECAST.ETS(4,Inputs!C2:C4,Inputs!C2:C4)"),
        Cell(1, 3, 5.0, formula="B1+1"),
        Cell(2, 1, 0.0, formula="B2+1"),
        Cell(2, 2, 0.0, formula="A2+1"),
        Cell(3, 1, 45000.0, formula="NOW()"),
        Cell(3, 2, 0.3, formula="SUM(Inputs!A2:A4)*Rate"),
        Cell(4, 1, 0.0, formula="A1*2"),
    ]
    return workbook_bytes(Workbook(
        sheets=[Sheet("Inputs", cells=inputs), Sheet("Calc", cells=calc)],
        names=[DefinedName("Rate", "Inputs!$B$1")],
    ))


async def uploaded(client: EvalClient, data: bytes) -> tuple[str, list[jobs_pb2.JobEvent]]:
    answer = await client.upload(data, file_name="small.xlsx")
    events = await client.wait_evaluated(answer.job.name)
    assert events[-1].state == jobs_pb2.JOB_STATE_RUNNING, events[-1]
    return answer.model.name, events


async def stored_rows(db_pool: asyncpg.Pool, model: str) -> int:
    count: int = await db_pool.fetchval(
        "SELECT count(*) FROM evaluation.computed_values WHERE model_id = $1::uuid",
        model.removeprefix("models/"),
    )
    return count


class TestEvaluateStage:
    async def test_an_upload_is_evaluated_and_its_values_stored(self, client: EvalClient) -> None:
        data = small_model()
        model, events = await uploaded(client, data)

        stages = [e.stage for e in events]
        for stage in (jobs_pb2.JOB_STAGE_BUILDING_GRAPH, jobs_pb2.JOB_STAGE_COMPUTING,
                      jobs_pb2.JOB_STAGE_WRITING_RESULTS):
            assert stage in stages
        assert stages.index(jobs_pb2.JOB_STAGE_BUILDING_GRAPH) < stages.index(
            jobs_pb2.JOB_STAGE_COMPUTING) < stages.index(jobs_pb2.JOB_STAGE_WRITING_RESULTS)
        assert events[-1].percent == 85, events[-1]
        assert events[-1].message == "computed values stored; queued for validation"

        rows = await client.computed(model)
        assert comparable(rows) == comparable(engine_rows(data))
        by_cell = {(s, r, c): (v, st, why, vol) for s, r, c, v, st, why, vol in rows}
        assert by_cell[("Calc", 1, 1)] == (5.0, "computed", "", False)
        _, status, reason, _ = by_cell[("Calc", 1, 2)]
        assert status == "not_computable" and reason.startswith("FORECAST.ETS")
        dependent = ("not_computable", "depends on not computable Calc!B1")
        assert by_cell[("Calc", 1, 3)][1:3] == dependent
        assert by_cell[("Calc", 2, 1)][1:3] == ("circular", CIRCULAR)
        assert by_cell[("Calc", 2, 2)][1] == "circular"
        now = by_cell[("Calc", 3, 1)]
        assert now[1:] == ("computed", "", True) and isinstance(now[0], float) and now[0] > 45000
        assert by_cell[("Calc", 3, 2)][0] == pytest.approx(0.3)
        assert by_cell[("Calc", 4, 1)][0] == 10.0
        assert [(s, r, c) for s, r, c, *_ in rows] == sorted(
            (s, r, c) for s, r, c, *_ in rows)  # one sheet here: row, then column order

    async def test_values_stream_in_batches_of_the_size_asked(self, client: EvalClient) -> None:
        model, _ = await uploaded(client, small_model(2.0))
        sizes = []
        async for batch in client.evaluation.StreamComputedValues(
            evaluation_pb2.StreamComputedValuesRequest(model=model, batch_size=3),
            metadata=client.md,
        ):
            sizes.append(len(batch.values))
        assert sizes == [3, 3, 2]

    async def test_evaluate_model_computes_again_and_replaces_the_values(
        self, client: EvalClient, db_pool: asyncpg.Pool
    ) -> None:
        model, _ = await uploaded(client, small_model(3.0))
        first = await client.computed(model)
        assert await stored_rows(db_pool, model) == 8

        answer = await client.evaluation.EvaluateModel(
            evaluation_pb2.EvaluateModelRequest(name=model, request_id="again-1"),
            metadata=client.md,
        )
        job = answer.job
        assert job.kind == jobs_pb2.JOB_KIND_EVALUATE and job.model == model
        assert job.state == jobs_pb2.JOB_STATE_QUEUED
        replay = await client.evaluation.EvaluateModel(
            evaluation_pb2.EvaluateModelRequest(name=model, request_id="again-1"),
            metadata=client.md,
        )
        assert replay.job.name == job.name

        events = await client.wait_evaluated(job.name)
        assert events[-1].stage == jobs_pb2.JOB_STAGE_WRITING_RESULTS
        assert await stored_rows(db_pool, model) == 8
        second = await client.computed(model)
        assert comparable(second) == comparable(first)
        stored_job = await db_pool.fetchval(
            "SELECT job_id::text FROM evaluation.evaluations WHERE model_id = $1::uuid",
            model.removeprefix("models/"))
        assert f"jobs/{stored_job}" == job.name

        other = await client.evaluation.EvaluateModel(
            evaluation_pb2.EvaluateModelRequest(name=model), metadata=client.md)
        assert other.job.name != job.name

    async def test_a_model_never_evaluated_answers_not_evaluated(
        self, client: EvalClient, db_pool: asyncpg.Pool
    ) -> None:
        model, _ = await uploaded(client, small_model(4.0))
        await db_pool.execute(  # as if the evaluation had not run yet
            "DELETE FROM evaluation.evaluations WHERE model_id = $1::uuid",
            model.removeprefix("models/"))
        error = await refused(client.computed(model))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(error) == "NOT_EVALUATED"


class TestTenancy:
    async def test_another_tenant_gets_not_found_from_every_method(
        self, client: EvalClient, make_eval_client: object, direct: object
    ) -> None:
        model, _ = await uploaded(client, small_model(5.0))
        stranger = await make_eval_client()  # type: ignore[operator]
        for other in (stranger, direct(new_tenant())):  # type: ignore[operator]
            calls = [
                other.computed(model),
                other.evaluation.EvaluateModel(
                    evaluation_pb2.EvaluateModelRequest(name=model), metadata=other.md),
                other.calculate(model, ["Calc!A1"]),
            ]
            for call in calls:
                error = await refused(call)
                assert error.code() == grpc.StatusCode.NOT_FOUND, error
                assert error_reason(error) == "MODEL_NOT_FOUND"
        # the owner, straight to eval_svc with the internal secret, reads the same values
        assert await direct(client.tenant).computed(model) == await client.computed(model)  # type: ignore[operator]

    async def test_a_deleted_model_is_not_found_and_its_values_go(
        self, client: EvalClient, db_pool: asyncpg.Pool
    ) -> None:
        model, _ = await uploaded(client, small_model(6.0))
        warm = await client.calculate(model, ["Calc!A1"])
        assert warm.outputs[0].value.number_value == 5.0
        await client.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=model),
                                           metadata=client.md)
        for call in (client.computed(model), client.calculate(model, ["Calc!A1"]),
                     client.evaluation.EvaluateModel(
                         evaluation_pb2.EvaluateModelRequest(name=model), metadata=client.md)):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND
        assert await stored_rows(db_pool, model) == 0

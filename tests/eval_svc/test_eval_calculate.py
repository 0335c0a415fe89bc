"""Calculate (what-if) through the real services: cold then warm, overrides by reference and
by name, outputs as cells, ranges and names, bad references, stored values untouched."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from eval_helpers import EvalClient
from import_helpers import refused
from test_eval_pipeline import small_model, uploaded

from calcwire.grpc_errors import error_info
from calcwire.wire import value_from_proto

pytestmark = pytest.mark.stack


class TestCalculate:
    async def test_cold_then_warm_with_overrides_by_reference_and_name(
        self, client: EvalClient
    ) -> None:
        model, _ = await uploaded(client, small_model(7.0))
        stored = await client.computed(model)

        cold = await client.calculate(model, ["Calc!A1", "Calc!B3"], {"Inputs!B1": 0.5})
        assert not cold.warm
        assert [value_from_proto(o.value) for o in cold.outputs] == [50.0, pytest.approx(6.0)]
        assert cold.recomputed_cells >= 8  # the full calculation, then the override's dependents

        warm = await client.calculate(model, ["Calc!A1", "Rate", "Calc!A4"], {"Rate": 0.1})
        assert warm.warm
        assert [value_from_proto(o.value) for o in warm.outputs] == [10.0, 0.1, 20.0]
        assert 1 <= warm.recomputed_cells < 8
        assert warm.compute_time.ToNanoseconds() > 0

        plain = await client.calculate(model, ["Calc!A1"])  # the overrides did not stay
        assert plain.warm and value_from_proto(plain.outputs[0].value) == 5.0
        assert await client.computed(model) == stored  # Calculate never writes

    async def test_ranges_and_not_computable_outputs(self, client: EvalClient) -> None:
        model, _ = await uploaded(client, small_model(8.0))
        answer = await client.calculate(model, ["Inputs!A2:A4", "Calc!B1", "Calc!A1:B1"],
                                        {"Inputs!A3": 20.0})
        cells, etsv, row = answer.outputs
        assert cells.values.rows == 3 and cells.values.columns == 1
        assert [value_from_proto(v) for v in cells.values.values] == [8.0, 20.0, 3.0]
        assert value_from_proto(cells.value) == 8.0
        assert etsv.not_computable_reason.startswith("FORECAST.ETS")
        assert row.values.columns == 2 and row.not_computable_reason.startswith("FORECAST.ETS")

    @pytest.mark.parametrize(
        ("overrides", "outputs", "bad"),
        [
            ({"Nowhere!B1": 1.0}, ["Calc!A1"], "Nowhere!B1"),
            ({"NoSuchName": 1.0}, ["Calc!A1"], "NoSuchName"),
            ({"Inputs!A2:A4": 1.0}, ["Calc!A1"], "Inputs!A2:A4"),
            ({}, ["Calc!A1", "Missing!Z9"], "Missing!Z9"),
            ({}, ["Calc!A1", "1+2"], "1+2"),
        ],
    )
    async def test_a_bad_reference_is_named(
        self, client: EvalClient, overrides: dict[str, float], outputs: list[str], bad: str
    ) -> None:
        model, _ = await uploaded(client, small_model(9.0))
        error = await refused(client.calculate(model, outputs, overrides))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        info = error_info(error)
        assert info is not None and info.reason == "UNKNOWN_REFERENCE"
        assert info.metadata["reference"] == bad
        after = await client.calculate(model, ["Calc!A1"])  # the cached model is intact
        assert value_from_proto(after.outputs[0].value) == 5.0

    async def test_no_outputs_is_refused(self, client: EvalClient) -> None:
        model, _ = await uploaded(client, small_model(10.0))
        error = await refused(client.calculate(model, []))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT

    async def test_concurrent_what_ifs_on_one_model_each_see_their_own_overrides(
        self, client: EvalClient
    ) -> None:
        model, _ = await uploaded(client, small_model(11.0))
        answers = await asyncio.gather(*(
            client.calculate(model, ["Calc!A1"], {"Inputs!B1": float(i)}) for i in range(8)
        ))
        assert [value_from_proto(a.outputs[0].value) for a in answers] == [
            100.0 * i for i in range(8)]

"""All SQL of validation_svc (schema ``validation``): cell results, summaries, request ids.

Every statement filters by tenant; statements are constants with parameters.

:meth:`ValidationStore.replace_results` is the one write of a run: under an
advisory lock per model, it deletes the model's earlier results, COPYs the new
ones as they are produced, writes the summary and commits, all in one
transaction. Readers see the earlier run until then, a failed or cancelled
run leaves nothing behind, and a redelivered order replaces rather than adds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg

from calcwire.job_events import JobKind
from calcwire.value_columns import VALUE_ERROR, VALUE_NUMBER, decode_value, encode_value
from calcwire.values import CellValue, XlError
from calcwire.work import WorkOrder
from validation_svc.compare import Status, StatusCounts, Tolerance
from validation_svc.domain import CellResult, SheetCounts, ValidationSummary

__all__ = ["RESULT_COLUMNS", "ValidationStore"]

RESULT_COLUMNS: Final = (
    "tenant_id", "model_id", "sheet_index", "sheet_name", "row_num", "col_num", "formula",
    "cached_type", "cached_number", "cached_text", "cached_bool",
    "computed_type", "computed_number", "computed_text", "computed_bool",
    "status", "reason", "abs_diff", "mismatch_rank",
)  # fmt: skip

_SELECT_RESULT: Final = """
    SELECT sheet_index, sheet_name, row_num, col_num, formula,
           cached_type, cached_number, cached_text, cached_bool,
           computed_type, computed_number, computed_text, computed_bool,
           status, reason, abs_diff
    FROM validation.cell_results"""

_COUNT_FIELDS: Final = ("formula_cells", "match", "mismatch", "not_cached", "not_computable",
                        "volatile", "circular")

# value types, as import_svc stores them


def _lock_key(tenant: str, model_id: str) -> int:
    digest = hashlib.sha256(f"calcwire.validation:{tenant}:{model_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)




def _value_json(value: CellValue) -> Any:
    if isinstance(value, XlError):
        return {"error": value.code}
    if isinstance(value, float) and not math.isfinite(value):
        return {"error": "#NUM!"}
    return value


def _value_from_json(raw: Any) -> CellValue:
    if isinstance(raw, dict):
        return decode_value(VALUE_ERROR, None, str(raw.get("error")), None)
    value: CellValue = raw
    return value


def _result_json(r: CellResult) -> dict[str, Any]:
    return {"sheet_index": r.sheet_index, "sheet": r.sheet, "row": r.row, "column": r.col,
            "formula": r.formula, "cached": _value_json(r.cached),
            "computed": _value_json(r.computed), "reason": r.reason,
            "abs_diff": r.abs_diff if r.abs_diff is None or math.isfinite(r.abs_diff) else None}


def _result_from_json(d: dict[str, Any]) -> CellResult:
    return CellResult(d["sheet_index"], d["sheet"], d["row"], d["column"], d["formula"],
                      _value_from_json(d["cached"]), _value_from_json(d["computed"]),
                      Status.MISMATCH, d["reason"], d["abs_diff"])


def _counts_json(c: StatusCounts) -> dict[str, int]:
    return c.as_dict()


def _counts_from(source: Any) -> StatusCounts:
    return StatusCounts(**{name: int(source[name]) for name in _COUNT_FIELDS})


_YIELD_EVERY: Final = 1_000
_STATUS_NAMES: Final = {status: status.name for status in Status}


def _records(tenant: str, model_uuid: uuid.UUID, results: AsyncIterable[Sequence[CellResult]],
             seen: list[int]) -> AsyncIterator[tuple[Any, ...]]:
    names, mismatch, encode = _STATUS_NAMES, Status.MISMATCH, encode_value

    def batch_records(batch: Sequence[CellResult]) -> list[tuple[Any, ...]]:
        # One record per formula cell: numbers (the usual values) are encoded inline.
        out: list[tuple[Any, ...]] = []
        append = out.append
        for (sheet_index, sheet, row, col, formula, cached, computed, status, reason,
             abs_diff) in batch:
            cached_enc = ((VALUE_NUMBER, cached, None, None) if type(cached) is float
                          else encode(cached))
            computed_enc = ((VALUE_NUMBER, computed, None, None) if type(computed) is float
                            else encode(computed))
            rank = None
            if status is mismatch:
                rank = -abs_diff if abs_diff is not None else math.inf
            append((tenant, model_uuid, sheet_index, sheet, row, col, formula, *cached_enc,
                    *computed_enc, names[status], reason, abs_diff, rank))
        return out

    async def records() -> AsyncIterator[tuple[Any, ...]]:
        async for batch in results:
            # Built in a thread, so the event loop (and the progress ticker) runs meanwhile;
            # asyncpg encodes them on the loop, a slice at a time.
            built = await asyncio.to_thread(batch_records, batch)
            for n, record in enumerate(built, 1):
                if n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # a COPY may not suspend: let other tasks run
                yield record
            seen[0] += len(batch)

    return records()


def _result(row: asyncpg.Record) -> CellResult:
    return CellResult(
        sheet_index=row[0],
        sheet=row[1],
        row=row[2],
        col=row[3],
        formula=row[4],
        cached=decode_value(row[5], row[6], row[7], row[8]),
        computed=decode_value(row[9], row[10], row[11], row[12]),
        status=Status[row[13]],
        reason=row[14],
        abs_diff=row[15],
    )


class ValidationStore:
    """validation_svc's tables, through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # ------------------------------------------------------------------ the run's write

    async def replace_results(
        self,
        tenant: str,
        model_id: str,
        results: AsyncIterable[Sequence[CellResult]],
        summarize: Callable[[], ValidationSummary],
        *,
        before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> int:
        """Store a run in one transaction that replaces the model's earlier results.

        ``results`` is consumed inside the transaction (COPY as they come);
        ``summarize()`` is called once they are all written. ``before_commit``
        may raise to roll everything back. Returns the number of results.
        """
        model_uuid = uuid.UUID(model_id)
        seen = [0]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(tenant, model_id))
            await conn.execute(
                "DELETE FROM validation.cell_results WHERE tenant_id = $1 AND model_id = $2",
                tenant, model_uuid)
            await conn.execute(
                "DELETE FROM validation.summaries WHERE tenant_id = $1 AND model_id = $2",
                tenant, model_uuid)
            await conn.copy_records_to_table(
                "cell_results",
                schema_name="validation",
                columns=RESULT_COLUMNS,
                records=_records(tenant, model_uuid, results, seen),
            )
            summary = summarize()
            totals = summary.totals
            await conn.execute(
                """INSERT INTO validation.summaries (
                       tenant_id, model_id, job_id, tolerance_absolute, tolerance_relative,
                       formula_cells, match, mismatch, not_cached, not_computable, volatile,
                       circular, sheets, largest_mismatches, calc_mode, findings, create_time)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb,
                           $14::jsonb, $15, $16, $17)""",
                tenant, model_uuid, uuid.UUID(summary.job_id), summary.tolerance.absolute,
                summary.tolerance.relative, totals.formula_cells, totals.match, totals.mismatch,
                totals.not_cached, totals.not_computable, totals.volatile, totals.circular,
                json.dumps([{"index": s.index, "name": s.name, "counts": _counts_json(s.counts)}
                            for s in summary.sheets]),
                json.dumps([_result_json(r) for r in summary.largest_mismatches]),
                summary.calc_mode, list(summary.findings), summary.create_time,
            )
            if before_commit is not None:
                await before_commit()
        return seen[0]

    async def delete_model(self, tenant: str, model_id: str) -> bool:
        """Forget a deleted model's results; True when there were any."""
        model_uuid = uuid.UUID(model_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(tenant, model_id))
            await conn.execute(
                "DELETE FROM validation.cell_results WHERE tenant_id = $1 AND model_id = $2",
                tenant, model_uuid)
            done = await conn.execute(
                "DELETE FROM validation.summaries WHERE tenant_id = $1 AND model_id = $2",
                tenant, model_uuid)
        return done != "DELETE 0"

    # ------------------------------------------------------------------ reads

    async def get_summary(self, tenant: str, model_id: str) -> ValidationSummary | None:
        row = await self.pool.fetchrow(
            """SELECT job_id, tolerance_absolute, tolerance_relative, formula_cells, match,
                      mismatch, not_cached, not_computable, volatile, circular, sheets,
                      largest_mismatches, calc_mode, findings, create_time
               FROM validation.summaries WHERE tenant_id = $1 AND model_id = $2""",
            tenant, uuid.UUID(model_id))
        if row is None:
            return None
        return ValidationSummary(
            model_id=model_id,
            job_id=str(row["job_id"]),
            tolerance=Tolerance(row["tolerance_absolute"], row["tolerance_relative"]),
            totals=_counts_from(row),
            sheets=[SheetCounts(s["index"], s["name"], _counts_from(s["counts"]))
                    for s in json.loads(row["sheets"])],
            largest_mismatches=[_result_from_json(d)
                                for d in json.loads(row["largest_mismatches"])],
            calc_mode=row["calc_mode"],
            findings=list(row["findings"]),
            create_time=row["create_time"],
        )

    async def list_mismatches(
        self,
        tenant: str,
        model_id: str,
        sheet_index: int | None,
        after: tuple[float, int, int, int] | None,
        limit: int,
    ) -> list[CellResult]:
        """Mismatches by (rank, sheet, row, column) after the keyset position ``after``."""
        position: Sequence[Any] = after if after is not None else (-math.inf, -1, 0, 0)
        rows = await self.pool.fetch(
            f"""{_SELECT_RESULT}
                WHERE tenant_id = $1 AND model_id = $2 AND status = 'MISMATCH'
                  AND ($3::int IS NULL OR sheet_index = $3)
                  AND (mismatch_rank, sheet_index, row_num, col_num) > ($4, $5, $6, $7)
                ORDER BY mismatch_rank, sheet_index, row_num, col_num
                LIMIT {int(limit)}""",
            tenant, uuid.UUID(model_id), sheet_index, *position)
        return [_result(r) for r in rows]

    async def list_results(
        self,
        tenant: str,
        model_id: str,
        statuses: Sequence[Status],
        sheet_index: int | None,
        after: tuple[int, int, int] | None,
        limit: int,
        bounds: tuple[int, int, int, int] = (1, 1, 1_048_576, 16_384),
    ) -> list[CellResult]:
        """Results in (sheet, row, column) order after ``after``; only ``statuses`` unless
        empty, only within ``bounds`` (first row, first column, last row, last column)."""
        position: Sequence[Any] = after if after is not None else (-1, 0, 0)
        names = [s.name for s in statuses] or None
        rows = await self.pool.fetch(
            f"""{_SELECT_RESULT}
                WHERE tenant_id = $1 AND model_id = $2
                  AND ($3::text[] IS NULL OR status = ANY($3::text[]))
                  AND ($4::int IS NULL OR sheet_index = $4)
                  AND (sheet_index, row_num, col_num) > ($5, $6, $7)
                  AND row_num BETWEEN $8 AND $10 AND col_num BETWEEN $9 AND $11
                ORDER BY sheet_index, row_num, col_num
                LIMIT {int(limit)}""",
            tenant, uuid.UUID(model_id), names, sheet_index, *position, *bounds)
        return [_result(r) for r in rows]

    async def get_results(
        self,
        tenant: str,
        model_id: str,
        keys: Sequence[tuple[int, int, int]],
        status: Status | None,
    ) -> dict[tuple[int, int, int], CellResult]:
        """The results of the cells ``keys`` (sheet index, row, column) that have one."""
        if not keys:
            return {}
        # One primary-key probe per key (LIMIT 1 keeps the subquery a probe): left to itself,
        # the planner may join a freshly loaded model's rows, estimated at one, by nested loop
        # over every key.
        rows = await self.pool.fetch(
            f"""SELECT x.* FROM unnest($3::int[], $4::int[], $5::int[]) AS k(s, r, c)
                CROSS JOIN LATERAL ({_SELECT_RESULT}
                    WHERE tenant_id = $1 AND model_id = $2
                      AND sheet_index = k.s AND row_num = k.r AND col_num = k.c
                    LIMIT 1) AS x
                WHERE $6::text IS NULL OR x.status = $6""",
            tenant, uuid.UUID(model_id), [k[0] for k in keys], [k[1] for k in keys],
            [k[2] for k in keys], status.name if status is not None else None)
        results = (_result(r) for r in rows)
        return {r.key: r for r in results}

    # ------------------------------------------------------------------ ValidateModel ids

    async def find_request(self, tenant: str, request_id: str) -> WorkOrder | None:
        """The work order of an earlier ValidateModel with ``request_id``."""
        row = await self.pool.fetchrow(
            """SELECT model_id, job_id, options FROM validation.validate_requests
               WHERE tenant_id = $1 AND request_id = $2""", tenant, request_id)
        if row is None:
            return None
        return WorkOrder(str(row["job_id"]), tenant, str(row["model_id"]), JobKind.VALIDATE,
                         json.loads(row["options"]))

    async def record_request(self, request_id: str, order: WorkOrder,
                             create_time: datetime) -> bool:
        """Remember a ValidateModel's request id and order; False when the id was taken."""
        done = await self.pool.execute(
            """INSERT INTO validation.validate_requests
                   (tenant_id, request_id, model_id, job_id, options, create_time)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT DO NOTHING""",
            order.tenant, request_id, uuid.UUID(order.model_id), uuid.UUID(order.job_id),
            json.dumps(order.options), create_time)
        return bool(done == "INSERT 0 1")

"""All SQL of eval_svc (schema ``evaluation``): computed values, evaluations, request ids.

Every statement filters by tenant. :meth:`EvaluationStore.replace_results` is
the one write that must never be seen half done: in one transaction it deletes
the model's earlier values, COPYs the new ones and upserts the model's
evaluations row, so a redelivered order, a re-evaluation or a cancelled attempt
(``before_commit`` raising) never leaves doubled or partial values.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final

import asyncpg

from calcwire.value_columns import VALUE_NUMBER, decode_value, encode_value
from eval_svc.domain import EvaluationSummary, StoredValue
from eval_svc.engine import CellResult

__all__ = ["VALUE_COLUMNS", "EvaluationStore", "RequestTaken"]

VALUE_COLUMNS: Final = (
    "tenant_id", "model_id", "sheet_index", "sheet_name", "row_num", "col_num",
    "value_type", "value_number", "value_text", "value_bool", "status", "reason", "volatile",
)  # fmt: skip

# value_type: how a CellValue is stored (as in import_svc's cells)

_SELECT_VALUES: Final = """
    SELECT sheet_name, row_num, col_num, value_type, value_number, value_text, value_bool,
           status, reason, volatile
      FROM evaluation.computed_values
     WHERE tenant_id = $1 AND model_id = $2
     ORDER BY sheet_index, row_num, col_num"""


class RequestTaken(Exception):
    """An EvaluateModel request_id already used by the same tenant for another model."""




_YIELD_EVERY: Final = 1_000


async def _records(
    tenant: str,
    model_uuid: uuid.UUID,
    sheet_index: dict[str, int],
    results: Sequence[CellResult],
    progress: Callable[[int], None] | None,
) -> AsyncIterator[tuple[Any, ...]]:
    # asyncpg encodes a COPY's records without suspending while it can write: a pause every
    # _YIELD_EVERY records lets the progress ticker run (on a busy machine the whole COPY
    # held the event loop for more than half a second).
    for done, r in enumerate(results, 1):
        value = r.value
        vt: int
        num: float | None
        if type(value) is float:
            vt, num, text, flag = VALUE_NUMBER, value, None, None
        else:
            vt, num, text, flag = encode_value(value)
        yield (tenant, model_uuid, sheet_index[r.sheet], r.sheet, r.row, r.col, vt, num, text,
               flag, r.status, r.reason, r.volatile)
        if done % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
            if progress is not None and done % 20_000 == 0:
                progress(done)


def _stored_value(row: asyncpg.Record) -> StoredValue:
    kind = row[3]
    return StoredValue(
        row[0],  # sheet_name
        row[1],  # row_num
        row[2],  # col_num
        row[4] if kind == VALUE_NUMBER else decode_value(kind, row[4], row[5], row[6]),
        row[7],  # status
        row[8],  # reason
        row[9],  # volatile
    )


class EvaluationStore:
    """The ``evaluation`` schema, through one asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def replace_results(
        self,
        tenant: str,
        model_id: str,
        sheets: Sequence[str],
        results: Sequence[CellResult],
        summary: EvaluationSummary,
        *,
        progress: Callable[[int], None] | None = None,
        before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """The model's computed values and evaluations row, replacing earlier ones, in one
        transaction; ``sheets`` are the sheet names in workbook order (their index is stored
        for ordering). ``before_commit`` may raise to roll everything back."""
        model_uuid = uuid.UUID(model_id)
        sheet_index = {name: i for i, name in enumerate(sheets)}
        t = summary.timings
        async with self.pool.acquire() as conn, conn.transaction():
            # One writer per model at a time: a second attempt waits for the first to end.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               f"calcwire.evaluation:{tenant}:{model_id}")
            await conn.execute(
                "DELETE FROM evaluation.computed_values WHERE tenant_id = $1 AND model_id = $2",
                tenant, model_uuid,
            )
            await conn.copy_records_to_table(
                "computed_values",
                schema_name="evaluation",
                columns=VALUE_COLUMNS,
                records=_records(tenant, model_uuid, sheet_index, results, progress),
            )
            await conn.execute(
                """INSERT INTO evaluation.evaluations (tenant_id, model_id, job_id, formula_cells,
                       computed, not_computable, circular, volatile, load_seconds,
                       compile_seconds, compute_seconds, write_seconds, evaluate_time)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
                   ON CONFLICT (tenant_id, model_id) DO UPDATE SET
                       job_id = EXCLUDED.job_id, formula_cells = EXCLUDED.formula_cells,
                       computed = EXCLUDED.computed, not_computable = EXCLUDED.not_computable,
                       circular = EXCLUDED.circular, volatile = EXCLUDED.volatile,
                       load_seconds = EXCLUDED.load_seconds,
                       compile_seconds = EXCLUDED.compile_seconds,
                       compute_seconds = EXCLUDED.compute_seconds,
                       write_seconds = EXCLUDED.write_seconds,
                       evaluate_time = EXCLUDED.evaluate_time""",
                tenant, model_uuid, uuid.UUID(summary.job_id), summary.formula_cells,
                summary.computed, summary.not_computable, summary.circular, summary.volatile,
                t.load, t.compile, t.compute, t.write,
            )
            if before_commit is not None:
                await before_commit()

    async def evaluated_by(self, tenant: str, model_id: str) -> str | None:
        """The job whose values are stored for the model, None when it has none."""
        job = await self.pool.fetchval(
            "SELECT job_id FROM evaluation.evaluations WHERE tenant_id = $1 AND model_id = $2",
            tenant, uuid.UUID(model_id),
        )
        return None if job is None else str(job)

    async def stream_results(
        self, tenant: str, model_id: str, batch_size: int
    ) -> AsyncIterator[list[StoredValue]]:
        """The stored values in sheet order, then row, column, ``batch_size`` at a time,
        through a server-side cursor in one snapshot (a re-evaluation meanwhile is not seen)."""
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                  readonly=True):
            cursor = await conn.cursor(_SELECT_VALUES, tenant, uuid.UUID(model_id))
            while True:
                rows = await cursor.fetch(batch_size)
                if not rows:
                    return
                yield [_stored_value(r) for r in rows]

    async def delete_model(self, tenant: str, model_id: str) -> None:
        """Forget a deleted model's values, evaluation and request ids."""
        model_uuid = uuid.UUID(model_id)
        async with self.pool.acquire() as conn, conn.transaction():
            for table in ("computed_values", "evaluations", "evaluate_requests"):
                await conn.execute(
                    f"DELETE FROM evaluation.{table} WHERE tenant_id = $1 AND model_id = $2",
                    tenant, model_uuid,
                )

    async def claim_request(
        self, tenant: str, request_id: str, model_id: str, job_id: str
    ) -> str:
        """The job of EvaluateModel's ``request_id``: ``job_id`` if this call is the first with
        it, else the first call's job. Raises :class:`RequestTaken` for another model's id."""
        row = await self.pool.fetchrow(
            """WITH claimed AS (
                   INSERT INTO evaluation.evaluate_requests (tenant_id, request_id, model_id, job_id)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (tenant_id, request_id) DO NOTHING
                   RETURNING model_id, job_id)
               SELECT model_id, job_id FROM claimed
               UNION ALL
               SELECT model_id, job_id FROM evaluation.evaluate_requests
                WHERE tenant_id = $1 AND request_id = $2
               LIMIT 1""",
            tenant, request_id, uuid.UUID(model_id), uuid.UUID(job_id),
        )
        if row is None:  # a concurrent first call committed after this statement's snapshot
            row = await self.pool.fetchrow(
                "SELECT model_id, job_id FROM evaluation.evaluate_requests "
                "WHERE tenant_id = $1 AND request_id = $2",
                tenant, request_id,
            )
            assert row is not None
        if str(row["model_id"]) != model_id:
            raise RequestTaken(request_id)
        return str(row["job_id"])

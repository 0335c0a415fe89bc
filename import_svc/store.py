"""All SQL of import_svc (schema ``workbooks``): models and what was parsed from them, jobs.

Every statement filters by tenant. Statements are constants with parameters;
the only composed SQL is the choice among constant fragments for a filter.

Writes that must not be seen half done are one transaction each:

- :meth:`WorkbookStore.record_upload`: under a per-file advisory lock, the
  request-id check, the file's storage (a callback) and the model and job rows;
- :meth:`WorkbookStore.replace_contents`: an import attempt's sheets, names,
  links, Excel Tables and cells (COPY), replacing an earlier attempt's, and the model READY;
- :meth:`WorkbookStore.delete_model`: a model's rows, and its file when no
  model of any tenant refers to it any more (a callback, under the same lock).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from calcwire.filtering import Condition
from calcwire.job_events import JobError, JobEvent, JobKind, JobStage, JobState
from calcwire.value_columns import VALUE_NUMBER, decode_value, encode_value
from calcwire.workbook.model import CalcSettings, DefinedName, ExternalLink, SheetState, Table
from import_svc.domain import (
    CellCounts,
    CellFilter,
    CellRow,
    ModelDetails,
    ModelRecord,
    ModelState,
    ParsedModel,
    SheetRecord,
    StoredCell,
)

__all__ = [
    "CELL_COLUMNS",
    "ModelGone",
    "UploadRecord",
    "WorkbookStore",
]

CELL_COLUMNS: Final = (
    "tenant_id", "model_id", "sheet_index", "row_num", "col_num",
    "value_type", "value_number", "value_text", "value_bool",
    "formula", "formula_kind", "array_range", "number_format",
)  # fmt: skip

# value_type: how a CellValue is stored


_Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


class ModelGone(Exception):
    """The model was deleted while an import was working on it."""


def _lock_key(sha256: str) -> int:
    return int.from_bytes(hashlib.sha256(f"calcwire.file:{sha256}".encode()).digest()[:8],
                          "big", signed=True)




@dataclass(frozen=True, slots=True)
class UploadRecord:
    """What :meth:`WorkbookStore.record_upload` writes: a new model and its import job."""

    model: ModelRecord
    job: JobEvent
    request_id: str | None


# --------------------------------------------------------------------------- SQL

_MODEL_COLUMNS: Final = """
    m.model_id, m.tenant_id, m.display_name, m.file_name, m.sha256, m.size_bytes, m.state,
    m.validate, m.tolerance_absolute, m.tolerance_relative, m.import_job_id,
    m.create_time, m.update_time, m.calc_mode, m.calc_iterate, m.calc_iterate_count,
    m.calc_iterate_delta, m.calc_full_on_load, m.date1904, m.cells_total, m.cells_formulas,
    m.cells_numbers, m.cells_strings, m.cells_booleans, m.cells_errors, m.application"""

_JOB_FIELDS: Final = (
    "job_id", "tenant_id", "model_id", "kind", "state", "stage", "percent", "message",
    "error_reason", "error_message", "cancel_requested", "create_time", "update_time",
)  # fmt: skip
_JOB_COLUMNS: Final = ", ".join(_JOB_FIELDS)

# The latest job of the model, as the jobs projection has it; its columns are prefixed j_.
_LATEST_JOB: Final = f"""
    LEFT JOIN LATERAL (
        SELECT {", ".join(f"j.{c} AS j_{c}" for c in _JOB_FIELDS)}
        FROM workbooks.jobs j
        WHERE j.tenant_id = m.tenant_id AND j.model_id = m.model_id
        ORDER BY j.create_time DESC, j.job_id DESC
        LIMIT 1
    ) lj ON true"""

_SELECT_MODEL: Final = f"""
    SELECT {_MODEL_COLUMNS}, lj.*
    FROM workbooks.models m {_LATEST_JOB}
    WHERE m.tenant_id = $1 AND m.model_id = $2"""

# ListModels: one fragment per (field, operator); the value is always a parameter.
_MODEL_CONDITIONS: Final[dict[tuple[str, str], str]] = {
    ("display_name", "="): "m.display_name = ${}",
    ("display_name", "!="): "m.display_name <> ${}",
    ("display_name", ":"): "strpos(lower(m.display_name), lower(${})) > 0",
    ("state", "="): "m.state = ${}",
    ("state", "!="): "m.state <> ${}",
}
_JOB_CONDITIONS: Final[dict[tuple[str, str], str]] = {
    ("model_id", "="): "model_id = ${}::uuid",
    ("model_id", "!="): "model_id <> ${}::uuid",
    ("state", "="): "state = ${}",
    ("state", "!="): "state <> ${}",
    ("kind", "="): "kind = ${}",
    ("kind", "!="): "kind <> ${}",
}

_CELL_SELECT: Final = """
    SELECT sheet_index, row_num, col_num, value_type, value_number, value_text, value_bool,
           formula, formula_kind, array_range, number_format
    FROM workbooks.cells
    WHERE tenant_id = $1 AND model_id = $2
      AND ($3::int IS NULL OR sheet_index = $3)
      AND row_num BETWEEN $4 AND $5 AND col_num BETWEEN $6 AND $7
      AND (NOT $8 OR formula IS NOT NULL)"""

_DELETE_CONTENTS: Final = (
    "DELETE FROM workbooks.cells WHERE tenant_id = $1 AND model_id = $2",
    "DELETE FROM workbooks.sheets WHERE tenant_id = $1 AND model_id = $2",
    "DELETE FROM workbooks.defined_names WHERE tenant_id = $1 AND model_id = $2",
    "DELETE FROM workbooks.external_links WHERE tenant_id = $1 AND model_id = $2",
    "DELETE FROM workbooks.external_cells WHERE tenant_id = $1 AND model_id = $2",
    "DELETE FROM workbooks.excel_tables WHERE tenant_id = $1 AND model_id = $2",
)


def _conditions(
    conditions: Iterable[Condition], fragments: dict[tuple[str, str], str], first_param: int
) -> tuple[str, list[Any]]:
    sql, args = [], []
    for cond in conditions:
        fragment = fragments[(cond.field, cond.op)]
        args.append(cond.value)
        sql.append(fragment.format(first_param + len(args) - 1))
    return "".join(f" AND {s}" for s in sql), args


class WorkbookStore:
    """import_svc's tables, through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # ------------------------------------------------------------------ uploads

    async def find_upload(self, tenant: str, request_id: str) -> ModelRecord | None:
        """The model an earlier upload with ``request_id`` created, if any."""
        row = await self.pool.fetchrow(
            "SELECT model_id FROM workbooks.models WHERE tenant_id = $1 AND request_id = $2",
            tenant,
            request_id,
        )
        if row is None:
            return None
        return await self.get_model(tenant, str(row["model_id"]))

    async def record_upload(
        self, upload: UploadRecord, store_file: Callable[[], Awaitable[None]]
    ) -> ModelRecord | None:
        """Create the model and its job; None when ``upload.request_id`` was used before
        (then nothing is created: the caller answers with the earlier upload).

        ``store_file`` runs inside the transaction, under the file's advisory
        lock, so that a concurrent DeleteModel cannot remove the file between
        the moment it is stored and the moment a model refers to it.
        """
        model, job = upload.model, upload.job
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(model.sha256))
                if upload.request_id is not None:
                    taken = await conn.fetchval(
                        "SELECT 1 FROM workbooks.models WHERE tenant_id = $1 AND request_id = $2",
                        model.tenant,
                        upload.request_id,
                    )
                    if taken:
                        return None
                await store_file()
                await conn.execute(
                    """INSERT INTO workbooks.models (
                           tenant_id, model_id, display_name, file_name, sha256, size_bytes, state,
                           validate, tolerance_absolute, tolerance_relative, request_id,
                           import_job_id, create_time, update_time)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)""",
                    model.tenant,
                    model.model_id,
                    model.display_name,
                    model.file_name,
                    model.sha256,
                    model.size_bytes,
                    model.state.value,
                    model.validate,
                    model.tolerance[0],
                    model.tolerance[1],
                    upload.request_id,
                    model.import_job_id,
                    model.create_time,
                )
                await self._upsert_job(conn, job, 0)
        except asyncpg.UniqueViolationError:
            return None  # a concurrent upload with the same request_id won
        return model

    # ------------------------------------------------------------------ imports

    async def replace_contents(
        self,
        tenant: str,
        model_id: str,
        contents: ParsedModel,
        *,
        progress: Callable[[int], None] | None = None,
        before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Store an import attempt's result in one transaction, replacing any earlier
        attempt's, and mark the model READY. Raises :class:`ModelGone` when the model
        was deleted; ``before_commit`` may raise to roll everything back."""
        model_uuid = uuid.UUID(model_id)
        async with self.pool.acquire() as conn, conn.transaction():
            found = await conn.fetchval(
                "SELECT 1 FROM workbooks.models WHERE tenant_id = $1 AND model_id = $2 FOR UPDATE",
                tenant,
                model_uuid,
            )
            if not found:
                raise ModelGone(model_id)
            for statement in _DELETE_CONTENTS:
                await conn.execute(statement, tenant, model_uuid)
            await conn.executemany(
                """INSERT INTO workbooks.sheets (tenant_id, model_id, sheet_index, name, visibility,
                                                 dimension, cell_count, formula_count)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                [
                    (tenant, model_uuid, s.index, s.name, s.state, s.dimension, s.cell_count,
                     s.formula_count)
                    for s in contents.sheets
                ],
            )
            await conn.executemany(
                """INSERT INTO workbooks.defined_names (tenant_id, model_id, position, name,
                                                        refers_to, scope, hidden)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (tenant, model_uuid, i, n.name, n.refers_to, n.scope, n.hidden)
                    for i, n in enumerate(contents.names)
                ],
            )
            await self._insert_links(conn, tenant, model_uuid, contents.external_links)
            await conn.executemany(
                """INSERT INTO workbooks.excel_tables (tenant_id, model_id, position, name,
                       display_name, sheet, ref, columns, header_row_count, totals_row_count)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                [
                    (tenant, model_uuid, i, t.name, t.display_name, t.sheet, t.ref,
                     list(t.columns), t.header_row_count, t.totals_row_count)
                    for i, t in enumerate(contents.tables)
                ],
            )
            await conn.copy_records_to_table(
                "cells",
                schema_name="workbooks",
                columns=CELL_COLUMNS,
                records=_cell_records(tenant, model_uuid, contents.cells, progress),
            )
            calc, counts = contents.calc, contents.counts
            await conn.execute(
                """UPDATE workbooks.models SET
                       state = 'READY', calc_mode = $3, calc_iterate = $4,
                       calc_iterate_count = $5, calc_iterate_delta = $6, calc_full_on_load = $7,
                       date1904 = $8, cells_total = $9, cells_formulas = $10,
                       cells_numbers = $11, cells_strings = $12, cells_booleans = $13,
                       cells_errors = $14, application = $15, update_time = now()
                   WHERE tenant_id = $1 AND model_id = $2""",
                tenant,
                model_uuid,
                calc.mode,
                calc.iterate,
                calc.iterate_count,
                calc.iterate_delta,
                calc.full_calc_on_load,
                contents.date1904,
                counts.total,
                counts.formulas,
                counts.numbers,
                counts.strings,
                counts.booleans,
                counts.errors,
                contents.application,
            )
            if before_commit is not None:
                await before_commit()

    @staticmethod
    async def _insert_links(
        conn: _Connection, tenant: str, model_uuid: uuid.UUID, links: Sequence[ExternalLink]
    ) -> None:
        await conn.executemany(
            """INSERT INTO workbooks.external_links (tenant_id, model_id, link_index, target,
                                                     sheet_names, defined_names,
                                                     refresh_error_sheets)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)""",
            [
                (
                    tenant,
                    model_uuid,
                    link.index,
                    link.target,
                    list(link.sheet_names),
                    json.dumps(
                        [
                            {"name": n.name, "refers_to": n.refers_to, "scope": n.scope,
                             "hidden": n.hidden}
                            for n in link.names
                        ]
                    ),
                    list(link.refresh_errors),
                )
                for link in links
            ],
        )
        records = []
        for link in links:
            position = 0
            for sheet, cells in link.cells.items():
                for address, value in cells.items():
                    records.append(
                        (tenant, model_uuid, link.index, position, sheet, address, *encode_value(value))
                    )
                    position += 1
        if records:
            await conn.copy_records_to_table(
                "external_cells",
                schema_name="workbooks",
                columns=("tenant_id", "model_id", "link_index", "position", "sheet", "address",
                         "value_type", "value_number", "value_text", "value_bool"),
                records=records,
            )

    async def set_model_state(
        self, tenant: str, model_id: str, state: ModelState, *, unless: ModelState | None = None
    ) -> None:
        """Set the model's state (left alone when it is ``unless``)."""
        await self.pool.execute(
            """UPDATE workbooks.models SET state = $3, update_time = now()
               WHERE tenant_id = $1 AND model_id = $2 AND ($4::text IS NULL OR state <> $4)""",
            tenant,
            uuid.UUID(model_id),
            state.value,
            unless.value if unless is not None else None,
        )

    # ------------------------------------------------------------------ models

    async def get_model(self, tenant: str, model_id: str) -> ModelRecord | None:
        row = await self.pool.fetchrow(_SELECT_MODEL, tenant, uuid.UUID(model_id))
        return _model(row) if row is not None else None

    async def get_details(self, tenant: str, model_id: str) -> ModelDetails | None:
        model_uuid = uuid.UUID(model_id)
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                  readonly=True):
            row = await conn.fetchrow(_SELECT_MODEL, tenant, model_uuid)
            if row is None:
                return None
            sheets = await conn.fetch(
                """SELECT sheet_index, name, visibility, dimension, cell_count, formula_count
                   FROM workbooks.sheets WHERE tenant_id = $1 AND model_id = $2
                   ORDER BY sheet_index""",
                tenant,
                model_uuid,
            )
            names = await conn.fetch(
                """SELECT name, refers_to, scope, hidden FROM workbooks.defined_names
                   WHERE tenant_id = $1 AND model_id = $2 ORDER BY position""",
                tenant,
                model_uuid,
            )
            links = await conn.fetch(
                """SELECT link_index, target, sheet_names, defined_names, refresh_error_sheets
                   FROM workbooks.external_links WHERE tenant_id = $1 AND model_id = $2
                   ORDER BY link_index""",
                tenant,
                model_uuid,
            )
            link_cells = await conn.fetch(
                """SELECT link_index, sheet, address, value_type, value_number, value_text,
                          value_bool
                   FROM workbooks.external_cells WHERE tenant_id = $1 AND model_id = $2
                   ORDER BY link_index, position""",
                tenant,
                model_uuid,
            )
            tables = await conn.fetch(
                """SELECT name, display_name, sheet, ref, columns, header_row_count,
                          totals_row_count
                   FROM workbooks.excel_tables WHERE tenant_id = $1 AND model_id = $2
                   ORDER BY position""",
                tenant,
                model_uuid,
            )
        return ModelDetails(
            model=_model(row),
            sheets=[_sheet(s) for s in sheets],
            names=[
                DefinedName(n["name"], n["refers_to"], n["scope"], n["hidden"]) for n in names
            ],
            external_links=_links(links, link_cells),
            tables=[
                Table(t["name"], t["display_name"], t["sheet"], t["ref"], tuple(t["columns"]),
                      t["header_row_count"], t["totals_row_count"])
                for t in tables
            ],
        )

    async def sheets(self, tenant: str, model_id: str) -> list[SheetRecord]:
        rows = await self.pool.fetch(
            """SELECT sheet_index, name, visibility, dimension, cell_count, formula_count
               FROM workbooks.sheets WHERE tenant_id = $1 AND model_id = $2
               ORDER BY sheet_index""",
            tenant,
            uuid.UUID(model_id),
        )
        return [_sheet(s) for s in rows]

    async def list_models(
        self,
        tenant: str,
        conditions: Sequence[Condition],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[ModelRecord]:
        """Models newest first, after the keyset position ``after`` (create time, id)."""
        args: list[Any] = [tenant]
        where = ""
        if after is not None:
            where = " AND (m.create_time, m.model_id) < ($2, $3)"
            args += [after[0], uuid.UUID(after[1])]
        more, values = _conditions(conditions, _MODEL_CONDITIONS, len(args) + 1)
        rows = await self.pool.fetch(
            f"""SELECT {_MODEL_COLUMNS}, lj.* FROM workbooks.models m {_LATEST_JOB}
                WHERE m.tenant_id = $1 {where}{more}
                ORDER BY m.create_time DESC, m.model_id DESC
                LIMIT {int(limit)}""",
            *args,
            *values,
        )
        return [_model(r) for r in rows]

    async def delete_model(
        self, tenant: str, model_id: str, drop_file: Callable[[str], Awaitable[None]]
    ) -> bool:
        """Delete the model and its rows; ``drop_file(sha256)`` runs (inside the transaction,
        under the file's lock) when no model of any tenant refers to the file any more.
        False when there was no such model."""
        model_uuid = uuid.UUID(model_id)
        async with self.pool.acquire() as conn, conn.transaction():
            sha256 = await conn.fetchval(
                """SELECT sha256 FROM workbooks.models
                   WHERE tenant_id = $1 AND model_id = $2 FOR UPDATE""",
                tenant,
                model_uuid,
            )
            if sha256 is None:
                return False
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(sha256))
            for statement in _DELETE_CONTENTS:
                await conn.execute(statement, tenant, model_uuid)
            await conn.execute(
                "DELETE FROM workbooks.models WHERE tenant_id = $1 AND model_id = $2",
                tenant,
                model_uuid,
            )
            still_used = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM workbooks.models WHERE sha256 = $1)", sha256
            )
            if not still_used:
                await drop_file(sha256)
        return True

    # ------------------------------------------------------------------ cells

    async def list_cells(
        self,
        tenant: str,
        model_id: str,
        sheets: Sequence[SheetRecord],
        where: CellFilter,
        after: tuple[int, int, int] | None,
        limit: int,
    ) -> list[StoredCell]:
        """Cells in (sheet, row, column) order after the keyset position ``after``."""
        position: list[Any] = list(after) if after is not None else [-1, 0, 0]
        rows = await self.pool.fetch(
            f"""{_CELL_SELECT} AND (sheet_index, row_num, col_num) > ($9, $10, $11)
                ORDER BY sheet_index, row_num, col_num LIMIT {int(limit)}""",
            *self._cell_args(tenant, model_id, where),
            *position,
        )
        names = {s.index: s.name for s in sheets}
        return [_cell(r, names) for r in rows]

    async def cells_at(
        self,
        tenant: str,
        model_id: str,
        sheets: Sequence[SheetRecord],
        keys: Sequence[tuple[int, int, int]],
    ) -> list[StoredCell]:
        """The cells at ``keys`` (sheet index, row, column) that exist, in (sheet, row, column)
        order."""
        if not keys:
            return []
        rows = await self.pool.fetch(
            # One primary-key probe per key (LIMIT 1 keeps the subquery a probe; a join
            # may be planned as a nested loop over every key for a freshly loaded model).
            """SELECT x.* FROM unnest($3::int[], $4::int[], $5::int[]) AS k(s, r, c)
               CROSS JOIN LATERAL (
                   SELECT sheet_index, row_num, col_num, value_type, value_number, value_text,
                          value_bool, formula, formula_kind, array_range, number_format
                   FROM workbooks.cells
                   WHERE tenant_id = $1 AND model_id = $2
                     AND sheet_index = k.s AND row_num = k.r AND col_num = k.c
                   LIMIT 1) AS x
               ORDER BY x.sheet_index, x.row_num, x.col_num""",
            tenant,
            uuid.UUID(model_id),
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
        )
        names = {s.index: s.name for s in sheets}
        return [_cell(r, names) for r in rows]

    async def stream_cells(
        self,
        tenant: str,
        model_id: str,
        sheets: Sequence[SheetRecord],
        where: CellFilter,
        batch_size: int,
    ) -> AsyncIterator[list[StoredCell]]:
        """Every wanted cell in order, ``batch_size`` at a time, through a server-side
        cursor: memory holds one batch, and PostgreSQL is read as fast as the caller takes."""
        names = {s.index: s.name for s in sheets}
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                  readonly=True):
            cursor = await conn.cursor(
                f"{_CELL_SELECT} ORDER BY sheet_index, row_num, col_num",
                *self._cell_args(tenant, model_id, where),
            )
            while True:
                rows = await cursor.fetch(batch_size)
                if not rows:
                    return
                yield [_cell(r, names) for r in rows]

    @staticmethod
    def _cell_args(tenant: str, model_id: str, where: CellFilter) -> list[Any]:
        return [
            tenant,
            uuid.UUID(model_id),
            where.sheet_index,
            where.first_row,
            where.last_row,
            where.first_col,
            where.last_col,
            where.formulas_only,
        ]

    async def count_cells(self, tenant: str, model_id: str) -> int:
        count: int = await self.pool.fetchval(
            "SELECT count(*) FROM workbooks.cells WHERE tenant_id = $1 AND model_id = $2",
            tenant,
            uuid.UUID(model_id),
        )
        return count

    # ------------------------------------------------------------------ jobs

    async def get_job(self, tenant: str, job_id: str) -> JobEvent | None:
        row = await self.pool.fetchrow(
            f"SELECT {_JOB_COLUMNS} FROM workbooks.jobs WHERE tenant_id = $1 AND job_id = $2",
            tenant,
            uuid.UUID(job_id),
        )
        return _job(row) if row is not None else None

    async def list_jobs(
        self,
        tenant: str,
        conditions: Sequence[Condition],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[JobEvent]:
        """Jobs newest first, after the keyset position ``after`` (create time, id)."""
        args: list[Any] = [tenant]
        where = ""
        if after is not None:
            where = " AND (create_time, job_id) < ($2, $3)"
            args += [after[0], uuid.UUID(after[1])]
        more, values = _conditions(conditions, _JOB_CONDITIONS, len(args) + 1)
        rows = await self.pool.fetch(
            f"""SELECT {_JOB_COLUMNS} FROM workbooks.jobs
                WHERE tenant_id = $1 {where}{more}
                ORDER BY create_time DESC, job_id DESC
                LIMIT {int(limit)}""",
            *args,
            *values,
        )
        return [_job(r) for r in rows]

    async def live_jobs_of_model(self, tenant: str, model_id: str) -> list[str]:
        rows = await self.pool.fetch(
            """SELECT job_id FROM workbooks.jobs
               WHERE tenant_id = $1 AND model_id = $2 AND state IN ('QUEUED', 'RUNNING')""",
            tenant,
            uuid.UUID(model_id),
        )
        return [str(r["job_id"]) for r in rows]

    async def apply_events(self, events: Sequence[tuple[int, JobEvent]]) -> None:
        """Project job events (stream sequence, event) in one transaction.

        Order-independent: a job row takes an event only if it is newer than the
        one it shows and the job has not ended; history rows are keyed by sequence.
        """
        if not events:
            return
        # Per job, the row needs only the event it ends this batch with.
        latest: dict[str, tuple[int, JobEvent]] = {}
        for seq, event in sorted(events, key=lambda e: e[0]):
            held = latest.get(event.job_id)
            if held is not None and held[1].final:
                continue
            if held is not None and held[1].cancel_requested and not event.cancel_requested:
                event = dataclasses.replace(event, cancel_requested=True)
            latest[event.job_id] = (seq, event)
        async with self.pool.acquire() as conn, conn.transaction():
            for seq, event in latest.values():
                await self._upsert_job(conn, event, seq)
            await conn.executemany(
                """INSERT INTO workbooks.job_events (tenant_id, job_id, stream_seq, time, state,
                       stage, percent, message, error_reason, error_message, cancel_requested)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                   ON CONFLICT (job_id, stream_seq) DO NOTHING""",
                [
                    (e.tenant, uuid.UUID(e.job_id), seq, e.time, e.state.value, e.stage.value,
                     e.percent, e.message, e.error.reason if e.error else None,
                     e.error.message if e.error else None, e.cancel_requested)
                    for seq, e in events
                ],
            )

    @staticmethod
    async def _upsert_job(conn: _Connection, event: JobEvent, seq: int) -> None:
        await conn.execute(
            """INSERT INTO workbooks.jobs AS j (tenant_id, job_id, model_id, kind, state, stage,
                   percent, message, error_reason, error_message, cancel_requested, create_time,
                   update_time, end_time, last_seq)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (job_id) DO UPDATE SET
                   state = excluded.state, stage = excluded.stage, percent = excluded.percent,
                   message = excluded.message, error_reason = excluded.error_reason,
                   error_message = excluded.error_message,
                   cancel_requested = j.cancel_requested OR excluded.cancel_requested,
                   update_time = excluded.update_time, end_time = excluded.end_time,
                   last_seq = excluded.last_seq
               WHERE j.tenant_id = excluded.tenant_id AND j.last_seq < excluded.last_seq
                 AND j.state NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED')""",
            event.tenant,
            uuid.UUID(event.job_id),
            uuid.UUID(event.model_id),
            event.kind.value,
            event.state.value,
            event.stage.value,
            event.percent,
            event.message,
            event.error.reason if event.error else None,
            event.error.message if event.error else None,
            event.cancel_requested,
            event.create_time,
            event.time,
            event.end_time,
            seq,
        )

    async def delete_jobs_before(self, cutoff: datetime) -> tuple[int, int]:
        """Drop job rows last updated, and events that happened, before ``cutoff``.

        Retention applies to every tenant at once; returns (jobs, events) deleted.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            jobs = await conn.execute("DELETE FROM workbooks.jobs WHERE update_time < $1", cutoff)
            events = await conn.execute(
                "DELETE FROM workbooks.job_events WHERE time < $1", cutoff
            )
        return int(jobs.split()[-1]), int(events.split()[-1])


# --------------------------------------------------------------------------- rows


def _cell_records(
    tenant: str,
    model_uuid: uuid.UUID,
    cells: Sequence[CellRow],
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[Any, ...]]:
    general = "General"
    for done, (sheet, row, col, value, formula, kind, array_range, fmt) in enumerate(cells, 1):
        t = type(value)
        if t is float:
            vt, num, text, flag = VALUE_NUMBER, value, None, None
        else:
            vt, num, text, flag = encode_value(value)
        yield (tenant, model_uuid, sheet, row, col, vt, num, text, flag, formula, kind,
               array_range, None if fmt == general else fmt)
        if progress is not None and done % 20_000 == 0:
            progress(done)


def _model(row: asyncpg.Record) -> ModelRecord:
    return ModelRecord(
        model_id=str(row["model_id"]),
        tenant=row["tenant_id"],
        display_name=row["display_name"],
        file_name=row["file_name"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        state=ModelState(row["state"]),
        validate=row["validate"],
        tolerance=(row["tolerance_absolute"], row["tolerance_relative"]),
        import_job_id=str(row["import_job_id"]),
        create_time=row["create_time"],
        update_time=row["update_time"],
        calc=CalcSettings(
            mode=row["calc_mode"] or "auto",
            iterate=row["calc_iterate"],
            iterate_count=row["calc_iterate_count"],
            iterate_delta=row["calc_iterate_delta"],
            full_calc_on_load=row["calc_full_on_load"],
        ),
        date1904=row["date1904"],
        counts=CellCounts(
            total=row["cells_total"],
            formulas=row["cells_formulas"],
            numbers=row["cells_numbers"],
            strings=row["cells_strings"],
            booleans=row["cells_booleans"],
            errors=row["cells_errors"],
        ),
        latest_job=_job(row, prefix="j_") if row["j_job_id"] is not None else None,
        application=row["application"],
    )


def _job(row: asyncpg.Record, *, prefix: str = "") -> JobEvent:
    def col(name: str) -> Any:
        return row[prefix + name]

    reason = col("error_reason")
    return JobEvent(
        job_id=str(col("job_id")),
        tenant=col("tenant_id"),
        model_id=str(col("model_id")),
        kind=JobKind(col("kind")),
        state=JobState(col("state")),
        stage=JobStage(col("stage")),
        percent=col("percent"),
        message=col("message"),
        error=JobError(reason, col("error_message") or "") if reason is not None else None,
        cancel_requested=col("cancel_requested"),
        create_time=col("create_time"),
        time=col("update_time"),
    )


def _sheet(row: asyncpg.Record) -> SheetRecord:
    state: SheetState = row["visibility"]
    return SheetRecord(
        index=row["sheet_index"],
        name=row["name"],
        state=state,
        dimension=row["dimension"],
        cell_count=row["cell_count"],
        formula_count=row["formula_count"],
    )


def _cell(row: asyncpg.Record, sheet_names: dict[int, str]) -> StoredCell:
    kind = row[3]
    return StoredCell(
        sheet_names.get(row[0], ""),  # sheet
        row[0],  # sheet_index
        row[1],  # row
        row[2],  # col
        row[4] if kind == VALUE_NUMBER else decode_value(kind, row[4], row[5], row[6]),  # value
        row[7],  # formula
        row[8],  # kind
        row[9],  # array_range
        row[10] or "General",  # number_format
    )


def _links(links: Sequence[asyncpg.Record], cells: Sequence[asyncpg.Record]) -> list[ExternalLink]:
    out = {
        r["link_index"]: ExternalLink(
            index=r["link_index"],
            target=r["target"],
            sheet_names=list(r["sheet_names"]),
            names=[
                DefinedName(n["name"], n["refers_to"], n.get("scope"), bool(n.get("hidden")))
                for n in json.loads(r["defined_names"])
            ],
            refresh_errors=list(r["refresh_error_sheets"]),
        )
        for r in links
    }
    for c in cells:
        link = out.get(c["link_index"])
        if link is not None:
            link.cells.setdefault(c["sheet"], {})[c["address"]] = decode_value(
                c["value_type"], c["value_number"], c["value_text"], c["value_bool"]
            )
    return list(out.values())

"""Reading and deleting models and their cells: the domain behind GetModel, ListModels,
DeleteModel, ListCells and StreamCells.

A model of another tenant is NOT_FOUND exactly as one that does not exist.
Cells are served only from a READY model (FAILED_PRECONDITION MODEL_NOT_READY
otherwise): an import writes them in one transaction, so a model shows all of
its cells or none.

Formula cells carry validation's verdict (computed value, status, reason),
asked of validation_svc for each page or batch (:mod:`import_svc.results`);
a model without validation results shows none. ListCells' ``validation_status``
filter pages through validation's own list of the cells with that status (with
the sheet and range filters applied there), then reads those cells here; its
page token wraps validation's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from calcwire.errors import FailedPrecondition, InvalidArgument, NotFound
from calcwire.filtering import Field, parse_filter
from calcwire.formula import column_letters, parse_range
from calcwire.job_events import JobEventLog
from calcwire.logs import get_logger
from calcwire.paging import (
    Position,
    decode_page_token,
    decode_time_position,
    encode_page_token,
    filter_fingerprint,
    next_page,
    page_size,
)
from import_svc.domain import (
    CellFilter,
    ModelDetails,
    ModelRecord,
    ModelState,
    SheetRecord,
    StoredCell,
)
from import_svc.files import WorkbookFiles
from import_svc.jobs import current_job
from import_svc.results import CellVerdict, ValidationResults
from import_svc.store import WorkbookStore

__all__ = ["MODEL_FILTER_FIELDS", "Catalog", "CellPage", "CellQuery", "parse_cell_range"]

log = get_logger(__name__)

MODEL_FILTER_FIELDS = {
    "display_name": Field(ops="=!:"),
    "state": Field(ops="=!", values=[s.value for s in ModelState]),
}

MODELS_PAGE = (50, 1000)
CELLS_PAGE = (500, 10_000)
STREAM_BATCH = (1000, 10_000)


def _not_found(model_id: str) -> NotFound:
    return NotFound(f"no model models/{model_id}", reason="MODEL_NOT_FOUND")


@dataclass(frozen=True, slots=True)
class CellQuery:
    """ListCells' filters as the request gave them."""

    sheet: str = ""
    range: str = ""
    formulas_only: bool = False
    validation_status: int = 0


def parse_cell_range(text: str) -> tuple[str | None, tuple[int, int, int, int]]:
    """``"'My sheet'!B2:M40"`` -> ("My sheet", (2, 2, 40, 13)); the sheet is None when absent."""
    sheet: str | None = None
    ref = text.strip()
    if "!" in ref:
        sheet, _, ref = ref.rpartition("!")
        sheet = sheet.strip()
        if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
            sheet = sheet[1:-1].replace("''", "'")
        if not sheet:
            raise InvalidArgument(f"range {text!r} has an empty sheet name", reason="INVALID_RANGE")
    try:
        bounds = parse_range(ref)
    except ValueError:
        raise InvalidArgument(
            f"{text!r} is not an A1 range such as B2:M40 or Model!B2:M40", reason="INVALID_RANGE"
        ) from None
    return sheet, bounds


Verdicts = dict[tuple[str, int, int], CellVerdict]


@dataclass(frozen=True, slots=True)
class CellPage:
    """Cells with validation's verdicts on those that have one (by sheet, row, column)."""

    cells: list[StoredCell]
    verdicts: Verdicts


def _a1(bounds: tuple[int, int, int, int]) -> str:
    first_row, first_col, last_row, last_col = bounds
    return f"{column_letters(first_col)}{first_row}:{column_letters(last_col)}{last_row}"


class Catalog:
    """Models and cells of every tenant, each call for one tenant."""

    def __init__(self, store: WorkbookStore, files: WorkbookFiles, events: JobEventLog,
                 results: ValidationResults) -> None:
        self.store = store
        self.files = files
        self.events = events
        self.results = results

    # ------------------------------------------------------------------ models

    async def get(self, tenant: str, model_id: str) -> ModelDetails:
        details = await self.store.get_details(tenant, model_id)
        if details is None:
            raise _not_found(model_id)
        job = details.model.latest_job
        if job is not None and not job.final:
            fresh = await current_job(self.events, tenant, job.job_id, job)
            details = replace(details, model=replace(details.model, latest_job=fresh))
        return details

    async def list_models(
        self, tenant: str, filter_text: str, size: int, token: str
    ) -> tuple[list[ModelRecord], str]:
        conditions = parse_filter(filter_text, MODEL_FILTER_FIELDS)
        fingerprint = filter_fingerprint("models", conditions)
        after = decode_time_position(token, fingerprint)
        limit = page_size(size, default=MODELS_PAGE[0], maximum=MODELS_PAGE[1])
        models = await self.store.list_models(tenant, conditions, after, limit + 1)
        return next_page(models, limit, lambda m: [m.create_time.isoformat(), m.model_id],
                         fingerprint)

    async def delete(self, tenant: str, model_id: str) -> None:
        """Delete the model, its cells and its file (unless another model refers to it).

        Live jobs of the model are asked to stop. The evaluation and
        validation results, which other services own, stay until those
        services clean up: their reads of a deleted model answer NOT_FOUND
        because the model is gone here.
        """
        for job_id in await self.store.live_jobs_of_model(tenant, model_id):
            await self.events.request_cancel(job_id)
        found = await self.store.delete_model(tenant, model_id, self.files.delete)
        if not found:
            raise _not_found(model_id)
        log.info("model deleted", model_id=model_id)

    # ------------------------------------------------------------------ cells

    async def _ready(self, tenant: str, model_id: str) -> list[SheetRecord]:
        model = await self.store.get_model(tenant, model_id)
        if model is None:
            raise _not_found(model_id)
        if model.state != ModelState.READY:
            raise FailedPrecondition(
                f"model models/{model_id} is {model.state.value.lower()}, not ready: its cells "
                "can be read once its import has finished",
                reason="MODEL_NOT_READY",
            )
        return await self.store.sheets(tenant, model_id)

    @staticmethod
    def _sheet_index(sheets: list[SheetRecord], name: str) -> int:
        wanted = name.casefold()
        for sheet in sheets:
            if sheet.name.casefold() == wanted:
                return sheet.index
        raise InvalidArgument(f"the model has no sheet named {name!r}",
                              reason="UNKNOWN_REFERENCE")

    def _cell_filter(self, sheets: list[SheetRecord], query: CellQuery) -> CellFilter:
        sheet = query.sheet or None
        bounds = (1, 1, 1_048_576, 16_384)
        if query.range:
            range_sheet, bounds = parse_cell_range(query.range)
            if range_sheet is not None:
                if sheet is not None and sheet.casefold() != range_sheet.casefold():
                    raise InvalidArgument(
                        f"the range is on sheet {range_sheet!r} but the sheet filter is {sheet!r}",
                        reason="INVALID_RANGE",
                    )
                sheet = range_sheet
        return CellFilter(
            sheet_index=self._sheet_index(sheets, sheet) if sheet is not None else None,
            first_row=bounds[0],
            first_col=bounds[1],
            last_row=bounds[2],
            last_col=bounds[3],
            formulas_only=query.formulas_only,
        )

    async def _verdicts(self, tenant: str, model_id: str, cells: list[StoredCell]) -> Verdicts:
        return await self.results.of_cells(
            tenant, model_id, [(c.sheet, c.row, c.col) for c in cells if c.formula is not None])

    async def list_cells(
        self, tenant: str, model_id: str, query: CellQuery, size: int, token: str
    ) -> tuple[CellPage, str]:
        sheets = await self._ready(tenant, model_id)
        where = self._cell_filter(sheets, query)
        fingerprint = filter_fingerprint("cells", model_id, query.sheet, query.range,
                                         query.formulas_only, query.validation_status)
        position = decode_page_token(token, fingerprint)
        limit = page_size(size, default=CELLS_PAGE[0], maximum=CELLS_PAGE[1])
        if query.validation_status:
            return await self._cells_with_status(tenant, model_id, sheets, where,
                                                 query.validation_status,
                                                 position, limit, fingerprint)
        after = None
        if position is not None:
            try:
                after = (int(position[0]), int(position[1]), int(position[2]))  # type: ignore[arg-type]
            except (ValueError, TypeError, IndexError):
                raise InvalidArgument("the page token is damaged",
                                      reason="INVALID_PAGE_TOKEN") from None
        cells = await self.store.list_cells(tenant, model_id, sheets, where, after, limit + 1)
        page, next_token = next_page(cells, limit, lambda c: [c.sheet_index, c.row, c.col],
                                     fingerprint)
        return CellPage(page, await self._verdicts(tenant, model_id, page)), next_token

    async def _cells_with_status(
        self, tenant: str, model_id: str, sheets: list[SheetRecord], where: CellFilter,
        status: int, position: Position | None, limit: int, fingerprint: str,
    ) -> tuple[CellPage, str]:
        """A page of the cells validation gave ``status``: validation lists them (sheet and
        range applied there), this store has their contents."""
        validation_token = ""
        if position is not None:
            if len(position) != 1 or not isinstance(position[0], str):
                raise InvalidArgument("the page token is damaged", reason="INVALID_PAGE_TOKEN")
            validation_token = position[0]
        names = {s.index: s.name for s in sheets}
        sheet = names[where.sheet_index] if where.sheet_index is not None else ""
        bounds = (where.first_row, where.first_col, where.last_row, where.last_col)
        whole = bounds == (1, 1, 1_048_576, 16_384)
        verdicts, next_validation = await self.results.with_status(
            tenant, model_id, status, sheet, "" if whole else _a1(bounds), limit,
            validation_token)
        index = {s.name: s.index for s in sheets}
        keys = [(index[v.sheet], v.row, v.col) for v in verdicts if v.sheet in index]
        cells = await self.store.cells_at(tenant, model_id, sheets, keys)
        by_key = {(v.sheet, v.row, v.col): v for v in verdicts}
        next_token = encode_page_token([next_validation], fingerprint) if next_validation else ""
        return CellPage(cells, by_key), next_token

    async def stream_cells(
        self, tenant: str, model_id: str, sheet: str, batch: int, *, with_results: bool = True
    ) -> AsyncIterator[CellPage]:
        sheets = await self._ready(tenant, model_id)
        where = self._cell_filter(sheets, CellQuery(sheet=sheet))
        size = page_size(batch, default=STREAM_BATCH[0], maximum=STREAM_BATCH[1])
        async for cells in self.store.stream_cells(tenant, model_id, sheets, where, size):
            verdicts = await self._verdicts(tenant, model_id, cells) if with_results else {}
            yield CellPage(cells, verdicts)

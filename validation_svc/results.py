"""Reading validation results: the domain behind GetValidationSummary, ListMismatches,
ListUncalculated, ListCellResults and BatchGetCellResults.

Every read first asks import_svc whether the model exists for the tenant (at
the same time as it reads its own tables): a missing model, another tenant's
and a deleted one are all NOT_FOUND, and a deleted model's results are
forgotten on the way. A model that exists but was never validated is
FAILED_PRECONDITION ``NOT_VALIDATED`` for the lists and the summary;
BatchGetCellResults answers it with no results.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Sequence
from typing import Final, TypeVar

from calcwire.errors import FailedPrecondition, InvalidArgument, NotFound
from calcwire.formula import parse_range
from calcwire.logs import get_logger
from calcwire.paging import decode_page_token, filter_fingerprint, next_page, page_size
from validation_svc.compare import Status, StatusCounts
from validation_svc.domain import CellResult, ModelGone, ModelInfo, ValidationSummary
from validation_svc.sources import Workbooks
from validation_svc.store import ValidationStore

__all__ = ["MAX_BATCH_GET", "UNCALCULATED", "Results", "model_not_found"]

log = get_logger(__name__)

UNCALCULATED: Final = (Status.NOT_CACHED, Status.NOT_COMPUTABLE, Status.CIRCULAR)
"""The statuses of formula cells that could not be checked (ListUncalculated)."""

MISMATCHES_PAGE: Final = (100, 10_000)
UNCALCULATED_PAGE: Final = (100, 10_000)
RESULTS_PAGE: Final = (500, 10_000)
MAX_BATCH_GET: Final = 10_000

_T = TypeVar("_T")


def model_not_found(model_id: str) -> NotFound:
    return NotFound(f"no model models/{model_id}", reason="MODEL_NOT_FOUND")


def not_validated(model_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"model models/{model_id} has not been validated yet: its results appear once its "
        "validation job has succeeded", reason="NOT_VALIDATED")


def _damaged() -> InvalidArgument:
    return InvalidArgument("the page token is damaged", reason="INVALID_PAGE_TOKEN")


def _ints(position: Sequence[object], count: int) -> tuple[int, ...]:
    if len(position) != count or not all(type(p) is int for p in position):
        raise _damaged()
    return tuple(position)  # type: ignore[arg-type]


def _bounds(text: str) -> tuple[int, int, int, int]:
    """(first row, first column, last row, last column) of an A1 range without sheet."""
    if not text.strip():
        return (1, 1, 1_048_576, 16_384)
    if "!" in text:
        raise InvalidArgument(f"range {text!r} names a sheet: use the sheet field",
                              reason="INVALID_RANGE")
    try:
        return parse_range(text.strip())
    except ValueError:
        raise InvalidArgument(f"{text!r} is not an A1 range such as B2:M40",
                              reason="INVALID_RANGE") from None


class Results:
    """Validation results of every tenant, each call for one tenant."""

    def __init__(self, store: ValidationStore, workbooks: Workbooks) -> None:
        self.store = store
        self.workbooks = workbooks

    async def _with_model(self, tenant: str, model_id: str,
                          read: Awaitable[_T]) -> tuple[ModelInfo, _T]:
        """The model (NOT_FOUND unless it exists for the tenant) and ``read``'s answer."""
        looked_up, answer = await asyncio.gather(
            self.workbooks.get_model(tenant, model_id), read, return_exceptions=True)
        if isinstance(looked_up, ModelGone):
            if await self.store.delete_model(tenant, model_id):
                log.info("results of a deleted model removed", model_id=model_id)
            raise model_not_found(model_id)
        if isinstance(looked_up, BaseException):
            raise looked_up
        if isinstance(answer, BaseException):
            raise answer
        return looked_up, answer

    @staticmethod
    def _sheet_index(model: ModelInfo, sheet: str) -> int | None:
        if not sheet:
            return None
        found = model.sheet(sheet)
        if found is None:
            raise InvalidArgument(f"the model has no sheet named {sheet!r}",
                                  reason="UNKNOWN_REFERENCE")
        return found.index

    async def summary(self, tenant: str, model_id: str) -> ValidationSummary:
        _, summary = await self._with_model(tenant, model_id,
                                            self.store.get_summary(tenant, model_id))
        if summary is None:
            raise not_validated(model_id)
        return summary

    async def mismatches(self, tenant: str, model_id: str, sheet: str, size: int,
                         token: str) -> tuple[list[CellResult], str, int]:
        """A page of mismatches, largest difference first; its next token; how many in all."""
        model, summary = await self._with_model(tenant, model_id,
                                                self.store.get_summary(tenant, model_id))
        if summary is None:
            raise not_validated(model_id)
        sheet_index = self._sheet_index(model, sheet)
        fingerprint = filter_fingerprint("mismatches", model_id, sheet_index)
        position = decode_page_token(token, fingerprint)
        after = None
        if position is not None:
            if len(position) != 4 or type(position[0]) not in (int, float):
                raise _damaged()
            rank = float(position[0])  # type: ignore[arg-type]
            if math.isnan(rank):
                raise _damaged()
            s, r, c = _ints(position[1:], 3)
            after = (rank, s, r, c)
        limit = page_size(size, default=MISMATCHES_PAGE[0], maximum=MISMATCHES_PAGE[1])
        rows = await self.store.list_mismatches(tenant, model_id, sheet_index, after, limit + 1)
        page, next_token = next_page(
            rows, limit, lambda x: [x.mismatch_rank, x.sheet_index, x.row, x.col], fingerprint)
        return page, next_token, summary.counts_of(sheet_index).mismatch

    async def _listed(self, tenant: str, model_id: str, what: str, statuses: Sequence[Status],
                      sheet: str, size: int, token: str, default: tuple[int, int],
                      range_text: str = "") -> tuple[list[CellResult], str, StatusCounts]:
        model, summary = await self._with_model(tenant, model_id,
                                                self.store.get_summary(tenant, model_id))
        if summary is None:
            raise not_validated(model_id)
        sheet_index = self._sheet_index(model, sheet)
        wanted = sorted(set(statuses), key=lambda s: s.name)
        bounds = _bounds(range_text)
        fingerprint = filter_fingerprint(what, model_id, sheet_index, [s.name for s in wanted],
                                         bounds)
        position = decode_page_token(token, fingerprint)
        after = None
        if position is not None:
            s, r, c = _ints(position, 3)
            after = (s, r, c)
        limit = page_size(size, default=default[0], maximum=default[1])
        rows = await self.store.list_results(tenant, model_id, wanted, sheet_index, after,
                                             limit + 1, bounds)
        page, next_token = next_page(rows, limit, lambda x: [x.sheet_index, x.row, x.col],
                                     fingerprint)
        return page, next_token, summary.counts_of(sheet_index)

    async def uncalculated(self, tenant: str, model_id: str, sheet: str, size: int,
                           token: str) -> tuple[list[CellResult], str, int]:
        """Formula cells not cached, not computable or circular, in cell order."""
        page, next_token, counts = await self._listed(
            tenant, model_id, "uncalculated", UNCALCULATED, sheet, size, token, UNCALCULATED_PAGE)
        return page, next_token, counts.not_cached + counts.not_computable + counts.circular

    async def cell_results(self, tenant: str, model_id: str, sheet: str,
                           statuses: Sequence[Status], size: int, token: str,
                           range_text: str = "") -> tuple[list[CellResult], str]:
        page, next_token, _ = await self._listed(
            tenant, model_id, "results", statuses, sheet, size, token, RESULTS_PAGE, range_text)
        return page, next_token

    async def batch_get(self, tenant: str, model_id: str, cells: Sequence[tuple[str, int, int]],
                        status: Status | None) -> list[CellResult]:
        """The results of ``cells`` (sheet name, row, column) that have one, in the order asked."""
        if len(cells) > MAX_BATCH_GET:
            raise InvalidArgument(f"at most {MAX_BATCH_GET:,} cells per call (got {len(cells):,})",
                                  reason="TOO_MANY_CELLS")
        model, _ = await self._with_model(tenant, model_id, asyncio.sleep(0))
        keys: list[tuple[int, int, int] | None] = []
        for name, row, col in cells:
            sheet = model.sheet(name)
            keys.append((sheet.index, row, col) if sheet is not None else None)
        found = await self.store.get_results(tenant, model_id,
                                             [k for k in keys if k is not None], status)
        return [found[k] for k in keys if k is not None and k in found]

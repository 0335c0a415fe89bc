"""What a calculation returns for each formula cell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from calcwire.values import CellValue

__all__ = ["CellResult", "CellStatus"]

CellStatus: TypeAlias = Literal["computed", "not_computable", "circular"]


@dataclass(frozen=True, slots=True)
class CellResult:
    """The engine's verdict on one formula cell.

    ``value`` is the computed value (for an array formula anchor, its top-left
    element). ``reason`` says why a cell is not computable or circular, e.g.
    ``"unsupported function: FOOBAR"``, ``"depends on not computable
    Sheet1!B3"``, ``"circular reference (...)"``. ``volatile`` marks cells that
    depend on NOW, TODAY, RAND, OFFSET, INDIRECT... whose values legitimately
    differ from run to run.
    """

    sheet: str
    row: int
    col: int
    value: CellValue
    status: CellStatus
    reason: str | None = None
    volatile: bool = False


def result_maker() -> Callable[
    [str, int, int, CellValue, CellStatus, str | None, bool], CellResult
]:
    """A faster ``CellResult(...)`` for the engine's tens of thousands of results.

    A frozen dataclass assigns each field through ``object.__setattr__``; this
    sets the slots through their descriptors instead, about twice as fast, and
    makes the very same objects (equal, hashable, immutable to callers).
    """
    new = object.__new__
    sheet, row, col, value, status, reason, volatile = (
        CellResult.__dict__[name].__set__
        for name in ("sheet", "row", "col", "value", "status", "reason", "volatile")
    )

    def make(
        s: str, r: int, c: int, v: CellValue, st: CellStatus, why: str | None, vol: bool
    ) -> CellResult:
        result: CellResult = new(CellResult)
        sheet(result, s)
        row(result, r)
        col(result, c)
        value(result, v)
        status(result, st)
        reason(result, why)
        volatile(result, vol)
        return result

    return make

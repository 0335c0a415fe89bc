"""What a calculation returns for each formula cell."""

from __future__ import annotations

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

"""The validation rules: is a recomputed value the value Excel cached, and what is each formula cell.

Pure functions over :mod:`calcwire.values`; no engine, gRPC, NATS or SQL here,
so ``calcwire check`` and the validation service share them.

Values match by kind:

- numbers when ``|computed - cached| <= absolute + relative * |cached|``
  (defaults 1e-6 and 1e-9); booleans are not numbers here;
- text, booleans and error codes exactly (text is case-sensitive);
- an empty result matches an empty or empty-text cache, and the other way round;
- anything else (a number against text, an error against a number) differs,
  except that with ``logicals_as_numbers`` (for files saved by LibreOffice,
  which caches TRUE and FALSE as the numbers 1 and 0) a computed logical
  matches the cached number it would be saved as.

A formula cell gets one :class:`Status`, decided in this order:

1. ``circular``: the engine found it in a circular reference the file does not iterate;
2. ``not_computable``: the engine could not compute it (the reason says why);
3. ``not_cached``: the file carries no value for it (it was never calculated);
4. ``match``: the values match;
5. ``volatile``: they differ, but the formula depends on a volatile function
   (NOW, RAND, OFFSET...), so a difference is expected;
6. ``mismatch``: they differ; the cached value is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, TypeGuard

from calcwire.errors import InvalidArgument
from calcwire.values import CellValue, is_number

__all__ = [
    "DEFAULT_TOLERANCE",
    "Status",
    "StatusCounts",
    "Summary",
    "Tolerance",
    "Verdict",
    "caches_logicals_as_numbers",
    "classify",
    "difference",
    "values_match",
]


class Status(StrEnum):
    """What validation concluded about one formula cell."""

    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_CACHED = "not_cached"
    NOT_COMPUTABLE = "not_computable"
    VOLATILE = "volatile"
    CIRCULAR = "circular"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far apart two numbers may be and still match: ``absolute + relative * |cached|``."""

    absolute: float = 1e-6
    relative: float = 1e-9

    def __post_init__(self) -> None:
        for name in ("absolute", "relative"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InvalidArgument(f"the {name} tolerance must be a finite number >= 0, "
                                      f"not {value!r}", reason="INVALID_TOLERANCE")


DEFAULT_TOLERANCE: Final = Tolerance()


def _number(value: CellValue) -> TypeGuard[float]:
    return is_number(value)


def _is_empty(value: CellValue) -> bool:
    return value is None or value == ""


def values_match(computed: CellValue, cached: CellValue,
                 tolerance: Tolerance = DEFAULT_TOLERANCE, *,
                 logicals_as_numbers: bool = False) -> bool:
    """True when ``computed`` is the value Excel cached, by the rules of this module.

    >>> values_match(0.1 + 0.2, 0.3), values_match("a", "A"), values_match(None, "")
    (True, False, True)
    """
    if _number(computed) and _number(cached):
        return abs(computed - cached) <= tolerance.absolute + tolerance.relative * abs(cached)
    if _is_empty(computed) and _is_empty(cached):
        return True
    if logicals_as_numbers and type(computed) is bool and _number(cached):
        return float(computed) == cached
    return type(computed) is type(cached) and computed == cached


def difference(computed: CellValue, cached: CellValue,
               tolerance: Tolerance = DEFAULT_TOLERANCE, *,
               logicals_as_numbers: bool = False) -> float:
    """How far apart two values are, to rank mismatches: ``|computed - cached|`` for two numbers,
    0.0 for values that match, infinity for values of different kinds or different text
    (a wrong type is ranked above any numeric difference)."""
    if _number(computed) and _number(cached):
        delta = abs(computed - cached)
        return math.inf if math.isnan(delta) else float(delta)
    matched = values_match(computed, cached, tolerance, logicals_as_numbers=logicals_as_numbers)
    return 0.0 if matched else math.inf


def caches_logicals_as_numbers(application: str) -> bool:
    """Whether the program that saved a file (docProps/app.xml) caches logicals as 1 and 0."""
    return application.lower().startswith("libreoffice")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The status of one formula cell, with the engine's reason or the difference found."""

    status: Status
    reason: str | None = None
    difference: float | None = None


_MATCH: Final = Verdict(Status.MATCH, difference=0.0)


def classify(
    *,
    cached: CellValue,
    computed: CellValue,
    engine_status: str = "computed",
    reason: str | None = None,
    volatile: bool = False,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    logicals_as_numbers: bool = False,
) -> Verdict:
    """The status of a formula cell (see the module docstring for the order of the rules).

    ``engine_status`` is the engine's: ``computed``, ``not_computable`` or ``circular``.
    """
    if engine_status == "circular":
        return Verdict(Status.CIRCULAR, reason or "circular reference")
    if engine_status == "not_computable":
        return Verdict(Status.NOT_COMPUTABLE, reason or "not computable")
    if engine_status != "computed":
        raise ValueError(f"unknown engine status: {engine_status!r}")
    if cached is None:
        return Verdict(Status.NOT_CACHED, "the file holds no value for this formula")
    if values_match(computed, cached, tolerance, logicals_as_numbers=logicals_as_numbers):
        return _MATCH
    delta = difference(computed, cached, tolerance)
    if volatile:
        return Verdict(Status.VOLATILE, "depends on a volatile function", delta)
    return Verdict(Status.MISMATCH, None, delta)


@dataclass(slots=True)
class StatusCounts:
    """How many formula cells got each status."""

    formula_cells: int = 0
    match: int = 0
    mismatch: int = 0
    not_cached: int = 0
    not_computable: int = 0
    volatile: int = 0
    circular: int = 0

    def add(self, status: Status, count: int = 1) -> None:
        self.formula_cells += count
        # A Status is the str of its field name; Enum's .value would cost more than the rest.
        setattr(self, status, getattr(self, status) + count)

    def as_dict(self) -> dict[str, int]:
        return {
            "formula_cells": self.formula_cells,
            "match": self.match,
            "mismatch": self.mismatch,
            "not_cached": self.not_cached,
            "not_computable": self.not_computable,
            "volatile": self.volatile,
            "circular": self.circular,
        }


@dataclass(slots=True)
class Summary:
    """Counts per status, over the workbook and per sheet (sheets in the order first seen)."""

    totals: StatusCounts = field(default_factory=StatusCounts)
    sheets: dict[str, StatusCounts] = field(default_factory=dict)

    def add(self, sheet: str, status: Status) -> None:
        self.totals.add(status)
        counts = self.sheets.get(sheet)
        if counts is None:
            counts = self.sheets[sheet] = StatusCounts()
        counts.add(status)

    @classmethod
    def of(cls, verdicts: Iterable[tuple[str, Status]]) -> Summary:
        """The summary of ``(sheet, status)`` pairs."""
        summary = cls()
        for sheet, status in verdicts:
            summary.add(sheet, status)
        return summary

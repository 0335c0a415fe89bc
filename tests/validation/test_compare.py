"""The comparison rules of validation_svc.compare."""

from __future__ import annotations

import math

import pytest

from calcwire.errors import InvalidArgument
from calcwire.values import XlError
from validation_svc.compare import (
    Status,
    StatusCounts,
    Summary,
    Tolerance,
    Verdict,
    classify,
    difference,
    values_match,
)


class TestValuesMatch:
    @pytest.mark.parametrize(("computed", "cached"), [
        (1.0, 1.0),
        (0.1 + 0.2, 0.3),
        (1.0 + 9e-7, 1.0),  # within the absolute part
        (1e12 + 900.0, 1e12),  # within the relative part: 1e-6 + 1e-9 * 1e12 = 1000
        (3, 3.0),
        ("Revenue", "Revenue"),
        (True, True),
        (XlError.DIV0, XlError("#DIV/0!")),
        (None, None),
        (None, ""),
        ("", None),
    ])
    def test_matches(self, computed: object, cached: object) -> None:
        assert values_match(computed, cached)  # type: ignore[arg-type]

    @pytest.mark.parametrize(("computed", "cached"), [
        (1.0 + 2e-6, 1.0),
        (1e12 + 1100.0, 1e12),
        ("revenue", "Revenue"),  # text is case-sensitive
        ("1", 1.0),
        (1.0, "1"),
        (True, 1.0),  # a logical is not a number
        (0.0, False),
        (XlError.NA, XlError.VALUE),
        (XlError.NA, "#N/A"),
        (0.0, None),  # an empty cache matches only an empty result
        (None, 0.0),
        (math.nan, 1.0),
        (math.inf, 1e308),
    ])
    def test_differs(self, computed: object, cached: object) -> None:
        assert not values_match(computed, cached)  # type: ignore[arg-type]

    def test_tolerance_is_relative_to_the_cached_value(self) -> None:
        tight = Tolerance(absolute=0.0, relative=0.01)
        assert values_match(101.0, 100.0, tight)
        assert not values_match(100.0, 101.5, tight)

    def test_custom_tolerance(self) -> None:
        assert values_match(1.04, 1.0, Tolerance(absolute=0.05))
        assert not values_match(1.0 + 1e-7, 1.0, Tolerance(absolute=0.0, relative=0.0))

    @pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
    def test_bad_tolerance_is_refused(self, bad: float) -> None:
        with pytest.raises(InvalidArgument) as caught:
            Tolerance(absolute=bad)
        assert caught.value.reason == "INVALID_TOLERANCE"


class TestLogicalsCachedAsNumbers:
    def test_only_when_asked(self) -> None:
        assert not values_match(True, 1.0)
        assert values_match(True, 1.0, logicals_as_numbers=True)
        assert values_match(False, 0.0, logicals_as_numbers=True)
        assert not values_match(True, 0.0, logicals_as_numbers=True)
        assert not values_match(1.0, True, logicals_as_numbers=True)  # a cached logical is one

    def test_classify(self) -> None:
        assert classify(cached=1.0, computed=True,
                        logicals_as_numbers=True).status is Status.MATCH

    def test_which_programs(self) -> None:
        from validation_svc.compare import caches_logicals_as_numbers

        assert caches_logicals_as_numbers("LibreOffice/6.4.5.2$Linux_X86_64")
        assert not caches_logicals_as_numbers("Microsoft Excel")
        assert not caches_logicals_as_numbers("")


class TestDifference:
    def test_numbers(self) -> None:
        assert difference(3.0, 1.0) == 2.0
        assert difference(1.0, 3.0) == 2.0

    def test_kinds_rank_above_numbers(self) -> None:
        assert difference("a", "b") == math.inf
        assert difference(XlError.NA, 1.0) == math.inf
        assert difference(math.nan, 1.0) == math.inf

    def test_matching_values_differ_by_nothing(self) -> None:
        assert difference("a", "a") == 0.0
        assert difference(None, "") == 0.0


class TestClassify:
    def test_match(self) -> None:
        assert classify(cached=2.0, computed=2.0) == Verdict(Status.MATCH, difference=0.0)

    def test_mismatch_carries_the_difference(self) -> None:
        verdict = classify(cached=2.0, computed=2.5)
        assert verdict.status is Status.MISMATCH and verdict.difference == 0.5

    def test_not_cached(self) -> None:
        assert classify(cached=None, computed=2.0).status is Status.NOT_CACHED
        assert classify(cached=None, computed=None).status is Status.NOT_CACHED

    def test_empty_text_cache_is_a_cached_value(self) -> None:
        assert classify(cached="", computed=None).status is Status.MATCH

    def test_not_computable_keeps_the_engines_reason(self) -> None:
        verdict = classify(cached=1.0, computed=None, engine_status="not_computable",
                           reason="unsupported function: FOOBAR")
        assert verdict == Verdict(Status.NOT_COMPUTABLE, "unsupported function: FOOBAR")

    def test_circular(self) -> None:
        verdict = classify(cached=1.0, computed=None, engine_status="circular")
        assert verdict.status is Status.CIRCULAR and verdict.reason

    def test_engine_verdicts_come_before_the_cache(self) -> None:
        assert classify(cached=None, computed=None,
                        engine_status="not_computable").status is Status.NOT_COMPUTABLE

    def test_volatile_only_when_the_values_differ(self) -> None:
        assert classify(cached=1.0, computed=1.0, volatile=True).status is Status.MATCH
        verdict = classify(cached=45000.0, computed=45600.0, volatile=True)
        assert verdict.status is Status.VOLATILE and verdict.difference == 600.0

    def test_tolerance_is_used(self) -> None:
        assert classify(cached=1.0, computed=1.1,
                        tolerance=Tolerance(absolute=0.2)).status is Status.MATCH

    def test_unknown_engine_status(self) -> None:
        with pytest.raises(ValueError):
            classify(cached=1.0, computed=1.0, engine_status="done")


class TestSummary:
    def test_counts_per_status_and_sheet(self) -> None:
        summary = Summary.of([("A", Status.MATCH), ("A", Status.MISMATCH), ("B", Status.MATCH),
                              ("B", Status.NOT_CACHED), ("A", Status.VOLATILE)])
        assert summary.totals.as_dict() == {
            "formula_cells": 5, "match": 2, "mismatch": 1, "not_cached": 1,
            "not_computable": 0, "volatile": 1, "circular": 0}
        assert list(summary.sheets) == ["A", "B"]
        assert summary.sheets["B"] == StatusCounts(formula_cells=2, match=1, not_cached=1)

    def test_every_status_has_a_count(self) -> None:
        counts = StatusCounts()
        for status in Status:
            counts.add(status)
        assert counts.formula_cells == len(Status)
        assert set(counts.as_dict()) == {"formula_cells", *(s.value for s in Status)}

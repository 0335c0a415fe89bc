"""``calcwire calc``: how a VALUE typed on the command line is read (no servers needed)."""

from __future__ import annotations

import pytest

from calcwire.cli.calc import parse_override, parse_value
from calcwire.errors import InvalidArgument
from calcwire.values import CellValue, XlError
from calcwire.wire import value_from_proto


@pytest.mark.parametrize(("text", "value"), [
    ("0.25", 0.25), ("25%", 0.25), ("-1e3", -1000.0), (".5", 0.5), ("+7", 7.0),
    ("TRUE", True), ("false", False), ("#N/A", XlError.NA), ("#div/0!", XlError.DIV0),
    ("", None), ("  ", None), ('"TRUE"', "TRUE"), ("'42'", "42"), ("Base", "Base"),
    ("1,000", "1,000"), ("inf", "inf"), ("nan", "nan"), ("#nope", "#nope"),
])
def test_parse_value(text: str, value: CellValue) -> None:
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_override_splits_at_the_first_equals_sign() -> None:
    override = parse_override("Inputs!B4==A1")
    assert override.reference == "Inputs!B4"
    assert value_from_proto(override.value) == "=A1"


@pytest.mark.parametrize("text", ["B5", "=3", " =3"])
def test_override_needs_a_reference_and_a_value(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_override(text)
    assert caught.value.reason == "INVALID_OVERRIDE"

"""The shared cell value types."""

import pickle

import pytest

from calcwire.values import ERROR_CODES, XlError, is_number, value_kind


class TestXlError:
    def test_one_instance_per_code(self) -> None:
        assert XlError("#DIV/0!") is XlError.DIV0
        assert XlError("#N/A") is XlError.NA

    def test_unknown_code_is_refused(self) -> None:
        with pytest.raises(ValueError):
            XlError("#BOGUS!")

    def test_survives_pickling_as_the_same_instance(self) -> None:
        assert pickle.loads(pickle.dumps(XlError.REF)) is XlError.REF

    def test_every_code_round_trips(self) -> None:
        assert [str(XlError(c)) for c in ERROR_CODES] == list(ERROR_CODES)


class TestValueKind:
    @pytest.mark.parametrize(
        ("value", "kind"),
        [
            (1.5, "number"),
            (3, "number"),
            ("x", "string"),
            (True, "boolean"),
            (XlError.NA, "error"),
            (None, "empty"),
        ],
    )
    def test_kinds(self, value: object, kind: str) -> None:
        assert value_kind(value) == kind  # type: ignore[arg-type]

    def test_booleans_are_not_numbers(self) -> None:
        assert not is_number(True)
        assert is_number(0.0)

"""Page tokens, page sizes and AIP-160 filters (calcwire.paging, calcwire.filtering)."""

from __future__ import annotations

import base64

import pytest

from calcwire.errors import InvalidArgument
from calcwire.filtering import Condition, Field, parse_filter
from calcwire.paging import decode_page_token, encode_page_token, filter_fingerprint, page_size


class TestPageTokens:
    def test_round_trip(self) -> None:
        fp = filter_fingerprint("models/1", "Sheet1", True)
        token = encode_page_token([2, 17, 3, "x", None, 1.5], fp)
        assert decode_page_token(token, fp) == [2, 17, 3, "x", None, 1.5]

    def test_empty_token_is_the_first_page(self) -> None:
        assert decode_page_token("", "f") is None

    @pytest.mark.parametrize(
        "token",
        ["garbage!", "e30", base64.urlsafe_b64encode(b'{"v": 9, "p": [], "f": "f"}').decode(),
         base64.urlsafe_b64encode(b"\xff\xfe").decode(), "AAAA"],
    )
    def test_a_token_we_did_not_issue(self, token: str) -> None:
        with pytest.raises(InvalidArgument) as caught:
            decode_page_token(token, "f")
        assert caught.value.reason == "INVALID_PAGE_TOKEN"

    def test_a_token_for_other_filters(self) -> None:
        token = encode_page_token([1], filter_fingerprint("state = READY"))
        with pytest.raises(InvalidArgument, match="other filters") as caught:
            decode_page_token(token, filter_fingerprint("state = FAILED"))
        assert caught.value.reason == "INVALID_PAGE_TOKEN"

    def test_fingerprints_differ_by_filter(self) -> None:
        assert filter_fingerprint("a", 1) != filter_fingerprint("a", 2)
        assert filter_fingerprint("a", 1) == filter_fingerprint("a", 1)


class TestPageSize:
    def test_default_and_maximum(self) -> None:
        assert page_size(0, default=50, maximum=1000) == 50
        assert page_size(20, default=50, maximum=1000) == 20
        assert page_size(5000, default=50, maximum=1000) == 1000

    def test_negative_is_refused(self) -> None:
        with pytest.raises(InvalidArgument):
            page_size(-1, default=50, maximum=1000)


FIELDS = {
    "display_name": Field(ops="=!:"),
    "state": Field(ops="=!", values=["IMPORTING", "READY", "FAILED"]),
}


class TestFilters:
    def test_empty(self) -> None:
        assert parse_filter("  ", FIELDS) == []

    def test_conditions_joined_by_and(self) -> None:
        assert parse_filter('display_name : "DCF \\"v2\\"" AND state = ready', FIELDS) == [
            Condition("display_name", ":", 'DCF "v2"'),
            Condition("state", "=", "READY"),
        ]

    def test_not_equal(self) -> None:
        assert parse_filter("state != FAILED", FIELDS) == [Condition("state", "!=", "FAILED")]

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("colour = red", "unknown field 'colour'"),
            ("state = SOMETIMES", "cannot be 'SOMETIMES'"),
            ("state : READY", "does not take ':'"),
            ("state", "expected `field operator value`"),
            ("state = READY OR state = FAILED", "only AND is supported"),
            ("state = READY AND", "must follow AND"),
            ('display_name = "open', "unterminated string"),
            ("(state = READY)", "expected a field name"),
            ("state READY x", "expected an operator"),
        ],
    )
    def test_bad_filters(self, text: str, message: str) -> None:
        with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")) as caught:
            parse_filter(text, FIELDS)
        assert caught.value.reason == "INVALID_FILTER"

"""Opaque page tokens and page sizes for the List methods (AIP-158).

A token is the URL-safe base64 of a small JSON document: the keyset position
after the last item of the page (the values of the ORDER BY columns) and a
fingerprint of the request's filters. A token that does not decode, or that
comes back with other filters than the ones it was made for, is
INVALID_ARGUMENT with reason ``INVALID_PAGE_TOKEN``::

    fingerprint = filter_fingerprint("models/42", sheet, range_, formulas_only)
    position = decode_page_token(request.page_token, fingerprint)   # None: first page
    ...
    next_token = encode_page_token([sheet_index, row, col], fingerprint)

Positions hold JSON scalars only (str, int, float, bool, None); the caller
turns them back into its own types. Tokens are not signed: a client that edits
one can only move within what it may already read, since every query still
filters by tenant.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, TypeAlias, TypeVar

from calcwire.errors import InvalidArgument

__all__ = [
    "Position",
    "decode_page_token",
    "decode_time_position",
    "encode_page_token",
    "filter_fingerprint",
    "next_page",
    "page_size",
]

Position: TypeAlias = "list[str | int | float | bool | None]"

_VERSION: Final = 1

_T = TypeVar("_T")


def filter_fingerprint(*parts: object) -> str:
    """A short digest of everything a page depends on besides its position."""
    text = json.dumps([repr(p) for p in parts], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_page_token(position: Sequence[str | int | float | bool | None], fingerprint: str) -> str:
    document = {"v": _VERSION, "p": list(position), "f": fingerprint}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> Position | None:
    """The position a token continues from; None for an empty token (the first page)."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(raw)
        valid = (
            isinstance(document, dict)
            and document.get("v") == _VERSION
            and isinstance(document.get("p"), list)
            and isinstance(document.get("f"), str)
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidArgument(
            "the page token is not one this service issued", reason="INVALID_PAGE_TOKEN"
        )
    if document["f"] != fingerprint:
        raise InvalidArgument(
            "the page token was issued for a request with other filters; "
            "repeat the filters of the first page, or start again without a token",
            reason="INVALID_PAGE_TOKEN",
        )
    position: Position = document["p"]
    return position


def page_size(requested: int, *, default: int, maximum: int) -> int:
    """The page size to use: ``default`` for 0, at most ``maximum``; negative is refused."""
    if requested < 0:
        raise InvalidArgument(
            f"page_size must not be negative (got {requested})", reason="INVALID_PAGE_SIZE"
        )
    if requested == 0:
        return default
    return min(requested, maximum)


def decode_time_position(token: str, fingerprint: str) -> tuple[datetime, str] | None:
    """:func:`decode_page_token` for lists ordered by (time, id), newest first."""
    position = decode_page_token(token, fingerprint)
    if position is None:
        return None
    try:
        return datetime.fromisoformat(str(position[0])), str(position[1])
    except (ValueError, IndexError):
        raise InvalidArgument("the page token is damaged", reason="INVALID_PAGE_TOKEN") from None


def next_page(
    rows: list[_T],
    limit: int,
    position: Callable[[_T], Sequence[str | int | float | bool | None]],
    fingerprint: str,
) -> tuple[list[_T], str]:
    """The page and its next token, from ``rows`` fetched with ``limit + 1``: the extra row
    only says that there is more; the token continues after the page's last row."""
    if len(rows) <= limit:
        return rows, ""
    page = rows[:limit]
    return page, encode_page_token(position(page[-1]), fingerprint)

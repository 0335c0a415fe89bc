"""The small part of AIP-160 filters the List methods accept.

A filter is conditions joined by ``AND``; each is ``field op value``, where
``op`` is ``=`` (equals), ``!=`` (differs) or ``:`` (has: contains, ignoring
case, for text), and ``value`` is a double-quoted string (``\\"`` and ``\\\\``
escape) or a bare word (an enum value such as ``READY``)::

    fields = {"display_name": Field(ops="=:"), "state": Field(ops="=!", values=STATES)}
    parse_filter('display_name : "DCF" AND state = READY', fields)
    # [Condition("display_name", ":", "DCF"), Condition("state", "=", "READY")]

Anything else (an unknown field, an operator the field does not take, a value
outside an enum, OR, parentheses, a dangling AND) is INVALID_ARGUMENT with
reason ``INVALID_FILTER`` and a message that says what was wrong where.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from calcwire.errors import InvalidArgument

__all__ = ["Condition", "Field", "parse_filter"]

_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>!=|=|:)
      | (?P<word>[A-Za-z0-9_./*-]+)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_FIELD: Final = re.compile(r"[a-z_][a-z0-9_]*")
_OPS: Final = {"=": "=", "!": "!=", ":": ":"}


@dataclass(frozen=True, slots=True)
class Field:
    """What a filterable field accepts: operators (any of ``=``, ``!`` for ``!=``, ``:``)
    and, for an enum, the allowed values (compared without case)."""

    ops: str = "="
    values: Collection[str] | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: str


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(f"invalid filter: {message}", reason="INVALID_FILTER")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        kind = m.lastgroup or "other"
        value = m.group(kind)
        if kind == "other" and value in ('"',):
            raise _invalid(f"unterminated string at position {m.start(kind) + 1}")
        out.append((kind, value, m.start(kind) + 1))
        pos = m.end()
    return out


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_filter(text: str, fields: Mapping[str, Field]) -> list[Condition]:
    """The conditions of ``text`` (an empty filter has none)."""
    tokens = _tokens(text)
    conditions: list[Condition] = []
    i = 0
    known = ", ".join(sorted(fields))
    while i < len(tokens):
        if conditions:
            kind, value, where = tokens[i]
            if kind != "word" or value != "AND":
                hint = " (only AND is supported)" if value.upper() in ("OR", "NOT") else ""
                raise _invalid(f"expected AND at position {where}, found {value!r}{hint}")
            i += 1
            if i >= len(tokens):
                raise _invalid("a condition must follow AND")
        if len(tokens) - i < 3:
            found = " ".join(t[1] for t in tokens[i:])
            raise _invalid(f"expected `field operator value`, found {found!r}")
        (fkind, name, fwhere), (okind, op, owhere), (vkind, raw, vwhere) = tokens[i : i + 3]
        i += 3
        if fkind != "word" or not _FIELD.fullmatch(name):
            raise _invalid(f"expected a field name at position {fwhere}, found {name!r}")
        spec = fields.get(name)
        if spec is None:
            raise _invalid(f"unknown field {name!r} (filterable fields: {known})")
        if okind != "op":
            raise _invalid(f"expected an operator (=, !=, :) at position {owhere}, found {op!r}")
        allowed = {_OPS[c] for c in spec.ops}
        if op not in allowed:
            raise _invalid(
                f"field {name!r} does not take {op!r} (it takes {', '.join(sorted(allowed))})"
            )
        if vkind == "string":
            value = _unquote(raw)
        elif vkind == "word" and raw != "AND":
            value = raw
        else:
            raise _invalid(f"expected a value at position {vwhere}, found {raw!r}")
        if spec.values is not None:
            by_upper = {v.upper(): v for v in spec.values}
            if value.upper() not in by_upper:
                raise _invalid(
                    f"{name} cannot be {value!r} (one of {', '.join(spec.values)})"
                )
            value = by_upper[value.upper()]
        conditions.append(Condition(name, op, value))
    return conditions

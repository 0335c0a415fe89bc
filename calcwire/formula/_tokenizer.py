"""A fast tokenizer for Excel formulas as stored in .xlsx files (A1 style).

One compiled regular expression recognises every token, so tokenizing costs a
few microseconds per formula. Formula text is taken without its leading ``=``.

Token kinds (:class:`TokenKind`):

- ``NUMBER`` ``1``, ``2.5``, ``1E-3``; ``STRING`` ``"a""b"`` (quotes kept);
  ``ERROR`` ``#DIV/0!``; ``ARRAY`` ``{1,2;3,4}`` (whole constant);
- ``REF`` a cell, area, whole-column or whole-row reference with an optional
  sheet or external-book prefix: ``B7``, ``$A$1:C3``, ``'My sheet'!A:A``,
  ``[1]Rates!$B$2``, ``Sheet1!#REF!``;
- ``STRUCTREF`` a table (structured) reference: ``Table1[Sales]``,
  ``Table1[[#This Row],[Qty]]``, ``[@Qty]``;
- ``FUNC`` a function name with its opening parenthesis: ``SUM(``,
  ``_xlfn.XLOOKUP(``;
- ``NAME`` a defined name, a boolean or a LAMBDA parameter, optionally with a
  prefix (``Sheet1!Rate``, ``[1]!Rate``);
- ``OP`` an operator: ``+ - * / ^ & = <> < > <= >= % : @ #``;
- ``LPAREN``, ``RPAREN``, ``COMMA``, ``SEMICOLON``, ``SPACE`` (whitespace,
  which is the intersection operator between two references).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final, NamedTuple

__all__ = ["FormulaSyntaxError", "Token", "TokenKind", "tokenize"]


class FormulaSyntaxError(ValueError):
    """The formula text is not valid Excel formula syntax."""


class TokenKind(str, Enum):
    NUMBER = "NUMBER"
    STRING = "STRING"
    ERROR = "ERROR"
    ARRAY = "ARRAY"
    REF = "REF"
    FUNC = "FUNC"
    NAME = "NAME"
    OP = "OP"
    LPAREN = "LPAREN"
    RPAREN = "RPAREN"
    COMMA = "COMMA"
    SEMICOLON = "SEMICOLON"
    SPACE = "SPACE"
    STRUCTREF = "STRUCTREF"


class Token(NamedTuple):
    kind: TokenKind
    text: str
    pos: int


# Building blocks, shared with the reference rewriting in _translate.py.
# \w covers letters of every script; a name may also start with "_" or "\".
NAME_START: Final = r"(?:[^\W\d]|\\)"
NAME_CHAR: Final = r"[\w.?\\]"
SHEET_NAME: Final = rf"{NAME_START}[\w.]*"
QUOTED: Final = r"'(?:[^']|'')+'"
#: Optional sheet prefix: 'quoted', [1]Sheet, Sheet, Sheet1:Sheet3 (3-D), or [1] alone.
PREFIX: Final = rf"(?:{QUOTED}|(?:\[\d+\])?{SHEET_NAME}(?::{SHEET_NAME})?|\[\d+\])!"
COL: Final = r"\$?[A-Za-z]{1,3}"
ROW: Final = r"\$?[0-9]{1,7}"
CELL: Final = rf"{COL}{ROW}"
#: What may not follow a reference (else it is a name or a function).
REF_END: Final = r"(?![\w.(!?\[\\])"
AREA: Final = (
    rf"(?:{CELL}:{CELL}{REF_END}|{COL}:{COL}{REF_END}|{ROW}:{ROW}{REF_END}|{CELL}{REF_END})"
)
ERROR_CODES_RE: Final = (
    r"\#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!"
    r"|FIELD!|BLOCKED!|CONNECT!|UNKNOWN!|BUSY!|PYTHON!)"
)
STRING: Final = r'"(?:[^"]|"")*"'

_TOKEN_RE: Final = re.compile(
    rf"""
    (?P<SPACE>[ \t\r\n]+)
    |(?P<STRING>{STRING})
    |(?P<ERROR>{ERROR_CODES_RE})
    |(?P<ARRAY>\{{(?:{STRING}|[^{{}}"])*\}})
    |(?P<REF>(?:{PREFIX})?(?:{AREA}|\#REF!))
    |(?P<STRUCTREF>(?:{NAME_START}{NAME_CHAR}*)?\[(?!\d+\])(?:[^\[\]]|\[[^\]]*\])*\])
    |(?P<FUNC>{NAME_START}{NAME_CHAR}*\()
    |(?P<NAME>(?:{PREFIX})?{NAME_START}{NAME_CHAR}*)
    |(?P<NUMBER>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<OP><>|<=|>=|[-+*/^&=<>%:@\#])
    |(?P<LPAREN>\()
    |(?P<RPAREN>\))
    |(?P<COMMA>,)
    |(?P<SEMICOLON>;)
    """,
    re.VERBOSE,
)

_KINDS: Final = {k.value: k for k in TokenKind}


def tokenize(formula: str) -> list[Token]:
    """Split formula text (no leading ``=``) into tokens; raises FormulaSyntaxError."""
    tokens: list[Token] = []
    append = tokens.append
    match = _TOKEN_RE.match
    pos, end = 0, len(formula)
    kinds = _KINDS
    while pos < end:
        m = match(formula, pos)
        if m is None:
            raise FormulaSyntaxError(f"unexpected {formula[pos]!r} at {pos} in {formula!r}")
        kind = m.lastgroup
        assert kind is not None
        append(Token(kinds[kind], m.group(), pos))
        pos = m.end()
    return tokens

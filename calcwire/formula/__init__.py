"""Excel formula text tools shared by the workbook reader, the import service and the engine.

- :func:`tokenize` splits formula text into :class:`Token` objects;
- :func:`translate_formula` moves a formula to another cell (shared formulas);
- :func:`shape_key` gives copies of one formula the same key;
- :func:`column_letters`, :func:`column_index`, :func:`parse_a1`,
  :func:`parse_range` convert A1 references.
"""

from calcwire.formula._references import (
    MAX_COL,
    MAX_ROW,
    column_index,
    column_letters,
    parse_a1,
    parse_range,
)
from calcwire.formula._tokenizer import FormulaSyntaxError, Token, TokenKind, tokenize
from calcwire.formula._translate import shape_key, translate_formula

__all__ = [
    "MAX_COL",
    "MAX_ROW",
    "FormulaSyntaxError",
    "Token",
    "TokenKind",
    "column_index",
    "column_letters",
    "parse_a1",
    "parse_range",
    "shape_key",
    "tokenize",
    "translate_formula",
]

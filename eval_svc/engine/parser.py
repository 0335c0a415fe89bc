"""Formula text -> syntax tree (eval_svc.engine.ast), by precedence climbing.

Excel's operator precedence, tightest first: ``:`` (range), `` `` (intersection),
``,`` (union, only inside parentheses), unary ``-``/``+``, ``%``, ``^``,
``*``/``/``, ``+``/``-``, ``&``, comparisons. Unary minus binds tighter than
``^`` (``-2^2`` is 4), and ``^`` is left-associative, as in Excel.

Sheets and defined names are resolved while parsing through a
:class:`Resolver`, so the tree holds sheet indices and inlined name bodies.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

from calcwire.formula import (
    MAX_COL,
    MAX_ROW,
    FormulaSyntaxError,
    Token,
    TokenKind,
    column_index,
    tokenize,
)
from calcwire.values import XlError
from eval_svc.engine.ast import (
    Area,
    ArrayLit,
    Binary,
    Bool,
    Call,
    CellRef,
    Err,
    Invoke,
    Missing,
    Node,
    Num,
    Param,
    Str,
    Unary,
    Unsupported,
)

__all__ = ["Resolver", "count_slots", "normalise_function_name", "parse_formula", "split_prefix"]


class Resolver(Protocol):
    """What the parser needs to know about the book."""

    def sheet_index(self, name: str) -> int | None: ...

    def external_sheet(self, book: int, sheet: str) -> int | None: ...

    def defined_name(self, name: str, sheet: int | None) -> Node | None: ...

    def external_name(self, book: int, name: str) -> Node | None: ...

    def is_function(self, name: str) -> bool: ...


_INFIX: Final[dict[str, tuple[int, int]]] = {
    "=": (1, 2),
    "<>": (1, 2),
    "<": (1, 2),
    ">": (1, 2),
    "<=": (1, 2),
    ">=": (1, 2),
    "&": (3, 4),
    "+": (5, 6),
    "-": (5, 6),
    "*": (7, 8),
    "/": (7, 8),
    "^": (9, 10),
    ",": (13, 14),
    " ": (15, 16),
    ":": (17, 18),
}
_PREFIX_BP: Final = 11
_PERCENT_BP: Final = 12
_SPILL_BP: Final = 19

_OPERAND_END: Final = {TokenKind.REF, TokenKind.NAME, TokenKind.RPAREN, TokenKind.STRUCTREF}
_OPERAND_START: Final = {
    TokenKind.REF,
    TokenKind.NAME,
    TokenKind.FUNC,
    TokenKind.LPAREN,
    TokenKind.STRUCTREF,
}

_CELL_RE: Final = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})")
_COLS_RE: Final = re.compile(r"(\$?)([A-Za-z]{1,3}):(\$?)([A-Za-z]{1,3})")
_ROWS_RE: Final = re.compile(r"(\$?)([0-9]{1,7}):(\$?)([0-9]{1,7})")
_EXT_RE: Final = re.compile(r"\[(\d+)\](.*)")
_ARRAY_ITEM_RE: Final = re.compile(
    r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)'
    r"|(?P<err>#[A-Z0-9/!?_]+[!?A]?)|(?P<bool>TRUE|FALSE))\s*(?P<sep>[,;]|$)",
    re.IGNORECASE,
)


def normalise_function_name(text: str) -> str:
    """``_xlfn._xlws.SORT`` -> ``SORT``; names are case-insensitive."""
    name = text.upper()
    while name.startswith(("_XLFN.", "_XLWS.")):
        name = name[6:]
    return name


def split_prefix(text: str) -> tuple[str | None, str]:
    """``'My sheet'!A1`` -> ("My sheet", "A1"); no prefix -> (None, text)."""
    if text.startswith("'"):
        i = 1
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                break
            i += 1
        return text[1:i].replace("''", "'"), text[i + 2 :]
    bang = text.rfind("!")
    if bang < 0:
        return None, text
    return text[:bang], text[bang + 1 :]


def _parse_array(text: str) -> Node:
    rows: list[list[float | str | bool | XlError]] = [[]]
    body = text[1:-1]
    pos = 0
    while pos < len(body):
        m = _ARRAY_ITEM_RE.match(body, pos)
        if m is None:
            return Unsupported(f"cannot parse array constant {text}")
        if m["str"] is not None:
            rows[-1].append(m["str"][1:-1].replace('""', '"'))
        elif m["num"] is not None:
            rows[-1].append(float(m["num"]))
        elif m["bool"] is not None:
            rows[-1].append(m["bool"].upper() == "TRUE")
        else:
            try:
                rows[-1].append(XlError(m["err"].upper()))
            except ValueError:
                return Unsupported(f"cannot parse array constant {text}")
        if m["sep"] == ";":
            rows.append([])
        pos = m.end()
    if not rows[-1] or any(len(r) != len(rows[0]) for r in rows):
        return Unsupported(f"ragged array constant {text}")
    return ArrayLit(tuple(tuple(r) for r in rows))


class _Parser:
    def __init__(
        self,
        tokens: list[Token],
        row: int,
        col: int,
        sheet: int | None,
        resolver: Resolver,
        slots: bool = False,
    ) -> None:
        self.tokens = self._significant(tokens)
        self.pos = 0
        self.row, self.col, self.sheet = row, col, sheet
        self.resolver = resolver
        self.slots = slots
        self.next_slot = 0

    @staticmethod
    def _significant(tokens: list[Token]) -> list[Token]:
        """Drop whitespace, except between two operands, where it is the intersection operator."""
        out: list[Token] = []
        for i, t in enumerate(tokens):
            if t.kind is TokenKind.SPACE:
                prev = out[-1] if out else None
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if (
                    prev is not None
                    and nxt is not None
                    and prev.kind in _OPERAND_END
                    and nxt.kind in _OPERAND_START
                ):
                    out.append(Token(TokenKind.OP, " ", t.pos))
                continue
            out.append(t)
        return out

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        t = self.tokens[self.pos]
        self.pos += 1
        return t

    def fail(self, what: str) -> FormulaSyntaxError:
        t = self.peek()
        where = f"at {t.text!r}" if t else "at the end"
        return FormulaSyntaxError(f"{what} {where}")

    def parse(self) -> Node:
        if not self.tokens:
            raise FormulaSyntaxError("empty formula")
        node = self.expr(0, group=False)
        if self.peek() is not None:
            raise self.fail("unexpected token")
        return node

    def expr(self, min_bp: int, group: bool) -> Node:
        left = self.prefix(group)
        while True:
            t = self.peek()
            if t is None:
                return left
            if t.kind is TokenKind.OP:
                op = t.text
                if op == "%":
                    if _PERCENT_BP < min_bp:
                        return left
                    self.take()
                    left = Unary("%", left)
                    continue
                if op == "#":
                    if _SPILL_BP < min_bp:
                        return left
                    self.take()
                    left = Call("ANCHORARRAY", (left,))
                    continue
                bp = _INFIX.get(op)
                if bp is None:
                    raise self.fail("unexpected operator")
            elif t.kind is TokenKind.COMMA and group:
                op = ","
                bp = _INFIX[","]
            elif t.kind is TokenKind.LPAREN:
                self.take()
                left = Invoke(left, self.arguments())
                continue
            else:
                return left
            if bp[0] < min_bp:
                return left
            self.take()
            right = self.expr(bp[1], group)
            left = Binary(op, left, right)

    def prefix(self, group: bool) -> Node:
        t = self.peek()
        if t is None:
            raise self.fail("missing operand")
        self.take()
        kind = t.kind
        if kind is TokenKind.NUMBER:
            return Num(float(t.text))
        if kind is TokenKind.REF:
            return self.reference(t.text)
        if kind is TokenKind.FUNC:
            return self.call(t.text[:-1])
        if kind is TokenKind.STRING:
            return Str(t.text[1:-1].replace('""', '"'))
        if kind is TokenKind.NAME:
            return self.name(t.text)
        if kind is TokenKind.LPAREN:
            node = self.expr(0, group=True)
            nxt = self.peek()
            if nxt is None or nxt.kind is not TokenKind.RPAREN:
                raise self.fail("missing )")
            self.take()
            return node
        if kind is TokenKind.OP and t.text in ("-", "+"):
            operand = self.expr(_PREFIX_BP, group)
            if t.text == "-" and type(operand) is Num:
                return Num(-operand.value)
            return Unary(t.text, operand)
        if kind is TokenKind.OP and t.text == "@":
            return Call("SINGLE", (self.expr(_PREFIX_BP, group),))
        if kind is TokenKind.ERROR:
            return Err(XlError(t.text.upper()))
        if kind is TokenKind.ARRAY:
            return _parse_array(t.text)
        if kind is TokenKind.STRUCTREF:
            return Unsupported(f"table reference {t.text}")
        self.pos -= 1
        raise self.fail("unexpected token")

    def arguments(self) -> tuple[Node, ...]:
        args: list[Node] = []
        t = self.peek()
        if t is not None and t.kind is TokenKind.RPAREN:
            self.take()
            return ()
        while True:
            t = self.peek()
            if t is None:
                raise self.fail("missing )")
            if t.kind in (TokenKind.COMMA, TokenKind.RPAREN):
                args.append(Missing())
            else:
                args.append(self.expr(0, group=False))
            t = self.peek()
            if t is None:
                raise self.fail("missing )")
            self.take()
            if t.kind is TokenKind.RPAREN:
                return tuple(args)
            if t.kind is not TokenKind.COMMA:
                self.pos -= 1
                raise self.fail("expected , or )")

    def call(self, text: str) -> Node:
        args = self.arguments()
        name = normalise_function_name(text)
        if self.resolver.is_function(name):
            return Call(name, args)
        target = self.resolver.defined_name(text, self.sheet)
        if target is not None:
            return Invoke(target, args)
        return Call(name, args)

    def name(self, text: str) -> Node:
        upper = text.upper()
        if upper == "TRUE":
            return Bool(True)
        if upper == "FALSE":
            return Bool(False)
        if upper.startswith("_XLPM."):
            return Param(upper[6:])
        if upper.startswith("_XLETA."):
            return Call("_ETA", (Str(normalise_function_name(upper[7:])),))
        prefix, name = split_prefix(text)
        if prefix is None:
            node = self.resolver.defined_name(name, self.sheet)
        else:
            m = _EXT_RE.fullmatch(prefix)
            if m is not None and not m.group(2):
                node = self.resolver.external_name(int(m.group(1)), name)
            else:
                sheet = self.resolver.sheet_index(prefix)
                node = self.resolver.defined_name(name, sheet) if sheet is not None else None
        return node if node is not None else Err(XlError.NAME)

    def take_slots(self, n: int) -> int:
        if not self.slots:
            return -1
        first = self.next_slot
        self.next_slot += n
        return first

    def reference(self, text: str) -> Node:
        prefix, part = split_prefix(text)
        sheet = self.sheet
        if prefix is not None:
            m = _EXT_RE.fullmatch(prefix)
            if m is not None:
                ext = self.resolver.external_sheet(int(m.group(1)), m.group(2))
                if ext is None:
                    return Err(XlError.REF)
                sheet = ext
            elif ":" in prefix and self.resolver.sheet_index(prefix) is None:
                return Unsupported(f"3-D reference {text}")
            else:
                index = self.resolver.sheet_index(prefix)
                if index is None:
                    return Err(XlError.REF)
                sheet = index
        if part.upper() == "#REF!":
            return Err(XlError.REF)
        node = self.area(sheet, part)
        if type(node) is CellRef:
            return CellRef(
                node.sheet, node.row, node.col, node.row_abs, node.col_abs, self.take_slots(1)
            )
        if type(node) is Area and _CELL_RE.match(part):
            # a cell-to-cell area takes two parameter slots: the keys of its corners
            return Area(
                node.sheet,
                node.r1,
                node.c1,
                node.r2,
                node.c2,
                node.r1_abs,
                node.c1_abs,
                node.r2_abs,
                node.c2_abs,
                self.take_slots(2),
            )
        return node

    def area(self, sheet: int | None, part: str) -> Node:
        m = _CELL_RE.fullmatch(part)
        if m is not None:
            return self.cell(sheet, m)
        first, _, second = part.partition(":")
        m1, m2 = _CELL_RE.fullmatch(first), _CELL_RE.fullmatch(second)
        if m1 is not None and m2 is not None:
            a, b = self.cell(sheet, m1), self.cell(sheet, m2)
            if type(a) is not CellRef or type(b) is not CellRef:
                return Err(XlError.REF)
            return Area(
                sheet, a.row, a.col, b.row, b.col, a.row_abs, a.col_abs, b.row_abs, b.col_abs
            )
        m = _COLS_RE.fullmatch(part)
        if m is not None:
            c1, c2 = column_index(m.group(2)), column_index(m.group(4))
            a1, a2 = bool(m.group(1)), bool(m.group(3))
            return Area(
                sheet,
                1,
                c1 if a1 else c1 - self.col,
                MAX_ROW,
                c2 if a2 else c2 - self.col,
                True,
                a1,
                True,
                a2,
            )
        m = _ROWS_RE.fullmatch(part)
        if m is not None:
            r1, r2 = int(m.group(2)), int(m.group(4))
            a1, a2 = bool(m.group(1)), bool(m.group(3))
            return Area(
                sheet,
                r1 if a1 else r1 - self.row,
                1,
                r2 if a2 else r2 - self.row,
                MAX_COL,
                a1,
                True,
                a2,
                True,
            )
        raise FormulaSyntaxError(f"not a reference: {part!r}")

    def cell(self, sheet: int | None, m: re.Match[str]) -> Node:
        col, row = column_index(m.group(2)), int(m.group(4))
        if not 1 <= row <= MAX_ROW:
            return Err(XlError.REF)
        col_abs, row_abs = bool(m.group(1)), bool(m.group(3))
        return CellRef(
            sheet,
            row if row_abs else row - self.row,
            col if col_abs else col - self.col,
            row_abs,
            col_abs,
        )


def parse_formula(
    formula: str,
    row: int,
    col: int,
    sheet: int | None,
    resolver: Resolver,
    slots: bool = False,
) -> Node:
    """Parse formula text (no leading ``=``) written in cell (row, col) of ``sheet``.

    With ``slots``, references get their slot numbers (see eval_svc.engine.ast).
    Raises FormulaSyntaxError on text that is not a formula.
    """
    return _Parser(tokenize(formula), row, col, sheet, resolver, slots).parse()


def count_slots(node: Node) -> int:
    """How many reference slots a tree built with ``slots=True`` uses."""
    top = 0
    stack = [node]
    while stack:
        n = stack.pop()
        t = type(n)
        if t is CellRef:
            if n.slot >= 0:  # type: ignore[union-attr]
                top = max(top, n.slot + 1)  # type: ignore[union-attr]
        elif t is Area:
            if n.slot >= 0:  # type: ignore[union-attr]
                top = max(top, n.slot + 2)  # type: ignore[union-attr]
        elif t is Unary:
            stack.append(n.operand)  # type: ignore[union-attr]
        elif t is Binary:
            stack.append(n.left)  # type: ignore[union-attr]
            stack.append(n.right)  # type: ignore[union-attr]
        elif t is Call or t is Invoke:
            stack.extend(n.args)  # type: ignore[union-attr]
            if t is Invoke:
                stack.append(n.callee)  # type: ignore[union-attr]
    return top

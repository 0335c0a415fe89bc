"""The values formulas compute with, and Excel's operators over them.

Scalars are the shared cell values (float, str, bool, XlError, None for
empty; see calcwire.values). On top of them formulas handle:

- :class:`Ref`: a rectangular reference into the book, read lazily, so that
  functions such as ROW, OFFSET, INDEX or SUM see the reference itself;
- :class:`Array`: an array value (rows of scalars), from array constants,
  array formulas and functions that return arrays;
- :class:`Lambda`: a LAMBDA value.

Cells are addressed by an int key ``sheet << 36 | row << 15 | col``, so a
relative reference is the formula cell's own key plus a constant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from calcwire.formula import MAX_COL, MAX_ROW
from calcwire.values import CellValue, XlError

if TYPE_CHECKING:
    from eval_svc.engine.book import Book

SHEET_SHIFT: Final = 36
ROW_SHIFT: Final = 15
COL_MASK: Final = (1 << ROW_SHIFT) - 1
ROW_MASK: Final = (1 << 21) - 1

NULL: Final = XlError.NULL
DIV0: Final = XlError.DIV0
VALUE: Final = XlError.VALUE
REF: Final = XlError.REF
NAME: Final = XlError.NAME
NUM: Final = XlError.NUM
NA: Final = XlError.NA
CALC: Final = XlError.CALC
SPILL: Final = XlError.SPILL

_FLOAT_MAX: Final = 1.7976931348623157e308


def cell_key(sheet: int, row: int, col: int) -> int:
    return (sheet << SHEET_SHIFT) | (row << ROW_SHIFT) | col


def key_parts(key: int) -> tuple[int, int, int]:
    return key >> SHEET_SHIFT, (key >> ROW_SHIFT) & ROW_MASK, key & COL_MASK


class Array:
    """An array value: a non-empty list of equally long rows."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows = rows

    @property
    def nrows(self) -> int:
        return len(self.rows)

    @property
    def ncols(self) -> int:
        return len(self.rows[0])

    def flat(self) -> Iterator[Any]:
        for row in self.rows:
            yield from row

    def __repr__(self) -> str:
        return f"Array({self.rows!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and other.rows == self.rows

    __hash__ = None  # type: ignore[assignment]


class Ref:
    """A rectangular reference ``sheet!r1c1:r2c2`` into a book.

    ``dynamic`` marks references built at run time (OFFSET, INDIRECT), which
    the dependency graph cannot know: reading them makes sure the formula
    cells they cover are computed first.
    """

    __slots__ = ("book", "c1", "c2", "dynamic", "r1", "r2", "sheet")

    def __init__(
        self, book: Book, sheet: int, r1: int, c1: int, r2: int, c2: int, dynamic: bool = False
    ) -> None:
        self.book = book
        self.sheet = sheet
        self.r1, self.c1, self.r2, self.c2 = r1, c1, r2, c2
        self.dynamic = dynamic

    @property
    def nrows(self) -> int:
        return self.r2 - self.r1 + 1

    @property
    def ncols(self) -> int:
        return self.c2 - self.c1 + 1

    @property
    def is_cell(self) -> bool:
        return self.r1 == self.r2 and self.c1 == self.c2

    def bounded(self) -> tuple[int, int]:
        """Last row and column worth reading: whole columns/rows stop at the used range."""
        book = self.book
        return min(self.r2, book.max_row[self.sheet]), min(self.c2, book.max_col[self.sheet])

    def value_at(self, row: int, col: int) -> CellValue:
        """The value of the cell at absolute (row, col) on this reference's sheet."""
        get = self.book.dyn_get if self.dynamic else self.book.get
        return get((self.sheet << SHEET_SHIFT) | (row << ROW_SHIFT) | col)

    def first(self) -> CellValue:
        return self.value_at(self.r1, self.c1)

    def bounded_rows(self) -> list[list[CellValue]]:
        """The values, row by row, over the bounded area (whole columns end at the used range)."""
        get = self.book.dyn_get if self.dynamic else self.book.get
        r2, c2 = self.bounded()
        base = self.sheet << SHEET_SHIFT
        cols = range(self.c1, c2 + 1)
        return [[get(base | (r << ROW_SHIFT) | c) for c in cols] for r in range(self.r1, r2 + 1)]

    def full_rows(self) -> list[list[CellValue]]:
        """The values over the whole area, empty cells as None (for array arithmetic)."""
        rows = self.bounded_rows()
        ncols = self.ncols
        if rows and len(rows[0]) < ncols:
            pad: list[CellValue] = [None] * (ncols - len(rows[0]))
            rows = [row + pad for row in rows]
        missing = self.nrows - len(rows)
        if missing > 0:
            rows.extend([[None] * ncols for _ in range(missing)])
        return rows

    def values(self) -> Iterator[CellValue]:
        """Every value of the bounded area, row-major, empty cells included as None."""
        get = self.book.dyn_get if self.dynamic else self.book.get
        r2, c2 = self.bounded()
        base = self.sheet << SHEET_SHIFT
        if self.c1 == c2:
            c = self.c1
            for r in range(self.r1, r2 + 1):
                yield get(base | (r << ROW_SHIFT) | c)
            return
        cols = range(self.c1, c2 + 1)
        for r in range(self.r1, r2 + 1):
            rb = base | (r << ROW_SHIFT)
            for c in cols:
                yield get(rb | c)

    def present(self) -> Iterator[CellValue]:
        """The non-empty values of the area (what SUM, COUNT... look at)."""
        for v in self.values():
            if v is not None:
                yield v

    def sub(self, r1: int, c1: int, r2: int, c2: int) -> Ref:
        return Ref(self.book, self.sheet, r1, c1, r2, c2, self.dynamic)

    def __repr__(self) -> str:
        return f"Ref({self.sheet}, {self.r1}, {self.c1}, {self.r2}, {self.c2})"


class MultiRef:
    """A union of references, ``(A1:B2,D4)``."""

    __slots__ = ("refs",)

    def __init__(self, refs: list[Ref]) -> None:
        self.refs = refs

    def values(self) -> Iterator[CellValue]:
        for ref in self.refs:
            yield from ref.values()

    def present(self) -> Iterator[CellValue]:
        for ref in self.refs:
            yield from ref.present()


class Lambda:
    """A LAMBDA value: a Python callable taking the parameters positionally."""

    __slots__ = ("fn", "nparams")

    def __init__(self, fn: Callable[..., Any], nparams: int) -> None:
        self.fn = fn
        self.nparams = nparams

    def __call__(self, *args: Any) -> Any:
        if len(args) > self.nparams:
            return VALUE
        return self.fn(*args)


class Omitted:
    """A LAMBDA parameter that the call left out (ISOMITTED)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OMITTED"


OMITTED: Final = Omitted()


# ----------------------------------------------------------------------------
# Coercion


_NUMBER_RE: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LOOSE_NUMBER_RE: Final = re.compile(
    r"(?P<neg>\()?\s*(?P<sign>[+-])?\s*(?P<cur>\$)?\s*(?P<sign2>[+-])?"
    r"(?P<num>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<exp>[eE][+-]?[0-9]+)?\s*(?P<pct>%)?\s*(?P<close>\))?"
)


def text_to_number(text: str) -> float | XlError:
    """Excel's conversion of text to a number (as ``"3"+1`` or VALUE do).

    Accepts plain and scientific numbers, thousands separators, a currency
    sign, a trailing percent, accounting parentheses, and dates and times in
    the forms Excel recognises; anything else is #VALUE!.
    """
    s = text.strip()
    if _NUMBER_RE.fullmatch(s):
        return float(s)
    m = _LOOSE_NUMBER_RE.fullmatch(s)
    if m is not None and bool(m["neg"]) == bool(m["close"]):
        if m["sign"] and m["sign2"]:
            return VALUE
        value = float(m["num"].replace(",", "") + (m["exp"] or ""))
        if m["pct"]:
            value /= 100.0
        if m["neg"] or (m["sign"] or m["sign2"]) == "-":
            value = -value
        return value
    from eval_svc.engine.dates import parse_date_time

    serial = parse_date_time(s)
    if serial is None:
        return VALUE
    return serial


def to_number(v: Any) -> float | XlError:
    """A value as a number for arithmetic: empty is 0, TRUE is 1, text is parsed."""
    t = type(v)
    if t is float:
        return v  # type: ignore[no-any-return]
    if t is int:
        return float(v)
    if v is None:
        return 0.0
    if t is bool:
        return 1.0 if v else 0.0
    if t is str:
        return text_to_number(v)
    if t is XlError:
        return v  # type: ignore[no-any-return]
    if t is Omitted:
        return 0.0
    return VALUE


def number_to_text(x: float) -> str:
    """A number as Excel writes it in text (the General format, 15 significant digits)."""
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    s = f"{x:.15g}"
    if "e" not in s:
        return s
    mant, _, exp = s.partition("e")
    e = int(exp)
    if -6 < e < 0:
        # Down to 1E-05 Excel writes small numbers in decimal notation.
        return f"{x:.{15 - e - 1}f}".rstrip("0").rstrip(".")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}E{'-' if e < 0 else '+'}{abs(e):02d}"


def to_text(v: Any) -> str | XlError:
    """A value as text for ``&`` and text functions."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is float or t is int:
        return number_to_text(float(v))
    if v is None:
        return ""
    if t is bool:
        return "TRUE" if v else "FALSE"
    if t is XlError:
        return v  # type: ignore[no-any-return]
    if t is Omitted:
        return ""
    return VALUE


def to_bool(v: Any) -> bool | XlError:
    """A value as a logical, as IF's condition: text other than TRUE/FALSE is #VALUE!."""
    t = type(v)
    if t is bool:
        return v  # type: ignore[no-any-return]
    if t is float or t is int:
        return bool(v != 0)
    if v is None:
        return False
    if t is str:
        u = v.upper()
        if u == "TRUE":
            return True
        if u == "FALSE":
            return False
        return VALUE
    if t is XlError:
        return v  # type: ignore[no-any-return]
    if t is Omitted:
        return False
    return VALUE


def checked(x: float) -> float | XlError:
    """#NUM! for an infinite or undefined arithmetic result, as Excel gives."""
    if -_FLOAT_MAX <= x <= _FLOAT_MAX:
        return x
    return NUM


# ----------------------------------------------------------------------------
# Scalar operators (operands already scalars)


def op_add(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        r = a + b
    else:
        a = to_number(a)
        if type(a) is XlError:
            return a
        b = to_number(b)
        if type(b) is XlError:
            return b
        r = a + b
    if -_FLOAT_MAX <= r <= _FLOAT_MAX:
        return r
    return NUM


def op_sub(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        r = a - b
    else:
        a = to_number(a)
        if type(a) is XlError:
            return a
        b = to_number(b)
        if type(b) is XlError:
            return b
        r = a - b
    if -_FLOAT_MAX <= r <= _FLOAT_MAX:
        return r
    return NUM


def _snap(r: Any, a: Any, b: Any) -> Any:
    """Excel's last-operation rounding: a sum that is only noise of its operands is 0."""
    if (
        type(r) is float
        and r != 0
        and type(a) is float
        and type(b) is float
        and abs(r) <= max(abs(a), abs(b)) * 1e-15
    ):
        return 0.0
    return r


def op_add_final(a: Any, b: Any) -> Any:
    if type(a) is not float:
        a = to_number(a)
    if type(b) is not float:
        b = to_number(b)
    return _snap(op_add(a, b), a, b)


def op_sub_final(a: Any, b: Any) -> Any:
    if type(a) is not float:
        a = to_number(a)
    if type(b) is not float:
        b = to_number(b)
    return _snap(op_sub(a, b), a, b)


def op_mul(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        r = a * b
    else:
        a = to_number(a)
        if type(a) is XlError:
            return a
        b = to_number(b)
        if type(b) is XlError:
            return b
        r = a * b
    if -_FLOAT_MAX <= r <= _FLOAT_MAX:
        return r
    return NUM


def op_div(a: Any, b: Any) -> Any:
    if type(a) is not float or type(b) is not float:
        a = to_number(a)
        if type(a) is XlError:
            return a
        b = to_number(b)
        if type(b) is XlError:
            return b
    if b == 0:
        return DIV0
    r = a / b
    if -_FLOAT_MAX <= r <= _FLOAT_MAX:
        return r
    return NUM


def op_pow(a: Any, b: Any) -> Any:
    a = to_number(a)
    if type(a) is XlError:
        return a
    b = to_number(b)
    if type(b) is XlError:
        return b
    if a == 0:
        if b == 0:
            return NUM
        if b < 0:
            return DIV0
        return 0.0
    if a < 0 and not float(b).is_integer():
        return NUM
    try:
        r = a**b
    except OverflowError:
        return NUM
    except ZeroDivisionError:
        return DIV0
    if type(r) is complex:
        return NUM
    return checked(float(r))


def op_neg(a: Any) -> Any:
    if type(a) is float:
        return -a
    a = to_number(a)
    if type(a) is XlError:
        return a
    return -a


def op_pos(a: Any) -> Any:
    return a


def op_pct(a: Any) -> Any:
    a = to_number(a)
    if type(a) is XlError:
        return a
    return a / 100.0


def op_concat(a: Any, b: Any) -> Any:
    if type(a) is not str:
        a = to_text(a)
        if type(a) is XlError:
            return a
    if type(b) is not str:
        b = to_text(b)
        if type(b) is XlError:
            return b
    return a + b


def _type_rank(v: Any) -> int:
    t = type(v)
    if t is float or t is int:
        return 0
    if t is str:
        return 1
    if t is bool:
        return 2
    return 3


def num_equal(a: float, b: float) -> bool:
    """Equality of two numbers as Excel compares them, to 15 significant digits."""
    if a == b:
        return True
    d = abs(a - b)
    m = max(abs(a), abs(b))
    return d <= m * 1e-15 if m else False


def compare(a: Any, b: Any) -> int | XlError:
    """-1, 0 or 1 comparing two scalars as Excel's operators do (numbers < text < logicals)."""
    ta, tb = type(a), type(b)
    if ta is XlError:
        return a  # type: ignore[no-any-return]
    if tb is XlError:
        return b  # type: ignore[no-any-return]
    if a is None or ta is Omitted:
        if b is None or tb is Omitted:
            return 0
        a = "" if tb is str else False if tb is bool else 0.0
        ta = type(a)
    elif b is None or tb is Omitted:
        b = "" if ta is str else False if ta is bool else 0.0
        tb = type(b)
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 0:
        if num_equal(a, b):
            return 0
        return -1 if a < b else 1
    if ra == 1:
        la, lb = a.lower(), b.lower()
        if la == lb:
            return 0
        return -1 if la < lb else 1
    if a == b:
        return 0
    return -1 if a < b else 1


def op_eq(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a == b or num_equal(a, b)
    c = compare(a, b)
    return c if type(c) is XlError else c == 0


def op_ne(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return not (a == b or num_equal(a, b))
    c = compare(a, b)
    return c if type(c) is XlError else c != 0


def op_lt(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a < b and not num_equal(a, b)
    c = compare(a, b)
    return c if isinstance(c, XlError) else c < 0


def op_le(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a <= b or num_equal(a, b)
    c = compare(a, b)
    return c if isinstance(c, XlError) else c <= 0


def op_gt(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a > b and not num_equal(a, b)
    c = compare(a, b)
    return c if isinstance(c, XlError) else c > 0


def op_ge(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a >= b or num_equal(a, b)
    c = compare(a, b)
    return c if isinstance(c, XlError) else c >= 0


# ----------------------------------------------------------------------------
# Arrays: broadcasting, implicit intersection, conversions


def as_array(x: Any) -> Any:
    """A Ref as an Array of its values (full area); other values unchanged."""
    if type(x) is Ref:
        if x.is_cell:
            return x.first()
        return Array(x.full_rows())
    if type(x) is MultiRef:
        return VALUE
    return x


def to_array(x: Any) -> Array:
    """Any value as an Array (a scalar becomes 1x1)."""
    if type(x) is Array:
        return x
    if type(x) is Ref:
        return Array(x.full_rows())
    if type(x) is MultiRef:
        return Array([[VALUE]])
    return Array([[x]])


def _element(rows: list[list[Any]], i: int, j: int) -> Any:
    nr, nc = len(rows), len(rows[0])
    if nr == 1:
        i = 0
    if nc == 1:
        j = 0
    if i < nr and j < nc:
        return rows[i][j]
    return NA


def broadcast2(fn: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """Apply a scalar binary operator elementwise, expanding single rows/columns like Excel."""
    a = as_array(a)
    b = as_array(b)
    ta, tb = type(a) is Array, type(b) is Array
    if not ta and not tb:
        return fn(a, b)
    if ta and not tb:
        return Array([[fn(x, b) for x in row] for row in a.rows])
    if tb and not ta:
        return Array([[fn(a, y) for y in row] for row in b.rows])
    ra, rb = a.rows, b.rows
    nr = max(len(ra), len(rb))
    nc = max(len(ra[0]), len(rb[0]))
    if len(ra) == len(rb) and len(ra[0]) == len(rb[0]):
        return Array([[fn(x, y) for x, y in zip(r1, r2)] for r1, r2 in zip(ra, rb)])
    return Array(
        [[fn(_element(ra, i, j), _element(rb, i, j)) for j in range(nc)] for i in range(nr)]
    )


def broadcast1(fn: Callable[[Any], Any], a: Any) -> Any:
    a = as_array(a)
    if type(a) is Array:
        return Array([[fn(x) for x in row] for row in a.rows])
    return fn(a)


def lift(fn: Callable[..., Any], mask: Sequence[bool], *args: Any) -> Any:
    """Call a scalar function, elementwise when arrays reach its scalar parameters."""
    shape_r = shape_c = 0
    arrays = False
    conv = list(args)
    for i, a in enumerate(args):
        if i < len(mask) and mask[i]:
            if type(a) is Ref:
                a = as_array(a)
                conv[i] = a
            if type(a) is Array:
                arrays = True
                shape_r = max(shape_r, a.nrows)
                shape_c = max(shape_c, a.ncols)
    if not arrays:
        return fn(*conv)
    out = []
    for i in range(shape_r):
        row = []
        for j in range(shape_c):
            call = [
                _element(a.rows, i, j) if type(a) is Array and i_ < len(mask) and mask[i_] else a
                for i_, a in enumerate(conv)
            ]
            v = fn(*call)
            if type(v) is Array:
                v = v.rows[0][0]
            elif type(v) is Ref:
                v = v.first()
            row.append(v)
        out.append(row)
    return Array(out)


def intersect(x: Any, key: int) -> Any:
    """Implicit intersection of a reference with the formula cell's row or column."""
    if type(x) is Ref:
        if x.r1 == x.r2 and x.c1 == x.c2:
            return x.first()
        row = (key >> ROW_SHIFT) & ROW_MASK
        col = key & COL_MASK
        if x.c1 == x.c2:
            if x.r1 <= row <= x.r2:
                return x.value_at(row, x.c1)
            return VALUE
        if x.r1 == x.r2:
            if x.c1 <= col <= x.c2:
                return x.value_at(x.r1, col)
            return VALUE
        return VALUE
    if type(x) is Array:
        return x.rows[0][0]
    if type(x) is MultiRef or type(x) is Lambda:
        return VALUE
    return x


def scalar(x: Any, key: int) -> Any:
    """A value for a scalar context of a legacy formula."""
    t = type(x)
    if t is Ref or t is Array or t is MultiRef or t is Lambda:
        return intersect(x, key)
    return x


def top_value(x: Any, key: int) -> Any:
    """The value a legacy (non-array) formula leaves in its cell."""
    t = type(x)
    if t is Ref or t is Array or t is MultiRef:
        x = intersect(x, key)
        t = type(x)
    if x is None or t is Omitted:
        return 0.0
    if t is int:
        return float(x)
    if t is Lambda:
        return CALC
    return x


def top_array(x: Any) -> Array:
    """The array an array formula computes (a scalar is a 1x1 array)."""
    if type(x) is Lambda:
        return Array([[CALC]])
    return to_array(x)


# Array-mode operator variants, for array formulas and array-typed arguments.


def _arr2(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def op(a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)
        if ta is Array or tb is Array or ta is Ref or tb is Ref:
            return broadcast2(fn, a, b)
        return fn(a, b)

    op.__name__ = fn.__name__ + "_a"
    return op


def _arr1(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def op(a: Any) -> Any:
        if type(a) is Array or type(a) is Ref:
            return broadcast1(fn, a)
        return fn(a)

    op.__name__ = fn.__name__ + "_a"
    return op


BINARY_OPS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": op_add,
    "-": op_sub,
    "*": op_mul,
    "/": op_div,
    "^": op_pow,
    "&": op_concat,
    "=": op_eq,
    "<>": op_ne,
    "<": op_lt,
    "<=": op_le,
    ">": op_gt,
    ">=": op_ge,
}
UNARY_OPS: Final[dict[str, Callable[[Any], Any]]] = {"-": op_neg, "+": op_pos, "%": op_pct}
BINARY_OPS_ARRAY: Final = {k: _arr2(v) for k, v in BINARY_OPS.items()}
UNARY_OPS_ARRAY: Final = {k: _arr1(v) for k, v in UNARY_OPS.items()}


def is_finite(x: float) -> bool:
    return math.isfinite(x)


def bounded_area(r1: int, c1: int, r2: int, c2: int) -> bool:
    return 1 <= r1 <= r2 <= MAX_ROW and 1 <= c1 <= c2 <= MAX_COL

"""Argument handling shared by the function families, with Excel's rules.

Excel treats values differently when they come from cells or arrays than when
they are given directly: SUM ignores text and logicals in a range but
converts ``"3"`` and TRUE given as arguments. These helpers encode that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, cast

from calcwire.values import XlError
from eval_svc.engine.runtime import (
    DIV0,
    NUM,
    VALUE,
    Array,
    Lambda,
    MultiRef,
    Omitted,
    Ref,
    text_to_number,
    to_number,
)


class ErrorResult(Exception):
    """Raised inside a function to return an Excel error at once."""

    def __init__(self, error: XlError) -> None:
        super().__init__(error.code)
        self.error = error


def is_range(x: Any) -> bool:
    t = type(x)
    return t is Ref or t is Array or t is MultiRef


def range_values(x: Any) -> Iterator[Any]:
    """The values of a Ref, MultiRef or Array (empty cells as None)."""
    t = type(x)
    if t is Ref or t is MultiRef:
        return x.values()  # type: ignore[no-any-return]
    if t is Array:
        return x.flat()  # type: ignore[no-any-return]
    return iter((x,))


def present_values(x: Any) -> Iterator[Any]:
    t = type(x)
    if t is Ref or t is MultiRef:
        return x.present()  # type: ignore[no-any-return]
    if t is Array:
        return (v for v in x.flat() if v is not None)
    return iter(() if x is None else (x,))


def numbers(args: Iterable[Any], direct_text: bool = True) -> list[float]:
    """Numbers of SUM-like arguments: ranges give their numbers only, direct values are converted.

    Raises ErrorResult on the first error met.
    """
    out: list[float] = []
    append = out.append
    for a in args:
        t = type(a)
        if t is Ref or t is MultiRef or t is Array:
            for v in present_values(a):
                tv = type(v)
                if tv is float:
                    append(v)
                elif tv is int:
                    append(float(v))
                elif tv is XlError:
                    raise ErrorResult(v)
            continue
        if a is None or t is Omitted:
            continue
        if t is float:
            append(a)
            continue
        if t is str and not direct_text:
            continue
        n = to_number(a)
        if isinstance(n, XlError):
            raise ErrorResult(n)
        append(n)
    return out


def numbers_a(args: Iterable[Any]) -> list[float]:
    """Numbers for the *A functions (AVERAGEA...): text in ranges is 0, logicals 1/0."""
    out: list[float] = []
    for a in args:
        if is_range(a):
            for v in present_values(a):
                tv = type(v)
                if tv is float or tv is int:
                    out.append(float(v))
                elif tv is bool:
                    out.append(1.0 if v else 0.0)
                elif tv is str:
                    out.append(0.0)
                elif tv is XlError:
                    raise ErrorResult(v)
            continue
        if a is None:
            continue
        n = to_number(a)
        if isinstance(n, XlError):
            raise ErrorResult(n)
        out.append(n)
    return out


def num(x: Any) -> float:
    """A scalar argument as a number, raising ErrorResult for errors and non-numeric text."""
    if type(x) is float:
        return x
    if is_range(x):
        x = first_value(x)
    n = to_number(x)
    if isinstance(n, XlError):
        raise ErrorResult(n)
    return n


def opt_num(x: Any, default: float) -> float:
    if x is None or type(x) is Omitted:
        return default
    return num(x)


def integer(x: Any) -> int:
    """A number argument truncated to an integer, as Excel does for counts and positions."""
    n = num(x)
    if not math.isfinite(n):
        raise ErrorResult(NUM)
    return int(n)


def text(x: Any) -> str:
    from eval_svc.engine.runtime import to_text

    if type(x) is str:
        return x
    if is_range(x):
        x = first_value(x)
    s = to_text(x)
    if isinstance(s, XlError):
        raise ErrorResult(s)
    return s


def boolean(x: Any) -> bool:
    from eval_svc.engine.runtime import to_bool

    if type(x) is bool:
        return x
    if is_range(x):
        x = first_value(x)
    b = to_bool(x)
    if isinstance(b, XlError):
        raise ErrorResult(b)
    return b


def first_value(x: Any) -> Any:
    t = type(x)
    if t is Ref:
        return x.first()
    if t is Array:
        return x.rows[0][0]
    if t is MultiRef:
        return VALUE
    if t is Lambda:
        return VALUE
    return x


def grid(x: Any) -> list[list[Any]]:
    """Any argument as rows of values (a Ref over its full area)."""
    t = type(x)
    if t is Ref:
        return cast(list[list[Any]], x.full_rows())
    if t is Array:
        return cast(list[list[Any]], x.rows)
    if t is MultiRef:
        raise ErrorResult(VALUE)
    return [[x]]


def bounded_grid(x: Any) -> list[list[Any]]:
    """Rows of values, whole columns/rows cut at the used range."""
    t = type(x)
    if t is Ref:
        return cast(list[list[Any]], x.bounded_rows())
    return grid(x)


def shape(x: Any) -> tuple[int, int]:
    t = type(x)
    if t is Ref or t is Array:
        return x.nrows, x.ncols
    return 1, 1


def coerce_number_text(v: Any) -> Any:
    """Text that reads as a number becomes the number; anything else is unchanged."""
    if type(v) is str:
        n = text_to_number(v)
        if type(n) is float:
            return n
    return v


def safe(fn: Any) -> Any:
    """Decorator: ErrorResult raised inside returns its error; math domain errors are #NUM!."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except ErrorResult as e:
            return e.error
        except (OverflowError, ValueError):
            return NUM
        except ZeroDivisionError:
            return DIV0

    return wrapper


def result(x: float) -> Any:
    """A float result, #NUM! if not finite."""
    if math.isfinite(x):
        return x
    return NUM

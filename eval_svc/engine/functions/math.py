"""Math and trigonometry functions (SUM, ROUND, MOD, SUMPRODUCT, SUMIFS...)."""

from __future__ import annotations

import math
import random
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import (
    ErrorResult,
    grid,
    integer,
    num,
    numbers,
    opt_num,
    present_values,
    result,
    safe,
    shape,
)
from eval_svc.engine.functions._registry import register
from eval_svc.engine.functions.criteria import ifs_select
from eval_svc.engine.runtime import (
    DIV0,
    NUM,
    VALUE,
    Array,
    MultiRef,
    Ref,
    op_pow,
    to_number,
)

_MAX = 1.7976931348623157e308


@register("SUM", "", rest="r")
def xsum(*args: Any) -> Any:
    total = 0.0
    for a in args:
        t = type(a)
        if t is Ref or t is MultiRef or t is Array:
            for v in present_values(a):
                tv = type(v)
                if tv is float or tv is int:
                    total += v
                elif tv is XlError:
                    return v
            continue
        if a is None:
            continue
        if t is float:
            total += a
            continue
        n = to_number(a)
        if isinstance(n, XlError):
            return n
        total += n
    return result(total)


@register("PRODUCT", "", rest="r")
@safe
def xproduct(*args: Any) -> Any:
    values = numbers(args)
    if not values:
        return 0.0
    p = 1.0
    for v in values:
        p *= v
    return result(p)


@register("SUMSQ", "", rest="r")
@safe
def sumsq(*args: Any) -> Any:
    return result(sum(v * v for v in numbers(args)))


@register("SUMPRODUCT", "a", rest="a")
@safe
def sumproduct(*args: Any) -> Any:
    grids = [grid(a) for a in args]
    for g in grids:  # errors in the data win over a shape mismatch
        for row in g:
            for v in row:
                if isinstance(v, XlError):
                    return v
    nr, nc = len(grids[0]), len(grids[0][0])
    for g in grids:
        if len(g) != nr or len(g[0]) != nc:
            return VALUE
    total = 0.0
    for i in range(nr):
        for j in range(nc):
            p = 1.0
            for g in grids:
                v = g[i][j]
                tv = type(v)
                if tv is float or tv is int:
                    p *= v
                elif tv is XlError:
                    return v
                else:
                    p = 0.0
            total += p
    return result(total)


def _decimal(x: float) -> Decimal:
    return Decimal(repr(x)) if abs(x) < 1e15 else Decimal(x)


def _round_to(x: float, digits: int, mode: str) -> float:
    """Round as Excel does, on the decimal digits of the number (15 significant)."""
    if x == 0 or not math.isfinite(x):
        return x
    d = Decimal(f"{x:.15g}")
    q = Decimal(1).scaleb(-digits)
    try:
        return float(d.quantize(q, rounding=mode))
    except Exception:  # noqa: BLE001 - quantize beyond precision
        return x


@register("ROUND", "vv")
@safe
def xround(x: Any, digits: Any) -> Any:
    return _round_to(num(x), integer(digits), ROUND_HALF_UP)


@register("ROUNDUP", "vv")
@safe
def roundup(x: Any, digits: Any) -> Any:
    return _round_to(num(x), integer(digits), ROUND_UP)


@register("ROUNDDOWN", "vv")
@safe
def rounddown(x: Any, digits: Any) -> Any:
    return _round_to(num(x), integer(digits), ROUND_DOWN)


@register("TRUNC", "vv")
@safe
def trunc(x: Any, digits: Any = None) -> Any:
    return _round_to(num(x), integer(digits) if digits is not None else 0, ROUND_DOWN)


@register("INT", "v")
@safe
def xint(x: Any) -> Any:
    return float(math.floor(num(x)))


def _q15(x: float) -> float:
    return float(f"{x:.15g}")


@register("MOD", "vv")
@safe
def mod(a: Any, b: Any) -> Any:
    n, d = num(a), num(b)
    if d == 0:
        return DIV0
    q = math.floor(_q15(n / d))
    r = n - d * q
    if abs(r) > 0 and abs(r - d) < abs(d) * 1e-15:
        r = 0.0
    return r


@register("QUOTIENT", "ss")
@safe
def quotient(a: Any, b: Any) -> Any:
    n, d = num(a), num(b)
    if d == 0:
        return DIV0
    return float(math.trunc(n / d))


@register("ABS", "v")
@safe
def xabs(x: Any) -> Any:
    return abs(num(x))


@register("SIGN", "v")
@safe
def sign(x: Any) -> Any:
    n = num(x)
    return 1.0 if n > 0 else -1.0 if n < 0 else 0.0


@register("SQRT", "v")
@safe
def sqrt(x: Any) -> Any:
    n = num(x)
    if n < 0:
        return NUM
    return math.sqrt(n)


@register("SQRTPI", "s")
@safe
def sqrtpi(x: Any) -> Any:
    n = num(x)
    if n < 0:
        return NUM
    return math.sqrt(n * math.pi)


@register("POWER", "vv")
def power(x: Any, y: Any) -> Any:
    return op_pow(x, y)


@register("EXP", "v")
@safe
def xexp(x: Any) -> Any:
    return result(math.exp(num(x)))


@register("LN", "v")
@safe
def ln(x: Any) -> Any:
    n = num(x)
    if n <= 0:
        return NUM
    return math.log(n)


@register("LOG10", "v")
@safe
def log10(x: Any) -> Any:
    n = num(x)
    if n <= 0:
        return NUM
    return math.log10(n)


@register("LOG", "vv")
@safe
def log(x: Any, base: Any = None) -> Any:
    n = num(x)
    b = opt_num(base, 10.0)
    if n <= 0 or b <= 0:
        return NUM
    if b == 1:
        return DIV0
    if b == 10:
        return math.log10(n)
    return math.log(n) / math.log(b)


@register("PI", "")
def pi() -> Any:
    return math.pi


def _unary(name: str, fn: Any, domain: Any = None) -> None:
    @register(name, "v")
    @safe
    def impl(x: Any) -> Any:
        n = num(x)
        if domain is not None and not domain(n):
            return NUM
        return result(fn(n))

    impl.__name__ = name.lower()


_unary("SIN", math.sin, lambda n: abs(n) < 134217728)
_unary("COS", math.cos, lambda n: abs(n) < 134217728)
_unary("TAN", math.tan, lambda n: abs(n) < 134217728)
_unary("ASIN", math.asin, lambda n: -1 <= n <= 1)
_unary("ACOS", math.acos, lambda n: -1 <= n <= 1)
_unary("ATAN", math.atan)
_unary("SINH", math.sinh)
_unary("COSH", math.cosh)
_unary("TANH", math.tanh)
_unary("ASINH", math.asinh)
_unary("ACOSH", math.acosh, lambda n: n >= 1)
_unary("ATANH", math.atanh, lambda n: -1 < n < 1)
_unary("DEGREES", math.degrees)
_unary("RADIANS", math.radians)


def _reciprocal(name: str, fn: Any, domain: Any = None) -> None:
    @register(name, "v")
    @safe
    def impl(x: Any) -> Any:
        n = num(x)
        if domain is not None and not domain(n):
            return NUM
        d = fn(n)
        if d == 0:
            return DIV0
        return result(1.0 / d)

    impl.__name__ = name.lower()


_reciprocal("COT", math.tan, lambda n: abs(n) < 134217728)
_reciprocal("CSC", math.sin, lambda n: abs(n) < 134217728)
_reciprocal("SEC", math.cos, lambda n: abs(n) < 134217728)
_reciprocal("COTH", math.tanh)
_reciprocal("CSCH", math.sinh)
_reciprocal("SECH", math.cosh)


@register("ACOT", "v")
@safe
def acot(x: Any) -> Any:
    return math.pi / 2 - math.atan(num(x))


@register("ACOTH", "v")
@safe
def acoth(x: Any) -> Any:
    n = num(x)
    if abs(n) <= 1:
        return NUM
    return 0.5 * math.log((n + 1) / (n - 1))


@register("ATAN2", "vv")
@safe
def atan2(x: Any, y: Any) -> Any:
    a, b = num(x), num(y)
    if a == 0 and b == 0:
        return DIV0
    return math.atan2(b, a)


@register("EVEN", "v")
@safe
def even(x: Any) -> Any:
    n = num(x)
    m = math.ceil(abs(n) / 2 - 1e-12) * 2
    return float(m if n >= 0 else -m)


@register("ODD", "v")
@safe
def odd(x: Any) -> Any:
    n = num(x)
    m = math.ceil(abs(n) - 1e-12)
    if m % 2 == 0:
        m += 1
    return float(m if n >= 0 else -m)


@register("FACT", "v")
@safe
def fact(x: Any) -> Any:
    n = num(x)
    if n < 0:
        return NUM
    if n > 170:
        return NUM
    return float(math.factorial(int(n)))


@register("FACTDOUBLE", "s")
@safe
def factdouble(x: Any) -> Any:
    n = int(num(x))
    if n < 0:
        return NUM
    p = 1
    while n > 1:
        p *= n
        n -= 2
    return result(float(p))


@register("COMBIN", "vv")
@safe
def combin(n: Any, k: Any) -> Any:
    a, b = int(num(n)), int(num(k))
    if a < 0 or b < 0 or b > a:
        return NUM
    return float(math.comb(a, b))


@register("COMBINA", "vv")
@safe
def combina(n: Any, k: Any) -> Any:
    a, b = int(num(n)), int(num(k))
    if a < 0 or b < 0:
        return NUM
    if a == 0 and b == 0:
        return 1.0
    return float(math.comb(a + b - 1, b))


@register("PERMUT", "vv")
@safe
def permut(n: Any, k: Any) -> Any:
    a, b = int(num(n)), int(num(k))
    if a <= 0 or b < 0 or b > a:
        return NUM
    return float(math.perm(a, b))


def _int_args(args: Any) -> list[int]:
    from eval_svc.engine.functions._helpers import is_range, range_values

    for a in args:
        for v in range_values(a) if is_range(a) else (a,):
            if v is None or type(v) is str or type(v) is bool:
                raise ErrorResult(
                    VALUE
                )  # an Analysis ToolPak function: no text, logicals or blanks
    out = []
    for v in numbers(args):
        if v < 0:
            raise ErrorResult(NUM)
        out.append(int(v))
    return out


@register("GCD", "", rest="r")
@safe
def gcd(*args: Any) -> Any:
    values = _int_args(args)
    g = 0
    for v in values:
        g = math.gcd(g, v)
    return float(g)


@register("LCM", "", rest="r")
@safe
def lcm(*args: Any) -> Any:
    values = _int_args(args)
    m = 1
    for v in values:
        if v == 0:
            return 0.0
        m = m * v // math.gcd(m, v)
    return float(m)


@register("CEILING", "vv")
@safe
def ceiling(x: Any, significance: Any) -> Any:
    n, s = num(x), num(significance)
    if s == 0 or n == 0:
        return 0.0
    if n > 0 and s < 0:
        return NUM
    return float(math.ceil(_q15(n / s)) * s)


@register("FLOOR", "vv")
@safe
def floor(x: Any, significance: Any) -> Any:
    n, s = num(x), num(significance)
    if n == 0:
        return 0.0
    if s == 0:
        return DIV0
    if n > 0 and s < 0:
        return NUM
    return float(math.floor(_q15(n / s)) * s)


@register(("CEILING.MATH", "CEILING.PRECISE", "ISO.CEILING"), "vvv")
@safe
def ceiling_math(x: Any, significance: Any = None, mode: Any = None) -> Any:
    n = num(x)
    s = abs(opt_num(significance, 1.0))
    m = opt_num(mode, 0.0)
    if s == 0 or n == 0:
        return 0.0
    if n < 0 and m != 0:
        return -float(math.ceil(_q15(-n / s)) * s)  # away from zero
    return float(math.ceil(_q15(n / s)) * s)


@register(("FLOOR.MATH", "FLOOR.PRECISE"), "vvv")
@safe
def floor_math(x: Any, significance: Any = None, mode: Any = None) -> Any:
    n = num(x)
    s = abs(opt_num(significance, 1.0))
    m = opt_num(mode, 0.0)
    if s == 0 or n == 0:
        return 0.0
    if n < 0 and m != 0:
        return -float(math.floor(_q15(-n / s)) * s)  # toward zero
    return float(math.floor(_q15(n / s)) * s)


@register("MROUND", "ss")
@safe
def mround(x: Any, multiple: Any) -> Any:
    n, m = num(x), num(multiple)
    if m == 0:
        return 0.0
    if (n > 0 and m < 0) or (n < 0 and m > 0):
        return NUM
    q = Decimal(f"{n / m:.15g}").quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(q) * m


@register("RAND", "", volatile=True)
def rand() -> Any:
    return random.random()


@register("RANDBETWEEN", "vv", volatile=True)
@safe
def randbetween(low: Any, high: Any) -> Any:
    lo, hi = math.ceil(num(low)), math.floor(num(high))
    if lo > hi:
        return NUM
    return float(random.randint(lo, hi))


@register("SUMIF", "rvr")
@safe
def sumif(rng: Any, criterion: Any, sum_range: Any = None) -> Any:
    values = ifs_select(
        sum_range if sum_range is not None else rng, [(rng, criterion)], resize=True
    )
    total = 0.0
    for v in values:
        tv = type(v)
        if tv is float or tv is int:
            total += v
        elif tv is XlError:
            return v
    return result(total)


@register("SUMIFS", "rrv", rest="rv")
@safe
def sumifs(sum_range: Any, *pairs: Any) -> Any:
    if len(pairs) % 2:
        return VALUE
    values = ifs_select(sum_range, list(zip(pairs[::2], pairs[1::2])))
    total = 0.0
    for v in values:
        tv = type(v)
        if tv is float or tv is int:
            total += v
        elif tv is XlError:
            return v
    return result(total)


@register("COUNTIF", "rv")
@safe
def countif(rng: Any, criterion: Any) -> Any:
    return float(sum(1 for _ in ifs_select(rng, [(rng, criterion)], count_only=True)))


@register("COUNTIFS", "rv", rest="rv")
@safe
def countifs(*pairs: Any) -> Any:
    if len(pairs) % 2:
        return VALUE
    return float(
        sum(1 for _ in ifs_select(pairs[0], list(zip(pairs[::2], pairs[1::2])), count_only=True))
    )


def _numeric(values: Any) -> list[float]:
    out = []
    for v in values:
        tv = type(v)
        if tv is float or tv is int:
            out.append(float(v))
        elif tv is XlError:
            raise ErrorResult(v)
    return out


@register("AVERAGEIF", "rvr")
@safe
def averageif(rng: Any, criterion: Any, avg_range: Any = None) -> Any:
    values = _numeric(
        ifs_select(avg_range if avg_range is not None else rng, [(rng, criterion)], resize=True)
    )
    if not values:
        return DIV0
    return sum(values) / len(values)


@register("AVERAGEIFS", "rrv", rest="rv")
@safe
def averageifs(avg_range: Any, *pairs: Any) -> Any:
    if len(pairs) % 2:
        return VALUE
    values = _numeric(ifs_select(avg_range, list(zip(pairs[::2], pairs[1::2]))))
    if not values:
        return DIV0
    return sum(values) / len(values)


@register("MAXIFS", "rrv", rest="rv")
@safe
def maxifs(max_range: Any, *pairs: Any) -> Any:
    if len(pairs) % 2:
        return VALUE
    values = _numeric(ifs_select(max_range, list(zip(pairs[::2], pairs[1::2]))))
    return max(values) if values else 0.0


@register("MINIFS", "rrv", rest="rv")
@safe
def minifs(min_range: Any, *pairs: Any) -> Any:
    if len(pairs) % 2:
        return VALUE
    values = _numeric(ifs_select(min_range, list(zip(pairs[::2], pairs[1::2]))))
    return min(values) if values else 0.0


@register("SUMX2MY2", "aa")
@safe
def sumx2my2(x: Any, y: Any) -> Any:
    return _pairs(x, y, lambda a, b: a * a - b * b)


@register("SUMX2PY2", "aa")
@safe
def sumx2py2(x: Any, y: Any) -> Any:
    return _pairs(x, y, lambda a, b: a * a + b * b)


@register("SUMXMY2", "aa")
@safe
def sumxmy2(x: Any, y: Any) -> Any:
    return _pairs(x, y, lambda a, b: (a - b) ** 2)


def _pairs(x: Any, y: Any, fn: Any) -> Any:
    gx, gy = grid(x), grid(y)
    if shape(x) != shape(y) and (len(gx), len(gx[0])) != (len(gy), len(gy[0])):
        return XlError.NA
    total = 0.0
    for rx, ry in zip(gx, gy):
        for a, b in zip(rx, ry):
            if isinstance(a, XlError):
                return a
            if isinstance(b, XlError):
                return b
            if type(a) is float and type(b) is float:
                total += fn(a, b)
    return total


_ = (ROUND_CEILING, ROUND_FLOOR, _MAX, integer)

"""Statistical functions (AVERAGE, COUNT, MAX, MEDIAN, STDEV, LARGE, PERCENTILE, SUBTOTAL...)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import (
    ErrorResult,
    grid,
    integer,
    is_range,
    num,
    numbers,
    numbers_a,
    present_values,
    range_values,
    result,
    safe,
)
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import DIV0, NA, NUM, VALUE, Array, MultiRef, Ref, text_to_number


@register("MAX", "", rest="r")
@safe
def xmax(*args: Any) -> Any:
    values = numbers(args)
    return max(values) if values else 0.0


@register("MIN", "", rest="r")
@safe
def xmin(*args: Any) -> Any:
    values = numbers(args)
    return min(values) if values else 0.0


@register("MAXA", "", rest="r")
@safe
def maxa(*args: Any) -> Any:
    values = numbers_a(args)
    return max(values) if values else 0.0


@register("MINA", "", rest="r")
@safe
def mina(*args: Any) -> Any:
    values = numbers_a(args)
    return min(values) if values else 0.0


@register("AVERAGE", "", rest="r")
@safe
def average(*args: Any) -> Any:
    values = numbers(args)
    if not values:
        return DIV0
    return math.fsum(values) / len(values)


@register("AVERAGEA", "", rest="r")
@safe
def averagea(*args: Any) -> Any:
    values = numbers_a(args)
    if not values:
        return DIV0
    return math.fsum(values) / len(values)


@register("COUNT", "", rest="r")
def count(*args: Any) -> Any:
    n = 0
    for a in args:
        if is_range(a):
            for v in present_values(a):
                if type(v) is float or type(v) is int:
                    n += 1
            continue
        t = type(a)
        if t is float or t is int or t is bool:
            n += 1
        elif t is str and type(text_to_number(a)) is float:
            n += 1
    return float(n)


@register("COUNTA", "", rest="r")
def counta(*args: Any) -> Any:
    n = 0
    for a in args:
        if is_range(a):
            for _ in present_values(a):
                n += 1
            continue
        if a is not None:
            n += 1
    return float(n)


@register("COUNTBLANK", "r")
def countblank(x: Any) -> Any:
    if type(x) is Ref:
        total = x.nrows * x.ncols
        filled = sum(1 for v in x.present() if v != "")
        return float(total - filled)
    if type(x) is Array:
        return float(sum(1 for v in x.flat() if v is None or v == ""))
    return VALUE


@register("MEDIAN", "", rest="r")
@safe
def median(*args: Any) -> Any:
    values = sorted(numbers(args))
    n = len(values)
    if not n:
        return NUM
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


@register(("MODE", "MODE.SNGL"), "", rest="r")
@safe
def mode(*args: Any) -> Any:
    values = numbers(args, direct_text=False)
    counts: dict[float, int] = {}
    order: list[float] = []
    for v in values:
        if v not in counts:
            order.append(v)
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values(), default=0)
    if best < 2:
        return NA
    return next(v for v in order if counts[v] == best)


def _variance(values: list[float], sample: bool) -> float:
    n = len(values)
    if n < (2 if sample else 1):
        raise ErrorResult(DIV0)
    m = math.fsum(values) / n
    ss = math.fsum((v - m) ** 2 for v in values)
    return ss / (n - 1 if sample else n)


def _stat(name: str, sample: bool, sqrt: bool, a_mode: bool) -> None:
    @register(name, "", rest="r")
    @safe
    def impl(*args: Any) -> Any:
        values = numbers_a(args) if a_mode else numbers(args)
        v = _variance(values, sample)
        return math.sqrt(v) if sqrt else v

    impl.__name__ = name.lower().replace(".", "_")


_stat("STDEV", True, True, False)
_stat("STDEV.S", True, True, False)
_stat("STDEVP", False, True, False)
_stat("STDEV.P", False, True, False)
_stat("STDEVA", True, True, True)
_stat("STDEVPA", False, True, True)
_stat("VAR", True, False, False)
_stat("VAR.S", True, False, False)
_stat("VARP", False, False, False)
_stat("VAR.P", False, False, False)
_stat("VARA", True, False, True)
_stat("VARPA", False, False, True)


@register("DEVSQ", "", rest="r")
@safe
def devsq(*args: Any) -> Any:
    values = numbers(args)
    if not values:
        return NUM
    m = math.fsum(values) / len(values)
    return math.fsum((v - m) ** 2 for v in values)


@register("AVEDEV", "", rest="r")
@safe
def avedev(*args: Any) -> Any:
    values = numbers(args)
    if not values:
        return NUM
    m = math.fsum(values) / len(values)
    return math.fsum(abs(v - m) for v in values) / len(values)


def _range_numbers(x: Any) -> list[float]:
    if is_range(x):
        out = []
        for v in present_values(x):
            if type(v) is XlError:
                raise ErrorResult(v)
            if type(v) is float or type(v) is int:
                out.append(float(v))
        return out
    return numbers([x])


@register("LARGE", "av")
@safe
def large(array: Any, k: Any) -> Any:
    values = sorted(_range_numbers(array), reverse=True)
    i = math.ceil(num(k))
    if not 1 <= i <= len(values):
        return NUM
    return values[i - 1]


@register("SMALL", "av")
@safe
def small(array: Any, k: Any) -> Any:
    values = sorted(_range_numbers(array))
    i = math.ceil(num(k))
    if not 1 <= i <= len(values):
        return NUM
    return values[i - 1]


@register(("RANK", "RANK.EQ"), "vrv")
@safe
def rank(x: Any, ref: Any, order: Any = None) -> Any:
    v = num(x)
    values = _range_numbers(ref)
    asc = order is not None and num(order) != 0
    if v not in values:
        return NA
    if asc:
        return float(sum(1 for w in values if w < v) + 1)
    return float(sum(1 for w in values if w > v) + 1)


@register("RANK.AVG", "vrv")
@safe
def rank_avg(x: Any, ref: Any, order: Any = None) -> Any:
    v = num(x)
    values = _range_numbers(ref)
    asc = order is not None and num(order) != 0
    same = values.count(v)
    if not same:
        return NA
    better = sum(1 for w in values if (w < v if asc else w > v))
    return better + (same + 1) / 2


def _percentile_inc(values: list[float], p: float) -> float:
    values = sorted(values)
    n = len(values)
    if not n or not 0 <= p <= 1:
        raise ErrorResult(NUM)
    h = (n - 1) * p
    lo = math.floor(h)
    if lo + 1 >= n:
        return values[-1]
    return values[lo] + (h - lo) * (values[lo + 1] - values[lo])


def _percentile_exc(values: list[float], p: float) -> float:
    values = sorted(values)
    n = len(values)
    if not n or not 0 < p < 1:
        raise ErrorResult(NUM)
    h = (n + 1) * p
    if h < 1 or h > n:
        raise ErrorResult(NUM)
    lo = math.floor(h)
    if lo >= n:
        return values[-1]
    return values[lo - 1] + (h - lo) * (values[lo] - values[lo - 1])


@register(("PERCENTILE", "PERCENTILE.INC"), "av")
@safe
def percentile(array: Any, p: Any) -> Any:
    return _percentile_inc(_range_numbers(array), num(p))


@register("PERCENTILE.EXC", "av")
@safe
def percentile_exc(array: Any, p: Any) -> Any:
    return _percentile_exc(_range_numbers(array), num(p))


@register(("QUARTILE", "QUARTILE.INC"), "av")
@safe
def quartile(array: Any, q: Any) -> Any:
    k = math.floor(num(q))
    if not 0 <= k <= 4:
        return NUM
    return _percentile_inc(_range_numbers(array), k / 4)


@register("QUARTILE.EXC", "av")
@safe
def quartile_exc(array: Any, q: Any) -> Any:
    k = math.floor(num(q))
    if not 1 <= k <= 3:
        return NUM
    return _percentile_exc(_range_numbers(array), k / 4)


def _xy(ys: Any, xs: Any) -> tuple[list[float], list[float]]:
    gy = list(range_values(ys)) if is_range(ys) else [ys]
    gx = list(range_values(xs)) if is_range(xs) else [xs]
    if len(gy) != len(gx):
        raise ErrorResult(NA)
    out_x, out_y = [], []
    for y, x in zip(gy, gx):
        if type(y) is XlError:
            raise ErrorResult(y)
        if type(x) is XlError:
            raise ErrorResult(x)
        if type(y) in (float, int) and type(x) in (float, int):
            out_x.append(float(x))
            out_y.append(float(y))
    return out_y, out_x


def _fit(ys: Any, xs: Any) -> tuple[float, float, list[float], list[float]]:
    y, x = _xy(ys, xs)
    n = len(x)
    if n < 2:
        raise ErrorResult(DIV0)
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxx = math.fsum((a - mx) ** 2 for a in x)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y))
    if sxx == 0:
        raise ErrorResult(DIV0)
    slope_ = sxy / sxx
    return slope_, my - slope_ * mx, x, y


@register("SLOPE", "aa")
@safe
def slope(ys: Any, xs: Any) -> Any:
    return _fit(ys, xs)[0]


@register("INTERCEPT", "aa")
@safe
def intercept(ys: Any, xs: Any) -> Any:
    return _fit(ys, xs)[1]


@register(("FORECAST", "FORECAST.LINEAR"), "vaa")
@safe
def forecast(x: Any, ys: Any, xs: Any) -> Any:
    s, b, _, _ = _fit(ys, xs)
    return b + s * num(x)


@register(("CORREL", "PEARSON"), "aa")
@safe
def correl(a: Any, b: Any) -> Any:
    y, x = _xy(a, b)
    n = len(x)
    if n < 2:
        return DIV0
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxx = math.fsum((v - mx) ** 2 for v in x)
    syy = math.fsum((v - my) ** 2 for v in y)
    sxy = math.fsum((u - mx) * (v - my) for u, v in zip(x, y))
    if sxx == 0 or syy == 0:
        return DIV0
    return sxy / math.sqrt(sxx * syy)


@register("RSQ", "aa")
@safe
def rsq(a: Any, b: Any) -> Any:
    r = correl(a, b)
    if type(r) is XlError:
        return r
    return r * r


@register("GEOMEAN", "", rest="r")
@safe
def geomean(*args: Any) -> Any:
    values = numbers(args)
    if not values or any(v <= 0 for v in values):
        return NUM
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


@register("HARMEAN", "", rest="r")
@safe
def harmean(*args: Any) -> Any:
    values = numbers(args)
    if not values or any(v <= 0 for v in values):
        return NUM
    return len(values) / math.fsum(1 / v for v in values)


# -- SUBTOTAL and AGGREGATE ----------------------------------------------------------------


def _skip_subtotals(ctx: Any, args: tuple[Any, ...]) -> list[Any]:
    """Ranges with the cells that hold SUBTOTAL/AGGREGATE formulas left out (Excel ignores them)."""
    out: list[Any] = []
    for a in args:
        if type(a) is Ref:
            vals = []
            base = a.sheet << 36
            r2, c2 = a.bounded()
            for r in range(a.r1, r2 + 1):
                for c in range(a.c1, c2 + 1):
                    key = base | (r << 15) | c
                    f = ctx.formula_text(key)
                    if f is not None and ("SUBTOTAL(" in f.upper() or "AGGREGATE(" in f.upper()):
                        continue
                    vals.append(a.value_at(r, c))
            out.append(Array([vals]) if vals else Array([[None]]))
        elif type(a) is MultiRef:
            out.extend(_skip_subtotals(ctx, tuple(a.refs)))
        else:
            out.append(a)
    return out


_SUBTOTAL_FUNCS: dict[int, Callable[..., Any]] = {}


def _subtotal_funcs() -> dict[int, Callable[..., Any]]:
    if not _SUBTOTAL_FUNCS:
        from eval_svc.engine.functions.math import xproduct, xsum

        funcs = [average, count, counta, xmax, xmin, xproduct]
        from eval_svc.engine.functions._registry import FUNCTIONS

        funcs += [FUNCTIONS[n].impl for n in ("STDEV", "STDEVP")]
        funcs += [xsum]
        funcs += [FUNCTIONS[n].impl for n in ("VAR", "VARP")]
        for i, f in enumerate(funcs, start=1):
            _SUBTOTAL_FUNCS[i] = f
    return _SUBTOTAL_FUNCS


@register("SUBTOTAL", "v", rest="r", context=True)
@safe
def subtotal(ctx: Any, key: int, function_num: Any, *refs: Any) -> Any:
    k = integer(function_num)
    if k > 100:
        k -= 100
    fn = _subtotal_funcs().get(k)
    if fn is None:
        return VALUE
    return fn(*_skip_subtotals(ctx, refs))


@register("AGGREGATE", "vv", rest="r", context=True)
@safe
def aggregate(ctx: Any, key: int, function_num: Any, options: Any, *refs: Any) -> Any:
    k = integer(function_num)
    opt = integer(options) if options is not None else 0
    if not 0 <= opt <= 7:
        return VALUE
    args = list(refs)
    if opt in (0, 1, 2, 3):
        args = _skip_subtotals(ctx, tuple(args))
    ignore_errors = opt in (2, 3, 6, 7)
    if k <= 13:
        values: list[Any] = []
        for a in args:
            for v in (range_values(a) if is_range(a) else [a]):
                if type(v) is XlError:
                    if ignore_errors:
                        continue
                    return v
                values.append(v)
        arr = Array([values]) if values else Array([[None]])
        table: dict[int, Callable[..., Any]] = dict(_subtotal_funcs())
        from eval_svc.engine.functions._registry import FUNCTIONS

        table[12] = median
        table[13] = FUNCTIONS["MODE.SNGL"].impl
        fn = table.get(k)
        if fn is None:
            return VALUE
        return fn(arr)
    if 14 <= k <= 19:
        if len(args) < 2:
            return VALUE
        data, param = args[0], args[1]
        values2: list[float] = []
        for v in (range_values(data) if is_range(data) else [data]):
            if type(v) is XlError:
                if ignore_errors:
                    continue
                return v
            if type(v) is float or type(v) is int:
                values2.append(float(v))
        p = num(param)
        arr2 = Array([values2]) if values2 else Array([[None]])
        fn2 = {
            14: large,
            15: small,
            16: percentile,
            17: quartile,
            18: percentile_exc,
            19: quartile_exc,
        }[k]
        return fn2(arr2, p)
    return VALUE


_ = (grid, result)

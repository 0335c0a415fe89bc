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
from eval_svc.engine.runtime import DIV0, NA, NUM, REF, VALUE, Array, MultiRef, Ref, text_to_number


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
        if t is float or t is int or t is bool or t is str and type(text_to_number(a)) is float:
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


@register("MODE.MULT", "", rest="r", returns="x")
@safe
def mode_mult(*args: Any) -> Any:
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
    return Array([[v] for v in order if counts[v] == best])


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
            if isinstance(v, XlError):
                raise ErrorResult(v)
            if type(v) is float or type(v) is int:
                out.append(float(v))
        return out
    return numbers([x])


@register("LARGE", "av")
@safe
def large(array: Any, k: Any) -> Any:
    num(k)  # an error in k wins over errors in the data
    values = sorted(_range_numbers(array), reverse=True)
    i = math.trunc(num(k))
    if not 1 <= i <= len(values):
        return NUM
    return values[i - 1]


@register("SMALL", "av")
@safe
def small(array: Any, k: Any) -> Any:
    num(k)  # an error in k wins over errors in the data
    values = sorted(_range_numbers(array))
    i = math.trunc(num(k))
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
    num(p)
    return _percentile_inc(_range_numbers(array), num(p))


@register("PERCENTILE.EXC", "av")
@safe
def percentile_exc(array: Any, p: Any) -> Any:
    num(p)
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
        if isinstance(y, XlError):
            raise ErrorResult(y)
        if isinstance(x, XlError):
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
    at = num(x)
    s, b, _, _ = _fit(ys, xs)
    return b + s * at


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
    if isinstance(r, XlError):
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
            for v in range_values(a) if is_range(a) else [a]:
                if isinstance(v, XlError):
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
        for v in range_values(data) if is_range(data) else [data]:
            if isinstance(v, XlError):
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


# -- LINEST and TREND -------------------------------------------------------------------------


def _raw(x: Any) -> list[list[Any]]:
    return grid(x) if type(x) is not Ref else x.full_rows()


def _matrix(x: Any) -> list[list[float]]:
    out = []
    for row in x if type(x) is list else _raw(x):
        new = []
        for v in row:
            if type(v) is not float and type(v) is not int:
                raise ErrorResult(VALUE)  # errors and text in the data are #VALUE!
            new.append(float(v))
        out.append(new)
    return out


def _regression_data(known_y: Any, known_x: Any) -> tuple[list[float], list[list[float]], bool]:
    """y as a list, x as observations x variables, and whether y runs down a column."""
    ym_raw = _raw(known_y)
    if known_x is not None:
        xr = _raw(known_x)
        ny_, my_ = len(ym_raw), len(ym_raw[0])
        n_ = ny_ if my_ == 1 else my_
        if my_ == 1 and len(xr) != n_ and not (len(xr) == 1 and len(xr[0]) == n_):
            raise ErrorResult(REF)
        if my_ != 1 and ny_ == 1 and len(xr[0]) != n_ and not (len(xr[0]) == 1 and len(xr) == n_):
            raise ErrorResult(REF)
    ym = _matrix(ym_raw)
    ny, my = len(ym), len(ym[0])
    by_column = my == 1
    y = [r[0] for r in ym] if by_column else list(ym[0]) if ny == 1 else None
    if y is None:
        raise ErrorResult(REF)
    n = len(y)
    if known_x is None:
        return y, [[float(i + 1)] for i in range(n)], by_column
    xm = _matrix(known_x)
    if by_column:
        if len(xm) != n:
            if len(xm[0]) == n and len(xm) == 1:
                return y, [[v] for v in xm[0]], by_column
            raise ErrorResult(REF)
        return y, xm, by_column
    if len(xm[0]) != n:
        if len(xm) == n and len(xm[0]) == 1:
            return y, [list(r) for r in xm], by_column
        raise ErrorResult(REF)
    return y, [list(col) for col in zip(*xm)], by_column


def _least_squares(
    y: list[float], x: list[list[float]], const: bool
) -> tuple[list[float], float, list[bool], list[list[float]], int]:
    """Coefficients for x's columns (0 where collinear), intercept, and the fit's pieces.

    Columns are taken in order (intercept first) and one that adds nothing to
    the span of those kept before it is dropped, as Excel's LINEST does.
    """
    n = len(y)
    k = len(x[0])
    columns = ([[1.0] * n] if const else []) + [[row[j] for row in x] for j in range(k)]
    kept: list[int] = []
    basis: list[list[float]] = []
    for idx, col in enumerate(columns):
        v = list(col)
        norm0 = sum(a * a for a in v)
        for q in basis:
            d = sum(a * b for a, b in zip(q, v))
            v = [a - d * b for a, b in zip(v, q)]
        norm = sum(a * a for a in v)
        if norm0 == 0 or norm <= norm0 * 1e-20:
            continue
        s = math.sqrt(norm)
        basis.append([a / s for a in v])
        kept.append(idx)
    # Solve the normal equations on the kept columns.
    p = len(kept)
    xk = [[columns[c][i] for c in kept] for i in range(n)]
    xtx = [[sum(xk[i][a] * xk[i][b] for i in range(n)) for b in range(p)] for a in range(p)]
    xty = [sum(xk[i][a] * y[i] for i in range(n)) for a in range(p)]
    inv = _invert(xtx)
    beta_k = [sum(inv[a][b] * xty[b] for b in range(p)) for a in range(p)]
    beta = [0.0] * len(columns)
    for a, c in enumerate(kept):
        beta[c] = beta_k[a]
    intercept = beta[0] if const else 0.0
    slopes = beta[1:] if const else beta
    dropped = [((j + 1) if const else j) not in kept for j in range(k)]
    return slopes, intercept, dropped, inv, p


def _invert(m: list[list[float]]) -> list[list[float]]:
    n = len(m)
    a = [row[:] + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-300:
            raise ErrorResult(NUM)
        a[col], a[pivot] = a[pivot], a[col]
        f = a[col][col]
        a[col] = [v / f for v in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                g = a[r][col]
                a[r] = [v - g * w for v, w in zip(a[r], a[col])]
    return [row[n:] for row in a]


def _const_flag(const: Any) -> bool:
    from eval_svc.engine.functions._helpers import boolean

    return True if const is None else boolean(const)


@register("LINEST", "aavv", returns="x", keep_empty=(2,))
@safe
def linest(known_y: Any, known_x: Any = None, const: Any = None, stats: Any = None) -> Any:
    from eval_svc.engine.functions._helpers import boolean

    use_const = _const_flag(const)
    want_stats = stats is not None and boolean(stats)
    y, x, _ = _regression_data(known_y, known_x)
    n, k = len(y), len(x[0])
    slopes, intercept, dropped, inv, p = _least_squares(y, x, use_const)
    coef_row: list[Any] = list(reversed(slopes)) + [intercept]
    if not want_stats:
        return Array([coef_row])
    yhat = [intercept + sum(s * v for s, v in zip(slopes, row)) for row in x]
    ssresid = math.fsum((a - b) ** 2 for a, b in zip(y, yhat))
    if use_const:
        ybar = math.fsum(y) / n
        ssreg = math.fsum((b - ybar) ** 2 for b in yhat)
    else:
        ssreg = math.fsum(b * b for b in yhat)
    df = n - p
    r2 = ssreg / (ssreg + ssresid) if ssreg + ssresid else 1.0
    sey = math.sqrt(ssresid / df) if df > 0 else NA
    v1 = p - (1 if use_const else 0)
    f_stat: Any = (ssreg / v1) / (ssresid / df) if df > 0 and v1 and ssresid else NUM
    # standard errors of the kept coefficients, 0 for the dropped ones
    se_kept = [math.sqrt(max(inv[a][a], 0.0)) * sey if type(sey) is float else NA for a in range(p)]
    se_all: list[Any] = []
    a = 1 if use_const else 0
    for j in range(k):
        if dropped[j]:
            se_all.append(0.0)
        else:
            se_all.append(se_kept[a])
            a += 1
    se_b: Any = se_kept[0] if use_const else NA
    width = k + 1
    pad = [NA] * (width - 2)
    return Array(
        [
            coef_row,
            list(reversed(se_all)) + [se_b],
            [r2, sey] + pad,
            [f_stat, float(df)] + pad,
            [ssreg, ssresid] + pad,
        ]
    )


@register("TREND", "aaav", returns="x", keep_empty=(3,))
@safe
def trend(known_y: Any, known_x: Any = None, new_x: Any = None, const: Any = None) -> Any:
    use_const = _const_flag(const)
    y, x, by_column = _regression_data(known_y, known_x)
    slopes, intercept, _, _, _ = _least_squares(y, x, use_const)
    k = len(slopes)
    if new_x is None:
        points = x
        shape_rows = by_column
    else:
        nm = _matrix(new_x)
        if k == 1:
            flat = [v for row in nm for v in row]
            points = [[v] for v in flat]
            values = [intercept + slopes[0] * v for v in flat]
            return Array(
                [[values[i * len(nm[0]) + j] for j in range(len(nm[0]))] for i in range(len(nm))]
            )
        if by_column:
            if len(nm[0]) != k:
                return REF
            points = nm
        else:
            if len(nm) != k:
                return REF
            points = [list(col) for col in zip(*nm)]
        shape_rows = by_column
    values = [intercept + sum(s * v for s, v in zip(slopes, row)) for row in points]
    if shape_rows:
        return Array([[v] for v in values])
    return Array([values])

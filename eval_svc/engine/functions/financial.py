"""Financial functions (PMT, IPMT, NPV, IRR, XNPV, XIRR, RATE, depreciation...)."""

from __future__ import annotations

import math
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import (
    ErrorResult,
    boolean,
    is_range,
    num,
    numbers,
    opt_num,
    present_values,
    range_values,
    result,
    safe,
)
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import DIV0, NUM, VALUE


def _type(x: Any) -> int:
    return 0 if x is None else (1 if num(x) != 0 else 0)


def _pmt(rate: float, nper: float, pv: float, fv: float, when: int) -> float:
    if nper == 0:
        raise ErrorResult(NUM)
    if rate == 0:
        return -(pv + fv) / nper
    f: float = (1 + rate) ** nper
    return -(fv + pv * f) * rate / ((1 + rate * when) * (f - 1))


def _fv(rate: float, nper: float, pmt: float, pv: float, when: int) -> float:
    if rate == 0:
        return -(pv + pmt * nper)
    f: float = (1 + rate) ** nper
    return -(pv * f + pmt * (1 + rate * when) * (f - 1) / rate)


def _pv(rate: float, nper: float, pmt: float, fv: float, when: int) -> float:
    if rate == 0:
        return -(fv + pmt * nper)
    f: float = (1 + rate) ** nper
    return -(fv + pmt * (1 + rate * when) * (f - 1) / rate) / f


@register("PMT", "vvvvv")
@safe
def pmt(rate: Any, nper: Any, pv: Any, fv: Any = None, when: Any = None) -> Any:
    return result(_pmt(num(rate), num(nper), num(pv), opt_num(fv, 0.0), _type(when)))


@register("FV", "vvvvv")
@safe
def fv(rate: Any, nper: Any, pmt_: Any, pv: Any = None, when: Any = None) -> Any:
    return result(_fv(num(rate), num(nper), num(pmt_), opt_num(pv, 0.0), _type(when)))


@register("PV", "vvvvv")
@safe
def pv(rate: Any, nper: Any, pmt_: Any, fv_: Any = None, when: Any = None) -> Any:
    return result(_pv(num(rate), num(nper), num(pmt_), opt_num(fv_, 0.0), _type(when)))


def _ipmt(rate: float, per: float, nper: float, pv: float, fv: float, when: int) -> float:
    if per < 1 or per > nper:
        raise ErrorResult(NUM)
    payment = _pmt(rate, nper, pv, fv, when)
    if when == 1 and per == 1:
        return 0.0
    balance = _fv(rate, per - 1, payment, pv, when)
    ipmt = balance * rate
    if when == 1:
        ipmt /= 1 + rate
    return ipmt


@register("IPMT", "vvvvvv")
@safe
def ipmt(rate: Any, per: Any, nper: Any, pv: Any, fv: Any = None, when: Any = None) -> Any:
    return result(_ipmt(num(rate), num(per), num(nper), num(pv), opt_num(fv, 0.0), _type(when)))


@register("PPMT", "vvvvvv")
@safe
def ppmt(rate: Any, per: Any, nper: Any, pv: Any, fv: Any = None, when: Any = None) -> Any:
    r, p, n, v, f, w = num(rate), num(per), num(nper), num(pv), opt_num(fv, 0.0), _type(when)
    return result(_pmt(r, n, v, f, w) - _ipmt(r, p, n, v, f, w))


@register("ISPMT", "vvvv")
@safe
def ispmt(rate: Any, per: Any, nper: Any, pv: Any) -> Any:
    n = num(nper)
    if n == 0:
        return DIV0
    v = num(pv)
    return result(v * num(rate) * (num(per) / n - 1))


@register("CUMIPMT", "ssssss")
@safe
def cumipmt(rate: Any, nper: Any, pv: Any, start: Any, end: Any, when: Any) -> Any:
    return _cum(rate, nper, pv, start, end, when, interest=True)


@register("CUMPRINC", "ssssss")
@safe
def cumprinc(rate: Any, nper: Any, pv: Any, start: Any, end: Any, when: Any) -> Any:
    return _cum(rate, nper, pv, start, end, when, interest=False)


def _cum(rate: Any, nper: Any, pv: Any, start: Any, end: Any, when: Any, interest: bool) -> Any:
    r, n, v = num(rate), num(nper), num(pv)
    s, e = math.ceil(num(start)), math.floor(num(end))
    w = num(when)
    if r <= 0 or n <= 0 or v <= 0 or s < 1 or e < s or e > n or w not in (0, 1):
        return NUM
    total = 0.0
    payment = _pmt(r, n, v, 0.0, int(w))
    for p in range(int(s), int(e) + 1):
        i = _ipmt(r, p, n, v, 0.0, int(w))
        total += i if interest else payment - i
    return total


@register("NPER", "vvvvv")
@safe
def nper(rate: Any, pmt_: Any, pv: Any, fv: Any = None, when: Any = None) -> Any:
    r, p, v, f, w = num(rate), num(pmt_), num(pv), opt_num(fv, 0.0), _type(when)
    if r == 0:
        if p == 0:
            return DIV0
        return -(v + f) / p
    z = p * (1 + r * w) / r
    a, b = -f + z, v + z
    if a == 0 or b == 0 or (a / b) <= 0:
        return NUM
    return result(math.log(a / b) / math.log(1 + r))


@register("RATE", "vvvvvv")
@safe
def rate(
    nper_: Any, pmt_: Any, pv_: Any, fv_: Any = None, when: Any = None, guess: Any = None
) -> Any:
    n, p, v, f, w = num(nper_), num(pmt_), num(pv_), opt_num(fv_, 0.0), _type(when)
    r = opt_num(guess, 0.1)
    if n <= 0:
        return NUM
    for _ in range(100):
        if r <= -1:
            return NUM
        if r == 0:
            y = v + p * n + f
            dy = p * n * (n - 1) / 2 + v * n
        else:
            t = (1 + r) ** n
            y = v * t + p * (1 + r * w) * (t - 1) / r + f
            dt = n * (1 + r) ** (n - 1)
            dy = v * dt + p * ((1 + r * w) * (dt / r - (t - 1) / (r * r)) + w * (t - 1) / r)
        if dy == 0:
            return NUM
        step = y / dy
        r -= step
        if abs(step) < 1e-10:
            return r
    return NUM


def _cashflows(values: Any) -> list[float]:
    out = []
    for a in (values,):
        if is_range(a):
            for v in present_values(a):
                if isinstance(v, XlError):
                    raise ErrorResult(v)
                if type(v) is float or type(v) is int:
                    out.append(float(v))
        else:
            out.extend(numbers([a]))
    return out


@register("NPV", "v", rest="r")
@safe
def npv(rate_: Any, *values: Any) -> Any:
    r = num(rate_)
    if r == -1:
        return DIV0
    flows = numbers(values)
    total = 0.0
    for i, v in enumerate(flows, start=1):
        total += v / (1 + r) ** i
    return result(total)


def _irr_npv(r: float, flows: list[float]) -> tuple[float, float]:
    f = 0.0
    df = 0.0
    for i, v in enumerate(flows):
        d = (1 + r) ** i
        f += v / d
        df -= i * v / (d * (1 + r))
    return f, df


@register("IRR", "rv")
@safe
def irr(values: Any, guess: Any = None) -> Any:
    if type(guess) is str:
        return VALUE
    try:
        flows = _cashflows(values)
    except ErrorResult:
        return VALUE  # IRR reports any error among the cash flows as #VALUE!
    if not any(v > 0 for v in flows) or not any(v < 0 for v in flows):
        return NUM
    r = opt_num(guess, 0.1)
    for _ in range(50):
        if r <= -1:
            r = -0.999999
        f, df = _irr_npv(r, flows)
        if df == 0:
            break
        step = f / df
        r -= step
        if abs(step) < 1e-12:
            return r
    # fall back to bisection on a bracket
    return _bisect_rate(lambda x: _irr_npv(x, flows)[0])


def _bisect_rate(fn: Any) -> Any:
    lo, hi = -0.999999, 1.0
    flo = fn(lo)
    while fn(hi) * flo > 0 and hi < 1e6:
        hi *= 2
    fhi = fn(hi)
    if flo * fhi > 0:
        return NUM
    for _ in range(300):
        mid = (lo + hi) / 2
        fm = fn(mid)
        if abs(fm) < 1e-12 or hi - lo < 1e-15:
            return mid
        if fm * flo < 0:
            hi = mid
        else:
            lo, flo = mid, fm
    return (lo + hi) / 2


@register("MIRR", "rvv")
@safe
def mirr(values: Any, finance_rate: Any, reinvest_rate: Any) -> Any:
    flows = _cashflows(values)
    fr, rr = num(finance_rate), num(reinvest_rate)
    n = len(flows)
    pos = sum(v * (1 + rr) ** (n - 1 - i) for i, v in enumerate(flows) if v > 0)
    neg = sum(v / (1 + fr) ** i for i, v in enumerate(flows) if v < 0)
    if pos == 0 or neg == 0:
        return DIV0
    return result((-pos / neg) ** (1 / (n - 1)) - 1)


def _paired(values: Any, dates_: Any) -> tuple[list[float], list[float]]:
    vs = list(range_values(values)) if is_range(values) else [values]
    ds = list(range_values(dates_)) if is_range(dates_) else [dates_]
    if len(vs) != len(ds):
        raise ErrorResult(NUM)
    out_v, out_d = [], []
    for v, d in zip(vs, ds):
        if isinstance(v, XlError):
            raise ErrorResult(v)
        if isinstance(d, XlError):
            raise ErrorResult(d)
        if type(v) not in (float, int) or type(d) not in (float, int):
            raise ErrorResult(VALUE)
        out_v.append(float(v))
        out_d.append(math.floor(d))
    if not out_d:
        raise ErrorResult(NUM)
    d0 = out_d[0]
    if any(d < d0 for d in out_d[1:]):
        raise ErrorResult(NUM)
    return out_v, out_d


def _xnpv(r: float, vs: list[float], ds: list[float]) -> float:
    d0 = ds[0]
    return float(sum(v / (1 + r) ** ((d - d0) / 365.0) for v, d in zip(vs, ds)))


@register("XNPV", "srr")
@safe
def xnpv(rate_: Any, values: Any, dates_: Any) -> Any:
    r = num(rate_)
    vs, ds = _paired(values, dates_)
    if r <= 0:
        return NUM
    return result(_xnpv(r, vs, ds))


@register("XIRR", "rrs")
@safe
def xirr(values: Any, dates_: Any, guess: Any = None) -> Any:
    vs, ds = _paired(values, dates_)
    if not any(v > 0 for v in vs) or not any(v < 0 for v in vs):
        return NUM
    r = opt_num(guess, 0.1)
    d0 = ds[0]
    for _ in range(100):
        if r <= -1:
            r = -0.99
        f = 0.0
        df = 0.0
        for v, d in zip(vs, ds):
            t = (d - d0) / 365.0
            f += v / (1 + r) ** t
            df -= t * v / (1 + r) ** (t + 1)
        if df == 0:
            break
        step = f / df
        r -= step
        if abs(step) < 1e-12:
            return r
    return _bisect_rate(lambda x: _xnpv(x, vs, ds))


@register("SLN", "vvv")
@safe
def sln(cost: Any, salvage: Any, life: Any) -> Any:
    n = num(life)
    if n == 0:
        return DIV0
    return (num(cost) - num(salvage)) / n


@register("SYD", "vvvv")
@safe
def syd(cost: Any, salvage: Any, life: Any, per: Any) -> Any:
    c, s, n, p = num(cost), num(salvage), num(life), num(per)
    if n <= 0 or p <= 0 or p > n:
        return NUM
    return (c - s) * (n - p + 1) * 2 / (n * (n + 1))


@register("DDB", "vvvvv")
@safe
def ddb(cost: Any, salvage: Any, life: Any, per: Any, factor: Any = None) -> Any:
    c, s, n, p, f = num(cost), num(salvage), num(life), num(per), opt_num(factor, 2.0)
    if c < 0 or s < 0 or n <= 0 or p <= 0 or p > n or f <= 0:
        return NUM
    value = c
    dep = 0.0
    for i in range(1, math.ceil(p) + 1):
        dep = min(value * f / n, max(0.0, value - s))
        value -= dep
    return dep


@register("DB", "vvvvv")
@safe
def db(cost: Any, salvage: Any, life: Any, per: Any, month: Any = None) -> Any:
    c, s, n, p = num(cost), num(salvage), num(life), num(per)
    m = opt_num(month, 12.0)
    if c < 0 or s < 0 or n <= 0 or p <= 0 or m < 1 or m > 12 or p > n + 1:
        return NUM
    if c == 0:
        return 0.0
    r = round(1 - (s / c) ** (1 / n), 3)
    total = 0.0
    dep = c * r * m / 12
    if int(p) == 1:
        return dep
    total = dep
    for i in range(2, int(p) + 1):
        if i == int(n) + 1:
            dep = (c - total) * r * (12 - m) / 12
        else:
            dep = (c - total) * r
        total += dep
    return dep


@register("VDB", "vvvvvvv")
@safe
def vdb(
    cost: Any,
    salvage: Any,
    life: Any,
    start: Any,
    end: Any,
    factor: Any = None,
    no_switch: Any = None,
) -> Any:
    """Variable declining balance as Excel computes it.

    Excel steps through unit periods on a grid aligned with the fractional part
    of ``start`` (a first partial step [0, frac(start)]), switching for good to
    straight line over the remaining life when that depreciates more, and
    prorates the steps cut by ``start`` and ``end``.
    """
    c, s, n = num(cost), num(salvage), num(life)
    a, b = num(start), num(end)
    f = opt_num(factor, 2.0)
    keep_declining = no_switch is not None and boolean(no_switch)
    if a < 0 or b < a or b > n or c < 0 or s < 0 or f <= 0 or n <= 0:
        return NUM
    rate = min(f / n, 1.0)
    frac = a - math.floor(a)
    book = c
    total = 0.0
    pos = 0.0
    first = True
    switched = False
    straight = 0.0
    while pos < b - 1e-12:
        step_end = frac if first and frac > 1e-12 else pos + 1.0
        first = False
        declining = min(book * rate, max(book - s, 0.0))
        if not keep_declining and not switched:
            remaining = n - pos
            sl = (book - s) / remaining if remaining > 0 else 0.0
            if sl > declining:
                switched = True
                straight = sl
        per_period = straight if switched else declining
        stop = min(step_end, b)
        overlap = stop - max(pos, a)
        if overlap > 0:
            total += per_period * overlap
        book -= per_period * (stop - pos)
        pos = step_end
    return total


@register("EFFECT", "ss")
@safe
def effect(rate_: Any, npery: Any) -> Any:
    r, n = num(rate_), math.floor(num(npery))
    if r <= 0 or n < 1:
        return NUM
    return (1 + r / n) ** n - 1


@register("NOMINAL", "ss")
@safe
def nominal(rate_: Any, npery: Any) -> Any:
    r, n = num(rate_), math.floor(num(npery))
    if r <= 0 or n < 1:
        return NUM
    return n * ((1 + r) ** (1 / n) - 1)


@register("RRI", "vvv")
@safe
def rri(n: Any, pv_: Any, fv_: Any) -> Any:
    k, p, f = num(n), num(pv_), num(fv_)
    if k <= 0:
        return NUM
    if p == 0:
        return NUM
    return result((f / p) ** (1 / k) - 1)


@register("PDURATION", "vvv")
@safe
def pduration(rate_: Any, pv_: Any, fv_: Any) -> Any:
    r, p, f = num(rate_), num(pv_), num(fv_)
    if r <= 0 or p <= 0 or f <= 0:
        return NUM
    return math.log(f / p) / math.log(1 + r)


@register("FVSCHEDULE", "va")
@safe
def fvschedule(principal: Any, schedule: Any) -> Any:
    p = num(principal)
    for v in range_values(schedule) if is_range(schedule) else [schedule]:
        if isinstance(v, XlError):
            return v
        p *= 1 + (0.0 if v is None else num(v))
    return p

"""Date and time functions over Excel serial numbers (see eval_svc.engine.dates)."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from typing import Any

from calcwire.values import XlError
from eval_svc.engine import dates
from eval_svc.engine.functions._helpers import (
    ErrorResult,
    boolean,
    integer,
    is_range,
    num,
    numbers,
    opt_num,
    present_values,
    safe,
    text,
)
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import NUM, VALUE, text_to_number


def serial(x: Any) -> float:
    """A date argument: a number, or text Excel reads as a date; #NUM! if negative."""
    if type(x) is str:
        n = text_to_number(x)
        if isinstance(n, XlError):
            raise ErrorResult(n)
    else:
        n = num(x)
    if n < 0 or n > dates.max_serial() + 1:
        raise ErrorResult(NUM)
    return n


def _ymd(x: Any) -> tuple[int, int, int]:
    return dates.serial_to_ymd(math.floor(serial(x)))


def _is_leap(year: int) -> bool:
    return calendar.isleap(year) or year == 1900


def _days_in_month(year: int, month: int) -> int:
    if year == 1900 and month == 2 and not dates.is_1904():
        return 29
    return calendar.monthrange(year, month)[1]


@register("DATE", "vvv")
@safe
def date(year: Any, month: Any, day: Any) -> Any:
    y, m, d = integer(year), integer(month), integer(day)
    if y < 0 or y >= 10000:
        return NUM
    if y < 1900 and not (dates.is_1904() and y >= 1904):
        y += 1900
    s = dates.ymd_to_serial(y, m, d)
    return NUM if s is None else float(s)


@register("YEAR", "v")
@safe
def year(x: Any) -> Any:
    return float(_ymd(x)[0])


@register("MONTH", "v")
@safe
def month(x: Any) -> Any:
    return float(_ymd(x)[1])


@register("DAY", "v")
@safe
def day(x: Any) -> Any:
    return float(_ymd(x)[2])


def _time_parts(x: Any) -> tuple[int, int, int]:
    s = serial(x)
    # Excel rounds the time of day to the nearest second.
    total = round((s - math.floor(s)) * 86400.0) % 86400
    return total // 3600, (total % 3600) // 60, total % 60


@register("HOUR", "v")
@safe
def hour(x: Any) -> Any:
    return float(_time_parts(x)[0])


@register("MINUTE", "v")
@safe
def minute(x: Any) -> Any:
    return float(_time_parts(x)[1])


@register("SECOND", "v")
@safe
def second(x: Any) -> Any:
    return float(_time_parts(x)[2])


@register("TIME", "vvv")
@safe
def time(h: Any, m: Any, s: Any) -> Any:
    total = integer(h) * 3600 + integer(m) * 60 + integer(s)
    if total < 0:
        return NUM
    if integer(h) > 32767:
        return NUM
    return (total % 86400) / 86400.0


@register("TODAY", "", volatile=True)
def today() -> Any:
    return float(dates.date_to_serial(dt.date.today()))


@register("NOW", "", volatile=True)
def now() -> Any:
    n = dt.datetime.now()
    secs = n.hour * 3600 + n.minute * 60 + n.second + n.microsecond / 1e6
    return dates.date_to_serial(n.date()) + secs / 86400.0


@register("DATEVALUE", "v")
@safe
def datevalue(x: Any) -> Any:
    s = dates.parse_date_time(text(x))
    if s is None:
        return VALUE
    return float(math.floor(s))


@register("TIMEVALUE", "v")
@safe
def timevalue(x: Any) -> Any:
    s = dates.parse_date_time(text(x))
    if s is None:
        return VALUE
    return s - math.floor(s)


def _add_months(x: Any, months: Any, end_of_month: bool) -> Any:
    y, m, d = _ymd(x)
    k = integer(months)
    total = y * 12 + (m - 1) + k
    ny, nm = divmod(total, 12)
    nm += 1
    if not 1900 <= ny <= 9999:
        return NUM
    last = _days_in_month(ny, nm)
    nd = last if end_of_month else min(d, last)
    s = dates.ymd_to_serial(ny, nm, nd)
    return NUM if s is None else float(s)


@register("EDATE", "ss")
@safe
def edate(start: Any, months: Any) -> Any:
    return _add_months(start, months, False)


@register("EOMONTH", "ss")
@safe
def eomonth(start: Any, months: Any) -> Any:
    return _add_months(start, months, True)


@register("DAYS", "vv")
@safe
def days(end: Any, start: Any) -> Any:
    return float(math.floor(serial(end)) - math.floor(serial(start)))


@register("DAYS360", "vvv")
@safe
def days360(start: Any, end: Any, method: Any = None) -> Any:
    y1, m1, d1 = _ymd(start)
    y2, m2, d2 = _ymd(end)
    european = method is not None and boolean(method)
    if european:
        d1 = min(d1, 30)
        d2 = min(d2, 30)
    else:
        if d1 == 31 or (m1 == 2 and d1 == _days_in_month(y1, 2)):
            d1 = 30
        if d2 == 31 and d1 >= 30:
            d2 = 30
    return float((y2 - y1) * 360 + (m2 - m1) * 30 + (d2 - d1))


@register("DATEDIF", "vvv")
@safe
def datedif(start: Any, end: Any, unit: Any) -> Any:
    s, e = math.floor(serial(start)), math.floor(serial(end))
    if s > e:
        return NUM
    u = text(unit).upper()
    y1, m1, d1 = dates.serial_to_ymd(s)
    y2, m2, d2 = dates.serial_to_ymd(e)
    if u == "D":
        return float(e - s)
    months = (y2 - y1) * 12 + (m2 - m1) - (1 if d2 < d1 else 0)
    if u == "M":
        return float(months)
    if u == "Y":
        return float(months // 12)
    if u == "YM":
        return float(months % 12)
    if u == "MD":
        if d2 >= d1:
            return float(d2 - d1)
        pm, py = (m2 - 1, y2) if m2 > 1 else (12, y2 - 1)
        return (
            float(_days_in_month(py, pm) - d1 + d2) if d1 <= _days_in_month(py, pm) else float(d2)
        )
    if u == "YD":
        # Excel counts from the start date to the end's month and day in the start's year
        # (or the next one), on its own calendar with 29 February 1900.
        year = y1 if (m2, d2) >= (m1, d1) else y1 + 1
        last = _days_in_month(year, m2)
        anchor = dates.ymd_to_serial(year, m2, min(d2, last))
        if anchor is None:
            return NUM
        return float(anchor - s)
    return NUM


@register("WEEKDAY", "vv")
@safe
def weekday(x: Any, kind: Any = None) -> Any:
    s = math.floor(serial(x))
    t = int(opt_num(kind, 1.0))
    # Monday = 0 .. Sunday = 6; serial 1 (1900-01-01) is a Sunday in Excel's calendar
    mon0 = (s + 5) % 7 if not dates.is_1904() else (s + 4) % 7
    if t == 1:
        return float((mon0 + 1) % 7 + 1)
    if t == 2:
        return float(mon0 + 1)
    if t == 3:
        return float(mon0)
    if 11 <= t <= 17:
        start = t - 11  # 11: Monday
        return float((mon0 - start) % 7 + 1)
    return NUM


@register("WEEKNUM", "ss")
@safe
def weeknum(x: Any, kind: Any = None) -> Any:
    s = math.floor(serial(x))
    t = int(opt_num(kind, 1.0))
    if t == 21:
        return isoweeknum(s)
    starts = {1: 6, 17: 6, 2: 0, 11: 0, 12: 1, 13: 2, 14: 3, 15: 4, 16: 5}
    if t not in starts:
        return NUM
    first_day = starts[t]  # Monday = 0
    y, _, _ = dates.serial_to_ymd(s)
    jan1 = dates.ymd_to_serial(y, 1, 1) or 0
    jan1_wd = (jan1 + 5) % 7
    offset = (jan1_wd - first_day) % 7
    return float((s - jan1 + offset) // 7 + 1)


@register("ISOWEEKNUM", "v")
@safe
def isoweeknum(x: Any) -> Any:
    s = math.floor(serial(x))
    # Excel's own calendar (1900-01-01 a Sunday), so early-1900 serials agree with Excel.
    monday0 = (s + 5) % 7
    thursday = s - monday0 + 3
    if thursday < 1:
        return 52.0  # the last ISO week of 1899
    year_ = dates.serial_to_ymd(thursday)[0]
    jan1 = dates.ymd_to_serial(year_, 1, 1) or 0
    return float((thursday - jan1) // 7 + 1)


def _yearfrac_basis_0(y1: int, m1: int, d1: int, y2: int, m2: int, d2: int) -> float:
    if d1 == 31:
        d1 = 30
        if d2 == 31:
            d2 = 30
    elif d1 == 30 and d2 == 31:
        d2 = 30
    elif m1 == 2 and d1 == _days_in_month(y1, 2):
        d1 = 30
        if m2 == 2 and d2 == _days_in_month(y2, 2):
            d2 = 30
    return ((d2 + m2 * 30 + y2 * 360) - (d1 + m1 * 30 + y1 * 360)) / 360


def _yearfrac_basis_1(s: int, e: int) -> float:
    y1 = dates.serial_to_ymd(s)[0]
    y2 = dates.serial_to_ymd(e)[0]
    delta = e - s
    if delta <= 365:
        feb29_1 = dates.ymd_to_serial(y1, 2, 29) if _is_leap(y1) else None
        feb29_2 = dates.ymd_to_serial(y2, 2, 29) if _is_leap(y2) else None
        if (
            (feb29_1 is not None and s <= feb29_1)
            or (feb29_2 is not None and e >= feb29_2)
            or (_is_leap(y1) and _is_leap(y2))
        ):
            denom = 366.0
        else:
            denom = 365.0
    else:
        years = range(y1, y2 + 1)
        denom = sum(366 if calendar.isleap(y) else 365 for y in years) / len(years)
    return delta / denom


@register("YEARFRAC", "sss")
@safe
def yearfrac(start: Any, end: Any, basis: Any = None) -> Any:
    b = 0 if basis is None else math.trunc(num(basis))
    if b not in (0, 1, 2, 3, 4):
        return NUM
    s, e = math.floor(serial(start)), math.floor(serial(end))
    if s > e:
        s, e = e, s
    y1, m1, d1 = dates.serial_to_ymd(s)
    y2, m2, d2 = dates.serial_to_ymd(e)
    if b == 0:
        return _yearfrac_basis_0(y1, m1, d1, y2, m2, d2)
    if b == 1:
        return _yearfrac_basis_1(s, e)
    if b == 2:
        return (e - s) / 360
    if b == 3:
        return (e - s) / 365
    d1, d2 = min(d1, 30), min(d2, 30)
    return (360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)) / 360


def _holidays(h: Any) -> set[int]:
    if h is None:
        return set()
    if is_range(h):
        out = set()
        for v in present_values(h):
            if isinstance(v, XlError):
                raise ErrorResult(v)
            if type(v) is float or type(v) is int:
                out.add(math.floor(v))
        return out
    return {math.floor(x) for x in numbers([h])}


def _weekend_mask(weekend: Any) -> list[bool]:
    """Monday..Sunday: True if a weekend day."""
    if weekend is None:
        return [False] * 5 + [True, True]
    if type(weekend) is str:
        if len(weekend) != 7 or set(weekend) - {"0", "1"} or weekend == "1111111":
            raise ErrorResult(VALUE)
        return [ch == "1" for ch in weekend]
    k = int(num(weekend))
    pairs = {1: (5, 6), 2: (6, 0), 3: (0, 1), 4: (1, 2), 5: (2, 3), 6: (3, 4), 7: (4, 5)}
    singles = {11: 6, 12: 0, 13: 1, 14: 2, 15: 3, 16: 4, 17: 5}
    mask = [False] * 7
    if k in pairs:
        for i in pairs[k]:
            mask[i] = True
    elif k in singles:
        mask[singles[k]] = True
    else:
        raise ErrorResult(NUM)
    return mask


def _networkdays(start: Any, end: Any, weekend: Any, holidays: Any) -> Any:
    s, e = math.floor(serial(start)), math.floor(serial(end))
    mask = _weekend_mask(weekend)
    hol = _holidays(holidays)
    step = 1 if e >= s else -1
    count = 0
    for d in range(s, e + step, step):
        if not mask[(d + 5) % 7] and d not in hol:
            count += 1
    return float(count * step)


@register("NETWORKDAYS", "ssr")
@safe
def networkdays(start: Any, end: Any, holidays: Any = None) -> Any:
    return _networkdays(start, end, None, holidays)


@register("NETWORKDAYS.INTL", "sssr")
@safe
def networkdays_intl(start: Any, end: Any, weekend: Any = None, holidays: Any = None) -> Any:
    return _networkdays(start, end, weekend, holidays)


def _workday(start: Any, n: Any, weekend: Any, holidays: Any) -> Any:
    d = math.floor(serial(start))
    k = integer(n)
    mask = _weekend_mask(weekend)
    hol = _holidays(holidays)
    step = 1 if k >= 0 else -1
    remaining = abs(k)
    while remaining:
        d += step
        if not mask[(d + 5) % 7] and d not in hol:
            remaining -= 1
    if d < 0:
        return NUM
    return float(d)


@register("WORKDAY", "ssr")
@safe
def workday(start: Any, n: Any, holidays: Any = None) -> Any:
    return _workday(start, n, None, holidays)


@register("WORKDAY.INTL", "sssr")
@safe
def workday_intl(start: Any, n: Any, weekend: Any = None, holidays: Any = None) -> Any:
    return _workday(start, n, weekend, holidays)

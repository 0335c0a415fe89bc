"""Excel serial dates: the 1900 system (with its fake 1900-02-29) and the 1904 system.

A serial is a number of days: in the 1900 system 1 is 1900-01-01 and 60 is
the 29 February 1900 that Lotus 1-2-3 invented and Excel kept; in the 1904
system 0 is 1904-01-01. The date system of the workbook being computed is set
with :func:`use_1904` before a calculation (a calculation runs on one thread).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

__all__ = [
    "date_to_serial",
    "parse_date_time",
    "serial_to_date",
    "serial_to_ymd",
    "use_1904",
    "ymd_to_serial",
]

_BASE_1900: Final = dt.date(1899, 12, 30)
_BASE_1904: Final = dt.date(1904, 1, 1)
_MAX_SERIAL_1900: Final = 2958465  # 9999-12-31

_state = {"1904": False}


def use_1904(flag: bool) -> None:
    _state["1904"] = flag


def is_1904() -> bool:
    return _state["1904"]


def max_serial() -> int:
    return _MAX_SERIAL_1900 - (1462 if _state["1904"] else 0)


def date_to_serial(d: dt.date) -> int:
    if _state["1904"]:
        return (d - _BASE_1904).days
    n = (d - _BASE_1900).days
    return n - 1 if n < 61 else n


def ymd_to_serial(year: int, month: int, day: int) -> int | None:
    """The serial of a (possibly overflowing) year/month/day, as DATE normalises it; None if out of range."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    if not 1 <= year <= 9999:
        return None
    if _state["1904"]:
        serial = (dt.date(year, month, 1) - _BASE_1904).days + day - 1
        return serial if 0 <= serial <= max_serial() else None
    # 1900 system: Excel's calendar has a 29 February 1900, so serials run on
    # consecutively across it and day overflow needs no special case.
    if (year, month) < (1900, 3):
        first = (dt.date(year, month, 1) - _BASE_1900).days - 1
    else:
        first = (dt.date(year, month, 1) - _BASE_1900).days
    serial = first + day - 1
    if serial < 0 or serial > _MAX_SERIAL_1900:
        return None
    return serial


def serial_to_ymd(serial: float) -> tuple[int, int, int]:
    """(year, month, day) of a serial; 1900-01-00 for 0 and 1900-02-29 for 60 in the 1900 system."""
    n = int(serial)
    if _state["1904"]:
        d = _BASE_1904 + dt.timedelta(days=n)
        return d.year, d.month, d.day
    if n == 60:
        return 1900, 2, 29
    if n == 0:
        return 1900, 1, 0
    if n < 60:
        n += 1
    d = _BASE_1900 + dt.timedelta(days=n)
    return d.year, d.month, d.day


def serial_to_date(serial: float) -> dt.date:
    """A real calendar date for a serial (the fake 29 Feb 1900 becomes 1 March)."""
    n = int(serial)
    if _state["1904"]:
        return _BASE_1904 + dt.timedelta(days=n)
    if 0 < n < 61:
        n += 1
    return _BASE_1900 + dt.timedelta(days=n)


_MONTHS: Final = {
    m.lower(): i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MON: Final = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + ")"
_TIME_RE: Final = re.compile(
    r"(?P<fields>[0-9]+(?::[0-9]+){1,2})(?P<frac>\.[0-9]*)?\s*(?P<ampm>[aApP][mM]?)?"
    r"|(?P<hour>[0-9]{1,2})\s*(?P<ampm2>[aApP][mM]?)"
)
_DATE_RES: Final = [
    re.compile(r"(?P<y>[0-9]{4})[-/](?P<m>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})"),
    re.compile(r"(?P<m>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})(?:[-/](?P<y>[0-9]{1,4}))?"),
    re.compile(rf"(?P<d>[0-9]{{1,2}})[-/ ]{_MON}\.?(?:[-/ ,]+(?P<y>[0-9]{{1,4}}))?", re.IGNORECASE),
    re.compile(
        rf"{_MON}\.?[-/ ](?P<d>[0-9]{{1,2}})(?:(?:,\s*|[-/ ])(?P<y>[0-9]{{1,4}}))?", re.IGNORECASE
    ),
    re.compile(rf"{_MON}\.?[-/ ](?P<y>[0-9]{{4}})", re.IGNORECASE),
]


def _year(text: str | None) -> int:
    if text is None:
        return dt.date.today().year
    y = int(text)
    if len(text) <= 2:
        return 2000 + y if y < 30 else 1900 + y
    return y


def _parse_time(text: str) -> float | None:
    """A time of day as Excel reads it: h:m, h:m:s, m:s.f, with AM/PM.

    Fields before the last must be a valid hour (0-23) and minute (0-59); the
    last field may run up to 9999 ("0:59:99" is 1:00:39).
    """
    m = _TIME_RE.fullmatch(text.strip())
    if m is None:
        return None
    if m["hour"] is not None:
        h = int(m["hour"])
        if h > 12:
            return None
        pm = m["ampm2"][0] in "pP"
        return ((h % 12) + (12 if pm else 0)) / 24.0
    fields = [int(f) for f in m["fields"].split(":")]
    frac = m["frac"]
    if frac == ".":
        frac = None  # "23:59." reads as 23:59
    ampm = m["ampm"]
    if fields[-1] >= 10000:
        return None
    if frac is not None and len(fields) == 2:
        minutes, seconds = fields
        if minutes > 59:
            return None
        total = minutes * 60 + seconds + float(frac)
        hours = 0
    else:
        hours = fields[0]
        if len(fields) == 3:
            if fields[1] > 59 or hours > 23:
                return None
            total = fields[1] * 60 + fields[2] + (float(frac) if frac else 0.0)
        else:
            if hours > 23:
                return None
            total = fields[1] * 60.0
    if ampm:
        if not 0 <= hours <= 12:
            return None
        pm = ampm[0] in "pP"
        hours = hours % 12 + (12 if pm else 0)
    return (hours * 3600 + total) / 86400.0


def _parse_date(text: str) -> int | None:
    for rx in _DATE_RES:
        m = rx.fullmatch(text)
        if m is None:
            continue
        g = m.groupdict()
        month = _MONTHS[g["mon"].lower()] if g.get("mon") else int(g["m"])
        day = int(g["d"]) if g.get("d") else 1
        if month > 12 and day <= 12 and not g.get("mon"):
            month, day = day, month  # day/month order, when month/day cannot be
        year = _year(g.get("y"))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        if year < 1900 and not _state["1904"]:
            return None
        try:
            dt.date(year, month, day)
        except ValueError:
            if (year, month, day) != (1900, 2, 29):
                return None
        return ymd_to_serial(year, month, day)
    return None


def parse_date_time(text: str) -> float | None:
    """The serial of a date and/or time written as Excel (US locale) reads it, or None."""
    s = text.strip()
    if not s or not any(ch.isdigit() for ch in s):
        return None
    t = _parse_time(s)
    if t is not None:
        return t
    d = _parse_date(s)
    if d is not None:
        return float(d)
    # date and time separated by a space
    for i in range(len(s) - 1, 0, -1):
        if s[i] == " ":
            d = _parse_date(s[:i].strip())
            if d is not None:
                t = _parse_time(s[i + 1 :])
                if t is not None:
                    return d + t
    return None

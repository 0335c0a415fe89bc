"""Excel number formats, as the TEXT function applies them.

Supports sections (positive;negative;zero;text), conditions and colours in
brackets, digit placeholders (0 # ?), thousands separators and scaling,
percent, scientific notation, simple fractions, literal text, and date/time
codes (y m d h s, AM/PM, elapsed [h]:mm). ``General`` renders as a cell shows
it (at most 11 characters).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from calcwire.values import XlError

__all__ = ["format_value", "general"]

_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def general(x: float) -> str:
    """A number as the General format shows it in a cell (at most 11 characters)."""
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e11:
        return str(int(x))
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e11 or a < 1e-9:
        mant, exp = f"{a:.5E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        e = int(exp)
        return f"{sign}{mant}E{'-' if e < 0 else '+'}{abs(e):02d}"
    int_digits = len(str(int(a))) if a >= 1 else 1
    decimals = max(0, 10 - int_digits - (1 if sign else 0))
    s = f"{_round_half_up(a, decimals):.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if a < 1 and s == "0":
        mant, exp = f"{a:.5E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        e = int(exp)
        return f"{sign}{mant}E{'-' if e < 0 else '+'}{abs(e):02d}"
    return sign + s


def _round_half_up(x: float, places: int) -> float:
    if not math.isfinite(x):
        return x
    try:
        return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    except Exception:  # noqa: BLE001
        return x


def _split_sections(fmt: str) -> list[str]:
    sections, cur, i = [], [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == '"':
            j = fmt.find('"', i + 1)
            j = len(fmt) - 1 if j < 0 else j
            cur.append(fmt[i : j + 1])
            i = j + 1
            continue
        if ch == "\\" and i + 1 < len(fmt):
            cur.append(fmt[i : i + 2])
            i += 2
            continue
        if ch == ";":
            sections.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    sections.append("".join(cur))
    return sections


_COND_RE = re.compile(r"\[(<=|>=|<>|<|>|=)(-?[0-9.]+)\]")
_BRACKET_RE = re.compile(r"\[[^\]]*\]")


def _strip_quotes(section: str) -> str:
    """The section without its quoted and escaped literals (to detect its kind)."""
    return re.sub(r'"[^"]*"|\\.|_.|\*.', "", section)


def _is_date(section: str) -> bool:
    s = _BRACKET_RE.sub(lambda m: m.group() if m.group().lower() in ("[h]", "[hh]", "[m]", "[mm]", "[s]", "[ss]") else "", _strip_quotes(section))
    s = s.lower()
    return bool(re.search(r"[ymdhs]|am/pm|a/p", s))


def _cond_ok(op: str, x: float, v: float) -> bool:
    return {
        "<": x < v,
        "<=": x <= v,
        ">": x > v,
        ">=": x >= v,
        "=": x == v,
        "<>": x != v,
    }[op]


def format_value(value: Any, fmt: str) -> str | XlError:
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if value is None:
        value = 0.0
    if type(value) is str:
        from eval_svc.engine.runtime import text_to_number

        n = text_to_number(value)
        if type(n) is not float:
            sections = _split_sections(fmt)
            if len(sections) >= 4:
                return _literal(sections[3]).replace("\x00", value)
            if len(sections) == 1 and "@" in fmt:
                return _literal(fmt).replace("\x00", value)
            return value
        value = n
    x = float(value)
    sections = _split_sections(fmt)
    conds = [_COND_RE.search(s) for s in sections]
    if any(conds):
        chosen = None
        for s, c in zip(sections, conds):
            if c is None or _cond_ok(c.group(1), x, float(c.group(2))):
                chosen = s
                break
        section = chosen if chosen is not None else sections[-1]
        negate = False
    elif len(sections) == 1 or (x > 0) or (x == 0 and len(sections) < 3):
        section = sections[0]
        negate = False
        if x < 0 and len(sections) == 1:
            negate = True
    elif x < 0:
        section = sections[1]
        x = -x
        negate = False
    else:
        section = sections[2]
    if len(sections) > 1 and x < 0 and section is sections[0]:
        negate = True
    section = _BRACKET_RE.sub(lambda m: m.group() if re.fullmatch(r"\[(h+|m+|s+)\]", m.group(), re.I) else "", section)
    if section.strip().lower() == "general" or section == "":
        if section == "" and len(sections) > 1:
            return ""
        out = general(abs(x) if negate else x)
        return ("-" + out) if negate and out != "0" else out
    if _is_date(section):
        if x < 0:
            return XlError.VALUE
        return _format_date(x, section)
    out = _format_number(abs(x) if negate else x, section)
    if negate and any(ch in out for ch in "123456789"):
        out = "-" + out
    return out


def _literal(section: str) -> str:
    out = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(section[i + 1 : j])
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            out.append(section[i + 1])
            i += 2
        elif ch == "_" and i + 1 < len(section):
            out.append(" ")
            i += 2
        elif ch == "*" and i + 1 < len(section):
            i += 2
        elif ch == "@":
            out.append("\x00")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokens(section: str) -> list[tuple[str, str]]:
    """(kind, text): 'lit' literal text, or a single format character."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(("lit", section[i + 1 : j]))
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            out.append(("lit", section[i + 1]))
            i += 2
        elif ch == "_" and i + 1 < len(section):
            out.append(("lit", " "))
            i += 2
        elif ch == "*" and i + 1 < len(section):
            i += 2
        elif ch in "0#?.,%Ee/":
            if ch in "Ee" and i + 1 < len(section) and section[i + 1] in "+-":
                out.append(("exp", section[i : i + 2]))
                i += 2
                continue
            if ch in "Ee":
                out.append(("lit", ch))
                i += 1
                continue
            out.append(("fmt", ch))
            i += 1
        else:
            out.append(("lit", ch))
            i += 1
    return out


def _format_number(x: float, section: str) -> str:
    toks = _tokens(section)
    if any(k == "fmt" and t == "/" for k, t in toks):
        return _format_fraction(x, toks)
    percent = sum(1 for k, t in toks if k == "fmt" and t == "%")
    x *= 100.0**percent
    # thousands scaling: commas right after the last digit placeholder
    digit_positions = [i for i, (k, t) in enumerate(toks) if k == "fmt" and t in "0#?"]
    if not digit_positions:
        return _literal(section).replace("\x00", "")
    last = digit_positions[-1]
    scale = 0
    j = last + 1
    while j < len(toks) and toks[j] == ("fmt", ","):
        scale += 1
        j += 1
    x /= 1000.0**scale
    exp_index = next((i for i, (k, _) in enumerate(toks) if k == "exp"), None)
    point = next((i for i, (k, t) in enumerate(toks) if k == "fmt" and t == "."), None)
    end_mantissa = exp_index if exp_index is not None else len(toks)
    int_ph = [i for i in digit_positions if (point is None or i < point) and i < end_mantissa]
    dec_ph = [i for i in digit_positions if point is not None and point < i < end_mantissa]
    exp_ph = [i for i in digit_positions if exp_index is not None and i > exp_index]
    grouping = any(
        toks[i] == ("fmt", ",") and int_ph and int_ph[0] < i < int_ph[-1] for i in range(len(toks))
    )
    exponent = 0
    if exp_index is not None and x != 0:
        n_int = max(1, len(int_ph))
        exponent = math.floor(math.log10(abs(x))) - (n_int - 1)
        if len(int_ph) > 1 and "#" in "".join(toks[i][1] for i in int_ph):
            # engineering style: exponent multiple of the number of integer placeholders
            exponent = math.floor(math.log10(abs(x)) / n_int) * n_int
        x /= 10.0**exponent
        if round(abs(x), len(dec_ph)) >= 10 ** n_int:
            x /= 10
            exponent += 1
    rounded = _round_half_up(abs(x), len(dec_ph))
    s = f"{rounded:.{len(dec_ph)}f}"
    int_digits, _, dec_digits = s.partition(".")
    if int_digits == "0":
        int_digits = ""
    # integer part, filled right to left
    out_int: dict[int, str] = {}
    digits = list(int_digits)
    for n, i in enumerate(reversed(int_ph)):
        ch = toks[i][1]
        if digits:
            d = digits.pop()
            out_int[i] = d
        else:
            out_int[i] = "0" if ch == "0" else (" " if ch == "?" else "")
    if digits and int_ph:
        out_int[int_ph[0]] = "".join(digits) + out_int[int_ph[0]]
    if grouping and int_ph:
        whole = "".join(out_int[i] for i in int_ph)
        stripped = whole.lstrip(" ")
        if stripped.isdigit():
            grouped = f"{int(stripped):,}"
            out_int = {i: "" for i in int_ph}
            out_int[int_ph[-1]] = grouped
    # decimals, filled left to right; trailing '#' drop zeros
    out_dec: dict[int, str] = {}
    dec_list = list(dec_digits)
    for n, i in enumerate(dec_ph):
        ch = toks[i][1]
        d = dec_list[n] if n < len(dec_list) else "0"
        out_dec[i] = d
    for i in reversed(dec_ph):
        ch = toks[i][1]
        if out_dec[i] == "0" and ch in "#?":
            out_dec[i] = "" if ch == "#" else " "
        else:
            break
    out: list[str] = []
    for i, (k, t) in enumerate(toks):
        if k == "lit":
            out.append(t)
        elif k == "exp":
            e = exponent
            e_digits = str(abs(e)).rjust(max(1, len(exp_ph)), "0")
            out.append("E" + ("-" if e < 0 else ("+" if t[1] == "+" else "")) + e_digits)
        elif i in out_int:
            out.append(out_int[i])
        elif i in out_dec:
            out.append(out_dec[i])
        elif t == ".":
            out.append(".")
        elif t == "%":
            out.append("%")
        elif t == ",":
            continue
    return "".join(out).replace("\x00", "")


def _format_fraction(x: float, toks: list[tuple[str, str]]) -> str:
    from fractions import Fraction

    slash = next(i for i, (k, t) in enumerate(toks) if k == "fmt" and t == "/")
    den_ph = [i for i in range(slash + 1, len(toks)) if toks[i][0] == "fmt" and toks[i][1] in "0#?"]
    num_ph = [i for i in range(slash) if toks[i][0] == "fmt" and toks[i][1] in "0#?"]
    fixed_den = None
    tail = "".join(t for k, t in toks[slash + 1 :] if k == "lit" and t.strip().isdigit())
    if tail:
        fixed_den = int(tail)
    # a whole-number part exists when there is a separate group of placeholders before the numerator
    groups: list[list[int]] = []
    for i in num_ph:
        if groups and i == groups[-1][-1] + 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    whole_part = len(groups) > 1
    sign = "-" if x < 0 else ""
    a = abs(x)
    whole = int(a) if whole_part else 0
    frac = a - whole
    if fixed_den:
        f = Fraction(round(frac * fixed_den), fixed_den)
        n, d = f.numerator * (fixed_den // f.denominator), fixed_den
    else:
        f = Fraction(frac).limit_denominator(10 ** max(1, len(den_ph)) - 1)
        n, d = f.numerator, f.denominator
    if whole_part:
        if n == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole} {n}/{d}" if whole else f"{sign}{n}/{d}"
    return f"{sign}{n + whole * d}/{d}"


def _format_date(x: float, section: str) -> str:
    from eval_svc.engine.dates import serial_to_ymd

    days = math.floor(x)
    secs_total = (x - days) * 86400.0
    y, mo, d = serial_to_ymd(days) if days > 0 or True else (1900, 1, 0)
    weekday = (days + 5) % 7  # serial 1 (1900-01-01) was a Sunday in Excel's calendar
    has_ampm = bool(re.search(r"am/pm|a/p", _strip_quotes(section), re.I))
    # decide rounding of seconds by the smallest unit shown
    frac_digits = 0
    m = re.search(r"s+\.(0+)", section, re.I)
    if m:
        frac_digits = len(m.group(1))
    secs_round = round(secs_total, frac_digits) if frac_digits else round(secs_total)
    if secs_round >= 86400:
        secs_round -= 86400
        days += 1
        y, mo, d = serial_to_ymd(days)
        weekday = (days + 5) % 7
    hh = int(secs_round // 3600)
    mi = int((secs_round % 3600) // 60)
    ss = secs_round % 60
    out: list[str] = []
    i = 0
    low = section.lower()
    last_was_hour = False
    while i < len(section):
        ch = low[i]
        if section[i] == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(section[i + 1 : j])
            i = j + 1
            continue
        if section[i] == "\\" and i + 1 < len(section):
            out.append(section[i + 1])
            i += 2
            continue
        if low.startswith("am/pm", i):
            out.append("AM" if hh < 12 else "PM")
            i += 5
            continue
        if low.startswith("a/p", i):
            out.append("A" if hh < 12 else "P")
            i += 3
            continue
        if ch == "[":
            j = low.find("]", i)
            code = low[i + 1 : j]
            total = x * 24
            if code.startswith("h"):
                out.append(str(int(math.floor(x * 24 + 1e-9))).rjust(len(code), "0"))
                last_was_hour = True
            elif code.startswith("m"):
                out.append(str(int(math.floor(x * 1440 + 1e-9))).rjust(len(code), "0"))
            elif code.startswith("s"):
                out.append(str(int(round(x * 86400))).rjust(len(code), "0"))
            _ = total
            i = j + 1
            continue
        run = 1
        while i + run < len(low) and low[i + run] == ch and ch in "ymdhs":
            run += 1
        if ch == "y":
            out.append(str(y)[-2:].rjust(2, "0") if run <= 2 else str(y).rjust(4, "0"))
        elif ch == "d":
            if run == 1:
                out.append(str(d))
            elif run == 2:
                out.append(f"{d:02d}")
            elif run == 3:
                out.append(_DAYS[weekday][:3])
            else:
                out.append(_DAYS[weekday])
        elif ch == "m":
            rest = low[i + run :].lstrip(" :")
            is_minute = (last_was_hour or rest.startswith("s") or re.match(r'^[^a-z]*s', low[i + run :]) is not None) and run <= 2
            if is_minute:
                out.append(f"{mi:02d}" if run == 2 else str(mi))
            elif run == 1:
                out.append(str(mo))
            elif run == 2:
                out.append(f"{mo:02d}")
            elif run == 3:
                out.append(_MONTHS[mo - 1][:3])
            elif run == 5:
                out.append(_MONTHS[mo - 1][0])
            else:
                out.append(_MONTHS[mo - 1])
        elif ch == "h":
            h = hh
            if has_ampm:
                h = hh % 12 or 12
            out.append(f"{h:02d}" if run >= 2 else str(h))
            last_was_hour = True
            i += run
            continue
        elif ch == "s":
            whole = int(ss)
            out.append(f"{whole:02d}" if run >= 2 else str(whole))
            if frac_digits and low.startswith(".", i + run):
                frac = f"{ss - whole:.{frac_digits}f}"[1:]
                out.append(frac)
                i += run + 1 + frac_digits
                last_was_hour = False
                continue
        else:
            out.append(section[i])
            i += 1
            continue
        if ch != "h" and ch not in " :":
            last_was_hour = last_was_hour and ch in ""
        i += run
    return "".join(out)

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


def number_to_text_general(x: float) -> str:
    from eval_svc.engine.runtime import number_to_text

    return number_to_text(x)


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
        return float(
            Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        )
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


_ELAPSED_RE = re.compile(r"\[(h+|m+|s+)\]", re.IGNORECASE)
_COND_RE = re.compile(r"\[(<=|>=|<>|<|>|=)(-?[0-9.]+)\]")
_BRACKET_RE = re.compile(r"\[[^\]]*\]")


def _strip_quotes(section: str) -> str:
    """The section without its quoted and escaped literals (to detect its kind)."""
    return re.sub(r'"[^"]*"|\\.|_.|\*.', "", section)


def _is_date(section: str) -> bool:
    s = _BRACKET_RE.sub(
        lambda m: (
            m.group() if m.group().lower() in ("[h]", "[hh]", "[m]", "[mm]", "[s]", "[ss]") else ""
        ),
        _strip_quotes(section),
    )
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
    sections = _split_sections(fmt)
    # A section holding @ is the text section: the 4th, or the last one given.
    text_section = None
    for k, sec in enumerate(sections):
        if "@" in _strip_quotes(sec):
            if k != len(sections) - 1 and k != 3:
                return XlError.VALUE
            text_section = sec
    number_sections = sections if text_section is None else sections[:-1] or [""]
    if type(value) is str:
        from eval_svc.engine.runtime import text_to_number

        n = text_to_number(value)
        if type(n) is not float:
            if text_section is not None:
                return _literal(text_section).replace("\x00", value)
            return value
        value = n
    if text_section is not None and len(sections) == 1:
        if re.search(r"[0#?]", _strip_quotes(text_section)):
            return XlError.VALUE  # a number format and @ in one section
        return _literal(text_section).replace("\x00", number_to_text_general(float(value)))
    x = float(value)
    if fmt == "":
        return "-" if x < 0 else ""
    sections = number_sections
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
        negate = x < 0 and len(sections) == 1
    elif x < 0:
        section = sections[1]
        x = -x
        negate = False
    else:
        section = sections[2]
        negate = False
    if len(sections) > 1 and x < 0 and section is sections[0]:
        negate = True
    section = _BRACKET_RE.sub(
        lambda m: m.group() if re.fullmatch(r"\[(h+|m+|s+)\]", m.group(), re.IGNORECASE) else "",
        section,
    )
    if section.strip().lower() == "general" or section == "":
        if section == "" and len(sections) > 1:
            return ""
        out = general(abs(x) if negate else x)
        return ("-" + out) if negate and out != "0" else out
    if _is_date(section):
        if re.search(r"[0#?]", re.sub(r"[sS]+\]?\.0+", "", _strip_quotes(section))):
            return XlError.VALUE  # date codes and digit placeholders do not mix
        elapsed_only = not re.search(
            r"[ymdhs]|am/pm|a/p", _ELAPSED_RE.sub("", _strip_quotes(section)).lower()
        )
        if x < 0:
            if not elapsed_only or "." in _strip_quotes(section):
                return XlError.VALUE
            return "-" + _format_date(-x, section)
        if x >= 2958466 and not elapsed_only:
            return XlError.VALUE
        return _format_date(x, section)
    try:
        out = _format_number(abs(x) if negate else x, section)
    except _BadFormat:
        return XlError.VALUE
    if negate:
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


class _BadFormat(Exception):
    pass


def _tokens(section: str) -> list[tuple[str, str]]:
    """(kind, text) items of a number section.

    Kinds: ``lit`` literal text; ``d`` a digit placeholder (0 # ?); ``.``
    the decimal point (later points are literal); ``,`` a comma between two
    placeholders (thousands grouping); ``skip`` a comma right after a
    placeholder (dropped, or scaling by 1000 after the last integer
    placeholder); ``%``; ``exp`` E+/E-; ``/`` a fraction bar.
    """
    out: list[tuple[str, str]] = []
    i = 0
    seen_point = False
    seen_exp = False
    n = len(section)
    while i < n:
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            if j < 0:
                raise _BadFormat
            out.append(("lit", section[i + 1 : j]))
            i = j + 1
        elif ch == "\\":
            if i + 1 >= n:
                raise _BadFormat
            out.append(("lit", section[i + 1]))
            i += 2
        elif ch == "_" and i + 1 < n:
            out.append(("lit", " "))
            i += 2
        elif ch == "*" and i + 1 < n:
            i += 2
        elif ch in "0#?":
            out.append(("d", ch))
            i += 1
        elif ch == ".":
            if seen_point or seen_exp:
                out.append(("lit", "."))
            else:
                out.append((".", "."))
                seen_point = True
            i += 1
        elif ch == ",":
            prev = section[i - 1] if i else ""
            nxt = section[i + 1] if i + 1 < n else ""
            if prev and nxt and prev in "0#?" and nxt in "0#?":
                out.append((",", ","))
            elif (prev and prev in "0#?") or (out and out[-1][0] == "skip"):
                out.append(("skip", ","))
            else:
                out.append(("lit", ","))
            i += 1
        elif ch in "Ee" and i + 1 < n and section[i + 1] in "+-":
            if seen_exp or i + 2 >= n or section[i + 2] not in "0#?":
                raise _BadFormat
            seen_exp = True
            out.append(("exp", section[i : i + 2]))
            i += 2
        elif ch in "Ee":
            raise _BadFormat
        elif ch == "%":
            out.append(("%", "%"))
            i += 1
        elif ch == "/":
            out.append(("/", "/"))
            i += 1
        else:
            out.append(("lit", ch))
            i += 1
    return out


_SPLIT_DIGITS_RE = re.compile(r"(?=,\d)|(?<!,)(?=\d)")


def _format_number(x: float, section: str) -> str:
    toks = _tokens(section)
    if any(k == "/" for k, _ in toks) and any(k == "d" for k, _ in toks):
        return _format_fraction(x, [("fmt", t) if k in ("d", "/") else ("lit", t) for k, t in toks])
    digits = [i for i, (k, _) in enumerate(toks) if k == "d"]
    if not digits:
        return "".join(t for k, t in toks if k in ("lit", "%")).replace("\x00", "")
    point = next((i for i, (k, _) in enumerate(toks) if k == "."), None)
    exp_at = next((i for i, (k, _) in enumerate(toks) if k == "exp"), None)
    end_mantissa = exp_at if exp_at is not None else len(toks)
    int_ph = [i for i in digits if i < end_mantissa and (point is None or i < point)]
    dec_ph = [i for i in digits if point is not None and point < i < end_mantissa]
    exp_ph = [i for i in digits if exp_at is not None and i > exp_at]
    int_end = point if point is not None else end_mantissa
    grouping = any(k == "," for k, _ in toks[:int_end])
    # commas right after the last integer placeholder scale the number by 1000 each
    scale = 0
    if int_ph:
        j = int_ph[-1] + 1
        while j < len(toks) and toks[j][0] == "skip":
            scale += 1
            j += 1
    percent = sum(1 for k, _ in toks if k == "%")
    x = x * (100.0**percent) / (1000.0**scale)
    exponent = 0
    if exp_at is not None and x != 0:
        n_int = max(1, len(int_ph))
        exponent = math.floor(math.log10(abs(x)))
        if n_int > 1:
            exponent = math.floor(exponent / n_int) * n_int
        mant = x / 10.0**exponent
        if _round_half_up(abs(mant), len(dec_ph)) >= 10.0 ** (max(1, n_int)):
            exponent += n_int
            mant = x / 10.0**exponent
        x = mant
    rounded = _round_half_up(abs(x), len(dec_ph))
    int_text, _, dec_text = f"{rounded:.{len(dec_ph)}f}".partition(".")
    int_text = int_text.lstrip("0")
    out = {i: "" for i in digits}
    # integer part: placeholder at position p (0 = rightmost) shows digit p; the
    # leftmost one shows every digit left over; grouping puts a comma after the
    # digits at positions 3, 6, 9... (zero padding included, as Excel does)
    n_int_ph = len(int_ph)
    lead = ""
    if not int_ph and int_text:
        lead = f"{int(int_text):,}" if grouping else int_text
    for p, i in enumerate(reversed(int_ph)):
        ch = toks[i][1]
        if p == n_int_ph - 1 and len(int_text) > p:
            shown = int_text[: len(int_text) - p]
        elif p < len(int_text):
            shown = int_text[len(int_text) - 1 - p]
        else:
            shown = "0" if ch == "0" else (" " if ch == "?" else "")
        if grouping and shown.strip():
            top = p + len(shown) - 1
            pieces = []
            for q, digit in zip(range(top, p - 1, -1), shown):
                pieces.append(digit + ("," if q % 3 == 0 and q > 0 else ""))
            shown = "".join(pieces)
        out[i] = shown
    # decimals: left to right, optional placeholders print only significant digits
    dec_digits = dec_text.rstrip("0")
    for n_, i in enumerate(dec_ph):
        ch = toks[i][1]
        if n_ < len(dec_digits):
            out[i] = dec_digits[n_]
        else:
            out[i] = "0" if ch == "0" else (" " if ch == "?" else "")
    # exponent digits: right to left
    if exp_at is not None:
        e_text = str(abs(exponent))
        e_digits = list(e_text)
        for n_, i in enumerate(reversed(exp_ph)):
            ch = toks[i][1]
            if n_ == len(exp_ph) - 1:
                out[i] = "".join(e_digits) or ("0" if ch == "0" else "")
                e_digits = []
            elif e_digits:
                out[i] = e_digits.pop()
            else:
                out[i] = "0" if ch == "0" else (" " if ch == "?" else "")
    parts: list[str] = []
    for i, (k, t) in enumerate(toks):
        if k == "lit":
            parts.append(t)
        elif k == "d":
            parts.append(out[i])
        elif k == ".":
            parts.append(lead + ".")
            lead = ""
        elif k == "%":
            parts.append("%")
        elif k == "exp":
            sign = "-" if exponent < 0 else ("+" if t[1] == "+" else "")
            parts.append("E" + sign)
    return "".join(parts).replace("\x00", "")


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
    y, mo, d = serial_to_ymd(days) if days < 2958466 else (9999, 12, 31)
    weekday = (days + 5) % 7  # serial 1 (1900-01-01) was a Sunday in Excel's calendar
    has_ampm = bool(re.search(r"am/pm|a/p", _strip_quotes(section), re.IGNORECASE))
    # decide rounding of seconds by the smallest unit shown
    frac_digits = 0
    m = re.search(r"s+\.(0+)", section, re.IGNORECASE)
    if m:
        frac_digits = len(m.group(1))
    secs_round = round(secs_total, frac_digits) if frac_digits else round(secs_total)
    if secs_round >= 86400:
        secs_round -= 86400
        days += 1
        y, mo, d = serial_to_ymd(days) if days < 2958466 else (9999, 12, 31)
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
                out.append(str(math.floor(x * 24 + 1e-9)).rjust(len(code), "0"))
                last_was_hour = True
            elif code.startswith("m"):
                out.append(str(math.floor(x * 1440 + 1e-9)).rjust(len(code), "0"))
            elif code.startswith("s"):
                out.append(str(round(x * 86400)).rjust(len(code), "0"))
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
            is_minute = (
                last_was_hour
                or rest.startswith("s")
                or re.match(r"^[^a-z]*s", low[i + run :]) is not None
            ) and run <= 2
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

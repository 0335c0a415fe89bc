"""Text functions (LEFT, MID, FIND, SUBSTITUTE, TEXT, VALUE, CONCAT, TEXTJOIN...)."""

from __future__ import annotations

import re
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import (
    ErrorResult,
    boolean,
    integer,
    is_range,
    num,
    opt_num,
    range_values,
    safe,
    text,
)
from eval_svc.engine.functions._registry import register
from eval_svc.engine.functions.criteria import wildcard_regex
from eval_svc.engine.runtime import VALUE, text_to_number, to_text


@register(("LEFT", "LEFTB"), "vv")
@safe
def left(s: Any, n: Any = None) -> Any:
    k = 1 if n is None else integer(n)
    if k < 0:
        return VALUE
    return text(s)[:k]


@register(("RIGHT", "RIGHTB"), "vv")
@safe
def right(s: Any, n: Any = None) -> Any:
    k = 1 if n is None else integer(n)
    if k < 0:
        return VALUE
    t = text(s)
    return t[len(t) - k :] if k else ""


@register(("MID", "MIDB"), "vvv")
@safe
def mid(s: Any, start: Any, n: Any) -> Any:
    a, k = integer(start), integer(n)
    if a < 1 or k < 0:
        return VALUE
    return text(s)[a - 1 : a - 1 + k]


@register(("LEN", "LENB"), "v")
@safe
def xlen(s: Any) -> Any:
    return float(len(text(s)))


@register("LOWER", "v")
@safe
def lower(s: Any) -> Any:
    return text(s).lower()


@register("UPPER", "v")
@safe
def upper(s: Any) -> Any:
    return text(s).upper()


@register("PROPER", "v")
@safe
def proper(s: Any) -> Any:
    out = []
    prev_letter = False
    for ch in text(s):
        if ch.isalpha():
            out.append(ch.lower() if prev_letter else ch.upper())
            prev_letter = True
        else:
            out.append(ch)
            prev_letter = False
    return "".join(out)


@register("TRIM", "v")
@safe
def trim(s: Any) -> Any:
    return " ".join(part for part in text(s).split(" ") if part)


@register("CLEAN", "v")
@safe
def clean(s: Any) -> Any:
    return "".join(ch for ch in text(s) if ord(ch) >= 32)


@register("SUBSTITUTE", "vvvv")
@safe
def substitute(s: Any, old: Any, new: Any, instance: Any = None) -> Any:
    t, o, n = text(s), text(old), text(new)
    if not o:
        return t
    if instance is None:
        return t.replace(o, n)
    k = integer(instance)
    if k < 1:
        return VALUE
    pos = -1
    for _ in range(k):
        pos = t.find(o, pos + 1)
        if pos < 0:
            return t
    return t[:pos] + n + t[pos + len(o) :]


@register(("REPLACE", "REPLACEB"), "vvvv")
@safe
def replace(s: Any, start: Any, n: Any, new: Any) -> Any:
    t = text(s)
    a, k = integer(start), integer(n)
    if a < 1 or k < 0:
        return VALUE
    return t[: a - 1] + text(new) + t[a - 1 + k :]


@register(("FIND", "FINDB"), "vvv")
@safe
def find(needle: Any, haystack: Any, start: Any = None) -> Any:
    n, h = text(needle), text(haystack)
    a = 1 if start is None else integer(start)
    if a < 1 or a > len(h) + 1:
        return VALUE
    pos = h.find(n, a - 1)
    return VALUE if pos < 0 else float(pos + 1)


@register(("SEARCH", "SEARCHB"), "vvv")
@safe
def search(needle: Any, haystack: Any, start: Any = None) -> Any:
    n, h = text(needle), text(haystack)
    a = 1 if start is None else integer(start)
    if a < 1 or a > len(h) + 1:
        return VALUE
    if any(ch in n for ch in "*?~"):
        rx = wildcard_regex(n)
        for i in range(a - 1, len(h) + 1):
            if rx.match(h, i):
                return float(i + 1)
        return VALUE
    pos = h.lower().find(n.lower(), a - 1)
    return VALUE if pos < 0 else float(pos + 1)


@register("EXACT", "vv")
@safe
def exact(a: Any, b: Any) -> Any:
    return text(a) == text(b)


@register("CONCATENATE", "", rest="v")
@safe
def concatenate(*args: Any) -> Any:
    return "".join(text(a) for a in args)


def _joined_values(args: Any) -> list[str]:
    out = []
    for a in args:
        if is_range(a):
            for v in range_values(a):
                if isinstance(v, XlError):
                    raise ErrorResult(v)
                out.append("" if v is None else text(v))
        else:
            out.append(text(a))
    return out


@register("CONCAT", "", rest="r")
@safe
def concat(*args: Any) -> Any:
    return "".join(_joined_values(args))


@register("TEXTJOIN", "vv", rest="r")
@safe
def textjoin(delimiter: Any, ignore_empty: Any, *args: Any) -> Any:
    d = text(delimiter)
    skip = boolean(ignore_empty)
    parts = _joined_values(args)
    if skip:
        parts = [p for p in parts if p != ""]
    out = d.join(parts)
    if len(out) > 32767:
        return VALUE
    return out


@register("REPT", "vv")
@safe
def rept(s: Any, n: Any) -> Any:
    k = integer(n)
    if k < 0:
        return VALUE
    out = text(s) * k
    if len(out) > 32767:
        return VALUE
    return out


_charset = ["cp1252"]


def use_mac_charset(flag: bool) -> None:
    """CHAR and CODE use Mac Roman in files saved by Mac Excel, Windows-1252 otherwise."""
    _charset[0] = "mac_roman" if flag else "cp1252"


@register("CHAR", "v")
@safe
def char(n: Any) -> Any:
    k = integer(n)
    if not 1 <= k <= 255:
        return VALUE
    if k < 128:
        return chr(k)
    return bytes([k]).decode(_charset[0], errors="replace")


@register("CODE", "v")
@safe
def code(s: Any) -> Any:
    t = text(s)
    if not t:
        return VALUE
    try:
        b = t[0].encode(_charset[0])
    except UnicodeEncodeError:
        return 63.0
    return float(b[0])


@register("UNICHAR", "v")
@safe
def unichar(n: Any) -> Any:
    k = integer(n)
    if not 1 <= k <= 0x10FFFF or 0xD800 <= k <= 0xDFFF:
        return VALUE
    return chr(k)


@register("UNICODE", "v")
@safe
def xunicode(s: Any) -> Any:
    t = text(s)
    if not t:
        return VALUE
    return float(ord(t[0]))


@register("VALUE", "v")
@safe
def value(s: Any) -> Any:
    if type(s) is str:
        return text_to_number(s)
    if type(s) is bool:
        return VALUE
    return num(s)


@register("NUMBERVALUE", "vvv", text_optional=(1, 2))
@safe
def numbervalue(s: Any, decimal_sep: Any = None, group_sep: Any = None) -> Any:
    t = "0" if s is None else text(s)
    g = "," if group_sep is None else text(group_sep)[:1]
    d = "." if decimal_sep is None else text(decimal_sep)[:1]
    if not g or not d:
        return VALUE
    if g == d and group_sep is not None and decimal_sep is not None:
        return VALUE
    ge, de = re.escape(g), re.escape(d)
    number = rf"\s*[\d{ge}]+(?:{de}[\s\d]*)?(?:\s*[eE]\s*[+-]\s*\d[\s\d]*)?[\s%]*"
    if {"(", ")"} & {g, d}:
        m = re.match(rf"^\s*[+-]?{number}$", t)
    else:
        m = re.match(rf"(?:^\s*[+-]?{number}$)|(?:^\s*\({number}\)[\s%]*$)", t)
    if not m:
        return VALUE
    table: dict[str, str | int | None] = {" ": "", "%": "", "(": "-", ")": "", g: "", d: "."}
    cleaned = t.translate(str.maketrans(table))
    try:
        return float(cleaned) * 0.01 ** t.count("%")
    except ValueError:
        return VALUE


@register("TEXT", "vv")
@safe
def xtext(value: Any, fmt: Any) -> Any:
    from eval_svc.engine.numfmt import format_value

    if isinstance(value, XlError):
        return value
    return format_value(value, text(fmt))


def _fixed_digits(x: float, decimals: int) -> str:
    """x rounded to ``decimals`` places, written with Excel's 15 significant digits."""
    from decimal import ROUND_HALF_UP, Context, Decimal

    d = Decimal(f"{x:.15g}")
    if decimals < 0 and abs(d) < Decimal(10) ** (-decimals) / 2:
        return "0"
    q = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=Context(prec=400))
    return f"{abs(q):f}" if decimals > 0 else f"{abs(q):.0f}"


@register("FIXED", "vvv")
@safe
def fixed(x: Any, decimals: Any = None, no_commas: Any = None) -> Any:
    n = num(x)
    d = 2 if decimals is None else integer(decimals)
    if d > 127:
        return VALUE
    commas = not (no_commas is not None and boolean(no_commas))
    digits = _fixed_digits(n, d)
    whole, _, frac = digits.partition(".")
    if commas:
        whole = f"{int(whole):,}"
    out = whole + ("." + frac if d > 0 else "")
    negative = n < 0 and any(ch not in "0.," for ch in out)
    return ("-" if negative else "") + out


@register("DOLLAR", "vv")
@safe
def dollar(x: Any, decimals: Any = None) -> Any:
    from eval_svc.engine.functions.math import _round_to

    n = num(x)
    d = 2 if decimals is None else integer(decimals)
    r = _round_to(n, d, "ROUND_HALF_UP")
    s = f"${abs(r):,.{max(d, 0)}f}"
    return f"({s})" if r < 0 else s


_ = (opt_num, to_text)


@register("VALUETOTEXT", "vv")
@safe
def valuetotext(value: Any, fmt: Any = None) -> Any:
    if isinstance(value, XlError):
        return value.code
    mode = 0 if fmt is None else int(num(fmt))
    if mode not in (0, 1):
        return VALUE
    strict = mode == 1
    if type(value) is str:
        return '"' + value.replace('"', '""') + '"' if strict else value
    return text(value)


_THAI_DIGITS = ["ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า"]
_THAI_PLACES = ["", "สิบ", "ร้อย", "พัน", "หมื่น", "แสน"]


def _thai_number(n: int) -> str:
    if n == 0:
        return ""
    if n >= 1_000_000:
        high, low = divmod(n, 1_000_000)
        return _thai_number(high) + "ล้าน" + _thai_number(low)
    digits = str(n)
    out = []
    size = len(digits)
    for i, ch in enumerate(digits):
        d = int(ch)
        place = size - 1 - i
        if d == 0:
            continue
        if place == 1 and d == 1:
            out.append("สิบ")
        elif place == 1 and d == 2:
            out.append("ยี่สิบ")
        elif place == 0 and d == 1 and size > 1:
            out.append("เอ็ด")
        else:
            out.append(_THAI_DIGITS[d] + _THAI_PLACES[place])
    return "".join(out)


@register("BAHTTEXT", "v")
@safe
def bahttext(value: Any) -> Any:
    from eval_svc.engine.functions.math import _round_to

    x = _round_to(num(value), 2, "ROUND_HALF_UP")
    negative = x < 0
    cents_total = round(abs(x) * 100)
    baht, satang = divmod(cents_total, 100)
    if baht == 0 and satang == 0:
        return "ศูนย์บาทถ้วน"
    out = "ลบ" if negative else ""
    if baht:
        out += _thai_number(baht) + "บาท"
    if satang:
        out += _thai_number(satang) + "สตางค์"
    else:
        out += "ถ้วน"
    return out

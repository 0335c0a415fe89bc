"""Text functions (LEFT, MID, FIND, SUBSTITUTE, TEXT, VALUE, CONCAT, TEXTJOIN...)."""

from __future__ import annotations

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
                if type(v) is XlError:
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


@register("CHAR", "v")
@safe
def char(n: Any) -> Any:
    k = integer(n)
    if not 1 <= k <= 255:
        return VALUE
    return bytes([k]).decode("cp1252", errors="replace") if k >= 128 else chr(k)


@register("CODE", "v")
@safe
def code(s: Any) -> Any:
    t = text(s)
    if not t:
        return VALUE
    ch = t[0]
    try:
        b = ch.encode("cp1252")
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


@register("NUMBERVALUE", "vvv")
@safe
def numbervalue(s: Any, decimal_sep: Any = None, group_sep: Any = None) -> Any:
    t = text(s)
    dsep = "." if decimal_sep is None else text(decimal_sep)[:1]
    gsep = "," if group_sep is None else text(group_sep)[:1]
    if not dsep or dsep == gsep:
        return VALUE
    t = "".join(t.split())
    if not t:
        return 0.0
    pct = 0
    while t.endswith("%"):
        pct += 1
        t = t[:-1]
    if t.count(dsep) > 1 or (gsep and dsep in t and gsep in t[t.index(dsep) :]):
        return VALUE
    if gsep:
        t = t.replace(gsep, "")
    t = t.replace(dsep, ".")
    try:
        x = float(t)
    except ValueError:
        return VALUE
    return x / (100.0**pct)


@register("TEXT", "vv")
@safe
def xtext(value: Any, fmt: Any) -> Any:
    from eval_svc.engine.numfmt import format_value

    if type(value) is XlError:
        return value
    return format_value(value, text(fmt))


@register("FIXED", "vvv")
@safe
def fixed(x: Any, decimals: Any = None, no_commas: Any = None) -> Any:
    from eval_svc.engine.functions.math import _round_to

    n = num(x)
    d = 2 if decimals is None else integer(decimals)
    if d > 127:
        return VALUE
    commas = not (no_commas is not None and boolean(no_commas))
    r = _round_to(n, d, "ROUND_HALF_UP")
    places = max(d, 0)
    s = f"{abs(r):,.{places}f}" if commas else f"{abs(r):.{places}f}"
    return ("-" if r < 0 else "") + s


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

"""Engineering functions: number bases, complex numbers, DELTA/GESTEP.

CONVERT, BESSEL*, ERF*, BIT* come from the `formulas` fallback. These are
Analysis ToolPak functions: they refuse ranges, arrays and logicals (kind
``s``), as Excel does.
"""

from __future__ import annotations

import cmath
import math
import re
from collections.abc import Callable
from typing import Any

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import ErrorResult, is_range, num, present_values, safe
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import NUM, VALUE, number_to_text, text_to_number, to_text


@register("DELTA", "ss")
@safe
def delta(a: Any, b: Any = None) -> Any:
    return 1.0 if num(a) == (0.0 if b is None else num(b)) else 0.0


@register("GESTEP", "ss")
@safe
def gestep(a: Any, step: Any = None) -> Any:
    return 1.0 if num(a) >= (0.0 if step is None else num(step)) else 0.0


# -- number bases ------------------------------------------------------------------------

_BITS = {2: 10, 8: 30, 16: 40}


def _places(places: Any) -> int | None:
    if places is None:
        return None
    if isinstance(places, XlError):
        raise ErrorResult(places)
    if type(places) is str:
        n = text_to_number(places)
        if isinstance(n, XlError):
            raise ErrorResult(VALUE)
        places = n
    k = math.trunc(num(places))
    if k < 1 or k > 10:
        raise ErrorResult(NUM)
    return k


def _digits(n: int, base: int) -> str:
    if base == 2:
        return format(n, "b")
    if base == 8:
        return format(n, "o")
    return format(n, "X")


def _from_decimal(n: int, base: int, places: int | None) -> str:
    bits = _BITS[base]
    limit = 1 << (bits - 1)
    if not -limit <= n < limit:
        raise ErrorResult(NUM)
    if n < 0:
        return _digits(n + (1 << bits), base).rjust(10, "0" if base != 16 else "F")
    s = _digits(n, base)
    if places is not None:
        if places < len(s):
            raise ErrorResult(NUM)
        s = s.rjust(places, "0")
    return s


def _decimal_arg(number: Any) -> int:
    if number is None:
        return 0
    if type(number) is str:
        n = text_to_number(number)
        if isinstance(n, XlError):
            raise ErrorResult(VALUE)
        return math.trunc(n)
    return math.trunc(num(number))


def _to_decimal(number: Any, base: int) -> int:
    if isinstance(number, XlError):
        raise ErrorResult(number)
    if number is None:
        text = "0"
    elif type(number) is float or type(number) is int:
        if number < 0 or not float(number).is_integer():
            raise ErrorResult(NUM)
        text = str(int(number))
    else:
        text = str(to_text(number)) if type(number) is not str else number
    text = text.strip()
    if text == "":
        return 0
    if len(text) > 10 or not text.isalnum():
        raise ErrorResult(NUM)
    try:
        value = int(text, base)
    except ValueError:
        raise ErrorResult(NUM) from None
    if len(text) == 10 and value >= base**10 // 2:
        value -= base**10
    return value


def _register_bases() -> None:
    names = {2: "BIN", 8: "OCT", 10: "DEC", 16: "HEX"}
    for src, src_name in names.items():
        for dst, dst_name in names.items():
            if src == dst:
                continue
            name = f"{src_name}2{dst_name}"
            if dst == 10:

                def to_dec(number: Any, _b: int = src) -> Any:
                    return float(_to_decimal(number, _b))

                register(name, "s")(safe(to_dec))
            elif src == 10:

                def from_dec(number: Any, places: Any = None, _b: int = dst) -> Any:
                    p = _places(places)
                    return _from_decimal(_decimal_arg(number), _b, p)

                register(name, "ss")(safe(from_dec))
            else:

                def convert(number: Any, places: Any = None, _s: int = src, _d: int = dst) -> Any:
                    p = _places(places)
                    return _from_decimal(_to_decimal(number, _s), _d, p)

                register(name, "ss")(safe(convert))


_register_bases()


# -- complex numbers -------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _parse_complex(x: Any) -> tuple[complex, str]:
    """An IM* argument as (value, suffix); plain numbers are real."""
    if type(x) is float or type(x) is int:
        return complex(float(x), 0.0), ""
    if x is None:
        return 0j, ""
    if type(x) is bool:
        raise ErrorResult(VALUE)
    if isinstance(x, XlError):
        raise ErrorResult(x)
    s = str(x).strip()
    if s == "":
        return 0j, ""
    if s[-1] not in "ij":
        if not _NUMBER_RE.fullmatch(s):
            raise ErrorResult(NUM)
        return complex(float(s), 0.0), ""
    suffix, body = s[-1], s[:-1]
    split = -1
    for k in range(len(body) - 1, 0, -1):
        if body[k] in "+-" and body[k - 1] not in "eE":
            split = k
            break
    real_text, imag_text = (body[:split], body[split:]) if split > 0 else ("", body)
    if imag_text in ("", "+"):
        imag = 1.0
    elif imag_text == "-":
        imag = -1.0
    elif _NUMBER_RE.fullmatch(imag_text):
        imag = float(imag_text)
    else:
        raise ErrorResult(NUM)
    if real_text and not _NUMBER_RE.fullmatch(real_text):
        raise ErrorResult(NUM)
    return complex(float(real_text) if real_text else 0.0, imag), suffix


def _format_complex(z: complex, suffix: str) -> str:
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise ErrorResult(NUM)
    suffix = suffix or "i"
    re_part, im_part = z.real, z.imag
    if abs(re_part) < 1e-300:
        re_part = 0.0
    if abs(im_part) < 1e-300:
        im_part = 0.0
    if im_part == 0:
        return number_to_text(re_part)
    if im_part == 1:
        im_text = suffix
    elif im_part == -1:
        im_text = "-" + suffix
    else:
        im_text = number_to_text(im_part) + suffix
    if re_part == 0:
        return im_text
    if not im_text.startswith("-"):
        im_text = "+" + im_text
    return number_to_text(re_part) + im_text


def _suffix(*suffixes: str, error: XlError = VALUE) -> str:
    used = {s for s in suffixes if s}
    if len(used) > 1:
        raise ErrorResult(error)  # "i" and "j" mixed
    return used.pop() if used else "i"


@register("COMPLEX", "sss")
@safe
def xcomplex(real: Any, imag: Any, suffix: Any = None) -> Any:
    s = "i" if suffix is None or suffix == "" else str(suffix)
    if s not in ("i", "j"):
        return VALUE
    return _format_complex(complex(num(real), num(imag)), s)


def _unary_complex(name: str, fn: Callable[[complex], complex]) -> None:
    @register(name, "s")
    @safe
    def impl(x: Any) -> Any:
        z, s = _parse_complex(x)
        try:
            r = fn(z)
        except (ZeroDivisionError, ValueError, OverflowError):
            return NUM
        return _format_complex(r, _suffix(s))

    impl.__name__ = name.lower()


def _ln(z: complex) -> complex:
    if z == 0:
        raise ValueError
    return cmath.log(z)


_unary_complex("IMCONJUGATE", lambda z: z.conjugate())
_unary_complex("IMCOS", cmath.cos)
_unary_complex("IMCOSH", cmath.cosh)
_unary_complex("IMCOT", lambda z: 1 / cmath.tan(z))
_unary_complex("IMCSC", lambda z: 1 / cmath.sin(z))
_unary_complex("IMCSCH", lambda z: 1 / cmath.sinh(z))
_unary_complex("IMSEC", lambda z: 1 / cmath.cos(z))
_unary_complex("IMSECH", lambda z: 1 / cmath.cosh(z))
_unary_complex("IMSIN", cmath.sin)
_unary_complex("IMSINH", cmath.sinh)
_unary_complex("IMTAN", cmath.tan)
_unary_complex("IMEXP", cmath.exp)
_unary_complex("IMLN", _ln)
_unary_complex("IMLOG10", lambda z: _ln(z) / math.log(10))
_unary_complex("IMLOG2", lambda z: _ln(z) / math.log(2))
_unary_complex("IMSQRT", cmath.sqrt)


@register("IMABS", "s")
@safe
def imabs(x: Any) -> Any:
    return abs(_parse_complex(x)[0])


@register("IMREAL", "s")
@safe
def imreal(x: Any) -> Any:
    return _parse_complex(x)[0].real


@register("IMAGINARY", "s")
@safe
def imaginary(x: Any) -> Any:
    return _parse_complex(x)[0].imag


@register("IMARGUMENT", "s")
@safe
def imargument(x: Any) -> Any:
    z = _parse_complex(x)[0]
    if z == 0:
        return XlError.DIV0
    return math.atan2(z.imag, z.real)


@register("IMPOWER", "ss")
@safe
def impower(x: Any, n: Any) -> Any:
    z, s = _parse_complex(x)
    p = num(n)
    if z == 0:
        return NUM if p <= 0 else "0"
    r = abs(z) ** p
    theta = math.atan2(z.imag, z.real) * p
    return _format_complex(complex(r * math.cos(theta), r * math.sin(theta)), _suffix(s))


@register("IMDIV", "ss")
@safe
def imdiv(a: Any, b: Any) -> Any:
    z1, s1 = _parse_complex(a)
    z2, s2 = _parse_complex(b)
    if z2 == 0:
        return NUM
    return _format_complex(z1 / z2, _suffix(s1, s2, error=NUM))


@register("IMSUB", "ss")
@safe
def imsub(a: Any, b: Any) -> Any:
    z1, s1 = _parse_complex(a)
    z2, s2 = _parse_complex(b)
    return _format_complex(z1 - z2, _suffix(s1, s2, error=NUM))


def _complex_args(args: tuple[Any, ...]) -> tuple[list[complex], str]:
    values: list[complex] = []
    suffixes: list[str] = []
    for a in args:
        items = list(present_values(a)) if is_range(a) else [0.0 if a is None else a]
        for v in items:
            z, s = _parse_complex(v)
            values.append(z)
            suffixes.append(s)
    return values, _suffix(*suffixes)


@register("IMSUM", "", rest="r")
@safe
def imsum(*args: Any) -> Any:
    values, s = _complex_args(args)
    return _format_complex(sum(values, 0j), s)


@register("IMPRODUCT", "", rest="r")
@safe
def improduct(*args: Any) -> Any:
    values, s = _complex_args(args)
    p = 1 + 0j
    for z in values:
        p *= z
    return _format_complex(p, s)


@register("DECIMAL", "vv")
@safe
def decimal(text_value: Any, radix: Any) -> Any:
    from eval_svc.engine.functions._helpers import text

    base = math.trunc(num(radix))
    digits = text(text_value).strip()
    if not 2 <= base <= 36 or len(digits) > 255:
        return NUM
    if not digits:
        return 0.0
    try:
        return float(int(digits, base))
    except ValueError:
        return NUM

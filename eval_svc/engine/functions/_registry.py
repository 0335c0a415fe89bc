"""The function registry: every Excel function the engine computes natively.

Family modules register their functions with :func:`register`; the compiler
looks them up by upper-case name without ``_xlfn.`` prefixes. Each parameter
has a kind that tells the compiler how to pass the argument:

- ``v``: a scalar. In a legacy formula a range is implicitly intersected with
  the formula's cell; in an array formula arrays given here make the function
  apply elementwise.
- ``r``: a reference stays a :class:`~eval_svc.engine.runtime.Ref` (SUM sees
  which values came from cells); any other expression is evaluated as usual.
- ``a``: an array: references stay Refs, any other expression is evaluated
  elementwise as in an array formula (SUMPRODUCT, MATCH's lookup array).
- ``l``: a LAMBDA value (MAP, REDUCE...).
- ``s``: a strict scalar, as the Analysis ToolPak functions (EDATE, YEARFRAC,
  DEC2BIN...) take it: a multi-cell range, an array or a logical is #VALUE!.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["FUNCTIONS", "FunctionSpec", "register"]

MAX_ARGS: Final = 255


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    impl: Callable[..., Any]
    kinds: str
    rest: str
    min_args: int
    max_args: int
    volatile: bool
    context: bool
    returns: str  # "v": always a scalar; "x": may be an array or a reference
    dynamic: bool  # builds references at run time (OFFSET, INDIRECT)
    text_optional: tuple[int, ...] = ()  # optional parameters where an empty cell means ""
    keep_empty: tuple[int, ...] = ()  # optional parameters where an empty argument means omitted

    def kind(self, i: int) -> str:
        if i < len(self.kinds):
            return self.kinds[i]
        if self.rest:
            return self.rest[(i - len(self.kinds)) % len(self.rest)]
        return "v"


FUNCTIONS: dict[str, FunctionSpec] = {}


def register(
    names: str | tuple[str, ...],
    kinds: str = "",
    *,
    rest: str = "",
    volatile: bool = False,
    context: bool = False,
    returns: str = "v",
    dynamic: bool = False,
    text_optional: tuple[int, ...] = (),
    keep_empty: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` under one or more Excel names.

    Argument counts come from the Python signature (after ``ctx, key`` for
    context functions, which get the calculation context and the formula
    cell's key first). An optional parameter given an empty cell receives 0
    (Excel's reading of it), not the default the Python signature gives an
    omitted one, except for ``text_optional`` parameters.
    """

    def deco(impl: Callable[..., Any]) -> Callable[..., Any]:
        # The Python signature, read from the code object (inspect is slow to import and call).
        inner = impl
        while hasattr(inner, "__wrapped__"):
            inner = inner.__wrapped__
        code = inner.__code__
        positional = code.co_argcount - (2 if context else 0)
        defaults = len(inner.__defaults__ or ())
        variadic = bool(code.co_flags & 0x04)  # CO_VARARGS
        target = _strict(impl, kinds, rest, context) if "s" in kinds + rest else impl
        min_args = positional - defaults
        max_args = MAX_ARGS if variadic else positional
        for name in (names,) if isinstance(names, str) else names:
            FUNCTIONS[name] = FunctionSpec(
                name,
                target,
                kinds,
                rest,
                min_args,
                max_args,
                volatile,
                context,
                returns,
                dynamic,
                text_optional,
                keep_empty,
            )
        return impl

    return deco


def _strict(impl: Callable[..., Any], kinds: str, rest: str, context: bool) -> Callable[..., Any]:
    """Wrap ``impl`` so that its ``s`` arguments are single values, else #VALUE!."""
    from calcwire.values import XlError
    from eval_svc.engine.runtime import Array, MultiRef, Ref

    value_error = XlError.VALUE
    lead = 2 if context else 0

    def kind(i: int) -> str:
        if i < len(kinds):
            return kinds[i]
        return rest[(i - len(kinds)) % len(rest)] if rest else "v"

    def wrapper(*args: Any) -> Any:
        converted = list(args)
        for i in range(lead, len(args)):
            if kind(i - lead) != "s":
                continue
            a = args[i]
            t = type(a)
            if t is Ref:
                if not a.is_cell:
                    return value_error
                a = a.first()
                t = type(a)
            if t is Array or t is MultiRef or t is bool:
                return value_error
            converted[i] = a
        return impl(*converted)

    wrapper.__name__ = getattr(impl, "__name__", "strict")
    wrapper.__wrapped__ = impl  # type: ignore[attr-defined]
    return wrapper

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
"""

from __future__ import annotations

import inspect
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
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` under one or more Excel names.

    Argument counts come from the Python signature (after ``ctx, key`` for
    context functions, which get the calculation context and the formula
    cell's key first).
    """

    def deco(impl: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(impl).parameters.values())
        if context:
            params = params[2:]
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        min_args = sum(1 for p in positional if p.default is p.empty)
        max_args = MAX_ARGS if variadic else len(positional)
        for name in (names,) if isinstance(names, str) else names:
            FUNCTIONS[name] = FunctionSpec(
                name,
                impl,
                kinds,
                rest,
                min_args,
                max_args,
                volatile,
                context,
                returns,
                dynamic,
            )
        return impl

    return deco

"""Engineering functions implemented natively (the rest come from the `formulas` fallback)."""

from __future__ import annotations

from typing import Any

from eval_svc.engine.functions._helpers import num, safe
from eval_svc.engine.functions._registry import register


@register("DELTA", "vv")
@safe
def delta(a: Any, b: Any = None) -> Any:
    return 1.0 if num(a) == (0.0 if b is None else num(b)) else 0.0


@register("GESTEP", "vv")
@safe
def gestep(a: Any, step: Any = None) -> Any:
    return 1.0 if num(a) >= (0.0 if step is None else num(step)) else 0.0

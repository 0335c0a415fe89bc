"""Dynamic-array functions (SEQUENCE, FILTER, SORT, UNIQUE, TAKE...) and LAMBDA helpers (MAP...)."""

from __future__ import annotations

from typing import Any

from eval_svc.engine.functions._helpers import grid, integer, opt_num, safe
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import VALUE, Array


@register("SEQUENCE", "vvvv", returns="x")
@safe
def sequence(rows: Any, cols: Any = None, start: Any = None, step: Any = None) -> Any:
    nr = integer(rows)
    nc = 1 if cols is None else integer(cols)
    s = opt_num(start, 1.0)
    d = opt_num(step, 1.0)
    if nr < 1 or nc < 1:
        return VALUE
    return Array([[s + (i * nc + j) * d for j in range(nc)] for i in range(nr)])


_ = grid

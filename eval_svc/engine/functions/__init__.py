"""The engine's function library, by family; see _registry for how functions declare themselves.

Families: math, stat, logical, lookup, text, datetime, financial, info,
engineering and arrays (dynamic-array and LAMBDA helpers). Functions not
implemented here fall back to the `formulas` package (functions.fallback).
"""

from eval_svc.engine.functions import (  # noqa: F401 - imported to register their functions
    arrays,
    datetime,
    engineering,
    financial,
    info,
    logical,
    lookup,
    math,
    stat,
    text,
)
from eval_svc.engine.functions._registry import FUNCTIONS, FunctionSpec, register

__all__ = ["FUNCTIONS", "FunctionSpec", "register"]

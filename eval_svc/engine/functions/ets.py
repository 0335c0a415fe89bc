"""The FORECAST.ETS family: Excel's checks of the arguments, not the smoothing itself.

Excel forecasts with AAA exponential triple smoothing whose parameters (alpha,
beta, gamma) it fits with an optimiser of its own, and detects seasonality with
its own rules; neither is documented, and a different fit gives a different
forecast well beyond the comparison's tolerance. So the engine does what Excel
does deterministically (errors in the arguments, the range checks, the timeline's
step for FORECAST.ETS.STAT type 8) and declares any value that needs the fit
not computable, rather than computing one Excel would not.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

from calcwire.values import XlError
from eval_svc.engine.functions._helpers import ErrorResult, integer, num, range_values, safe
from eval_svc.engine.functions._registry import register
from eval_svc.engine.runtime import NA, NUM, NotComputable

__all__ = ["forecast_ets", "forecast_ets_confint", "forecast_ets_seasonality", "forecast_ets_stat"]

_NOT_REPRODUCED: Final = (
    "FORECAST.ETS: Excel's exponential smoothing fit (AAA, its own optimiser) is not reproduced"
)


def _scalar_errors(*args: Any) -> None:
    """The first error among the scalar arguments, before anything else is looked at."""
    for a in args:
        if type(a) is XlError:
            raise ErrorResult(a)


def _option(x: Any, default: int, allowed: range) -> int:
    if x is None:
        return default
    if type(x) is str:
        raise ErrorResult(NUM)  # text, even a date, is not an option
    n = integer(x)
    if n not in allowed:
        raise ErrorResult(NUM)
    return n


def _timeline(values: Any, timeline: Any) -> tuple[float, float]:
    """The first time and the step of the timeline; Excel's #N/A and #NUM! checks."""
    ys = list(range_values(values))
    xs = list(range_values(timeline))
    if len(ys) != len(xs):
        raise ErrorResult(NA)
    for v in (*ys, *xs):
        if type(v) is XlError:
            raise ErrorResult(v)
    times = sorted({float(x) for x in xs if type(x) is float or type(x) is int})
    if len(times) < 2:
        raise ErrorResult(NUM)
    diffs = [b - a for a, b in itertools.pairwise(times)]
    step = min(diffs)
    if step <= 0 or any(abs(d / step - round(d / step)) > 1e-6 for d in diffs):
        raise ErrorResult(NUM)  # no consistent step
    slots = round((times[-1] - times[0]) / step) + 1
    if (slots - len(times)) > 0.3 * slots:
        raise ErrorResult(NUM)  # Excel fills at most 30% of the points in
    return times[0], step


def _seasonality(x: Any) -> int:
    if x is None:
        return 1
    n = integer(x)
    if not 0 <= n <= 8760:
        raise ErrorResult(NUM)
    return n


@register("FORECAST.ETS", "vaavvv", keep_empty=(3, 4, 5))
@safe
def forecast_ets(
    target: Any,
    values: Any,
    timeline: Any,
    seasonality: Any = None,
    data_completion: Any = None,
    aggregation: Any = None,
) -> Any:
    _scalar_errors(target, seasonality, data_completion, aggregation)
    at = num(target)
    _seasonality(seasonality)
    _option(data_completion, 1, range(2))
    _option(aggregation, 1, range(1, 8))
    first, step = _timeline(values, timeline)
    if at <= first - step:
        return NUM  # before the timeline
    raise NotComputable(_NOT_REPRODUCED)


@register("FORECAST.ETS.CONFINT", "vaavvvv", keep_empty=(3, 4, 5, 6))
@safe
def forecast_ets_confint(
    target: Any,
    values: Any,
    timeline: Any,
    confidence_level: Any = None,
    seasonality: Any = None,
    data_completion: Any = None,
    aggregation: Any = None,
) -> Any:
    _scalar_errors(target, confidence_level, seasonality, data_completion, aggregation)
    at = num(target)
    level = 0.95 if confidence_level is None else num(confidence_level)
    if type(confidence_level) is str or not 0 < level < 1:
        return NUM
    _seasonality(seasonality)
    _option(data_completion, 1, range(2))
    _option(aggregation, 1, range(1, 8))
    first, step = _timeline(values, timeline)
    if at <= first - step:
        return NUM
    raise NotComputable(_NOT_REPRODUCED)


@register("FORECAST.ETS.SEASONALITY", "aavv", keep_empty=(2, 3))
@safe
def forecast_ets_seasonality(
    values: Any, timeline: Any, data_completion: Any = None, aggregation: Any = None
) -> Any:
    _scalar_errors(data_completion, aggregation)
    _option(data_completion, 1, range(2))
    _option(aggregation, 1, range(1, 8))
    _timeline(values, timeline)
    raise NotComputable(_NOT_REPRODUCED)


@register("FORECAST.ETS.STAT", "aavvvv", keep_empty=(3, 4, 5))
@safe
def forecast_ets_stat(
    values: Any,
    timeline: Any,
    statistic_type: Any,
    seasonality: Any = None,
    data_completion: Any = None,
    aggregation: Any = None,
) -> Any:
    _scalar_errors(statistic_type, seasonality, data_completion, aggregation)
    kind = _option(0 if statistic_type is None else statistic_type, 0, range(1, 9))
    _seasonality(seasonality)
    _option(data_completion, 1, range(2))
    _option(aggregation, 1, range(1, 8))
    _, step = _timeline(values, timeline)
    if kind == 8:
        return step  # the step of the timeline: no fit needed
    raise NotComputable(_NOT_REPRODUCED)

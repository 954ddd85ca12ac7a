"""Armijo backtracking line search, shared by :class:`~autodiff.optim.NewtonCG` and
``hybriddiff.minimize``.

Plain NumPy/Python on a one-dimensional restriction ``phi(t) = f(x + t d)`` of the objective:
no Tensor, no tape, so any caller (eager optimizers, compiled kernels) can use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["LineSearchResult", "armijo_backtracking"]


class LineSearchResult(NamedTuple):
    """Outcome of :func:`armijo_backtracking`.

    ``step`` is the accepted step length, or None when no trial satisfied the condition;
    ``value`` is ``phi(step)`` (the last trial's value on failure); ``evaluations`` counts the
    calls of ``phi``.
    """

    step: float | None
    value: float
    evaluations: int


def armijo_backtracking(
    phi: Callable[[float], float],
    f0: float,
    slope: float,
    step: float = 1.0,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_trials: int = 30,
    curvature: float = 0.0,
) -> LineSearchResult:
    """Backtrack from ``step`` until ``phi(t) <= f0 + c1 * (t * slope + t**2 * curvature / 2)``.

    With ``curvature = 0`` (the default) this is Armijo's sufficient-decrease condition. A
    negative ``curvature`` (``d . H d`` along a direction of negative curvature) asks for the
    decrease that the quadratic model predicts, as in Moré and Sorensen's curvilinear search:
    at a saddle point ``slope`` is zero and the condition then still demands real progress.

    Parameters
    ----------
    phi : callable
        ``phi(t)``: the objective at ``x + t d`` (a float; non-finite values are rejected).
    f0 : float
        ``phi(0)``, the objective at the current point.
    slope : float
        The directional derivative ``g . d`` at ``t = 0``; must be <= 0 (a descent direction,
        or zero at a stationary point).
    step, c1, shrink, max_trials :
        First trial length, Armijo constant in (0, 1), factor in (0, 1) applied after each
        rejected trial, and the most trials.
    curvature : float
        ``<= 0``: the second-order term of the predicted decrease (see above).

    Returns
    -------
    LineSearchResult
        ``step`` is None when ``max_trials`` trials all failed.

    Examples
    --------
    >>> res = armijo_backtracking(lambda t: (1.0 - 4.0 * t) ** 2, f0=1.0, slope=-8.0)
    >>> res.step, res.value, res.evaluations
    (0.25, 0.0, 3)
    """
    if not (math.isfinite(f0) and math.isfinite(slope) and math.isfinite(curvature)):
        raise ValueError(
            f"armijo_backtracking: f0={f0!r}, slope={slope!r} and curvature={curvature!r} "
            "must be finite"
        )
    if slope > 0:
        raise ValueError(
            f"armijo_backtracking: slope={slope!r} > 0, the direction is not a descent direction"
        )
    if curvature > 0:
        raise ValueError(f"armijo_backtracking: curvature={curvature!r} must be <= 0")
    if not (0 < c1 < 1 and 0 < shrink < 1 and step > 0 and max_trials >= 1):
        raise ValueError(
            "armijo_backtracking: needs 0 < c1 < 1, 0 < shrink < 1, step > 0 and max_trials >= 1 "
            f"(got c1={c1!r}, shrink={shrink!r}, step={step!r}, max_trials={max_trials!r})"
        )
    t, value = float(step), math.nan
    for trial in range(1, max_trials + 1):
        value = float(phi(t))
        if math.isfinite(value) and value <= f0 + c1 * (t * slope + 0.5 * t * t * curvature):
            return LineSearchResult(t, value, trial)
        t *= shrink
    return LineSearchResult(None, value, max_trials)

"""autodiff.optim.line_search: the one Armijo backtracking, shared by NewtonCG and minimize."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff as ad
from autodiff import optim
from autodiff.optim import line_search, newton_cg


def test_armijo_returns_the_first_step_with_sufficient_decrease():
    # phi(t) = (1 - 4t)^2: t = 1 -> 9, t = 0.5 -> 1 (> 1 - 1e-4 * 0.5 * 8), t = 0.25 -> 0.
    seen = []
    phi = lambda t: seen.append(t) or (1.0 - 4.0 * t) ** 2
    res = optim.armijo_backtracking(phi, 1.0, -8.0)
    assert res == (0.25, 0.0, 3) and seen == [1.0, 0.5, 0.25]


def test_armijo_checks_the_condition_exactly_at_its_boundary():
    c1, slope = 0.5, -1.0
    phi = lambda t: 1.0 + c1 * t * slope  # exactly on the Armijo line: accepted
    assert optim.armijo_backtracking(phi, 1.0, slope, c1=c1).step == 1.0
    above = lambda t: 1.0 + c1 * t * slope + 1e-12  # just above: never accepted
    res = optim.armijo_backtracking(above, 1.0, slope, c1=c1, max_trials=5)
    assert res.step is None and res.evaluations == 5


def test_armijo_rejects_non_finite_trials_and_keeps_backtracking():
    phi = lambda t: math.inf if t > 0.3 else (math.nan if t > 0.2 else -t)
    res = optim.armijo_backtracking(phi, 0.0, -1.0)
    assert res.step == 0.125 and res.evaluations == 4


def test_armijo_curvature_term_demands_the_models_decrease():
    # At a saddle the slope is 0: plain Armijo accepts no decrease at all, the curvature term
    # asks for c1 * t^2 * curvature / 2.
    phi = lambda t: -(t**2) + t**4
    assert optim.armijo_backtracking(phi, 0.0, 0.0).step == 1.0  # phi(1) = 0 <= 0
    res = optim.armijo_backtracking(phi, 0.0, 0.0, curvature=-2.0)
    assert res.step == 0.5 and res.value == pytest.approx(-0.1875)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"f0": math.nan, "slope": -1.0}, "must be finite"),
        ({"f0": 0.0, "slope": 1.0}, "not a descent direction"),
        ({"f0": 0.0, "slope": -1.0, "c1": 1.0}, "0 < c1 < 1"),
        ({"f0": 0.0, "slope": -1.0, "shrink": 0.0}, "0 < shrink < 1"),
        ({"f0": 0.0, "slope": -1.0, "step": 0.0}, "step > 0"),
        ({"f0": 0.0, "slope": -1.0, "max_trials": 0}, "max_trials >= 1"),
        ({"f0": 0.0, "slope": -1.0, "curvature": 1.0}, "curvature=1.0 must be <= 0"),
    ],
)
def test_armijo_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.armijo_backtracking(lambda t: 0.0, **kwargs)


def test_newton_cg_and_minimize_share_the_one_line_search(monkeypatch):
    from hybriddiff import optimize

    assert optimize.armijo_backtracking is line_search.armijo_backtracking
    assert newton_cg.armijo_backtracking is line_search.armijo_backtracking
    calls = []
    original = line_search.armijo_backtracking

    def spy(*args, **kwargs):
        calls.append(kwargs.get("step"))
        return original(*args, **kwargs)

    monkeypatch.setattr(newton_cg, "armijo_backtracking", spy)
    w = ad.tensor([3.0, -1.0], requires_grad=True)
    opt = optim.NewtonCG([w], lr=0.5)
    opt.step(lambda: ((w - 1.0) ** 4).sum())
    assert calls == [0.5]
    assert np.all(np.abs(w.data - 1.0) < [2.0, 2.0])  # it moved towards the minimum

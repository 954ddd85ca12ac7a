"""``minimize(method="auto")`` solves the Moré-Garbow-Hillstrom set at the standard starts.

The problems are the benchmark's own definitions (``benchmarks/solvers/problems.py``, written
from the paper); the known minimum values come from the paper (local minima it lists
included). Eager Hessians keep this fast (no kernel compiles); the compiled path runs the
same solver code and is checked in ``test_solvers_features.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
from hybriddiff import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from benchmarks.solvers.problems import MGH  # noqa: E402

NEEDS_ARCTAN = {"helical_valley"}  # its angle theta(x1, x2) needs an arctan op


def _available(name: str) -> bool:
    return name not in NEEDS_ARCTAN or hasattr(ad, "arctan")


def _central_gradient(f, x, h=1e-6):
    """Central differences in extended precision: an oracle independent of autodiff."""
    x = np.asarray(x, dtype=np.longdouble)
    out = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h * max(1.0, abs(float(x[i])))
        out[i] = float((f(x + e) - f(x - e)) / (2 * e[i]))
    return out


@pytest.mark.parametrize("name", sorted(MGH))
def test_auto_solves_the_mgh_problem(name):
    if not _available(name):
        pytest.skip("autodiff has no arctan op yet (needed by the helical valley's angle)")
    problem = MGH[name]
    res = minimize(problem.objective(), problem.x0, hessian="eager", method="auto", maxiter=400)
    assert res.success, f"{name}: {res.message}"
    assert res.status == 0
    assert problem.reached(res.fun, rtol=1e-5, atol=1e-10), (name, res.fun, problem.fstar)
    # first-order optimality checked against finite differences of the NumPy formula
    fd = _central_gradient(lambda x: problem.f(x, np), res.x)
    scale = max(1.0, abs(res.fun))
    assert np.max(np.abs(fd)) <= 1e-5 * scale, (name, fd)


@pytest.mark.parametrize("name", ["box_3d", "chebyquad", "trigonometric", "brown_dennis"])
def test_newton_no_longer_stalls(name):
    """Issue 16: Newton stalled on Box 3D and reported a false failure on Chebyquad (n = 8)
    at f = f*; the curvilinear negative-curvature step and the rounding-level test fix it."""
    problem = MGH[name]
    res = minimize(problem.objective(), problem.x0, hessian="eager", method="newton")
    assert res.success, f"{name}: {res.message}"
    assert problem.reached(res.fun, rtol=1e-5, atol=1e-10)
    assert res.nit < 60


def test_problem_definitions_agree_between_autodiff_and_numpy():
    for name, problem in MGH.items():
        if not _available(name):
            continue
        eager = float(problem.f(ad.tensor(problem.x0), ad).data)
        plain = float(problem.f(problem.x0, np))
        assert eager == pytest.approx(plain, rel=1e-13), name


def test_the_known_minima_are_minima():
    """The fstar values of the table: f at the paper's minimisers (where the paper gives one)."""
    assert MGH["beale"].f(np.array([3.0, 0.5]), np) == 0.0
    assert MGH["wood"].f(np.ones(4), np) == 0.0
    assert MGH["box_3d"].f(np.array([1.0, 10.0, 1.0]), np) == pytest.approx(0.0, abs=1e-30)
    assert MGH["gulf"].f(np.array([50.0, 25.0, 1.5]), np) == pytest.approx(0.0, abs=1e-20)
    assert MGH["biggs_exp6"].f(np.array([1.0, 10, 1, 5, 4, 3]), np) == pytest.approx(0, abs=1e-25)

"""Issue 16: the solver pieces of ``hybriddiff.minimize`` checked against independent oracles.

Summation accuracy of compiled value kernels (mpmath), the sparse factorisations (dense
eigenvalues), the Moré-Sorensen subproblem (an eigendecomposition-based secular-equation
solve), bounds (SciPy's L-BFGS-B), the result object, the in-process problem cache, and honest
reporting when the tolerance cannot be reached.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.sparse as sps
from scipy.optimize import Bounds, OptimizeResult
from scipy.optimize import minimize as scipy_minimize

import autodiff as ad
import bridge
import symdiff
from hybriddiff import minimize, optimize
from hybriddiff.solvers.linalg import (
    NotPositiveDefinite,
    banded_preconditioner,
    factor_spd,
    modified_cholesky,
    more_sorensen,
    steihaug_pcg,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from benchmarks.solvers.problems import MGH, scalable  # noqa: E402


# --- compiled value kernels sum accurately (ARWHEAD, n = 1000) ----------------------------
@pytest.fixture(scope="module")
def arwhead():
    problem = scalable("arwhead", 1000)
    kernels = bridge.compile(problem.objective(), problem.x0, mode="scalar")
    return problem, kernels


def _arwhead_exact(x) -> float:
    mpmath.mp.dps = 60
    xs = [mpmath.mpf(float(v)) for v in x]
    last = xs[-1] ** 2
    return float(mpmath.fsum(-4 * v + 3 + (v * v + last) ** 2 for v in xs[:-1]))


def test_arwhead_value_kernel_is_accurate_near_the_optimum(arwhead):
    problem, kernels = arwhead
    rng = np.random.default_rng(16)
    for scale in (1e-8, 1e-6, 1e-3):
        x = np.ones(problem.n)
        x[-1] = 0.0
        x += rng.normal(scale=scale, size=problem.n)
        value = float(kernels.value(x))
        exact = _arwhead_exact(x)
        assert abs(value - exact) <= 1e-13 * max(1.0, abs(exact)), (scale, value, exact)
        # the summation itself is exact to rounding: equal to the exactly rounded sum of the
        # float64 terms the kernel computes (constant included)
        terms = [-4.0 * v for v in x[:-1]] + [(v * v + x[-1] ** 2) ** 2 for v in x[:-1]]
        assert value == pytest.approx(math.fsum(terms + [2997.0]), rel=0, abs=1e-15)
    x = np.ones(problem.n)
    x[-1] = 0.0
    assert float(kernels.value(x)) == 0.0  # the minimum, exactly


def test_arwhead_newton_converges_honestly_with_a_ready_kernel(arwhead):
    problem, kernels = arwhead
    res = minimize(kernels, problem.x0, method="newton")
    assert res.success, res.message
    assert res.nit < 20 and res.nfev < 100
    assert res.fun >= 0.0 and res.fun <= 1e-20  # ARWHEAD is >= 0
    assert res.method == "newton"
    assert sps.issparse(res.hess) and res.hess.shape == (1000, 1000)


# --- the result object ----------------------------------------------------------------------
def test_result_has_scipys_fields_and_setup_time():
    rosen = MGH["extended_rosenbrock"]
    res = minimize(rosen.objective(), rosen.x0, method="trust-region")
    assert isinstance(res, OptimizeResult)
    for key in ("x", "fun", "jac", "hess", "nit", "nfev", "njev", "nhev", "success", "status",
                "message", "setup_time", "solve_time", "method"):  # fmt: skip
        assert key in res, key
    assert res.success and res.status == 0
    assert res.method == "trust-exact"  # n = 10: factorising is cheap
    assert res.setup_time > 0 and res.solve_time > 0
    # rejected trust-region steps reuse the Hessian at the same point
    assert res.njev <= res.nfev and 1 <= res.nhev <= res.nit + 2
    np.testing.assert_allclose(res.hess.toarray(), res.hess.toarray().T)
    bad = minimize(lambda v: ad.log(v).sum(), np.array([-1.0]), hessian="eager")
    assert bad.status == 3 and not bad.success


# --- in-process cache of compiled problems ---------------------------------------------------
def test_second_minimize_on_the_same_function_does_not_lift_again(monkeypatch):
    lifts = []
    original = symdiff.lift
    monkeypatch.setattr(symdiff, "lift", lambda *a, **k: lifts.append(1) or original(*a, **k))
    optimize.clear_problem_cache()
    f = lambda x, c: ((x - c) ** 2).sum() + (x[0] * x[1] - 0.5) ** 2  # noqa: E731
    c1 = np.array([1.0, 2.0, 3.0])
    first = minimize(f, np.zeros(3), params=(c1,))
    assert first.success and len(lifts) == 1
    second = minimize(f, np.ones(3), params=(c1,))  # another start: same problem
    assert second.success and len(lifts) == 1
    np.testing.assert_allclose(second.x, first.x, atol=1e-9)
    assert second.setup_time < first.setup_time
    third = minimize(f, np.zeros(3), params=(c1 + 1.0,))  # other parameter values: recompiled
    assert len(lifts) == 2 and third.success
    assert abs(third.x[2] - 4.0) < 1e-6


def test_minimize_accepts_a_ready_scalar_compiled():
    f = lambda x: ((x - 2.0) ** 4).sum() + ((x - 2.0) ** 2).sum()  # noqa: E731
    kernels = bridge.compile(f, np.zeros(4))
    res = minimize(kernels, np.zeros(4))
    assert res.success and np.allclose(res.x, 2.0, atol=1e-8)
    with pytest.raises(TypeError, match="carries its parameters"):
        minimize(kernels, np.zeros(4), params=(1.0,))


# --- bounds ---------------------------------------------------------------------------------
def _rosen(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


@pytest.mark.parametrize("hessian", ["eager", "compiled"])
def test_bounds_agree_with_lbfgsb(hessian):
    x0 = np.array([-1.2, 1.0, 0.5, 2.0])
    bounds = [(-2.0, 0.5), (None, None), (0.8, 3.0), (None, 1.5)]
    res = minimize(_rosen, x0, hessian=hessian, bounds=bounds)
    assert res.success, res.message
    assert res.method == "projected-newton"
    f = lambda x: float(_rosen(ad.tensor(x)).data)  # noqa: E731
    ref = scipy_minimize(f, x0, jac=ad.grad(_rosen), method="L-BFGS-B", bounds=bounds,
                         options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})  # fmt: skip
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert res.fun <= ref.fun + 1e-12
    lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    hi = np.array([b[1] if b[1] is not None else np.inf for b in bounds])
    assert np.all(res.x >= lo) and np.all(res.x <= hi)
    at_bound = np.isclose(ref.x, lo, atol=1e-8) | np.isclose(ref.x, hi, atol=1e-8)
    assert at_bound.any()  # the test needs an active bound
    np.testing.assert_array_equal(res.x[at_bound], np.clip(ref.x, lo, hi)[at_bound].round(12))


def test_bounds_object_clips_the_start_and_checks_its_input():
    f = lambda x: ((x - 3.0) ** 2).sum()  # noqa: E731
    res = minimize(f, np.array([10.0, -10.0]), hessian="eager", bounds=Bounds(0.0, 1.0))
    assert res.success and np.array_equal(res.x, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"bounds has 1 \(lo, hi\) pairs for 2 variables"):
        minimize(f, np.zeros(2), hessian="eager", bounds=[(0, 1)])
    with pytest.raises(ValueError, match=r"bounds\[1\] = \(2.0, 1.0\) is empty"):
        minimize(f, np.zeros(2), hessian="eager", bounds=[(0, 1), (2, 1)])
    with pytest.raises(ValueError, match="does not take bounds"):
        minimize(f, np.zeros(2), hessian="eager", method="trust-region", bounds=[(0, 1)] * 2)


# --- convergence is reported honestly ---------------------------------------------------------
def test_unreachable_tolerance_converges_at_rounding_level():
    cheb = MGH["chebyquad"]
    res = minimize(cheb.objective(), cheb.x0, hessian="eager", method="newton", tol=1e-300)
    assert res.success and res.status == 0, res.message
    assert "rounding level" in res.message
    assert cheb.reached(res.fun)


def test_a_kink_is_not_reported_as_convergence():
    res = minimize(lambda x: ad.abs(x[0]) + x[1] ** 2, np.array([0.5, 1.0]), hessian="eager",
                   method="newton")  # fmt: skip
    assert not res.success and res.status in (1, 2), res.message
    assert "gradient norm" in res.message or "maximum number" in res.message


# --- trust region on the problems ------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "method", "most"),
    [
        ("discrete_bv", "trust-region", 10),
        ("chained_wood", "auto", 120),
        ("broyden_tridiagonal", "trust-region", 20),
    ],  # fmt: skip
)
def test_scalable_problems_small_n(name, method, most):
    problem = scalable(name, 60)  # eager Hessians: no compiles in this test
    res = minimize(problem.objective(), problem.x0, method=method, hessian="eager")
    assert res.success, res.message
    assert problem.reached(res.fun, atol=1e-12)
    assert res.nit <= most


# --- linear algebra against dense oracles ---------------------------------------------------------
def _random_sparse_symmetric(n, seed, shift):
    rng = np.random.default_rng(seed)
    a = sps.random(n, n, density=0.02, random_state=rng)
    a = a + a.T + sps.diags(rng.uniform(0.5, 1.5, n)) * shift
    return sps.csr_matrix(a)


@pytest.mark.parametrize("shift", [0.0, 0.5, 3.0, 10.0])
def test_sparse_factor_detects_definiteness_like_eigvalsh(shift):
    m = _random_sparse_symmetric(150, 7, shift)  # bandwidth > 64: the SuperLU LDL^T path
    lowest = np.linalg.eigvalsh(m.toarray())[0]
    if lowest > 1e-10:
        solve = factor_spd(m)
        rhs = np.arange(150.0)
        np.testing.assert_allclose(m @ solve(rhs), rhs, atol=1e-8 * np.abs(rhs).max())
    elif lowest < -1e-10:
        with pytest.raises(NotPositiveDefinite):
            factor_spd(m)


def test_modified_cholesky_shift_makes_an_indefinite_matrix_definite():
    m = sps.diags([np.full(99, 1.0), np.linspace(-2, 5, 100), np.full(99, 1.0)], [-1, 0, 1])
    solve, tau = modified_cholesky(sps.csr_matrix(m))
    assert tau > -np.linalg.eigvalsh(m.toarray())[0]
    g = np.ones(100)
    assert float(g @ solve(-g)) < 0  # a descent direction


def _exact_subproblem(h, g, radius):
    """The trust-region subproblem solved through the eigendecomposition (bisection on the
    secular equation), hard case included: the oracle."""
    values, vectors = np.linalg.eigh(h)
    c = vectors.T @ g

    def p_of(lam):  # noqa: E306
        return -vectors @ (c / (values + lam))

    if values[0] > 0 and np.linalg.norm(p_of(0.0)) <= radius:
        return p_of(0.0)
    lo, hi = max(0.0, -values[0]) + 1e-15, max(0.0, -values[0]) + np.linalg.norm(g) / radius + 1
    if np.linalg.norm(p_of(lo)) < radius:  # hard case
        p = p_of(lo)
        z = vectors[:, 0]
        t = np.sqrt(max(radius**2 - p @ p, 0.0))
        return p + t * z
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.linalg.norm(p_of(mid)) > radius else (lo, mid)
    return p_of(hi)


@pytest.mark.parametrize("seed", range(6))
def test_more_sorensen_matches_the_eigendecomposition_oracle(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(12, 12))
    h = a + a.T
    g = rng.normal(size=12)
    if seed >= 4:  # the hard case: g orthogonal to the lowest eigenvector
        z = np.linalg.eigh(h)[1][:, 0]
        g -= (g @ z) * z
    for radius in (0.1, 1.0, 10.0):
        lowest = lambda: optimize._lowest_pair(h)  # noqa: E731
        p = more_sorensen(h, g, radius, lowest)
        ref = _exact_subproblem(h, g, radius)
        model = lambda q: float(g @ q + 0.5 * q @ h @ q)  # noqa: E731
        assert np.linalg.norm(p) <= 1.1 * radius + 1e-12
        # the k_easy / k_hard stopping tests bound the relative model error
        assert model(p) <= model(ref) + 0.25 * abs(model(ref)) + 1e-12, (radius, seed)


def test_preconditioned_steihaug_solves_spd_systems_and_respects_the_radius():
    n = 300
    m = sps.diags([np.full(n - 1, -1.0), np.full(n, 2.5), np.full(n - 1, -1.0)], [-1, 0, 1])
    m = sps.csr_matrix(m + sps.diags([np.full(n - 5, 0.1), np.full(n - 5, 0.1)], [-5, 5]))
    g = np.sin(np.arange(n))
    precond = banded_preconditioner(m, band=1)
    p = steihaug_pcg(m, g, 1e6, 1e-12, precond)
    np.testing.assert_allclose(m @ p, -g, atol=1e-10)
    plain = steihaug_pcg(m, g, 1e6, 1e-12)
    np.testing.assert_allclose(p, plain, atol=1e-8)
    short = steihaug_pcg(m, g, 0.5, 1e-12, precond)
    assert np.sqrt(short @ precond[1](short)) == pytest.approx(0.5, rel=1e-9)


@pytest.mark.parametrize(
    "module",
    ["hybriddiff.solvers.linalg", "hybriddiff.solvers.bounds", "hybriddiff.solvers.result"],
)
def test_solver_docstring_examples_run(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module), verbose=False)
    assert tried > 0 and failures == 0


# A regression test: sympy.cse, which code generation used, returned a wrong gradient here
# (off by ~4e9 when compiled together with the Hessian); generation now names only the DAG's
# shared nodes (bridge/codegen.py, _common_subexpressions).
def test_compiled_gradient_of_the_trigonometric_problem():
    problem = MGH["trigonometric"]
    kernels = bridge.compile(problem.objective(), problem.x0)
    eager = ad.grad(problem.objective())(problem.x0)
    np.testing.assert_allclose(kernels.grad(problem.x0), eager, rtol=1e-10, atol=1e-12)

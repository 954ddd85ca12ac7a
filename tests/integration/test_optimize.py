"""hybriddiff.minimize: Newton and trust-region Newton with compiled and eager Hessians."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize

import autodiff as ad
import bridge
from hybriddiff import minimize


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _start(n: int) -> np.ndarray:
    return np.r_[-1.2, np.ones(n - 1)]  # the standard start (-1.2, 1, ..., 1)


@pytest.mark.parametrize("n", [2, 100, 1000])
def test_minimize_newton_reaches_tolerance_on_rosenbrock(n):
    res = minimize(rosenbrock, _start(n), method="newton", tol=1e-10)
    assert res.success, res.message
    assert res.grad_norm <= 1e-10
    assert res.nit < 50
    objective = bridge.scipy_objective(rosenbrock, _start(n), method="trust-exact")
    if n <= 100:  # trust-exact factorises a dense matrix per iteration
        ref = scipy_minimize(**objective, method="trust-exact", options={"gtol": 1e-10})
        np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    np.testing.assert_allclose(res.jac, objective["jac"](res.x), atol=1e-12)


@pytest.mark.parametrize("method", ["newton", "trust-region"])
def test_minimize_finds_the_global_minimum_from_scipys_tutorial_start(method):
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], 100)
    res = minimize(rosenbrock, x0, method=method)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(100), atol=1e-9)
    assert res.nit < 60
    assert res.nfev >= res.nit


def test_minimize_eager_and_compiled_hessians_agree():
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], 6)
    eager = minimize(rosenbrock, x0, hessian="eager")
    compiled = minimize(rosenbrock, x0, hessian="compiled")
    assert eager.nit == compiled.nit
    np.testing.assert_allclose(eager.x, compiled.x, atol=1e-12)


def _logistic_data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    features = np.c_[rng.normal(size=(n, 2)), np.ones(n)]
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-features @ [1.5, -2.0, 0.3]))).astype(float)
    return features, labels


def _nll(w, features, labels):
    z = features @ w
    return (ad.softplus(z) - labels * z).sum() + 0.05 * (w * w).sum()


def test_minimize_logistic_regression_matches_long_gradient_descent():
    features, labels = _logistic_data()
    res = minimize(_nll, np.zeros(3), params=(features, labels))
    assert res.success and res.nit < 20
    w = np.zeros(3)
    grad = ad.grad(_nll)
    for _ in range(5000):
        w = w - 0.02 * grad(w, features, labels)
    np.testing.assert_allclose(res.x, w, atol=1e-6)


def test_minimize_handles_indefinite_hessians_without_nan():
    def saddle(v):
        return v[0] ** 2 - v[1] ** 2 + v[1] ** 4

    for method in ("newton", "trust-region"):
        res = minimize(saddle, np.array([0.3, 0.01]), method=method, hessian="eager")
        assert res.success and np.all(np.isfinite(res.x))
        np.testing.assert_allclose(np.abs(res.x), [0.0, np.sqrt(0.5)], atol=1e-8)


def test_minimize_stops_clearly_on_non_finite_values():
    res = minimize(lambda v: ad.log(v).sum(), np.array([-1.0]), hessian="eager")
    assert not res.success
    assert "non-finite" in res.message


def test_minimize_rejects_unknown_options():
    with pytest.raises(ValueError, match="method must be one of"):
        minimize(rosenbrock, np.zeros(2), method="bfgs")
    with pytest.raises(ValueError, match="hessian must be 'compiled' or 'eager'"):
        minimize(rosenbrock, np.zeros(2), hessian="exact")


def test_minimize_callback_sees_progress_and_can_stop():
    seen = []
    res = minimize(
        rosenbrock, _start(2), hessian="eager", callback=lambda r: seen.append(r.nit) or r.nit >= 3
    )
    assert seen == [1, 2, 3]
    assert res.message == "stopped by callback" and not res.success

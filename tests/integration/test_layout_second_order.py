"""hybriddiff.minimize second-order checks: saddles and maxima are left or reported, never
returned as a success; empty or non-finite starts are rejected."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sps

import autodiff as ad
from hybriddiff import minimize, optimize

METHODS = ["newton", "trust-region"]


def _eigen_oracle(h: np.ndarray) -> np.ndarray:
    """The Hessian's eigenvalues by SymPy's exact (rational) arithmetic."""
    import sympy as sp

    values = sp.Matrix(h.round(12).tolist()).applyfunc(sp.nsimplify).eigenvals()
    return np.sort(np.array([float(v) for v, k in values.items() for _ in range(k)]))


@pytest.mark.parametrize("method", METHODS)
def test_minimize_started_at_a_maximum_reports_unboundedness(method):
    res = minimize(lambda x: -(x**2).sum(), np.zeros(1), method=method, hessian="eager")
    assert not res.success
    assert "maximum" in res.message and "unbounded below" in res.message, res.message
    assert res.min_curvature == pytest.approx(-2.0)
    np.testing.assert_array_equal(res.x, [0.0])


@pytest.mark.parametrize("method", METHODS)
def test_minimize_started_at_a_saddle_reports_unboundedness(method):
    res = minimize(lambda x: x[0] ** 2 - x[1] ** 2, np.zeros(2), method=method, hessian="eager")
    assert not res.success
    assert "saddle point" in res.message and "unbounded below" in res.message, res.message
    assert res.min_curvature == pytest.approx(-2.0)


@pytest.mark.parametrize("method", METHODS)
def test_minimize_steps_off_a_saddle_to_the_minimum(method):
    f = lambda x: x[0] ** 2 - x[1] ** 2 + x[1] ** 4  # minima at (0, +-1/sqrt(2)), f = -1/4
    res = minimize(f, np.zeros(2), method=method, hessian="eager")
    assert res.success, res.message
    assert "saddle" in res.message
    np.testing.assert_allclose(np.abs(res.x), [0.0, np.sqrt(0.5)], atol=1e-9)
    assert res.fun == pytest.approx(-0.25, abs=1e-14)
    h = ad.hessian(f)(res.x)
    np.testing.assert_allclose(_eigen_oracle(h), [2.0, 4.0], atol=1e-7)
    assert res.min_curvature == pytest.approx(2.0, abs=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_minimize_steps_off_a_maximum_with_bounded_quartic(method):
    f = lambda x: -(x * x).sum() + (x**4).sum()  # maximum at 0, minima at |x_i| = 1/sqrt(2)
    res = minimize(f, np.zeros(3), method=method, hessian="eager")
    assert res.success, res.message
    np.testing.assert_allclose(np.abs(res.x), np.full(3, np.sqrt(0.5)), atol=1e-9)
    assert res.grad_norm <= 1e-10 and res.min_curvature > 0


def test_minimize_compiled_sparse_hessian_uses_lanczos_to_leave_a_saddle(monkeypatch):
    monkeypatch.setattr(optimize, "_DENSE_EIGEN_MAX", 0)  # force the sparse path at small n
    calls = []
    eigsh = optimize.spla.eigsh
    monkeypatch.setattr(
        optimize.spla, "eigsh", lambda *a, **k: calls.append(a[0].shape) or eigsh(*a, **k)
    )
    f = lambda x: (x * x).sum() - 2.0 * x[2] ** 2 + x[2] ** 4  # saddle at 0; x2 = +-1/sqrt(2)
    res = minimize(f, np.zeros(5), hessian="compiled")
    assert res.success, res.message
    assert calls and calls[0] == (5, 5)
    expected = np.zeros(5)
    expected[2] = np.sqrt(0.5)
    np.testing.assert_allclose(np.abs(res.x), expected, atol=1e-9)


def test_negative_curvature_sparse_agrees_with_dense_eigh():
    n = 1200
    main = np.linspace(-0.5, 3.0, n)
    h = sps.diags([main, np.full(n - 1, 0.3), np.full(n - 1, 0.3)], [0, 1, -1], format="csr")
    lowest, vector, kind = optimize._negative_curvature(h)
    values, vectors = np.linalg.eigh(h.toarray())
    assert kind == "saddle point or maximum"
    assert lowest == pytest.approx(values[0], rel=1e-8)
    assert abs(float(vector @ vectors[:, 0])) == pytest.approx(1.0, abs=1e-6)
    positive = h + sps.identity(n) * 1.2  # lowest eigenvalue about 0.1: Cholesky proves it
    _, vector, kind = optimize._negative_curvature(positive)
    assert vector is None and kind == "minimum"


def test_negative_curvature_dense_classifies_minimum_saddle_maximum():
    assert optimize._negative_curvature(np.diag([1.0, 2.0]))[2] == "minimum"
    assert optimize._negative_curvature(np.diag([0.0, 0.0]))[2] == "minimum"  # degenerate
    assert optimize._negative_curvature(np.diag([1.0, -2.0]))[2] == "saddle point"
    lowest, vector, kind = optimize._negative_curvature(np.diag([-1.0, -3.0]))
    assert kind == "maximum" and lowest == -3.0
    np.testing.assert_allclose(np.abs(vector), [0.0, 1.0])


def test_minimize_second_order_false_accepts_any_stationary_point():
    res = minimize(
        lambda x: x[0] ** 2 - x[1] ** 2, np.zeros(2), hessian="eager", second_order=False
    )
    assert res.success and res.nit == 0 and res.min_curvature is None


def test_minimize_at_a_true_minimum_reports_its_curvature():
    res = minimize(lambda x: ((x - 1.0) ** 2).sum(), np.ones(3), hessian="eager")
    assert res.success and res.nit == 0 and res.message == "gradient norm below tolerance"
    assert res.min_curvature == pytest.approx(2.0)


def test_minimize_running_out_of_iterations_at_a_saddle_is_no_success():
    # one iteration: it is spent stepping off; then maxiter is reached away from the minimum.
    res = minimize(lambda x: x[0] ** 2 - x[1] ** 2 + x[1] ** 4, np.zeros(2), hessian="eager",
                   maxiter=1)  # fmt: skip
    assert not res.success and "maximum number of iterations (1)" in res.message


def test_minimize_rejects_empty_and_non_finite_starts():
    with pytest.raises(ValueError, match=r"minimize: x0 is empty \(shape \(0,\)\)"):
        minimize(lambda x: (x * x).sum(), np.array([]), hessian="eager")
    with pytest.raises(ValueError, match=r"minimize: x0 is empty \(shape \(2, 0\)\)"):
        minimize(lambda x: (x * x).sum(), np.zeros((2, 0)), hessian="eager")
    with pytest.raises(ValueError, match=r"non-finite entries at flat positions \[1\]"):
        minimize(lambda x: (x * x).sum(), np.array([0.0, np.nan]), hessian="eager")


def test_negative_curvature_large_dense_uses_cholesky_then_eigh():
    n = 600
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    spectrum = np.linspace(0.5, 4.0, n)
    lowest, vector, kind = optimize._negative_curvature((q * spectrum) @ q.T)
    assert (lowest, vector, kind) == (None, None, "minimum")  # proved by Cholesky alone
    spectrum[0] = -0.25
    lowest, vector, kind = optimize._negative_curvature((q * spectrum) @ q.T)
    assert kind == "saddle point" and lowest == pytest.approx(-0.25, abs=1e-10)
    assert abs(float(vector @ q[:, 0])) == pytest.approx(1.0, abs=1e-8)

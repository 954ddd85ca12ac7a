"""scipy.optimize.minimize with compiled callables: extended Rosenbrock converges to ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from scipy.optimize import minimize

import autodiff as ad
import bridge

N = 100


def rosenbrock(x):
    """Extended Rosenbrock: n/2 independent pairs 100 (x[2i+1] - x[2i]^2)^2 + (1 - x[2i])^2."""
    return ad.sum(100.0 * (x[1::2] - x[::2] ** 2) ** 2 + (1.0 - x[::2]) ** 2)


def scaled(x, c):
    """A parameterised quadratic-plus-quartic: the minimum is at ``x = c``."""
    return ad.sum((x - c) ** 2 + 0.1 * (x - c) ** 4)


def _start(n: int) -> np.ndarray:
    x0 = np.ones(n)
    x0[::2] = -1.2
    return x0


@pytest.fixture(scope="module")
def rosen():
    """The n=100 Rosenbrock kernels, compiled once for every method below."""
    return bridge.compile(rosenbrock, _start(N))


@pytest.mark.parametrize("method", ["trust-exact", "Newton-CG", "trust-krylov"])
def test_scipy_objective_rosenbrock_converges(method, rosen):
    obj = bridge.scipy_objective(rosen, _start(N), method=method)
    res = minimize(**obj, method=method, tol=1e-8, options={"maxiter": 2000})
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(N), atol=1e-6)


def test_scipy_objective_trust_constr_uses_the_sparse_hessian(rosen):
    obj = bridge.scipy_objective(rosen, _start(N), sparse=True)
    assert isinstance(obj["hess"](obj["x0"]), scipy.sparse.csr_matrix)
    res = minimize(**obj, method="trust-constr", options={"gtol": 1e-10, "maxiter": 3000})
    np.testing.assert_allclose(res.x, np.ones(N), atol=1e-5)


def test_scipy_objective_full_dict_has_every_callable(rosen):
    obj = bridge.scipy_objective(rosen, _start(N))
    assert set(obj) == {"fun", "jac", "hess", "hessp", "x0"}
    x, v = obj["x0"], np.linspace(-1, 1, N)
    np.testing.assert_allclose(obj["hessp"](x, v), obj["hess"](x) @ v, rtol=1e-12)
    assert isinstance(obj["fun"](x), float)


def test_scipy_objective_passes_parameters_without_recompiling():
    c0, c1 = np.array([0.5, -1.0, 2.0]), np.array([3.0, 0.0, -2.0])
    obj = bridge.scipy_objective(scaled, np.zeros(3), c0, params=1, method="trust-exact")
    assert obj["args"][0].tolist() == c0.tolist()
    res = minimize(**obj, method="trust-exact", tol=1e-10)
    np.testing.assert_allclose(res.x, c0, atol=1e-8)
    compiled = bridge.compile(scaled, np.zeros(3), c0, params=1)
    obj = bridge.scipy_objective(compiled, np.zeros(3), p=c1, method="trust-exact")
    res = minimize(**obj, method="trust-exact", tol=1e-10)
    np.testing.assert_allclose(res.x, c1, atol=1e-8)
    assert len(compiled.module.hess_point.signatures) == 1


def test_scipy_objective_rejects_a_wrong_start(rosen):
    with pytest.raises(ValueError, match=r"x0 has shape \(3,\), expected \(100,\)"):
        bridge.scipy_objective(rosen, np.zeros(3))

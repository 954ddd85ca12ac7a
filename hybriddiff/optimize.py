"""Second-order minimisation: damped Newton (Armijo) and trust-region Newton (Steihaug CG).

Both use compiled (sparse) Hessians from :func:`bridge.compile` by default, or eager autodiff
Hessians with ``hessian="eager"``. The result is a ``scipy.optimize.OptimizeResult``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from scipy.linalg import LinAlgError, cho_factor, cho_solve, cho_solve_banded, cholesky_banded
from scipy.optimize import OptimizeResult

import autodiff

METHODS = ("newton", "trust-region")


def _eager_value(f: Callable, x: np.ndarray, params: tuple) -> float:
    with autodiff.no_grad():
        out = f(autodiff.tensor(x), *params)
    return float(out.data if isinstance(out, autodiff.Tensor) else out)


class _Objective:
    """Counts evaluations and hides where f, its gradient and Hessian come from."""

    def __init__(self, f: Callable, x0: np.ndarray, hessian: str, params: tuple):
        self.nfev = 0
        self.params = params
        if hessian == "compiled":
            from . import compile as compile_kernels

            # The extra arguments are lift parameters: their values become the defaults.
            kernels = compile_kernels(f, x0, *params, params=tuple(range(1, 1 + len(params))))
            self._value = kernels.value
            self._value_and_grad = kernels.value_and_grad
            self._hess = lambda x: kernels.hessian(x, sparse=True)
        elif hessian == "eager":
            vg = autodiff.value_and_grad(f)
            hess = autodiff.hessian(f)
            self._value = lambda x: _eager_value(f, x, params)
            self._value_and_grad = lambda x: vg(x, *params)
            self._hess = lambda x: hess(x, *params)
        else:
            raise ValueError(f"minimize: hessian must be 'compiled' or 'eager', got {hessian!r}")

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.nfev += 1
        value, grad = self._value_and_grad(x)
        return float(value), np.asarray(grad, dtype=np.float64)

    def value(self, x: np.ndarray) -> float:
        """The objective alone (line-search trials need no gradient)."""
        self.nfev += 1
        return float(self._value(x))

    def hess(self, x: np.ndarray):
        return self._hess(x)


def _factor(m):
    """A solver for the symmetric positive definite ``m``; LinAlgError when it is not PD.

    Banded sparse matrices (Rosenbrock's is tridiagonal) use a banded Cholesky in O(n b^2);
    others a dense Cholesky. Returns None when the matrix is too large for either.
    """
    n = m.shape[0]
    if sps.issparse(m):
        coo = sps.triu(m, format="coo")
        band = int(np.max(coo.col - coo.row, initial=0))
        if band <= 64:
            ab = np.zeros((band + 1, n))
            ab[band + coo.row - coo.col, coo.col] = coo.data
            factor = cholesky_banded(ab)
            return lambda rhs: cho_solve_banded((factor, False), rhs)
        if n > 4000:
            return None
        m = m.toarray()
    factor = cho_factor(m)
    return lambda rhs: cho_solve(factor, rhs)


def _newton_direction(h, g: np.ndarray) -> np.ndarray:
    """Solve (H + tau I) p = -g with the smallest tau (doubling) that makes H + tau I positive
    definite: Cholesky with added multiple of the identity (Nocedal & Wright, Alg. 3.3)."""
    n = g.size
    eye = sps.identity(n, format="csr") if sps.issparse(h) else np.eye(n)
    beta = 1e-3
    smallest = float(np.min(h.diagonal()))
    tau = 0.0 if smallest > 0 else beta - smallest
    for _ in range(80):
        try:
            solve = _factor(h + tau * eye if tau else h)
        except (LinAlgError, ValueError):
            tau = max(2.0 * tau, beta)
            continue
        if solve is None:
            return _shifted_solve(h, g, eye)
        return solve(-g)
    return -g  # never positive definite: steepest descent, still safe under the line search


def _shifted_solve(h, g: np.ndarray, eye) -> np.ndarray:
    """Large general sparse Hessians: shift until the sparse solve gives a descent direction."""
    scale = max(float(abs(h.diagonal()).max()), 1.0)
    tau = 0.0
    for _ in range(60):
        with np.errstate(all="ignore"):
            p = spla.spsolve((h + tau * eye).tocsc() if tau else h.tocsc(), -g)
        if np.all(np.isfinite(p)) and float(g @ p) < 0:
            return p
        tau = max(10.0 * tau, 1e-3 * scale)
    return -g


def _steihaug(h, g: np.ndarray, radius: float, tol: float) -> np.ndarray:
    """Approximately minimise g.p + p.H.p/2 within |p| <= radius (Nocedal & Wright, Alg. 7.2)."""
    z = np.zeros_like(g)
    r = g.copy()
    d = -r
    if np.linalg.norm(r) < tol:
        return z
    for _ in range(2 * g.size + 10):
        hd = h @ d
        curvature = float(d @ hd)
        if curvature <= 0:
            return z + _to_boundary(z, d, radius) * d
        alpha = float(r @ r) / curvature
        z_next = z + alpha * d
        if np.linalg.norm(z_next) >= radius:
            return z + _to_boundary(z, d, radius) * d
        r_next = r + alpha * hd
        if np.linalg.norm(r_next) < tol:
            return z_next
        beta = float(r_next @ r_next) / float(r @ r)
        z, r, d = z_next, r_next, -r_next + beta * d
    return z


def _to_boundary(z: np.ndarray, d: np.ndarray, radius: float) -> float:
    a, b, c = float(d @ d), 2.0 * float(z @ d), float(z @ z) - radius**2
    return (-b + np.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)


def _newton_step(obj, x, fx, g, state):
    p = _newton_direction(obj.hess(x), g)
    slope = float(g @ p)
    t = 1.0
    for _ in range(60):
        x_new = x + t * p
        f_new = obj.value(x_new)
        if np.isfinite(f_new) and f_new <= fx + 1e-4 * t * slope:
            return x_new
        t *= 0.5
    return None


def _trust_step(obj, x, fx, g, state):
    h = obj.hess(x)
    gnorm = np.linalg.norm(g)
    p = _steihaug(h, g, state["radius"], min(0.5, np.sqrt(gnorm)) * gnorm)
    predicted = -(float(g @ p) + 0.5 * float(p @ h @ p))
    f_new = obj.value(x + p)
    if 0 <= predicted <= 1e-15 * max(1.0, abs(fx)) and f_new <= fx + 1e-14 * max(1.0, abs(fx)):
        return x + p  # reductions at rounding level: rho is noise, accept the Newton-like step
    rho = (fx - f_new) / predicted if predicted > 0 else -1.0
    if not np.isfinite(f_new) or rho < 0.25:
        state["radius"] = 0.25 * np.linalg.norm(p)
    elif rho > 0.75 and np.isclose(np.linalg.norm(p), state["radius"]):
        state["radius"] = min(2.0 * state["radius"], 1e10)
    if np.isfinite(f_new) and rho > 1e-4:
        return x + p
    return x if state["radius"] > 1e-14 else None


def minimize(
    f: Callable,
    x0,
    method: str = "newton",
    hessian: str = "compiled",
    tol: float = 1e-10,
    maxiter: int = 200,
    callback: Callable | None = None,
    params: tuple = (),
) -> OptimizeResult:
    """Minimise a scalar function with exact second derivatives.

    Parameters
    ----------
    f : callable
        ``f(x, *params)`` written with autodiff operations, returning a scalar.
    x0 : array_like
        Starting point (1-D, float64).
    method : {"newton", "trust-region"}
        Damped Newton with an Armijo backtracking line search (indefinite Hessians are shifted
        until the step is a descent direction), or trust-region Newton with Steihaug CG.
    hessian : {"compiled", "eager"}
        Compiled sparse Hessian kernels (via SymPy and numba), or eager autodiff Hessians.
    tol : float
        Stop when the gradient's infinity norm is at most ``tol``.
    callback : callable, optional
        Called with an ``OptimizeResult`` snapshot after each iteration; returning True stops.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``x``, ``fun``, ``jac``, ``grad_norm``, ``nit``, ``nfev``, ``success``, ``message``.

    Examples
    --------
    >>> import numpy as np, autodiff as ad, bridge
    >>> rosen = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    >>> res = bridge.minimize(rosen, np.array([-1.2, 1.0]), hessian="eager")
    >>> bool(res.success), np.round(res.x, 6)
    (True, array([1., 1.]))
    """
    if method not in METHODS:
        raise ValueError(f"minimize: method must be one of {METHODS}, got {method!r}")
    x = np.array(x0, dtype=np.float64).ravel()
    obj = _Objective(f, x, hessian, tuple(params))
    step = _newton_step if method == "newton" else _trust_step
    state = {"radius": max(1.0, float(np.linalg.norm(x)))}
    fx, g = obj.value_and_grad(x)
    message, success, nit = f"maximum number of iterations ({maxiter}) reached", False, 0
    for nit in range(1, maxiter + 1):
        if not (np.isfinite(fx) and np.all(np.isfinite(g))):
            message = f"non-finite objective or gradient at iteration {nit - 1}"
            break
        if np.max(np.abs(g), initial=0.0) <= tol:
            message, success, nit = "gradient norm below tolerance", True, nit - 1
            break
        x_new = step(obj, x, fx, g, state)
        if x_new is None:
            message = f"line search / trust region failed to make progress at iteration {nit}"
            break
        x = x_new
        fx, g = obj.value_and_grad(x)
        if callback is not None and callback(_result(x, fx, g, nit, obj, False, "running")):
            message = "stopped by callback"
            break
    else:
        if np.max(np.abs(g), initial=0.0) <= tol:
            message, success = "gradient norm below tolerance", True
    return _result(x, fx, g, nit, obj, success, message)


def _result(x, fx, g, nit, obj, success, message) -> OptimizeResult:
    return OptimizeResult(
        x=x,
        fun=fx,
        jac=g,
        grad_norm=float(np.max(np.abs(g), initial=0.0)),
        nit=nit,
        nfev=obj.nfev,
        success=success,
        message=message,
    )

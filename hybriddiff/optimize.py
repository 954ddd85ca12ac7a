"""Second-order minimisation: damped Newton (Armijo) and trust-region Newton (Steihaug CG).

Both use compiled (sparse) Hessians from :func:`bridge.compile` by default, or eager autodiff
Hessians with ``hessian="eager"`` (that path never imports ``bridge``, SymPy or numba). The
result is a ``scipy.optimize.OptimizeResult``.

When the gradient vanishes, the Hessian is checked too (second-order conditions): at a saddle
point or a maximum the solver steps off along the direction of most negative curvature and
continues; if the objective is unbounded below along that direction it reports failure.
The Armijo backtracking is :func:`autodiff.optim.line_search.armijo_backtracking`, the same
one :class:`autodiff.optim.NewtonCG` uses.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from scipy.linalg import LinAlgError, cho_factor, cho_solve, cho_solve_banded, cholesky_banded
from scipy.optimize import OptimizeResult

import autodiff
from autodiff.optim.line_search import armijo_backtracking

METHODS = ("newton", "trust-region")


def _eager_value(f: Callable, x: np.ndarray, params: tuple) -> float:
    with autodiff.no_grad():
        out = f(autodiff.tensor(x), *params)
    return float(out.data if isinstance(out, autodiff.Tensor) else out)


class _Objective:
    """Counts evaluations and hides where f, its gradient and Hessian come from."""

    def __init__(
        self, f: Callable, x0: np.ndarray, hessian: str, params: tuple, guards: bool = False
    ):
        self.nfev = 0
        if _is_compiled(f):
            # a ready bridge.Compiled / ArrayCompiled: its default parameters are used
            if params:
                raise TypeError("minimize: a compiled f carries its parameters; pass params=()")
            kernels = f
            self._value = kernels.value
            self._value_and_grad = kernels.value_and_grad
            self._hess = lambda x: kernels.hessian(x, sparse=True)
        elif hessian == "compiled":
            from bridge import compile as compile_kernels

            # The extra arguments are lift parameters: their values become the defaults.
            held = tuple(range(1, 1 + len(params)))
            mode = "array" if not guards and _large_or_dense(x0, params) else "scalar"
            kernels = compile_kernels(f, x0, *params, params=held, guards=guards, mode=mode)
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


ARRAY_MODE_ELEMENTS = 1000  # more floating elements (x0 and params) -> array-mode kernels


def _is_compiled(f) -> bool:
    """A ready ``bridge.Compiled`` or ``bridge.ArrayCompiled`` (without importing bridge)."""
    return type(f).__name__ in ("Compiled", "ArrayCompiled") and type(f).__module__.startswith(
        "bridge."
    )


def _large_or_dense(x0: np.ndarray, params: tuple) -> bool:
    """Array mode for large problems or dense data: the scalar lift would grow with it."""
    total = int(np.size(x0))
    for p in params:
        data = getattr(p, "data", p)
        try:
            arr = np.asarray(data)
        except (TypeError, ValueError):
            continue
        if arr.dtype.kind == "f":
            total += arr.size
    return total > ARRAY_MODE_ELEMENTS


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


def _newton_step(obj, x, fx, g):
    p = _newton_direction(obj.hess(x), g)
    slope = float(g @ p)
    if not (np.isfinite(slope) and slope < 0):
        p, slope = -g, -float(g @ g)  # rounding spoiled the direction: steepest descent
    found = armijo_backtracking(lambda t: obj.value(x + t * p), fx, slope, max_trials=60)
    return None if found.step is None else x + found.step * p


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


_DENSE_EIGEN_MAX = 500  # up to this size the Hessian's spectrum is computed densely (eigh)


def _negative_curvature(h) -> tuple[float | None, np.ndarray | None, str]:
    """The most negative curvature of the symmetric ``h``: ``(eigenvalue, unit vector, kind)``.

    ``kind`` is ``"minimum"`` when no eigenvalue is below ``-sqrt(eps) * max(1, |H|)`` (the
    vector is then None), ``"maximum"`` when every eigenvalue is (dense case), ``"saddle point"``
    otherwise (``"saddle point or maximum"`` when only the lowest eigenvalue is known), or
    ``"inconclusive"`` when the sparse eigensolver did not converge. Hessians up to
    ``_DENSE_EIGEN_MAX`` variables use ``numpy.linalg.eigh``. Larger ones first try a Cholesky
    factorisation of ``H + threshold I``: success proves there is no significant negative
    curvature (the eigenvalue is then None, it was not computed); otherwise sparse Hessians
    estimate the lowest eigenpair with Lanczos (``scipy.sparse.linalg.eigsh``), dense ones use
    ``eigh``.
    """
    n = h.shape[0]
    eps_root = np.sqrt(np.finfo(np.float64).eps)
    if sps.issparse(h):
        h = sps.csr_matrix(h, dtype=np.float64)
        if n <= _DENSE_EIGEN_MAX:
            h = h.toarray()
    else:
        h = np.asarray(h, dtype=np.float64)
    if n > _DENSE_EIGEN_MAX:
        threshold = eps_root * max(1.0, float(abs(h).sum(axis=1).max()))  # >= eps_root |H|_2
        eye = sps.identity(n, format="csr") if sps.issparse(h) else np.eye(n)
        try:
            if _factor(h + threshold * eye) is not None:
                return None, None, "minimum"
        except (LinAlgError, ValueError):
            pass
    if sps.issparse(h):
        try:
            values, vectors = spla.eigsh(h, k=1, which="SA", tol=1e-10, maxiter=20 * n)
        except spla.ArpackNoConvergence as exc:
            if exc.eigenvalues.size == 0:
                return None, None, "inconclusive"
            values, vectors = exc.eigenvalues, exc.eigenvectors
        lowest, vector = float(values[0]), vectors[:, 0]
        kind = "saddle point or maximum" if lowest < -threshold else "minimum"
    else:
        values, vectors = np.linalg.eigh(0.5 * (h + h.T))
        threshold = eps_root * max(1.0, float(np.abs(values).max()))
        lowest, vector = float(values[0]), vectors[:, 0]
        if lowest >= -threshold:
            kind = "minimum"
        else:
            kind = "maximum" if values[-1] < -threshold else "saddle point"
    if kind == "minimum":
        return lowest, None, kind
    return lowest, vector / np.linalg.norm(vector), kind


def _step_off(obj, x: np.ndarray, fx: float, g: np.ndarray, v: np.ndarray, curvature: float):
    """Leave a saddle/maximum along the unit negative-curvature direction ``v``.

    The shared Armijo backtracking, with the model's decrease ``t^2 curvature / 2`` in its
    sufficient-decrease condition, finds a first step from a unit length (scaled by ``|x|``);
    when the first trial is accepted, the step is doubled while the objective keeps decreasing.
    Returns ``(x_new, None)``, or ``(None, reason)`` when the objective looks unbounded below
    along ``v`` or no decrease was found.
    """
    if float(g @ v) > 0:
        v = -v
    t0 = max(1.0, float(np.linalg.norm(x)))
    phi = lambda t: obj.value(x + t * v)
    slope = min(float(g @ v), 0.0)
    found = armijo_backtracking(phi, fx, slope, step=t0, max_trials=60, curvature=curvature)
    if found.step is None or not found.value < fx:
        return None, "no decrease found along the negative-curvature direction"
    t, ft = found.step, found.value
    if t == t0:
        limit = 1e10 * t0
        while True:
            f2 = phi(2.0 * t)
            if f2 == -np.inf or (np.isfinite(f2) and f2 < ft and 2.0 * t >= limit):
                shown = f"f = {f2:.3g} at distance {2.0 * t:.3g}"
                return None, f"the objective is unbounded below along it ({shown})"
            if not (np.isfinite(f2) and f2 < ft):
                break
            t, ft = 2.0 * t, f2
    return x + t * v, None


def minimize(
    f: Callable,
    x0,
    method: str = "newton",
    hessian: str = "compiled",
    tol: float = 1e-10,
    maxiter: int = 200,
    callback: Callable | None = None,
    params: tuple = (),
    second_order: bool = True,
    guards: bool = False,
) -> OptimizeResult:
    """Minimise a scalar function with exact second derivatives.

    Parameters
    ----------
    f : callable
        ``f(x, *params)`` written with autodiff operations, returning a scalar; or a ready
        ``bridge.Compiled`` / ``bridge.ArrayCompiled`` (its default parameters are used).
        With ``hessian="compiled"``, problems with more than 1,000 floating elements (``x0``
        and ``params`` together: large or dense) compile in array mode
        (``bridge.compile(..., mode="array")``), others in scalar mode.
    x0 : array_like
        Starting point (1-D, float64, at least one variable).
    method : {"newton", "trust-region"}
        Damped Newton with an Armijo backtracking line search (indefinite Hessians are shifted
        until the step is a descent direction), or trust-region Newton with Steihaug CG.
    hessian : {"compiled", "eager"}
        Compiled sparse Hessian kernels (via SymPy and numba), or eager autodiff Hessians
        (dense; never touches ``bridge``).
    tol : float
        Stop when the gradient's infinity norm is at most ``tol``.
    maxiter : int
        The most iterations (a step off a saddle point counts as one).
    callback : callable, optional
        Called with an ``OptimizeResult`` snapshot after each iteration; returning True stops.
    params : tuple
        Extra arguments passed to ``f`` after ``x``.
    second_order : bool
        When the gradient vanishes, check the Hessian (default). At a saddle point or maximum,
        step off along the eigenvector of the most negative eigenvalue and continue; if the
        objective is unbounded below along it, stop with ``success=False``. ``False`` accepts
        any stationary point, as first-order solvers do.
    guards : bool
        With compiled Hessians: compile ``f`` with ``bridge.compile(..., guards=True)`` so that
        Python branches on ``x`` are frozen at ``x0`` as guards; an iterate that takes another
        branch raises :class:`bridge.GuardError`. Without it such branches raise at compile time
        (write them with ``ad.where``). Eager Hessians follow the branches as plain Python.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``x``, ``fun``, ``jac``, ``grad_norm``, ``nit``, ``nfev``, ``success``,
        ``message`` and ``min_curvature`` (the lowest Hessian eigenvalue found at the end by
        the second-order check; None when the check did not run, or when a large Hessian's
        Cholesky factorisation already proved it positive definite).

    Raises
    ------
    ValueError
        For an unknown ``method`` or ``hessian``, or an empty or non-finite ``x0``.

    Examples
    --------
    >>> import numpy as np, hybriddiff as hd
    >>> rosen = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    >>> res = hd.minimize(rosen, np.array([-1.2, 1.0]), hessian="eager")
    >>> bool(res.success), np.round(res.x, 6)
    (True, array([1., 1.]))

    Started exactly at a saddle point, it steps off along the negative curvature:

    >>> res = hd.minimize(lambda x: x[0] ** 2 - x[1] ** 2 + x[1] ** 4, np.zeros(2), hessian="eager")
    >>> bool(res.success), np.round(np.abs(res.x), 6)
    (True, array([0.      , 0.707107]))
    """
    if method not in METHODS:
        raise ValueError(f"minimize: method must be one of {METHODS}, got {method!r}")
    x = np.array(x0, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError(
            f"minimize: x0 is empty (shape {np.shape(x0)}); it needs at least one variable"
        )
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x)).tolist()
        raise ValueError(f"minimize: x0 has non-finite entries at flat positions {bad}")
    obj = _Objective(f, x, hessian, tuple(params), guards)
    state = {"radius": max(1.0, float(np.linalg.norm(x)))}
    fx, g = obj.value_and_grad(x)
    message, success, nit = f"maximum number of iterations ({maxiter}) reached", False, 0
    escapes, curvature = 0, None
    for nit in range(1, maxiter + 1):
        if not (np.isfinite(fx) and np.all(np.isfinite(g))):
            message = f"non-finite objective or gradient at iteration {nit - 1}"
            break
        if np.max(np.abs(g), initial=0.0) <= tol:
            if not second_order:
                message, success, nit = "gradient norm below tolerance", True, nit - 1
                break
            curvature, v, kind = _negative_curvature(obj.hess(x))
            if v is None:
                message, success, nit = _converged(kind, escapes), True, nit - 1
                break
            where = f"{kind} (Hessian eigenvalue {curvature:.3g} < 0)"
            x_new, reason = _step_off(obj, x, fx, g, v, curvature)
            if x_new is None:
                message = f"stopped at a {where} at iteration {nit - 1}: {reason}"
                nit -= 1
                break
            escapes += 1
            state["radius"] = max(state["radius"], float(np.linalg.norm(x_new - x)))
        else:
            if method == "newton":
                x_new = _newton_step(obj, x, fx, g)
            else:
                x_new = _trust_step(obj, x, fx, g, state)
            if x_new is None:
                message = f"line search / trust region failed to make progress at iteration {nit}"
                break
        x = x_new
        fx, g = obj.value_and_grad(x)
        if callback is not None and callback(_result(x, fx, g, nit, obj, False, "running")):
            message = "stopped by callback"
            break
    else:
        if np.isfinite(fx) and np.max(np.abs(g), initial=0.0) <= tol:
            if second_order:
                curvature, v, kind = _negative_curvature(obj.hess(x))
                if v is None:
                    message, success = _converged(kind, escapes), True
                else:
                    message += f"; the last point is a {kind} (Hessian eigenvalue {curvature:.3g})"
            else:
                message, success = "gradient norm below tolerance", True
    return _result(x, fx, g, nit, obj, success, message, curvature)


def _converged(kind: str, escapes: int) -> str:
    message = "gradient norm below tolerance"
    if kind == "inconclusive":
        message += " (second-order check inconclusive: the sparse eigensolver did not converge)"
    elif escapes:
        message += f" and no negative curvature, after stepping off {escapes} saddle point(s)"
    return message


def _result(x, fx, g, nit, obj, success, message, curvature=None) -> OptimizeResult:
    return OptimizeResult(
        x=x,
        fun=fx,
        jac=g,
        grad_norm=float(np.max(np.abs(g), initial=0.0)),
        nit=nit,
        nfev=obj.nfev,
        success=success,
        message=message,
        min_curvature=curvature,
    )

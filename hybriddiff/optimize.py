"""Second-order minimisation with exact (compiled, sparse) Hessians: ``hybriddiff.minimize``.

Methods (``method=``):

* ``"newton"``: Newton's method with a modified Cholesky factorisation (``H + tau I`` with the
  added-identity scheme, dense, banded or sparse: :mod:`hybriddiff.solvers.linalg`) and an
  Armijo backtracking line search; when the line search fails the shift grows
  (Levenberg-style) before giving up.
* ``"trust-region"``: trust-region Newton. The subproblem is solved nearly exactly
  (Moré–Sorensen on a sparse Cholesky-type factor) when factorising the Hessian is cheap, and
  by Steihaug's CG preconditioned with the Hessian's banded part otherwise.
  ``"trust-exact"`` and ``"trust-cg"`` force one subproblem solver.
* ``"auto"`` (default): Newton; if it fails (iteration limit, no progress, or running off
  to infinity along a valley: ``|x|`` growing by 15% in 20 iterations while ``f`` drops by
  less than 1%), trust region from ``x0`` with its subproblem solver picked by size and
  sparsity, then trust region with truncated CG. ``nit`` then counts every attempt and the
  message names the failed ones. With ``bounds=``, projected Newton.

With ``bounds=`` (SciPy style), the solve is projected Newton (Bertsekas 1982): variables at a
bound that the gradient pushes outwards are held, the Newton system is solved on the others,
and the line search runs along the projection arc ``P(x + t p)``; convergence is measured by
the projected gradient ``x - P(x - g)``, as L-BFGS-B does.

Convergence: the gradient's infinity norm (projected with bounds) at most ``tol``; or, when no
step can decrease the objective any more, a Newton decrement ``g.H^-1 g / 2`` below the
rounding level of ``f`` (``1000 eps max(1, |f|)``): the model then predicts no decrease that
floating point could show, and the result says so in its message. When neither holds, the
solve stops with ``success=False`` and ``status=2``.

When the gradient vanishes, the Hessian is checked too (second-order conditions): at a saddle
point or a maximum the solver steps off along the direction of most negative curvature and
continues; if the objective is unbounded below along that direction it reports failure.
The Armijo backtracking is :func:`autodiff.optim.line_search.armijo_backtracking`, the same
one :class:`autodiff.optim.NewtonCG` uses.

Compiled problems are cached in-process by the graph key (``autodiff.graph`` fingerprint of
``f`` traced at ``x0``, plus the values of ``params``): a second ``minimize`` on the same
function does not lift or compile again (:func:`clear_problem_cache` empties the cache).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from scipy.linalg import LinAlgError

import autodiff
from autodiff.optim.line_search import armijo_backtracking

from .solvers.bounds import active_set, parse_bounds, projected_gradient
from .solvers.linalg import (
    NotPositiveDefinite,
    banded_preconditioner,
    factor_spd,
    modified_cholesky,
    more_sorensen,
    steihaug_pcg,
)
from .solvers.result import MinimizeResult

METHODS = ("auto", "newton", "trust-region", "trust-exact", "trust-cg")
_TRUST = ("trust-region", "trust-exact", "trust-cg")
_STAGNATION = 20  # auto: an attempt whose |x| grows by 15% in this many iterations while f
# drops by less than 1% (running off along a valley) gives way to the next method
_EPS = float(np.finfo(np.float64).eps)
_factor = factor_spd  # the one SPD factorisation (kept under its old name)


def _eager_value(f: Callable, x: np.ndarray, params: tuple) -> float:
    with autodiff.no_grad():
        out = f(autodiff.tensor(x), *params)
    return float(out.data if isinstance(out, autodiff.Tensor) else out)


_PROBLEMS: OrderedDict[tuple, object] = OrderedDict()
_PROBLEMS_MAX = 32


def clear_problem_cache() -> None:
    """Forget the compiled problems :func:`minimize` keeps in-process (by graph key)."""
    _PROBLEMS.clear()


def _problem_key(f: Callable, x0: np.ndarray, params: tuple, mode: str) -> tuple | None:
    """The in-process cache key of a compiled problem, or None when ``f`` cannot be traced.

    The graph fingerprint covers the program and its constants but not the input values:
    the parameter values (compiled in as defaults) are hashed in as well.
    """
    try:
        graph, _ = autodiff.trace_graph(f, x0, *params)
    except Exception:  # noqa: BLE001 - compile will raise the clear error
        return None
    digest = hashlib.sha256()
    for p in params:
        data = getattr(p, "data", p)
        try:
            arr = np.asarray(data)
        except (TypeError, ValueError):
            arr = None
        if arr is not None and arr.dtype.kind in "biuf":
            digest.update(f"{arr.dtype.str}{arr.shape}".encode())
            digest.update(np.ascontiguousarray(arr).tobytes())
        else:
            digest.update(repr(p).encode())
    return (graph.fingerprint(), x0.shape, mode, digest.hexdigest())


class _Objective:
    """Counts evaluations and hides where f, its gradient and Hessian come from."""

    def __init__(
        self, f: Callable, x0: np.ndarray, hessian: str, params: tuple, guards: bool = False
    ):
        self.nfev = self.njev = self.nhev = 0
        self._hess_at: tuple[bytes, object] | None = None
        if _is_compiled(f):
            # a ready bridge.Compiled / ArrayCompiled: its default parameters are used
            if params:
                raise TypeError("minimize: a compiled f carries its parameters; pass params=()")
            self._use_kernels(f)
        elif hessian == "compiled":
            import bridge

            # The extra arguments are lift parameters: their values become the defaults.
            held = tuple(range(1, 1 + len(params)))
            mode = "array" if not guards and _large_or_dense(x0, params) else "scalar"
            key = None if guards else _problem_key(f, x0, params, mode)
            kernels = _PROBLEMS.get(key) if key is not None else None
            if kernels is None:
                kernels = bridge.compile(f, x0, *params, params=held, guards=guards, mode=mode)
                if key is not None:
                    _PROBLEMS[key] = kernels
                    while len(_PROBLEMS) > _PROBLEMS_MAX:
                        _PROBLEMS.popitem(last=False)
            else:
                _PROBLEMS.move_to_end(key)
            self._use_kernels(kernels)
            # numba compiles (or loads) each kernel on its first call: do it here, so that
            # set-up time is all in setup_time and none in the solve
            kernels.value(x0)
            kernels.value_and_grad(x0)
            kernels.hessian(x0, sparse=True)
        elif hessian == "eager":
            vg = autodiff.value_and_grad(f)
            hess = autodiff.hessian(f)
            self._value = lambda x: _eager_value(f, x, params)
            self._value_and_grad = lambda x: vg(x, *params)
            self._hess = lambda x: np.asarray(hess(x, *params), dtype=np.float64)
        else:
            raise ValueError(f"minimize: hessian must be 'compiled' or 'eager', got {hessian!r}")

    def _use_kernels(self, kernels) -> None:
        self.kernels = kernels
        self._value = kernels.value
        self._value_and_grad = kernels.value_and_grad
        self._hess = lambda x: kernels.hessian(x, sparse=True)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.nfev += 1
        self.njev += 1
        value, grad = self._value_and_grad(x)
        return float(value), np.asarray(grad, dtype=np.float64)

    def value(self, x: np.ndarray) -> float:
        """The objective alone (line-search trials need no gradient)."""
        self.nfev += 1
        return float(self._value(x))

    def hess(self, x: np.ndarray):
        """The Hessian at ``x`` (the last one is kept: asking again at the same point is free)."""
        key = x.tobytes()
        if self._hess_at is not None and self._hess_at[0] == key:
            return self._hess_at[1]
        self.nhev += 1
        h = self._hess(x)
        h = sps.csr_matrix(h, dtype=np.float64) if sps.issparse(h) else np.asarray(h, float)
        self._hess_at = (key, h)
        return h


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


def _noise(fx: float) -> float:
    """The rounding level of an objective value ``fx``: decreases below it are invisible."""
    return 1e3 * _EPS * max(1.0, abs(fx))


def _identity(h):
    n = h.shape[0]
    return sps.identity(n, format="csr") if sps.issparse(h) else np.eye(n)


def _direction(h, g: np.ndarray, extra_shift: float = 0.0) -> tuple[np.ndarray, float]:
    """The modified-Newton direction ``-(H + tau I)^{-1} g`` and ``tau`` (0: H was positive
    definite). ``extra_shift`` is added to the matrix first (the Levenberg-style retries)."""
    m = h + extra_shift * _identity(h) if extra_shift else h
    try:
        solve, tau = modified_cholesky(m)
    except NotPositiveDefinite:
        return -g, np.inf
    if solve is None:  # no cheap factor: truncated CG with a banded preconditioner
        p = steihaug_pcg(m, g, np.inf, 1e-10 * np.linalg.norm(g), banded_preconditioner(m))
        return p, 0.0
    return solve(-g), tau + extra_shift


def _newton_step(obj, x, fx, g, h, lo=None, hi=None):
    """One modified-Newton step with Armijo backtracking; with bounds, projected Newton.

    Returns ``(x_new, decrement, tau)``: ``x_new`` is None when no trial decreased ``f``
    (after growing the shift a few times); ``decrement`` is ``-g.p/2`` for the plain Newton
    step (the model's predicted decrease), ``tau`` the shift that made ``H`` positive
    definite (0 when it already was).
    """
    n = g.size
    free = np.ones(n, dtype=bool)
    if lo is not None:
        width = min(1e-3, float(np.max(np.abs(projected_gradient(x, g, lo, hi)), initial=0.0)))
        free = ~active_set(x, g, lo, hi, width)
    index = np.flatnonzero(free)
    if index.size < n:
        hf = h[index][:, index] if sps.issparse(h) else h[np.ix_(index, index)]
    else:
        hf = h
    gf = g[index]
    diag = np.abs(np.asarray(h.diagonal(), dtype=np.float64))
    decrement, tau0, shift = np.inf, 0.0, 0.0
    scale = max(float(np.max(diag, initial=0.0)), 1e-12)
    for attempt in range(8):
        if index.size:
            pf, tau = _direction(hf, gf, shift)
        else:
            pf, tau = gf[:0], 0.0
        if attempt == 0:
            tau0 = tau
            if tau == 0 and np.all(np.isfinite(pf)):
                decrement = -0.5 * float(gf @ pf)
        p = np.zeros(n)
        p[index] = pf
        held = ~free
        p[held] = -g[held] / np.maximum(diag[held], 1e-8 * scale)
        if lo is None:
            slope = float(g @ p)
            if not (np.isfinite(slope) and slope < 0):
                p, slope = -g, -float(g @ g)  # rounding spoiled the direction
            if attempt == 0 and tau > 0 and n <= _DENSE_EIGEN_MAX:
                found = _curvilinear(obj, x, fx, g, h, p, slope)
                if found is not None:
                    return found, decrement, tau0
            phi = lambda t, p=p: obj.value(x + t * p)  # noqa: E731
            found = armijo_backtracking(phi, fx, slope, max_trials=60)
            if found.step is not None and found.value < fx:
                return x + found.step * p, decrement, tau0
            if decrement <= _noise(fx):
                break  # no visible decrease, none predicted: rounding level (the caller decides)
        else:
            t = 1.0
            for _ in range(60):
                trial = np.clip(x + t * p, lo, hi)
                change = float(g @ (trial - x))
                if change < 0:
                    value = obj.value(trial)
                    if np.isfinite(value) and value <= fx + 1e-4 * change:
                        return trial, decrement, tau0
                t *= 0.5
        shift = max(10.0 * shift, 1e-4 * scale)  # Levenberg-style: shorter, gradient-like
    return None, decrement, tau0


def _curvilinear(obj, x, fx, g, h, s, slope):
    """Moré & Sorensen's (1979) curvilinear search ``x + u s + sqrt(u) d`` at an indefinite
    Hessian: ``s`` the modified-Newton direction, ``d`` the eigenvector of the most negative
    curvature (oriented downhill, as long as ``s``). Accepts when
    ``f <= f0 + 1e-4 u (g.s + d.H.d / 2)``; returns the new point or None."""
    curvature, z, _ = _negative_curvature(h)
    if z is None:
        return None
    d = -z if float(g @ z) > 0 else z
    d = d * min(float(np.linalg.norm(s)), max(1.0, float(np.linalg.norm(x))))
    model = slope + 0.5 * curvature * float(d @ d)
    if not (np.isfinite(model) and model < 0):
        return None
    phi = lambda u: obj.value(x + u * s + np.sqrt(u) * d)  # noqa: E731
    found = armijo_backtracking(phi, fx, model, max_trials=40)
    if found.step is None:
        return None
    u = found.step
    return x + u * s + np.sqrt(u) * d


def _trust_step(obj, x, fx, g, h, state):
    """One trust-region iteration; returns the new point (maybe ``x`` itself, after a rejected
    step with a smaller radius) or None when the radius collapsed."""
    gnorm = float(np.linalg.norm(g))
    p = None
    if state["subproblem"] == "exact":
        p = more_sorensen(h, g, state["radius"], lambda: _lowest_pair(h))
        if p is None:  # factorising turned out not to be cheap
            state["subproblem"] = "cg"
    mvec = None
    if p is None:
        precond = banded_preconditioner(h) if sps.issparse(h) else None
        mvec = precond[1] if precond else None
        p = steihaug_pcg(h, g, state["radius"], min(0.5, np.sqrt(gnorm)) * gnorm, precond)
    pnorm = float(np.sqrt(p @ mvec(p))) if mvec else float(np.linalg.norm(p))
    predicted = -(float(g @ p) + 0.5 * float(p @ (h @ p)))
    f_new = obj.value(x + p)
    noise = _noise(fx)
    if 0 <= predicted <= noise and f_new <= fx + noise:
        # rho is noise here: take a real decrease; without one, the step is at rounding level
        if f_new < fx:
            return x + p
        if abs(pnorm - state["radius"]) > 1e-3 * state["radius"]:
            return None  # an interior (Newton) step shows no decrease: the caller decides
    rho = (fx - f_new) / predicted if predicted > 0 else -1.0
    if not np.isfinite(f_new) or rho < 0.25:
        state["radius"] = 0.25 * min(pnorm, state["radius"])
    elif rho > 0.75 and pnorm >= 0.8 * state["radius"]:
        state["radius"] = min(2.0 * state["radius"], 1e10)
    if np.isfinite(f_new) and rho > 0.15:  # SciPy's eta
        return x + p
    if state["radius"] > 1e-14 * max(1.0, float(np.linalg.norm(x))):
        return x
    return None


def _lowest_pair(h):
    """The lowest eigenvalue and unit eigenvector when the curvature is negative."""
    value, vector, _ = _negative_curvature(h)
    return value, vector


def _newton_decrement(h, g: np.ndarray) -> float:
    """``g.H^{-1} g / 2`` when ``H`` is positive definite (and cheap to factor), else inf."""
    try:
        solve, tau = modified_cholesky(h, max_tries=1)
    except NotPositiveDefinite:
        return np.inf
    if solve is None or tau:
        return np.inf
    return 0.5 * float(g @ solve(g))


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
    method: str = "auto",
    hessian: str = "compiled",
    tol: float = 1e-10,
    maxiter: int = 200,
    callback: Callable | None = None,
    params: tuple = (),
    second_order: bool = True,
    guards: bool = False,
    bounds=None,
    verbose: bool | None = None,
) -> MinimizeResult:
    """Minimise a scalar function with exact second derivatives.

    Parameters
    ----------
    f : callable
        ``f(x, *params)`` written with autodiff operations, returning a scalar; or a ready
        ``bridge.Compiled`` / ``bridge.ArrayCompiled`` (its default parameters are used).
        With ``hessian="compiled"``, problems with more than 1,000 floating elements (``x0``
        and ``params`` together: large or dense) compile in array mode
        (``bridge.compile(..., mode="array")``), others in scalar mode. Compiled problems are
        cached in-process by graph key: calling again with the same ``f`` (same program,
        constants, shapes and ``params`` values) reuses the kernels without lifting.
    x0 : array_like
        Starting point (1-D, float64, at least one variable); projected into ``bounds``.
    method : {"auto", "newton", "trust-region", "trust-exact", "trust-cg"}
        See the module docstring. ``"newton"``: modified Cholesky, a curvilinear step along
        negative curvature at indefinite Hessians, and a line search. ``"trust-region"``: an
        exact (Moré–Sorensen) subproblem when the Hessian is cheap to factor (dense up to
        2,000 variables, banded, or a sparse factor with little fill), preconditioned
        Steihaug CG otherwise. ``"auto"`` (default): Newton, falling back to the trust-region
        methods when it fails; with ``bounds``, projected Newton. Trust-region methods do not
        take ``bounds``.
    hessian : {"compiled", "eager"}
        Compiled sparse Hessian kernels (via SymPy and numba), or eager autodiff Hessians
        (dense; never touches ``bridge``).
    tol : float
        Stop when the gradient's infinity norm (the projected gradient with bounds) is at most
        ``tol``; see the module docstring for the rounding-level test when no decrease is
        possible any more.
    maxiter : int
        The most iterations (a step off a saddle point counts as one).
    callback : callable, optional
        Called with a result snapshot after each iteration; returning True stops.
    params : tuple
        Extra arguments passed to ``f`` after ``x``.
    second_order : bool
        When the gradient vanishes, check the Hessian (default). At a saddle point or maximum,
        step off along the eigenvector of the most negative eigenvalue and continue; if the
        objective is unbounded below along it, stop with ``success=False``. ``False`` accepts
        any stationary point, as first-order solvers do. (Not run with ``bounds``.)
    guards : bool
        With compiled Hessians: compile ``f`` with ``bridge.compile(..., guards=True)`` so that
        Python branches on ``x`` are frozen at ``x0`` as guards; an iterate that takes another
        branch raises :class:`bridge.GuardError`. Without it such branches raise at compile time
        (write them with ``ad.where``). Eager Hessians follow the branches as plain Python.
    bounds : sequence of (lo, hi) pairs or scipy.optimize.Bounds, optional
        Box constraints as in SciPy (None for an unbounded side).
    verbose : bool, optional
        ``True`` prints an iteration table on stderr (iteration, f, ‖g‖∞, seconds, method)
        and a summary line; the rows always go to the ``hybriddiff`` logger at DEBUG level
        (INFO with ``verbose=True``), so library users can route them with ``logging``.

    Returns
    -------
    MinimizeResult
        A ``scipy.optimize.OptimizeResult`` with ``x``, ``fun``, ``jac``, ``hess``, ``nit``,
        ``nfev``, ``njev``, ``nhev``, ``success``, ``status``, ``message``, ``setup_time``,
        ``solve_time``, ``method``, ``grad_norm`` and ``min_curvature`` (the lowest Hessian
        eigenvalue found at the end by the second-order check; None when the check did not
        run, or when a large Hessian's Cholesky factorisation already proved it positive
        definite).

    Raises
    ------
    ValueError
        For an unknown ``method`` or ``hessian``, an empty or non-finite ``x0``, bad
        ``bounds``, or ``bounds`` with a trust-region method.

    Examples
    --------
    >>> import numpy as np, hybriddiff as hd
    >>> rosen = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    >>> res = hd.minimize(rosen, np.array([-1.2, 1.0]), hessian="eager")
    >>> bool(res.success), np.round(res.x, 6), res.method
    (True, array([1., 1.]), 'newton')

    Started exactly at a saddle point, it steps off along the negative curvature:

    >>> res = hd.minimize(lambda x: x[0] ** 2 - x[1] ** 2 + x[1] ** 4, np.zeros(2), hessian="eager")
    >>> bool(res.success), np.round(np.abs(res.x), 6)
    (True, array([0.      , 0.707107]))

    With bounds (projected Newton):

    >>> box = [(-2.0, 0.5), (None, None)]
    >>> res = hd.minimize(rosen, np.array([-1.2, 1.0]), hessian="eager", bounds=box)
    >>> bool(res.success), np.round(res.x, 6)
    (True, array([0.5 , 0.25]))
    """
    if method not in METHODS:
        raise ValueError(f"minimize: method must be one of {METHODS}, got {method!r}")
    table = IterationTable(verbose)
    result = _minimize(
        f, x0, method, hessian, tol, maxiter, table.wrap(callback), params, second_order,
        guards, bounds,
    )  # fmt: skip
    table.finish(result)
    return result


class IterationTable:
    """The rows ``minimize(..., verbose=...)`` reports: one per iteration, then a summary.

    Rows go to the ``hybriddiff`` logger (DEBUG, or INFO when ``verbose``) and, when
    ``verbose`` is True, to stderr.

    >>> import io, numpy as np
    >>> table = IterationTable(True, stream=io.StringIO())
    >>> class Snap: nit, fun, grad_norm, method = 1, 2.5, 1e-3, "newton"
    >>> table.row(Snap())
    >>> print(table.stream.getvalue().splitlines()[1].split()[:3])
    ['1', '2.500000e+00', '1.000e-03']
    """

    HEADER = f"{'iter':>5} {'f':>14} {'|g|inf':>10} {'seconds':>8}  method"

    def __init__(self, verbose: bool | None, stream=None):
        import logging
        import sys

        self.verbose = bool(verbose)
        self.stream = sys.stderr if stream is None else stream
        self.logger = logging.getLogger("hybriddiff")
        self.level = logging.INFO if self.verbose else logging.DEBUG
        self.started = time.perf_counter()
        self.rows = 0

    def _emit(self, line: str) -> None:
        self.logger.log(self.level, "minimize: %s", line)
        if self.verbose:
            print(line, file=self.stream, flush=True)

    def row(self, snapshot) -> None:
        """Report one iteration (a result snapshot, as ``callback`` receives)."""
        if not (self.verbose or self.logger.isEnabledFor(self.level)):
            return
        if self.rows == 0:
            self._emit(self.HEADER)
        self.rows += 1
        self._emit(
            f"{snapshot.nit:>5} {snapshot.fun:>14.6e} {snapshot.grad_norm:>10.3e} "
            f"{time.perf_counter() - self.started:>8.3f}  {snapshot.method}"
        )

    def wrap(self, callback: Callable | None) -> Callable:
        def report(snapshot):
            self.row(snapshot)
            return bool(callback(snapshot)) if callback is not None else False

        return report

    def finish(self, result) -> None:
        if self.verbose or self.logger.isEnabledFor(self.level):
            self._emit(
                f"{'converged' if result.success else 'FAILED'} after {result.nit} iterations "
                f"(f = {result.fun:.6e}, |g|inf = {result.grad_norm:.3e}; set-up "
                f"{result.setup_time:.3f} s, solve {result.solve_time:.3f} s): {result.message}"
            )


def _minimize(
    f, x0, method, hessian, tol, maxiter, callback, params, second_order, guards, bounds
) -> MinimizeResult:
    """The body of :func:`minimize` (its iteration table wraps ``callback``)."""
    x = np.array(x0, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError(
            f"minimize: x0 is empty (shape {np.shape(x0)}); it needs at least one variable"
        )
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x)).tolist()
        raise ValueError(f"minimize: x0 has non-finite entries at flat positions {bad}")
    box = parse_bounds(bounds, x.size)
    if box is not None and method in _TRUST:
        raise ValueError(
            f"minimize: method {method!r} does not take bounds; use method='auto' or 'newton' "
            "(projected Newton)"
        )
    started = time.perf_counter()
    obj = _Objective(f, x, hessian, tuple(params), guards)
    setup_time = time.perf_counter() - started
    x_start = x

    def run(x, method, stagnation=None):
        started = time.perf_counter()
        history: list[tuple[float, float]] = []
        lo = hi = None
        if box is not None:
            lo, hi = box
            x = np.clip(x, lo, hi)
            method = "projected-newton"
        state = {"radius": 1.0, "subproblem": None}
        fx, g = obj.value_and_grad(x)
        if method in _TRUST:
            if method == "trust-cg":
                state["subproblem"] = "cg"
            elif method == "trust-exact":
                state["subproblem"] = "exact"
            else:
                state["subproblem"] = _pick_subproblem(
                    obj.hess(x) if np.all(np.isfinite(g)) else None
                )
            method = "trust-" + state["subproblem"]

        def measure(g):
            if lo is None:
                return float(np.max(np.abs(g), initial=0.0))
            return float(np.max(np.abs(projected_gradient(x, g, lo, hi)), initial=0.0))

        message, status, nit = f"maximum number of iterations ({maxiter}) reached", 1, 0
        escapes, curvature = 0, None
        for nit in range(1, maxiter + 1):
            if not (np.isfinite(fx) and np.all(np.isfinite(g))):
                message, status = f"non-finite objective or gradient at iteration {nit - 1}", 3
                break
            if measure(g) <= tol:
                nit -= 1
                if not second_order or lo is not None:
                    message, status = "gradient norm below tolerance", 0
                    break
                curvature, v, kind = _negative_curvature(obj.hess(x))
                if v is None:
                    message, status = _converged(kind, escapes), 0
                    break
                where = f"{kind} (Hessian eigenvalue {curvature:.3g} < 0)"
                x_new, reason = _step_off(obj, x, fx, g, v, curvature)
                if x_new is None:
                    message, status = f"stopped at a {where} at iteration {nit}: {reason}", 4
                    break
                nit += 1
                escapes += 1
                state["radius"] = max(state["radius"], float(np.linalg.norm(x_new - x)))
            else:
                h = obj.hess(x)
                if method.startswith("trust"):
                    x_new = _trust_step(obj, x, fx, g, h, state)
                    decrement = None
                else:
                    x_new, decrement, tau = _newton_step(obj, x, fx, g, h, lo, hi)
                if x_new is None:
                    if decrement is None:
                        decrement = _newton_decrement(h, g) if lo is None else np.inf
                    if decrement <= _noise(fx):
                        message = (
                            "converged to rounding level: no decrease of f is visible and the "
                            f"Newton model predicts {decrement:.2g} "
                            f"(gradient norm {measure(g):.2g})"
                        )
                        status, nit = 0, nit - 1
                    else:
                        what = (
                            "the trust region collapsed"
                            if method.startswith("trust")
                            else "the line search found no decrease"
                        )
                        message = (
                            f"no progress at iteration {nit}: {what} with gradient norm "
                            f"{measure(g):.3g} > tol = {tol:g}"
                        )
                        status = 2
                    break
            x = x_new
            fx, g = obj.value_and_grad(x)
            if callback is not None and callback(
                _result(x, fx, g, nit, obj, 1, "running", method, setup_time, started, measure(g))
            ):
                message, status = "stopped by callback", 5
                break
            if stagnation is not None:
                history.append((fx, float(np.linalg.norm(x))))
                if len(history) > stagnation:
                    f_old, x_old = history.pop(0)
                    if fx > f_old - 1e-2 * abs(f_old) and history[-1][1] > 1.15 * x_old:
                        message = (
                            f"running off along a valley: |x| grew by more than 15% while f "
                            f"decreased by less than 1% in {stagnation} iterations"
                        )
                        status = 2
                        break
        else:
            if np.isfinite(fx) and measure(g) <= tol:
                if second_order and lo is None:
                    curvature, v, kind = _negative_curvature(obj.hess(x))
                    if v is None:
                        message, status = _converged(kind, escapes), 0
                    else:
                        message += (
                            f"; the last point is a {kind} (Hessian eigenvalue {curvature:.3g})"
                        )
                else:
                    message, status = "gradient norm below tolerance", 0
        return _result(
            x,
            fx,
            g,
            nit,
            obj,
            status,
            message,
            method,
            setup_time,
            started,
            measure(g),
            curvature,
            final=True,
        )

    if method != "auto" or box is not None:
        return run(x_start, method)
    # auto: Newton first (it solves most problems fastest); when it fails, trust region with
    # the subproblem solver picked by size and sparsity, then truncated CG (the exact
    # subproblem follows valleys faithfully: MGH's Biggs EXP6 from its symmetric start runs
    # off to infinity with Newton and trust-exact, truncated CG takes another path)
    tried = []
    for attempt in ("newton", "trust-region", "trust-cg"):
        if tried and attempt == "trust-cg" and tried[-1].method == "trust-cg":
            continue
        # (a stagnating attempt gives way early when another one follows)
        res = run(x_start, attempt, _STAGNATION if attempt != "trust-cg" else None)
        tried.append(res)
        if res.status not in (1, 2):  # converged, or a definite answer (unbounded, ...)
            break
    best = res if res.status not in (1, 2) else min(tried, key=lambda r: r.fun)
    if len(tried) > 1:
        failed = "; ".join(f"{r.method}: {r.message}" for r in tried if r is not best)
        best.message = f"{best.method}: {best.message} (after {failed})"
        best.nit = sum(r.nit for r in tried)
        best.solve_time = sum(r.solve_time for r in tried)
    best.nfev, best.njev, best.nhev = obj.nfev, obj.njev, obj.nhev
    return best


def _pick_subproblem(h) -> str:
    """``"exact"`` when factorising the Hessian is cheap (dense up to 2,000 variables, banded,
    or a sparse factor with limited fill), ``"cg"`` otherwise."""
    if h is None:
        return "exact"
    n = h.shape[0]
    if not sps.issparse(h):
        return "exact" if n <= 2000 else "cg"
    if n <= 200:
        return "exact"
    shift = float(abs(h).sum(axis=1).max()) + 1.0  # surely positive definite: measures fill
    try:
        cheap = factor_spd(h + shift * _identity(h)) is not None
    except (LinAlgError, ValueError):
        cheap = False
    return "exact" if cheap else "cg"


def _converged(kind: str, escapes: int) -> str:
    message = "gradient norm below tolerance"
    if kind == "inconclusive":
        message += " (second-order check inconclusive: the sparse eigensolver did not converge)"
    elif escapes:
        message += f" and no negative curvature, after stepping off {escapes} saddle point(s)"
    return message


def _result(
    x, fx, g, nit, obj, status, message, method, setup_time, started, grad_norm,
    curvature=None, final=False,
) -> MinimizeResult:  # fmt: skip
    hess = None
    if final and np.all(np.isfinite(x)):
        try:
            hess = obj.hess(x)
        except Exception:  # noqa: BLE001 - the Hessian is informative only
            hess = None
    return MinimizeResult(
        x=x,
        fun=fx,
        jac=g,
        hess=hess,
        grad_norm=grad_norm,
        nit=nit,
        nfev=obj.nfev,
        njev=obj.njev,
        nhev=obj.nhev,
        success=status == 0,
        status=status,
        message=message,
        method=method,
        min_curvature=curvature,
        setup_time=setup_time,
        solve_time=time.perf_counter() - started,
    )

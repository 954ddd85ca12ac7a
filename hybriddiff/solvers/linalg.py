"""Linear algebra of the second-order solvers: factorisations of symmetric (sparse) Hessians,
modified Cholesky, the Moré–Sorensen trust-region subproblem and preconditioned Steihaug CG.

Every factorisation returns a *solver* ``solve(rhs)`` for a symmetric positive definite matrix
and raises :class:`NotPositiveDefinite` when the matrix is not positive definite:

* dense matrices: LAPACK Cholesky (``scipy.linalg.cho_factor``);
* sparse matrices of half-bandwidth at most :data:`BAND_MAX`: banded Cholesky, O(n b^2);
* other sparse matrices: SuperLU (``scipy.sparse.linalg.splu``) in symmetric mode with a
  fill-reducing ordering of ``A + A^T`` and diagonal pivots only: without row interchanges
  the pivots are those of ``L D L^T``, so the matrix is positive definite exactly when they
  are all positive (a CHOLMOD-free sparse Cholesky). When the factor would fill in more than
  :data:`FILL_MAX` times the Hessian's entries, factorising is not "cheap" and
  :func:`factor_spd` returns None (the solvers then use preconditioned CG).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from scipy.linalg import LinAlgError, cho_factor, cho_solve, cho_solve_banded, cholesky_banded

__all__ = [
    "BAND_MAX", "FILL_MAX", "NotPositiveDefinite", "Prepared", "factor_spd",
    "modified_cholesky", "more_sorensen", "steihaug_pcg", "banded_preconditioner",
]  # fmt: skip

BAND_MAX = 64  # sparse Hessians of at most this half-bandwidth use banded Cholesky
FILL_MAX = 40  # a sparse factor with more than FILL_MAX * nnz(H) + 20 n entries is not cheap

Solve = Callable[[np.ndarray], np.ndarray]


class NotPositiveDefinite(LinAlgError):
    """The matrix handed to a Cholesky-type factorisation is not positive definite."""


def _bandwidth(m) -> int:
    coo = sps.triu(m, format="coo")
    return int(np.max(coo.col - coo.row, initial=0))


class Prepared:
    """A symmetric matrix stored for repeated factorisations of ``m + shift I``.

    Banded sparse matrices keep LAPACK's banded layout and dense ones an array, so that a
    shift only touches the diagonal; general sparse matrices keep a CSC copy.
    """

    def __init__(self, m):
        self.n = m.shape[0]
        self.kind = "dense"
        if sps.issparse(m):
            coo = sps.triu(m, format="coo")
            band = int(np.max(coo.col - coo.row, initial=0))
            if band <= BAND_MAX:
                self.kind, self.band = "banded", band
                self.ab = np.zeros((band + 1, self.n))
                np.add.at(self.ab, (band + coo.row - coo.col, coo.col), coo.data)
            else:
                self.kind, self.csc = "sparse", sps.csc_matrix(m, dtype=np.float64)
        else:
            self.dense = np.asarray(m, dtype=np.float64)

    def factor(self, shift: float = 0.0) -> Solve | None:
        """A solver for ``m + shift I`` (see :func:`factor_spd`)."""
        if self.kind == "banded":
            ab = self.ab.copy() if shift else self.ab
            if shift:
                ab[self.band] += shift
            try:
                factor = cholesky_banded(ab, check_finite=False)
            except LinAlgError as exc:
                raise NotPositiveDefinite(str(exc)) from None
            if not np.all(np.isfinite(factor)):
                raise NotPositiveDefinite("non-finite banded factor")
            return lambda rhs: cho_solve_banded((factor, False), rhs, check_finite=False)
        if self.kind == "sparse":
            m = self.csc + shift * sps.identity(self.n, format="csc") if shift else self.csc
            return _sparse_ldl(m)
        m = self.dense + shift * np.eye(self.n) if shift else self.dense
        try:
            factor = cho_factor(m, check_finite=False)
        except LinAlgError as exc:
            raise NotPositiveDefinite(str(exc)) from None
        return lambda rhs: cho_solve(factor, rhs, check_finite=False)


def factor_spd(m) -> Solve | None:
    """A solver for the symmetric positive definite ``m`` (dense array or SciPy sparse).

    Raises :class:`NotPositiveDefinite` when ``m`` is not positive definite; returns None when
    no cheap factorisation exists (a sparse factor with too much fill-in).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sps
    >>> m = sps.diags([[1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0]], [-1, 0, 1])
    >>> solve = factor_spd(m)
    >>> np.round(solve(np.array([5.0, 6.0, 5.0])), 12)
    array([1., 1., 1.])
    """
    return Prepared(m).factor()


def _sparse_ldl(m: sps.csc_matrix) -> Solve | None:
    """Symmetric-mode SuperLU with diagonal pivots (see the module docstring)."""
    n = m.shape[0]
    try:
        lu = spla.splu(
            m,
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise NotPositiveDefinite(f"sparse factorisation failed: {exc}") from None
    if lu.L.nnz + lu.U.nnz > FILL_MAX * m.nnz + 20 * n:
        return None
    if not np.array_equal(lu.perm_r, lu.perm_c):
        raise NotPositiveDefinite("the sparse factorisation needed off-diagonal pivots")
    pivots = lu.U.diagonal()
    if not (np.all(np.isfinite(pivots)) and np.all(pivots > 0)):
        raise NotPositiveDefinite("a pivot of the sparse factorisation is not positive")
    return lu.solve


def _norm_inf(m) -> float:
    """``max_i sum_j |m_ij|`` (equals the 1-norm for symmetric matrices; bounds ``|m|_2``)."""
    return float(abs(m).sum(axis=1).max()) if m.shape[0] else 0.0


def modified_cholesky(h, max_tries: int = 60) -> tuple[Solve | None, float]:
    """Factor ``H + tau I`` with the smallest ``tau >= 0`` of a growing sequence that makes it
    positive definite (Nocedal & Wright, Algorithm 3.3, "Cholesky with added multiple of the
    identity"). Returns ``(solve, tau)``; ``solve`` is None when factorising is not cheap.

    The first shift is ``beta - min(diag H)`` with ``beta = 1e-3 min(1, max|diag H|)`` (so
    that nearly flat objectives are not swamped); it then doubles per failed try.

    Examples
    --------
    >>> import numpy as np
    >>> solve, tau = modified_cholesky(np.diag([2.0, -1.0]))
    >>> tau > 1.0, bool(np.all(solve(np.ones(2)) > 0))
    (True, True)
    """
    diag = np.asarray(h.diagonal(), dtype=np.float64)
    scale = float(np.max(np.abs(diag), initial=0.0))
    beta = 1e-3 * min(1.0, scale if scale > 0 else max(_norm_inf(h), 1e-12))
    smallest = float(np.min(diag, initial=np.inf))
    tau = 0.0 if smallest > 0 else beta - smallest
    prepared = Prepared(h)
    for _ in range(max_tries):
        try:
            solve = prepared.factor(tau)
        except NotPositiveDefinite:
            tau = max(2.0 * tau, beta)
            continue
        return solve, tau
    raise NotPositiveDefinite(f"H + tau I is not positive definite even at tau = {tau:.3g}")


def to_boundary(z: np.ndarray, d: np.ndarray, radius: float, mz=None, md=None) -> float:
    """The ``t >= 0`` with ``|z + t d| = radius`` (in the norm ``|v|^2 = v.M v`` when the
    products ``mz = M z`` and ``md = M d`` are given)."""
    mz = z if mz is None else mz
    md = d if md is None else md
    a, b, c = float(d @ md), 2.0 * float(z @ md), float(z @ mz) - radius**2
    if a <= 0:
        return 0.0
    return (-b + np.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)


def more_sorensen(
    h,
    g: np.ndarray,
    radius: float,
    lowest_eigenpair: Callable[[], tuple[float | None, np.ndarray | None]] | None = None,
    k_easy: float = 0.1,
    k_hard: float = 0.2,
    max_iter: int = 40,
) -> np.ndarray | None:
    """Nearly exact solution of ``min g.p + p.H.p/2`` subject to ``|p| <= radius``.

    Moré and Sorensen's method (Nocedal & Wright, Algorithm 4.3; Conn, Gould & Toint, section
    7.3; the same safeguards and stopping tests ``k_easy``/``k_hard`` as SciPy's
    ``trust-exact``): find ``lambda >= 0`` with ``H + lambda I`` positive definite and
    ``|p(lambda)| = radius``, ``(H + lambda I) p = -g``, by Newton's method on the secular
    equation ``1/|p| - 1/radius = 0``. Every iteration is one (sparse) factorisation
    (:func:`factor_spd`), so this runs only when that is cheap; ``|q|^2 = p.(H + lambda I)^{-1}
    p`` replaces the triangular solve with the factor. Inside the boundary, the step is
    completed to the boundary along the lowest eigenvector ``z`` (from
    ``lowest_eigenpair()``, called at most once) when that is nearly optimal (the hard
    case). Returns None when factorising is not cheap.
    """
    n = g.size
    gnorm = float(np.linalg.norm(g))
    prepared = Prepared(h)
    cache: dict = {}
    absh = abs(h)
    rowsum = np.asarray(absh.sum(axis=1)).ravel()
    diag = np.asarray(h.diagonal(), dtype=np.float64)
    off = rowsum - np.abs(diag)
    gersh_lb, gersh_ub = float(np.min(diag - off)), float(np.max(diag + off))
    fro = float(np.sqrt(absh.multiply(absh).sum())) if sps.issparse(h) else float(np.linalg.norm(h))
    hinf = float(rowsum.max()) if n else 0.0
    lam_hi = max(0.0, gnorm / radius + min(-gersh_lb, fro, hinf))
    lam_lo = max(0.0, -float(np.min(diag)), gnorm / radius - min(gersh_ub, fro, hinf))

    def safeguard(lo, hi):
        return max(np.sqrt(abs(lo * hi)), lo + 0.01 * (hi - lo))

    lam = 0.0 if lam_lo == 0 else safeguard(lam_lo, lam_hi)
    p = None
    for _ in range(max_iter):
        try:
            solve = prepared.factor(lam)
        except NotPositiveDefinite:
            lam_lo = max(lam_lo, lam)
            lam = safeguard(lam_lo, lam_hi)
            continue
        if solve is None:
            return None
        if gnorm <= 1e-300:
            pair = _pair(lowest_eigenpair, cache, h, solve)
            return np.zeros(n) if pair is None else radius * pair[1]
        p = solve(-g)
        pnorm = float(np.linalg.norm(p))
        if lam == 0 and pnorm <= radius:
            return p  # the Newton step is inside
        q2 = float(p @ solve(p))
        lam_new = lam + (pnorm**2 / q2) * (pnorm - radius) / radius if q2 > 0 else lam_lo
        if pnorm < radius:
            pair = _pair(lowest_eigenpair, cache, h, solve)
            if pair is not None:
                value, z = pair
                ta = to_boundary(p, z, radius)
                tb = -to_boundary(p, -z, radius)
                t = ta if abs(ta) <= abs(tb) else tb
                s2 = max(value + lam, 0.0)
                quad = float(p @ (h @ p)) + lam * pnorm**2
                if t * t * s2 <= k_hard * (quad + lam * radius**2):
                    return p + t * z
                lam_lo = max(lam_lo, lam - s2)
            lam_hi = lam
            lam = lam_new if lam_new > lam_lo else safeguard(lam_lo, lam_hi)
        else:
            if abs(pnorm - radius) <= k_easy * radius:
                return p
            lam_lo = lam
            lam = lam_new if np.isfinite(lam_new) else safeguard(lam_lo, lam_hi)
        if lam_hi - lam_lo <= 1e-14 * max(lam_hi, 1e-300):
            break
    if p is None:
        return None
    if np.linalg.norm(p) > radius:
        p = p * (radius / np.linalg.norm(p))
    return p


INVERSE_ITERATION_MIN = 500  # above this many variables: inverse iteration, not eigh


def _pair(lowest_eigenpair, cache: dict, h=None, solve: Solve | None = None):
    """The lowest eigenpair of ``h`` when it shows negative curvature (computed once per
    subproblem), else None. Small problems ask ``lowest_eigenpair()`` (dense ``eigh``); large
    ones run inverse iteration with ``solve``, the factor of the positive definite
    ``H + lambda I`` at hand: O(n) per step for banded factors, and fast exactly in the
    (nearly) hard case, where ``lambda_1 + lambda`` is small."""
    if "pair" in cache:
        return cache["pair"]
    pair = None
    if h is not None and solve is not None and h.shape[0] > INVERSE_ITERATION_MIN:
        z = np.random.default_rng(0).standard_normal(h.shape[0])
        z /= np.linalg.norm(z)
        value = np.inf
        for _ in range(30):
            w = solve(z)
            z_new = w / np.linalg.norm(w)
            new_value = float(z_new @ (h @ z_new))
            z = z_new
            if abs(new_value - value) <= 1e-8 * max(1.0, abs(new_value)):
                value = new_value
                break
            value = new_value
        pair = (value, z) if value < 0 else None
    elif lowest_eigenpair is not None:
        value, vector = lowest_eigenpair()
        pair = None if vector is None else (float(value), vector)
    cache["pair"] = pair
    return pair


def banded_preconditioner(h, band: int = 2) -> tuple[Solve, Callable]:
    """A positive definite preconditioner ``M`` for CG from the banded part of ``h``.

    ``M`` is the part of ``h`` within ``band`` diagonals of the main one, shifted by the
    added-identity scheme until its banded Cholesky succeeds (or ``diag(max(|h_ii|, tiny))``
    when that fails). Returns ``(solve, matvec)`` for ``M``.
    """
    n = h.shape[0]
    h = sps.csr_matrix(h)
    coo = sps.triu(h, format="coo")
    keep = (coo.col - coo.row) <= band
    rows, cols, vals = coo.row[keep], coo.col[keep], coo.data[keep]
    width = int(np.max(cols - rows, initial=0))
    base = np.zeros((width + 1, n))
    np.add.at(base, (width + rows - cols, cols), vals)
    diag = base[width].copy()
    scale = float(np.max(np.abs(diag), initial=0.0)) or 1.0
    beta = 1e-3 * scale
    smallest = float(np.min(diag, initial=np.inf))
    tau = 0.0 if smallest > 0 else beta - smallest
    upper = sps.coo_matrix((vals, (rows, cols)), shape=(n, n))
    for _ in range(40):
        ab = base.copy()
        ab[width] += tau
        try:
            factor = cholesky_banded(ab)
        except LinAlgError:
            tau = max(4.0 * tau, beta)
            continue
        return _banded_pair(factor, upper, tau)
    d = np.maximum(np.abs(diag), 1e-12 * scale)
    return (lambda rhs: rhs / d), (lambda v: d * v)


def _banded_pair(factor: np.ndarray, upper, tau: float) -> tuple[Solve, Callable]:
    n = factor.shape[1]
    m = (upper + sps.triu(upper, 1).T + tau * sps.identity(n)).tocsr()
    return (lambda rhs: cho_solve_banded((factor, False), rhs)), (lambda v: m @ v)


def steihaug_pcg(
    h,
    g: np.ndarray,
    radius: float,
    tol: float,
    preconditioner: tuple[Solve, Callable] | None = None,
    max_iter: int | None = None,
) -> np.ndarray:
    """Steihaug's truncated (preconditioned) CG for ``min g.p + p.H.p/2``, ``|p|_M <= radius``.

    Nocedal & Wright, Algorithm 7.2, with a preconditioner ``M = (solve, matvec)`` (positive
    definite); the trust region is then measured in the ``M``-norm ``sqrt(p.M p)``, in which
    the CG iterates grow monotonically. Stops at the boundary, on negative curvature (then
    follows it to the boundary) or when the residual is below ``tol``.
    """
    msolve, mvec = preconditioner if preconditioner is not None else (None, None)
    z = np.zeros_like(g)
    mz = np.zeros_like(g)
    r = g.copy()
    y = msolve(r) if msolve else r
    d = -y
    md = -r if msolve else d  # M d = -M y = -r
    ry = float(r @ y)
    if np.linalg.norm(r) < tol:
        return z
    for _ in range(max_iter or (2 * g.size + 10)):
        hd = h @ d
        curvature = float(d @ hd)
        if curvature <= 0:
            return z + to_boundary(z, d, radius, mz, md) * d
        alpha = ry / curvature
        z_next = z + alpha * d
        mz_next = mz + alpha * md
        if float(z_next @ mz_next) >= radius**2:
            return z + to_boundary(z, d, radius, mz, md) * d
        r_next = r + alpha * hd
        if np.linalg.norm(r_next) < tol:
            return z_next
        y_next = msolve(r_next) if msolve else r_next
        ry_next = float(r_next @ y_next)
        beta = ry_next / ry
        d = -y_next + beta * d
        md = (-r_next + beta * md) if msolve else d
        z, mz, r, ry = z_next, mz_next, r_next, ry_next
    return z

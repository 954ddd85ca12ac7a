"""Linear algebra: the batched matrix product (the primitive), dot, outer, and the
``numpy.linalg`` primitives (inv, solve, det, slogdet, cholesky, eigh, eigvalsh, svd, svdvals,
pinv) with the composites norm and lstsq, published as :mod:`autodiff.linalg`."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ..tensor import ShapeError, Tensor, _operands, apply, as_tensor
from . import elementwise as _ew
from . import reductions as _red
from .base import STRUCTURAL, Op
from .builders import declare
from .elementwise import mul
from .shape import concatenate, reshape, stack, swapaxes, transpose
from .surface import composite, surface


def _mT(x: Tensor) -> Tensor:
    return swapaxes(x, -1, -2)


def _matmul_vjp(g, out, a, b):
    ga = matmul(g, _mT(b)) if a.requires_grad else None
    gb = matmul(_mT(a), g) if b.requires_grad else None
    return ga, gb


def _matmul_jvp(t, out, a, b):
    ta, tb = t
    if ta is None:
        return matmul(a, tb)
    if tb is None:
        return matmul(ta, b)
    return matmul(ta, b) + matmul(a, tb)


# The primitive takes operands of rank >= 2; 1-D operands are promoted in matmul() below, so
# that the VJP needs no special cases and batch broadcasting is summed by the engine.
MATMUL = declare(
    Op(
        "matmul",
        2,
        np.matmul,
        _matmul_vjp,
        _matmul_jvp,
        STRUCTURAL,
        doc="Batched matrix product of operands of rank >= 2.",
    ),
    wrapper=False,  # matmul() below promotes 1-D operands
)


@surface(MATMUL, ufunc=np.matmul)
def matmul(a, b) -> Tensor:
    """Matrix product with NumPy semantics: 1-D vectors, 2-D matrices, broadcast batches."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = _operands((a, b))  # the one conversion, float dtype matched
    sa, sb = a.shape, b.shape
    if len(sa) == 0 or len(sb) == 0:
        raise ShapeError(f"matmul: operands must be at least 1-D, got shapes {sa} and {sb}")
    if sa[-1] != sb[-2 if len(sb) > 1 else 0]:
        raise ShapeError(f"matmul: inner dimensions differ for shapes {sa} and {sb}")
    a2 = reshape(a, (1, sa[0])) if len(sa) == 1 else a
    b2 = reshape(b, (sb[0], 1)) if len(sb) == 1 else b
    out = apply(MATMUL, a2, b2)
    if len(sa) == 1 or len(sb) == 1:
        shape = out.shape
        drop = {len(shape) - 2} if len(sa) == 1 else set()
        drop |= {len(shape) - 1} if len(sb) == 1 else set()
        out = reshape(out, tuple(n for i, n in enumerate(shape) if i not in drop))
    return out


@composite(methods=True, array_function=np.dot)
def dot(a, b) -> Tensor:
    """``numpy.dot`` for every case NumPy defines, differentiable to any order.

    * a 0-d operand: elementwise ``a * b``;
    * 1-D with 1-D: the inner product (a 0-d result);
    * 2-D with 2-D: the matrix product;
    * N-D with 1-D: the sum over the last axis of ``a`` (``a.shape[:-1]``);
    * N-D with M-D (M >= 2): the sum over the last axis of ``a`` and the second-to-last of
      ``b``, of shape ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]`` (unlike ``matmul``, the
      leading axes are not broadcast against each other but all kept).

    It is a composite of ``reshape``, ``transpose``, ``matmul`` and ``mul``, so its gradients,
    forward mode, ``symdiff.lift`` and ``bridge.compile`` come from those primitives.
    ``np.dot(t, b)`` and ``Tensor.dot`` call it.

    Raises
    ------
    ShapeError
        When the summed axes differ in length.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> a, b = np.ones((2, 2, 3)), np.ones((2, 3, 4))
    >>> ad.dot(a, b).shape
    (2, 2, 2, 4)
    >>> ad.dot(ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0]))
    tensor(11.)
    """
    a, b = _operands((a, b))
    sa, sb = a.shape, b.shape
    if len(sa) == 0 or len(sb) == 0:
        return mul(a, b)
    ka, kb = (len(sa) - 1, len(sb) - 2 if len(sb) > 1 else 0)
    if sa[ka] != sb[kb]:
        raise ShapeError(
            f"dot: shapes {sa} and {sb} are not aligned: {sa[ka]} (dim {ka}) != {sb[kb]} (dim {kb})"
        )
    if len(sa) <= 2 and len(sb) <= 2 or len(sb) == 1 or len(sa) == 1:
        # NumPy's matmul agrees with dot whenever one operand is 1-D or both are 2-D.
        return matmul(a, b)
    # N-D . M-D, both >= 2: contract a's last axis with b's second-to-last as one matrix
    # product (prod(a.shape[:-1]), k) @ (k, prod(b.shape[:-2]) * m), then unflatten.
    k = sa[-1]
    rows = int(np.prod(sa[:-1], dtype=np.int64))
    cols = int(np.prod(sb[:-2], dtype=np.int64)) * sb[-1]
    nb = len(sb)
    b_first = transpose(b, (nb - 2,) + tuple(range(nb - 2)) + (nb - 1,))
    out = matmul(reshape(a, (rows, k)), reshape(b_first, (k, cols)))
    return reshape(out, sa[:-1] + sb[:-2] + sb[-1:])


@composite(array_function=np.outer)
def outer(a, b) -> Tensor:
    """Outer product of two vectors."""
    return matmul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


# ==================================================================================================
# numpy.linalg: decompositions, inverses and norms (the public namespace is autodiff.linalg)
# ==================================================================================================
#
# Conventions (see the module docstring of autodiff.linalg for the user-facing text):
#
# * every primitive batches over leading axes like numpy.linalg; its VJP and JVP are written in
#   Tensor ops (matmul, solve, the decompositions themselves), so second order works;
# * cholesky / eigh / eigvalsh read the LOWER triangle only, as NumPy (LAPACK) does: the
#   derivative is that of the function NumPy computes, so gradients land on the lower triangle
#   (for a symmetric perturbation, the usual case, every convention agrees);
# * ops with several results (eigh, svd, slogdet) are ONE primitive whose output packs the
#   results along an axis (one decomposition, one node); the public functions split it with
#   getitem, which is how the results' cotangents reach the one VJP;
# * where a derivative does not exist (repeated eigenvalues or singular values seen by an
#   eigenvector / singular-vector cotangent, zero singular values of a non-square matrix) the
#   entries are nan and a RuntimeWarning names the op: never a silent wrong number.


_LinAlgError = np.linalg.LinAlgError

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])

_SYMPY_MAX_N = 4  # largest matrix the symbolic rules of inv / det / solve / cholesky expand


# --- Tensor helpers (used by the VJPs and JVPs, so they stay differentiable) ----------------------
def _float(x, name: str) -> Tensor:
    """``x`` as a floating Tensor (integer and boolean data become float64)."""
    t = as_tensor(x)
    if t.dtype.kind != "f":
        if t.dtype.kind == "c":
            raise TypeError(f"{name}: complex matrices are not supported")
        t = _ew.cast(t, np.float64)
    return t


def _check_square(name: str, a: Tensor) -> None:
    s = a.shape
    if len(s) < 2 or s[-1] != s[-2]:
        raise ShapeError(
            f"{name}: expected a square matrix or a stack of them (shape (..., n, n)), "
            f"got shape {s}"
        )


def _check_matrix(name: str, a: Tensor) -> None:
    if len(a.shape) < 2:
        raise ShapeError(
            f"{name}: expected a matrix or a stack of them (shape (..., m, n)), got shape {a.shape}"
        )


def _eye(n: int, like) -> np.ndarray:
    """The identity as a constant of ``like``'s dtype (a float64 array would promote float32)."""
    return np.eye(n, dtype=like.dtype)


def _diag_embed(v: Tensor) -> Tensor:
    """``(..., k) -> (..., k, k)`` with ``v`` on the diagonal."""
    return v[..., :, None] * _eye(v.shape[-1], v)


def _diagonal(m: Tensor) -> Tensor:
    """``(..., k, k) -> (..., k)``: the diagonal."""
    return _red.sum(m * _eye(m.shape[-1], m), axis=-1)


def _trace(m: Tensor) -> Tensor:
    return _red.sum(m * _eye(m.shape[-1], m), axis=(-2, -1))


def _strict_lower(n: int, like) -> np.ndarray:
    return np.tril(np.ones((n, n), dtype=like.dtype), -1)


def _sym_from_lower(t: Tensor) -> Tensor:
    """The symmetric matrix NumPy reads from the lower triangle of ``t``."""
    low = t * _strict_lower(t.shape[-1], t)
    return low + _mT(low) + t * _eye(t.shape[-1], t)


def _lower_cotangent(m: Tensor) -> Tensor:
    """Pull a cotangent ``m`` of the symmetric matrix read from the lower triangle back to the
    input: ``tril(m + m^T, -1) + diag(m)`` (zero on the strict upper triangle)."""
    n = m.shape[-1]
    return (m + _mT(m)) * _strict_lower(n, m) + m * _eye(n, m)


def _inverse_gaps(lam: Tensor, hit: Tensor, name: str, what: str) -> Tensor:
    """``F[..., i, j] = 1 / (lam_j - lam_i)`` off the diagonal and 0 on it, as a Tensor.

    Where ``lam_i == lam_j`` (to rounding) the derivative is undefined: ``F`` is nan where the
    matrix it multiplies (``hit``) is non-zero - with a RuntimeWarning naming the op - and 0
    where it is zero (no contribution to lose). The masks are built with Tensor comparisons,
    not from ``.data``, so the rule also holds inside ``vmap`` (one batch of matrices).
    """
    k = lam.shape[-1]
    diff = lam[..., None, :] - lam[..., :, None]
    eye = np.eye(k, dtype=bool)
    info = np.finfo(diff.dtype)
    scale = _red.max(_ew.abs(lam), axis=-1, keepdims=True)[..., None]
    tol = (8 * k * info.eps) * _ew.maximum(scale, info.tiny)
    degenerate = _ew.where(eye, False, _ew.less_equal(_ew.abs(diff), tol))
    safe = _ew.where(eye, True, degenerate)
    zero, one = np.zeros((), diff.dtype), np.ones((), diff.dtype)  # keep float32 float32
    out = _ew.where(safe, zero, one / _ew.where(safe, one, diff))
    bad = _ew.where(degenerate, _ew.not_equal(hit, 0.0), False)
    count = int(np.count_nonzero(bad.data))  # inside vmap: over the whole batch
    if count:
        warnings.warn(
            f"{name}: repeated {what} (equal to rounding) - the derivative of the "
            f"{'eigenvectors' if name == 'eigh' else 'singular vectors'} is not defined there; "
            f"{count // 2} pair(s) give nan entries",
            RuntimeWarning,
            stacklevel=4,
        )
        out = _ew.where(bad, np.full((), np.nan, diff.dtype), out)
    return out


def _any(t) -> bool:
    """Whether a cotangent / tangent holds any non-zero (skips terms that would give 0 * nan)."""
    return t is not None and bool(np.any(t.data != 0))


def _per_matrix(ns, arrays, rule, out_core: tuple[int, ...], name: str, limit=_SYMPY_MAX_N):
    """Apply ``rule(*sympy Matrices) -> object array of shape out_core`` to every matrix of a
    batch (object arrays broadcast over their leading axes)."""
    for a in arrays:
        if max(a.shape[-2:]) > limit:
            raise ValueError(
                f"{name}: the symbolic rule expands matrices up to {limit}x{limit}, got shape "
                f"{a.shape[-2:]} (lift a smaller problem, or use lift(mode='array'))"
            )
    batch = np.broadcast_shapes(*[a.shape[:-2] for a in arrays])
    full = [np.broadcast_to(a, batch + a.shape[-2:]) for a in arrays]
    out = np.empty(batch + out_core, dtype=object)
    for idx in np.ndindex(*batch):
        mats = [ns.Matrix(a[idx].tolist()) for a in full]
        out[idx + (Ellipsis,)] = np.asarray(rule(*mats), dtype=object).reshape(out_core)
    return out


def _first_failure(fn, a: np.ndarray) -> str:
    """`` at batch index (i, j)`` of the first matrix on which ``fn`` raises LinAlgError."""
    if a.ndim <= 2:
        return ""
    for idx in np.ndindex(*a.shape[:-2]):
        try:
            fn(a[idx])
        except _LinAlgError:
            return f" at batch index {idx}"
    return ""


def _lapack(name: str, fn, a: np.ndarray, what: str):
    try:
        return fn(a)
    except _LinAlgError:
        raise _LinAlgError(
            f"{name}: the matrix{_first_failure(fn, a)} is {what} (input shape {a.shape})"
        ) from None


def _mat(m) -> np.ndarray:
    return np.asarray(m.tolist(), dtype=object)


# --- inv ------------------------------------------------------------------------------------------
def _inv_vjp(g, out, a):
    return (-(_mT(out) @ g @ _mT(out)),)


def _inv_jvp(t, out, a):
    return -(out @ t[0] @ out)


INV = declare(
    Op(
        "inv",
        1,
        lambda a: _lapack("inv", np.linalg.inv, a, "singular"),
        _inv_vjp,
        _inv_jvp,
        lambda ns, a: _per_matrix(
            ns, [a], lambda m: _mat(m.adjugate() / m.det()), a.shape[-2:], "inv"
        ),
        doc="Inverse of a square matrix (batched over leading axes).",
    ),
    wrapper=False,
)


# --- solve ----------------------------------------------------------------------------------------
def _solve_vjp(g, out, a, b):
    gb = apply(SOLVE, _mT(a), g)
    ga = -(gb @ _mT(out)) if a.requires_grad else None
    return ga, (gb if b.requires_grad else None)


def _solve_jvp(t, out, a, b):
    ta, tb = t
    rhs = tb if ta is None else (-(ta @ out) if tb is None else tb - ta @ out)
    return apply(SOLVE, a, rhs)


def _solve_sympy(ns, a, b):
    n, k = a.shape[-1], b.shape[-1]
    return _per_matrix(ns, [a, b], lambda m, r: _mat(m.adjugate() * r / m.det()), (n, k), "solve")


SOLVE = declare(
    Op(
        "solve",
        2,
        lambda a, b: _lapack("solve", lambda m: np.linalg.solve(m, b), a, "singular"),
        _solve_vjp,
        _solve_jvp,
        _solve_sympy,
        doc="Solve ``a @ x = b`` for ``x`` (``a`` of shape (..., n, n), ``b`` of (..., n, k)).",
    ),
    wrapper=False,
)


# --- det and slogdet ------------------------------------------------------------------------------
def _inv_for(name: str, a: Tensor) -> Tensor:
    try:
        return apply(INV, a)
    except _LinAlgError:
        raise _LinAlgError(
            f"{name}: the derivative at a singular matrix (input shape {a.shape}) is not "
            "supported (it is the adjugate, which needs no inverse); perturb the matrix or "
            "differentiate a regularized function"
        ) from None


_COFACTOR_MAX_N = 6  # det's derivative by cofactors (at singular matrices) up to this size


def _cofactors(a: Tensor) -> Tensor:
    """The cofactor matrix ``C`` (``C_ij = (-1)^(i+j) det(minor_ij)``, so ``d det = <C, dA>``),
    built from determinants of minors: exact at singular matrices, differentiable again."""
    n = a.shape[-1]
    if n == 1:
        return a * 0.0 + 1.0
    rows = []
    for i in range(n):
        keep_r = np.array([r for r in range(n) if r != i])
        sub = a[..., keep_r, :]
        row = []
        for j in range(n):
            keep_c = np.array([c for c in range(n) if c != j])
            minor = apply(DET, sub[..., keep_c])
            row.append(minor if (i + j) % 2 == 0 else -minor)
        rows.append(stack(row, axis=-1))
    return stack(rows, axis=-2)


def _det_gradient(a: Tensor, out: Tensor) -> Tensor:
    """``d det / dA``: ``det(A) inv(A)^T`` for a well-conditioned matrix, the cofactor matrix
    (the adjugate's transpose, exact at singular matrices) otherwise."""
    n = a.shape[-1]
    if n <= _COFACTOR_MAX_N:
        with np.errstate(all="ignore"):
            cond = np.linalg.cond(a.data) if a.size else np.zeros(())
        if not np.all(cond < 1e6):
            return _cofactors(a)
    return out[..., None, None] * _mT(_inv_for("det", a))


def _det_vjp(g, out, a):
    return (g[..., None, None] * _det_gradient(a, out),)


def _det_jvp(t, out, a):
    return _red.sum(_det_gradient(a, out) * t[0], axis=(-2, -1))


DET = declare(
    Op(
        "det",
        1,
        np.linalg.det,
        _det_vjp,
        _det_jvp,
        lambda ns, a: _per_matrix(ns, [a], lambda m: m.det(), (), "det"),
        doc="Determinant of a square matrix (LU; batched over leading axes).",
    ),
    wrapper=False,
)


def _slogdet_forward(a):
    sign, logabs = np.linalg.slogdet(a)
    return np.stack([sign, logabs], axis=-1)


def _slogdet_vjp(g, out, a):
    return (g[..., 1][..., None, None] * _mT(_inv_for("slogdet", a)),)


def _slogdet_jvp(t, out, a):
    d = _trace(apply(SOLVE, a, t[0]))
    return concatenate([d[..., None] * 0.0, d[..., None]], axis=-1)


def _slogdet_sympy(ns, a):
    def rule(m):
        d = m.det()
        return [ns.sign(d), ns.log(ns.Abs(d))]

    return _per_matrix(ns, [a], rule, (2,), "slogdet")


SLOGDET = declare(
    Op(
        "slogdet",
        1,
        _slogdet_forward,
        _slogdet_vjp,
        _slogdet_jvp,
        _slogdet_sympy,
        doc="Sign and log|det| of a square matrix, packed along a last axis of length 2 (the "
        "sign has derivative 0).",
    ),
    wrapper=False,
)


# --- cholesky -------------------------------------------------------------------------------------
def _phi(n: int, like) -> np.ndarray:
    """The lower-triangle mask with the diagonal halved (Murray 2016, Phi)."""
    return (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(like.dtype)


def _cholesky_vjp(g, out, a):
    lt = _mT(out)
    p = (lt @ g) * _phi(out.shape[-1], out)
    x1 = apply(SOLVE, lt, p)  # L^-T P
    m = _mT(apply(SOLVE, lt, _mT(x1)))  # L^-T P L^-1
    return (_lower_cotangent(m),)


def _cholesky_jvp(t, out, a):
    s = _sym_from_lower(t[0])
    y1 = apply(SOLVE, out, s)  # L^-1 S
    z = _mT(apply(SOLVE, out, _mT(y1)))  # L^-1 S L^-T
    return out @ (z * _phi(out.shape[-1], out))


def _cholesky_sympy(ns, a):
    def rule(m):
        n = m.shape[0]
        low = ns.Matrix(n, n, lambda i, j: m[max(i, j), min(i, j)])  # the lower triangle only
        return _mat(low.cholesky(hermitian=False))

    return _per_matrix(ns, [a], rule, a.shape[-2:], "cholesky")


CHOLESKY = declare(
    Op(
        "cholesky",
        1,
        lambda a: _lapack("cholesky", np.linalg.cholesky, a, "not positive definite"),
        _cholesky_vjp,
        _cholesky_jvp,
        _cholesky_sympy,
        doc="Lower Cholesky factor of a symmetric positive definite matrix (reads the lower "
        "triangle).",
    ),
    wrapper=False,
)


# --- eigh and eigvalsh ----------------------------------------------------------------------------
def _eigh_forward(a):
    w, v = np.linalg.eigh(a)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_vjp(g, out, a):
    w, v = out[..., 0, :], out[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    inner = _diag_embed(gw)
    if _any(gv):
        x = _mT(v) @ gv
        inner = inner + _inverse_gaps(w, x, "eigh", "eigenvalues") * x
    return (_lower_cotangent(v @ inner @ _mT(v)),)


def _eigh_jvp(t, out, a):
    w, v = out[..., 0, :], out[..., 1:, :]
    y = _mT(v) @ _sym_from_lower(t[0]) @ v
    dw = _diagonal(y)
    dv = v @ (_inverse_gaps(w, y, "eigh", "eigenvalues") * y)
    return concatenate([dw[..., None, :], dv], axis=-2)


def _eigh_sympy(ns, a):
    n = a.shape[-1]
    if n != 1:
        raise ValueError(
            f"eigh: eigenvectors lift only for 1x1 matrices, got {n}x{n} (their signs are not "
            "fixed by a formula); lift eigvalsh for eigenvalues (closed form up to 2x2)"
        )
    return np.concatenate([a, np.ones_like(a) * ns.Integer(1)], axis=-2)


EIGH = declare(
    Op(
        "eigh",
        1,
        _eigh_forward,
        _eigh_vjp,
        _eigh_jvp,
        _eigh_sympy,
        doc="Eigenvalues (row 0) and eigenvectors (rows 1..n) of a symmetric matrix, packed "
        "into shape (..., n + 1, n) (reads the lower triangle).",
    ),
    wrapper=False,
)


def _eigvalsh_vjp(g, out, a):
    v = apply(EIGH, a)[..., 1:, :]
    return (_lower_cotangent((v * g[..., None, :]) @ _mT(v)),)


def _eigvalsh_jvp(t, out, a):
    v = apply(EIGH, a)[..., 1:, :]
    return _red.sum(v * (_sym_from_lower(t[0]) @ v), axis=-2)


def _eigvalsh_sympy(ns, a):
    n = a.shape[-1]
    if n > 2:
        raise ValueError(f"eigvalsh: closed-form eigenvalues lift up to 2x2 matrices, got {n}x{n}")

    def rule(m):
        if n == 1:
            return [m[0, 0]]
        mid = (m[0, 0] + m[1, 1]) / 2
        r = ns.sqrt(((m[0, 0] - m[1, 1]) / 2) ** 2 + m[1, 0] ** 2)
        return [mid - r, mid + r]

    return _per_matrix(ns, [a], rule, (n,), "eigvalsh")


EIGVALSH = declare(
    Op(
        "eigvalsh",
        1,
        np.linalg.eigvalsh,
        _eigvalsh_vjp,
        _eigvalsh_jvp,
        _eigvalsh_sympy,
        doc="Eigenvalues of a symmetric matrix in ascending order (reads the lower triangle).",
    ),
    wrapper=False,
)


# --- svd and svdvals ------------------------------------------------------------------------------
def _svd_forward(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    v = np.swapaxes(vt, -1, -2)
    if s.shape[-1] == 1:
        # one singular triple (a single row or column): fix the sign so that the 1x1 factor is
        # +1, the convention the symbolic rule uses (LAPACK's sign is otherwise arbitrary)
        flip = np.where((v if a.shape[-1] == 1 else u)[..., :1, :1] < 0, -1, 1).astype(u.dtype)
        u, v = u * flip, v * flip
    return np.concatenate([u, s[..., None, :], v], axis=-2)


def _svd_parts(p, m: int):
    return p[..., :m, :], p[..., m, :], p[..., m + 1 :, :]


def _inverse_values(s: Tensor, hit: bool) -> Tensor:
    """``1 / s``; nan (with a warning) where ``s == 0`` and a term needs it. The mask is a
    Tensor comparison (not ``.data``), so the rule also holds inside ``vmap``."""
    small = _ew.less_equal(s, np.finfo(s.dtype).tiny)
    one = np.ones((), s.dtype)
    out = one / _ew.where(small, one, s)
    if hit and np.any(small.data):
        warnings.warn(
            "svd: the singular vectors of a non-square matrix with a zero singular value have "
            "no derivative there; those entries are nan",
            RuntimeWarning,
            stacklevel=4,
        )
        out = _ew.where(small, np.full((), np.nan, s.dtype), out)
    return out


def _svd_vjp(g, out, a):
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, v = _svd_parts(out, m)
    gu, gs, gv = _svd_parts(g, m)
    inner = _diag_embed(gs)
    s2 = s * s
    if _any(gu):
        x = _mT(u) @ gu
        anti = x - _mT(x)
        inner = inner + _inverse_gaps(s2, anti, "svd", "singular values") * anti * s[..., None, :]
    if _any(gv):
        y = _mT(v) @ gv
        anti = y - _mT(y)
        inner = inner + _inverse_gaps(s2, anti, "svd", "singular values") * anti * s[..., :, None]
    ga = u @ inner @ _mT(v)
    if m > k and _any(gu):
        ga = ga + ((gu - u @ (_mT(u) @ gu)) * _inverse_values(s, True)[..., None, :]) @ _mT(v)
    if n > k and _any(gv):
        rest = (gv - v @ (_mT(v) @ gv)) * _inverse_values(s, True)[..., None, :]
        ga = ga + u @ _mT(rest)
    return (ga,)


def _svd_jvp(t, out, a):
    (ta,) = t
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, v = _svd_parts(out, m)
    ds_mat = _mT(u) @ ta @ v
    ds = _diagonal(ds_mat)
    s2 = s * s
    su = ds_mat * s[..., None, :] + _mT(ds_mat) * s[..., :, None]
    sv = ds_mat * s[..., :, None] + _mT(ds_mat) * s[..., None, :]
    du = u @ (_inverse_gaps(s2, su, "svd", "singular values") * su)
    dv = v @ (_inverse_gaps(s2, sv, "svd", "singular values") * sv)
    if m > k:
        av = ta @ v
        du = du + (av - u @ (_mT(u) @ av)) * _inverse_values(s, _any(av))[..., None, :]
    if n > k:
        au = _mT(ta) @ u
        dv = dv + (au - v @ (_mT(v) @ au)) * _inverse_values(s, _any(au))[..., None, :]
    return concatenate([du, ds[..., None, :], dv], axis=-2)


def _svd_sympy(ns, a):
    m, n = a.shape[-2:]
    if min(m, n) != 1:
        raise ValueError(
            f"svd: singular vectors lift only for a single row or column, got shape {(m, n)} "
            "(beyond it their signs are not fixed by a formula); lift svdvals / "
            "svd(..., compute_uv=False) for singular values (closed form up to 2 rows or columns)"
        )

    def rule(mat):
        s = ns.sqrt(sum(e**2 for e in mat))
        if n == 1:  # a column: U = a / |a|, V = [[1]]
            return [[e / s] for e in mat] + [[s], [ns.Integer(1)]]
        return [[ns.Integer(1)], [s]] + [[e / s] for e in mat]  # a row: U = [[1]], V = a^T / |a|

    return _per_matrix(ns, [a], rule, (m + 1 + n, 1), "svd", limit=10**9)


SVD = declare(
    Op(
        "svd",
        1,
        _svd_forward,
        _svd_vjp,
        _svd_jvp,
        _svd_sympy,
        doc="Reduced SVD of an (m, n) matrix packed into shape (..., m + 1 + n, k): U, the "
        "singular values, V (k = min(m, n); for k = 1 the 1x1 factor is +1).",
    ),
    wrapper=False,
)


def _svdvals_vjp(g, out, a):
    u, _, v = _svd_parts(apply(SVD, a), a.shape[-2])
    return ((u * g[..., None, :]) @ _mT(v),)


def _svdvals_jvp(t, out, a):
    u, _, v = _svd_parts(apply(SVD, a), a.shape[-2])
    return _red.sum(u * (t[0] @ v), axis=-2)


def _svdvals_sympy(ns, a):
    m, n = a.shape[-2:]
    k = min(m, n)
    if k > 2:
        raise ValueError(
            f"svdvals: closed-form singular values lift for matrices with up to 2 rows or "
            f"columns, got shape {(m, n)}"
        )

    def rule(mat):
        if k == 1:
            return [ns.sqrt(sum(e**2 for e in mat))]
        gram = mat.T * mat if n == 2 else mat * mat.T
        tr = gram[0, 0] + gram[1, 1]
        r = ns.sqrt((gram[0, 0] - gram[1, 1]) ** 2 + 4 * gram[0, 1] ** 2)
        return [ns.sqrt((tr + r) / 2), ns.sqrt((tr - r) / 2)]

    return _per_matrix(ns, [a], rule, (k,), "svdvals", limit=10**9)


SVDVALS = declare(
    Op(
        "svdvals",
        1,
        lambda a: np.linalg.svd(a, compute_uv=False),
        _svdvals_vjp,
        _svdvals_jvp,
        _svdvals_sympy,
        doc="Singular values of a matrix in descending order.",
    ),
    wrapper=False,
)


# --- pinv -----------------------------------------------------------------------------------------
def _pinv_rank_warning(a: Tensor, rcond: float) -> None:
    s = np.linalg.svd(a.data, compute_uv=False)
    kept = s > rcond * np.max(s, axis=-1, keepdims=True)
    if not kept.all():
        warnings.warn(
            f"pinv: the matrix (shape {a.shape}) is rank-deficient; its pseudo-inverse is not "
            "differentiable there and the derivative returned is the one along rank-preserving "
            "perturbations",
            RuntimeWarning,
            stacklevel=4,
        )


def _pinv_vjp(g, out, a, rcond):
    _pinv_rank_warning(a, rcond)
    p, pt, gt = out, _mT(out), _mT(g)
    m, n = a.shape[-2:]
    left = _eye(m, a) - a @ p  # I - A P  (m, m)
    right = _eye(n, a) - p @ a  # I - P A  (n, n)
    return (-(pt @ g @ pt) + left @ gt @ (p @ pt) + (pt @ p) @ gt @ right,)


def _pinv_jvp(t, out, a, rcond):
    _pinv_rank_warning(a, rcond)
    (ta,) = t
    p, pt, tt = out, _mT(out), _mT(ta)
    m, n = a.shape[-2:]
    return (
        -(p @ ta @ p) + (p @ pt) @ tt @ (_eye(m, a) - a @ p) + (_eye(n, a) - p @ a) @ tt @ (pt @ p)
    )


def _pinv_sympy(ns, a, rcond):
    m, n = a.shape[-2:]

    def rule(mat):
        if m >= n:
            gram = mat.T * mat
            return _mat(gram.adjugate() * mat.T / gram.det())
        gram = mat * mat.T
        return _mat(mat.T * gram.adjugate() / gram.det())

    return _per_matrix(ns, [a], rule, (n, m), "pinv")


PINV = declare(
    Op(
        "pinv",
        1,
        lambda a, rcond: np.linalg.pinv(a, rcond=rcond),
        _pinv_vjp,
        _pinv_jvp,
        _pinv_sympy,
        doc="Moore-Penrose pseudo-inverse (singular values below rcond * largest are dropped).",
    ),
    wrapper=False,
)


# --- the public functions (autodiff.linalg re-exports them; np.linalg.* dispatches to them) ------
@surface(INV, export=False, array_function=np.linalg.inv)
def inv(a) -> Tensor:
    """Inverse of a square matrix, batched over leading axes like ``numpy.linalg.inv``.

    ``d inv(A) = -inv(A) dA inv(A)``. A singular matrix raises ``numpy.linalg.LinAlgError``
    naming the op, the shape and the batch index.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.inv([[2.0, 0.0], [0.0, 4.0]])
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    a = _float(a, "inv")
    _check_square("inv", a)
    return apply(INV, a)


@surface(SOLVE, export=False, array_function=np.linalg.solve)
def solve(a, b) -> Tensor:
    """Solve ``a @ x = b`` like ``numpy.linalg.solve`` (NumPy >= 2 semantics).

    ``a`` has shape ``(..., n, n)``; ``b`` is a vector ``(n,)`` or a stack of matrices
    ``(..., n, k)``; batch axes broadcast. A primitive (LU solve), not ``inv(a) @ b``: its
    VJP solves with ``a.T`` (``b_bar = solve(a.T, g)``, ``a_bar = -b_bar @ x.T``).

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.solve([[2.0, 0.0], [0.0, 4.0]], [1.0, 1.0])
    tensor([0.5 , 0.25])
    """
    a, b = _float(a, "solve"), _float(b, "solve")
    _check_square("solve", a)
    n = a.shape[-1]
    vector = len(b.shape) == 1
    if vector:
        if b.shape[0] != n:
            raise ShapeError(f"solve: a of shape {a.shape} and b of shape {b.shape} do not match")
        b = reshape(b, (n, 1))
    elif len(b.shape) < 2 or b.shape[-2] != n:
        raise ShapeError(
            f"solve: b must have shape (n,) or (..., n, k) with n = {n} for a of shape "
            f"{a.shape}, got {b.shape}"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"solve: batch shapes of a {a.shape} and b {b.shape} do not broadcast"
        ) from None
    x = apply(SOLVE, a, b)
    return reshape(x, x.shape[:-1]) if vector else x


@surface(DET, export=False, array_function=np.linalg.det)
def det(a) -> Tensor:
    """Determinant of a square matrix (batched), like ``numpy.linalg.det``.

    ``d det(A) = det(A) tr(inv(A) dA)``; for an ill-conditioned or singular matrix up to 6x6
    the derivative is the cofactor matrix (the adjugate's transpose, built from determinants
    of minors), exact at singular matrices; a larger singular matrix raises ``LinAlgError``.

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.linalg.det([[2.0, 1.0], [1.0, 3.0]]))
    5.000000000000001
    """
    a = _float(a, "det")
    _check_square("det", a)
    return apply(DET, a)


@surface(SLOGDET, export=False, array_function=np.linalg.slogdet)
def slogdet(a) -> SlogdetResult:
    """``(sign, logabsdet)`` of a square matrix (batched), like ``numpy.linalg.slogdet``.

    ``d logabsdet = tr(inv(A) dA)`` (so ``grad`` of logabsdet is ``inv(A).T``); the sign has
    derivative 0. A singular matrix gives ``(0, -inf)`` like NumPy, and its derivative raises.

    Examples
    --------
    >>> import autodiff as ad
    >>> sign, logdet = ad.linalg.slogdet([[2.0, 0.0], [0.0, -3.0]])
    >>> float(sign), round(float(logdet), 6)
    (-1.0, 1.791759)
    """
    a = _float(a, "slogdet")
    _check_square("slogdet", a)
    packed = apply(SLOGDET, a)
    return SlogdetResult(packed[..., 0], packed[..., 1])


@surface(CHOLESKY, export=False, array_function=np.linalg.cholesky)
def cholesky(a, /, *, upper: bool = False) -> Tensor:
    """Cholesky factor ``L`` (``a = L @ L.T``) like ``numpy.linalg.cholesky``; ``upper=True``
    gives ``L.T``.

    Only the lower triangle of ``a`` is read (as NumPy does), so the gradient lands on the
    lower triangle; for a symmetric perturbation (``a = f(theta)`` symmetric) the derivative
    is the usual one. A matrix that is not positive definite raises ``LinAlgError``.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.cholesky([[4.0, 2.0], [2.0, 5.0]])
    tensor([[2., 0.],
            [1., 2.]])
    """
    a = _float(a, "cholesky")
    _check_square("cholesky", a)
    out = apply(CHOLESKY, a)
    return _mT(out) if upper else out


@surface(EIGH, export=False, array_function=np.linalg.eigh)
def eigh(a, UPLO: str = "L") -> EighResult:  # noqa: N803 - NumPy's parameter name
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, like
    ``numpy.linalg.eigh``; returns ``EighResult(eigenvalues, eigenvectors)``.

    Reads the triangle ``UPLO`` (``'L'`` by default, as NumPy). Derivatives: ``dw_i = v_i^T dA
    v_i`` and ``dV = V (F * (V^T dA V))`` with ``F_ij = 1 / (w_j - w_i)``. At repeated
    eigenvalues the eigenvectors are not unique and have no derivative: the entries that
    depend on it are nan, with a ``RuntimeWarning`` naming ``eigh``; eigenvalue-only
    cotangents stay finite (use ``eigvalsh`` when only eigenvalues are needed). Eigenvector
    signs are LAPACK's; differentiate sign-invariant functions of them.

    Examples
    --------
    >>> import autodiff as ad
    >>> w, v = ad.linalg.eigh([[2.0, 0.0], [0.0, 1.0]])
    >>> w
    tensor([1., 2.])
    """
    a = _float(a, "eigh")
    _check_square("eigh", a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    packed = apply(EIGH, a if UPLO == "L" else _mT(a))
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


@surface(EIGVALSH, export=False, array_function=np.linalg.eigvalsh)
def eigvalsh(a, UPLO: str = "L") -> Tensor:  # noqa: N803 - NumPy's parameter name
    """Eigenvalues (ascending) of a symmetric matrix, like ``numpy.linalg.eigvalsh``.

    The gradient ``V diag(g) V^T`` is defined even at repeated eigenvalues (for symmetric
    functions of them); the second derivative there is nan with a warning (it goes through
    ``eigh``). Lifts to closed forms up to 2x2.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.eigvalsh([[2.0, 1.0], [1.0, 2.0]])
    tensor([1., 3.])
    """
    a = _float(a, "eigvalsh")
    _check_square("eigvalsh", a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigvalsh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return apply(EIGVALSH, a if UPLO == "L" else _mT(a))


@surface((SVD, SVDVALS), export=False, array_function=np.linalg.svd)
def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Singular value decomposition like ``numpy.linalg.svd``: ``SVDResult(U, S, Vh)`` with
    ``a = U @ (S[..., None] * Vh)``, or the singular values with ``compute_uv=False``.

    ``full_matrices=True`` (NumPy's default) gives square ``U`` / ``Vh``; for a non-square
    matrix their extra columns are arbitrary and not differentiable, so it is refused for a
    tensor that requires grad (pass ``full_matrices=False``). Derivatives of U and V use
    ``F_ij = 1 / (s_j^2 - s_i^2)``: at repeated singular values (or a zero one of a non-square
    matrix) those entries are nan with a ``RuntimeWarning`` naming ``svd``. ``hermitian`` is
    accepted for NumPy compatibility and computed by the general algorithm.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.svd([[3.0, 0.0], [0.0, -4.0]], compute_uv=False)
    tensor([4., 3.])
    """
    a = _float(a, "svd")
    _check_matrix("svd", a)
    if not compute_uv:
        return apply(SVDVALS, a)
    m, n = a.shape[-2:]
    if full_matrices and m != n:
        if a.requires_grad or a._op is not None:
            raise ValueError(
                f"svd: full_matrices=True on a non-square matrix of shape {a.shape} adds "
                "arbitrary columns to U or Vh that have no derivative; pass full_matrices=False"
            )
        u, s, vh = np.linalg.svd(a.data, full_matrices=True)
        return SVDResult(Tensor._wrap(u), Tensor._wrap(s), Tensor._wrap(vh))
    u, s, v = _svd_parts(apply(SVD, a), m)
    return SVDResult(u, s, _mT(v))


@surface(SVDVALS, public="svdvals", export=False, array_function=np.linalg.svdvals)
def svdvals(x, /) -> Tensor:
    """Singular values in descending order, like ``numpy.linalg.svdvals``.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.svdvals([[0.0, 2.0], [1.0, 0.0]])
    tensor([2., 1.])
    """
    x = _float(x, "svdvals")
    _check_matrix("svdvals", x)
    return apply(SVDVALS, x)


def _pinv_rcond(a: Tensor, rcond, rtol, name: str) -> float:
    """NumPy's cutoff rules: ``rcond`` (default 1e-15) or ``rtol`` (None: max(m, n) * eps)."""
    if rcond is not None and rtol is not _UNSET:
        raise ValueError(f"{name}: pass rcond or rtol, not both")
    if rcond is None:
        if rtol is _UNSET:
            return 1e-15
        if rtol is None:
            return float(max(a.shape[-2:]) * np.finfo(a.dtype).eps)
        rcond = rtol
    value = np.asarray(rcond, dtype=np.float64)
    if value.ndim:
        raise ValueError(f"{name}: a per-matrix rcond array is not supported, got {value.shape}")
    return float(value)


_UNSET = object()


@surface(PINV, export=False, array_function=np.linalg.pinv)
def pinv(a, rcond=None, hermitian: bool = False, *, rtol=_UNSET) -> Tensor:
    """Moore-Penrose pseudo-inverse like ``numpy.linalg.pinv`` (batched).

    Singular values at or below ``rcond * max(s)`` are dropped (NumPy's defaults). The
    derivative is the constant-rank formula (Golub and Pereyra): exact where ``a`` has full
    rank; at a rank-deficient ``a`` the pseudo-inverse is discontinuous and a
    ``RuntimeWarning`` says that the derivative returned is the one along rank-preserving
    perturbations. ``hermitian`` is accepted and computed by the general algorithm.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.pinv([[1.0], [1.0]])
    tensor([[0.5, 0.5]])
    """
    a = _float(a, "pinv")
    _check_matrix("pinv", a)
    return apply(PINV, a, rcond=_pinv_rcond(a, rcond, rtol, "pinv"))


@composite(export=False, array_function=np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """Least squares like ``numpy.linalg.lstsq``: ``(x, residuals, rank, s)``.

    ``a`` is ``(m, n)``, ``b`` is ``(m,)`` or ``(m, k)`` (not batched, as NumPy). ``rcond``
    defaults to ``max(m, n) * eps`` (NumPy >= 2). ``x = pinv(a) @ b`` (differentiable in ``a``
    and ``b``; exact for full rank, see :func:`pinv`), ``residuals`` are the squared residual
    norms per column when ``rank == n < m`` and empty otherwise, ``rank`` is a plain int and
    ``s`` the singular values of ``a``.

    Examples
    --------
    >>> import autodiff as ad
    >>> x, res, rank, s = ad.linalg.lstsq([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [1.0, 2.0, 4.0])
    >>> x, rank
    (tensor([1.33333333, 2.33333333]), 2)
    """
    a, b = _float(a, "lstsq"), _float(b, "lstsq")
    if a._batched or b._batched:
        raise ValueError(
            "lstsq inside vmap: its rank and the shape of its residuals depend on each "
            "example's data; use ad.linalg.solve (full rank) or ad.linalg.pinv(a) @ b, which batch"
        )
    if len(a.shape) != 2:
        raise ShapeError(f"lstsq: a must be 2-D (m, n), got shape {a.shape}")
    m, n = a.shape
    if len(b.shape) not in (1, 2) or b.shape[0] != m:
        raise ShapeError(f"lstsq: b must have shape ({m},) or ({m}, k), got {b.shape}")
    cutoff = float(max(m, n) * np.finfo(a.dtype).eps) if rcond is None else float(rcond)
    s = apply(SVDVALS, a)
    rank = int(np.sum(s.data > cutoff * (s.data[0] if s.data.size else 0.0)))
    x = matmul(apply(PINV, a, rcond=cutoff), b)
    if rank == n and m > n:
        r = matmul(a, x) - b
        residuals = _red.sum(r * r, axis=0)
        if len(b.shape) == 1:
            residuals = reshape(residuals, (1,))
    else:
        residuals = Tensor._wrap(np.zeros((0,), dtype=a.dtype))
    return x, residuals, rank, s


# --- norm -----------------------------------------------------------------------------------------
def _zero_guarded(x: Tensor, axes, compute) -> Tensor:
    """``compute(x)`` reduced over ``axes`` (kept), with the convention gradient 0 at 0: where a
    reduced group is all zero the result is 0 and ``compute`` sees ones instead (so neither
    the value nor any derivative is nan; the double ``where`` of JAX's safe norms)."""
    zero = _red.sum(_ew.abs(x), axis=axes, keepdims=True) == 0.0  # all zero (or empty)
    safe = _ew.where(zero, 1.0, x)
    return _ew.where(zero, 0.0, compute(safe))


def _vector_norm(x: Tensor, ord, axes) -> Tensor:
    """Vector norm over ``axes`` (kept as length-1 axes)."""
    inf = float("inf")
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    if ord is None or ord == 2:
        return _zero_guarded(x, axes, lambda y: _ew.sqrt(_red.sum(y * y, axis=axes, keepdims=True)))
    if ord == inf:
        return _red.max(_ew.abs(x), axis=axes, keepdims=True)
    if ord == -inf:
        return _red.min(_ew.abs(x), axis=axes, keepdims=True)
    if ord == 0:
        return _red.sum(_ew.cast(x != 0.0, x.dtype), axis=axes, keepdims=True)
    if ord == 1:
        return _red.sum(_ew.abs(x), axis=axes, keepdims=True)
    p = float(ord)
    if p < 0:
        # one zero entry makes the norm 0 (NumPy: inf ** (1/p)); gradient 0 there (abs'(0) = 0)
        zero = _red.min(_ew.abs(x), axis=axes, keepdims=True) == 0.0
        safe = _ew.where(zero, 1.0, x)
        total = _red.sum(_ew.abs(safe) ** p, axis=axes, keepdims=True)
        return _ew.where(zero, 0.0, total ** (1.0 / p))

    def compute(y):
        ay = _ew.abs(y)
        if p < 1:  # |x|^p has an infinite slope at 0: zero entries contribute 0 (abs'(0) = 0)
            nz = ay > 0.0
            terms = _ew.where(nz, _ew.where(nz, ay, 1.0) ** p, 0.0)
        else:
            terms = ay**p
        return _red.sum(terms, axis=axes, keepdims=True) ** (1.0 / p)

    return _zero_guarded(x, axes, compute)


def _matrix_norm(x: Tensor, ord, row: int, col: int) -> Tensor:
    """Matrix norm over axes ``(row, col)`` (kept as length-1 axes)."""
    inf = float("inf")
    nd = len(x.shape)
    axes = (row, col)
    if ord in (None, "fro", "f"):
        return _zero_guarded(x, axes, lambda y: _ew.sqrt(_red.sum(y * y, axis=axes, keepdims=True)))
    if ord in (1, -1, inf, -inf):
        # 1: largest column sum of |x| (sum over rows); inf: largest row sum
        summed, picked = (row, col) if ord in (1, -1) else (col, row)
        pick = _red.max if ord in (1, inf) else _red.min
        sums = _red.sum(_ew.abs(x), axis=summed, keepdims=True)
        return pick(sums, axis=picked, keepdims=True)
    if ord in (2, -2, "nuc"):
        others = [i for i in range(nd) if i not in axes]
        keep_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))

        def compute(y):
            moved = transpose(y, (*others, row, col))
            s = apply(SVDVALS, moved)
            if ord == "nuc":
                r = _red.sum(s, axis=-1)
            else:
                r = (_red.max if ord == 2 else _red.min)(s, axis=-1)
            return reshape(r, keep_shape)

        return _zero_guarded(x, axes, compute)
    raise ValueError(
        f"norm: invalid norm order {ord!r} for matrices (use None, 'fro', 'nuc', inf, -inf, "
        "1, -1, 2 or -2)"
    )


@composite(export=False, array_function=np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A002 - NumPy's name
    """Vector or matrix norm with every ``ord`` of ``numpy.linalg.norm`` for real input.

    * ``axis=None``: the 2-norm of the flattened array when ``ord`` is None; otherwise ``x``
      must be 1-D (a vector norm) or 2-D (a matrix norm);
    * ``axis`` an int: vector norms ``ord`` in None/2, ``inf`` (max |x|), ``-inf`` (min |x|),
      0 (number of non-zeros, no gradient), 1, and any other real p
      (``sum(|x|**p)**(1/p)``);
    * ``axis`` a pair: matrix norms ``'fro'``/None, ``'nuc'`` (sum of singular values), 2 / -2
      (largest / smallest singular value), 1 / -1 (max / min column sum of |x|), ``inf`` /
      ``-inf`` (max / min row sum);
    * ``keepdims`` as NumPy.

    **Gradient at 0** (the kink convention, like ``abs'(0) = 0``): a norm whose argument is
    all zero has derivative 0 of every order - a subgradient (0 is in the unit ball of the dual
    norm) - never nan. For ``0 < p < 1`` a zero entry contributes 0 to the gradient, and for
    ``p < 0`` a zero entry makes the norm 0 with gradient 0 (NumPy gives the value 0 too).
    Ties in ``inf`` / ``-inf`` / 1 / -1 norms split the gradient equally, as ``max`` does.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> float(ad.linalg.norm([3.0, 4.0]))
    5.0
    >>> ad.grad(ad.linalg.norm)(np.zeros(3))
    array([0., 0., 0.])
    >>> float(ad.linalg.norm([[1.0, 2.0], [3.0, 4.0]], ord=1))
    6.0
    """
    x = _float(x, "norm")
    nd = len(x.shape)
    if axis is None:
        if ord is None or (ord in ("fro", "f") and nd == 2) or (ord == 2 and nd == 1):
            flat = reshape(x, (-1,))
            out = reshape(_vector_norm(flat, None, (0,)), ())
            return reshape(out, (1,) * nd) if keepdims else out
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        if not isinstance(axis, int | np.integer):
            raise TypeError(f"norm: axis must be None, an int or a tuple of ints, got {axis!r}")
        axis = (int(axis),)
    axes = []
    for a in axis:
        if not isinstance(a, int | np.integer) or not -nd <= a < nd:
            raise ValueError(f"norm: axis {a!r} is out of range for shape {x.shape}")
        axes.append(int(a) % nd)
    if len(axes) == 1:
        out = _vector_norm(x, ord, tuple(axes))
    elif len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError(f"norm: duplicate axes given: {axis}")
        out = _matrix_norm(x, ord, axes[0], axes[1])
    else:
        raise ValueError(
            f"norm: improper number of dimensions to norm: axis {axis} for shape {x.shape} "
            "(a vector norm takes one axis, a matrix norm two)"
        )
    if keepdims:
        return out
    return reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in axes))


@composite(export=False, array_function=np.linalg.vector_norm)
def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2) -> Tensor:  # noqa: A002
    """Vector norm over ``axis`` (all axes by default, any number of them), like
    ``numpy.linalg.vector_norm`` (the array API's): the axes are flattened into one vector.
    Every vector ``ord`` of :func:`norm`, with its gradient convention at 0.

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.linalg.vector_norm([[3.0, 0.0], [0.0, 4.0]]))
    5.0
    """
    x = _float(x, "vector_norm")
    nd = len(x.shape)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
        if any(not -nd <= a < nd for a in axes):
            raise ValueError(f"vector_norm: axis {axis} is out of range for shape {x.shape}")
        axes = tuple(int(a) % nd for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"vector_norm: duplicate axes given: {axis}")
    rest = tuple(i for i in range(nd) if i not in axes)
    moved = transpose(x, axes + rest) if nd else x
    flat = reshape(moved, (-1,) + tuple(x.shape[i] for i in rest))
    out = _vector_norm(flat, ord, (0,))
    if keepdims:
        return reshape(out, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return reshape(out, tuple(x.shape[i] for i in rest))


@composite(export=False, array_function=np.linalg.matrix_norm)
def matrix_norm(x, /, *, keepdims: bool = False, ord="fro") -> Tensor:  # noqa: A002
    """Matrix norm over the last two axes (batched), like ``numpy.linalg.matrix_norm``: every
    matrix ``ord`` of :func:`norm`, with its gradient convention at 0.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.linalg.matrix_norm([[[1.0, 0.0], [0.0, 2.0]]], ord=2)
    tensor([2.])
    """
    x = _float(x, "matrix_norm")
    _check_matrix("matrix_norm", x)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)

"""Op specs of ``autodiff.linalg`` (collected into ``op_specs.ALL_SPECS``): the numpy.linalg
primitives (inv, solve, det, slogdet, cholesky, eigh, eigvalsh, svd, svdvals, pinv) and the
composites norm and lstsq.

Matrices are built from the sampled domains so that every case is well posed: ``_shift``
makes a diagonally dominant (invertible) matrix from ``small`` entries, ``_spd`` a symmetric
positive definite one, ``_sym`` a symmetric one (distinct eigenvalues at random points).
Eigenvector and singular-vector cases differentiate sign-invariant products (each column times
its first entry): LAPACK's signs are arbitrary, the products are not.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
from op_specs import Case, Kink, LiftRow, OpSpec, Row, _t

import autodiff as ad

L = ad.linalg
INF = np.inf


# --- matrix builders (ndarray or Tensor) ----------------------------------------------------------
def _mT(a):
    return ad.swapaxes(a, -1, -2) if isinstance(a, ad.Tensor) else np.swapaxes(a, -1, -2)


def _shift(a, c=4.0):
    """``a + c I``: with entries in (-1, 1) and n <= 4 strictly diagonally dominant."""
    return a + (c * np.eye(a.shape[-1])).astype(a.dtype)


def _spd(a):
    return a @ _mT(a) + (2.0 * np.eye(a.shape[-1])).astype(a.dtype)


def _sym(a):
    return a + _mT(a)


def _neg_row(a):
    """Flip the sign of the first row: a negative determinant."""
    s = np.ones((a.shape[-1], 1), dtype=a.dtype)
    s[0] = -1.0
    return a * s


def _vinv(v):
    """Column-sign-invariant form of a matrix of column vectors: each column times its first
    entry (for eigenvectors and U)."""
    return v * v[..., :1, :]


def _hinv(vh):
    """Row-sign-invariant form of Vh."""
    return vh * vh[..., :, :1]


def _block(x, shape):
    return ad.reshape(x, shape)


W2 = np.array([[0.5, -1.0], [1.5, 0.25]])  # weights: compile rows stay small formulas
SQUARE = (((3, 3),), ((2, 3, 3),), ((1, 1),), ((2, 2),))
TALL_WIDE = (((3, 2),), ((2, 4),), ((2, 3, 3),), ((1, 3),))


def _lift(fn, shapes, domains) -> LiftRow:
    return LiftRow(fn, tuple(shapes), tuple(domains))


# --- norm cases -----------------------------------------------------------------------------------
def _norm_case(label, ord, axis, shapes, keepdims=False, domain="away") -> Case:
    return Case(
        f"norm {label}",
        lambda x: L.norm(x, ord=ord, axis=axis, keepdims=keepdims),
        lambda x: np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims),
        shapes,
        (domain,),
    )


# vector ords on a non-zero-free domain ('away': |x| in (0.3, 1.5)) so every ord is smooth;
# 'distinct' keeps inf / -inf norms (max / min of |x|) free of ties
_NORM_CASES = (
    _norm_case("default (flattened 2-norm)", None, None, (((3,),), ((2, 3),), ((2, 2, 2),))),
    _norm_case("default keepdims", None, None, (((2, 3),),), keepdims=True),
    _norm_case("ord=2 axis=-1", 2, -1, (((2, 3),),)),
    _norm_case("ord=1 axis=0", 1, 0, (((3, 2),),)),
    _norm_case("ord=inf axis=1", INF, 1, (((2, 4),),), domain="distinct"),
    _norm_case("ord=-inf axis=1 keepdims", -INF, 1, (((2, 4),),), True, domain="distinct"),
    _norm_case("ord=3", 3, None, (((4,),),)),
    _norm_case("ord=0.5", 0.5, None, (((4,),),)),
    _norm_case("ord=-1", -1, None, (((4,),),)),
    _norm_case("ord=-2.5 axis=0", -2.5, 0, (((3, 2),),)),
    _norm_case("fro", "fro", None, (((2, 3),),)),
    _norm_case("nuc", "nuc", None, (((3, 2),),)),
    _norm_case("ord=2 matrix", 2, None, (((2, 3),),)),
    _norm_case("ord=-2 matrix", -2, None, (((3, 3),),)),
    _norm_case("ord=1 matrix", 1, None, (((3, 2),),), domain="distinct"),
    _norm_case("ord=-1 matrix", -1, None, (((3, 2),),), domain="distinct"),
    _norm_case("ord=inf matrix", INF, None, (((2, 3),),), domain="distinct"),
    _norm_case("ord=-inf matrix", -INF, None, (((2, 3),),), domain="distinct"),
    _norm_case("nuc axis=(2, 0) batched", "nuc", (2, 0), (((3, 2, 2),),)),
    _norm_case("ord=2 axis=(1, 2) keepdims", 2, (1, 2), (((2, 3, 2),),), True),
    _norm_case("fro axis=(0, 1)", "fro", (0, 1), (((2, 3, 2),),)),
    Case(
        "norm ord=0 (count, no gradient)",
        lambda x: L.norm(x, ord=0),
        lambda x: np.linalg.norm(x, ord=0),
        (((4,),),),
        ("away",),
        differentiable=False,
    ),
    Case(
        "np.linalg.norm dispatch",
        lambda x: np.linalg.norm(_t(x), axis=1),
        lambda x: np.linalg.norm(x, axis=1),
        (((2, 3),),),
        ("away",),
    ),
)


SPECS: list[OpSpec] = [
    OpSpec(
        "inv",
        eager=(
            Case(
                "inv",
                lambda a: L.inv(_shift(a)),
                lambda a: np.linalg.inv(_shift(a)),
                SQUARE,
                ("small",),
            ),
            Case(
                "np.linalg.inv dispatch",
                lambda a: np.linalg.inv(_shift(_t(a))),
                lambda a: np.linalg.inv(_shift(a)),
                (((2, 2),),),
                ("small",),
            ),
        ),
        lift=_lift(lambda a: ad.sum(ad.sin(L.inv(_shift(a)))), [(2, 2)], ["small"]),
        compile=(
            Row(
                "inv",
                ("inv",),
                lambda x: ad.sum(L.inv(_shift(_block(x, (2, 2)))) * W2),
                4,
                "small",
            ),
        ),
    ),
    OpSpec(
        "solve",
        eager=(
            Case(
                "solve (b a vector, a matrix, a batch)",
                lambda a, b: L.solve(_shift(a), b),
                lambda a, b: np.linalg.solve(_shift(a), b),
                (((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3, 2)), ((3, 3), (2, 3, 1))),
                ("small", "real"),
            ),
        ),
        lift=_lift(
            lambda a, b: ad.sum(ad.sin(L.solve(_shift(a), b))), [(2, 2), (2,)], ["small", "real"]
        ),
        compile=(
            Row(
                "solve",
                ("solve",),
                lambda x: ad.sum(L.solve(_shift(_block(x[:4], (2, 2))), x[4:]) * W2[0]),
                6,
                "small",
            ),
        ),
    ),
    OpSpec(
        "det",
        eager=(
            Case(
                "det",
                lambda a: L.det(_shift(a)),
                lambda a: np.linalg.det(_shift(a)),
                SQUARE,
                ("small",),
            ),
            Case(
                "det (negative)",
                lambda a: L.det(_neg_row(_shift(a))),
                lambda a: np.linalg.det(_neg_row(_shift(a))),
                (((3, 3),),),
                ("small",),
            ),
        ),
        lift=_lift(lambda a: ad.sin(L.det(_shift(a, 1.0))), [(2, 2)], ["small"]),
        compile=(
            Row(
                "det",
                ("det",),
                lambda x: ad.sin(L.det(_shift(_block(x, (2, 2)), 1.0))),
                4,
                "small",
            ),
        ),
    ),
    OpSpec(
        "slogdet",
        eager=(
            Case(
                "logabsdet",
                lambda a: L.slogdet(_shift(a))[1],
                lambda a: np.linalg.slogdet(_shift(a))[1],
                SQUARE,
                ("small",),
            ),
            Case(
                "sign * logabsdet (negative det)",
                lambda a: (lambda r: r.sign * r.logabsdet)(L.slogdet(_neg_row(_shift(a)))),
                lambda a: (lambda r: r[0] * r[1])(np.linalg.slogdet(_neg_row(_shift(a)))),
                (((3, 3),), ((2, 2, 2),)),
                ("small",),
            ),
        ),
        lift=_lift(
            lambda a: (lambda r: r[0] * r[1] ** 2)(L.slogdet(_neg_row(_shift(a)))),
            [(2, 2)],
            ["small"],
        ),
        compile=(
            Row(
                "slogdet",
                ("slogdet",),
                lambda x: (lambda r: r[0] * r[1] ** 2)(
                    L.slogdet(_neg_row(_shift(_block(x, (2, 2)))))
                ),
                4,
                "small",
            ),
        ),
    ),
    OpSpec(
        "cholesky",
        eager=(
            Case(
                "cholesky",
                lambda a: L.cholesky(_spd(a)),
                lambda a: np.linalg.cholesky(_spd(a)),
                SQUARE,
            ),
            Case(
                "cholesky upper=True",
                lambda a: L.cholesky(_spd(a), upper=True),
                lambda a: np.linalg.cholesky(_spd(a), upper=True),
                (((3, 3),),),
            ),
            # NumPy reads the lower triangle only: the strict upper triangle has derivative 0
            Case(
                "cholesky reads the lower triangle",
                lambda a, u: L.cholesky(_spd(a) + u * np.triu(np.ones((3, 3), a.dtype), 1)),
                lambda a, u: np.linalg.cholesky(_spd(a) + u * np.triu(np.ones((3, 3)), 1)),
                (((3, 3), (3, 3)),),
            ),
        ),
        lift=_lift(lambda a: ad.sum(ad.sin(L.cholesky(_spd(a)))), [(2, 2)], ["real"]),
        compile=(
            Row(
                "cholesky",
                ("cholesky",),
                lambda x: ad.sum(L.cholesky(_spd(_block(x, (2, 2)))) * W2),
                4,
            ),
        ),
    ),
    OpSpec(
        "eigh",
        eager=(
            Case(
                "eigh eigenvalues",
                lambda a: L.eigh(_sym(a))[0],
                lambda a: np.linalg.eigh(_sym(a))[0],
                SQUARE,
            ),
            Case(
                "eigh eigenvectors (sign-invariant)",
                lambda a: _vinv(L.eigh(_sym(a)).eigenvectors),
                lambda a: _vinv(np.linalg.eigh(_sym(a)).eigenvectors),
                SQUARE,
            ),
            Case(
                "eigh UPLO='U'",
                lambda a: _vinv(L.eigh(a, UPLO="U")[1]) + L.eigh(a, UPLO="U")[0],
                lambda a: _vinv(np.linalg.eigh(a, UPLO="U")[1]) + np.linalg.eigh(a, UPLO="U")[0],
                (((3, 3),),),
            ),
        ),
        # eigenvectors lift for 1x1 matrices only (documented): a batch of three
        lift=_lift(
            lambda a: (lambda r: ad.sum(ad.sin(r[0])[..., None, :] * r[1]))(L.eigh(a)),
            [(3, 1, 1)],
            ["real"],
        ),
        compile=(
            Row(
                "eigh (1x1 batch)",
                ("eigh",),
                lambda x: (lambda r: ad.sum(ad.sin(r[0])[..., None, :] * r[1]))(
                    L.eigh(_block(x, (3, 1, 1)))
                ),
                3,
            ),
        ),
    ),
    OpSpec(
        "eigvalsh",
        eager=(
            Case(
                "eigvalsh",
                lambda a: L.eigvalsh(_sym(a)),
                lambda a: np.linalg.eigvalsh(_sym(a)),
                SQUARE,
            ),
            Case(
                "eigvalsh UPLO='U' (reads the upper triangle)",
                lambda a: L.eigvalsh(a, UPLO="U"),
                lambda a: np.linalg.eigvalsh(a, UPLO="U"),
                (((3, 3),),),
            ),
        ),
        lift=_lift(lambda a: ad.sum(ad.sin(L.eigvalsh(_sym(a)))), [(2, 2)], ["real"]),
        compile=(
            Row(
                "eigvalsh",
                ("eigvalsh",),
                lambda x: ad.sum(ad.sin(L.eigvalsh(_sym(_block(x, (2, 2)))))),
                4,
            ),
        ),
    ),
    OpSpec(
        "svd",
        eager=(
            Case(
                "svd S",
                lambda a: L.svd(a, full_matrices=False).S,
                lambda a: np.linalg.svd(a, full_matrices=False).S,
                TALL_WIDE,
            ),
            Case(
                "svd U (sign-invariant)",
                lambda a: _vinv(L.svd(a, full_matrices=False).U),
                lambda a: _vinv(np.linalg.svd(a, full_matrices=False).U),
                TALL_WIDE,
            ),
            Case(
                "svd Vh (sign-invariant)",
                lambda a: _hinv(L.svd(a, full_matrices=False).Vh),
                lambda a: _hinv(np.linalg.svd(a, full_matrices=False).Vh),
                TALL_WIDE,
            ),
            Case(
                "svd reconstructs a",
                lambda a: (lambda r: (r.U * r.S[..., None, :]) @ r.Vh)(L.svd(a)),
                lambda a: a,
                (((3, 3),), ((2, 2, 2),)),
            ),
        ),
        # singular vectors lift for a single column or row only (documented)
        lift=_lift(
            lambda a: (lambda r: ad.sum(ad.sin(r.U) * r.S) + ad.sum(r.Vh))(
                L.svd(a, full_matrices=False)
            ),
            [(3, 1)],
            ["away"],
        ),
        compile=(
            Row(
                "svd (one column)",
                ("svd",),
                lambda x: (lambda r: ad.sum(ad.sin(r.U) * r.S))(
                    L.svd(_block(x, (3, 1)), full_matrices=False)
                ),
                3,
                "away",
            ),
        ),
    ),
    OpSpec(
        "svdvals",
        eager=(
            Case("svdvals", L.svdvals, np.linalg.svdvals, TALL_WIDE),
            Case(
                "svd compute_uv=False",
                lambda a: L.svd(a, compute_uv=False),
                lambda a: np.linalg.svd(a, compute_uv=False),
                (((3, 2),),),
            ),
        ),
        lift=_lift(lambda a: ad.sum(ad.sin(L.svdvals(a))), [(2, 2)], ["real"]),
        compile=(
            Row(
                "svdvals",
                ("svdvals",),
                lambda x: L.svdvals(_block(x, (2, 2)))[0],
                4,
            ),
        ),
    ),
    OpSpec(
        "pinv",
        eager=(
            Case("pinv", L.pinv, np.linalg.pinv, TALL_WIDE),
            Case(
                "pinv rtol=None",
                lambda a: L.pinv(a, rtol=None),
                lambda a: np.linalg.pinv(a, rtol=None),
                (((3, 2),),),
            ),
        ),
        lift=_lift(lambda a: ad.sum(ad.sin(L.pinv(a))), [(2, 1)], ["away"]),
        compile=(
            Row("pinv", ("pinv",), lambda x: ad.sum(ad.sin(L.pinv(_block(x, (1, 2))))), 2, "away"),
        ),
    ),
    # composites
    OpSpec(
        "norm",
        composite=True,
        eager=_NORM_CASES,
        kinks=(
            Kink("2-norm at 0", lambda x: L.norm(x), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
            Kink("3-norm at 0", lambda x: L.norm(x, 3), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
            Kink("0.5-norm at 0", lambda x: L.norm(x, 0.5), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
            Kink(
                "nuclear norm at 0",
                lambda x: L.norm(ad.reshape(x, (2, 2)), "nuc"),
                (0.0, 0.0, 0.0, 0.0),
                (0.0, 0.0, 0.0, 0.0),
            ),
            Kink(
                "spectral norm at 0",
                lambda x: L.norm(ad.reshape(x, (2, 2)), 2),
                (0.0, 0.0, 0.0, 0.0),
                (0.0, 0.0, 0.0, 0.0),
            ),
        ),
    ),
    OpSpec(
        "vector_norm",
        composite=True,
        eager=(
            Case(
                "vector_norm over all axes",
                L.vector_norm,
                np.linalg.vector_norm,
                (((2, 3),), ((3,),)),
                ("away",),
            ),
            Case(
                "vector_norm axis=(0, 2) ord=3 keepdims",
                lambda x: L.vector_norm(x, axis=(0, 2), ord=3, keepdims=True),
                lambda x: np.linalg.vector_norm(x, axis=(0, 2), ord=3, keepdims=True),
                (((2, 3, 2),),),
                ("away",),
            ),
        ),
    ),
    OpSpec(
        "matrix_norm",
        composite=True,
        eager=(
            Case(
                "matrix_norm fro (batched)",
                L.matrix_norm,
                np.linalg.matrix_norm,
                (((2, 3, 2),),),
                ("away",),
            ),
            Case(
                "matrix_norm nuc keepdims",
                lambda x: L.matrix_norm(x, ord="nuc", keepdims=True),
                lambda x: np.linalg.matrix_norm(x, ord="nuc", keepdims=True),
                (((2, 2, 3),),),
            ),
        ),
    ),
    OpSpec(
        "lstsq",
        composite=True,
        eager=(
            Case(
                "lstsq x",
                lambda a, b: L.lstsq(a, b)[0],
                lambda a, b: np.linalg.lstsq(a, b)[0],
                (((5, 3), (5,)), ((4, 2), (4, 3)), ((2, 3), (2,))),
            ),
            Case(
                "lstsq residuals",
                lambda a, b: L.lstsq(a, b)[1],
                lambda a, b: np.linalg.lstsq(a, b)[1],
                (((5, 3), (5,)), ((4, 2), (4, 3))),
            ),
            Case(
                "lstsq singular values",
                lambda a, b: L.lstsq(a, b)[3],
                lambda a, b: np.linalg.lstsq(a, b)[3],
                (((5, 3), (5,)),),
            ),
        ),
    ),
]


# np.linalg.* dispatch examples for tests/autodiff/test_op_surface.py (t: a (2, 3) tensor)
ARRAY_FUNCTION_CALLS = {
    np.linalg.norm: lambda t: ((t,), {"ord": "fro"}),
    np.linalg.vector_norm: lambda t: ((t,), {"axis": 1, "ord": 3}),
    np.linalg.matrix_norm: lambda t: ((t,), {"ord": "nuc"}),
    np.linalg.inv: lambda t: ((t @ t.T,), {}),
    np.linalg.solve: lambda t: ((t @ t.T, t[:, 0]), {}),
    np.linalg.det: lambda t: ((t @ t.T,), {}),
    np.linalg.slogdet: lambda t: ((t @ t.T,), {}),
    np.linalg.cholesky: lambda t: ((t @ t.T,), {}),
    np.linalg.eigh: lambda t: ((t @ t.T,), {}),
    np.linalg.eigvalsh: lambda t: ((t @ t.T,), {}),
    np.linalg.svd: lambda t: ((t,), {"full_matrices": False}),
    np.linalg.svdvals: lambda t: ((t,), {}),
    np.linalg.pinv: lambda t: ((t,), {}),
    np.linalg.lstsq: lambda t: ((t.T, t[0] * t[1]), {}),
}
ARRAY_FUNCTION_RTOL = {np.linalg.lstsq: 1e-13}  # pinv(a) @ b vs LAPACK's gelsd


# --- mpmath oracle entries (collected by tests/oracle/test_oracle_ops.py) ----------
# Each entry is ``(op, fn, oracle, points)``: ``fn`` an autodiff function of a 1-D block,
# ``oracle`` the same function written with mpmath's own linear algebra (``inverse``, ``det``,
# ``lu_solve``, ``cholesky``, ``eigsy``, ``svd_r``) on scalars. Sizes are the ones whose
# symbolic rules lift (documented in ``autodiff.linalg``): 2x2 matrices, 1x1 eigenvector
# batches, a single column for singular vectors.
P4 = ((2.0, 0.3, -0.5, 1.5), (1.2, -0.7, 0.4, 2.1))
P4_REAL = ((0.7, -1.3, 0.4, 1.1), (1.9, 0.4, -0.6, -1.2))


W_ORACLE = ((0.5, -1.0), (1.5, 0.25))  # weights of the matrix results (small compiled formulas)


def _msin_sum(m):
    return mp.fsum(mp.sin(v) for v in m)


def _mweighted(m):
    return mp.fsum(m[i, j] * W_ORACLE[i][j] for i in range(2) for j in range(2))


def _ospd_mp(a, b, c, d):
    m = mp.matrix([[a, b], [c, d]])
    return m * m.T + 2 * mp.eye(2)


def _ospd(x):
    a = _block(x, (2, 2))
    return a @ a.T + 2.0 * np.eye(2)


def _solve_oracle(a, b, c, d, e, f):
    return _msin_sum(mp.lu_solve(mp.matrix([[a, b], [c, d]]), mp.matrix([e, f])))


def _slogdet_oracle(a, b, c, d):
    det = mp.det(mp.matrix([[-a, -b], [c, d]]))
    return mp.sign(det) * mp.log(abs(det)) ** 2


def _eigvalsh_oracle(a, b, c, d):
    m = mp.matrix([[a, b], [c, d]])
    w, _ = mp.eigsy(m + m.T)
    return _msin_sum(w)


def _column_svd_oracle(a, b, c):
    s = mp.sqrt(a * a + b * b + c * c)
    return (mp.sin(a / s) + mp.sin(b / s) + mp.sin(c / s)) * s


def _pinv_oracle(a, b):
    # pinv of the column (a, b): (A^T A)^-1 A^T, computed with mpmath's inverse
    col = mp.matrix([[a], [b]])
    return _msin_sum(mp.inverse(col.T * col) * col.T)


ORACLE_ENTRIES = [
    (
        "inv",
        lambda x: ad.sum(L.inv(_block(x, (2, 2))) * np.array(W_ORACLE)),
        lambda a, b, c, d: _mweighted(mp.inverse(mp.matrix([[a, b], [c, d]]))),
        P4,
    ),
    (
        "solve",
        lambda x: ad.sum(ad.sin(L.solve(_block(x[:4], (2, 2)), x[4:]))),
        _solve_oracle,
        tuple(p + (0.8, -1.1) for p in P4),
    ),
    (
        "det",
        lambda x: ad.sin(L.det(_block(x, (2, 2)))),
        lambda a, b, c, d: mp.sin(mp.det(mp.matrix([[a, b], [c, d]]))),
        P4,
    ),
    (
        "slogdet",
        lambda x: (lambda r: r[0] * r[1] ** 2)(
            L.slogdet(_block(x, (2, 2)) * np.array([[-1.0], [1.0]]))
        ),
        _slogdet_oracle,
        P4,
    ),
    (
        "cholesky",
        lambda x: ad.sum(L.cholesky(_ospd(x)) * np.array(W_ORACLE)),
        lambda a, b, c, d: _mweighted(mp.cholesky(_ospd_mp(a, b, c, d))),
        P4_REAL,
    ),
    (
        "eigh",
        lambda x: (lambda r: ad.sum(ad.sin(r[0])[..., None, :] * r[1]))(
            L.eigh(_block(x, (3, 1, 1)))
        ),
        lambda a, b, c: mp.sin(a) + mp.sin(b) + mp.sin(c),
        ((0.7, -1.3, 0.4), (1.9, 0.4, -0.6)),
    ),
    (
        "eigvalsh",
        lambda x: ad.sum(ad.sin(L.eigvalsh(_block(x, (2, 2)) + _block(x, (2, 2)).T))),
        _eigvalsh_oracle,
        P4_REAL,
    ),
    (
        "svd",
        lambda x: (lambda r: ad.sum(ad.sin(r.U) * r.S))(
            L.svd(_block(x, (3, 1)), full_matrices=False)
        ),
        _column_svd_oracle,
        ((0.7, -1.3, 0.4), (1.9, 0.4, -0.6)),
    ),
    (
        "svdvals",
        lambda x: ad.sum(ad.sin(L.svdvals(_block(x, (2, 2))))),
        lambda a, b, c, d: _msin_sum(mp.svd_r(mp.matrix([[a, b], [c, d]]), compute_uv=False)),
        P4_REAL,
    ),
    (
        "pinv",
        lambda x: ad.sum(ad.sin(L.pinv(_block(x, (2, 1))))),
        _pinv_oracle,
        ((0.7, -1.3), (1.9, 0.4)),
    ),
]


# --- extreme-domain cases (collected by tests/bridge/test_bridge_stability_extreme.py) ----
# Extreme-domain cases of the autodiff.linalg primitives, collected by
# ``test_bridge_stability_extreme.py``: matrices scaled by 1e30 and 1e-30, nearly singular and
# strongly graded ones (and 1e100 for the polynomial det). Each case is ``(label, ops, fn,
# points)``; the first point is moderate (the lift happens there).
#
# The compiled (scalar-mode) kernels evaluate the closed forms (adjugate / det, Cholesky and
# 2x2 eigenvalue formulas); their derivatives hold powers of det and of the entries, which
# leave the double range for entries much beyond 1e+-50 - eager autodiff (LAPACK) does not.
W_EXTREME = np.array([[0.5, -1.0], [1.5, 0.25]])
M_EXTREME = (2.0, 0.3, -0.5, 1.5)  # a well-conditioned 2x2 matrix (row-major)
SPD_EXTREME = (4.0, 7.0, 1.0, 3.0)  # lower triangle SPD; the upper entry (7) is never read


def _escaled(point, *scales):
    return (point,) + tuple(tuple(v * s for v in point) for s in scales)


EXTREME_CASES = [
    (
        "inv",
        ("inv",),
        lambda x: ad.sum(L.inv(_block(x, (2, 2))) * W_EXTREME),
        _escaled(M_EXTREME, 1e30, 1e-30) + ((1.0, 1.0, 1.0, 1.0 + 1e-9),),  # nearly singular
    ),
    (
        "solve",
        ("solve",),
        lambda x: ad.sum(L.solve(_block(x[:4], (2, 2)), x[4:]) * W_EXTREME[0]),
        tuple(p + (0.8, -1.1) for p in _escaled(M_EXTREME, 1e30, 1e-30)),
    ),
    ("det", ("det",), lambda x: L.det(_block(x, (2, 2))), _escaled(M_EXTREME, 1e30, 1e-30, 1e100)),
    (
        "slogdet",
        ("slogdet",),
        lambda x: (lambda r: r[0] * r[1])(L.slogdet(_block(x, (2, 2)))),
        _escaled(M_EXTREME, 1e30, 1e-30, -1e30),
    ),
    (
        "cholesky",
        ("cholesky",),
        lambda x: ad.sum(L.cholesky(_block(x, (2, 2))) * W_EXTREME),
        _escaled(SPD_EXTREME, 1e30, 1e-30) + ((1e30, 7.0, 1.0, 1.0),),  # graded
    ),
    (
        "eigh",
        ("eigh",),
        lambda x: (lambda r: ad.sum(r[0][..., None, :] * r[1] * 1.5))(L.eigh(_block(x, (3, 1, 1)))),
        ((0.7, -1.3, 0.4), (1e150, -1e-150, 0.0), (-1e300, 5e-324, 2.0)),
    ),
    (
        "eigvalsh",
        ("eigvalsh",),
        lambda x: ad.sum(L.eigvalsh(_block(x, (2, 2))) * W_EXTREME[0]),
        _escaled(SPD_EXTREME, 1e30, 1e-30),
    ),
    (
        "svd",
        ("svd",),
        lambda x: (lambda r: ad.sum(r.U * r.S * W_EXTREME[0, :1]))(
            L.svd(_block(x, (3, 1)), full_matrices=False)
        ),
        _escaled((0.7, -1.3, 0.4), 1e30, 1e-30),
    ),
    (
        "svdvals",
        ("svdvals",),
        lambda x: ad.sum(L.svdvals(_block(x, (2, 2))) * W_EXTREME[0]),
        _escaled(M_EXTREME, 1e30, 1e-30),
    ),
    (
        "pinv",
        ("pinv",),
        lambda x: ad.sum(L.pinv(_block(x, (2, 1))) * W_EXTREME[:1]),
        _escaled((0.7, -1.3), 1e30, 1e-30),
    ),
]

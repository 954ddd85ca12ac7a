"""mpmath oracle entries of the autodiff.linalg primitives, collected by ``test_oracle_ops.py``.

Each entry is ``(op, fn, oracle, points)``: ``fn`` an autodiff function of a 1-D block,
``oracle`` the same function written with mpmath's own linear algebra (``inverse``, ``det``,
``lu_solve``, ``cholesky``, ``eigsy``, ``svd_r``) on scalars. Sizes are the ones whose
symbolic rules lift (documented in ``autodiff.linalg``): 2x2 matrices, 1x1 eigenvector
batches, a single column for singular vectors.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

import autodiff as ad

L = ad.linalg
P4 = ((2.0, 0.3, -0.5, 1.5), (1.2, -0.7, 0.4, 2.1))
P4_REAL = ((0.7, -1.3, 0.4, 1.1), (1.9, 0.4, -0.6, -1.2))


def _m(x, shape):
    return ad.reshape(x, shape)


W = ((0.5, -1.0), (1.5, 0.25))  # weights of the matrix results (small compiled formulas)


def _sin_sum(m):
    return mp.fsum(mp.sin(v) for v in m)


def _weighted(m):
    return mp.fsum(m[i, j] * W[i][j] for i in range(2) for j in range(2))


def _spd_mp(a, b, c, d):
    m = mp.matrix([[a, b], [c, d]])
    return m * m.T + 2 * mp.eye(2)


def _spd(x):
    a = _m(x, (2, 2))
    return a @ a.T + 2.0 * np.eye(2)


def _solve_oracle(a, b, c, d, e, f):
    return _sin_sum(mp.lu_solve(mp.matrix([[a, b], [c, d]]), mp.matrix([e, f])))


def _slogdet_oracle(a, b, c, d):
    det = mp.det(mp.matrix([[-a, -b], [c, d]]))
    return mp.sign(det) * mp.log(abs(det)) ** 2


def _eigvalsh_oracle(a, b, c, d):
    m = mp.matrix([[a, b], [c, d]])
    w, _ = mp.eigsy(m + m.T)
    return _sin_sum(w)


def _column_svd_oracle(a, b, c):
    s = mp.sqrt(a * a + b * b + c * c)
    return (mp.sin(a / s) + mp.sin(b / s) + mp.sin(c / s)) * s


def _pinv_oracle(a, b):
    # pinv of the column (a, b): (A^T A)^-1 A^T, computed with mpmath's inverse
    col = mp.matrix([[a], [b]])
    return _sin_sum(mp.inverse(col.T * col) * col.T)


ENTRIES = [
    (
        "inv",
        lambda x: ad.sum(L.inv(_m(x, (2, 2))) * np.array(W)),
        lambda a, b, c, d: _weighted(mp.inverse(mp.matrix([[a, b], [c, d]]))),
        P4,
    ),
    (
        "solve",
        lambda x: ad.sum(ad.sin(L.solve(_m(x[:4], (2, 2)), x[4:]))),
        _solve_oracle,
        tuple(p + (0.8, -1.1) for p in P4),
    ),
    (
        "det",
        lambda x: ad.sin(L.det(_m(x, (2, 2)))),
        lambda a, b, c, d: mp.sin(mp.det(mp.matrix([[a, b], [c, d]]))),
        P4,
    ),
    (
        "slogdet",
        lambda x: (lambda r: r[0] * r[1] ** 2)(
            L.slogdet(_m(x, (2, 2)) * np.array([[-1.0], [1.0]]))
        ),
        _slogdet_oracle,
        P4,
    ),
    (
        "cholesky",
        lambda x: ad.sum(L.cholesky(_spd(x)) * np.array(W)),
        lambda a, b, c, d: _weighted(mp.cholesky(_spd_mp(a, b, c, d))),
        P4_REAL,
    ),
    (
        "eigh",
        lambda x: (lambda r: ad.sum(ad.sin(r[0])[..., None, :] * r[1]))(L.eigh(_m(x, (3, 1, 1)))),
        lambda a, b, c: mp.sin(a) + mp.sin(b) + mp.sin(c),
        ((0.7, -1.3, 0.4), (1.9, 0.4, -0.6)),
    ),
    (
        "eigvalsh",
        lambda x: ad.sum(ad.sin(L.eigvalsh(_m(x, (2, 2)) + _m(x, (2, 2)).T))),
        _eigvalsh_oracle,
        P4_REAL,
    ),
    (
        "svd",
        lambda x: (lambda r: ad.sum(ad.sin(r.U) * r.S))(L.svd(_m(x, (3, 1)), full_matrices=False)),
        _column_svd_oracle,
        ((0.7, -1.3, 0.4), (1.9, 0.4, -0.6)),
    ),
    (
        "svdvals",
        lambda x: ad.sum(ad.sin(L.svdvals(_m(x, (2, 2))))),
        lambda a, b, c, d: _sin_sum(mp.svd_r(mp.matrix([[a, b], [c, d]]), compute_uv=False)),
        P4_REAL,
    ),
    (
        "pinv",
        lambda x: ad.sum(ad.sin(L.pinv(_m(x, (2, 1))))),
        _pinv_oracle,
        ((0.7, -1.3), (1.9, 0.4)),
    ),
]

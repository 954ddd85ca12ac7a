"""Extreme-domain cases of the autodiff.linalg primitives, collected by
``test_bridge_stability_extreme.py``: matrices scaled by 1e30 and 1e-30, nearly singular and
strongly graded ones (and 1e100 for the polynomial det). Each case is ``(label, ops, fn,
points)``; the first point is moderate (the lift happens there).

The compiled (scalar-mode) kernels evaluate the closed forms (adjugate / det, Cholesky and
2x2 eigenvalue formulas); their derivatives hold powers of det and of the entries, which
leave the double range for entries much beyond 1e+-50 - eager autodiff (LAPACK) does not.
"""

from __future__ import annotations

import numpy as np

import autodiff as ad

L = ad.linalg
W = np.array([[0.5, -1.0], [1.5, 0.25]])
M = (2.0, 0.3, -0.5, 1.5)  # a well-conditioned 2x2 matrix (row-major)
SPD = (4.0, 7.0, 1.0, 3.0)  # lower triangle SPD; the upper entry (7) is never read


def _scaled(point, *scales):
    return (point,) + tuple(tuple(v * s for v in point) for s in scales)


def _m(x, shape=(2, 2)):
    return ad.reshape(x, shape)


CASES = [
    (
        "inv",
        ("inv",),
        lambda x: ad.sum(L.inv(_m(x)) * W),
        _scaled(M, 1e30, 1e-30) + ((1.0, 1.0, 1.0, 1.0 + 1e-9),),  # nearly singular
    ),
    (
        "solve",
        ("solve",),
        lambda x: ad.sum(L.solve(_m(x[:4]), x[4:]) * W[0]),
        tuple(p + (0.8, -1.1) for p in _scaled(M, 1e30, 1e-30)),
    ),
    ("det", ("det",), lambda x: L.det(_m(x)), _scaled(M, 1e30, 1e-30, 1e100)),
    (
        "slogdet",
        ("slogdet",),
        lambda x: (lambda r: r[0] * r[1])(L.slogdet(_m(x))),
        _scaled(M, 1e30, 1e-30, -1e30),
    ),
    (
        "cholesky",
        ("cholesky",),
        lambda x: ad.sum(L.cholesky(_m(x)) * W),
        _scaled(SPD, 1e30, 1e-30) + ((1e30, 7.0, 1.0, 1.0),),  # graded
    ),
    (
        "eigh",
        ("eigh",),
        lambda x: (lambda r: ad.sum(r[0][..., None, :] * r[1] * 1.5))(L.eigh(_m(x, (3, 1, 1)))),
        ((0.7, -1.3, 0.4), (1e150, -1e-150, 0.0), (-1e300, 5e-324, 2.0)),
    ),
    (
        "eigvalsh",
        ("eigvalsh",),
        lambda x: ad.sum(L.eigvalsh(_m(x)) * W[0]),
        _scaled(SPD, 1e30, 1e-30),
    ),
    (
        "svd",
        ("svd",),
        lambda x: (lambda r: ad.sum(r.U * r.S * W[0, :1]))(
            L.svd(_m(x, (3, 1)), full_matrices=False)
        ),
        _scaled((0.7, -1.3, 0.4), 1e30, 1e-30),
    ),
    (
        "svdvals",
        ("svdvals",),
        lambda x: ad.sum(L.svdvals(_m(x)) * W[0]),
        _scaled(M, 1e30, 1e-30),
    ),
    (
        "pinv",
        ("pinv",),
        lambda x: ad.sum(L.pinv(_m(x, (2, 1))) * W[:1]),
        _scaled((0.7, -1.3), 1e30, 1e-30),
    ),
]

"""Every op of ``autodiff.ops.ALL_OPS``: lifted value, gradient and Hessian equal the eager ones.

One row per op name: a small scalar test function that exercises the op, the argument shapes
and the input domain of each argument. Lifting happens at one random point and the lifted
formulas are evaluated at other random points, so frozen trace-time values would show up.
"""

from __future__ import annotations

import numpy as np
import pytest
from symdiff_helpers import lift_and_compare

import autodiff as ad
from autodiff.ops import ALL_OPS
from autodiff.ops.elementwise import (
    cast,
    equal,
    greater,
    greater_equal,
    less,
    less_equal,
    not_equal,
)
from autodiff.ops.shape import scatter_add

ANY = (-1.5, 1.5)
POS = (0.5, 2.0)
SMALL = (-1.0, 1.0)
C23 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])


def _cmp(op):
    return lambda x, y: ad.where(op(x, y), x * y, x**2).sum()


# op name -> (function, shapes, domains)
ROWS = {
    "neg": (lambda x: (-(x**3)).sum(), [(3,)], [ANY]),
    "add": (lambda x, y: ((x + y) ** 2).sum(), [(2, 3), (3,)], [ANY, ANY]),
    "sub": (lambda x, y: ((x - y) ** 3).sum(), [(3,), (3,)], [ANY, ANY]),
    "mul": (lambda x, y: (x * y * x).sum(), [(3,), (3,)], [ANY, ANY]),
    "div": (lambda x, y: (x / y).sum(), [(3,), (3,)], [ANY, POS]),
    "pow": (lambda x, y: (x**y + x**3).sum(), [(3,), (3,)], [POS, ANY]),
    "exp": (lambda x: ad.exp(x * x[::-1]).sum(), [(3,)], [ANY]),
    "log": (lambda x: (ad.log(x) * x).sum(), [(3,)], [POS]),
    "log1p": (lambda x: ad.log1p(x**2).sum(), [(3,)], [ANY]),
    "expm1": (lambda x: (ad.expm1(x) * x).sum(), [(3,)], [ANY]),
    "sqrt": (lambda x: ad.sqrt(x).sum(), [(3,)], [POS]),
    "square": (lambda x: ad.square(x * x[0]).sum(), [(3,)], [ANY]),
    "sin": (lambda x: ad.sin(x * x[::-1]).sum(), [(3,)], [ANY]),
    "cos": (lambda x: ad.cos(x**2).sum(), [(3,)], [ANY]),
    "tan": (lambda x: ad.tan(x).sum(), [(3,)], [SMALL]),
    "tanh": (lambda x: ad.tanh(x * 2.0).sum(), [(3,)], [ANY]),
    "sigmoid": (lambda x: ad.sigmoid(x * x[0]).sum(), [(3,)], [ANY]),
    "softplus": (lambda x: ad.softplus(x**2 - 1.0).sum(), [(3,)], [ANY]),
    "heaviside": (lambda x: (ad.heaviside(x, 0.5) * x**2).sum(), [(4,)], [ANY]),
    "sign": (lambda x: (ad.sign(x) * x**3).sum(), [(4,)], [ANY]),
    "relu": (lambda x: (ad.relu(x) ** 3).sum(), [(4,)], [ANY]),
    "abs": (lambda x: (ad.abs(x) ** 3).sum(), [(4,)], [ANY]),
    "maximum": (lambda x, y: (ad.maximum(x, y) ** 2).sum(), [(3,), (3,)], [ANY, ANY]),
    "minimum": (lambda x, y: (ad.minimum(x, y) ** 3).sum(), [(3,), (3,)], [ANY, ANY]),
    "where": (lambda x: ad.where(x > 0.0, x**3, -x).sum(), [(4,)], [ANY]),
    "cast": (lambda x: (cast(x, np.float64) ** 2 * x).sum(), [(3,)], [ANY]),
    "stable_shift": (lambda x: ad.logsumexp(x * x[::-1]), [(3,)], [ANY]),
    "less": (_cmp(less), [(4,), (4,)], [ANY, ANY]),
    "less_equal": (_cmp(less_equal), [(4,), (4,)], [ANY, ANY]),
    "greater": (_cmp(greater), [(4,), (4,)], [ANY, ANY]),
    "greater_equal": (_cmp(greater_equal), [(4,), (4,)], [ANY, ANY]),
    "equal": (_cmp(equal), [(4,), (4,)], [ANY, ANY]),
    "not_equal": (_cmp(not_equal), [(4,), (4,)], [ANY, ANY]),
    "reshape": (lambda x: (ad.reshape(x, (2, 3)) ** 2 * C23).sum(), [(6,)], [ANY]),
    "transpose": (lambda x: (ad.transpose(x) ** 3 * C23.T).sum(), [(2, 3)], [ANY]),
    "broadcast_to": (lambda x: (ad.broadcast_to(x, (2, 3)) * C23).sum() ** 2, [(3,)], [ANY]),
    "getitem": (lambda x: (x[1:] * x[:-1]).sum() + (x[[0, 0, 2]] ** 2).sum(), [(3,)], [ANY]),
    "scatter_add": (
        lambda x: (scatter_add(x, (np.array([0, 0, 2]),), (4,)) ** 2).sum(),
        [(3,)],
        [ANY],
    ),
    "concatenate": (lambda x, y: (ad.concatenate([x, y**2]) ** 2).sum(), [(2,), (3,)], [ANY, ANY]),
    "matmul": (lambda w, v: ad.sin(w @ v).sum(), [(2, 3), (3,)], [ANY, ANY]),
    "sum": (lambda x: (ad.sum(x, axis=0) ** 2).sum(), [(2, 3)], [ANY]),
    "max": (lambda x: (ad.max(x, axis=1) ** 2).sum(), [(2, 3)], [ANY]),
    "min": (lambda x: (ad.min(x, axis=0) ** 3).sum(), [(2, 3)], [ANY]),
    "prod": (lambda x: ad.prod(x, axis=1).sum(), [(2, 3)], [ANY]),
    "cast_discrete": (
        lambda x: (cast(x * 2.0, np.int64) * x**2).sum() + ad.where(cast(x, bool), x, 1.0).sum(),
        [(4,)],
        [ANY],
    ),
}


def _points(shapes, domains, seed, n=3):
    rng = np.random.default_rng(seed)
    return [
        [rng.uniform(lo, hi, size=shape) for shape, (lo, hi) in zip(shapes, domains)]
        for _ in range(n)
    ]


def test_op_table_covers_every_op():
    missing = sorted(op.name for op in ALL_OPS if op.name not in ROWS)
    assert not missing, f"ops without a row in the symdiff op table: {missing}"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_op_lifted_matches_eager(name):
    fn, shapes, domains = ROWS[name]
    seed = sorted(ROWS).index(name)
    trace, *points = _points(shapes, domains, seed, n=4)
    lifted = lift_and_compare(fn, trace, points)
    assert len(lifted.variables) == sum(int(np.prod(s)) for s in shapes)

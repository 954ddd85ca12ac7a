"""Array-level Hessian sparsity (symdiff.sparsity) against the scalar lift, and colouring."""

from __future__ import annotations

import logging
import re

import numpy as np
import op_specs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from symdiff_helpers import flat_function

import autodiff as ad
import symdiff
from autodiff.graph import trace_graph
from autodiff.ops import ALL_OPS
from symdiff.sparsity import (
    HESSIAN_RULES,
    color_columns,
    hessian_sparsity,
    recover_from_products,
)


def array_pattern(f, x, wrt=0):
    graph, _ = trace_graph(f, *x) if isinstance(x, tuple) else trace_graph(f, x)
    rows, cols = hessian_sparsity(graph, wrt)
    assert rows.dtype == np.int64 and cols.dtype == np.int64
    order = np.lexsort((cols, rows))
    assert np.array_equal(order, np.arange(rows.size)), "not sorted row-major"
    return list(zip(rows.tolist(), cols.tolist()))


def scalar_pattern(f, x):
    h = symdiff.lift(f, x).hessian()
    return list(zip(h.rows.tolist(), h.cols.tolist()))


def assert_same_structure(f, x):
    assert array_pattern(f, x) == scalar_pattern(f, x)


# --- the table ----------------------------------------------------------------------------------
def test_every_op_has_a_rule():
    missing = sorted(op.name for op in ALL_OPS if op.name not in HESSIAN_RULES)
    assert not missing, f"ops without a sparsity rule in symdiff.sparsity.HESSIAN_RULES: {missing}"


ROWS = op_specs.lift_rows()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_op_table_structure_equals_scalar_mode(name):
    row = ROWS[name]
    flat = flat_function(row.fn, row.shapes)
    rng = np.random.default_rng(sorted(ROWS).index(name))
    x = np.concatenate(
        [op_specs.sample(d, s, rng).ravel() for s, d in zip(row.shapes, row.domains)]
    )
    assert_same_structure(flat, x)


# --- named programs -----------------------------------------------------------------------------
def rosenbrock(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def rosenbrock_separable(x):
    return (100.0 * (x[1::2] - x[0::2] ** 2) ** 2 + (1.0 - x[0::2]) ** 2).sum()


RNG = np.random.default_rng(0)
A = RNG.normal(size=(5, 4))
A_SPARSE = A * (RNG.uniform(size=A.shape) < 0.4)
Y = (RNG.uniform(size=5) > 0.5).astype(float)
W1 = RNG.normal(size=(3, 4))


def logistic(w):
    z = A @ w
    return (ad.softplus(z) - Y * z).mean() + 0.01 * (w * w).sum()


def lse(x):
    return ad.logsumexp(A @ x) + 0.5 * (x * x).sum()


def lse_sparse(x):
    return ad.logsumexp(A_SPARSE @ x)


def mlp(p):
    w1 = ad.reshape(p[:12], (3, 4))
    w2 = p[12:15]
    h = ad.tanh(w1 @ A.T)
    return ((w2 @ h - Y) ** 2).sum()


def mlp_relu(p):
    w1 = ad.reshape(p[:12], (3, 4))
    w2 = p[12:15]
    return ((w2 @ ad.relu(w1 @ A.T) - Y) ** 2).sum()


def products(x):
    return ad.prod(ad.reshape(x, (2, 3)), axis=1).sum() + ad.prod(x[:2] + 1.0)


def sign_of_square(x):
    return (ad.sign(x**2) * x).sum() + (x[0] < x[1]).astype(float) * x[2]


def mixed(x):
    m = ad.reshape(x, (2, 3))
    t = ad.concatenate([m, m[:, ::-1] ** 2], axis=0)
    return (ad.maximum(t, 0.3) * ad.broadcast_to(m[0], (4, 3))).sum() + ad.max(m**3)


def powers(x):
    e = np.array([0.0, 1.0, 2.0, 0.5, 1.0, 3.0])
    return (x**e).sum() + (2.0**x).sum() + (x[0] ** x[1]) + (x[2] / x[3])


PROGRAMS = {
    "rosenbrock": (rosenbrock, 6),
    "rosenbrock_separable": (rosenbrock_separable, 6),
    "logistic": (logistic, 4),
    "logsumexp": (lse, 4),
    "logsumexp_sparse": (lse_sparse, 4),
    "mlp": (mlp, 15),
    "mlp_relu": (mlp_relu, 15),
    "prod": (products, 6),
    "sign_of_square": (sign_of_square, 6),
    "mixed": (mixed, 6),
    "powers": (powers, 6),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_programs_structure_equals_scalar_mode(name):
    f, n = PROGRAMS[name]
    x = np.random.default_rng(1).uniform(0.2, 1.5, size=n)
    assert_same_structure(f, x)


def test_rosenbrock_is_tridiagonal_and_separable_is_block_diagonal():
    n = 8
    pattern = set(array_pattern(rosenbrock, np.ones(n)))
    assert pattern == {(i, j) for i in range(n) for j in range(n) if abs(i - j) <= 1}
    pattern = set(array_pattern(rosenbrock_separable, np.ones(n)))
    assert pattern == {(i, j) for i in range(n) for j in range(n) if i // 2 == j // 2}


def test_wrt_selects_an_input_and_holds_others_fixed():
    def f(x, y):
        return (x * y).sum() + (y**2).sum() + ad.exp(x[0] * x[1])

    x, y = np.ones(3), np.ones(3)
    assert array_pattern(f, (x, y), wrt=0) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert array_pattern(f, (x, y), wrt=1) == [(0, 0), (1, 1), (2, 2)]


def test_cancellation_is_a_documented_superset():
    # SymPy cancels (x + y) - y to x; the array pattern cannot: a superset, never a miss.
    def f(v):
        return ad.exp((v[0] + v[1]) - v[1])

    v = np.array([0.3, 0.7])
    assert set(scalar_pattern(f, v)) < set(array_pattern(f, v))


def test_bad_inputs():
    graph, _ = trace_graph(lambda x: x**2, np.ones(3))
    with pytest.raises(ValueError, match=re.escape("shape (3,)")):
        hessian_sparsity(graph)
    graph, _ = trace_graph(lambda x: (x**2).sum(), np.ones(3))
    with pytest.raises(ValueError, match="wrt=2 is out of range"):
        hessian_sparsity(graph, wrt=2)


def test_unknown_op_is_conservative_and_warns(caplog, monkeypatch):
    graph, _ = trace_graph(lambda x: (ad.sin(x[:2]) * 2.0).sum() + x[2], np.ones(3))
    monkeypatch.delitem(HESSIAN_RULES, "sin")
    with caplog.at_level(logging.WARNING, logger="hybriddiff"):
        rows, cols = hessian_sparsity(graph)
    assert "'sin' has no sparsity rule" in caplog.text
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]


# --- random programs ------------------------------------------------------------------------------
UNARY = [ad.exp, ad.sin, ad.tanh, ad.sigmoid, ad.softplus, ad.relu, ad.abs, ad.square]


@st.composite
def programs(draw):
    """A random program over x of length 6 as a list of steps, values drawn distinct."""
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "mul", "add", "slice", "matmul", "reduce", "bcast"]))
        steps.append(
            (
                kind,
                draw(st.integers(0, len(UNARY) - 1)),
                draw(st.integers(0, 10**6)),
                draw(st.sampled_from([slice(1, None), slice(None, -1), slice(0, None, 2)])),
            )
        )
    return steps


def build(steps):
    def f(x):
        vals = [x]
        for kind, u, seed, sl in steps:
            rng = np.random.default_rng(seed)
            a = vals[rng.integers(len(vals))]
            b = vals[rng.integers(len(vals))]
            if kind == "unary":
                out = UNARY[u](a * rng.uniform(0.5, 1.5))
            elif kind in ("mul", "add"):
                n = min(a.shape[0], b.shape[0])
                ca, cb = rng.uniform(0.5, 1.5, 2)
                out = a[:n] * ca * b[:n] if kind == "mul" else a[:n] * ca + b[:n] * cb
            elif kind == "slice":
                out = a[sl] if a.shape[0] > 1 else a
            elif kind == "matmul":
                m = rng.normal(size=(3, a.shape[0])) * (rng.uniform(size=(3, a.shape[0])) < 0.6)
                out = m @ a
            elif kind == "reduce":
                out = ad.reshape(ad.sum(a * rng.uniform(0.5, 1.5, a.shape[0])), (1,))
            else:
                out = ad.reshape(
                    ad.broadcast_to(a, (2, a.shape[0])) * rng.uniform(0.5, 1.5, (2, 1)), (-1,)
                )
            vals.append(out)
        w = np.random.default_rng(len(steps)).uniform(0.5, 1.5, size=len(vals))
        return sum((ad.sin(v).sum() * wi for v, wi in zip(vals[1:], w)), (x[0] * x[1]) * 0.25)

    return f


@settings(max_examples=25, deadline=None, derandomize=True)
@given(programs())
def test_random_programs_structure_equals_scalar_mode(steps):
    f = build(steps)
    x = np.random.default_rng(2).uniform(0.2, 1.5, size=6)
    with np.errstate(all="ignore"):  # only the structure matters here
        assert_same_structure(f, x)


# --- colouring ------------------------------------------------------------------------------------
def random_symmetric(n, density, seed):
    rng = np.random.default_rng(seed)
    mask = np.triu(rng.uniform(size=(n, n)) < density)
    mask |= mask.T
    h = rng.normal(size=(n, n)) * mask
    return h + h.T


def check_recovery(h):
    n = h.shape[0]
    rows, cols = np.nonzero(h)
    colors, k = color_columns(rows, cols, n)
    assert colors.shape == (n,)
    assert k == (colors.max() + 1 if n else 0)
    # distance-2: columns sharing a row differ in colour
    for r in range(n):
        c = cols[rows == r]
        assert len(set(colors[c].tolist())) == len(c)
    indicator = (colors[:, None] == np.arange(k)).astype(float)
    values = recover_from_products(rows, cols, colors, h @ indicator)
    np.testing.assert_array_equal(values, h[rows, cols])
    return k


@pytest.mark.parametrize("seed", range(6))
def test_recovery_of_random_sparse_hessians(seed):
    n = [1, 5, 17, 40, 60, 80][seed]
    check_recovery(random_symmetric(n, [1.0, 0.3, 0.1, 0.05, 0.2, 0.02][seed], seed))


def test_colour_counts():
    n = 1000
    graph, _ = trace_graph(rosenbrock, np.ones(n))
    rows, cols = hessian_sparsity(graph)
    colors, k = color_columns(rows, cols, n)
    assert k == 3
    assert color_columns(*np.nonzero(np.ones((30, 30))), 30)[1] == 30
    assert color_columns(np.arange(7), np.arange(7), 7)[1] == 1
    assert check_recovery(np.diag(np.arange(1.0, 8.0)) + np.diag(np.ones(6), 1) * 0) == 1


def test_colouring_bad_inputs():
    with pytest.raises(ValueError, match="outside 0..2"):
        color_columns([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="differ in length"):
        color_columns([0, 1], [0], 3)
    with pytest.raises(ValueError, match=re.escape("got (2, 1)")):
        recover_from_products([0, 1], [0, 1], np.array([0, 1]), np.zeros((2, 1)))

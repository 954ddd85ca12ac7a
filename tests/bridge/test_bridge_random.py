"""Property: compiled == lifted == eager autodiff on random expressions (hypothesis)."""

from __future__ import annotations

import numpy as np
from bridge_cases import LiftedFaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autodiff as ad
import bridge
import symdiff

N_VARS = 3
UNARY = {
    "sin": ad.sin,
    "cos": ad.cos,
    "tanh": ad.tanh,
    "sigmoid": ad.sigmoid,
    "softplus": ad.softplus,
    "relu": ad.relu,
    "abs": ad.abs,
    "neg": lambda t: -t,
    "square": ad.square,
    "gauss": lambda t: ad.exp(-t * t),
    "log1p_sq": lambda t: ad.log1p(t * t),
    "sqrt1p_sq": lambda t: ad.sqrt(1.0 + t * t),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.0 + b * b),
    "maximum": ad.maximum,
    "pow": lambda a, b: (1.0 + a * a) ** ad.tanh(b),
}

leaves = st.one_of(
    st.tuples(st.just("x"), st.integers(0, N_VARS - 1)),
    st.tuples(st.just("c"), st.floats(-2.0, 2.0, allow_subnormal=False).map(lambda v: round(v, 3))),
)
trees = st.recursive(
    leaves,
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), sub),
        st.tuples(st.sampled_from(sorted(BINARY)), sub, sub),
    ),
    max_leaves=6,
)


def build(tree, x):
    """Evaluate a tree of op names over the Tensor ``x``."""
    head = tree[0]
    if head == "x":
        return x[tree[1]]
    if head == "c":
        return ad.tensor(tree[1])
    if head in UNARY:
        return UNARY[head](build(tree[1], x))
    return BINARY[head](build(tree[1], x), build(tree[2], x))


def weighted(forest):
    """``F(x, w) = sum_k w_k tree_k(x)`` (trees that are constants still count)."""

    def F(x, w):
        total = 0.0 * x[0]
        for k, tree in enumerate(forest):
            total = total + w[k] * build(tree, x)
        return total

    return F


def _close(actual, expected, rtol, what):
    """Error <= rtol * max(max|expected|, 1): bounded random trees are judged on the scale
    of their terms, since float32 cannot resolve cancellations near zero."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    err = float(np.max(np.abs(actual - expected), initial=0.0))
    assert err <= rtol * scale, f"{what}: max error {err:.3e} > {rtol:g} * {scale:.3e}"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    forest=st.lists(trees, min_size=1, max_size=3),
    point=st.lists(st.floats(-2.0, 2.0).map(lambda v: round(v, 3)), min_size=3, max_size=3),
    weights=st.lists(st.floats(0.25, 2.0), min_size=3, max_size=3),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_compiled_random_expressions_match_eager_and_lifted(forest, point, weights, dtype):
    F = weighted(forest)
    # Off-grid coordinates keep the point off every kink (x == 0, x == c, x_i == x_j), where
    # SymPy's simplification (Abs(log1p(x**2)) -> log1p(x**2)) and autodiff's conventions
    # (abs'(0) = 0) legitimately disagree; made representable in the kernel dtype.
    offsets = 1.23457e-4 * np.arange(1, N_VARS + 1)
    x = (np.asarray(point) + offsets).astype(dtype).astype(np.float64)
    w = np.asarray(weights[: len(forest)], dtype=dtype).astype(np.float64)
    lifted = symdiff.lift(F, x, w, params=1)
    compiled = bridge.compile(lifted, dtype=dtype)
    rtol = 1e-10 if dtype == "float64" else 1e-4
    eager = (float(F(ad.tensor(x), ad.tensor(w)).data), ad.grad(F)(x, w), ad.hessian(F)(x, w))
    faces = {"lifted": LiftedFaces(lifted)(x, w)} if dtype == "float64" else {}
    faces["compiled"] = (compiled.value(x, w), compiled.grad(x, w), compiled.hessian(x, w))
    batch = compiled.hessian(np.stack([x, x]), w)
    faces["compiled batch"] = (
        compiled.value(x[None], w)[0],
        compiled.grad(x[None], w)[0],
        batch[1],
    )
    for name, (value, grad, hess) in faces.items():
        _close(value, eager[0], rtol, f"{name} value of {forest}")
        _close(grad, eager[1], rtol, f"{name} grad of {forest}")
        _close(hess, eager[2], rtol, f"{name} hessian of {forest}")

"""Property test: random small expression graphs from the op table, eager == lifted."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from symdiff_helpers import assert_close, eager_all, lifted_all

import autodiff as ad
import symdiff

# Ops whose outputs stay finite for any finite input, so random chains never overflow.
UNARY = {
    "neg": lambda a: -a,
    "sin": ad.sin,
    "cos": ad.cos,
    "tanh": ad.tanh,
    "sigmoid": ad.sigmoid,
    "softplus": lambda a: ad.softplus(ad.tanh(a)),
    "square": lambda a: ad.square(ad.tanh(a)),
    "exp": lambda a: ad.exp(ad.sin(a)),
    "log1p": lambda a: ad.log1p(a * a),
    "sqrt": lambda a: ad.sqrt(1.0 + a * a),
    "reverse": lambda a: a[::-1],
    "cumulate": lambda a: ad.concatenate([a[:1], a[1:] + a[:-1]]),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + ad.sin(b)),
    "maximum": ad.maximum,
    "where": lambda a, b: ad.where(a > b, a * b, b),
    "outer": lambda a, b: ad.sum(ad.outer(a, b), axis=1) / 3.0,
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just(1), st.sampled_from(sorted(UNARY)), st.integers(0, 20)),
        st.tuples(st.just(2), st.sampled_from(sorted(BINARY)), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=6,
)


def _build(program):
    def f(x, y):
        pool = [x, y]
        for arity, name, pick in program:
            a = pool[pick % len(pool)]
            if arity == 1:
                pool.append(UNARY[name](a))
            else:
                pool.append(BINARY[name](a, pool[(pick // 2) % len(pool)]))
        return (pool[-1] * pool[-2]).sum()

    return f


@settings(max_examples=30, deadline=None)
@given(program=steps, seed=st.integers(0, 2**16))
def test_random_graphs_eager_equals_lifted(program, seed):
    rng = np.random.default_rng(seed)
    trace = [rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)]
    point = [rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)]
    f = _build(program)
    lifted = symdiff.lift(f, *trace)
    v_e, g_e, h_e = eager_all(f, point)
    v_l, g_l, h_l = lifted_all(lifted, point)
    assert_close(v_l, v_e, 1e-10, "value")
    assert_close(g_l, g_e, 1e-10, "gradient")
    assert_close(h_l, h_e, 1e-9, "hessian")

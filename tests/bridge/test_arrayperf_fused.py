"""Fused array kernels (bridge.arrays.emit): sums accumulated inside their elementwise loop,
sibling loops merged, slice scatters read or accumulated in place, uniform constants inlined,
and the sparse Hessian gathered straight into CSR order.

Oracles: eager autodiff, hand-derived Rosenbrock derivatives, NumPy's pairwise ``np.sum``
and central finite differences in extended precision. Kernels are compiled once per module.
"""

from __future__ import annotations

import numpy as np
import pytest
from bridge_cases import rosen_chained_grad, rosen_chained_hessian

import autodiff as ad
import bridge
from bridge.arrays.program import plan


def rosen_chained(x):
    return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_separable(x):
    odd, even = x[0::2], x[1::2]
    return ad.sum(100.0 * (even - odd**2) ** 2 + (1.0 - odd) ** 2)


def centered(x):
    """A sum feeding an elementwise op of the same loop shape: must not fuse into a cycle."""
    m = ad.sum(x) / x.shape[0]
    return ad.sum((x - m) ** 2) + ad.sum(ad.exp(0.1 * x[::3]))


def _np(a):
    return np.asarray(a.data if isinstance(a, ad.Tensor) else a, dtype=np.float64)


N = 301  # over two blocks of 128 with a ragged tail


def _start(n, dtype=np.float64):
    x = np.ones(n, dtype=dtype)
    x[0::2] = -1.2
    return x + np.linspace(0, 0.3, n).astype(dtype)


@pytest.fixture(scope="module")
def chained():
    return bridge.compile(rosen_chained, _start(N), mode="array")


@pytest.fixture(scope="module")
def separable32():
    return bridge.compile(rosen_separable, _start(N + 1, np.float32), mode="array", dtype="float32")


@pytest.fixture(scope="module")
def center():
    return bridge.compile(centered, _start(N), mode="array")


def test_generated_gradient_has_one_loop_and_no_temporaries(chained):
    src = chained.source
    vg = src[src.index("def k_vg") : src.index("def k_hvp")]
    value = src[src.index("def k_value") : src.index("def k_vg")]
    # the sum is accumulated in the loop (blocked pairwise), never through a stored array
    assert "_rsum" not in vg and "_rsum" not in value
    assert "_combine(" in value and "_combine(" in vg
    # the gradient: one zeroed output, filled by the single elementwise loop; no scatter copy
    assert vg.count("np.zeros(") == 1 and vg.count("for i0 in") == 1
    assert vg.count("np.empty((") == 0 and "+= " in vg
    # ones seeded by the VJP of sum are literals, not extra arguments
    assert "def k_vg(in0)" in vg


def test_fused_chained_matches_hand_derivatives_and_eager(chained):
    rng = np.random.default_rng(0)
    for x in (_start(N), rng.normal(size=N)):
        v, g = chained.value_and_grad(x)
        eager_v, eager_g = ad.value_and_grad(rosen_chained)(x)
        assert v == pytest.approx(float(_np(eager_v)), rel=1e-13)
        np.testing.assert_allclose(g, rosen_chained_grad(x), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(chained.value(x), v, rtol=1e-15)
        w = rng.normal(size=N)
        np.testing.assert_allclose(chained.hvp(x, w), rosen_chained_hessian(x) @ w, rtol=1e-11,
                                   atol=1e-9)  # fmt: skip


def test_fused_sum_is_the_pairwise_sum(chained):
    from bridge.arrays.runtime import _rsum

    x = np.random.default_rng(1).normal(size=N)
    terms = 100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2
    pairwise = _rsum(terms.reshape(1, -1))[0]  # blocks of 128, combined pairwise
    value = chained.value(x)
    assert abs(value - pairwise) <= 4 * np.spacing(pairwise)
    exact = float(sum(mpmath_terms(x)))
    assert abs(value - exact) <= 8 * np.spacing(exact)


def mpmath_terms(x):
    import mpmath

    mpmath.mp.dps = 40
    xs = [mpmath.mpf(float(v)) for v in x]
    return [100 * (b - a**2) ** 2 + (1 - a) ** 2 for a, b in zip(xs[:-1], xs[1:])]


def test_gradient_is_a_fresh_array(chained):
    x = _start(N)
    g1 = chained.grad(x)
    g2 = chained.grad(x)
    assert not np.shares_memory(g1, g2) and not np.shares_memory(g1, x)
    g1[:] = 0
    np.testing.assert_allclose(g2, rosen_chained_grad(x), rtol=1e-12, atol=1e-10)


def test_sparse_hessian_csr_matches_hand_hessian(chained):
    x = np.random.default_rng(2).normal(size=N)
    H = chained.hessian(x, sparse=True)
    assert H.format == "csr" and H.has_sorted_indices
    assert H.nnz == 3 * N - 2
    np.testing.assert_allclose(H.toarray(), rosen_chained_hessian(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(chained.hessian(x), rosen_chained_hessian(x), rtol=1e-12, atol=1e-9)
    H2 = chained.hessian(x + 1, sparse=True)  # the cached structure serves every call
    np.testing.assert_allclose(H2.toarray(), rosen_chained_hessian(x + 1), rtol=1e-12, atol=1e-9)


def test_float32_separable_against_extended_precision_differences(separable32):
    x = _start(N + 1, np.float32)
    v, g = separable32.value_and_grad(x)
    assert g.dtype == np.float32 and np.asarray(v).dtype == np.float32
    xl = x.astype(np.longdouble)

    def f(z):
        odd, even = z[0::2], z[1::2]
        return np.sum(100 * (even - odd**2) ** 2 + (1 - odd) ** 2)

    h = np.longdouble(1e-6)
    fd = np.empty(x.size, dtype=np.longdouble)
    for i in range(x.size):
        e = np.zeros(x.size, dtype=np.longdouble)
        e[i] = h
        fd[i] = (f(xl + e) - f(xl - e)) / (2 * h)
    np.testing.assert_allclose(g, fd.astype(np.float64), rtol=2e-5, atol=2e-4)
    assert float(v) == pytest.approx(float(f(xl)), rel=1e-5)
    Hs = separable32.hessian(x, sparse=True).toarray()
    np.testing.assert_allclose(Hs, separable32.hessian(x), rtol=1e-6, atol=1e-3)


def test_sum_feeding_its_own_loop_shape_stays_acyclic(center):
    rng = np.random.default_rng(3)
    for x in (_start(N), rng.normal(size=N)):
        v, g = ad.value_and_grad(centered)(x)
        cv, cg = center.value_and_grad(x)
        assert cv == pytest.approx(float(_np(v)), rel=1e-12)
        np.testing.assert_allclose(cg, _np(g), rtol=1e-11, atol=1e-12)
        w = rng.normal(size=N)
        eager_hvp = ad.hvp(centered, (x,), (w,))
        np.testing.assert_allclose(center.hvp(x, w), _np(eager_hvp), rtol=1e-10,
                                   atol=1e-12)  # fmt: skip


def test_plan_merges_sibling_loops_and_inlines_uniform_constants():
    x = _start(50)
    graph, _ = ad.trace_graph(rosen_chained, x)
    program = plan(graph)
    clusters = [u for u in program.units if u.kind == "cluster"]
    assert len(clusters) == 1  # (1 - x[:-1])^2 and 100 (x[1:] - x[:-1]^2)^2: one loop
    assert program.extras == []

    def f(x):
        return ad.sum(x * ad.Tensor(np.full(50, 3.0)) + ad.Tensor(np.arange(50.0)))

    graph, _ = ad.trace_graph(f, x)
    program = plan(graph)
    kinds = [graph.nodes[k].value.tolist()[:2] for _, k in program.extras]
    assert kinds == [[0.0, 1.0]]  # only the non-uniform constant is passed at call time

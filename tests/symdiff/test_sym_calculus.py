"""Derivatives of plain expressions: reverse sweep, known derivatives, sparse Hessians."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from symdiff.functions import relu, sigmoid, softplus

x, y, z = sp.symbols("x y z", real=True)


def _equal(a, b) -> bool:
    return sp.simplify(sp.expand(a - b)) == 0


def test_gradient_matches_sympy_diff():
    e = sp.sin(x * y) * sp.exp(z) / (1 + x**2) + softplus(y * z)
    grad = symdiff.gradient(e, [x, y, z])
    assert all(_equal(g, sp.diff(e, v)) for g, v in zip(grad, [x, y, z]))


def test_gradient_of_absent_variable_is_zero():
    assert symdiff.gradient(x**2, [x, y]) == [2 * x, 0]


def test_gradient_shares_subexpressions():
    shared = sp.exp(sp.sin(x * y))
    grad = symdiff.gradient(shared**2 + shared, [x, y])
    assert all(g.has(shared) for g in grad)


@pytest.mark.parametrize("order", range(1, 6))
def test_derivative_sin_exp_to_order_five(order):
    e = sp.sin(x) * sp.exp(x)
    assert _equal(symdiff.derivative(e, x, order), sp.diff(e, x, order))
    assert _equal(symdiff.derivative(e, x, order, simplify="fast"), sp.diff(e, x, order))


@pytest.mark.parametrize("order", range(1, 5))
def test_derivative_tanh_to_order_four(order):
    e = sp.tanh(x)
    assert _equal(symdiff.derivative(e, x, order, simplify="fast"), sp.diff(e, x, order))


def test_derivative_mixed_partials():
    e = sp.exp(x * y) * sp.sin(y * z) + x**3 * z
    for wrt in [(x, y), (y, x), (x, y, z), (z, z, x), (x, 2, y)]:
        assert _equal(symdiff.derivative(e, *wrt), sp.diff(e, *wrt))


def test_derivative_named_functions():
    assert symdiff.derivative(sigmoid(x), x) == sigmoid(x) * (1 - sigmoid(x))
    assert symdiff.derivative(softplus(x), x) == sigmoid(x)
    assert symdiff.derivative(relu(x), x) == sp.Heaviside(x, 0)


def test_derivative_of_step_functions_is_zero():
    assert symdiff.derivative(sp.Heaviside(x) * y, x) == 0
    assert symdiff.derivative(sp.sign(x) * x, x) == sp.sign(x)


def test_derivative_count_must_follow_a_variable():
    with pytest.raises(ValueError, match="count"):
        symdiff.derivative(x, 2, x)


def test_gradient_rejects_non_symbols():
    with pytest.raises(ValueError, match="symbols"):
        symdiff.gradient(x, [x + 1])


def test_derivative_falls_back_for_opaque_nodes():
    f = sp.Function("f")
    e = sp.Integral(sp.exp(x * y), (y, 0, 1)) * f(x)
    d = symdiff.derivative(e, x)
    assert d.has(sp.Integral)
    assert _equal(d.doit(), sp.diff(e, x).doit())


def test_hessian_matches_sympy_hessian():
    e = sp.exp(x * y) + sp.sin(z) * x**2 + sigmoid(y)
    h = symdiff.hessian(e, [x, y, z])
    ref = sp.hessian(e, (x, y, z))
    assert all(_equal(a, b) for a, b in zip(h.dense(), ref))


def test_hessian_sparse_layout_is_csr_with_shared_symmetric_entries():
    h = symdiff.hessian(x**2 * y + z**3, [x, y, z])
    pairs = list(zip(h.rows.tolist(), h.cols.tolist()))
    assert pairs == sorted(pairs) == [(0, 0), (0, 1), (1, 0), (2, 2)]
    assert h.rows.dtype == np.int64 and h.cols.dtype == np.int64
    assert h.nnz == 4 and h.shape == (3, 3)
    assert h[0, 1] is h[1, 0]
    assert h[1, 1] == 0
    assert h.sparsity().toarray().tolist() == [[1, 1, 0], [1, 0, 0], [0, 0, 1]]


def test_hessian_cse_returns_replacements_and_reduced_values():
    h = symdiff.hessian(sp.exp(x * y) * sp.exp(x * y + 1), [x, y])
    replacements, reduced = h.cse()
    assert len(reduced) == h.nnz
    back = [r.subs(list(reversed(replacements))) for r in reduced]
    assert all(_equal(a, b) for a, b in zip(back, h.values))


def _rosenbrock(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def test_hessian_rosenbrock_has_3n_minus_2_nonzeros():
    n = 100
    lifted = symdiff.lift(_rosenbrock, np.zeros(n))
    h = lifted.hessian()
    assert h.nnz == 3 * n - 2
    assert set(np.abs(h.rows - h.cols).tolist()) == {0, 1}
    x0, x1 = lifted.variables[:2]
    assert sp.expand(h[0, 0] - (1200 * x0**2 - 400 * x1 + 2)) == 0


def test_hessian_rosenbrock_values_match_eager():
    n = 6
    point = np.linspace(-1.0, 1.5, n)
    lifted = symdiff.lift(_rosenbrock, np.zeros(n))
    h = lifted.hessian()
    dense = np.zeros((n, n))
    dense[h.rows, h.cols] = symdiff.numeric.evaluate(h.values, lifted.variables, point)
    np.testing.assert_allclose(dense, ad.hessian(_rosenbrock)(point), rtol=1e-12)


@pytest.mark.parametrize("level", ["none", "fast", "full"])
def test_simplify_levels_keep_values(level):
    e = sp.log(1 + sp.exp(x * y)) * sp.sin(x) ** 2 / (1 + y**2)
    grad = symdiff.gradient(e, [x, y], simplify=level, budget=2.0)
    ref = [sp.diff(e, v) for v in (x, y)]
    point = {x: 0.3, y: -0.7}
    assert all(abs(float(g.subs(point) - r.subs(point))) < 1e-12 for g, r in zip(grad, ref))


def test_simplify_full_with_no_budget_falls_back_to_fast():
    e = sp.exp(x) / (1 + sp.exp(x))
    assert symdiff.simplify_exprs([e], "full", budget=0.0) == [sigmoid(x)]


def test_simplify_rejects_unknown_level():
    with pytest.raises(ValueError, match="simplify must be one of"):
        symdiff.gradient(x, [x], simplify="aggressive")


def test_collapse_named_recognises_exponential_patterns():
    assert symdiff.collapse_named(1 / (1 + sp.exp(-x))) == sigmoid(x)
    assert symdiff.collapse_named(sp.log(1 + sp.exp(x))) == softplus(x)
    assert symdiff.collapse_named(sp.exp(x) / (1 + sp.exp(x))) == sigmoid(x)
    tanh_form = (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x))
    assert symdiff.collapse_named(tanh_form) == sp.tanh(x)
    d = sp.diff(1 / (1 + sp.exp(-x)), x)
    assert symdiff.simplify_expr(d) == sigmoid(x) * (1 - sigmoid(x))


def test_simplify_fast_leaves_large_entries_to_pattern_rewrites_only():
    xs = sp.symbols("a0:300", real=True)
    big = sp.Add(*[sp.exp(v) * v**2 for v in xs]) / (1 + sp.exp(-xs[0]))
    assert symdiff.simplify_expr(big, "fast") == symdiff.collapse_named(big)
    assert symdiff.simplify_expr(big, "fast").has(sigmoid)


def test_sparse_hessian_simplify_keeps_symmetric_entries_shared():
    e = sp.log(1 + sp.exp(x * y)) + x**2
    h = symdiff.hessian(e, [x, y], simplify="fast")
    assert h[0, 1] is h[1, 0]
    assert h[0, 1].has(sigmoid) and not h[0, 1].has(sp.exp)


def test_numpy_function_is_stable_for_large_arguments():
    fn = symdiff.numpy_function([x], [sigmoid(x), softplus(x), relu(x)])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert [float(v) for v in fn(-800.0)] == [0.0, 0.0, 0.0]
        assert [float(v) for v in fn(800.0)] == [1.0, 800.0, 800.0]


def test_lifted_cse_and_vector_derivative():
    lifted = symdiff.lift(lambda v: ad.exp(v * v[0]), np.array([1.0, 2.0]))
    replacements, reduced = lifted.cse()
    assert len(reduced) == 2
    d = lifted.derivative("v[0]")
    assert d.shape == (2,)
    v0, v1 = lifted.variables
    assert sp.simplify(d[1] - v1 * sp.exp(v0 * v1)) == 0

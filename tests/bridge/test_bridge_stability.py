"""Compiled kernels compute what the formula says: stability rewrites and complex refusal.

The oracle is mpmath at 30 significant digits (``mpmath.diff`` of an mpmath function written
here), which shares neither our derivative rules nor our floating-point forms. Where the true
value is a normal double, compiled kernels must match it to a few ulps (``RTOL`` = 1e-13: each
printed stable form is a handful of correctly rounded libm calls).
"""

from __future__ import annotations

import doctest
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import bridge
import bridge.stable
from bridge.codegen import KernelSpec, generate
from bridge.stable import logsumexp, stabilize
from symdiff.functions import expm1, log1p, sigmoid, softplus

mpmath.mp.dps = 30
RTOL = 1e-13
x, y, z = sp.symbols("x y z", real=True)


def _mp_grad_hess(fn, point):
    """Value, gradient and Hessian of ``fn`` at ``point`` by mpmath numerical differentiation."""
    with mpmath.workdps(800):  # derivatives like e^-700 next to values ~1 need the digits
        return _mp_grad_hess_at(fn, point)


def _mp_grad_hess_at(fn, point):
    pt = [mpmath.mpf(v) for v in point]
    n = len(pt)
    value = fn(*pt)
    grad = [mpmath.diff(fn, pt, tuple(int(i == k) for i in range(n))) for k in range(n)]
    hess = [
        [mpmath.diff(fn, pt, tuple(int(i == a) + int(i == b) for i in range(n))) for b in range(n)]
        for a in range(n)
    ]
    as_float = np.vectorize(float)
    return (
        float(value),
        as_float(np.array(grad, dtype=object)),
        as_float(np.array(hess, dtype=object)),
    )


def _close(actual, expected, what):
    """Entry-wise relative error <= RTOL (absolute below the smallest normal double)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert np.all(np.isfinite(actual)), f"{what}: not finite: {actual}"
    tol = RTOL * np.abs(expected) + 2.3e-308
    assert np.all(np.abs(actual - expected) <= tol), f"{what}: {actual} != {expected}"


# --- the rewrite itself ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (sp.log(1 + sp.exp(x * y)), softplus(x * y)),
        (sp.log(1 + x**2), log1p(x**2)),
        (sp.exp(x) - 1, expm1(x)),
        (1 - sp.exp(x), -expm1(x)),
        (1 / (1 + sp.exp(-x)), sigmoid(x)),
        (sp.exp(x) / (1 + sp.exp(x)), sigmoid(x)),
        (sp.log(1 / (1 + sp.exp(-x))), -softplus(-x)),
        (sp.log(sigmoid(x)), -softplus(-x)),
        (sp.log(1 - sigmoid(x)), -softplus(x)),
        (1 - sigmoid(x), sigmoid(-x)),
        (sp.log(sp.exp(x) + sp.exp(y) + sp.exp(z)), logsumexp(x, y, z)),
        (sp.log(sp.exp(x) + 2 * sp.exp(y)), logsumexp(x, y + sp.log(2))),
        (sp.log(2 + sp.exp(x)), logsumexp(x, sp.log(2))),
        (sp.exp(x) / (sp.exp(x) + sp.exp(y)), sp.exp(x - logsumexp(x, y))),
        (sp.exp(2 * x) / (sp.exp(x) + sp.exp(y)) ** 2, sp.exp(2 * x - 2 * logsumexp(x, y))),
        (sp.exp(x) * sp.exp(-y), sp.exp(x - y)),
    ],
    ids=str,
)
def test_stabilize_rewrites_each_pattern(expr, expected):
    out = stabilize(expr)
    if isinstance(expected, logsumexp):  # the argument order follows SymPy's Add order
        assert isinstance(out, logsumexp) and set(out.args) == set(expected.args), out
    else:
        assert out == expected


def test_stabilize_leaves_other_expressions_alone():
    for expr in [sp.log(x + y), sp.exp(x) - sp.exp(y), sp.sin(x) + 1, sp.exp(x) + 2, x**2 - 1]:
        assert stabilize(expr) == expr


def test_stabilize_is_linear_in_the_dag():
    # 80 levels, each using the previous one twice: a tree of 2**80 nodes, a DAG of ~80*6.
    # Anything that walks the tree instead of the DAG never returns.
    a, b, c = sp.symbols("a b c")  # no assumptions: SymPy's own queries walk the tree
    e = a
    for _ in range(80):
        e = sp.log(1 + sp.exp(e * b)) + e * c
    out = stabilize(e)
    nodes = _dag_nodes(out)  # (has() and atoms() would walk the 2**80-node tree)
    assert not any(isinstance(n, sp.exp) for n in nodes)
    assert sum(isinstance(n, softplus) for n in nodes) == 80


def _dag_nodes(expr) -> set:
    seen, stack = set(), [expr]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node.args)
    return seen


def test_stabilize_handles_deep_expressions_without_recursion():
    e = sp.Symbol("a")
    for k in range(500):  # nested logs: ~2000 levels, deeper than the recursion limit
        e = sp.log(1 + sp.exp(e) * (k + 2))
    out = stabilize(e)
    assert isinstance(out, logsumexp)


def test_logsumexp_function():
    assert logsumexp(x, y).diff(y) == sp.exp(y - logsumexp(x, y))
    assert logsumexp(x, y).rewrite(sp.exp) == sp.log(sp.exp(x) + sp.exp(y))
    value = logsumexp(sp.Integer(800), sp.Integer(-800), sp.Integer(799)).evalf(30)
    assert abs(value - (800 + mpmath.log1p(mpmath.exp(-1)))) < 1e-25
    with pytest.raises(TypeError, match="at least 2 arguments"):
        logsumexp(x)


def test_stable_module_examples_run():
    result = doctest.testmod(bridge.stable, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --- generated code ----------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["cpu", "parallel", "cuda"])
def test_generated_source_uses_stable_helpers_on_every_target(target):
    expr = sp.log(1 + sp.exp(x * y)) + sp.log(sp.exp(x) + sp.exp(y)) + sp.exp(x) - 1
    grad = [sp.diff(expr, v) for v in (x, y)]
    spec = KernelSpec(expr, (x, y), (), grad=grad, target=target)
    source = generate(spec)
    assert "math.log(math.exp" not in source
    assert "_softplus(" in source and "_logaddexp(" in source and "math.expm1(" in source
    assert "def _softplus" in source and "def _logaddexp" in source
    # the only bare exp() left is expm1's derivative; the softmax terms read exp(u - logsumexp)
    assert "math.exp(x1)" not in source


# --- compiled values and derivatives at extreme points, against mpmath -----------------------
def _kernels(f, *example, **kw):
    return {t: bridge.compile(f, *example, target=t, **kw) for t in ("cpu", "parallel")}


@pytest.fixture(scope="module")
def softplus_kernels():
    return _kernels(lambda a, b: ad.log(1 + ad.exp(a * b)), 0.7, -1.3)


@pytest.mark.parametrize("point", [(30.0, 30.0), (-30.0, 30.0), (0.7, -1.3), (40.0, 17.0)])
def test_log_one_plus_exp_is_softplus_in_kernels(softplus_kernels, point):
    value, grad, hess = _mp_grad_hess(lambda a, b: mpmath.log(1 + mpmath.exp(a * b)), point)
    for target, c in softplus_kernels.items():
        _close(c.value(point), value, f"{target} value")
        v, g = c.value_and_grad(point)
        _close(v, value, f"{target} value_and_grad")
        _close(g, grad, f"{target} grad")
        _close(c.hessian(point), hess, f"{target} hessian")
        batch = np.array([point, point])
        _close(c.grad(batch), [grad, grad], f"{target} batch grad")


def test_log_one_plus_exp_at_the_issue_point_is_finite(softplus_kernels):
    c = softplus_kernels["cpu"]
    assert c.value([30.0, 30.0]) == 900.0
    np.testing.assert_array_equal(c.grad([30.0, 30.0]), [30.0, 30.0])
    assert "_softplus(" in c.source and "math.log(math.exp" not in c.source


SCALAR_CASES = {
    # label: (autodiff function, mpmath function, points where naive code loses it)
    "sigmoid": (
        lambda a: 1 / (1 + ad.exp(-a)),
        lambda a: 1 / (1 + mpmath.exp(-a)),
        [-710.0, -40.0, 0.3, 40.0, 700.0],
    ),
    "log_sigmoid": (
        lambda a: ad.log(1 / (1 + ad.exp(-a))),
        lambda a: mpmath.log(1 / (1 + mpmath.exp(-a))),
        [-800.0, -30.0, 0.5, 30.0],
    ),
    "expm1": (
        lambda a: (ad.exp(a) - 1) * a,
        lambda a: (mpmath.exp(a) - 1) * a,
        [1e-10, -1e-12, 3e-5, 2.0],
    ),
    "log1p": (
        lambda a: ad.log(1 + a * a),
        lambda a: mpmath.log(1 + a * a),
        [1e-9, 3e-6, 1.5, 1e50],
    ),
    "softmax": (
        lambda a: ad.exp(3 * a) / (ad.exp(3 * a) + ad.exp(a + 1)),
        lambda a: mpmath.exp(3 * a) / (mpmath.exp(3 * a) + mpmath.exp(a + 1)),
        [400.0, -400.0, 0.2],
    ),
}


@pytest.fixture(scope="module")
def scalar_kernels():
    """One compile for every scalar case: F(a, w) = sum_k w_k f_k(a_k)."""
    fns = [case[0] for case in SCALAR_CASES.values()]

    def F(a, w):
        return sum(w[k] * fn(a[k]) for k, fn in enumerate(fns))

    return bridge.compile(F, np.ones(len(fns)), np.ones(len(fns)), params=1)


@pytest.mark.parametrize("label", list(SCALAR_CASES))
def test_scalar_rewrites_are_accurate_where_naive_code_is_not(scalar_kernels, label):
    k = list(SCALAR_CASES).index(label)
    _, mp_fn, points = SCALAR_CASES[label]
    n = len(SCALAR_CASES)
    w = np.eye(n)[k]
    for t in points:
        a = np.full(n, 0.5)
        a[k] = t
        value, grad, hess = _mp_grad_hess(mp_fn, [t])
        _close(scalar_kernels.value(a, w), value, f"{label}({t}) value")
        _close(scalar_kernels.grad(a, w)[k], grad[0], f"{label}({t}) grad")
        _close(scalar_kernels.hessian(a, w)[k, k], hess[0, 0], f"{label}({t}) hessian")


def test_logsumexp_kernel_is_shifted():
    c = bridge.compile(lambda v: ad.logsumexp(v), np.zeros(3))
    fn = lambda a, b, d: mpmath.log(mpmath.exp(a) + mpmath.exp(b) + mpmath.exp(d))  # noqa: E731
    for point in [(800.0, 799.0, -800.0), (-800.0, -801.0, -1000.0), (0.1, 0.2, 0.3)]:
        value, grad, hess = _mp_grad_hess(fn, point)
        _close(c.value(point), value, f"logsumexp{point}")
        _close(c.grad(point), grad, f"logsumexp{point} grad")
        h = c.hessian(point)
        assert np.all(np.abs(h - hess) <= RTOL * np.abs(hess) + 1e-300), f"{point}: {h}"
    # infinities: +inf wins, all -inf gives -inf (as eager's shifted logsumexp)
    assert c.value([np.inf, 1.0, 2.0]) == np.inf
    assert c.value([-np.inf, -np.inf, -np.inf]) == -np.inf
    assert np.isnan(c.value([np.nan, 1.0, 2.0]))


# --- complex input ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_kernels():
    return bridge.compile(x**2 * y + sp.sin(y), wrt=[x, y])


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.value([1 + 1j, 2.0]),
        lambda c: c.grad([1 + 1j, 2]),
        lambda c: c.value_and_grad(np.array([1.0, 2.0], dtype=complex)),
        lambda c: c.hessian(np.array([[1.0, 2.0]], dtype=np.complex64)),
        lambda c: c.hessian([1.0, 2.0j], sparse=True),
        lambda c: c.hessp([1.0, 2.0], [1j, 0.0]),
        lambda c: c.csr(np.ones(c.nnz, dtype=complex)),
    ],
    ids=["value", "grad", "value_and_grad", "hessian", "sparse", "hessp", "csr"],
)
def test_complex_input_is_refused(real_kernels, call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way to the TypeError
        with pytest.raises(TypeError, match="complex input is not supported"):
            call(real_kernels)


def test_complex_parameters_are_refused():
    c = bridge.compile(x**2 * z, wrt=[x], params=[z])
    np.testing.assert_allclose(c.grad([3.0], [2.0]), [12.0])
    with pytest.raises(TypeError, match="complex input is not supported"):
        c.grad([3.0], [2.0 + 0j])
    with pytest.raises(TypeError, match="complex input is not supported"):
        c.value([3.0], np.array([1j]))


def test_real_input_still_works_after_the_complex_check(real_kernels):
    np.testing.assert_allclose(real_kernels.grad([1.0, 2.0]), [4.0, 1 + np.cos(2.0)])
    np.testing.assert_allclose(real_kernels.grad([1, 2]), [4.0, 1 + np.cos(2.0)])

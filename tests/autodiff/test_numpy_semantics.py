"""NumPy semantics where autodiff claims them: ``np.dot`` for every rank, integer powers at 0
to every derivative order, ``std`` over one element, float -> int casts, ``max``/``min`` with
nan. Each against an oracle that does not share our rules: NumPy's own forward, exact
polynomial derivatives (integers), ``np.einsum`` contractions, central differences, and the
lifted (SymPy) and compiled (numba) faces."""

from __future__ import annotations

import doctest
import importlib
import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import bridge
import symdiff
from autodiff.ops.elementwise import cast
from autodiff.testing import check_grads

NAN = np.nan


def _fwd(f):
    """x -> d/dx f(x) by forward mode (differentiable again, for nesting)."""
    return lambda x: ad.jvp(f, (x,), (np.ones(np.shape(x)),))[1]


def _no_nan(*arrays):
    for a in arrays:
        assert not np.any(np.isnan(np.asarray(a, dtype=float))), a


# --- 1. np.dot ----------------------------------------------------------------------------------
DOT_SHAPES = [
    ((), ()),
    ((), (3,)),
    ((2, 3), ()),
    ((3,), (3,)),
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 2, 3), (3,)),
    ((3,), (2, 3, 4)),
    ((2, 3), (2, 3, 4)),
    ((2, 2, 3), (2, 3, 4)),
    ((4, 2, 3), (3, 5)),
    ((2, 3), (5, 2, 3, 4)),
    ((2, 1, 3), (1, 3, 2)),
]
DOT_IDS = [f"{sa}.{sb}" for sa, sb in DOT_SHAPES]


def _einsum_dot(a, b):
    """np.dot written as an explicit contraction (an oracle independent of np.dot)."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    la = "abcd"[: a.ndim - 1]
    if b.ndim == 1:
        return np.einsum(f"{la}k,k->{la}", a, b)
    lb = "efgh"[: b.ndim - 2]
    return np.einsum(f"{la}k,{lb}km->{la}{lb}m", a, b)


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES, ids=DOT_IDS)
def test_dot_matches_numpy_for_every_rank(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    expected = np.dot(a, b)
    np.testing.assert_allclose(expected, _einsum_dot(a, b), rtol=1e-12, atol=1e-12)
    for out in (
        ad.dot(a, b),
        ad.dot(ad.tensor(a), ad.tensor(b)),
        np.dot(ad.tensor(a), b),
        np.dot(a, ad.tensor(b)),
        ad.tensor(a).dot(b),
    ):
        assert isinstance(out, ad.Tensor)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES, ids=DOT_IDS)
def test_dot_gradients_match_contractions_and_central_differences(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    u = rng.standard_normal(np.shape(np.dot(a, b)))
    ga, gb = ad.grad(lambda a, b: ad.sum(ad.dot(a, b) * u), argnums=(0, 1))(a, b)
    # <u, dot(a, b)> is linear in each operand: its gradient is the contraction with the
    # other operand, here read off by differentiating the einsum oracle exactly (basis).
    ea = np.array([np.sum(_einsum_dot(e.reshape(sa), b) * u) for e in np.eye(a.size)])
    eb = np.array([np.sum(_einsum_dot(a, e.reshape(sb)) * u) for e in np.eye(b.size)])
    np.testing.assert_allclose(np.ravel(ga), ea, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.ravel(gb), eb, rtol=1e-12, atol=1e-12)
    check_grads(lambda a, b: ad.sin(ad.dot(a, b)), a, b, order=2, modes=("rev", "fwd"))


def test_dot_second_order_is_exact():
    # f = sum(dot(a, b)**2): its Hessian w.r.t. a is 2 * B B^T with B the contraction map.
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 4))
    h = ad.hessian(lambda a: ad.sum(ad.dot(a, b) ** 2))(a)
    jac = np.stack([_einsum_dot(e.reshape(2, 3), b).ravel() for e in np.eye(6)])
    np.testing.assert_allclose(h.reshape(6, 6), 2 * jac @ jac.T, rtol=1e-12, atol=1e-12)


def test_dot_float32_keeps_dtype():
    a = np.ones((2, 2, 3), np.float32)
    b = np.ones((2, 3, 4), np.float32)
    out, pull = ad.vjp(ad.dot, a, b)
    assert out.dtype == np.float32 and out.shape == (2, 2, 2, 4)
    ga, gb = pull(np.ones(out.shape, np.float32))
    assert ga.dtype == gb.dtype == np.float32
    np.testing.assert_array_equal(ga, np.full((2, 2, 3), 8.0, np.float32))


@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 3), (2, 4)), ((3,), (4,)), ((2, 3), (4, 2, 3)), ((3,), (2, 4, 5))]
)
def test_dot_shape_mismatch_raises_shape_error_naming_dot_and_shapes(sa, sb):
    with pytest.raises(ad.ShapeError, match=r"dot") as info:
        ad.dot(np.ones(sa), np.ones(sb))
    assert str(sa) in str(info.value) and str(sb) in str(info.value)
    with pytest.raises(ad.ShapeError, match=r"dot"):
        np.dot(ad.tensor(np.ones(sa)), np.ones(sb))
    with pytest.raises(ValueError):  # NumPy agrees that these do not align
        np.dot(np.ones(sa), np.ones(sb))


@st.composite
def _dot_operands(draw):
    k = draw(st.integers(1, 3))
    ra, rb = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    side = st.integers(1, 3)
    sa = () if ra == 0 else tuple(draw(side) for _ in range(ra - 1)) + (k,)
    if rb == 0:
        sb = ()
    elif rb == 1:
        sb = (k,)
    else:
        sb = tuple(draw(side) for _ in range(rb - 2)) + (k, draw(side))
    elements = st.floats(-2.0, 2.0, allow_nan=False)
    a = draw(hnp.arrays(np.float64, sa, elements=elements))
    b = draw(hnp.arrays(np.float64, sb, elements=elements))
    return a, b


@settings(max_examples=60, deadline=None)
@given(_dot_operands())
def test_dot_hypothesis_shapes_match_numpy_and_central_differences(operands):
    a, b = operands
    expected = np.dot(a, b)
    out = ad.dot(ad.tensor(a), ad.tensor(b))
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    check_grads(ad.dot, a, b, order=1, modes=("rev", "fwd"))


def test_dot_lifts_and_compiles_like_eager(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 1, 2)), rng.standard_normal((2, 2, 2))

    def f(a, b):
        return ad.sum(ad.sin(ad.dot(a, b)))

    assert symdiff.check_consistency(f, a, b).ok
    lifted = symdiff.lift(f, a, b)
    a2, b2 = rng.standard_normal((2, 1, 2)), rng.standard_normal((2, 2, 2))
    value = sp.N(lifted.expr.subs(lifted.subs_values(a2, b2)))
    assert float(value) == pytest.approx(float(np.sum(np.sin(np.dot(a2, b2)))), rel=1e-12)
    compiled = bridge.compile(f, a, b)
    flat = np.concatenate([a2.ravel(), b2.ravel()])
    ga, gb = ad.grad(f, argnums=(0, 1))(a2, b2)
    assert float(compiled.value(flat)) == pytest.approx(float(value), rel=1e-12)
    np.testing.assert_allclose(
        compiled.grad(flat), np.concatenate([ga.ravel(), gb.ravel()]), rtol=1e-12, atol=1e-14
    )


# --- 2. integer powers at 0, every order ----------------------------------------------------
def _exact_power_derivative(k: int, n: int, x: float) -> float:
    """d^n/dx^n x**k, exactly: k (k-1) ... (k-n+1) x**(k-n), 0 once n > k >= 0."""
    coefficient = math.prod(range(k - n + 1, k + 1))
    return 0.0 if coefficient == 0 else coefficient * x ** (k - n)


@pytest.mark.parametrize("k", range(5))
@pytest.mark.parametrize("x0", [0.0, 1.3, -0.6])
def test_integer_power_derivatives_are_exact_to_order_5(k, x0):
    for n in range(1, 6):
        expected = _exact_power_derivative(k, n, x0)
        rev = fwd = lambda x, k=k: x**k  # noqa: E731
        for _ in range(n):
            rev, fwd = ad.grad(rev), _fwd(fwd)
        for mode, d in (("rev", rev(x0)), ("fwd", fwd(x0))):
            assert np.isfinite(d), (mode, k, n, x0)
            assert float(d) == pytest.approx(expected, rel=1e-13, abs=1e-13), (mode, k, n, x0)


@pytest.mark.parametrize("k", [-1, -2, -3])
def test_negative_integer_power_derivatives_away_from_zero(k):
    for x0 in (0.7, -1.4):
        rev = fwd = lambda x, k=k: x**k  # noqa: E731
        for n in range(1, 5):
            rev, fwd = ad.grad(rev), _fwd(fwd)
            expected = _exact_power_derivative(k, n, x0)
            assert float(rev(x0)) == pytest.approx(expected, rel=1e-12)
            assert float(fwd(x0)) == pytest.approx(expected, rel=1e-12)


def test_integer_power_exponent_forms_numpy_ints_floats_and_arrays():
    x = np.zeros(4)
    exponents = np.array([0, 1, 2, 3])
    for k in (exponents, exponents.astype(float), np.int64(0), 0.0, 0):
        g = ad.grad(lambda x, k=k: ad.sum(x**k))(x)
        expected = np.where(np.asarray(k) == 1, 1.0, 0.0) * np.ones(4)
        np.testing.assert_array_equal(g, expected)
        h = ad.hessian(lambda x, k=k: ad.sum(x**k))(x)
        np.testing.assert_array_equal(np.diag(h), np.where(np.asarray(k) == 2, 2.0, 0.0) * 1)
    g = ad.grad(lambda x: ad.sum(np.power(x, exponents)))(np.zeros(4))
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0, 0.0])


def test_relu_power_sum_has_finite_gradient_at_negative_input():
    def f(h):
        return sum(ad.relu(h) ** k for k in range(3))

    assert float(ad.grad(f)(-1.0)) == 0.0
    assert float(ad.derivative(f, order=2)(-1.0)) == 0.0
    assert float(_fwd(f)(-1.0)) == 0.0
    assert float(ad.grad(f)(0.5)) == pytest.approx(1.0 + 2 * 0.5)


def test_integer_power_float32_stays_exact_at_zero():
    x = np.zeros(3, np.float32)
    g = ad.grad(lambda x: ad.sum(x**0 + x**1 + x**2))(x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])


def test_power_recorded_constant_exponent_at_zero():
    # an exponent computed from a condition on x: no gradient, but recorded (lift replays it)
    def f(x):
        k = ad.where(x > 10.0, 2.0, 0.0)
        return ad.sum(x**k)

    x = np.zeros(2)
    np.testing.assert_array_equal(ad.grad(f)(x), [0.0, 0.0])
    np.testing.assert_array_equal(ad.hessian(f)(x), np.zeros((2, 2)))
    lifted = symdiff.lift(f, np.array([0.5, 20.0]))
    at = lifted.subs_values(np.array([0.5, 20.0]))
    grad = [float(sp.N(g.subs(at))) for g in lifted.gradient()]
    np.testing.assert_allclose(grad, ad.grad(f)(np.array([0.5, 20.0])), rtol=1e-14)


def test_power_tensor_exponent_keeps_the_general_rule():
    x, y = np.array([0.5, 1.7]), np.array([-1.3, 2.2])
    check_grads(lambda x, y: x**y, x, y, order=2)
    gx, gy = ad.grad(lambda x, y: ad.sum(x**y), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y * x ** (y - 1), rtol=1e-14)
    np.testing.assert_allclose(gy, x**y * np.log(x), rtol=1e-14)
    # d(a**b)/db at a = 0 stays 0 (PyTorch), not 0 * log(0)
    assert float(ad.grad(lambda y: 0.0**y)(2.0)) == 0.0


def test_integer_power_at_zero_lifted_and_compiled_agree(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path))

    def f(x):
        return ad.sum(x[0] ** 0 + x[0] ** 1 * x[1] + x[1] ** 2 + x[0] ** 3 + x[1] ** 4)

    lifted = symdiff.lift(f, np.array([0.3, -0.2]))
    x0, x1 = lifted.variables
    at0 = {x0: 0, x1: 0}
    for n in range(1, 6):
        for s in (x0, x1):
            d = lifted.derivative(*([s] * n))
            poly = sp.diff(1 + x0 * x1 + x1**2 + x0**3 + x1**4, s, n)
            assert sp.simplify(d - poly) == 0
            assert d.subs(at0) == poly.subs(at0)
    zero = np.zeros(2)
    compiled = bridge.compile(f, np.array([0.3, -0.2]))
    np.testing.assert_array_equal(compiled.grad(zero), ad.grad(f)(zero))
    np.testing.assert_array_equal(compiled.hessian(zero), ad.hessian(f)(zero))
    np.testing.assert_array_equal(ad.grad(f)(zero), [0.0, 0.0])
    np.testing.assert_array_equal(ad.hessian(f)(zero), [[0.0, 1.0], [1.0, 2.0]])


# --- 3. std over one element or zero spread -----------------------------------------------------
def test_std_of_one_element_has_zero_gradient():
    g = ad.grad(lambda x: ad.std(x))(np.array([3.0]))
    np.testing.assert_array_equal(g, [0.0])
    assert float(ad.std(np.array([3.0]))) == 0.0


@pytest.mark.parametrize("ddof", [0, 1])
def test_std_of_equal_values_is_zero_with_zero_derivatives(ddof):
    x = np.full(4, 2.5)
    assert float(ad.std(x, ddof=ddof)) == np.std(x, ddof=ddof) == 0.0
    f = lambda x: ad.std(x, ddof=ddof)  # noqa: E731
    np.testing.assert_array_equal(ad.grad(f)(x), np.zeros(4))
    np.testing.assert_array_equal(_fwd(f)(x), 0.0)
    np.testing.assert_array_equal(ad.hessian(f)(x), np.zeros((4, 4)))


def test_std_per_axis_zero_spread_column_and_normal_column():
    x = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 3.0]])
    np.testing.assert_allclose(ad.std(x, axis=0).numpy(), np.std(x, axis=0), rtol=1e-15)
    g = ad.grad(lambda x: ad.sum(ad.std(x, axis=0)))(x)
    _no_nan(g)
    col = x[:, 1]
    np.testing.assert_allclose(g[:, 1], (col - col.mean()) / (col.size * col.std()), rtol=1e-14)
    np.testing.assert_array_equal(g[:, 0], 0.0)
    check_grads(lambda x: ad.std(x, axis=0), np.array([[1.0, 2.0], [1.5, 4.0], [0.3, 3.0]]))
    x32 = x.astype(np.float32)
    assert ad.std(x32, axis=0).dtype == np.float32
    assert ad.grad(lambda x: ad.sum(ad.std(x, axis=0)))(x32).dtype == np.float32


def test_std_lifted_and_compiled_agree_with_eager_at_zero_spread(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path))

    def f(x):
        return ad.std(x * x[::-1] + x)

    lifted = symdiff.lift(f, np.array([0.3, 1.2, -0.5]))
    # every entry of x * x[::-1] + x equal, in exact arithmetic (binary fractions): a point
    # such as 0.7 would leave a rounding residue in SymPy's Float evaluation of the variance
    equal = np.array([0.5, 0.5, 0.5])
    for point in (equal, np.array([-0.4, 1.9, 0.2])):
        at = lifted.subs_values(point)
        grad = [float(sp.N(g.subs(at))) for g in lifted.gradient()]
        np.testing.assert_allclose(grad, ad.grad(f)(point), rtol=1e-13, atol=1e-15)
        h = lifted.hessian()
        dense = np.zeros((3, 3))
        dense[h.rows, h.cols] = [float(sp.N(v.subs(at))) for v in h.values]
        np.testing.assert_allclose(dense, ad.hessian(f)(point), rtol=1e-12, atol=1e-14)
        value = float(sp.N(lifted.expr.subs(at)))
        assert value == pytest.approx(float(np.std(point * point[::-1] + point)), abs=1e-15)
    _no_nan(ad.grad(f)(equal), ad.hessian(f)(equal))
    np.testing.assert_array_equal(ad.grad(f)(equal), np.zeros(3))
    compiled = bridge.compile(f, np.array([0.3, 1.2, -0.5]))
    # Compiled kernels evaluate SymPy's expanded variance (coefficients 1/3 and 2/3, inexact
    # in binary), so a zero spread is exactly zero in floating point - and the convention
    # applies - where every term vanishes; at other equal points a rounding-level residue
    # remains, as in any expanded formula (the value is then ~1e-9, not 0).
    zero_terms = np.zeros(3)
    np.testing.assert_array_equal(compiled.grad(zero_terms), np.zeros(3))
    np.testing.assert_array_equal(compiled.hessian(zero_terms), np.zeros((3, 3)))
    assert abs(float(compiled.value(equal))) < 1e-7
    point = np.array([-0.4, 1.9, 0.2])
    np.testing.assert_allclose(compiled.grad(point), ad.grad(f)(point), rtol=1e-12)
    # one element: std is identically 0, in every face
    assert symdiff.lift(lambda x: ad.std(x), np.array([3.0])).expr == 0


def test_var_with_no_degrees_of_freedom_raises():
    with pytest.raises(ValueError, match=r"var: 1 element\(s\) with ddof=1"):
        ad.std(np.array([3.0]), ddof=1)


# --- 4. float -> int casts --------------------------------------------------------------------
def test_cast_to_int_truncates_like_numpy_and_carries_no_gradient():
    x = ad.tensor([2.5, -2.5, 2.0, -0.7, 0.0], requires_grad=True)
    y = x.astype(int)
    np.testing.assert_array_equal(y.numpy(), np.array([2.5, -2.5, 2.0, -0.7, 0.0]).astype(int))
    assert y.dtype == np.dtype(int) and not y.requires_grad
    f = lambda x: x.astype(int) * x  # noqa: E731
    assert float(ad.grad(f)(2.5)) == 2.0  # torch: 2; the cast passes no gradient
    assert float(ad.grad(f)(-2.5)) == -2.0
    assert float(_fwd(f)(2.5)) == 2.0
    assert float(ad.derivative(f, order=2)(2.5)) == 0.0
    b = ad.tensor([0.0, -1.5]).astype(bool)
    np.testing.assert_array_equal(b.numpy(), [False, True])
    assert b.dtype == np.bool_


def test_cast_to_int_lifts_to_truncation_and_compiles(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path))

    def f(x):
        return x.astype(int) * x

    lifted = symdiff.lift(f, 2.5)
    (x,) = lifted.variables
    for v in (2.5, -2.5, 0.7, -0.7, 3.0, -3.0):
        assert float(lifted.expr.subs(x, v)) == float(f(ad.tensor(v)))
        assert float(lifted.gradient()[0].subs(x, v)) == float(ad.grad(f)(v))
    assert float(lifted.expr.subs(x, 2.5)) == 5.0 and float(lifted.expr.subs(x, -2.5)) == 5.0
    compiled = bridge.compile(f, 2.5)
    assert float(compiled.value(-2.5)) == 5.0
    assert float(compiled.value(2.5)) == 5.0
    np.testing.assert_array_equal(compiled.grad(-2.5), [-2.0])


def test_cast_between_floats_keeps_passing_gradients():
    check_grads(lambda x: cast(x, np.float64) * x, np.array([0.5, -1.5]), order=2)
    g = ad.grad(lambda x: ad.sum(x.astype(np.float32) ** 2))(np.array([1.0, 2.0]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0])


def test_cast_bool_lifts_to_its_condition():
    def f(x):
        return ad.sum(ad.where(x.astype(bool), x**2, 5.0))

    lifted = symdiff.lift(f, np.array([0.0, 1.0]))
    for point in (np.array([0.0, 2.0]), np.array([-1.5, 0.0])):
        at = lifted.subs_values(point)
        assert float(lifted.expr.subs(at)) == float(f(ad.tensor(point)))


# --- 5. max / min / maximum / minimum with nan --------------------------------------------------
@pytest.mark.parametrize("fn", [ad.max, ad.min], ids=["max", "min"])
def test_reduction_with_nan_sends_gradient_to_the_nan(fn):
    x = np.array([NAN, 1.0])
    assert np.isnan(float(fn(x)))
    np.testing.assert_array_equal(ad.grad(fn)(x), [1.0, 0.0])
    two = np.array([2.0, NAN, -1.0, NAN])
    np.testing.assert_array_equal(ad.grad(fn)(two), [0.0, 0.5, 0.0, 0.5])
    _, tangent = ad.jvp(fn, (two,), (np.array([1.0, 3.0, 5.0, 7.0]),))
    assert float(tangent) == 5.0
    np.testing.assert_array_equal(ad.hessian(fn)(two), np.zeros((4, 4)))
    rows = np.array([[NAN, 1.0, 3.0], [1.0, 2.0, 0.5]])
    g = ad.grad(lambda x: ad.sum(fn(x, axis=1)))(rows)
    pick = 1 if fn is ad.max else 2
    np.testing.assert_array_equal(g, [[1.0, 0.0, 0.0], np.eye(3)[pick]])


@pytest.mark.parametrize("fn", [ad.maximum, ad.minimum], ids=["maximum", "minimum"])
def test_elementwise_extremum_with_nan_sends_gradient_to_the_nan_operand(fn):
    a = np.array([NAN, 1.0, NAN, 2.0])
    b = np.array([1.0, NAN, NAN, 2.0])
    np.testing.assert_array_equal(
        fn(a, b).numpy(), (np.maximum if fn is ad.maximum else np.minimum)(a, b)
    )
    ga, gb = ad.grad(lambda a, b: ad.sum(fn(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ga, [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.5, 0.5])
    _, tangent = ad.jvp(fn, (a, b), (np.full(4, 2.0), np.full(4, 4.0)))
    np.testing.assert_array_equal(tangent, [2.0, 4.0, 3.0, 3.0])
    h = ad.hessian(lambda a: ad.sum(fn(a, b)))(a)
    np.testing.assert_array_equal(h, np.zeros((4, 4)))
    # broadcasting a nan scalar against a vector
    g = ad.grad(lambda s: ad.sum(fn(s, np.array([1.0, 2.0]))))(NAN)
    assert float(g) == 2.0


@pytest.mark.parametrize("fn", [ad.maximum, ad.minimum], ids=["maximum", "minimum"])
def test_elementwise_extremum_with_infinite_operands_splits_ties(fn):
    inf = np.inf
    a = np.array([inf, -inf, inf, 1.0, NAN])
    b = np.array([inf, -inf, 1.0, -inf, inf])
    out, pullback = ad.vjp(fn, a, b)  # (a sum would add inf and -inf)
    np.testing.assert_array_equal(out, (np.maximum if fn is ad.maximum else np.minimum)(a, b))
    ga, gb = pullback(np.ones(5))
    a_wins = [0.5, 0.5, 1.0, 1.0, 1.0] if fn is ad.maximum else [0.5, 0.5, 0.0, 0.0, 1.0]
    np.testing.assert_array_equal(ga, a_wins)
    np.testing.assert_array_equal(gb, 1.0 - np.array(a_wins))
    _, tangent = ad.jvp(fn, (a, b), (np.full(5, 2.0), np.full(5, 4.0)))
    _no_nan(tangent)


def test_clip_with_nan_gives_finite_gradient():
    g = ad.grad(lambda x: ad.sum(ad.clip(x, -0.5, 0.5)))(np.array([NAN, 0.2, 3.0]))
    _no_nan(g)
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0])


@pytest.mark.parametrize(
    "name", ["autodiff.ops.linalg", "autodiff.ops.elementwise", "autodiff.ops.reductions"]
)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""Op-table-driven tests: every primitive (and the composites) against NumPy, central
differences (reverse, forward and second order) and float32; then the kink conventions."""

from __future__ import annotations

import numpy as np
import op_specs
import pytest

import autodiff as ad
from autodiff.ops import ALL_OPS
from autodiff.ops.reductions import _stable_shift
from autodiff.testing import check_grads


# --- completeness ------------------------------------------------------------------------------
def test_op_table_has_a_row_for_every_op(op_table):
    names = {op.name for op in ALL_OPS}
    missing = sorted(names - set(op_table))
    assert not missing, f"ops without a row in the op test table (tests/autodiff): {missing}"
    stale = sorted(set(op_table) - names)
    assert not stale, f"op test table rows for ops that do not exist: {stale}"
    assert all(op_table[name] for name in names), "every row needs at least one case"


def test_op_table_every_op_has_all_rules():
    lacking = []
    for op in ALL_OPS:
        rules = {"sympy": op.sympy}
        if op.differentiable:
            rules |= {"vjp": op.vjp, "jvp": op.jvp}
        lacking += [f"{op.name}.{rule}" for rule, fn in rules.items() if fn is None]
    assert not lacking, f"ops lacking a rule: {lacking}"


def test_op_table_names_are_unique():
    names = [op.name for op in ALL_OPS]
    assert len(names) == len(set(names))


# --- every case: forward, gradients, float32 ------------------------------------------------------
def test_op_forward_matches_numpy(any_case, rng, make_inputs):
    for shapes in any_case.shapes:
        xs = make_inputs(any_case, shapes, rng)
        out = any_case.fn(*[ad.tensor(x) for x in xs])
        expected = np.asarray(any_case.ref(*xs))
        assert isinstance(out, ad.Tensor)
        assert out.shape == expected.shape, shapes
        assert out.dtype == expected.dtype, shapes
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_op_gradients_match_central_differences_to_second_order(diff_case, rng, make_inputs):
    for shapes in diff_case.shapes:
        xs = make_inputs(diff_case, shapes, rng)
        check_grads(diff_case.fn, *xs, order=2, modes=("rev", "fwd"))


def test_op_gradient_shapes_match_inputs(diff_case, rng, make_inputs):
    for shapes in diff_case.shapes:
        xs = [ad.tensor(x) for x in make_inputs(diff_case, shapes, rng)]
        out, pullback = ad.vjp(diff_case.fn, *xs)
        for x, g in zip(xs, pullback(np.ones(out.shape))):
            assert isinstance(g, ad.Tensor) and g.shape == x.shape and g.dtype == x.dtype


def test_op_float32_keeps_dtype_and_matches_float64(float32_case, rng, make_inputs):
    for shapes in float32_case.shapes:
        x64 = make_inputs(float32_case, shapes, rng)
        x32 = [x.astype(np.float32) for x in x64]
        out32, pull32 = ad.vjp(float32_case.fn, *x32)
        out64, pull64 = ad.vjp(float32_case.fn, *[x.astype(np.float64) for x in x32])
        expected_dtype = np.float32 if float32_case.keeps_dtype else np.float64
        assert np.asarray(out32).dtype == expected_dtype
        rtol = op_specs.tolerance(float32_case, "float32_value")
        np.testing.assert_allclose(out32, out64, rtol=rtol, atol=rtol / 10)
        u = rng.standard_normal(np.shape(out64))
        for g32, g64 in zip(pull32(u.astype(expected_dtype)), pull64(u)):
            assert np.asarray(g32).dtype == np.float32, "gradient left float32"
            gtol = op_specs.tolerance(float32_case, "float32_grad")
            np.testing.assert_allclose(g32, g64, rtol=gtol, atol=gtol / 10)
        _, tangent32 = ad.jvp(float32_case.fn, x32, [np.ones_like(x) for x in x32])
        assert np.asarray(tangent32).dtype == expected_dtype


def test_op_comparison_returns_boolean_without_graph(comparison_case, rng, make_inputs):
    for shapes in comparison_case.shapes:
        xs = [ad.tensor(x, requires_grad=True) for x in make_inputs(comparison_case, shapes, rng)]
        out = comparison_case.fn(*xs)
        assert out.dtype == np.bool_
        # No gradient flows through a comparison, but it is recorded so lift can replay it.
        assert not out.requires_grad and out._op is not None
        np.testing.assert_array_equal(out.numpy(), comparison_case.ref(*[x.data for x in xs]))


def test_op_comparison_on_ties_follows_numpy():
    a = ad.tensor([1.0, 2.0, 3.0])
    b = np.array([1.0, 3.0, 2.0])
    np.testing.assert_array_equal((a == b).numpy(), [True, False, False])
    np.testing.assert_array_equal((a <= b).numpy(), [True, True, False])
    np.testing.assert_array_equal((a >= b).numpy(), [True, False, True])


# --- kinks: relu'(0) = 0, abs'(0) = 0, sign' = 0, ties split 0.5 / 0.5 ----------------------------
def _grad_sum(f):
    return ad.grad(lambda x: ad.sum(f(x)))


def _jvp_ones(f, x):
    return ad.jvp(f, (x,), (np.ones_like(x),))[1]


def test_kink_derivative_at_zero_is_convention(kink_case):
    """The op-spec table's kink points: reverse, forward and second order are the convention."""
    f, x = kink_case.fn, np.array(kink_case.points)
    np.testing.assert_array_equal(_grad_sum(f)(x), kink_case.expected)
    np.testing.assert_array_equal(_jvp_ones(f, x), kink_case.expected)
    np.testing.assert_array_equal(ad.grad(lambda x: ad.sum(_grad_sum(f)(x)))(x), 0.0)


def test_relu_second_derivative_at_zero_is_zero():
    d2 = ad.derivative(ad.relu, order=2)
    assert d2(0.0) == 0.0
    assert ad.derivative(ad.relu)(0.0) == 0.0


@pytest.mark.parametrize("fn", [ad.maximum, ad.minimum], ids=["maximum", "minimum"])
def test_kink_binary_tie_splits_gradient_half_half(fn):
    a = np.array([1.0, 2.0, -3.0])
    b = np.array([1.0, 0.0, -3.0])
    ga, gb = ad.grad(lambda a, b: ad.sum(fn(a, b)), argnums=(0, 1))(a, b)
    pick_a = 1.0 if fn is ad.maximum else 0.0
    np.testing.assert_array_equal(ga, [0.5, pick_a, 0.5])
    np.testing.assert_array_equal(gb, [0.5, 1.0 - pick_a, 0.5])
    _, tangent = ad.jvp(fn, (a, b), (np.array([2.0, 2.0, 2.0]), np.array([4.0, 4.0, 6.0])))
    np.testing.assert_array_equal(tangent, [3.0, 2.0 if pick_a else 4.0, 4.0])


@pytest.mark.parametrize("fn", [ad.max, ad.min], ids=["max", "min"])
def test_kink_reduction_ties_share_gradient(fn):
    sign = 1.0 if fn is ad.max else -1.0
    x = sign * np.array([1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(ad.grad(fn)(x), [0.0, 0.5, 0.5, 0.0])
    three = sign * np.array([[5.0, 5.0, 5.0], [1.0, 2.0, 0.0]])
    g = ad.grad(lambda x: ad.sum(fn(x, axis=1)))(three)
    np.testing.assert_allclose(g, [[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    _, tangent = ad.jvp(fn, (x,), (np.array([10.0, 1.0, 3.0, 7.0]),))
    assert tangent == 2.0  # the mean of the tied elements' tangents


def test_kink_clip_at_boundary_matches_minimum_of_maximum():
    x = np.array([-1.0, -0.5, 0.0, 0.7, 1.0])

    def composed(x):
        return ad.minimum(ad.maximum(x, -0.5), 0.7)

    clip_grad = _grad_sum(lambda x: ad.clip(x, -0.5, 0.7))(x)
    np.testing.assert_array_equal(clip_grad, _grad_sum(composed)(x))
    np.testing.assert_array_equal(clip_grad, [0.0, 0.5, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(_jvp_ones(lambda x: ad.clip(x, -0.5, 0.7), x), clip_grad)


def test_where_condition_gets_no_gradient():
    c = ad.tensor([1.0, -1.0], requires_grad=True)
    a = ad.tensor([2.0, 3.0], requires_grad=True)
    ad.sum(ad.where(c > 0, a * c, 0.0)).backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(c.grad.numpy(), [2.0, 0.0])  # only through a * c


# --- numerics of particular ops -----------------------------------------------------------------
def test_log_softmax_is_stable_at_large_inputs():
    x = np.array([1000.0, 1000.0, 999.0])
    shifted = x - 1000.0
    expected = shifted - np.log(np.exp(shifted).sum())
    out = ad.log_softmax(x)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.softmax(x).numpy(), np.exp(expected), rtol=1e-12)
    np.testing.assert_allclose(ad.logsumexp(x).item(), 1000.0 + np.log(np.exp(shifted).sum()))
    g = ad.grad(lambda x: ad.log_softmax(x)[0])(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, np.eye(3)[0] - np.exp(expected), rtol=1e-12)
    check_grads(ad.log_softmax, x)


def test_sigmoid_and_softplus_do_not_overflow():
    x = np.array([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_array_equal(ad.sigmoid(x).numpy(), [0.0, 0.5, 1.0])
        np.testing.assert_allclose(ad.softplus(x).numpy(), [0.0, np.log(2.0), 1000.0])
        np.testing.assert_array_equal(ad.grad(lambda x: ad.sum(ad.softplus(x)))(x), [0, 0.5, 1])


def test_prod_gradient_is_exact_with_zeros():
    np.testing.assert_array_equal(ad.grad(ad.prod)(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(ad.grad(ad.prod)(np.array([0.0, 4.0, 0.0])), [0.0, 0.0, 0.0])
    check_grads(ad.prod, np.array([2.0, 0.0, 3.0]), order=3)
    check_grads(lambda x: ad.prod(x, axis=0), np.array([[0.0, 1.0], [0.0, 2.0], [3.0, 0.0]]))


def test_getitem_repeated_indices_accumulate_like_add_at():
    x = ad.tensor(np.arange(4.0), requires_grad=True)
    index = np.array([0, 2, 0, 0, 3])
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ad.sum(x[index] * weights).backward()
    expected = np.zeros(4)
    np.add.at(expected, index, weights)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_cast_float32_roundtrip_returns_gradient_in_input_dtype():
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    ad.sum(y * y).backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_op_stable_shift_is_a_gradient_free_constant_that_cancels():
    x = ad.tensor([[1000.0, 1001.0, 999.0]], requires_grad=True)
    shift = _stable_shift(x, -1)
    assert not shift.requires_grad
    np.testing.assert_array_equal(shift.numpy(), [[1001.0]])
    out = ad.logsumexp(x, axis=-1).sum()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), ad.softmax(x, axis=-1).numpy(), rtol=1e-12)
    inf = _stable_shift(ad.tensor([-np.inf, -np.inf]), 0)
    np.testing.assert_array_equal(inf.numpy(), [0.0])  # all -inf rows shift by 0, not nan

"""Functional transforms (grad, vjp, jvp, jacobians, Hessians, derivative) against closed
forms, and the gradient checker ``autodiff.testing.check_grads`` itself."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import autodiff as ad
from autodiff.ops.base import Op
from autodiff.tensor import apply
from autodiff.testing import check_grads

X = np.array([0.3, -1.2, 2.0])


# --- grad, value_and_grad, derivative -------------------------------------------------------------
def test_grad_matches_closed_form():
    g = ad.grad(lambda x: ad.sum(ad.sin(x) * x))(X)
    np.testing.assert_allclose(g, np.cos(X) * X + np.sin(X), rtol=1e-14)


def test_grad_returns_numpy_for_arrays_and_tensors_for_tensors():
    f = ad.grad(lambda x: ad.sum(x**2))
    assert isinstance(f(X), np.ndarray)
    assert isinstance(f(ad.tensor(X)), ad.Tensor)
    assert np.ndim(ad.grad(ad.sin)(1.0)) == 0
    np.testing.assert_allclose(f(ad.tensor(X)).numpy(), 2 * X)


def test_grad_argnums_tuple_returns_one_gradient_per_argument():
    def f(x, y, z):
        return ad.sum(x * y) + z

    gx, gz = ad.grad(f, argnums=(0, 2))(X, 2 * X, 5.0)
    np.testing.assert_allclose(gx, 2 * X)
    assert gz == 1.0
    gy = ad.grad(f, argnums=1)(X, 2 * X, 5.0)
    np.testing.assert_allclose(gy, X)


def test_grad_works_inside_no_grad():
    with ad.no_grad():
        np.testing.assert_allclose(ad.grad(lambda x: ad.sum(x**3))(X), 3 * X**2)


def test_value_and_grad_returns_both():
    value, g = ad.value_and_grad(lambda x: ad.sum(ad.exp(x)))(X)
    np.testing.assert_allclose(value, np.exp(X).sum())
    np.testing.assert_allclose(g, np.exp(X))


def test_grad_of_grad_of_grad():
    d3 = ad.grad(ad.grad(ad.grad(lambda x: x**4)))
    assert d3(2.0) == pytest.approx(48.0)
    d3_sin = ad.grad(ad.grad(ad.grad(ad.sin)))
    for x in (0.0, 0.7, -2.1):
        assert d3_sin(x) == pytest.approx(-np.cos(x), abs=1e-14)


@pytest.mark.parametrize("x", [-1.3, 0.0, 0.4, 2.5])
def test_derivative_fourth_of_sin_times_exp(x):
    d4 = ad.derivative(lambda x: ad.sin(x) * ad.exp(x), order=4)
    assert d4(x) == pytest.approx(-4.0 * np.sin(x) * np.exp(x), rel=1e-12, abs=1e-12)


def test_derivative_order_zero_and_validation():
    f = ad.derivative(ad.cos, order=0)
    assert f(0.0).item() == 1.0
    with pytest.raises(ValueError, match="non-negative integer"):
        ad.derivative(ad.cos, order=-1)


def test_mixed_partials_of_three_variables_match_closed_forms():
    def f(x, y, z):
        return x**2 * y * ad.sin(z) + ad.exp(x * z)

    x, y, z = 0.7, -1.3, 0.4
    e = np.exp(x * z)
    d = {
        "xy": ad.grad(ad.grad(f, 0), 1),
        "xz": ad.grad(ad.grad(f, 0), 2),
        "zx": ad.grad(ad.grad(f, 2), 0),
        "yz": ad.grad(ad.grad(f, 1), 2),
        "xx": ad.grad(ad.grad(f, 0), 0),
        "zz": ad.grad(ad.grad(f, 2), 2),
        "xyz": ad.grad(ad.grad(ad.grad(f, 0), 1), 2),
    }
    expected = {
        "xy": 2 * x * np.sin(z),
        "xz": 2 * x * y * np.cos(z) + e * (1 + x * z),
        "zx": 2 * x * y * np.cos(z) + e * (1 + x * z),
        "yz": x**2 * np.cos(z),
        "xx": 2 * y * np.sin(z) + z**2 * e,
        "zz": -(x**2) * y * np.sin(z) + x**2 * e,
        "xyz": 2 * x * np.cos(z),
    }
    for key, fn in d.items():
        assert fn(x, y, z) == pytest.approx(expected[key], rel=1e-13), key
    blocks = ad.hessian(f, argnums=(0, 1, 2))(x, y, z)
    assert blocks[0][1] == pytest.approx(expected["xy"], rel=1e-13)
    assert blocks[2][0] == pytest.approx(expected["zx"], rel=1e-13)
    assert blocks[2][2] == pytest.approx(expected["zz"], rel=1e-13)


# --- vjp, jvp, jacobians --------------------------------------------------------------------------
def _vector_fn(x, y):
    return ad.concatenate([ad.sin(x) * y, ad.reshape(ad.sum(x * x), (1,)), ad.exp(y)])


def _jacobians_closed_form(x, y):
    jx = np.vstack([np.diag(np.cos(x) * y), 2 * x[None, :], np.zeros((3, 3))])
    jy = np.vstack([np.diag(np.sin(x)), np.zeros((1, 3)), np.diag(np.exp(y))])
    return jx, jy


def test_vjp_and_jvp_match_the_jacobian():
    y = np.array([0.5, 1.5, -0.2])
    jx, jy = _jacobians_closed_form(X, y)
    u = np.arange(1.0, 8.0)
    out, pullback = ad.vjp(_vector_fn, X, y)
    assert out.shape == (7,)
    ux, uy = pullback(u)
    np.testing.assert_allclose(ux, jx.T @ u, rtol=1e-14)
    np.testing.assert_allclose(uy, jy.T @ u, rtol=1e-14)
    v, w = np.array([1.0, -2.0, 0.5]), np.array([0.0, 3.0, 1.0])
    _, tangent = ad.jvp(_vector_fn, (X, y), (v, w))
    np.testing.assert_allclose(tangent, jx @ v + jy @ w, rtol=1e-14)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: ad.softmax(x),
        lambda x: ad.outer(x, ad.sin(x)),
        lambda x: ad.matmul(ad.reshape(x, (3, 1)), ad.reshape(x**2, (1, 3))),
        lambda x: ad.stack([ad.prod(x), ad.max(x), ad.logsumexp(x)]),
    ],
    ids=["softmax", "outer", "matrix", "reductions"],
)
def test_jacobian_equals_jacfwd(f):
    jr = ad.jacobian(f)(X)
    jf = ad.jacfwd(f)(X)
    out_shape = np.shape(f(X))
    assert jr.shape == jf.shape == out_shape + X.shape
    np.testing.assert_allclose(jr, jf, rtol=1e-13, atol=1e-15)


def test_jacobian_argnums_tuple():
    y = np.array([0.5, 1.5, -0.2])
    jx, jy = _jacobians_closed_form(X, y)
    for transform in (ad.jacobian, ad.jacfwd):
        gx, gy = transform(_vector_fn, argnums=(0, 1))(X, y)
        np.testing.assert_allclose(gx, jx, rtol=1e-14)
        np.testing.assert_allclose(gy, jy, rtol=1e-14)


# --- Hessians -----------------------------------------------------------------------------------
def _rosenbrock(x):
    return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
    return h


def test_hessian_extended_rosenbrock_matches_closed_form_and_is_symmetric():
    x = np.array([-1.2, 1.0, 0.5, 2.0, -0.3])
    h = ad.hessian(_rosenbrock)(x)
    np.testing.assert_allclose(h, _rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)
    np.testing.assert_array_equal(h, h.T)
    reverse_over_reverse = ad.jacobian(ad.grad(_rosenbrock))(x)
    np.testing.assert_allclose(reverse_over_reverse, h, rtol=1e-13, atol=1e-12)


def test_hvp_equals_hessian_times_vector():
    x = np.array([-1.2, 1.0, 0.5, 2.0, -0.3])
    v = np.array([1.0, 0.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(ad.hvp(_rosenbrock, (x,), (v,)), _rosenbrock_hessian(x) @ v)


def test_hvp_and_hessian_with_several_arguments():
    def f(x, y):
        return ad.sum(x**2 * y) + ad.sum(ad.sin(y))

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (hxx, hxy), (hyx, hyy) = ad.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(hxx, np.diag(2 * y))
    np.testing.assert_allclose(hxy, np.diag(2 * x))
    np.testing.assert_allclose(hyx, np.diag(2 * x))
    np.testing.assert_allclose(hyy, np.diag(-np.sin(y)))
    v, w = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    hv_x, hv_y = ad.hvp(f, (x, y), (v, w))
    np.testing.assert_allclose(hv_x, hxx @ v + hxy @ w)
    np.testing.assert_allclose(hv_y, hyx @ v + hyy @ w)


def test_meta_gradient_through_an_inner_gradient_step():
    a, b, lr = np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1

    def inner_loss(w):
        return ad.sum((w - a) ** 2)

    def outer_loss(w):
        adapted = w - lr * ad.grad(inner_loss)(w)
        return ad.sum((adapted - b) ** 2)

    w = np.array([0.3, 0.7])
    adapted = w - lr * 2 * (w - a)
    expected = 2 * (adapted - b) * (1 - 2 * lr)
    np.testing.assert_allclose(ad.grad(outer_loss)(w), expected, rtol=1e-14)


# --- check_grads ----------------------------------------------------------------------------------
def test_check_grads_accepts_correct_derivatives():
    check_grads(lambda x, y: ad.sin(x) * y + ad.exp(x * y), X, 0.5 * X)
    check_grads(lambda x: ad.logsumexp(ad.outer(x, x), axis=1), X, order=3)
    check_grads(ad.tanh, 0.3, modes=("fwd",), order=4)
    check_grads(lambda x: ad.sum(x**2), X.astype(np.float32))  # checked in float64


def test_check_grads_catches_a_wrong_first_derivative_in_each_mode():
    def wrong(x):
        return ad.exp(x).detach() * x  # drops the exp(x) * x term of the derivative

    with pytest.raises(AssertionError, match=r"rev mode, order 1.*<u, J v>.*tolerance"):
        check_grads(wrong, X, modes=("rev",))
    with pytest.raises(AssertionError, match=r"fwd mode, order 1.*J v.*tolerance"):
        check_grads(wrong, X, modes=("fwd",))


# exp whose rules are right numerically but use a detached output: second order is wrong.
_BAD_EXP = Op(
    "bad_exp",
    1,
    np.exp,
    vjp=lambda g, out, x: (g * out.detach(),),
    jvp=lambda t, out, x: t[0] * out.detach(),
    sympy=None,
)


def test_check_grads_catches_a_wrong_second_derivative_only_at_order_two():
    def f(x):
        return apply(_BAD_EXP, x)

    check_grads(f, X, order=1)
    for mode in ("rev", "fwd"):
        with pytest.raises(AssertionError, match=rf"{mode} mode, order 2, function (vjp|jvp)\(f\)"):
            check_grads(f, X, order=2, modes=(mode,))


def test_check_grads_validates_its_arguments():
    with pytest.raises(ValueError, match="modes"):
        check_grads(ad.sin, X, modes=("sideways",))
    with pytest.raises(ValueError, match="order"):
        check_grads(ad.sin, X, order=0)
    with pytest.raises(ValueError, match="at least one argument"):
        check_grads(ad.sin)
    with pytest.raises(TypeError, match="argument 0"):
        check_grads(ad.sin, np.array(["a"]))


def test_check_grads_message_is_reproducible_with_a_seed():
    def wrong(x):
        return x * 2.0 + ad.sin(x).detach()

    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            check_grads(lambda x: ad.sin(x) * wrong(x), X, seed=7, order=1, modes=("rev",))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# --- the documentation's examples run -------------------------------------------------------------
@pytest.mark.parametrize(
    "module",
    [
        "autodiff",
        "autodiff.tensor",
        "autodiff.grad_mode",
        "autodiff.functional",
        "autodiff.testing",
    ],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module} failed"

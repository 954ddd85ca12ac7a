"""Edges of the functional transforms: repeated argnums, the memory of returned arrays, empty
inputs and outputs, keyword arguments, and bad argnums."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

X = np.array([0.5, -1.0, 2.0])


# --- repeated argnums (JAX: the same gradient for each entry) --------------------------------
def test_grad_with_a_repeated_argnum_gives_the_same_gradient_twice():
    g = ad.grad(lambda x, y: x * y, argnums=(0, 0))(2.0, 3.0)
    assert g == (3.0, 3.0)
    gx, gy, gx2 = ad.grad(lambda x, y: x * y**2, argnums=(0, 1, -2))(2.0, 3.0)
    assert (gx, gy, gx2) == (9.0, 12.0, 9.0)


def test_repeated_argnum_results_do_not_share_memory():
    a, b = ad.grad(lambda x: ad.sum(x**2), argnums=(0, 0))(X)
    np.testing.assert_array_equal(a, 2 * X)
    a[0] = 100.0
    np.testing.assert_array_equal(b, 2 * X)


def test_value_and_grad_and_jacobians_with_repeated_argnums():
    v, (g0, g1) = ad.value_and_grad(lambda x: ad.sum(x**3), argnums=(0, 0))(X)
    assert v == pytest.approx(np.sum(X**3))
    np.testing.assert_allclose(g0, 3 * X**2)
    np.testing.assert_allclose(g1, 3 * X**2)
    for jac in (ad.jacobian, ad.jacfwd):
        j0, j1 = jac(lambda x: x**2, argnums=(0, 0))(X)
        np.testing.assert_allclose(j0, np.diag(2 * X))
        np.testing.assert_allclose(j1, np.diag(2 * X))


def test_bad_argnums_raise_clear_errors():
    with pytest.raises(IndexError, match="grad: argnums 2 is out of range for 2"):
        ad.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(IndexError, match="argnums -3"):
        ad.grad(lambda x, y: x * y, argnums=(0, -3))(1.0, 2.0)
    with pytest.raises(TypeError, match="jacobian: argnums must be integers"):
        ad.jacobian(lambda x: x, argnums=(0.5,))(1.0)


# --- returned arrays own their memory --------------------------------------------------------
def _assert_owned(arr, *others):
    assert isinstance(arr, np.ndarray)
    assert arr.flags.writeable and arr.flags.c_contiguous and arr.flags.owndata
    for other in others:
        assert not np.shares_memory(arr, other)


def test_gradients_of_sum_and_mean_are_writeable():
    for reduce in (ad.sum, ad.mean):
        g = ad.grad(lambda x, r=reduce: r(x))(np.ones(3))
        _assert_owned(g)
        g[0] = 5.0
        np.testing.assert_array_equal(g[1:], [1.0, 1.0] if reduce is ad.sum else [1 / 3, 1 / 3])


def test_results_do_not_alias_the_inputs_or_each_other():
    x = X.copy()
    value, g = ad.value_and_grad(lambda x: ad.sum(x), argnums=0)(x)
    _assert_owned(g, x)
    out, pullback = ad.vjp(lambda x: x, x)
    _assert_owned(out, x)
    ct = np.array([1.0, 2.0, 3.0])
    (back,) = pullback(ct)
    _assert_owned(back, ct, x)
    primal, tangent = ad.jvp(lambda x: x, (x,), (ct,))
    _assert_owned(primal, x)
    _assert_owned(tangent, ct)
    jac = ad.jacobian(lambda x: ad.broadcast_to(ad.sum(x), (2,)))(x)
    _assert_owned(jac)
    jac[0, 0] = 7.0
    assert jac[1, 0] == 1.0
    np.testing.assert_array_equal(x, X)  # no result write reached the input


def test_captured_array_returned_as_the_value_is_copied():
    w = np.array([1.0, 2.0])
    captured = ad.Tensor._wrap(w)  # an internal tensor that does alias w (ad.tensor copies)
    assert np.shares_memory(captured.numpy(), w)
    out, _ = ad.vjp(lambda x: captured, np.zeros(2))  # the output is the captured tensor itself
    _assert_owned(out, w)
    out[0] = 9.0
    assert w[0] == 1.0


def test_backward_grad_is_writeable_and_does_not_alias_the_seed():
    x = ad.tensor(np.ones(3), requires_grad=True)
    x.sum().backward()
    _assert_owned(x.grad.data)
    x.grad[0] = 5.0
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 1.0, 1.0])

    y = ad.tensor(np.ones(3), requires_grad=True)
    seed = np.array([1.0, 2.0, 3.0])
    (y * 1.0).backward(seed)
    _assert_owned(y.grad.data, seed)
    z = ad.tensor(np.ones((2, 3)), requires_grad=True)
    ad.mean(z).backward()
    _assert_owned(z.grad.data)


def test_detached_tensor_results_own_their_memory():
    g = ad.grad(lambda x: ad.sum(x))(ad.tensor(np.ones(3)))
    assert isinstance(g, ad.Tensor) and not g.requires_grad
    _assert_owned(g.numpy())
    g[1] = 4.0
    np.testing.assert_array_equal(g.numpy(), [1.0, 4.0, 1.0])


# --- empty inputs and outputs ----------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 3])
def test_hessian_of_an_empty_or_full_input_has_shape_in_plus_in(n):
    h = ad.hessian(lambda x: ad.sum(x**3))(np.ones(n))
    assert isinstance(h, np.ndarray) and h.shape == (n, n)
    np.testing.assert_array_equal(h, np.diag(6.0 * np.ones(n)))


@pytest.mark.parametrize("jac", [ad.jacobian, ad.jacfwd])
def test_jacobians_with_empty_inputs_or_outputs(jac):
    assert jac(lambda x: x * 2.0)(np.zeros(0)).shape == (0, 0)
    assert jac(lambda x: x * 2.0)(np.zeros((0, 2))).shape == (0, 2, 0, 2)
    j = jac(lambda x: ad.broadcast_to(ad.sum(x), (2,)))(np.zeros(0))  # empty input
    assert j.shape == (2, 0) and j.dtype == np.float64
    j = jac(lambda x: x[:0])(X)  # empty output
    assert j.shape == (0, 3)
    j = jac(lambda x: ad.sum(x))(np.zeros(0))  # scalar output, empty input
    assert j.shape == (0,)


def test_hessian_of_empty_input_inside_grad_keeps_the_shape():
    out = ad.grad(lambda a: ad.sum(ad.hessian(lambda x: a * ad.sum(x**3))(np.zeros(0))) + a)(1.0)
    assert float(out) == 1.0


def test_empty_float32_jacobian_keeps_the_dtype():
    j = ad.jacfwd(lambda x: x * 2.0)(np.zeros(0, dtype=np.float32))
    assert j.shape == (0, 0) and j.dtype == np.float32


# --- keyword arguments pass through and are not differentiated -------------------------------
def _scaled(x, scale=1.0, shift=0.0):
    return scale * ad.sum(x**2) + shift


def test_grad_passes_keyword_arguments_through():
    np.testing.assert_allclose(ad.grad(_scaled)(X, scale=2.0), 4 * X)
    np.testing.assert_allclose(ad.grad(_scaled)(X, shift=5.0, scale=0.5), X)
    v, g = ad.value_and_grad(_scaled)(X, scale=3.0, shift=1.0)
    assert v == pytest.approx(3 * np.sum(X**2) + 1)
    np.testing.assert_allclose(g, 6 * X)


def test_jacobians_hessian_and_derivative_pass_keyword_arguments_through():
    def f(x, power=2.0):
        return x**power

    np.testing.assert_allclose(ad.jacobian(f)(X, power=3.0), np.diag(3 * X**2))
    np.testing.assert_allclose(ad.jacfwd(f)(X, power=3.0), np.diag(3 * X**2))
    np.testing.assert_allclose(ad.hessian(_scaled)(X, scale=2.0), 4 * np.eye(3))
    h = ad.hessian(lambda x, y, scale: scale * ad.sum(x * y), argnums=(0, 1))(X, X, scale=2.0)
    np.testing.assert_allclose(h[0][1], 2 * np.eye(3))
    assert float(ad.derivative(lambda x, k: ad.sin(k * x), order=2)(0.5, k=2.0)) == pytest.approx(
        -4 * np.sin(1.0)
    )


def test_keyword_tensor_that_requires_grad_stays_connected():
    w = ad.tensor(3.0, requires_grad=True)
    g = ad.grad(_scaled)(X, scale=w)
    assert isinstance(g, ad.Tensor)
    ad.sum(g).backward()
    assert w.grad.item() == pytest.approx(2 * X.sum())


def test_hvp_and_block_hessian_with_empty_inputs():
    hv = ad.hvp(lambda x: ad.sum(x**3), (np.zeros(0),), (np.zeros(0),))
    assert isinstance(hv, np.ndarray) and hv.shape == (0,)
    blocks = ad.hessian(lambda x, y: ad.sum(x**2) + ad.sum(y**2), argnums=(0, 1))(
        np.zeros(0), np.ones(2)
    )
    assert [[b.shape for b in row] for row in blocks] == [[(0, 0), (0, 2)], [(2, 0), (2, 2)]]
    np.testing.assert_array_equal(blocks[1][1], 2 * np.eye(2))


def test_vjp_rejects_a_cotangent_of_the_wrong_shape():
    _, pullback = ad.vjp(lambda x: x * 2.0, np.zeros(2))
    with pytest.raises(ValueError, match=r"vjp: cotangent has shape \(3,\).*shape \(2,\)"):
        pullback(np.ones(3))

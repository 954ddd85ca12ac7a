"""Errors a user can cause name the op, the shapes or the rule; NaN and inf propagate as in
NumPy (never masked)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

M23 = np.ones((2, 3))


def _leaf(shape=(2, 3)):
    return ad.tensor(np.ones(shape), requires_grad=True)


# --- shapes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "pattern"),
    [
        (lambda x: x + np.ones(4), r"add: .*shapes \(2, 3\), \(4,\)"),
        (lambda x: np.ones(4) + x, r"add: .*shapes \(4,\), \(2, 3\)"),
        (lambda x: x * ad.tensor(np.ones((3, 2))), r"mul: .*shapes \(2, 3\), \(3, 2\)"),
        (lambda x: ad.maximum(x, np.ones(2)), r"maximum: .*shapes \(2, 3\), \(2,\)"),
        (lambda x: ad.where(np.ones((3, 3)) > 0, x, 0.0), r"where: .*shapes \(3, 3\), \(2, 3\)"),
        (lambda x: ad.reshape(x, (4,)), r"reshape: .*shapes \(2, 3\).*into shape \(4,\)"),
        (lambda x: ad.broadcast_to(x, (3, 3)), r"broadcast_to: .*\(2, 3\)"),
        (
            lambda x: ad.concatenate([x, np.ones((3, 3))], axis=1),
            r"concatenate: .*\(2, 3\), \(3, 3\)",
        ),
    ],
    ids=["add", "radd", "mul", "maximum", "where", "reshape", "broadcast_to", "concatenate"],
)
def test_error_shape_mismatch_names_op_and_shapes(fn, pattern):
    with pytest.raises(ad.ShapeError, match=pattern) as info:
        fn(_leaf())
    assert isinstance(info.value, ValueError)
    assert info.value.__suppress_context__, "the NumPy traceback should not be chained"


def test_error_matmul_inner_dimension_mismatch():
    with pytest.raises(
        ad.ShapeError, match=r"matmul: inner dimensions differ .*\(2, 3\) and \(4, 5\)"
    ):
        _leaf() @ np.ones((4, 5))
    with pytest.raises(ad.ShapeError, match=r"matmul: inner dimensions differ .*\(3,\) and \(4,\)"):
        ad.matmul(np.ones(3), np.ones(4))
    with pytest.raises(ad.ShapeError, match=r"matmul: operands must be at least 1-D"):
        ad.tensor(2.0) @ M23


def test_error_shape_helpers_name_the_problem():
    with pytest.raises(ValueError, match=r"sum: axis 3 is out of range for a tensor with 2"):
        ad.sum(M23, axis=3)
    with pytest.raises(ValueError, match=r"squeeze: cannot squeeze axis 0 of shape \(2, 3\)"):
        ad.squeeze(M23, 0)
    with pytest.raises(ValueError, match=r"stack: all tensors need the same shape"):
        ad.stack([M23, np.ones(3)])
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 0\) are not a permutation"):
        ad.transpose(M23, (0, 0))
    with pytest.raises(ValueError, match=r"var: 1 element\(s\) with ddof=1"):
        ad.var(np.ones(1), ddof=1)
    with pytest.raises(ValueError, match=r"clip: give at least one of lo and hi"):
        ad.clip(M23)
    with pytest.raises(IndexError, match=r"getitem: .*\(2, 3\).*out of bounds"):
        _leaf()[5]


# --- backward ------------------------------------------------------------------------------------
def test_error_backward_on_non_scalar_without_gradient():
    y = _leaf() * 2.0
    with pytest.raises(RuntimeError, match=r"backward: output has shape \(2, 3\).*scalar"):
        y.backward()


def test_error_backward_with_gradient_of_wrong_shape():
    y = ad.sum(_leaf())
    with pytest.raises(RuntimeError, match=r"backward: gradient has shape \(3,\), output has \(\)"):
        y.backward(gradient=np.ones(3))


def test_error_backward_on_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.sum(ad.tensor([1.0, 2.0])).backward()
    x = _leaf()
    with ad.no_grad():
        y = ad.sum(x * 2.0)
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_error_in_place_assignment_into_tensor_that_requires_grad():
    x = _leaf()
    with pytest.raises(RuntimeError, match="in-place assignment into a tensor that requires grad"):
        x[0, 0] = 5.0
    np.testing.assert_array_equal(x.numpy(), M23)  # left untouched


def test_error_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        ad.tensor(np.array([1, 2]), requires_grad=True)
    with pytest.raises(TypeError, match="only floating-point"):
        ad.tensor(np.array([1, 2])).requires_grad_()


# --- functional transforms ------------------------------------------------------------------------
def test_error_grad_with_respect_to_integer_input():
    with pytest.raises(TypeError, match=r"grad: argument 0 has dtype int64; only floating-point"):
        ad.grad(lambda x: ad.sum(x * x))(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"jacobian: argument 0 has dtype int64"):
        ad.jacobian(lambda x: x)(np.array([1, 2]))


def test_error_grad_of_function_returning_non_scalar():
    def vector_valued(x):
        return x * 2.0

    with pytest.raises(TypeError, match=r"grad: vector_valued must return a scalar.*\(2,\)"):
        ad.grad(vector_valued)(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"value_and_grad: vector_valued must return a scalar"):
        ad.value_and_grad(vector_valued)(np.array([1.0, 2.0]))


def test_function_returning_a_tuple_of_tensors_is_a_pytree_output():
    # Outputs are pytrees (JAX): a tuple of tensors gives a tuple of results; grad still
    # needs one scalar.
    def pair(x):
        return x, x * 2.0

    out, tangent = ad.jvp(pair, (np.ones(2),), (np.ones(2),))
    np.testing.assert_allclose(tangent[1], [2.0, 2.0])
    jac = ad.jacfwd(pair)(np.ones(2))
    np.testing.assert_allclose(jac[1], 2.0 * np.eye(2))
    with pytest.raises(TypeError, match=r"grad: pair must return a scalar"):
        ad.grad(pair)(np.ones(2))


def test_error_transform_arguments():
    with pytest.raises(IndexError, match=r"grad: argnums 2 is out of range for 1 argument"):
        ad.grad(ad.sum, argnums=2)(np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: 1 primal\(s\) but 0 tangent\(s\)"):
        ad.jvp(ad.sin, (np.ones(2),), ())
    with pytest.raises(ValueError, match=r"jvp: tangent of shape \(3,\) for a primal of shape"):
        ad.jvp(ad.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(RuntimeError, match=r"gradients: input 0 was not used"):
        ad.gradients([ad.sum(_leaf())], [_leaf()], allow_unused=False)


# --- NaN and inf ---------------------------------------------------------------------------------
def test_nan_log_of_negative_gives_nan_value_and_nan_gradient():
    x = ad.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="invalid value"):  # NumPy's own warning
        y = ad.log(x)
    assert np.isnan(y.numpy()[0]) and y.numpy()[1] == np.log(2.0)
    with np.errstate(invalid="ignore"):
        ad.sum(y).backward()
        g = x.grad.numpy()
        second = ad.derivative(ad.log, order=2)(-1.0)
        _, tangent = ad.jvp(ad.log, (np.array([-1.0]),), (np.array([1.0]),))
    assert np.isnan(g[0]) and g[1] == 0.5
    assert np.isnan(second) and np.isnan(tangent[0])


@pytest.mark.parametrize(
    ("fn", "x", "value", "grad"),
    [
        (ad.log, 0.0, -np.inf, np.inf),
        (ad.sqrt, -4.0, np.nan, np.nan),
        (ad.sqrt, 0.0, 0.0, np.inf),
        (lambda x: 1.0 / x, 0.0, np.inf, -np.inf),
        (ad.exp, 1000.0, np.inf, np.inf),
        (ad.log1p, -2.0, np.nan, np.nan),
        (lambda x: x * np.nan, 1.0, np.nan, np.nan),
        (ad.relu, np.nan, np.nan, np.nan),
        (ad.tanh, np.inf, 1.0, 0.0),
    ],
    ids=[
        "log0",
        "sqrt-neg",
        "sqrt0",
        "recip0",
        "exp-overflow",
        "log1p",
        "nan-const",
        "relu-nan",
        "tanh-inf",
    ],
)
def test_nan_and_inf_propagate_like_numpy(fn, x, value, grad):
    with np.errstate(all="ignore"):
        v, g = ad.value_and_grad(fn)(x)
    np.testing.assert_array_equal(v, value)
    np.testing.assert_array_equal(g, grad)


def test_nan_in_one_element_does_not_leak_into_others():
    x = ad.tensor([np.nan, 1.0, 2.0], requires_grad=True)
    ad.sum(ad.sin(x) * x).backward()
    g = x.grad.numpy()
    assert np.isnan(g[0])
    np.testing.assert_allclose(g[1:], np.cos([1.0, 2.0]) * [1.0, 2.0] + np.sin([1.0, 2.0]))

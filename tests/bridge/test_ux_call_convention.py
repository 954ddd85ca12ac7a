"""``Compiled`` called with the function's own arguments (issue 15): packed, or a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import bridge
from autodiff import ShapeError

X, Y, A = sp.symbols("x y a", real=True)


@pytest.fixture(scope="module")
def kernels():
    return bridge.compile(X**2 * sp.sin(Y) + Y, wrt=[X, Y])


def _exact(x, y):
    return x**2 * np.sin(y) + y, np.array([2 * x * np.sin(y), x**2 * np.cos(y) + 1])


def test_scalars_are_one_point(kernels):
    value, grad = _exact(0.7, -1.3)
    assert kernels.value(0.7, -1.3) == pytest.approx(value, rel=1e-14)
    assert np.allclose(kernels.grad(0.7, -1.3), grad, rtol=1e-14)
    v, g = kernels.value_and_grad(0.7, -1.3)
    assert v == pytest.approx(value) and np.allclose(g, grad)
    assert np.allclose(kernels.hessian(0.7, -1.3), kernels.hessian([0.7, -1.3]))


def test_equal_length_arrays_are_a_batch(kernels):
    xs, ys = np.linspace(-1, 1, 5), np.linspace(0.5, 2, 5)
    got = kernels.grad(xs, ys)
    assert got.shape == (5, 2)
    assert np.allclose(got, np.stack([_exact(a, b)[1] for a, b in zip(xs, ys)]))
    assert np.allclose(kernels.value(xs, ys), [_exact(a, b)[0] for a, b in zip(xs, ys)])


def test_the_old_call_is_unchanged(kernels):
    assert kernels.value(np.array([0.7, -1.3])) == pytest.approx(_exact(0.7, -1.3)[0])


@pytest.mark.parametrize(
    "args", [(0.7, -1.3, 2.0), (np.ones(3), np.ones(2)), (np.ones((2, 2)), 1.0)]
)
def test_a_call_that_does_not_pack_shows_the_expected_call(kernels, args):
    with pytest.raises(ShapeError, match=r"value\(x\) with one point x of shape \(2,\)") as err:
        kernels.value(*args)
    assert "(x, y)" in str(err.value) and "value(<one value per variable>)" in str(err.value)


def test_with_parameters_p_stays_the_second_argument():
    c = bridge.compile(A * X**2 + Y, wrt=[X, Y], params=[A])
    assert c.value([1.0, 2.0], [3.0]) == pytest.approx(5.0)
    with pytest.raises(ShapeError, match=r"p=<1 parameter\(s\): a>"):
        c.value(1.0, 2.0, 3.0)


def test_a_lifted_function_of_two_scalars():
    c = bridge.compile(lambda u, v: ad.exp(u) * v, 0.5, 2.0)
    assert c.value(0.5, 2.0) == pytest.approx(np.exp(0.5) * 2.0, rel=1e-14)

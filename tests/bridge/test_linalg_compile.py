"""bridge.compile of autodiff.linalg: scalar-mode kernels of small matrix functions (norms
with their zero guard included) agree with eager autodiff; array mode names the op it cannot
emit."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import bridge

L = ad.linalg


def f(x):
    a = ad.reshape(x, (2, 2))
    return L.norm(x) + L.slogdet(a + 3.0 * np.eye(2))[1] + L.norm(a, 1)


def test_compiled_linalg_kernel_matches_eager_including_the_zero_norm():
    x0 = np.array([0.3, -0.7, 0.2, 0.9])
    compiled = bridge.compile(f, x0)
    for x in (x0, np.array([1.1, 0.4, -0.5, 0.2])):
        assert compiled.value(x) == pytest.approx(float(f(x)), rel=1e-12)
        np.testing.assert_allclose(compiled.grad(x), ad.grad(f)(x), rtol=1e-11)
        np.testing.assert_allclose(compiled.hessian(x), ad.hessian(f)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(compiled.grad(np.zeros(4)), ad.grad(f)(np.zeros(4)), atol=1e-12)


def test_array_mode_compile_names_the_linalg_op():
    with pytest.raises(bridge.UnsupportedExpressionError, match="slogdet"):
        bridge.compile(lambda a: L.slogdet(a)[1], np.eye(3) * 2.0, mode="array")

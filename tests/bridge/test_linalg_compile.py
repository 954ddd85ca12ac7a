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


LINALG_OPS = {
    "inv": lambda a: ad.sum(L.inv(a)),
    "solve": lambda a: ad.sum(L.solve(a, np.ones(3))),
    "det": L.det,
    "slogdet": lambda a: L.slogdet(a)[1],
    "cholesky": lambda a: ad.sum(L.cholesky(a)),
    "eigh": lambda a: ad.sum(L.eigh(a)[1] ** 2),
    "eigvalsh": lambda a: ad.sum(L.eigvalsh(a)),
    "svd": lambda a: ad.sum(L.svd(a)[0] ** 2),
    "svdvals": lambda a: ad.sum(L.svdvals(a)),
    "pinv": lambda a: ad.sum(L.pinv(a)),
}


@pytest.mark.parametrize("name", sorted(LINALG_OPS))
def test_array_mode_compile_names_the_linalg_op(name):
    from bridge.arrays.program import SUPPORTED

    assert name not in SUPPORTED  # if array mode learns it, test it like the other ops
    a = np.diag([1.0, 2.0, 3.0]) + 0.1  # distinct eigen- and singular values
    with pytest.raises(bridge.UnsupportedExpressionError, match=rf"cannot run .*\b{name}\b"):
        bridge.compile(LINALG_OPS[name], a, mode="array")

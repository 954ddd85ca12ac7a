"""target="cuda" guards under numba's simulator: the guard kernel runs before the main one."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

import bridge
from bridge import GuardError


def _branch(x):
    return x**2 if x > 0 else -x


def test_cuda_guards_on_host_and_device_arrays():
    c = bridge.compile(_branch, 1.0, guards=True, target="cuda")
    assert "guard_kernel" in c.source
    assert c.value(np.array([2.0])) == pytest.approx(4.0)
    np.testing.assert_allclose(c.grad(np.array([[1.0], [3.0]]))[:, 0], [2.0, 6.0])
    with pytest.raises(GuardError, match=r"guard `x > 0`.*x = -2\.0"):
        c.value(np.array([-2.0]))
    with pytest.raises(GuardError, match=r"1 of 3 points \(indices 1;") as info:
        c.hessian(np.array([[1.0], [-1.0], [3.0]]))
    assert info.value.indices == (1,)
    device = cuda.to_device(np.array([[1.0], [2.0], [-3.0]]))
    with pytest.raises(GuardError, match=r"indices 2;"):
        c.value(device)
    ok = cuda.to_device(np.array([[1.0], [2.0]]))
    np.testing.assert_allclose(c.value(ok).copy_to_host(), [1.0, 4.0])

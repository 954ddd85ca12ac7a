"""NumPy functions applied to Tensors stay on the graph, or refuse to drop a gradient."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad


def test_interop_ufuncs_and_reductions_keep_the_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = np.sum(np.sin(x) * np.ones(2) + np.array([1.0, 1.0]) * x, axis=0)
    assert isinstance(y, ad.Tensor)
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.cos([1.0, 2.0]) + 1.0)


def test_interop_ndarray_on_the_left_gives_a_tensor():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x):
        assert isinstance(y, ad.Tensor) and y.requires_grad


def test_interop_unknown_function_refuses_to_drop_a_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="numpy.nancumsum is not differentiable"):
        np.nancumsum(x)
    np.testing.assert_allclose(np.nancumsum(x.detach()), [1.0, 3.0])


def test_interop_inspection_functions_run_on_the_data():
    x = ad.tensor([[1.0, np.inf]], requires_grad=True)
    assert np.shape(x) == (1, 2)
    assert np.ndim(x) == 2
    np.testing.assert_array_equal(np.isfinite(x), [[True, False]])
    assert int(np.argmax(x)) == 1

"""backward() releases the graph as it goes unless retain_graph=True (PyTorch semantics)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad


def test_retain_graph_second_backward_through_freed_graph_raises():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.sum(ad.sin(x) * x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_true_allows_a_second_pass():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.sum(x * x)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_retain_graph_frees_intermediate_activations():
    import weakref

    x = ad.tensor(np.ones(3), requires_grad=True)
    hidden = ad.tanh(x * 2.0)
    ref = weakref.ref(hidden.data)  # Tensor has __slots__; its array supports weakrefs
    y = ad.sum(hidden * hidden)
    del hidden
    assert ref() is not None  # kept alive by y's graph
    y.backward()
    assert ref() is None  # released by the pass, while y is still alive


def test_retain_graph_create_graph_keeps_the_graph_for_higher_order():
    x = ad.tensor(1.5, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    (g,) = ad.gradients([x.grad], [x])
    np.testing.assert_allclose(g.numpy(), 6 * 1.5)

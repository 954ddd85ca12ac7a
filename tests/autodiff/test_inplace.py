"""In-place arithmetic with PyTorch semantics, and the version counter that guards backward."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim
from autodiff.testing import check_grads


# --- the PyTorch training-loop idiom ------------------------------------------------------------
def test_sgd_loop_with_inplace_update_under_no_grad_decreases_the_loss():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 3))
    ys = xs @ np.array([1.5, -2.0, 0.5]) + 0.3
    w = ad.tensor(np.zeros(3), requires_grad=True)
    b = ad.tensor(0.0, requires_grad=True)
    w_id, w_data = id(w), w.data
    losses = []
    for _ in range(200):
        loss = ((xs @ w + b - ys) ** 2).mean()
        loss.backward()
        losses.append(float(loss))
        with ad.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.zero_grad()
        b.zero_grad()
    assert id(w) == w_id and w.data is w_data  # updated in place, not rebound
    assert w.requires_grad and w.is_leaf and w._version == 200
    assert losses[-1] < 1e-8 < losses[0]
    assert all(b_ <= a_ + 1e-15 for a_, b_ in zip(losses, losses[1:]))
    np.testing.assert_allclose(w.data, [1.5, -2.0, 0.5], atol=1e-4)
    np.testing.assert_allclose(b.data, 0.3, atol=1e-4)


@pytest.mark.parametrize(
    "op, ref",
    [
        (operator.iadd, np.add),
        (operator.isub, np.subtract),
        (operator.imul, np.multiply),
        (operator.itruediv, np.true_divide),
    ],
)
@pytest.mark.parametrize("value", [2.0, np.array([1.0, 4.0]), "tensor"])
def test_inplace_ops_mutate_data_and_bump_the_version(op, ref, value):
    value = ad.tensor([0.5, 4.0]) if isinstance(value, str) else value
    start = np.array([3.0, -6.0])
    x = ad.tensor(start)
    data = x.data
    assert op(x, value) is x
    assert x.data is data and x._version == 1
    plain = value.data if isinstance(value, ad.Tensor) else value
    np.testing.assert_array_equal(x.data, ref(start, plain))


def test_inplace_on_requires_grad_leaf_under_no_grad_is_allowed():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with ad.no_grad():
        w *= 3.0
        w /= ad.tensor([1.0, 2.0], requires_grad=True)  # operand requiring grad: fine here
    np.testing.assert_array_equal(w.data, [3.0, 3.0])
    assert w.requires_grad and w._version == 2


def test_float32_kept_by_inplace_ops():
    w = ad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with ad.no_grad():
        w -= 0.1 * np.ones(3)  # a float64 update is cast into the float32 tensor (same_kind)
        w += ad.tensor([1.0, 1.0, 1.0])
        w *= 2
        w /= 3.0
        w[0] = np.float64(7.0)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.data, [7.0, 1.9 * 2 / 3, 1.9 * 2 / 3], rtol=1e-6)


def test_float_into_int_tensor_raises_like_numpy():
    n = ad.tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"\+= .*float64.*int64.*same_kind"):
        n += 0.5
    with pytest.raises(TypeError, match=r"/= .*int64"):
        n /= 2
    n += 1
    np.testing.assert_array_equal(n.data, [2, 3])
    assert n._version == 1


def test_inplace_broadcast_that_would_grow_the_tensor_raises_shape_error():
    x = ad.tensor([1.0, 2.0])
    with pytest.raises(ad.ShapeError, match=r"\+= .*shape \(3, 2\).*shape \(2,\)"):
        x += np.ones((3, 2))
    with pytest.raises(ad.ShapeError, match=r"x\[\.\.\.\] = value.*shape \(3,\)"):
        x[:] = np.ones(3)


def test_inplace_into_read_only_data_raises():
    x = ad.tensor([1.0, 2.0])
    y = ad.broadcast_to(x, (3, 2))  # a read-only NumPy broadcast view
    with pytest.raises(RuntimeError, match="read-only"):
        y += 1.0


# --- refused where it would corrupt a gradient --------------------------------------------------
@pytest.mark.parametrize("op", [operator.iadd, operator.isub, operator.imul, operator.itruediv])
def test_inplace_on_leaf_requiring_grad_raises(op):
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"
    ):
        op(w, 1.0)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0


def test_setitem_on_leaf_requiring_grad_raises():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 3.0


def test_inplace_on_non_leaf_requiring_grad_raises_and_says_why():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match="computed by mul.*does not record in-place"):
        h += 1.0
    with pytest.raises(RuntimeError, match="does not record in-place"):
        h[0] = 1.0


def test_inplace_with_a_value_that_requires_grad_raises_outside_no_grad():
    x = ad.tensor([1.0, 2.0])
    w = ad.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="value requires grad"):
        x += w
    with pytest.raises(RuntimeError, match="value requires grad"):
        x[0] = w[0]
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_setitem_accepts_tensors_and_lists_of_tensors_under_no_grad():
    x = ad.tensor(np.zeros(3))
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with ad.no_grad():
        x[ad.tensor(np.array([0, 2]))] = [w[0], w[1] * 3]
    np.testing.assert_array_equal(x.data, [1.0, 0.0, 6.0])
    assert x._version == 1


# --- the version counter ------------------------------------------------------------------------
def test_every_tensor_starts_at_version_zero():
    x = ad.tensor([1.0], requires_grad=True)
    assert x._version == 0 and (x * 2)._version == 0 and ad.Tensor(1.0)._version == 0


def test_setitem_under_no_grad_after_recording_raises_at_backward():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()  # mul saves x for its VJP
    with ad.no_grad():
        x[0] = 5.0
    assert x._version == 1
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation: input 0 of mul, a tensor of shape \(2,\) .*"
        r"version 1; expected version 0",
    ):
        y.backward()
    assert x.grad is None


def test_inplace_op_after_recording_raises_at_backward_and_in_grad_apis():
    x = ad.tensor([0.5, 1.0], requires_grad=True)
    y = ad.sin(x).sum()
    with ad.no_grad():
        x -= 0.1
    with pytest.raises(RuntimeError, match="sin, a tensor of shape \\(2,\\).*version 1"):
        ad.gradients([y], [x])


def test_modified_intermediate_output_is_caught():
    x = ad.tensor([0.5, 1.0], requires_grad=True)
    e = ad.exp(x)  # exp's VJP uses its own output
    with ad.no_grad():
        e += 1.0  # before e's consumers are recorded: only exp's node can notice
    loss = (e * 3.0).sum()
    with pytest.raises(RuntimeError, match="its output of exp.*version 1; expected version 0"):
        loss.backward()


def test_modified_constant_operand_is_caught():
    c = ad.tensor([1.0, 2.0])
    x = ad.tensor([3.0, 4.0], requires_grad=True)
    loss = (x * c).sum()  # d loss / dx = c, read at backward time
    c *= 10.0
    with pytest.raises(RuntimeError, match="input 1 of mul.*version 1"):
        loss.backward()


def test_updates_after_backward_then_a_new_graph_are_fine():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        loss = (x**3).sum()
        loss.backward()
        with ad.no_grad():
            x -= 0.01 * x.grad
        x.zero_grad()
    check_grads(lambda v: (v**3).sum(), x.data.copy())


def test_retained_graph_sees_optimizer_updates():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(np.ones((4, 2))).sum()
    loss.backward(retain_graph=True)
    opt.step()  # writes the parameters in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_version_check_also_guards_forward_over_reverse():
    x = ad.tensor([0.3, 0.7], requires_grad=True)
    (g,) = ad.gradients([(x**3).sum()], [x], create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data**2)
    with ad.no_grad():
        x += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ad.gradients([g.sum()], [x])

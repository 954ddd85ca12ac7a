"""The Tensor: attributes, methods, dtypes, operators, grad mode, the engine's limits and
memory behaviour, and the seed example of the project."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest

import autodiff as ad


# --- attributes and methods -----------------------------------------------------------------------
def test_tensor_attributes():
    x = ad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert isinstance(x.data, np.ndarray)
    assert x.grad is None and x.requires_grad and x.is_leaf
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float64
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.numpy(), x.data.T)
    assert x.numpy() is x.data


def test_tensor_item_and_float():
    assert ad.tensor([[2.5]]).item() == 2.5
    assert float(ad.tensor(3.0)) == 3.0
    with pytest.raises(ValueError, match=r"item\(\): tensor of shape \(2,\) has 2 elements"):
        ad.tensor([1.0, 2.0]).item()


def test_tensor_detach_shares_data_and_cuts_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.data, y.data)
    z = ad.sum(d * x)
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # d is a constant


def test_tensor_backward_with_gradient_seed():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=np.array([1.0, 0.5, 0.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 0.0])


def test_tensor_backward_create_graph_allows_second_derivative():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    ad.sum(x**3).backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    np.testing.assert_array_equal(first.numpy(), [3.0, 12.0])
    x.zero_grad()
    ad.sum(first).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 12.0])


def test_tensor_backward_without_create_graph_gives_constant_grad():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    ad.sum(x**3).backward()
    assert not x.grad.requires_grad and x.grad.is_leaf


def test_tensor_gradient_accumulates_across_backward_calls_until_zero_grad():
    x = ad.tensor([1.0, -1.0], requires_grad=True)
    for _ in range(2):
        ad.sum(x * x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, -4.0])
    x.zero_grad()
    assert x.grad is None
    ad.sum(3.0 * x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_tensor_repr():
    assert repr(ad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ad.tensor(2.0, requires_grad=True)) == "tensor(2., requires_grad=True)"
    assert repr(ad.tensor([1.0], dtype=np.float32)) == "tensor([1.], dtype=float32)"
    y = ad.tensor([1.0], requires_grad=True) * 2.0
    assert repr(y) == "tensor([2.], grad_fn=mul)"


def test_tensor_len_and_iteration_yield_differentiable_rows():
    x = ad.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    assert len(x) == 3
    rows = list(x)
    assert [r.shape for r in rows] == [(2,)] * 3
    ad.sum(rows[0] * rows[2]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[4.0, 5.0], [0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match="0-d"):
        len(ad.tensor(1.0))


def test_tensor_methods_mirror_functions():
    x = ad.tensor(np.arange(1.0, 7.0).reshape(2, 3))
    np.testing.assert_array_equal(x.reshape(3, 2).numpy(), x.data.reshape(3, 2))
    np.testing.assert_array_equal(x.reshape((6,)).numpy(), x.data.ravel())
    np.testing.assert_array_equal(x.transpose(1, 0).numpy(), x.data.T)
    np.testing.assert_array_equal(x.permute(1, 0).numpy(), x.data.T)
    np.testing.assert_array_equal(x.flatten().numpy(), x.data.ravel())
    np.testing.assert_array_equal(x.unsqueeze(0).squeeze(0).numpy(), x.data)
    assert x.sum().item() == 21.0 and x.mean().item() == 3.5 and x.max().item() == 6.0
    np.testing.assert_allclose(x.exp().log().numpy(), x.data)
    np.testing.assert_allclose(x.var(axis=1).numpy(), x.data.var(axis=1))
    np.testing.assert_allclose(x.clip(2.0, 5.0).numpy(), np.clip(x.data, 2.0, 5.0))


def test_tensor_is_hashable_despite_elementwise_eq():
    a, b = ad.tensor([1.0]), ad.tensor([1.0])
    assert len({a, b}) == 2
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ad.tensor([1.0, 2.0]) == ad.tensor([1.0, 2.0]))


# --- dtypes --------------------------------------------------------------------------------------
def test_tensor_dtype_float64_by_default():
    assert ad.tensor([1, 2]).dtype == np.float64
    assert ad.tensor(3).dtype == np.float64
    assert ad.tensor([1.0, 2.0]).dtype == np.float64
    assert ad.tensor(np.float64(1.0)).dtype == np.float64


def test_tensor_dtype_float32_is_kept():
    x = ad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert x.dtype == np.float32
    y = ad.sum(ad.exp(x * 2.0 + 1) / 3.0 - x**2)
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    assert ad.tensor([1.0], dtype="float32").dtype == np.float32


def test_tensor_float32_mixed_with_float64_array_follows_numpy_and_keeps_grad_dtype():
    x = ad.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = x * np.array([2.0, 3.0])  # a float64 array promotes, as in NumPy
    assert y.dtype == np.float64
    ad.sum(y).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])


def test_tensor_integer_data_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        ad.tensor(np.array([1, 2]), requires_grad=True)


# --- operators -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (lambda x, o: x + o, lambda x, o: x + o),
        (lambda x, o: o + x, lambda x, o: o + x),
        (lambda x, o: x - o, lambda x, o: x - o),
        (lambda x, o: o - x, lambda x, o: o - x),
        (lambda x, o: x * o, lambda x, o: x * o),
        (lambda x, o: o * x, lambda x, o: o * x),
        (lambda x, o: x / o, lambda x, o: x / o),
        (lambda x, o: o / x, lambda x, o: o / x),
        (lambda x, o: x**o, lambda x, o: x**o),
        (lambda x, o: o**x, lambda x, o: o**x),
    ],
    ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "pow", "rpow"],
)
@pytest.mark.parametrize(
    "other",
    [2.0, 3, np.float64(1.5), np.array([1.0, 2.0, 3.0])],
    ids=["float", "int", "np0d", "nd"],
)
def test_tensor_operators_with_scalars_and_arrays_on_either_side(op, expected, other):
    data = np.array([0.5, 1.0, 2.0])
    out = op(ad.tensor(data), other)
    assert isinstance(out, ad.Tensor)
    np.testing.assert_allclose(out.numpy(), expected(data, other))


def test_tensor_ndarray_on_the_left_gives_a_tensor_with_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([3.0, 4.0])
    for y in (a + x, a - x, a * x, a / x, a**x, a @ x):
        assert isinstance(y, ad.Tensor) and y.requires_grad
    (ad.sum(a * x) + a @ x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * a)


def test_tensor_unary_operators():
    x = ad.tensor([-1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal((-x).numpy(), [1.0, -2.0])
    assert (+x) is x
    np.testing.assert_array_equal(abs(x).numpy(), [1.0, 2.0])


def test_tensor_comparisons_return_boolean_tensors():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [
        (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]),
        (x > 2, [False, False, True]),
        (x >= 2, [False, True, True]),
        (x == 2, [False, True, False]),
        (x != 2, [True, False, True]),
        (2.0 - x < 0, [False, False, True]),
        (np.array([3.0, 2.0, 1.0]) > x, [True, False, False]),
    ]:
        assert isinstance(result, ad.Tensor) and result.dtype == np.bool_
        assert not result.requires_grad
        np.testing.assert_array_equal(result.numpy(), expected)


def test_tensor_setitem_allowed_without_grad_and_under_no_grad():
    x = ad.tensor([1.0, 2.0, 3.0])
    x[0] = 5.0
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with ad.no_grad():
        w[1] = 0.0
    np.testing.assert_array_equal(x.numpy(), [5.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.numpy(), [1.0, 0.0])


# --- packaging and engine limits ------------------------------------------------------------------
def test_tensor_import_autodiff_does_not_import_sympy():
    code = "import autodiff, autodiff.testing, sys; assert 'sympy' not in sys.modules, 'sympy'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tensor_long_chain_backward_has_no_recursion_limit():
    x = ad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.00001**100_000, rtol=1e-9)


def test_tensor_graph_is_freed_by_reference_counting():
    gc.collect()
    gc.disable()
    try:
        refs = []
        for _ in range(20):
            x = ad.tensor(np.ones(3), requires_grad=True)
            hidden = ad.exp(x) * x
            out = ad.sum(hidden + ad.relu(hidden))
            out.backward()
            # Tensors use __slots__ without weak references; their arrays die with them.
            refs += [weakref.ref(t.data) for t in (x, x.grad, hidden, out)]
            del x, hidden, out
        alive = [r for r in refs if r() is not None]
        assert not alive, f"{len(alive)} graph arrays survived without the cycle collector"
        assert gc.collect() == 0, "the graph left cyclic garbage"
    finally:
        gc.enable()


# --- grad mode ----------------------------------------------------------------------------------
def test_tensor_no_grad_and_enable_grad_nest():
    w = ad.tensor([1.0], requires_grad=True)
    assert ad.is_grad_enabled()
    with ad.no_grad():
        assert not ad.is_grad_enabled()
        assert not (w * 2).requires_grad
        with ad.enable_grad():
            assert ad.is_grad_enabled() and (w * 2).requires_grad
            with ad.no_grad():
                assert not (w * 2).requires_grad
            assert (w * 2).requires_grad
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled() and (w * 2).requires_grad


def test_tensor_grad_mode_restored_after_exception():
    with pytest.raises(KeyError), ad.no_grad():
        raise KeyError("boom")
    assert ad.is_grad_enabled()


def test_tensor_grad_mode_is_isolated_between_threads():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        seen["fresh thread"] = ad.is_grad_enabled()
        with ad.no_grad():
            inside.set()
            release.wait(5)
            seen["worker in no_grad"] = ad.is_grad_enabled()

    with ad.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        inside.wait(5)
        main_in_no_grad = ad.is_grad_enabled()
    seen["main after its block"] = ad.is_grad_enabled()  # worker is still in no_grad
    release.set()
    thread.join(5)
    assert not main_in_no_grad
    assert seen == {"fresh thread": True, "worker in no_grad": False, "main after its block": True}


# --- the seed example -----------------------------------------------------------------------------
def test_tensor_seed_example_fan_out_gradients():
    av = np.array([1.0, -2.0, 0.5])
    bv = np.array([3.0, 4.0, -1.0])
    a = ad.tensor(av, requires_grad=True)
    b = ad.tensor(bv, requires_grad=True)
    c = a * b + a  # a is used twice
    d = ad.relu(c) * c + a * a  # c is used twice, a a third and fourth time
    ad.sum(d).backward()
    cv = av * bv + av
    dd_dc = 2 * cv * (cv > 0)
    np.testing.assert_allclose(a.grad.numpy(), dd_dc * (bv + 1.0) + 2 * av)
    np.testing.assert_allclose(b.grad.numpy(), dd_dc * av)


def test_tensor_seed_example_matches_package_docstring():
    x = ad.tensor([1.0, -2.0], requires_grad=True)
    (ad.relu(x) * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 1.0])

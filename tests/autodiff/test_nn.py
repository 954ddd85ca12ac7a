"""autodiff.nn: module trees, state dicts, layers, functional_call (MAML) and losses."""

from __future__ import annotations

import copy
import doctest
import importlib
import pickle

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim
from autodiff.nn import functional as F
from autodiff.testing import check_grads


class Block(nn.Module):
    """A custom module mixing a Parameter, a sub-module and a plain attribute."""

    def __init__(self, seed: int):
        super().__init__()
        self.scale = nn.Parameter([1.5])
        self.inner = nn.Sequential(nn.Linear(2, 3, seed=seed), nn.Tanh())
        self.note = "not registered"

    def forward(self, x):
        return self.inner(x) * self.scale


class Net(nn.Module):
    def __init__(self, seed: int = 0):
        super().__init__()
        self.block = Block(seed)
        self.head = nn.Linear(3, 1, seed=seed + 1)

    def forward(self, x):
        return self.head(self.block(x))


def _x(n: int = 4, d: int = 2, seed: int = 0) -> ad.Tensor:
    return ad.tensor(np.random.default_rng(seed).standard_normal((n, d)))


# --- Module tree --------------------------------------------------------------------------------
def test_module_named_parameters_dotted_and_ordered():
    names = [name for name, _ in Net().named_parameters()]
    assert names == [
        "block.scale",
        "block.inner.0.weight",
        "block.inner.0.bias",
        "head.weight",
        "head.bias",
    ]


def test_module_parameters_match_named_and_require_grad():
    net = Net()
    params = list(net.parameters())
    assert [id(p) for p in params] == [id(p) for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)


def test_module_named_modules_and_children():
    net = Net()
    assert [name for name, _ in net.named_modules()] == [
        "",
        "block",
        "block.inner",
        "block.inner.0",
        "block.inner.1",
        "head",
    ]
    assert [name for name, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]


def test_module_shared_parameter_listed_once():
    a = nn.Linear(2, 2, seed=0)
    seq = nn.Sequential(a, nn.Tanh(), a)
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_module_reassign_and_delete_update_registry():
    block = Block(0)
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    block.extra = nn.Parameter(np.zeros(2))
    del block.inner
    assert [name for name, _ in block.named_parameters()] == ["extra"]


def test_module_assigning_tensor_over_parameter_raises():
    block = Block(0)
    with pytest.raises(TypeError, match="scale is a Parameter"):
        block.scale = ad.tensor([2.0])


def test_module_without_super_init_raises():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_module_forward_not_defined_raises():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1.0)


def test_module_zero_grad_clears_all_grads():
    net = Net()
    net(_x()).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_module_train_eval_propagates_to_children():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.block.train()
    assert net.block.inner[0].training and not net.training
    net.train()
    assert all(m.training for m in net.modules())


def test_module_repr_is_readable():
    assert repr(Net()) == (
        "Net(\n"
        "  (block): Block(\n"
        "    (inner): Sequential(\n"
        "      (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "      (1): Tanh()\n"
        "    )\n"
        "  )\n"
        "  (head): Linear(in_features=3, out_features=1, bias=True)\n"
        ")"
    )


def test_module_deepcopy_and_pickle_are_independent():
    net = Net()
    x = _x()
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
        np.testing.assert_array_equal(twin(x).data, net(x).data)
        twin.head.weight.data += 1.0
        assert not np.allclose(twin.head.weight.data, net.head.weight.data)


# --- state_dict ---------------------------------------------------------------------------------
def test_state_dict_round_trip_reproduces_outputs():
    src, dst = Net(seed=0), Net(seed=10)
    x = _x()
    assert not np.allclose(src(x).data, dst(x).data)
    assert dst.load_state_dict(src.state_dict()) == ([], [])
    np.testing.assert_array_equal(src(x).data, dst(x).data)


def test_state_dict_holds_copies():
    net = Net()
    state = net.state_dict()
    state["head.bias"][:] = 123.0
    assert not np.any(net.head.bias.data == 123.0)
    net.load_state_dict(state)
    state["head.bias"][:] = 0.0
    np.testing.assert_array_equal(net.head.bias.data, [123.0])


def test_state_dict_strict_missing_and_unexpected_keys_raise():
    net = Net()
    state = net.state_dict()
    del state["head.bias"]
    with pytest.raises(KeyError, match="missing keys \\['head.bias'\\]"):
        net.load_state_dict(state)
    state = net.state_dict()
    state["head.extra"] = np.zeros(1)
    with pytest.raises(KeyError, match="unexpected keys \\['head.extra'\\]"):
        net.load_state_dict(state)


def test_state_dict_non_strict_reports_keys():
    net = Net()
    state = {"head.bias": np.array([7.0]), "other": np.zeros(3)}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert unexpected == ["other"] and "head.weight" in missing
    np.testing.assert_array_equal(net.head.bias.data, [7.0])


def test_state_dict_shape_mismatch_raises_without_partial_write():
    net = Net()
    before = net.state_dict()
    state = net.state_dict()
    state["block.scale"] = np.array([9.0])
    state["head.weight"] = np.zeros((1, 3))
    with pytest.raises(ad.ShapeError, match="'head.weight' has shape \\(1, 3\\)"):
        net.load_state_dict(state)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# --- Parameter ----------------------------------------------------------------------------------
def test_parameter_defaults_to_float64_and_copies():
    data = np.array([1, 2, 3])
    p = nn.Parameter(data)
    assert p.dtype == np.float64 and p.requires_grad and p.is_leaf
    src = np.ones(2)
    q = nn.Parameter(src)
    q.data += 1.0
    np.testing.assert_array_equal(src, [1.0, 1.0])
    assert nn.Parameter(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:\ntensor([1.]")


def test_parameter_rejects_non_float_data():
    with pytest.raises(TypeError, match="Parameter: data must be floating point"):
        nn.Parameter(np.array(["a", "b"]))


# --- Linear -------------------------------------------------------------------------------------
def test_linear_forward_matches_numpy():
    layer = nn.Linear(3, 2, seed=1)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = layer(ad.tensor(x))
    np.testing.assert_allclose(out.data, x @ layer.weight.data + layer.bias.data)
    assert layer(x).shape == (5, 2)
    assert layer(x[0]).shape == (2,)


def test_linear_seeded_init_is_reproducible_and_bounded():
    a, b, c = nn.Linear(16, 4, seed=5), nn.Linear(16, 4, seed=5), nn.Linear(16, 4, seed=6)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.allclose(a.weight.data, c.weight.data)
    d = nn.Linear(16, 4, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.data, d.weight.data)
    bound = 1.0 / np.sqrt(16)
    for p in a.parameters():
        assert np.all(np.abs(p.data) <= bound)
    assert a.weight.shape == (16, 4) and a.bias.shape == (4,)


def test_linear_without_bias_and_float32():
    layer = nn.Linear(3, 2, bias=False, seed=0, dtype=np.float32)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    out = layer(np.ones((1, 3), dtype=np.float32))
    assert out.dtype == np.float32
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_gradients_match_finite_differences():
    layer = nn.Linear(3, 2, seed=0)
    x = np.random.default_rng(1).standard_normal((4, 3))

    def f(w, b):
        return nn.functional_call(layer, {"weight": w, "bias": b}, x).tanh()

    check_grads(f, layer.weight.data, layer.bias.data, order=2)


def test_linear_bad_input_raises():
    layer = nn.Linear(3, 2, seed=0)
    with pytest.raises(ad.ShapeError, match="Linear\\(in_features=3\\).*got shape \\(4, 2\\)"):
        layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="either rng= or seed="):
        nn.Linear(2, 2, rng=np.random.default_rng(0), seed=0)


# --- Sequential, activations, MLP ---------------------------------------------------------------
def test_sequential_indexing_and_forward():
    seq = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU(), nn.Linear(3, 1, seed=1))
    x = _x()
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and seq[-1] is list(seq)[2]
    np.testing.assert_allclose(seq(x).data, seq[2](ad.relu(seq[0](x))).data)
    assert len(seq[:2]) == 2
    with pytest.raises(TypeError, match="Sequential: expected a Module"):
        seq.append(lambda x: x)
    with pytest.raises(IndexError, match="index 5 out of range"):
        seq[5]


def test_activation_modules_match_functions():
    x = _x()
    for module, fn in [
        (nn.ReLU(), ad.relu),
        (nn.Tanh(), ad.tanh),
        (nn.Sigmoid(), ad.sigmoid),
        (nn.Softplus(), ad.softplus),
    ]:
        np.testing.assert_array_equal(module(x).data, fn(x).data)
    assert nn.Identity()(x) is x


def test_mlp_structure_names_and_seed():
    net = nn.MLP([2, 5, 4, 1], activation="relu", seed=3)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [n for n, _ in net.named_parameters()][-2:] == ["4.weight", "4.bias"]
    same = nn.MLP([2, 5, 4, 1], activation="relu", seed=3)
    other = nn.MLP([2, 5, 4, 1], activation="relu", seed=4)
    x = _x()
    np.testing.assert_array_equal(net(x).data, same(x).data)
    assert not np.allclose(net(x).data, other(x).data)


def test_mlp_accepts_activation_class():
    net = nn.MLP([2, 3, 3, 1], activation=nn.Sigmoid, seed=0)
    assert isinstance(net[1], nn.Sigmoid) and net[1] is not net[3]


def test_mlp_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        nn.MLP([2, 1], activation="gelu")
    with pytest.raises(ValueError, match="at least an input and an output"):
        nn.MLP([2])


def test_mlp_learns_sine_with_adam():
    x = np.linspace(-np.pi, np.pi, 64).reshape(-1, 1)
    y = np.sin(x)
    net = nn.MLP([1, 32, 32, 1], activation="tanh", seed=0)
    opt = optim.Adam(net.parameters(), lr=1e-2)
    xt = ad.tensor(x)
    first = float(F.mse_loss(net(xt), y))
    for _ in range(300):
        opt.zero_grad()
        loss = F.mse_loss(net(xt), y)
        loss.backward()
        opt.step()
    final = float(F.mse_loss(net(xt), y))
    assert final < 1e-3 < first


# --- functional_call ----------------------------------------------------------------------------
def _perturbed(net: nn.Module, seed: int) -> dict[str, ad.Tensor]:
    rng = np.random.default_rng(seed)
    return {
        name: ad.tensor(p.data + 0.1 * rng.standard_normal(p.shape))
        for name, p in net.named_parameters()
    }


def test_functional_call_equals_module_with_loaded_params():
    net, twin = Net(0), Net(0)
    params = _perturbed(net, 1)
    twin.load_state_dict({k: v.data for k, v in params.items()})
    x = _x()
    before = net(x).data
    np.testing.assert_allclose(nn.functional_call(net, params, x).data, twin(x).data)
    np.testing.assert_array_equal(net(x).data, before)
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())


def test_functional_call_restores_parameters_after_error():
    net = Net(0)
    originals = [id(p) for p in net.parameters()]
    with pytest.raises(ad.ShapeError, match="Linear"):
        nn.functional_call(net, _perturbed(net, 1), np.ones((2, 5)))
    assert [id(p) for p in net.parameters()] == originals
    assert net.head.weight is dict(net.named_parameters())["head.weight"]


def test_functional_call_name_errors():
    net = Net(0)
    params = _perturbed(net, 1)
    with pytest.raises(KeyError, match="unknown parameter names \\['head.w'\\]"):
        nn.functional_call(net, {**params, "head.w": ad.tensor([0.0])}, _x())
    del params["head.bias"]
    with pytest.raises(KeyError, match="missing names \\['head.bias'\\]"):
        nn.functional_call(net, params, _x())
    out = nn.functional_call(net, params, _x(), strict=False)
    assert out.shape == (4, 1)
    with pytest.raises(ad.ShapeError, match="'head.weight' has shape \\(2,\\)"):
        nn.functional_call(net, {**params, "head.weight": np.zeros(2)}, _x(), strict=False)


def test_functional_call_replaces_tied_weights_everywhere():
    shared = nn.Linear(2, 2, seed=0)
    seq = nn.Sequential(shared, nn.Tanh(), shared)
    params = _perturbed(seq, 2)
    x = _x()
    expected = ad.tanh(x @ params["0.weight"] + params["0.bias"])
    expected = expected @ params["0.weight"] + params["0.bias"]
    np.testing.assert_allclose(nn.functional_call(seq, params, x).data, expected.data)


def _maml_setup():
    net = nn.MLP([1, 3, 1], activation="tanh", seed=0)
    rng = np.random.default_rng(7)
    xs, xq = rng.uniform(-1, 1, (5, 1)), rng.uniform(-1, 1, (5, 1))
    return net, (xs, np.sin(2 * xs)), (xq, np.sin(2 * xq)), 0.3


def _meta_loss(net, params, support, query, lr, create_graph):
    names = list(params)
    inner = F.mse_loss(nn.functional_call(net, params, support[0]), support[1])
    grads = ad.gradients([inner], [params[n] for n in names], create_graph=create_graph)
    adapted = {n: params[n] - lr * g for n, g in zip(names, grads)}
    return F.mse_loss(nn.functional_call(net, adapted, query[0]), query[1])


def test_functional_call_maml_second_order_matches_finite_differences():
    net, support, query, lr = _maml_setup()
    params = {n: ad.tensor(p.data, requires_grad=True) for n, p in net.named_parameters()}
    meta = _meta_loss(net, params, support, query, lr, create_graph=True)
    meta_grads = ad.gradients([meta], list(params.values()))
    eps = 1e-6
    for (name, p), g in zip(params.items(), meta_grads):
        numeric = np.zeros(p.shape)
        for idx in np.ndindex(p.shape):
            values = []
            for sign in (1.0, -1.0):
                shifted = {
                    k: ad.tensor(v.data.copy(), requires_grad=True) for k, v in params.items()
                }
                shifted[name].data[idx] += sign * eps
                values.append(float(_meta_loss(net, shifted, support, query, lr, False)))
            numeric[idx] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(g.data, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_functional_call_maml_first_order_differs_from_full():
    net, support, query, lr = _maml_setup()
    params = {n: ad.tensor(p.data, requires_grad=True) for n, p in net.named_parameters()}
    full = ad.gradients([_meta_loss(net, params, support, query, lr, True)], list(params.values()))
    first = ad.gradients(
        [_meta_loss(net, params, support, query, lr, False)], list(params.values())
    )
    gap = max(float(np.max(np.abs(a.data - b.data))) for a, b in zip(full, first))
    assert gap > 1e-4


# --- losses -------------------------------------------------------------------------------------
def test_mse_loss_matches_numpy_for_each_reduction():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(F.mse_loss(a, b).data, np.mean((a - b) ** 2))
    np.testing.assert_allclose(F.mse_loss(a, b, reduction="sum").data, np.sum((a - b) ** 2))
    np.testing.assert_allclose(F.mse_loss(a, b, reduction="none").data, (a - b) ** 2)


def test_mse_loss_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    check_grads(F.mse_loss, a, b, order=2)
    np.testing.assert_allclose(ad.grad(F.mse_loss)(a, b), 2 * (a - b) / a.size)


def _np_log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_cross_entropy_matches_numpy_reference():
    rng = np.random.default_rng(2)
    z, t = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    ref = -_np_log_softmax(z)[np.arange(6), t]
    np.testing.assert_allclose(F.cross_entropy(z, t).data, ref.mean())
    np.testing.assert_allclose(F.cross_entropy(z, t, reduction="sum").data, ref.sum())
    np.testing.assert_allclose(F.cross_entropy(z, t, reduction="none").data, ref)
    np.testing.assert_allclose(F.cross_entropy(z[0], t[0]).data, ref[0])
    assert F.cross_entropy(z[0], t[0], reduction="none").shape == ()
    np.testing.assert_allclose(F.cross_entropy(z, ad.tensor(t).astype(np.int64)).data, ref.mean())


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    rng = np.random.default_rng(3)
    z, t = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    g = ad.grad(lambda logits: F.cross_entropy(logits, t))(z)
    expected = np.exp(_np_log_softmax(z))
    expected[np.arange(5), t] -= 1.0
    np.testing.assert_allclose(g, expected / 5, atol=1e-12)
    check_grads(lambda logits: F.cross_entropy(logits, t), z, order=2)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]])
    loss = F.cross_entropy(ad.tensor(z, requires_grad=True), np.array([2, 1]), reduction="none")
    np.testing.assert_allclose(loss.data, [2000.0, 0.0])
    loss.sum().backward()


def test_cross_entropy_bad_targets_raise():
    z = np.zeros((3, 4))
    with pytest.raises(TypeError, match="targets must be integer class indices, got dtype float64"):
        F.cross_entropy(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(
        ValueError, match="targets must lie in \\[0, 4\\), got values in \\[0, 4\\]"
    ):
        F.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ad.ShapeError, match="need targets of shape \\(3,\\), got \\(2,\\)"):
        F.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ad.ShapeError, match="logits must have shape \\(n, classes\\)"):
        F.cross_entropy(np.zeros((2, 3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(z, np.array([0, 1, 2]), reduction="avg")


def test_binary_cross_entropy_with_logits_matches_numpy():
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal(7), rng.uniform(0, 1, 7)
    s = 1.0 / (1.0 + np.exp(-x))
    ref = -(t * np.log(s) + (1 - t) * np.log(1 - s))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t).data, ref.mean())
    out = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(out.data, ref)
    np.testing.assert_allclose(ad.grad(F.binary_cross_entropy_with_logits)(x, t), (s - t) / 7)
    check_grads(lambda z: F.binary_cross_entropy_with_logits(z, t), x, order=2)


def test_binary_cross_entropy_with_logits_is_stable_and_validates():
    loss = F.binary_cross_entropy_with_logits(np.array([800.0, -800.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(loss.data, 400.0)
    with pytest.raises(ValueError, match="targets must lie in \\[0, 1\\]"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ad.ShapeError, match="binary_cross_entropy_with_logits: input has shape"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.zeros(3))


def test_mse_loss_shape_mismatch_raises():
    with pytest.raises(ad.ShapeError, match="mse_loss: input has shape \\(3, 1\\) but target"):
        F.mse_loss(np.zeros((3, 1)), np.zeros(3))


# --- documentation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module", ["autodiff.nn", "autodiff.nn.module", "autodiff.nn.layers", "autodiff.nn.functional"]
)
def test_nn_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module} failed"

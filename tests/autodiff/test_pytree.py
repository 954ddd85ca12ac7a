"""Pytrees: ``ad.tree`` round trips and ravel, transforms over dicts / lists / tuples of arrays,
``has_aux``, keyword arguments, and ``Module`` parameter vectors (the Hessian over all the
parameters of an MLP against extended-precision central differences)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn
from autodiff import tree as T
from autodiff.nn.utils import parameters_to_vector, vector_to_parameters

Point = namedtuple("Point", ["x", "y"])


# --- ad.tree ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        {"b": np.ones(2), "a": [np.zeros((2, 2)), (1.0, None)]},
        [1, [2, [3, [4]]], ()],
        OrderedDict([("z", 1), ("a", 2)]),
        Point(np.ones(3), {"k": 2.0}),
        (),
        None,
        np.arange(3.0),
    ],
)
def test_flatten_unflatten_round_trip(value):
    leaves, treedef = T.flatten(value)
    rebuilt = T.unflatten(treedef, leaves)
    assert T.flatten(rebuilt)[1] == treedef
    assert type(rebuilt) is type(value)
    for a, b in zip(leaves, T.leaves(rebuilt)):
        assert a is b
    if isinstance(value, Point):
        assert rebuilt.x is value.x


def test_flatten_orders_dict_keys_and_keeps_ordered_dicts():
    assert T.leaves({"b": 1, "a": 2}) == [2, 1]
    assert T.leaves(OrderedDict([("b", 1), ("a", 2)])) == [1, 2]
    assert T.leaves([None, 1]) == [1]  # None is an empty subtree (JAX)
    with pytest.raises(ValueError, match="2 leaves for a tree of 3"):
        T.unflatten(T.flatten([1, 2, 3])[1], [1, 2])


def test_map_and_structure_errors():
    assert T.map(lambda a, b: a * b, [1, (2, 3)], [4, (5, 6)]) == [4, (10, 18)]
    with pytest.raises(ValueError, match="trees differ in structure"):
        T.map(lambda a, b: a, [1, 2], [1, (2,)])
    assert T.broadcast_prefix((0, None), ([1, 2], {"a": 3})) == [0, 0, None]
    with pytest.raises(ValueError, match="the prefix has a tuple of 2 at the top"):
        T.broadcast_prefix((0, None), [1, 2, 3])


def test_ravel_round_trip_and_gradients():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "s": 1.5}
    flat, unravel = T.ravel(params)
    assert flat.shape == (9,)
    back = unravel(flat)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
    with pytest.raises(ValueError, match=r"vector of shape \(9,\)"):
        unravel(np.ones(8))

    def loss(p):
        return ad.sum(ad.tanh(p["w"]) * p["b"]) * p["s"]

    g_flat = ad.grad(lambda v: loss(unravel(v)))(flat)
    g_tree = ad.grad(loss)(params)
    np.testing.assert_allclose(g_flat, T.ravel(g_tree)[0])
    # on tensors the ravel stays on the graph
    t = {k: ad.tensor(v, requires_grad=True) for k, v in params.items()}
    flat_t, unravel_t = T.ravel(t)
    ad.sum(flat_t * flat_t).backward()
    np.testing.assert_allclose(t["w"].grad.numpy(), 2 * params["w"])
    assert unravel_t(flat_t)["w"].requires_grad
    # mixed float32 / float64 leaves: the common dtype, and each leaf's own dtype back
    mixed = {"a": np.ones(2, np.float32), "b": np.ones(1)}
    flat_m, unravel_m = T.ravel(mixed)
    assert flat_m.dtype == np.float64 and unravel_m(flat_m)["a"].dtype == np.float32


# --- transforms over pytrees -----------------------------------------------------------------
def _loss(p, x, y):
    h = ad.tanh(x @ p["layers"][0]["w"] + p["layers"][0]["b"])
    out = h @ p["layers"][1]
    return ad.mean((out - y) ** 2) + p["reg"] * ad.sum(p["layers"][1] ** 2)


def _params(rng):
    return {
        "layers": [{"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}, rng.normal(size=(4,))],
        "reg": 0.1,
    }


def test_grad_over_a_dict_of_params_matches_the_flat_gradient():
    rng = np.random.default_rng(1)
    params = _params(rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    g = ad.grad(_loss)(params, x, y)
    assert T.flatten(g)[1] == T.flatten(params)[1]
    flat, unravel = T.ravel(params)
    g_flat = ad.grad(lambda v: _loss(unravel(v), x, y))(flat)
    np.testing.assert_allclose(T.ravel(g)[0], g_flat, rtol=1e-12)
    # value_and_grad, argnums tuple, a tuple argument
    v, (gp, gx) = ad.value_and_grad(_loss, argnums=(0, 1))(params, x, y)
    np.testing.assert_allclose(v, _loss(params, ad.tensor(x), ad.tensor(y)).numpy())
    np.testing.assert_allclose(T.ravel(gp)[0], g_flat, rtol=1e-12)
    assert gx.shape == x.shape
    ga, gb = ad.grad(lambda ab: ad.sum(ab[0] * ab[1]))((np.ones(2), np.arange(2.0)))
    np.testing.assert_allclose(ga, [0.0, 1.0])
    np.testing.assert_allclose(gb, [1.0, 1.0])
    # a list of plain numbers is one array argument, as before
    np.testing.assert_allclose(ad.grad(lambda x: ad.sum(x**2))([1.0, 2.0]), [2.0, 4.0])


def test_has_aux_and_keyword_arguments():
    def f(x, scale=1.0):
        y = ad.sin(x) * scale
        return ad.sum(y), {"y": y, "n": 3}

    x = np.array([0.3, -1.2])
    g, aux = ad.grad(f, has_aux=True)(x, scale=2.0)
    np.testing.assert_allclose(g, 2.0 * np.cos(x))
    np.testing.assert_allclose(aux["y"], 2.0 * np.sin(x))
    assert aux["n"] == 3 and isinstance(aux["y"], np.ndarray)
    (v, aux2), g2 = ad.value_and_grad(f, has_aux=True)(x, scale=2.0)
    np.testing.assert_allclose(v, 2.0 * np.sin(x).sum())
    np.testing.assert_allclose(g2, g)
    H, aux3 = ad.hessian(f, has_aux=True)(x, scale=2.0)
    np.testing.assert_allclose(H, np.diag(-2.0 * np.sin(x)), atol=1e-15)
    np.testing.assert_allclose(aux3["y"], aux["y"])
    with pytest.raises(TypeError, match="has_aux=True, <lambda> must return a pair"):
        ad.grad(lambda x: ad.sum(x), has_aux=True)(x)
    out, t, aux4 = ad.jvp(f, (x,), (np.ones(2),), has_aux=True)  # jvp / vjp: scale = 1
    np.testing.assert_allclose(t, np.cos(x).sum())
    np.testing.assert_allclose(aux4["y"], np.sin(x))
    out, pullback, aux5 = ad.vjp(f, x, has_aux=True)
    np.testing.assert_allclose(pullback(1.0)[0], np.cos(x))


def test_jacfwd_jacobian_hessian_of_pytrees_follow_jax_layout():
    rng = np.random.default_rng(2)
    p = {"a": rng.normal(size=2), "b": rng.normal(size=(2, 3))}

    def f(p):
        return {"u": ad.sin(p["a"]) * ad.sum(p["b"]), "v": [p["b"] ** 2]}

    jf, jr = ad.jacfwd(f)(p), ad.jacobian(f)(p)
    assert jf["u"]["a"].shape == (2, 2) and jf["u"]["b"].shape == (2, 2, 3)
    assert jf["v"][0]["b"].shape == (2, 3, 2, 3)
    for a, b in zip(T.leaves(jf), T.leaves(jr)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)

    def scalar(p):
        return ad.sum(p["a"] ** 2 * ad.sum(ad.exp(p["b"])))

    H = ad.hessian(scalar)(p)
    flat, unravel = T.ravel(p)
    Hf = ad.hessian(lambda v: scalar(unravel(v)))(flat)
    np.testing.assert_allclose(H["a"]["a"], Hf[:2, :2], rtol=1e-12)
    np.testing.assert_allclose(H["a"]["b"].reshape(2, 6), Hf[:2, 2:], rtol=1e-12)
    np.testing.assert_allclose(H["b"]["b"].reshape(6, 6), Hf[2:, 2:], rtol=1e-12)
    # jvp / vjp / hvp with tree primals
    t = T.map(np.ones_like, p)
    _, tan = ad.jvp(scalar, (p,), (t,))
    np.testing.assert_allclose(tan, ad.grad(lambda v: scalar(unravel(v)))(flat).sum())
    hv = ad.hvp(scalar, (p,), (t,))
    np.testing.assert_allclose(T.ravel(hv)[0], Hf @ np.ones(8), rtol=1e-12)


def test_vmap_over_pytrees_of_parameters():
    rng = np.random.default_rng(3)
    params = _params(rng)
    xs, ys = rng.normal(size=(6, 2, 3)), rng.normal(size=(6, 2))
    per = ad.vmap(ad.grad(_loss), in_axes=(None, 0, 0))(params, xs, ys)
    for i in range(6):
        one = ad.grad(_loss)(params, xs[i], ys[i])
        for a, b in zip(T.leaves(per), T.leaves(one)):
            np.testing.assert_allclose(a[i], b, rtol=1e-12)


# --- Module parameter vectors ----------------------------------------------------------------
def test_module_parameter_vector_round_trip():
    net = nn.MLP([2, 3, 1], activation="tanh", seed=0)
    vec = net.parameters_vector()
    assert vec.shape == (13,) and vec.requires_grad
    np.testing.assert_array_equal(parameters_to_vector(net.parameters()).numpy(), vec.numpy())
    parts = net.unravel_parameters(vec)
    assert list(parts) == [n for n, _ in net.named_parameters()]
    for (_, p), value in zip(net.named_parameters(), parts.values()):
        np.testing.assert_array_equal(value.numpy(), p.numpy())
    new = np.arange(13.0)
    net.vector_to_parameters(new)
    np.testing.assert_array_equal(net.parameters_vector().detach().numpy(), new)
    vector_to_parameters(2 * new, net.parameters())
    np.testing.assert_array_equal(net.parameters_vector().detach().numpy(), 2 * new)
    with pytest.raises(ad.ShapeError, match=r"13 parameter entries, got a vector of shape"):
        net.unravel_parameters(np.ones(12))
    with pytest.raises(ad.ShapeError, match=r"13 entries"):
        vector_to_parameters(np.ones(3), net.parameters())


def _mlp_loss_numpy(v, x, y, sizes):
    """The MLP's mean squared error written in plain NumPy (any float dtype): the oracle."""
    start, h = 0, x.astype(v.dtype)
    layers = list(zip(sizes[:-1], sizes[1:]))
    for k, (n_in, n_out) in enumerate(layers):
        w = v[start : start + n_in * n_out].reshape(n_in, n_out)
        start += n_in * n_out
        b = v[start : start + n_out]
        start += n_out
        h = h @ w + b
        if k < len(layers) - 1:
            h = np.tanh(h)
    return np.mean((h - y.astype(v.dtype)) ** 2)


def test_hessian_of_mlp_parameters_matches_extended_precision_differences():
    sizes = [2, 3, 1]
    net = nn.MLP(sizes, activation="tanh", seed=4)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    v0 = net.parameters_vector().detach().numpy()
    # the oracle and the model agree on the layout
    np.testing.assert_allclose(
        _mlp_loss_numpy(v0, x, y, sizes),
        nn.functional.mse_loss(net(ad.tensor(x)), y).detach().numpy(),
        rtol=1e-13,
    )
    H = ad.hessian(
        lambda v: nn.functional.mse_loss(nn.functional_call(net, net.unravel_parameters(v), x), y)
    )(v0)
    n = v0.size
    vl = v0.astype(np.longdouble)
    h = np.longdouble(1e-4)
    fd = np.zeros((n, n), dtype=np.longdouble)
    eye = np.eye(n, dtype=np.longdouble)
    for i in range(n):
        for j in range(i, n):
            ei, ej = eye[i] * h, eye[j] * h
            val = (
                _mlp_loss_numpy(vl + ei + ej, x, y, sizes)
                - _mlp_loss_numpy(vl + ei - ej, x, y, sizes)
                - _mlp_loss_numpy(vl - ei + ej, x, y, sizes)
                + _mlp_loss_numpy(vl - ei - ej, x, y, sizes)
            ) / (4 * h * h)
            fd[i, j] = fd[j, i] = val
    np.testing.assert_allclose(H, fd.astype(np.float64), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(H, H.T, atol=1e-14)


@pytest.mark.parametrize(
    "name",
    [
        "autodiff.batching",
        "autodiff.tree",
        "autodiff.functional",
        "autodiff.nn.module",
        "autodiff.nn.utils",
    ],
)
def test_docstring_examples_of_the_transforms_run(name):
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0

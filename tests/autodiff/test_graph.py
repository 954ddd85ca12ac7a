"""The public graph IR (autodiff.graph): order, roles, read-only views, fingerprints."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest

import autodiff as ad
from autodiff.graph import Graph, Node, graph_of, trace_graph


def _is_topological(g: Graph) -> bool:
    return all(all(i < node.index for i in node.inputs) for node in g) and all(
        node.index == k for k, node in enumerate(g)
    )


def test_exports():
    assert ad.graph_of is graph_of and ad.trace_graph is trace_graph
    assert ad.graph.Graph is Graph and ad.Node is Node


def test_topological_order_and_roles():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.tensor(3.0, requires_grad=True)
    c = np.array([10.0, 20.0])
    out = ad.sum(ad.exp(x) * c + y) * y
    g = graph_of([out], [x, y])
    assert _is_topological(g)
    assert g.inputs == (0, 1)
    assert [g[i].position for i in g.inputs] == [0, 1]
    assert all(g[i].is_input and g[i].op is None for i in g.inputs)
    assert g.outputs == (len(g) - 1,)
    last = g[g.outputs[0]]
    assert last.op.name == "mul" and last.inputs[1] == 1  # operand order kept
    assert last.shape == () and last.dtype == np.float64
    constants = [n for n in g if n.is_constant]
    assert len(constants) == 1 and np.array_equal(constants[0].value, c)
    assert {n.role for n in g} == {"input", "constant", "op"}
    for n in g:
        assert (n.role == "op") == (n.op is not None)
        assert n.position is None or n.role == "input"
        assert n.value.shape == n.shape and n.value.dtype == n.dtype
    # the eager values are the ones seen while tracing
    assert np.allclose(last.value, out.data)
    assert len(list(iter(g))) == len(g)


def test_consumers():
    x = ad.tensor(2.0, requires_grad=True)
    a = x * x
    out = a + ad.sin(a) + x
    g = graph_of([out], [x])
    users = g.consumers()
    assert len(users) == len(g)
    for node in g:
        for i in node.inputs:
            assert node.index in users[i]
    assert users[0] == tuple(sorted(set(users[0])))  # x*x counts once
    assert users[g.outputs[0]] == ()


def test_node_and_graph_are_read_only():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = ad.sum(x * 2.0, axis=0)
    g = graph_of([out], [x])
    node = g[g.outputs[0]]
    assert node.op.name == "sum" and node.params["axis"] == (0,)
    with pytest.raises(TypeError):
        node.params["axis"] = 1  # MappingProxyType
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.op = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.nodes = ()
    with pytest.raises(ValueError):
        g[0].value[0] = 5.0  # read-only view of the input value
    # a view, not a copy: no big array is duplicated
    assert np.shares_memory(g[0].value, x.data)
    assert x.data.flags.writeable  # the tensor itself stays writable
    x.data[0] = 7.0
    assert g[0].value[0] == 7.0


def test_params_snapshot_not_shared_with_tensor():
    x = ad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = ad.reshape(x, (4,))
    g = graph_of([out], [x])
    node = g[g.outputs[0]]
    assert dict(node.params) == {"shape": (4,)}
    assert str(g).splitlines()[1] == "  %1 = reshape(%0, shape=(4,))  (4,) float64"


def _fp(f, *args):
    return trace_graph(f, *args)[0].fingerprint()


def test_fingerprint_equal_for_equal_programs():
    f = lambda x: ad.sum(ad.tanh(x) * 2.5)  # noqa: E731
    a, b = _fp(f, np.ones(3)), _fp(f, np.arange(3.0))  # input values do not count
    assert a == b and len(a) == 64 and int(a, 16) >= 0
    # a fresh closure with an equal captured constant array
    g = lambda w: lambda x: ad.sum(x * w)  # noqa: E731
    assert _fp(g(np.array([1.0, 2.0])), np.ones(2)) == _fp(g(np.array([1.0, 2.0])), np.zeros(2))


@pytest.mark.parametrize(
    "other",
    [
        lambda x: ad.sum(ad.tanh(x) * 2.25),  # constant
        lambda x: ad.sum(ad.sin(x) * 2.5),  # op
        lambda x: ad.sum(ad.tanh(x) * 2.5, axis=0, keepdims=True),  # param
        lambda x: ad.mean(ad.tanh(x) * 2.5),  # op
        lambda x: ad.sum(2.5 * ad.tanh(x)),  # edge order
    ],
)
def test_fingerprint_changes(other):
    base = _fp(lambda x: ad.sum(ad.tanh(x) * 2.5), np.ones(3))
    changed = _fp(other, np.ones(3))
    assert changed != base


def test_fingerprint_shape_dtype_and_role():
    f = lambda x: ad.sum(x * x)  # noqa: E731
    assert _fp(f, np.ones(3)) != _fp(f, np.ones(4))
    assert _fp(f, np.ones(3)) != _fp(f, np.ones(3, dtype=np.float32))
    # same ops, but y is an input in one graph and a constant in the other
    y = np.ones(3)
    h1 = trace_graph(lambda x, y: ad.sum(x * y), np.ones(3), y)[0].fingerprint()
    h2 = trace_graph(lambda x: ad.sum(x * y), np.ones(3))[0].fingerprint()
    assert h1 != h2
    # index parameters (slices, integer arrays) are part of the program
    idx1 = _fp(lambda x: ad.sum(x[np.array([0, 2])]), np.ones(3))
    idx2 = _fp(lambda x: ad.sum(x[np.array([0, 1])]), np.ones(3))
    idx3 = _fp(lambda x: ad.sum(x[0:2]), np.ones(3))
    assert len({idx1, idx2, idx3}) == 3


def test_fingerprint_distinguishes_param_types():
    x = ad.tensor([1.0, -1.0], requires_grad=True)
    g1 = graph_of([ad.heaviside(x, 0.5)], [x])
    g2 = graph_of([ad.heaviside(x, 1.0)], [x])
    assert g1.fingerprint() != g2.fingerprint()
    assert g1.fingerprint() == graph_of([ad.heaviside(x, 0.5)], [x]).fingerprint()


def test_comparisons_and_masks_are_op_nodes():
    def f(x):
        return ad.sum(ad.where(x > 0.0, x * x, -x))

    g, out = trace_graph(f, np.array([1.0, -2.0, 3.0]))
    names = [n.op.name for n in g if n.is_op]
    assert "greater" in names and "where" in names
    cmp = next(n for n in g if n.is_op and n.op.name == "greater")
    assert cmp.dtype == np.bool_ and not cmp.op.differentiable
    assert cmp.inputs[0] == g.inputs[0]
    assert float(out.detach()) == 1.0 + 2.0 + 9.0


def test_constants_from_captured_tensors():
    w = ad.tensor([1.0, 2.0], requires_grad=True)  # requires grad, but not a graph input
    k = ad.tensor([5.0, 6.0])
    ew = ad.exp(w)  # recorded outside: kept as an op on the constant leaf w

    def f(x):
        return ad.sum(x * w + k * ew)

    g, _ = trace_graph(f, np.zeros(2))
    consts = [n for n in g if n.is_constant]
    assert len(consts) == 2
    assert {tuple(c.value.tolist()) for c in consts} == {(1.0, 2.0), (5.0, 6.0)}
    exp_node = next(n for n in g if n.is_op and n.op.name == "exp")
    assert g[exp_node.inputs[0]].is_constant
    # captured values stay shared views
    assert any(np.shares_memory(c.value, w.data) for c in consts)


def test_freed_graph_becomes_constant():
    w = ad.tensor(2.0, requires_grad=True)
    y = w * w
    y.backward()  # releases y's graph
    x = ad.tensor(1.0, requires_grad=True)
    g = graph_of([x * y], [x])
    node = g[g[g.outputs[0]].inputs[1]]
    assert node.is_constant and float(node.value) == 4.0


def test_inputs_first_even_when_unused_and_not_leaves():
    a = ad.tensor(1.0, requires_grad=True)
    b = ad.tensor(2.0, requires_grad=True)
    mid = ad.sin(a)
    out = mid * 3.0
    g = graph_of([out], [mid, b])
    assert g.inputs == (0, 1) and g[0].is_input and g[1].is_input
    assert not any(n.is_op and n.op.name == "sin" for n in g)  # the walk stops at inputs
    assert g.consumers()[1] == ()


def test_multiple_outputs_and_output_is_input():
    x = ad.tensor(1.0, requires_grad=True)
    y = x + 1.0
    g = graph_of([y, x, y], [x])
    assert g.outputs == (g.outputs[0], 0, g.outputs[0])
    assert "return (%" in str(g)


def test_bad_arguments():
    x = ad.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match="outputs"):
        graph_of(x, [x])
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        graph_of([x], [np.ones(1)])
    with pytest.raises(ValueError, match="same tensor"):
        graph_of([x * 2.0], [x, x])
    with pytest.raises(TypeError, match="must return one Tensor"):
        trace_graph(lambda x: (x, x), 1.0)
    with pytest.raises(ValueError, match="role"):
        Node(0, None, (), {}, (), np.dtype(float), "leaf", np.zeros(()))


def test_chain_of_100k_nodes():
    x = ad.tensor(0.5, requires_grad=True)
    y = x
    n = 100_000
    for _ in range(n):
        y = y * 1.0000001
    g = graph_of([y], [x])
    ops = [node for node in g if node.is_op]
    assert len(ops) == n and _is_topological(g)
    assert len(g) == n + 2  # one shared cached constant
    assert len(g.fingerprint()) == 64
    assert len(g.consumers()) == len(g)
    assert str(g).count("\n") == len(g) + 1


def test_trace_graph_passes_non_float_args_through():
    seen = {}

    def f(x, n, flag, idx, scale=1.0):
        seen.update(n=n, flag=flag, idx=idx, scale=scale)
        assert isinstance(n, int) and isinstance(flag, bool) and isinstance(idx, np.ndarray)
        return ad.sum(x[idx] ** n) * scale if flag else ad.sum(x)

    g, out = trace_graph(f, [1.0, 2.0, 3.0], 2, True, np.array([0, 2]), scale=0.5)
    assert seen == {"n": 2, "flag": True, "idx": seen["idx"], "scale": 0.5}
    assert len(g.inputs) == 1 and g[0].shape == (3,)
    assert float(out.detach()) == 0.5 * (1.0 + 9.0)


def test_trace_graph_inputs_in_argument_order_and_fresh():
    t = ad.tensor([1.0, 2.0], dtype=np.float32)
    g, _ = trace_graph(lambda a, k, b: ad.sum(a) * b, t, "text", 3.0)
    assert [g[i].shape for i in g.inputs] == [(2,), ()]
    assert g[g.inputs[0]].dtype == np.float32
    assert not np.shares_memory(g[0].value, t.data)  # a fresh leaf, not the caller's tensor
    assert not t.requires_grad


def test_trace_graph_number_output_and_conversion_refused():
    g, out = trace_graph(lambda x: 4.0, 1.0)
    assert g[g.outputs[0]].is_constant and float(out) == 4.0
    with pytest.raises(ad.ConversionError):
        trace_graph(lambda x: float(x) * 2.0, 1.0)


def test_extend_keeps_indices():
    x = ad.tensor(1.0, requires_grad=True)
    a = ad.sin(x)
    g1 = graph_of([a], [x])
    b = a * ad.cos(x)
    g2 = graph_of([b], [x], extend=g1)
    assert g2.nodes[: len(g1)] == g1.nodes
    assert len(g2) == len(graph_of([b], [x]))
    assert _is_topological(g2)
    with pytest.raises(ValueError, match="same inputs"):
        graph_of([b], [ad.tensor(1.0, requires_grad=True)], extend=g1)


def test_str_is_readable():
    g, _ = trace_graph(lambda x, y: ad.sum(x * y, axis=0), np.ones((2, 3)), np.ones(3))
    text = str(g)
    assert text.splitlines()[0] == "graph(%0: (2, 3) float64, %1: (3,) float64) {"
    assert "  %2 = mul(%0, %1)  (2, 3) float64" in text
    assert "sum(%2, axis=" in text and text.endswith("}")
    assert repr(g).startswith("<Graph: 4 nodes (2 inputs, 2 ops)")


def test_extend_needs_a_built_graph():
    x = ad.tensor(1.0, requires_grad=True)
    g = graph_of([x * 2.0], [x])
    handmade = Graph(g.nodes, g.inputs, g.outputs)
    assert handmade.fingerprint() == g.fingerprint()
    with pytest.raises(ValueError, match="graph_of built"):
        graph_of([x * 3.0], [x], extend=handmade)


def test_docstring_examples_run():
    result = doctest.testmod(ad.graph, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted >= 8

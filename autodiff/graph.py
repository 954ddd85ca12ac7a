"""The public, read-only view of a recorded computation: the IR every interpreter reads.

Eager autodiff records, on each result of an operation, the :class:`~autodiff.ops.base.Op`
that made it, its operands and its keyword parameters. :func:`graph_of` turns that record into
a :class:`Graph`: a flat, topologically ordered tuple of :class:`Node` s (JAX's *jaxpr* is the
model) with

* ``"input"`` nodes - the tensors a transform differentiates or symbolises, in call order;
* ``"constant"`` nodes - every other leaf reached (captured arrays, Python numbers, tensors a
  transform does not vary), carrying its value;
* ``"op"`` nodes - one per recorded operation, naming the primitive, its operand nodes (in
  the op's argument order) and its parameters.

Every interpreter outside :mod:`autodiff` (``symdiff.lift``'s symbolic replay, the array
compiler, consistency checks) reads computations only through this module, never through
private fields of :class:`~autodiff.Tensor`. A graph is immutable: nodes and graphs are frozen
dataclasses, parameters are :class:`types.MappingProxyType` views and values are read-only
NumPy views of the eager data (no copies). Building a graph is iterative and linear in its
size, so chains of 100,000 operations are fine.

:meth:`Graph.fingerprint` is a content hash of the program (ops, parameters, shapes, dtypes,
edges and the constants' bytes, but not the inputs' values): equal programs give equal
fingerprints, which makes it a cache key.

Examples
--------
>>> import autodiff as ad
>>> graph, out = ad.trace_graph(lambda x: ad.sin(x) * 2.0, [0.0, 1.0, 2.0])
>>> print(graph)
graph(%0: (3,) float64) {
  %1 = sin(%0)  (3,) float64
  %2 = constant 2.0  () float64
  %3 = mul(%1, %2)  (3,) float64
  return %3
}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from .engine import FREED
from .grad_mode import enable_grad, tracing
from .ops.base import Op
from .tensor import Tensor

__all__ = ["Graph", "Node", "graph_of", "trace_graph"]

_ROLES = ("input", "constant", "op")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _read_only(data: np.ndarray) -> np.ndarray:
    """A read-only view of ``data`` (no copy): writes through the view raise."""
    view = data.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class Node:
    """One value of a :class:`Graph`: a graph input, a constant or the result of an op.

    Attributes
    ----------
    index : int
        Position in :attr:`Graph.nodes` (topological order: operands before their users).
    op : Op or None
        The primitive (an :class:`autodiff.ops.base.Op`) for ``role == "op"``; ``None`` for
        inputs and constants.
    inputs : tuple of int
        Indices of the operand nodes, in the op's argument order (empty for leaves).
    params : Mapping
        The op's keyword parameters, read-only (empty for leaves).
    shape : tuple of int
    dtype : numpy.dtype
    role : str
        ``"input"``, ``"constant"`` or ``"op"``.
    value : numpy.ndarray
        The eager value seen while tracing, as a read-only view (for an input: the example
        value; for a constant: the value the program uses).
    position : int or None
        For an input, which graph input it is (``0, 1, ...``); ``None`` otherwise.
    """

    index: int
    op: Op | None
    inputs: tuple[int, ...]
    params: Mapping[str, Any]
    shape: tuple[int, ...]
    dtype: np.dtype
    role: str
    value: np.ndarray = field(repr=False)
    position: int | None = None

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"Node: role must be one of {_ROLES}, got {self.role!r}")
        if (self.role == "op") != (self.op is not None):
            raise ValueError(f"Node %{self.index}: role {self.role!r} with op {self.op!r}")
        if (self.role == "input") != (self.position is not None):
            raise ValueError(
                f"Node %{self.index}: role {self.role!r} with position {self.position!r}"
            )
        if not isinstance(self.params, MappingProxyType):
            object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        if self.value.flags.writeable:
            object.__setattr__(self, "value", _read_only(self.value))

    @property
    def is_input(self) -> bool:
        """True for a graph input (``role == "input"``)."""
        return self.role == "input"

    @property
    def is_constant(self) -> bool:
        """True for a constant leaf (``role == "constant"``)."""
        return self.role == "constant"

    @property
    def is_op(self) -> bool:
        """True for the result of a recorded operation (``role == "op"``)."""
        return self.role == "op"

    @property
    def size(self) -> int:
        """Number of elements (the product of ``shape``)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def __str__(self) -> str:
        return _node_line(self)


@dataclass(frozen=True, eq=False)
class Graph:
    """A recorded computation as a flat tuple of nodes in topological order.

    Attributes
    ----------
    nodes : tuple of Node
        Parents before children; the graph inputs come first, in order.
    inputs : tuple of int
        Node index of each graph input, in order.
    outputs : tuple of int
        Node index of each output, in order (an index may repeat).

    Build one with :func:`graph_of` or :func:`trace_graph`; ``len(graph)`` is the number of
    nodes and iterating yields them in order.
    """

    nodes: tuple[Node, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    # The recorded tensors behind the nodes (same order), kept so that graph_of(extend=...)
    # can recognise them; private to this module.
    _tensors: tuple[Tensor, ...] = field(default=(), repr=False)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __getitem__(self, index: int) -> Node:
        return self.nodes[index]

    def consumers(self) -> tuple[tuple[int, ...], ...]:
        """Per node, the indices of the nodes that use it as an operand (ascending, once each).

        Examples
        --------
        >>> import autodiff as ad
        >>> graph, _ = ad.trace_graph(lambda x: x * x + x, 1.0)
        >>> graph.consumers()[graph.inputs[0]]
        (1, 2)
        """
        return self._consumers

    @cached_property
    def _consumers(self) -> tuple[tuple[int, ...], ...]:
        users: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for i in node.inputs:
                found = users[i]
                if not found or found[-1] != node.index:
                    found.append(node.index)
        return tuple(tuple(u) for u in users)

    @cached_property
    def _index(self) -> dict[int, int]:
        return {id(t): i for i, t in enumerate(self._tensors)}

    def fingerprint(self) -> str:
        """A sha256 hex digest of the program, for caching compiled or lifted results.

        Covers op names, parameters (canonically encoded), shapes, dtypes, roles, input
        positions, edges, outputs and the content (bytes, shape, dtype) of every constant, but
        not the values of the inputs. Equal programs on equal constants give equal
        fingerprints; the cost is linear in nodes plus constant bytes.

        Examples
        --------
        >>> import autodiff as ad
        >>> g1, _ = ad.trace_graph(lambda x: x * 2.0, 1.0)
        >>> g2, _ = ad.trace_graph(lambda x: x * 2.0, 5.0)
        >>> g3, _ = ad.trace_graph(lambda x: x * 3.0, 1.0)
        >>> g1.fingerprint() == g2.fingerprint(), g1.fingerprint() == g3.fingerprint()
        (True, False)
        """
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        h = hashlib.sha256(b"autodiff.graph/1\n")
        for node in self.nodes:
            parts = [
                str(node.index),
                node.role,
                node.op.name if node.op is not None else "",
                ",".join(map(str, node.inputs)),
                _canonical(dict(node.params)) if node.params else "",
                repr(tuple(node.shape)),
                node.dtype.str,
                "" if node.position is None else str(node.position),
            ]
            if node.role == "constant":
                parts.append(_content_hash(node.value))
            h.update(("\x1f".join(parts) + "\n").encode())
        h.update(f"inputs {self.inputs} outputs {self.outputs}".encode())
        return h.hexdigest()

    def __str__(self) -> str:
        head = ", ".join(f"%{i}: {_type_str(self.nodes[i])}" for i in self.inputs)
        lines = [f"graph({head}) {{"]
        lines += [f"  {_node_line(n)}" for n in self.nodes if not n.is_input]
        outs = ", ".join(f"%{i}" for i in self.outputs)
        lines.append(f"  return {outs if len(self.outputs) == 1 else '(' + outs + ')'}")
        lines.append("}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        ops = sum(1 for n in self.nodes if n.op is not None)
        return (
            f"<Graph: {len(self.nodes)} nodes ({len(self.inputs)} inputs, {ops} ops), "
            f"{len(self.outputs)} output(s)>"
        )


# --- printing and hashing -----------------------------------------------------------------------
def _type_str(node: Node) -> str:
    return f"{tuple(node.shape)} {node.dtype}"


def _param_str(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"<array {v.shape} {v.dtype}>"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2] if v.step is None else parts)
    if v is Ellipsis:
        return "..."
    if isinstance(v, tuple):
        return "(" + ", ".join(_param_str(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, np.dtype):
        return str(v)
    return repr(v)


def _node_line(node: Node) -> str:
    if node.is_input:
        return f"%{node.index} = input[{node.position}]  {_type_str(node)}"
    if node.is_constant:
        shown = repr(node.value.tolist()) if node.value.size <= 4 else "<...>"
        return f"%{node.index} = constant {shown}  {_type_str(node)}"
    args = [f"%{i}" for i in node.inputs]
    args += [f"{k}={_param_str(v)}" for k, v in node.params.items()]
    return f"%{node.index} = {node.op.name}({', '.join(args)})  {_type_str(node)}"


def _content_hash(a: np.ndarray) -> str:
    h = hashlib.sha256(f"{a.shape}|{a.dtype.str}|".encode())
    if a.dtype.hasobject:
        h.update(repr(a.tolist()).encode())
    else:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _canonical(v: Any) -> str:
    """A deterministic text for a parameter value (types kept apart: 1, 1.0 and True differ)."""
    if v is None or v is Ellipsis or isinstance(v, bool | np.bool_):
        return repr(v if not isinstance(v, np.bool_) else bool(v)) + (
            ":np" if isinstance(v, np.bool_) else ""
        )
    if isinstance(v, int | np.integer):
        return f"i{int(v)}"
    if isinstance(v, float | np.floating):
        return f"f{type(v).__name__}:{float(v).hex()}"
    if isinstance(v, complex | np.complexfloating):
        return f"c{complex(v)!r}"
    if isinstance(v, str):
        return f"s{v!r}"
    if isinstance(v, np.dtype):
        return f"dtype({v.str})"
    if isinstance(v, type):
        return f"type({v.__module__}.{v.__qualname__})"
    if isinstance(v, slice):
        return f"slice({_canonical(v.start)},{_canonical(v.stop)},{_canonical(v.step)})"
    if isinstance(v, np.ndarray):
        return f"ndarray({_content_hash(v)})"
    if isinstance(v, tuple | list):
        tag = "t" if isinstance(v, tuple) else "l"
        return tag + "(" + ",".join(_canonical(x) for x in v) + ")"
    if isinstance(v, Mapping):
        items = sorted((str(k), _canonical(x)) for k, x in v.items())
        return "{" + ",".join(f"{k}:{x}" for k, x in items) + "}"
    if isinstance(v, frozenset | set):
        return "set(" + ",".join(sorted(_canonical(x) for x in v)) + ")"
    text = repr(v)
    if " at 0x" in text:
        raise TypeError(
            f"Graph.fingerprint: op parameter of type {type(v).__qualname__} has no "
            "deterministic representation"
        )
    return f"{type(v).__module__}.{type(v).__qualname__}:{text}"


# --- building -----------------------------------------------------------------------------------
def _check_tensors(seq: Any, what: str) -> tuple[Tensor, ...]:
    if isinstance(seq, Tensor):
        raise TypeError(f"graph_of: {what} must be a sequence of Tensors, got one Tensor")
    items = tuple(seq)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"graph_of: {what}[{i}] is a {type(t).__name__}, not a Tensor")
    return items


_object_new = object.__new__


def _node(index, op, inputs, params, t: Tensor, role: str, position) -> Node:
    """A Node for tensor ``t`` without the checks of ``Node.__init__`` (hot path)."""
    node = _object_new(Node)
    data = t.data
    value = data.view()
    value.flags.writeable = False
    node.__dict__.update(
        index=index,
        op=op,
        inputs=inputs,
        params=params,
        shape=data.shape,
        dtype=data.dtype,
        role=role,
        value=value,
        position=position,
    )
    return node


def _recorded(t: Tensor) -> bool:
    return t._op is not None and t._op is not FREED


def graph_of(
    outputs: Sequence[Tensor], inputs: Sequence[Tensor], *, extend: Graph | None = None
) -> Graph:
    """The graph of the recorded computation from ``inputs`` to ``outputs``.

    Every recorded tensor that ``outputs`` depend on is an op node, non-differentiable
    recorded ops (comparisons, masks) included, as a symbolic replay needs them; the walk stops
    at ``inputs``, which become the ``"input"`` nodes ``0, 1, ...`` whether used or not. Any
    other leaf reached (captured arrays, numbers, tensors that require grad but are not
    inputs, tensors whose graph ``backward`` released) becomes a ``"constant"`` node. An op
    computed from captured tensors only stays an op node on constant leaves (``exp(2)`` stays
    exact under symbolic replay).

    Parameters
    ----------
    outputs, inputs : sequence of Tensor
        Inputs must be distinct tensors; they need not be leaves (the walk stops there).
    extend : Graph, optional
        A graph built earlier from the same ``inputs``: its nodes keep their indices and only
        the tensors it does not hold are appended, so an interpreter that replays while the
        program is still running (``lift``'s branch guards) evaluates each node once.

    Returns
    -------
    Graph

    Examples
    --------
    >>> import autodiff as ad
    >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> g = ad.graph_of([y], [x])
    >>> print(g)
    graph(%0: (2,) float64) {
      %1 = mul(%0, %0)  (2,) float64
      %2 = sum(%1, axis=None, keepdims=False)  () float64
      return %2
    }
    >>> [node.role for node in g], g.nodes[2].op.name
    (['input', 'op', 'op'], 'sum')
    """
    outs = _check_tensors(outputs, "outputs")
    ins = _check_tensors(inputs, "inputs")
    if extend is not None:
        if len(extend._tensors) != len(extend.nodes):
            raise ValueError("graph_of: extend= must be a graph that graph_of built")
        if len(extend.inputs) != len(ins) or any(
            extend._tensors[i] is not t for i, t in zip(extend.inputs, ins)
        ):
            raise ValueError("graph_of: extend= must be a graph built from the same inputs")
        nodes = list(extend.nodes)
        tensors = list(extend._tensors)
        index = dict(extend._index)
        input_index = tuple(extend.inputs)
    else:
        nodes, tensors, index = [], [], {}
        for position, t in enumerate(ins):
            if id(t) in index:
                raise ValueError(
                    f"graph_of: input {position} is the same tensor as input "
                    f"{index[id(t)]}; pass each input once"
                )
            index[id(t)] = position
            tensors.append(t)
            nodes.append(_node(position, None, (), _EMPTY, t, "input", position))
        input_index = tuple(range(len(ins)))

    # Iterative post-order walk: a tensor is emitted once all its operands are.
    for root in outs:
        if id(root) in index:
            continue
        stack: list[tuple[Tensor, bool]] = [(root, False)]
        while stack:
            t, expanded = stack.pop()
            key = id(t)
            if key in index:
                continue
            if not expanded and _recorded(t):
                stack.append((t, True))
                for parent in reversed(t._parents):
                    if id(parent) not in index:
                        stack.append((parent, False))
                continue
            i = len(nodes)
            if _recorded(t):
                params = MappingProxyType(dict(t._params)) if t._params else _EMPTY
                operands = tuple(index[id(p)] for p in t._parents)
                node = _node(i, t._op, operands, params, t, "op", None)
            else:
                node = _node(i, None, (), _EMPTY, t, "constant", None)
            index[key] = i
            nodes.append(node)
            tensors.append(t)
    graph = Graph(tuple(nodes), input_index, tuple(index[id(o)] for o in outs), tuple(tensors))
    graph.__dict__["_index"] = index  # the cached_property, already built
    return graph


def _is_float_arg(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.dtype.kind == "f"
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, float | np.floating):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if isinstance(value, list | tuple) and value:
        try:
            return np.asarray(value).dtype.kind == "f"
        except (TypeError, ValueError):
            return False
    return False


def trace_graph(f: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Graph, Any]:
    """Run ``f`` once on fresh leaves and return ``(graph, out)``.

    Each floating-point positional argument (a float, a float array or (nested) list, a float
    Tensor) is replaced by a fresh leaf tensor that requires grad, holding a copy of its value
    and standing for graph input ``0, 1, ...`` in argument order; every other argument (ints,
    bools, integer arrays, strings, callables) and all keyword arguments are passed through
    unchanged. ``f`` runs under ``enable_grad()`` and ``tracing("trace")``, so converting a
    traced value to a Python number or NumPy array raises :class:`~autodiff.ConversionError`.

    ``out`` must be a Tensor or a number (a number becomes a constant output node).

    Examples
    --------
    >>> import autodiff as ad
    >>> graph, out = ad.trace_graph(lambda x, n: (x ** n).sum(), [1.0, 2.0], 3)
    >>> print(graph)
    graph(%0: (2,) float64) {
      %1 = constant 3.0  () float64
      %2 = pow(%0, %1)  (2,) float64
      %3 = sum(%2, axis=None, keepdims=False)  () float64
      return %3
    }
    >>> out
    tensor(9., grad_fn=sum)
    """
    call = list(args)
    leaves: list[Tensor] = []
    for i, value in enumerate(args):
        if _is_float_arg(value):
            data = value.data if isinstance(value, Tensor) else value
            call[i] = Tensor(data, requires_grad=True)
            leaves.append(call[i])
    with enable_grad(), tracing("trace"):
        out = f(*call, **kwargs)
    if not isinstance(out, Tensor):
        if (
            isinstance(out, bool | np.bool_)
            or not isinstance(out, int | float | np.integer | np.floating | np.ndarray)
            or (isinstance(out, np.ndarray) and out.dtype.kind not in "iuf")
        ):
            name = getattr(f, "__name__", type(f).__name__)
            raise TypeError(
                f"trace_graph: {name} must return one Tensor or a number, got {type(out).__name__}"
            )
        out = Tensor(out)
    return graph_of([out], leaves), out

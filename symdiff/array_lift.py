"""Array-level lift: a recorded program of array operations, its symbolic face and derivatives.

``symdiff.lift(f, *args, mode="array")`` returns an :class:`ArrayLifted`: the graph of ``f``
(:mod:`autodiff.graph`) with one entry per recorded op instead of one SymPy expression per
array element, so its size is the number of ops, whatever the array sizes. Each maximal
cluster of elementwise ops (same shape, each feeding only the next) is fused into ONE SymPy
expression of a generic element - built by the ops' own symbolic rules applied to 0-d object
arrays of generic symbols such as ``x[1:][i]`` - and structural ops, reductions and
contractions are printed as what they are (``x[1:]``, ``sum(t4, axis=0)``, ``A @ t2``).

Its derivatives are array programs again: :meth:`ArrayLifted.gradient` traces
``autodiff.grad`` of the program (autodiff's VJP rules are Tensor ops), :meth:`ArrayLifted.hvp`
traces forward-over-reverse, and :meth:`ArrayLifted.hessian_structure` is
:func:`symdiff.sparsity.hessian_sparsity`. :meth:`ArrayLifted.to_scalar` expands to today's
element-wise :class:`~symdiff.Lifted` when that is small enough.

:func:`estimate_scalar_terms` counts the SymPy nodes the scalar lift would build (elements x
formula size per node; a matmul ``(m, k) @ (k, n)`` counts ``2 m n k``), which
``lift(mode="auto")`` uses to choose between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

import autodiff
from autodiff.graph import Graph, Node, trace_graph
from autodiff.ops import STRUCTURAL
from autodiff.ops.shape import concatenate, reshape
from autodiff.tensor import Tensor, apply

from .errors import LiftError, LiftTooLarge
from .functions import NS
from .numbers import sympy_number
from .sparsity import HESSIAN_RULES, hessian_sparsity

__all__ = ["AUTO_SCALAR_TERMS", "ArrayLifted", "ArrayNode", "estimate_scalar_terms"]

AUTO_SCALAR_TERMS = 100_000
"""``lift(mode="auto")`` expands to scalar SymPy expressions up to this many estimated terms
(:func:`estimate_scalar_terms`): Rosenbrock up to n of about 1,600 (about 62 terms per
element), ``logsumexp(A @ X)`` with a dense ``X`` up to about 7 x 7."""

_ELEMENTWISE_KINDS = {"linear", "where", "mul", "div", "pow", "nonlinear", "kink", "zero"}
_REDUCTIONS = {"sum", "max", "min", "prod", "stable_shift"}
_AXES = "ijklmnpqrs"
# A formula is counted at most this much larger than the terms its own op adds: beyond it,
# its size can only come from reused subexpressions, which SymPy shares (``x = x * x``).
_SHARED = 64


def _is_elementwise(node: Node, graph: Graph) -> bool:
    if node.op is None or node.op.name in _REDUCTIONS:
        return False
    if HESSIAN_RULES.get(node.op.name) not in _ELEMENTWISE_KINDS:
        return False
    if node.op.sympy is None or node.op.sympy == STRUCTURAL:
        return False
    shapes = [graph.nodes[i].shape for i in node.inputs]
    try:
        return tuple(np.broadcast_shapes(*shapes)) == tuple(node.shape)
    except ValueError:
        return False


# --- the size estimate ----------------------------------------------------------------------------
def estimate_scalar_terms(graph: Graph) -> int:
    """Estimated size of the scalar (element-wise) lift of ``graph``, before expanding it.

    The sum over nodes of elements x per-element formula size: the formula of one element
    of an elementwise op is one node over its operands' formulas, a reduction's holds its
    group of operand formulas, a matmul ``(m, k) @ (k, n)`` element ``k`` products (so the
    node counts ``m n k`` times its operands' sizes). A formula is counted at most 64 terms
    larger than what its own op adds (SymPy shares equal subexpressions, so ``x = x * x``
    repeated stays small). Computed from shapes alone, in time linear in the number of nodes.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> g, _ = ad.trace_graph(lambda a, x: ad.sum(a @ x), np.ones((3, 4)), np.ones((4, 5)))
    >>> estimate_scalar_terms(g)  # 12 + 20 symbols, 15 x (4 x 2 + 1) matmul, sum 64 + 15
    246
    """
    per_element: list[int] = [1] * len(graph.nodes)
    total = 0
    for node in graph.nodes:
        i = node.index
        if node.op is None:
            total += node.size if node.is_input else 0
            continue
        operands = [graph.nodes[j] for j in node.inputs]
        sizes = [per_element[j] for j in node.inputs]
        name = node.op.name
        if name == "matmul" and len(operands) == 2:
            width = 2 * (int(operands[0].shape[-1]) if operands[0].shape else 1)
            s = width // 2 * (sizes[0] + sizes[1]) + 1
        elif name in _REDUCTIONS:
            width = operands[0].size // max(node.size, 1)
            s = width * sizes[0] + 1
        elif node.op.sympy == STRUCTURAL or name in ("reshape", "transpose", "getitem"):
            width, s = 0, max(sizes, default=1)
        else:
            width, s = 1, 1 + sum(sizes)
        per_element[i] = s
        total += node.size * min(s, _SHARED + width)
    return int(total)


# --- printing entries -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayNode:
    """One entry of an array program.

    Attributes
    ----------
    name : str
        ``x`` for an input, ``c7`` for an array constant, ``t12`` for an op result.
    kind : str
        ``"input"``, ``"constant"``, ``"elementwise"`` (a fused cluster), ``"structural"``,
        ``"reduction"``, ``"contraction"`` or ``"op"`` (any other op).
    shape : tuple of int
    index : int
        The graph node it stands for (the cluster's root for a fused cluster).
    expr : sympy expression or None
        For ``"elementwise"``: the formula of one generic element (``t5[i, j]``), over
        generic element symbols of the operands.
    text : str
        The right-hand side as printed.
    fused : tuple of int
        The graph nodes a fused cluster covers (root last).
    inline : bool
        A short view (``x[1:]``, ``W.T``) written inline where it is used, not on its own line.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    index: int
    expr: Any = None
    text: str = ""
    fused: tuple[int, ...] = ()
    inline: bool = False

    def lhs(self) -> str:
        """``t5[i, j]`` for an elementwise entry of rank 2, else the name."""
        if self.kind == "elementwise" and self.shape:
            return f"{self.name}[{', '.join(_AXES[: len(self.shape)])}]"
        return self.name

    def __str__(self) -> str:
        if self.kind == "input":
            return f"{self.name}: input {self.shape}"
        return f"{self.lhs()} = {self.text}  # {self.shape}"


def _short(v: Any) -> str:
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2] if v.step is None else parts)
    if v is Ellipsis:
        return "..."
    if v is None:
        return "None"
    if isinstance(v, np.ndarray):
        return str(v.tolist()) if v.size <= 6 else f"<int array {v.shape}>"
    return str(v)


def _index_text(index: Any) -> str:
    items = index if isinstance(index, tuple) else (index,)
    return ", ".join(_short(i) for i in items)


class _Namer:
    """Names, entries and generic element symbols of one graph."""

    def __init__(self, graph: Graph, input_names: Sequence[str]):
        self.graph = graph
        self.consumers = graph.consumers()
        self.names: dict[int, str] = {}
        self.scalars: dict[int, sp.Basic] = {}
        self.entries: list[ArrayNode] = []
        outputs = set(graph.outputs)
        self.fusable = [
            _is_elementwise(n, graph)
            and n.index not in outputs
            and len(self.consumers[n.index]) == 1
            and _is_elementwise(graph.nodes[self.consumers[n.index][0]], graph)
            and tuple(graph.nodes[self.consumers[n.index][0]].shape) == tuple(n.shape)
            for n in graph.nodes
        ]
        for pos, i in enumerate(graph.inputs):
            self.names[i] = input_names[pos]
            self.entries.append(ArrayNode(input_names[pos], "input", graph.nodes[i].shape, i))
        for node in graph.nodes:
            if node.is_input or self.fusable[node.index]:
                continue
            self._name(node)

    def _name(self, node: Node) -> None:
        i = node.index
        g = self.graph
        if node.is_constant:
            flat = node.value.reshape(-1)
            if node.size and node.dtype.kind in "biuf" and (flat == flat[0]).all():
                # a uniform constant (a number, or ones/zeros a VJP made) reads as its value
                self.scalars[i] = sympy_number(flat[0].item())
                self.names[i] = str(self.scalars[i])
            else:
                self.names[i] = f"c{i}"
                shown = node.value.tolist() if node.size <= 6 else f"<{node.dtype} array>"
                self.entries.append(ArrayNode(f"c{i}", "constant", node.shape, i, text=str(shown)))
            return
        name = f"t{i}"
        op, p = node.op.name, node.params
        if _is_elementwise(node, g):
            fused = tuple(self._cluster(i))
            expr = self._expr(i, node.shape)
            self.names[i] = name
            self.entries.append(
                ArrayNode(name, "elementwise", node.shape, i, expr, sp.sstr(expr), fused)
            )
            return
        args = [self.names[j] for j in node.inputs]
        if op == "getitem":
            text, kind = f"{args[0]}[{_index_text(p['index'])}]", "structural"
        elif op == "reshape":
            text, kind = f"reshape({args[0]}, {tuple(p['shape'])})", "structural"
        elif op == "transpose":
            axes = tuple(p["axes"])
            text = f"{args[0]}.T" if axes == (1, 0) else f"transpose({args[0]}, {axes})"
            kind = "structural"
        elif op == "broadcast_to":
            text, kind = f"broadcast_to({args[0]}, {tuple(p['shape'])})", "structural"
        elif op == "concatenate":
            text = f"concatenate([{', '.join(args)}], axis={p['axis']})"
            kind = "structural"
        elif op == "scatter_add":
            idx = _index_text(p["index"])
            text, kind = f"scatter_add({args[0]}, [{idx}], {tuple(p['shape'])})", "structural"
        elif op in _REDUCTIONS:
            extra = "" if p.get("axis") is None else f", axis={_short(p['axis'])}"
            extra += ", keepdims=True" if p.get("keepdims") else ""
            text, kind = f"{op}({args[0]}{extra})", "reduction"
        elif op == "matmul":
            text, kind = f"{args[0]} @ {args[1]}", "contraction"
        else:
            params = [f"{k}={_short(v)}" for k, v in p.items()]
            text, kind = f"{op}({', '.join(args + params)})", "op"
        inline = kind == "structural" and len(text) <= 24 and op in ("getitem", "transpose")
        # a view of a named array reads best inline (x[1:][i]): no line of its own
        self.names[i] = text if inline else name
        self.entries.append(ArrayNode(name, kind, node.shape, i, text=text, inline=inline))

    def _cluster(self, root: int) -> list[int]:
        out, stack = [], [root]
        while stack:
            i = stack.pop()
            out.append(i)
            stack.extend(j for j in self.graph.nodes[i].inputs if self.fusable[j])
        return sorted(set(out))

    def leaf_symbol(self, i: int, out_shape: tuple[int, ...]) -> sp.Basic:
        """The generic element of node ``i`` inside an elementwise formula of ``out_shape``."""
        if i in self.scalars:
            return self.scalars[i]
        node = self.graph.nodes[i]
        name = self.names[i]
        shape = tuple(node.shape)
        if not shape:
            return sp.Symbol(name, real=True)
        lead = len(out_shape) - len(shape)
        idx = [
            _AXES[lead + a] if shape[a] == out_shape[lead + a] else "0" for a in range(len(shape))
        ]
        return sp.Symbol(f"{name}[{', '.join(idx)}]", real=True)

    def _expr(self, i: int, out_shape: tuple[int, ...]) -> sp.Basic:
        memo: dict[int, sp.Basic] = {}
        order = self._cluster(i)
        for j in order:  # ascending: operands first
            node = self.graph.nodes[j]
            args = [
                np.asarray(memo[k] if k in memo else self.leaf_symbol(k, out_shape), dtype=object)
                for k in node.inputs
            ]
            try:
                value = node.op.sympy(NS, *args, **node.params)
            except (TypeError, ValueError, AttributeError) as exc:
                raise LiftError(
                    f"lift(mode='array'): the symbolic rule of op {node.op.name!r} failed on a "
                    f"generic element: {exc}"
                ) from None
            memo[j] = np.asarray(value, dtype=object)[()]
        return memo[i]


# --- numeric and Tensor replay --------------------------------------------------------------------
def _replay(graph: Graph, inputs: Sequence[Any], run: Callable) -> Any:
    values: list[Any] = [None] * len(graph.nodes)
    for pos, i in enumerate(graph.inputs):
        values[i] = inputs[pos]
    for node in graph.nodes:
        if node.is_input:
            continue
        if node.op is None:
            values[node.index] = node.value
            continue
        values[node.index] = run(node, [values[i] for i in node.inputs])
    return values[graph.outputs[0]]


def _numpy_run(node: Node, args: list) -> np.ndarray:
    return np.asarray(node.op.forward(*args, **node.params))


def _tensor_run(node: Node, args: list) -> Tensor:
    return apply(node.op, *args, **node.params)


def program_function(graph: Graph) -> Callable[..., Tensor]:
    """The graph as a function of its inputs built from Tensor ops (differentiable again)."""

    def program(*inputs):
        if len(inputs) != len(graph.inputs):
            raise TypeError(f"program: expected {len(graph.inputs)} inputs, got {len(inputs)}")
        return _replay(graph, inputs, _tensor_run)

    return program


# --- the lifted program ---------------------------------------------------------------------------
class ArrayLifted:
    """A traced computation as a program of array operations (one entry per recorded op).

    Attributes
    ----------
    graph : autodiff.graph.Graph
        The recorded program.
    names : tuple of str
        The name of each graph input.
    variables : tuple of str
        The inputs differentiated by :meth:`gradient`, :meth:`hvp` and
        :meth:`hessian_structure` (the others are parameters).
    nodes : tuple of ArrayNode
        The program's entries: inputs, array constants, fused elementwise clusters,
        structural ops, reductions and contractions.

    Examples
    --------
    >>> import numpy as np, autodiff as ad, symdiff
    >>> def rosen(x):
    ...     return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    >>> prog = symdiff.lift(rosen, np.zeros(10**5), mode="array")
    >>> print(prog)
    def rosen(x):  # x: (100000,)
        t13[i] = (1 - x[:-1][i])**2 + 100*(x[1:][i] - x[:-1][i]**2)**2  # (99999,)
        t14 = sum(t13)  # ()
        return t14
    >>> float(prog.evaluate(np.ones(10**5)))
    0.0
    >>> prog.hessian_structure()[0][:5]
    array([0, 0, 1, 1, 1])
    """

    def __init__(
        self,
        graph: Graph,
        names: Sequence[str],
        variables: Sequence[str] | None = None,
        *,
        fn: Callable | None = None,
        example_args: Sequence[Any] | None = None,
        arg_names: Sequence[str] | None = None,
        title: str = "f",
    ):
        self.graph = graph
        self.names = tuple(names)
        if len(self.names) != len(graph.inputs):
            raise ValueError(
                f"ArrayLifted: {len(graph.inputs)} graph input(s) but {len(self.names)} name(s)"
            )
        self.variables = tuple(self.names if variables is None else variables)
        self.title = title
        self._fn = fn if fn is not None else program_function(graph)
        self._args = (
            tuple(example_args)
            if example_args is not None
            else tuple(np.array(graph.nodes[i].value) for i in graph.inputs)
        )
        self.arg_names = tuple(arg_names) if arg_names is not None else self.names
        self._namer = _Namer(graph, self.names)
        self.nodes: tuple[ArrayNode, ...] = tuple(self._namer.entries)

    # --- printing ---
    @property
    def output_name(self) -> str:
        """The name of the program's output."""
        i = self.graph.outputs[0]
        return self._namer.names.get(i, f"t{i}")

    def __str__(self) -> str:
        shapes = ", ".join(f"{n}: {self.graph.nodes[i].shape}" for n, i in self._input_items())
        lines = [f"def {self.title}({', '.join(self.names)}):  # {shapes}"]
        lines += [f"    {e}" for e in self.nodes if e.kind != "input" and not e.inline]
        lines.append(f"    return {self.output_name}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        out = self.graph.nodes[self.graph.outputs[0]]
        return (
            f"ArrayLifted({len(self.nodes)} entries, {len(self.graph)} graph nodes, "
            f"inputs {dict(self._input_items_shapes())}, output shape {out.shape})"
        )

    def _repr_latex_(self) -> str:
        """Jupyter display: the matrix form of the function when it has one, else the program
        (:func:`symdiff.matrix_formula.program_latex`)."""
        from .matrix_formula import program_latex

        return f"$\\displaystyle {program_latex(self)}$"

    def _input_items(self):
        return list(zip(self.names, self.graph.inputs))

    def _input_items_shapes(self):
        return [(n, self.graph.nodes[i].shape) for n, i in self._input_items()]

    @property
    def size(self) -> int:
        """The number of entries (ops after fusion, inputs and array constants)."""
        return len(self.nodes)

    # --- evaluation ---
    def _graph_inputs(self, args: Sequence[Any]) -> list[np.ndarray]:
        """Graph input values from either every traced argument or only the lifted ones."""
        if len(args) == len(self.arg_names) and len(args) != len(self.names):
            args = [a for n, a in zip(self.arg_names, args) if n in self.names]
        if len(args) != len(self.names):
            raise ValueError(
                f"ArrayLifted: expected values for the input(s) {list(self.names)}, "
                f"got {len(args)} value(s)"
            )
        out = []
        for name, value, i in zip(self.names, args, self.graph.inputs):
            node = self.graph.nodes[i]
            arr = np.asarray(getattr(value, "data", value), dtype=node.dtype)
            if arr.shape != tuple(node.shape):
                raise ValueError(
                    f"ArrayLifted: input {name!r} has shape {arr.shape}, traced with {node.shape}"
                )
            out.append(arr)
        return out

    def evaluate(self, *args: Any):
        """The output at ``args`` by NumPy evaluation of the program (each node's forward).

        ``args`` holds either every argument of the traced call or only the lifted ones. A
        scalar output is returned as a float, others as an ndarray.
        """
        with np.errstate(all="ignore"):
            out = _replay(self.graph, self._graph_inputs(args), _numpy_run)
        out = np.asarray(out)
        return float(out) if out.ndim == 0 and out.dtype.kind == "f" else out

    # --- derivatives ---
    def _positions(self) -> tuple[int, ...]:
        return tuple(self.names.index(v) for v in self.variables)

    def _scalar_output(self, who: str) -> None:
        out = self.graph.nodes[self.graph.outputs[0]]
        if out.size != 1:
            raise ValueError(
                f"ArrayLifted.{who}: the output has shape {out.shape}; {who} needs a scalar output"
            )
        if not self.variables:
            raise ValueError(f"ArrayLifted.{who}: no variables to differentiate")

    def gradient(self) -> ArrayLifted:
        """The array program of the gradient, traced through ``autodiff.grad``.

        With one variable the output has its shape; with several it is their flattened
        gradients concatenated in ``variables`` order (as :meth:`Lifted.gradient`).
        """
        self._scalar_output("gradient")
        program, positions = program_function(self.graph), self._positions()

        def gradient(*inputs):
            grads = autodiff.grad(program, positions if len(positions) > 1 else positions[0])(
                *inputs
            )
            if len(positions) == 1:
                return grads
            return concatenate([reshape(g, (-1,)) for g in grads])

        return self._derived(gradient, self._args_for_inputs(), self.names, "gradient")

    def hvp(self) -> ArrayLifted:
        """The array program of the Hessian-vector product ``H(x) @ v`` (forward-over-reverse).

        Its inputs are this program's inputs followed by ``v`` (the variable's shape with one
        variable, else the flat length of all variables).
        """
        self._scalar_output("hvp")
        program, positions = program_function(self.graph), self._positions()
        nin = len(self.names)
        shapes = [tuple(self.graph.nodes[self.graph.inputs[p]].shape) for p in positions]
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]

        def hvp(*inputs):
            xs, v = inputs[:nin], inputs[nin]

            def grad_of(*var):
                full = list(xs)
                for p, value in zip(positions, var):
                    full[p] = value
                g = autodiff.grad(program, tuple(positions))(*full)
                return concatenate([reshape(t, (-1,)) for t in g])

            primals = tuple(xs[p] for p in positions)
            if len(positions) == 1:
                tangents = (reshape(v, shapes[0]),)
            else:
                tangents, start = [], 0
                for s, n in zip(shapes, sizes):
                    tangents.append(reshape(v[start : start + n], s))
                    start += n
                tangents = tuple(tangents)
            out = autodiff.jvp(grad_of, primals, tangents)[1]
            return reshape(out, shapes[0]) if len(positions) == 1 else out

        name = "v" if "v" not in self.names else "v_"
        vshape = shapes[0] if len(positions) == 1 else (sum(sizes),)
        args = self._args_for_inputs() + [np.zeros(vshape, dtype=self._float_dtype())]
        return self._derived(hvp, args, self.names + (name,), "hvp")

    def _float_dtype(self) -> np.dtype:
        return self.graph.nodes[self.graph.inputs[self._positions()[0]]].dtype

    def _args_for_inputs(self) -> list[np.ndarray]:
        return [np.array(self.graph.nodes[i].value) for i in self.graph.inputs]

    def _derived(self, fn: Callable, args: list, names: Sequence[str], what: str) -> ArrayLifted:
        graph, out = trace_graph(fn, *args)
        if not isinstance(out, Tensor):
            raise LiftError(f"ArrayLifted.{what}: the traced {what} is not a Tensor")
        if len(graph.inputs) != len(names):
            raise LiftError(
                f"ArrayLifted.{what}: traced {len(graph.inputs)} input(s) for names {names}"
            )
        return ArrayLifted(
            graph, names, self.variables, fn=fn, example_args=args, title=f"{what}_{self.title}"
        )

    def hessian_structure(self, wrt: int | str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Structural non-zeros ``(rows, cols)`` of the Hessian w.r.t. one input.

        ``wrt``: an input name or position (default: the first variable). See
        :func:`symdiff.sparsity.hessian_sparsity`.
        """
        self._scalar_output("hessian_structure")
        if wrt is None:
            wrt = self._positions()[0]
        elif isinstance(wrt, str):
            if wrt not in self.names:
                raise ValueError(f"hessian_structure: no input named {wrt!r} in {self.names}")
            wrt = self.names.index(wrt)
        return hessian_sparsity(self.graph, int(wrt))

    # --- expansion ---
    def estimate_scalar_terms(self) -> int:
        """:func:`estimate_scalar_terms` of this program."""
        return estimate_scalar_terms(self.graph)

    def to_scalar(self, max_terms: int | None = None):
        """Expand to the element-wise :class:`~symdiff.Lifted` (``lift(..., mode="scalar")``).

        Raises :class:`~symdiff.LiftTooLarge` when the estimate exceeds ``max_terms``
        (default ``symdiff.config.max_terms``, 2,000,000 when unset).
        """
        from .lift import lift, scalar_terms_limit

        limit = scalar_terms_limit() if max_terms is None else int(max_terms)
        estimate = self.estimate_scalar_terms()
        if estimate > limit:
            raise LiftTooLarge(
                f"ArrayLifted.to_scalar: the element-wise expansion would build about "
                f"{estimate} terms, more than the limit {limit}; keep the array program"
            )
        params = [n for n in self.names if n not in self.variables]
        return lift(
            self._fn,
            *self._args,
            names=list(self.arg_names),
            params=[n for n in params if n in self.arg_names],
            mode="scalar",
        )

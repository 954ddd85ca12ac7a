"""Kernel programs: an autodiff :class:`~autodiff.graph.Graph` planned for code generation.

A :class:`Program` groups the graph's nodes into *units* in a valid execution order:

* an elementwise **cluster**: a maximal connected set of elementwise nodes (arithmetic,
  transcendental functions, comparisons, ``where``, casts, ``broadcast_to``) with one output
  shape; it becomes one loop nest whose body holds one scalar line per node;
* a single **op** (reductions, ``reshape``, ``transpose``, indexing, ``concatenate``,
  ``matmul``...), emitted as array code.

It also fixes the kernel's extra arguments: constant arrays captured by the traced function
(passed at call time, never printed into the source, so that the source stays O(ops)) and
the integer index maps of advanced indexing. Uniform constants (size 1, or all elements equal,
such as the ones a VJP seeds) are printed as literals. Clusters of one shape that no path
through another unit connects are merged into one loop.

This module imports neither SymPy nor the code generator: a warm start builds the program
(O(nodes)) only to know the extra arguments of a cached kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Ops whose output element i depends only on element i of each (broadcast) operand.
ELEMENTWISE = frozenset(
    {
        "neg", "add", "sub", "mul", "div", "pow", "exp", "log", "log1p", "expm1", "sqrt",
        "square", "sin", "cos", "tan", "tanh", "sigmoid", "softplus", "heaviside", "sign",
        "relu", "abs", "maximum", "minimum", "where", "cast", "cast_discrete", "less",
        "less_equal", "greater", "greater_equal", "equal", "not_equal", "broadcast_to",
        # autodiff.ops.special
        "floor", "ceil", "trunc", "round", "mod", "log2", "log10", "exp2", "logaddexp",
        "logaddexp2", "hypot", "atan2", "asin", "acos", "atan", "sinh", "cosh", "asinh",
        "acosh", "atanh", "erf", "erfc", "nan_to_num",
    }
)  # fmt: skip
REDUCTIONS = frozenset({"sum", "max", "min", "prod", "stable_shift"})
STRUCTURE = frozenset(
    {"reshape", "transpose", "getitem", "scatter_add", "concatenate", "matmul", "cumsum",
     "sort_gather", "sort_scatter", "einsum"}
)  # fmt: skip
SUPPORTED = ELEMENTWISE | REDUCTIONS | STRUCTURE


def is_basic_index(index) -> bool:
    """Whether ``index`` is a tuple of slices and integers that numba can apply as written."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, slice | int | np.integer) for i in items) and not isinstance(
        index, bool
    )


def flat_index(shape: tuple[int, ...], index) -> np.ndarray:
    """The flat positions ``np.arange(size).reshape(shape)[index]`` (C order, int64)."""
    size = int(np.prod(shape, dtype=np.int64))
    return np.ascontiguousarray(np.arange(size, dtype=np.int64).reshape(shape)[index]).reshape(-1)


@dataclass
class Unit:
    """One step of a program: a cluster of elementwise nodes or one other op node."""

    kind: str  # "cluster" | "op"
    nodes: list[int]
    shape: tuple[int, ...] = ()


@dataclass
class Program:
    """A graph, its execution units and the kernel's extra arguments.

    ``extras`` lists, in kernel-argument order after the graph inputs, what each extra
    argument holds: ``("const", node)`` for a captured constant array or ``("index", node)``
    for the flat index map of an advanced ``getitem`` / ``scatter_add``.
    """

    graph: object
    units: list[Unit]
    inline: set[int]  # uniform constants printed as literals
    extras: list[tuple[str, int]] = field(default_factory=list)

    def extra_arrays(self) -> list[np.ndarray]:
        """The extra argument arrays, in order (computed from the graph: O(constants))."""
        nodes = self.graph.nodes
        out = []
        for what, k in self.extras:
            node = nodes[k]
            if what == "const":
                out.append(np.ascontiguousarray(node.value))
            else:
                src = nodes[node.inputs[0]]
                shape = src.shape if node.op.name == "getitem" else tuple(node.params["shape"])
                out.append(flat_index(shape, node.params["index"]))
        return out


def unsupported(graph) -> list[str]:
    """Names of the ops in ``graph`` that the array compiler has no emitter for."""
    return sorted({n.op.name for n in graph.nodes if n.op is not None} - SUPPORTED)


def plan(graph) -> Program:
    """Group ``graph`` into clusters and ops and order them (see the module docstring).

    Raises
    ------
    bridge.UnsupportedExpressionError
        When an op of the graph has no array emitter (naming it).
    """
    missing = unsupported(graph)
    if missing:
        from ..errors import UnsupportedExpressionError

        raise UnsupportedExpressionError(missing, "array", "no array-mode emitter")
    nodes = graph.nodes
    inline = {n.index for n in nodes if n.is_constant and _uniform(n)}
    cluster_of: dict[int, int] = {}
    clusters: list[list[int]] = []
    shapes: list[tuple[int, ...]] = []
    # ndeps[k]: the clusters node k reads directly or through non-cluster ops; cdeps[c]: the
    # same for the external operands of cluster c. A node may join cluster c only if none of
    # its other operands reaches c, so that the clusters stay acyclic.
    ndeps: list[frozenset[int]] = []
    cdeps: list[set[int]] = []

    def reaches(start: frozenset[int], target: int) -> bool:
        seen, todo = set(), list(start)
        while todo:
            c = todo.pop()
            if c == target:
                return True
            if c not in seen:
                seen.add(c)
                todo.extend(cdeps[c])
        return False

    for node in nodes:
        mine: int | None = None
        if node.op is not None and node.op.name in ELEMENTWISE:
            for o in node.inputs:
                c = cluster_of.get(o)
                if c is None or shapes[c] != tuple(node.shape) or mine is not None:
                    continue
                if all(cluster_of.get(q) == c or not reaches(ndeps[q], c) for q in node.inputs):
                    mine = c
            if mine is None:
                mine = len(clusters)
                clusters.append([])
                shapes.append(tuple(node.shape))
                cdeps.append(set())
            clusters[mine].append(node.index)
            cluster_of[node.index] = mine
            for q in node.inputs:
                if cluster_of.get(q) != mine:
                    cdeps[mine] |= ndeps[q]
            ndeps.append(frozenset({mine}))
        else:
            d: set[int] = set()
            for o in node.inputs:
                d |= ndeps[o]
            ndeps.append(frozenset(d))
    clusters, shapes = _merge_siblings(nodes, clusters, shapes, cluster_of)
    # units: every cluster, every other op node; ordered by a depth-first topological sort
    unit_of: dict[int, int] = {}
    units: list[Unit] = []
    for c, members in enumerate(clusters):
        for k in members:
            unit_of[k] = len(units)
        units.append(Unit("cluster", members, shapes[c]))
    for node in nodes:
        if node.op is not None and node.index not in cluster_of:
            unit_of[node.index] = len(units)
            units.append(Unit("op", [node.index], tuple(node.shape)))
    order: list[int] = []
    state = [0] * len(units)  # 0 new, 1 on the stack, 2 done

    def visit(u: int) -> None:
        stack = [(u, iter(_unit_deps(units[u], nodes, unit_of)))]
        state[u] = 1
        while stack:
            current, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[current] = 2
                order.append(current)
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(_unit_deps(units[nxt], nodes, unit_of))))
            elif state[nxt] == 1:  # pragma: no cover - the cluster rule prevents cycles
                raise RuntimeError("bridge.arrays: cyclic cluster plan")

    for u in range(len(units)):
        if state[u] == 0:
            visit(u)
    program = Program(graph, [units[u] for u in order], inline)
    for node in nodes:
        if node.is_constant and node.index not in inline:
            program.extras.append(("const", node.index))
    for node in nodes:
        indexing = node.op is not None and node.op.name in ("getitem", "scatter_add")
        if indexing and not is_basic_index(node.params["index"]):
            program.extras.append(("index", node.index))
    return program


def _uniform(node) -> bool:
    """A constant whose elements are all equal (a number, or the ones/zeros a VJP seeds): it
    is printed as a literal, never passed as an array nor read element by element."""
    value = np.asarray(node.value)
    if value.size == 1:
        return True
    if value.size == 0 or value.dtype.kind not in "biuf":
        return False
    flat = value.reshape(-1)
    first = flat[0]
    if value.dtype.kind == "f" and not np.isfinite(first):
        return False
    return bool((flat == first).all())


def _merge_siblings(nodes, clusters, shapes, cluster_of):
    """Merge clusters of one shape that no path through another unit connects (fewer loops,
    fewer temporaries): a direct elementwise edge between the two is fine (it becomes a local
    of the merged loop); a path through any other unit would make the plan cyclic."""
    group: dict[int, object] = {}
    for node in nodes:
        if node.op is None:
            continue
        c = cluster_of.get(node.index)
        group[node.index] = ("c", c) if c is not None else ("n", node.index)
    succ: dict[object, set] = {}
    for node in nodes:
        g = group.get(node.index)
        if g is None:
            continue
        for o in node.inputs:
            h = group.get(o)
            if h is not None and h != g:
                succ.setdefault(g, set()).add(h)

    def reaches(start, target) -> bool:
        seen, todo = set(), [start]
        while todo:
            u = todo.pop()
            if u == target:
                return True
            if u not in seen:
                seen.add(u)
                todo.extend(succ.get(u, ()))
        return False

    def linked(a, b) -> bool:  # a path a -> X -> ... -> b with X != b
        return any(x != b and reaches(x, b) for x in succ.get(a, ()))

    merged: list[object] = []  # representative groups, in creation order
    members: dict[object, list[int]] = {}
    for c, nodes_c in enumerate(clusters):
        g = ("c", c)
        target = None
        for r in merged:
            if shapes[r[1]] == shapes[c] and not linked(r, g) and not linked(g, r):
                target = r
                break
        if target is None:
            merged.append(g)
            members[g] = list(nodes_c)
            continue
        members[target].extend(nodes_c)
        # contract g into target
        out = succ.pop(g, set())
        succ.setdefault(target, set()).update(out)
        for vs in succ.values():
            if g in vs:
                vs.discard(g)
                vs.add(target)
        succ[target].discard(target)
        for k in nodes_c:
            cluster_of[k] = target[1]
    new_clusters, new_shapes, renumber = [], [], {}
    for r in merged:
        renumber[r[1]] = len(new_clusters)
        new_clusters.append(sorted(members[r]))
        new_shapes.append(shapes[r[1]])
    for k, c in cluster_of.items():
        cluster_of[k] = renumber[c]
    return new_clusters, new_shapes


def _unit_deps(unit: Unit, nodes, unit_of: dict[int, int]) -> list[int]:
    mine = set(unit.nodes)
    out = []
    for k in unit.nodes:
        for o in nodes[k].inputs:
            if o not in mine and o in unit_of and unit_of[o] not in out:
                out.append(unit_of[o])
    return out

"""Size of a scalar (element-wise) expansion, estimated from a traced graph's shapes alone,
and the one ``mode="auto"`` rule that ``symdiff.lift`` and ``bridge.compile`` share.

Rule: a computation whose estimated scalar expansion (:func:`estimate_scalar_terms`) has at
most :data:`AUTO_SCALAR_TERMS` terms is lifted and compiled element by element (``"scalar"``:
printed formulas, pickling, batch evaluation over points); anything larger works on arrays
(``"array"``: cost independent of the array sizes). The estimate is at least the number of
input elements, so arguments holding more elements than the limit decide ``"array"`` without
tracing (:func:`auto_mode_by_elements`). This module imports neither SymPy nor numba, so a warm
array-mode start never loads them.
"""

from __future__ import annotations

from .graph import Graph
from .ops import STRUCTURAL

__all__ = ["AUTO_SCALAR_TERMS", "auto_mode", "auto_mode_by_elements", "estimate_scalar_terms"]

AUTO_SCALAR_TERMS = 100_000
"""``mode="auto"`` of ``symdiff.lift`` and ``bridge.compile``: the scalar expansion up to this many
estimated terms (:func:`estimate_scalar_terms`), array mode above: Rosenbrock up to n of about
1,600 (about 62 terms per element), ``logsumexp(A @ X)`` with a dense ``X`` up to about 7 x 7."""

_REDUCTIONS = {"sum", "max", "min", "prod", "stable_shift"}
# A formula is counted at most this much larger than the terms its own op adds: beyond it,
# its size can only come from reused subexpressions, which SymPy shares (``x = x * x``).
_SHARED = 64


def auto_mode(graph: Graph, limit: int | None = None) -> str:
    """``"scalar"`` when ``graph``'s estimated scalar expansion has at most ``limit`` terms
    (default: :data:`AUTO_SCALAR_TERMS`, read at call time), else ``"array"`` (the rule of
    ``mode="auto"``; see the module docstring).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> rosen = lambda x: ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> auto_mode(ad.trace_graph(rosen, np.ones(100))[0])
    'scalar'
    >>> auto_mode(ad.trace_graph(rosen, np.ones(5000))[0])
    'array'
    """
    limit = AUTO_SCALAR_TERMS if limit is None else limit
    return "scalar" if estimate_scalar_terms(graph) <= limit else "array"


def auto_mode_by_elements(elements: int, limit: int | None = None) -> str | None:
    """``"array"`` when ``elements`` input elements alone exceed ``limit`` (the estimate counts
    every input element), else ``None``: trace and ask :func:`auto_mode`.

    Examples
    --------
    >>> auto_mode_by_elements(10**6), auto_mode_by_elements(10)
    ('array', None)
    """
    limit = AUTO_SCALAR_TERMS if limit is None else limit
    return "array" if elements > limit else None


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

"""Sparse symbolic Hessians: only structurally non-zero entries are ever derived."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import sympy as sp

from .dag import free_symbols, fresh_constructor_cache, postorder
from .errors import LiftTooLarge
from .reverse import adjoints, gradient_raw
from .settings import config
from .simplify import check_level, simplify_exprs


class SparseHessian:
    """The structurally non-zero entries of a symmetric Hessian, in CSR (row-major) order.

    ``rows``, ``cols`` (int64 arrays) and ``values`` (SymPy expressions) are aligned and hold
    both triangles; ``H[i, j]`` and ``H[j, i]`` are the same expression object.
    """

    def __init__(self, rows, cols, values: Sequence[sp.Expr], shape: tuple[int, int], variables):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.values = list(values)
        self.shape = (int(shape[0]), int(shape[1]))
        self.variables = tuple(variables)

    @property
    def nnz(self) -> int:
        """Number of structural non-zeros (both triangles)."""
        return len(self.values)

    def __repr__(self) -> str:
        return f"SparseHessian(shape={self.shape}, nnz={self.nnz})"

    def _repr_latex_(self) -> str:
        from .display import latex_hessian

        return latex_hessian(self)

    def __getitem__(self, index: tuple[int, int]) -> sp.Expr:
        i, j = index
        lo, hi = np.searchsorted(self.rows, [i, i + 1])
        k = lo + np.searchsorted(self.cols[lo:hi], j)
        if k < hi and self.cols[k] == j:
            return self.values[k]
        return sp.S.Zero

    def entries(self) -> Iterator[tuple[int, int, sp.Expr]]:
        """Iterate over ``(row, col, expr)`` for every structural non-zero."""
        return zip(self.rows.tolist(), self.cols.tolist(), self.values)

    def sparsity(self):
        """The sparsity structure as a ``scipy.sparse.csr_matrix`` of ones (int8)."""
        from scipy.sparse import csr_matrix

        ones = np.ones(self.nnz, dtype=np.int8)
        return csr_matrix((ones, (self.rows, self.cols)), shape=self.shape)

    def dense(self) -> sp.Matrix:
        """A dense ``sympy.Matrix`` view (zeros filled in)."""
        m = sp.zeros(*self.shape)
        for i, j, v in self.entries():
            m[i, j] = v
        return m

    def simplify(self, level: str = "fast", budget: float | None = None) -> SparseHessian:
        """A copy with every entry simplified at ``level`` (symmetric entries once)."""
        upper = [k for k, (i, j) in enumerate(zip(self.rows, self.cols)) if i <= j]
        done = simplify_exprs([self.values[k] for k in upper], level, budget)
        by_pair = {(int(self.rows[k]), int(self.cols[k])): v for k, v in zip(upper, done)}
        values = [by_pair[(min(i, j), max(i, j))] for i, j, _ in self.entries()]
        return SparseHessian(self.rows, self.cols, values, self.shape, self.variables)

    def cse(self, **kwargs):
        """Common subexpressions over all entries: ``(replacements, reduced values)``."""
        return sp.cse(self.values, **kwargs)


def sweep_cost(expr: sp.Basic) -> int:
    """Estimated terms one reverse sweep over ``expr`` builds: a product of ``k`` factors has
    ``k`` partials of ``k - 1`` factors each; any other node one term per argument."""
    cost = 0
    for node in postorder([expr]):
        k = len(node.args)
        cost += k * k if isinstance(node, sp.Mul) else k
    return cost


def check_hessian_work(grad: Sequence[sp.Expr], limit: int | None = None) -> int:
    """Raise :class:`LiftTooLarge` when the Hessian sweeps would build more than ``limit``
    (default ``symdiff.config.max_terms``) terms; return the estimate."""
    limit = config.max_terms if limit is None else int(limit)
    total = 0
    for g in grad:
        if isinstance(g, sp.Basic):
            total += sweep_cost(g)
            if total > limit:
                raise LiftTooLarge(
                    f"hessian: the second-order sweeps over {len(grad)} gradient entries would "
                    f"build more than {total} expression terms, above the limit "
                    f"symdiff.config.max_terms = {limit}; raise symdiff.config.max_terms to "
                    "compute it anyway"
                )
    return total


def hessian_from_gradient(
    grad: Sequence[sp.Expr], variables: Sequence[sp.Symbol], simplify: str = "none"
) -> SparseHessian:
    """Sparse Hessian: row ``i`` differentiates ``grad[i]`` only in the variables it holds."""
    check_level(simplify)
    check_hessian_work(grad)
    fresh_constructor_cache()
    variables = tuple(variables)
    index = {v: k for k, v in enumerate(variables)}
    upper: dict[tuple[int, int], sp.Expr] = {}
    free: dict = {}  # shared: the rows of a gradient share most of their subexpressions
    for i, g in enumerate(grad):
        if not isinstance(g, sp.Basic):
            continue
        targets = [v for v in free_symbols(g, free) if index.get(v, -1) >= i]
        if not targets:
            continue
        for v, d in adjoints(g, targets).items():
            upper[(i, index[v])] = d
    keys = sorted(upper)
    values = simplify_exprs([upper[k] for k in keys], simplify)
    full = dict(zip(keys, values))
    full.update({(j, i): v for (i, j), v in zip(keys, values)})
    pairs = sorted(full)
    n = len(variables)
    return SparseHessian(
        [p[0] for p in pairs], [p[1] for p in pairs], [full[p] for p in pairs], (n, n), variables
    )


def sparse_hessian(
    expr: sp.Basic, variables: Sequence[sp.Symbol], simplify: str = "none"
) -> SparseHessian:
    """Sparse Hessian of ``expr`` in ``variables`` by reverse accumulation, row by row."""
    return hessian_from_gradient(gradient_raw(sp.sympify(expr), variables), variables, simplify)

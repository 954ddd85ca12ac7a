"""Hessian sparsity of a recorded array program, graph colouring and recovery from products.

:func:`hessian_sparsity` finds the structural non-zeros of the Hessian of a scalar output at
the level of arrays, without expanding any element into a SymPy expression: every node of
the graph (:mod:`autodiff.graph`) gets a sparse boolean matrix ``D`` (one row per element of
the node, one column per element of the differentiated input: which inputs the element
depends on) and a global pattern ``H`` is accumulated where an op is nonlinear - the global
Hessian pattern of SparseConnectivityTracer.jl. Every op is classified once, in
:data:`HESSIAN_RULES`:

* ``structural`` (getitem, reshape, transpose, broadcast_to, concatenate, scatter_add): the
  op's own NumPy forward applied to an ``arange`` of each operand gives the index map, and
  ``D_out`` takes (or sums) the rows of ``D_in``;
* ``linear`` (add, sub, neg, cast, where, sum): ``D_out`` is the union of the operands'
  (broadcast) rows, or a grouping-matrix product for reductions; no Hessian term;
* ``nonlinear`` unary (exp, log, sin, tanh, sigmoid, softplus, sqrt, square...): ``D_out =
  D_in`` and ``H |= D_in^T D_in``; binary (logaddexp, hypot, atan2) over the union of both;
* ``kink`` (relu, abs, maximum, minimum, max, min, mod): second derivative 0 almost everywhere
  (``relu'' = 0``, ``Max`` differentiates to ``Heaviside``): union, no Hessian term;
* ``zero`` (sign, heaviside, comparisons, integer casts, stable_shift, floor, ceil, trunc,
  round): derivative 0: the result carries no dependence at all;
* ``matrix`` (the ``autodiff.linalg`` primitives: inv, solve, det, slogdet, cholesky, eigh,
  eigvalsh, svd, svdvals, pinv): every output element of batch entry ``b`` depends
  nonlinearly on every entry of the operands' matrices of entry ``b`` (dense per matrix,
  block-diagonal over the batch);
* ``cumsum``: a lower-triangular grouping along the axis; ``sort`` (``sort_gather`` /
  ``sort_scatter``): each element depends on its whole slice of the values (the keys carry no
  derivative); both linear;
* ``mul``, ``div``, ``pow``, ``matmul``, ``einsum``, ``prod``: bilinear / multilinear rules
  (``H |= D_a^T D_b + D_b^T D_a``; ``a / b = a * (1/b)``; ``pow`` per element of a constant
  exponent, where ``x**0`` and ``x**1`` contribute nothing; ``prod`` pairs distinct factors,
  so ``prod(x)`` has a zero diagonal).

A Hessian term is only added at a node whose value reaches the output through differentiable
edges (``sign(x**2)`` has a zero Hessian). Zeros of true constants are used: ``A @ x`` with a
sparse constant ``A`` and ``c * x`` with ``c[i] == 0`` have the exact dependence.

The pattern equals the scalar mode's (``symdiff.lift(f, x).hessian()``) except where SymPy's
automatic simplification cancels terms that only cancel algebraically - ``(x + y) - y``,
``exp(log(x))``, ``(a + b) * (a - b)`` with equal coefficients, a product with a constant zero
factor: there the array pattern is a superset (it never misses a non-zero).

:func:`color_columns` colours the columns of a (symmetric) pattern so that two columns sharing
a row get different colours (distance-2 colouring); :func:`recover_from_products` reads every
non-zero back from the ``ncolors`` Hessian-vector products ``H @ indicator(colour)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import scipy.sparse as sps

__all__ = [
    "HESSIAN_RULES",
    "color_columns",
    "hessian_sparsity",
    "recover_from_products",
]

log = logging.getLogger("hybriddiff")

# op name -> the rule of hessian_sparsity. One entry per op of autodiff.ops.ALL_OPS
# (tests/symdiff/test_sparsity.py checks completeness); unknown ops are handled at runtime as
# "nonlinear" in every operand, with a warning.
HESSIAN_RULES: dict[str, str] = {
    # linear elementwise: union of the operands' dependencies
    "neg": "linear",
    "add": "linear",
    "sub": "linear",
    "cast": "linear",
    "where": "where",
    # bilinear / nonlinear binary
    "mul": "mul",
    "div": "div",
    "pow": "pow",
    # nonlinear unary: H |= D^T D
    "exp": "nonlinear",
    "log": "nonlinear",
    "log1p": "nonlinear",
    "expm1": "nonlinear",
    "sqrt": "nonlinear",
    "square": "nonlinear",
    "sin": "nonlinear",
    "cos": "nonlinear",
    "tan": "nonlinear",
    "tanh": "nonlinear",
    "sigmoid": "nonlinear",
    "softplus": "nonlinear",
    "log2": "nonlinear",
    "log10": "nonlinear",
    "exp2": "nonlinear",
    "asin": "nonlinear",
    "acos": "nonlinear",
    "atan": "nonlinear",
    "sinh": "nonlinear",
    "cosh": "nonlinear",
    "asinh": "nonlinear",
    "acosh": "nonlinear",
    "atanh": "nonlinear",
    "erf": "nonlinear",
    "erfc": "nonlinear",
    # nonlinear binary: H |= D^T D over the union of both operands
    "logaddexp": "nonlinear",
    "logaddexp2": "nonlinear",
    "hypot": "nonlinear",
    "atan2": "nonlinear",
    # linear where finite (replaced entries are constants)
    "nan_to_num": "linear",
    # mod(a, b) = a - floor(a / b) * b: piecewise linear, second derivative 0
    "mod": "kink",
    # kinks: second derivative 0 almost everywhere (relu'' = 0, Max' = Heaviside)
    "relu": "kink",
    "abs": "kink",
    "maximum": "kink",
    "minimum": "kink",
    # derivative 0: no dependence carried
    "sign": "zero",
    "heaviside": "zero",
    "cast_discrete": "zero",
    "stable_shift": "zero",
    "floor": "zero",
    "ceil": "zero",
    "trunc": "zero",
    "round": "zero",
    "less": "zero",
    "less_equal": "zero",
    "greater": "zero",
    "greater_equal": "zero",
    "equal": "zero",
    "not_equal": "zero",
    # structural: index maps from the op's own forward
    "reshape": "structural",
    "transpose": "structural",
    "broadcast_to": "structural",
    "getitem": "structural",
    "concatenate": "concatenate",
    "scatter_add": "scatter_add",
    # reductions and contractions
    "sum": "reduce",
    "max": "reduce",
    "min": "reduce",
    "prod": "prod",
    "matmul": "matmul",
    # numpy.linalg (autodiff.linalg): every output of a matrix depends on every entry of it
    "inv": "matrix",
    "solve": "matrix",
    "det": "matrix",
    "slogdet": "matrix",
    "cholesky": "matrix",
    "eigh": "matrix",
    "eigvalsh": "matrix",
    "svd": "matrix",
    "svdvals": "matrix",
    "pinv": "matrix",
    # scans, sorting and contractions
    "cumsum": "cumsum",
    "sort_gather": "sort",
    "sort_scatter": "sort",
    "einsum": "einsum",
}

_DTYPE = np.float64  # counts stay exact (prod needs them); patterns are normalised to 1


# --- sparse helpers -----------------------------------------------------------------------------
def _empty(rows: int, n: int) -> sps.csr_matrix:
    return sps.csr_matrix((rows, n), dtype=_DTYPE)


def _ones(m: sps.spmatrix) -> sps.csr_matrix:
    """The pattern of ``m`` as a CSR matrix of ones (explicit zeros dropped)."""
    m = sps.csr_matrix(m)
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def _select(d: sps.csr_matrix, index: np.ndarray) -> sps.csr_matrix:
    """Rows ``index`` of ``d``; ``-1`` gives an empty row."""
    index = np.asarray(index, dtype=np.int64).ravel()
    if (index < 0).any():
        keep = index >= 0
        pick = sps.csr_matrix(
            (np.ones(int(keep.sum()), _DTYPE), (np.flatnonzero(keep), index[keep])),
            shape=(index.size, d.shape[0]),
        )
        return pick @ d
    if index.size == d.shape[0] and np.array_equal(index, np.arange(index.size)):
        return d
    return d[index]


def _single_pairs(a: sps.csr_matrix, b: sps.csr_matrix, n: int) -> sps.coo_matrix | None:
    """``a^T b`` as COO pairs when every row of both holds at most one entry (the common case
    of slices and elementwise chains), without a sparse matrix product; else None."""
    ca, cb = np.diff(a.indptr), np.diff(b.indptr)
    if ca.max(initial=0) > 1 or cb.max(initial=0) > 1:
        return None
    both = (ca == 1) & (cb == 1)
    i = a.indices[a.indptr[:-1][both]]
    j = b.indices[b.indptr[:-1][both]]
    return sps.coo_matrix((np.ones(i.size, _DTYPE), (i, j)), shape=(n, n))


def _grouping(groups: np.ndarray, ngroups: int) -> sps.csr_matrix:
    """The ``ngroups x len(groups)`` matrix with a one at ``(groups[k], k)``."""
    groups = np.asarray(groups, dtype=np.int64).ravel()
    return sps.csr_matrix(
        (np.ones(groups.size, _DTYPE), (groups, np.arange(groups.size))),
        shape=(ngroups, groups.size),
    )


def _arange(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def _broadcast_index(shape: tuple[int, ...], out: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(_arange(shape), out).ravel()


class _State:
    """Per-node dependence matrices and the accumulated Hessian pattern."""

    def __init__(self, graph, wrt: int):
        self.graph = graph
        self.nodes = graph.nodes
        self.n = int(np.prod(self.nodes[graph.inputs[wrt]].shape, dtype=np.int64))
        self.D: list[sps.csr_matrix | None] = [None] * len(self.nodes)
        # constant: the node's value is the same at every point (leaf constants and ops of them)
        self.constant = [False] * len(self.nodes)
        self.live = _live_nodes(graph)
        self.pieces: list[sps.spmatrix] = []

    def dep(self, i: int, out_shape: tuple[int, ...] | None = None) -> sps.csr_matrix | None:
        """``D`` of node ``i``, its rows broadcast to ``out_shape``; None without dependence."""
        d = self.D[i]
        if d is None:
            return None
        shape = self.nodes[i].shape
        if out_shape is None or tuple(shape) == tuple(out_shape):
            return d
        return d[_broadcast_index(shape, out_shape)]

    def dense_dep(self, i: int, out_shape: tuple[int, ...] | None = None) -> sps.csr_matrix:
        d = self.dep(i, out_shape)
        if d is None:
            size = int(np.prod(out_shape if out_shape is not None else self.nodes[i].shape))
            return _empty(size, self.n)
        return d

    def add_h(self, a: sps.spmatrix, b: sps.spmatrix | None = None) -> None:
        """``H |= a^T b + b^T a`` (``a^T a`` when ``b`` is None)."""
        if b is None:
            pairs = _single_pairs(a, a, self.n)
            self.pieces.append(pairs if pairs is not None else _ones(a.T @ a))
        else:
            cross = _single_pairs(a, b, self.n)
            cross = cross if cross is not None else _ones(a.T @ b)
            self.pieces.extend((cross, cross.T))

    def const_value(self, i: int) -> np.ndarray | None:
        return np.asarray(self.nodes[i].value) if self.constant[i] else None


def _zero_derivative_edges(node) -> set[int]:
    """Operand positions of ``node`` through which no derivative flows."""
    op = node.op
    rule = HESSIAN_RULES.get(op.name)
    if not op.differentiable or rule == "zero":
        return set(range(len(node.inputs)))
    if rule == "where":
        return {0}
    return set()


def _live_nodes(graph) -> np.ndarray:
    """Nodes whose value reaches an output through differentiable edges."""
    live = np.zeros(len(graph.nodes), dtype=bool)
    live[list(graph.outputs)] = True
    for node in reversed(graph.nodes):
        if not live[node.index] or node.op is None:
            continue
        dead = _zero_derivative_edges(node)
        for pos, i in enumerate(node.inputs):
            if pos not in dead:
                live[i] = True
    return live


# --- rules ----------------------------------------------------------------------------------------
def _union(state: _State, node, operands) -> sps.csr_matrix | None:
    deps = [state.dep(i, node.shape) for i in operands]
    deps = [d for d in deps if d is not None]
    if not deps:
        return None
    if len(deps) == 1:
        return deps[0]
    total = deps[0]
    for d in deps[1:]:
        total = total + d
    return _ones(total)


def _rule_linear(state, node):
    return _union(state, node, node.inputs)


def _rule_where(state, node):
    return _union(state, node, node.inputs[1:])


def _rule_kink(state, node):
    return _union(state, node, node.inputs)


def _rule_zero(state, node):
    return None


def _rule_nonlinear(state, node):
    d = _union(state, node, node.inputs)
    if d is not None and state.live[node.index]:
        state.add_h(d)
    return d


def _nonzero_rows(d: sps.csr_matrix, keep: np.ndarray) -> sps.csr_matrix:
    """``diag(keep) @ d``."""
    keep = np.asarray(keep, dtype=bool).ravel()
    if keep.all():
        return d
    return sps.diags(keep.astype(_DTYPE)) @ d


def _const_mask(state, i, shape) -> np.ndarray | None:
    """Where the true constant node ``i`` (broadcast to ``shape``) is non-zero; None if not."""
    value = state.const_value(i)
    if value is None:
        return None
    return np.broadcast_to(value != 0, shape).ravel()


def _rule_mul(state, node):
    a, b = node.inputs
    da, db = state.dep(a, node.shape), state.dep(b, node.shape)
    if da is not None and db is not None:
        if state.live[node.index]:
            state.add_h(da, db)
        return _ones(da + db)
    if da is None and db is None:
        return None
    d, other = (da, b) if da is not None else (db, a)
    mask = _const_mask(state, other, node.shape)
    return d if mask is None else _ones(_nonzero_rows(d, mask))


def _rule_div(state, node):
    a, b = node.inputs
    da, db = state.dep(a, node.shape), state.dep(b, node.shape)
    if db is None:
        return da  # division by something independent: linear
    # a / b = a * r with r = 1 / b nonlinear in b
    if state.live[node.index]:
        state.add_h(db)
        if da is not None:
            state.add_h(da, db)
    return db if da is None else _ones(da + db)


def _rule_pow(state, node):
    a, b = node.inputs
    da, db = state.dep(a, node.shape), state.dep(b, node.shape)
    live = state.live[node.index]
    if da is None and db is None:
        return None
    if db is None:
        exponent = state.const_value(b)
        if exponent is None:
            if live:
                state.add_h(da)
            return da
        e = np.broadcast_to(exponent, node.shape).ravel()
        da = _ones(_nonzero_rows(da, e != 0))  # x**0 == 1
        if live:
            state.add_h(_nonzero_rows(da, e != 1))  # x**1 == x is linear
        return da
    if da is None:
        base = state.const_value(a)
        if base is not None:  # 1**y == 1
            db = _ones(_nonzero_rows(db, np.broadcast_to(base != 1, node.shape).ravel()))
        if live:
            state.add_h(db)
        return db
    d = _ones(da + db)
    if live:
        state.add_h(d)
    return d


def _rule_structural(state, node):
    (i,) = node.inputs
    d = state.D[i]
    if d is None:
        return None
    index = node.op.forward(_arange(state.nodes[i].shape), **node.params)
    return _select(d, np.asarray(index).ravel())


def _rule_concatenate(state, node):
    if all(state.D[i] is None for i in node.inputs):
        return None
    pieces, offset, stacked = [], 0, []
    for i in node.inputs:
        shape = state.nodes[i].shape
        pieces.append(_arange(shape) + offset)
        offset += int(np.prod(shape, dtype=np.int64))
        stacked.append(state.dense_dep(i))
    index = node.op.forward(*pieces, **node.params)
    return _select(sps.vstack(stacked, format="csr"), np.asarray(index).ravel())


def _rule_scatter_add(state, node):
    (i,) = node.inputs
    d = state.D[i]
    if d is None:
        return None
    g_shape = state.nodes[i].shape
    target = np.broadcast_to(_arange(node.shape)[node.params["index"]], g_shape)
    return _ones(_grouping(target.ravel(), int(np.prod(node.shape))) @ d)


def _reduction_groups(node, in_shape) -> tuple[np.ndarray, int]:
    axis = node.params.get("axis")
    keep = tuple(
        1 if axis is None or k in axis else n for k, n in enumerate(in_shape)
    )  # the keepdims shape
    ngroups = int(np.prod(keep, dtype=np.int64))
    groups = np.broadcast_to(_arange(keep), in_shape).ravel()
    return groups, ngroups


def _rule_reduce(state, node):
    (i,) = node.inputs
    d = state.D[i]
    if d is None:
        return None
    groups, ngroups = _reduction_groups(node, state.nodes[i].shape)
    return _ones(_grouping(groups, ngroups) @ d)


def _rule_prod(state, node):
    (i,) = node.inputs
    d = state.D[i]
    if d is None:
        return None
    groups, ngroups = _reduction_groups(node, state.nodes[i].shape)
    g = _grouping(groups, ngroups)
    counts = g @ d  # per group and input: how many factors depend on it
    if state.live[node.index]:
        # pairs of distinct factors: (sum_a D_a)^T (sum_b D_b) - sum_a D_a^T D_a, in counts
        pairs = counts.T @ counts - d.T @ d
        state.pieces.append(_ones(pairs))
    return _ones(counts)


def _rule_matmul(state, node):
    a, b = node.inputs
    sa, sb = state.nodes[a].shape, state.nodes[b].shape
    da, db = state.D[a], state.D[b]
    if da is None and db is None:
        return None
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    m, k, n = sa[-2], sa[-1], sb[-1]
    # index of A[..., i, l] and B[..., l, j] for every (batch, i, j, l)
    ia = np.broadcast_to(_arange(sa), batch + (m, k))[..., :, None, :]
    ib = np.broadcast_to(_arange(sb), batch + (k, n))
    ib = np.swapaxes(ib, -1, -2)[..., None, :, :]
    full = batch + (m, n, k)
    ia, ib = np.broadcast_to(ia, full), np.broadcast_to(ib, full)
    out_size = int(np.prod(batch + (m, n), dtype=np.int64))
    groups = np.repeat(np.arange(out_size, dtype=np.int64), k)
    # a term A[il] B[lj] vanishes where a true constant factor is zero
    keep = np.ones(ia.size, dtype=bool)
    for side, idx in ((a, ia), (b, ib)):
        value = state.const_value(side)
        if value is not None:
            keep &= value.ravel()[idx.ravel()] != 0
    groups, ia, ib = groups[keep], ia.ravel()[keep], ib.ravel()[keep]
    terms = []
    pa = _select(da, ia) if da is not None else None
    pb = _select(db, ib) if db is not None else None
    if pa is not None and pb is not None and state.live[node.index]:
        state.add_h(pa, pb)
    terms = [p for p in (pa, pb) if p is not None]
    total = terms[0] if len(terms) == 1 else terms[0] + terms[1]
    return _ones(_grouping(groups, out_size) @ total)


def _rule_matrix(state, node):
    """A batched matrix function (``inv``, ``det``, ``eigh``...): every output element of batch
    entry ``b`` depends nonlinearly on every entry of the operands' matrices of entry ``b``
    (dense within a batch entry, block-diagonal across them)."""
    shapes = [state.nodes[i].shape for i in node.inputs]
    batch = np.broadcast_shapes(*[tuple(s[:-2]) for s in shapes])
    nbatch = int(np.prod(batch, dtype=np.int64))
    union = None
    for i, shape in zip(node.inputs, shapes):
        d = state.D[i]
        if d is None:
            continue
        own = tuple(shape[:-2])
        # input element -> its own batch entry, then each output batch entry -> that entry
        groups = np.broadcast_to(_arange(own)[..., None, None], tuple(shape)).ravel()
        per_entry = _grouping(groups, int(np.prod(own, dtype=np.int64))) @ d
        rows = _select(_ones(per_entry), _broadcast_index(own, batch))
        union = rows if union is None else union + rows
    if union is None:
        return None
    union = _ones(union)
    if state.live[node.index]:
        state.add_h(union)
    size = int(np.prod(node.shape, dtype=np.int64))
    entry = np.arange(size, dtype=np.int64) // max(size // max(nbatch, 1), 1)
    return _select(union, entry)


def _rule_cumsum(state, node):
    """Output (..., i, ...) depends on the inputs (..., j, ...) with j <= i along ``axis``."""
    (i,) = node.inputs
    d = state.D[i]
    if d is None:
        return None
    shape = state.nodes[i].shape
    axis = node.params["axis"]
    idx = np.moveaxis(_arange(shape), axis, -1)
    n = shape[axis]
    lower_i, lower_j = np.tril_indices(n)
    rows, cols = idx[..., lower_i].ravel(), idx[..., lower_j].ravel()
    size = int(np.prod(shape, dtype=np.int64))
    lower = sps.csr_matrix((np.ones(rows.size, _DTYPE), (rows, cols)), shape=(size, size))
    return _ones(lower @ d)


def _rule_sort(state, node):
    """sort_gather / sort_scatter: linear in the values, each output element depending on
    the whole slice along ``axis``; the keys carry no derivative."""
    v = node.inputs[0]
    d = state.dep(v, node.shape)
    if d is None:
        return None
    shape = tuple(node.shape)
    axis = node.params["axis"]
    keep = tuple(1 if k == axis else n for k, n in enumerate(shape))
    groups = np.broadcast_to(_arange(keep), shape).ravel()
    per_group = _ones(_grouping(groups, int(np.prod(keep, dtype=np.int64))) @ d)
    return _select(per_group, groups)


def _rule_einsum(state, node):
    """Multilinear: the matmul rule over the grid of all letters of the subscripts."""
    ins, out = node.params["subscripts"].split("->")
    terms = ins.split(",")
    deps = [state.D[i] for i in node.inputs]
    if all(d is None for d in deps):
        return None
    sizes: dict[str, int] = {}
    for term, i in zip(terms, node.inputs):
        for c, n in zip(term, state.nodes[i].shape):
            sizes[c] = int(n)
    letters = sorted(sizes)
    grid = tuple(sizes[c] for c in letters)

    def flat(term: str, shape) -> np.ndarray:
        a = _arange(tuple(shape))
        if term:
            a = np.transpose(a, sorted(range(len(term)), key=lambda p: letters.index(term[p])))
        kept = [sizes[c] if c in term else 1 for c in letters]
        return np.broadcast_to(a.reshape(kept), grid).ravel()

    groups = flat(out, node.shape)
    keep = np.ones(groups.size, dtype=bool)
    index = []
    for term, i in zip(terms, node.inputs):
        idx = flat(term, state.nodes[i].shape)
        value = state.const_value(i)
        if value is not None:
            keep &= value.ravel()[idx] != 0
        index.append(idx)
    groups = groups[keep]
    picked = [_select(d, idx[keep]) if d is not None else None for d, idx in zip(deps, index)]
    present = [p for p in picked if p is not None]
    if state.live[node.index]:
        for a in range(len(picked)):
            for b in range(a + 1, len(picked)):
                if picked[a] is not None and picked[b] is not None:
                    state.add_h(picked[a], picked[b])
    total = present[0]
    for p in present[1:]:
        total = total + p
    out_size = int(np.prod(node.shape, dtype=np.int64))
    return _ones(_grouping(groups, out_size) @ total)


def _rule_unknown(state, node):
    """Conservative: every output element depends nonlinearly on every dependence of the op."""
    deps = [state.D[i] for i in node.inputs if state.D[i] is not None]
    if not deps:
        return None
    union = _ones(sps.csr_matrix(sum(np.asarray(d.sum(axis=0)).ravel() for d in deps)))
    if state.live[node.index]:
        state.add_h(union)
    size = int(np.prod(node.shape, dtype=np.int64))
    return _ones(sps.csr_matrix(np.ones((size, 1), _DTYPE)) @ union)


_RULES: dict[str, Callable] = {
    "linear": _rule_linear,
    "where": _rule_where,
    "kink": _rule_kink,
    "zero": _rule_zero,
    "nonlinear": _rule_nonlinear,
    "mul": _rule_mul,
    "div": _rule_div,
    "pow": _rule_pow,
    "structural": _rule_structural,
    "concatenate": _rule_concatenate,
    "scatter_add": _rule_scatter_add,
    "reduce": _rule_reduce,
    "prod": _rule_prod,
    "matmul": _rule_matmul,
    "matrix": _rule_matrix,
    "cumsum": _rule_cumsum,
    "sort": _rule_sort,
    "einsum": _rule_einsum,
}


def hessian_sparsity(graph, wrt: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Structural non-zeros of the Hessian of a graph's scalar output w.r.t. input ``wrt``.

    Parameters
    ----------
    graph : autodiff.graph.Graph
        A recorded program (``autodiff.graph.trace_graph``) with one scalar output.
    wrt : int
        Which graph input the Hessian is taken over (its elements flattened in C order); the
        other inputs are held fixed (parameters).

    Returns
    -------
    rows, cols : int64 ndarrays
        Both triangles, sorted row-major (CSR order). See the module docstring for the rules
        and where the pattern may be a superset of the exact one.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> from autodiff.graph import trace_graph
    >>> from symdiff.sparsity import hessian_sparsity
    >>> graph, _ = trace_graph(lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2).sum(), np.ones(3))
    >>> rows, cols = hessian_sparsity(graph)
    >>> list(zip(rows.tolist(), cols.tolist()))
    [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)]
    """
    if not 0 <= int(wrt) < len(graph.inputs):
        raise ValueError(
            f"hessian_sparsity: wrt={wrt} is out of range for a graph with "
            f"{len(graph.inputs)} input(s)"
        )
    if len(graph.outputs) != 1:
        raise ValueError(
            f"hessian_sparsity: needs one scalar output, the graph has {len(graph.outputs)}"
        )
    out = graph.nodes[graph.outputs[0]]
    if int(np.prod(out.shape, dtype=np.int64)) != 1:
        raise ValueError(
            f"hessian_sparsity: the output has shape {out.shape}; a Hessian needs a scalar output"
        )
    state = _State(graph, int(wrt))
    target = graph.inputs[int(wrt)]
    warned: set[str] = set()
    for node in graph.nodes:
        if node.op is None:
            if node.index == target:
                state.D[node.index] = sps.identity(state.n, dtype=_DTYPE, format="csr")
            state.constant[node.index] = node.role == "constant"
            continue
        state.constant[node.index] = all(state.constant[i] for i in node.inputs)
        if state.constant[node.index]:
            continue
        kind = HESSIAN_RULES.get(node.op.name)
        if kind is None:
            if node.op.name not in warned:
                warned.add(node.op.name)
                log.warning(
                    "hessian_sparsity: op %r has no sparsity rule; treating it as nonlinear in "
                    "all its operands (a conservative superset)",
                    node.op.name,
                )
            rule = _rule_unknown
        else:
            rule = _RULES[kind]
        d = rule(state, node)
        if d is not None and d.nnz == 0:
            d = None
        state.D[node.index] = d
    return _collect(state.pieces, state.n)


def _collect(pieces: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    if not pieces:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    total = sps.csr_matrix(pieces[0])
    for p in pieces[1:]:
        total = total + p  # CSR addition merges duplicates
    total = _ones(total)
    total.sort_indices()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(total.indptr))
    return rows, total.indices.astype(np.int64)


# --- colouring ------------------------------------------------------------------------------------
def _check_pattern(rows, cols, n, who):
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    n = int(n)
    if rows.shape != cols.shape:
        raise ValueError(f"{who}: rows and cols differ in length ({rows.size} != {cols.size})")
    if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() >= n or cols.max() >= n):
        raise ValueError(f"{who}: an index of the pattern is outside 0..{n - 1}")
    return rows, cols, n


_GREEDY = None


def _greedy_kernel():
    global _GREEDY
    if _GREEDY is None:
        import numba

        @numba.njit(cache=False, nogil=True)
        def greedy(n, col_ptr, col_rows, row_ptr, row_cols):
            colors = np.full(n, -1, np.int64)
            stamp = np.full(n + 1, -1, np.int64)
            ncolors = 0
            for j in range(n):
                for p in range(col_ptr[j], col_ptr[j + 1]):
                    r = col_rows[p]
                    for q in range(row_ptr[r], row_ptr[r + 1]):
                        c = colors[row_cols[q]]
                        if c >= 0:
                            stamp[c] = j
                color = 0
                while stamp[color] == j:
                    color += 1
                colors[j] = color
                if color + 1 > ncolors:
                    ncolors = color + 1
            return colors, ncolors

        _GREEDY = greedy
    return _GREEDY


def color_columns(rows, cols, n: int) -> tuple[np.ndarray, int]:
    """Greedy distance-2 column colouring of an ``n x n`` sparsity pattern.

    Two columns get different colours when some row holds a non-zero in both, so the product
    of the matrix with the indicator vector of one colour holds, in row ``i``, exactly the one
    entry ``H[i, j]`` of the colour's column ``j`` (see :func:`recover_from_products`). Columns
    are coloured in natural order with the smallest free colour: a banded pattern of
    half-bandwidth ``b`` gets ``2b + 1`` colours (3 for a tridiagonal Hessian), a dense one
    ``n``. Cost: ``O(sum over rows of (row length)^2)``, compiled with numba.

    Returns
    -------
    colors : int64 ndarray of length ``n``
    ncolors : int

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
    >>> cols = np.array([0, 1, 0, 1, 2, 1, 3, 2, 3])
    >>> colors, k = color_columns(rows, cols, 4)
    >>> colors.tolist(), k
    ([0, 1, 2, 0], 3)
    """
    rows, cols, n = _check_pattern(rows, cols, n, "color_columns")
    if n == 0:
        return np.zeros(0, np.int64), 0
    by_col = np.lexsort((rows, cols))
    col_ptr = np.searchsorted(cols[by_col], np.arange(n + 1)).astype(np.int64)
    by_row = np.lexsort((cols, rows))
    row_ptr = np.searchsorted(rows[by_row], np.arange(n + 1)).astype(np.int64)
    colors, ncolors = _greedy_kernel()(n, col_ptr, rows[by_col], row_ptr, cols[by_row])
    return colors, int(ncolors)


def recover_from_products(rows, cols, colors, products) -> np.ndarray:
    """Values of the structural non-zeros from compressed Hessian-vector products.

    Parameters
    ----------
    rows, cols : int arrays
        The pattern (as from :func:`hessian_sparsity`).
    colors : int array
        A distance-2 colouring of its columns (:func:`color_columns`).
    products : ndarray of shape ``(n, ncolors)``
        ``products[:, c] = H @ (colors == c)``.

    Returns
    -------
    ndarray
        ``H[rows[k], cols[k]]`` for every ``k``, in the order of ``(rows, cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 4.0], [0.0, 4.0, 5.0]])
    >>> rows, cols = np.nonzero(H)
    >>> colors, k = color_columns(rows, cols, 3)
    >>> products = H @ (colors[:, None] == np.arange(k)).astype(float)
    >>> recover_from_products(rows, cols, colors, products).tolist()
    [2.0, 1.0, 1.0, 3.0, 4.0, 4.0, 5.0]
    """
    colors = np.asarray(colors, dtype=np.int64).ravel()
    products = np.asarray(products)
    n = colors.size
    rows, cols, n = _check_pattern(rows, cols, n, "recover_from_products")
    ncolors = int(colors.max()) + 1 if n else 0
    if products.ndim != 2 or products.shape[0] != n or products.shape[1] < ncolors:
        raise ValueError(
            f"recover_from_products: products must have shape ({n}, {ncolors}) "
            f"(one column per colour), got {products.shape}"
        )
    return products[rows, colors[cols]]

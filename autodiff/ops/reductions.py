"""Reductions (sum, max, min, prod) and the composites built on them (mean, var, softmax...)."""

from __future__ import annotations

import builtins

import numpy as np

from ..tensor import Tensor, _operands, apply, as_tensor
from .base import STRUCTURAL, Op
from .builders import declare, zeros_like
from .elementwise import exp, log, sqrt, where
from .shape import broadcast_to, reshape, transpose
from .surface import composite, surface


def normalize_axis(axis, ndim: int, op: str) -> tuple[int, ...] | None:
    """Canonical axis parameter: None or a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = []
    # builtins.max: this module's own ``max`` is the reduction.
    bound = builtins.max(ndim, 1)
    for a in axes:
        if not -ndim <= a < bound:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % bound)
    return tuple(sorted(set(out)))


def torch_aliases(name: str, axis, keepdims, dim=None, keepdim=None, *, default_axis=None):
    """``(axis, keepdims)`` from NumPy's names or PyTorch's ``dim`` / ``keepdim`` (aliases; None
    means not given); a TypeError naming the function when both spellings are given."""
    if dim is not None:
        if axis != default_axis:
            raise TypeError(f"{name}: both axis= and dim= given (dim is PyTorch's axis); pass one")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(
                f"{name}: both keepdims= and keepdim= given (keepdim is PyTorch's keepdims); "
                "pass one"
            )
        keepdims = keepdim
    return axis, keepdims


def _no_dim(name: str, dim) -> None:
    if dim is not None:
        raise TypeError(
            f"{name}: dim= is PyTorch's spelling, where {name}(x, dim) returns (values, indices); "
            f"autodiff's {name} returns the values only (NumPy): pass axis= instead"
        )


def _keep_shape(shape, axis) -> tuple[int, ...]:
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _expand_back(g: Tensor, x: Tensor, axis, keepdims) -> Tensor:
    """Broadcast a reduced cotangent back over the reduced axes of ``x``."""
    if not keepdims:
        g = reshape(g, _keep_shape(x.shape, axis))
    return broadcast_to(g, x.shape)


SUM = declare(
    Op(
        "sum",
        1,
        lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
        vjp=lambda g, out, x, axis, keepdims: (_expand_back(g, x, axis, keepdims),),
        jvp=lambda t, out, x, axis, keepdims: sum(t[0], axis, keepdims),
        sympy=lambda ns, x, axis, keepdims: _reduce_sympy(
            x, axis, keepdims, lambda items: ns.Add(*items)
        ),
        doc="Sum over ``axis`` (all axes by default).",
    ),
    wrapper=False,  # sum() below normalizes axis
)


def _extremum(name: str, np_fn, sym_name: str, doc: str) -> Op:
    def share(out, x, axis, keepdims):
        # Ties share the gradient equally (0.5 / 0.5 for two) (docs/architecture.md).
        # ``out`` itself, not ``out.detach()``: the comparison carries no gradient either way,
        # and on the graph a traced gradient program (symdiff's array lift) compares with the
        # maximum at each evaluation point instead of a frozen trace-time value.
        hit = (x == _expand_back(out, x, axis, keepdims)).astype(x.dtype)
        if np.isnan(out.data).any():
            # A nan maximum (NumPy propagates nan) comes from the nan entries of its slice:
            # they share the gradient (PyTorch's choice), instead of 0 / 0 = nan for all.
            # Slices without a nan hold no x != x, so the two indicators never overlap.
            hit = hit + (x != x).astype(x.dtype)
        return hit / _expand_back(sum(hit, axis, True), x, axis, True)

    def vjp(g, out, x, axis, keepdims):
        return (_expand_back(g, x, axis, keepdims) * share(out, x, axis, keepdims),)

    def jvp(t, out, x, axis, keepdims):
        return sum(t[0] * share(out, x, axis, keepdims), axis, keepdims)

    def sym(ns, x, axis, keepdims):
        fn = getattr(ns, sym_name)
        return _reduce_sympy(x, axis, keepdims, lambda items: fn(*items))

    def forward(x, axis, keepdims):
        return np_fn(x, axis=axis, keepdims=keepdims)

    return declare(Op(name, 1, forward, vjp, jvp, sym, doc=doc), wrapper=False)


def _reduce_sympy(x, axis, keepdims, combine):
    axes = axis if axis is not None else tuple(range(x.ndim))
    moved = np.moveaxis(x, axes, range(-len(axes), 0))
    lead = moved.shape[: x.ndim - len(axes)]
    rows = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for idx in np.ndindex(*lead):
        out[idx] = combine(list(rows[idx]))
    return out.reshape(_keep_shape(x.shape, axis)) if keepdims else out


MAX = _extremum("max", np.max, "Max", "Maximum over ``axis``; tied maxima share the gradient.")
MIN = _extremum("min", np.min, "Min", "Minimum over ``axis``; tied minima share the gradient.")


def _others_product(x: Tensor, axis) -> Tensor:
    """prod_{j != i} x_j along the reduced axes, exact when some x_j are zero."""
    axes = axis if axis is not None else tuple(range(x.ndim))
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    moved = transpose(x, rest + axes)
    n = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    lead = moved.shape[: len(rest)]
    rows = reshape(moved, lead + (1, n))
    eye = np.eye(n, dtype=bool)
    others = prod(where(eye, 1.0, broadcast_to(rows, lead + (n, n))), axis=-1)
    back = reshape(others, moved.shape)
    return transpose(back, tuple(np.argsort(rest + axes)))


PROD = declare(
    Op(
        "prod",
        1,
        lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
        vjp=lambda g, out, x, axis, keepdims: (
            _expand_back(g, x, axis, keepdims) * _others_product(x, axis),
        ),
        jvp=lambda t, out, x, axis, keepdims: sum(t[0] * _others_product(x, axis), axis, keepdims),
        sympy=lambda ns, x, axis, keepdims: _reduce_sympy(
            x, axis, keepdims, lambda items: ns.Mul(*items)
        ),
        doc="Product over ``axis``; its gradient stays exact when entries are zero.",
    ),
    wrapper=False,
)


# --- public functions -------------------------------------------------------------------------
def _reduce(op: Op, x, axis, keepdims) -> Tensor:
    x = as_tensor(x)
    return apply(op, x, axis=normalize_axis(axis, x.ndim, op.name), keepdims=bool(keepdims))


@surface(SUM, methods=True, array_function=np.sum)
def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default); PyTorch's ``dim`` / ``keepdim`` are aliases."""
    axis, keepdims = torch_aliases("sum", axis, keepdims, dim, keepdim)
    return _reduce(SUM, x, axis, keepdims)


@surface(MAX, methods=True, array_function=np.max)
def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient equally.

    ``keepdim`` is accepted for ``keepdims``; ``dim=`` raises a TypeError, since PyTorch's
    ``max(x, dim)`` returns ``(values, indices)`` and this returns the values (use ``axis=``).
    """
    _no_dim("max", dim)
    axis, keepdims = torch_aliases("max", axis, keepdims, keepdim=keepdim)
    return _reduce(MAX, x, axis, keepdims)


@surface(MIN, methods=True, array_function=np.min)
def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient equally (``dim=``: see ``max``)."""
    _no_dim("min", dim)
    axis, keepdims = torch_aliases("min", axis, keepdims, keepdim=keepdim)
    return _reduce(MIN, x, axis, keepdims)


@surface(PROD, methods=True, array_function=np.prod)
def prod(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """Product over ``axis``; its gradient stays exact when entries are zero (``dim`` /
    ``keepdim`` are aliases)."""
    axis, keepdims = torch_aliases("prod", axis, keepdims, dim, keepdim)
    return _reduce(PROD, x, axis, keepdims)


def _count(x: Tensor, axis) -> int:
    axes = normalize_axis(axis, x.ndim, "mean")
    shape = x.shape if axes is None else [x.shape[i] for i in axes]
    return int(np.prod(shape, dtype=np.int64))


@composite(methods=True, array_function=np.mean)
def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """Arithmetic mean over ``axis`` (``dim`` / ``keepdim`` are aliases)."""
    axis, keepdims = torch_aliases("mean", axis, keepdims, dim, keepdim)
    x = as_tensor(x)
    return sum(x, axis, keepdims) / _count(x, axis)


def _ddof(name: str, ddof, dim, correction, unbiased) -> int:
    """``ddof`` from NumPy's ``ddof`` or PyTorch's ``correction`` / ``unbiased``. With ``dim=``
    one of them must be given: PyTorch's default is the unbiased estimate, NumPy's ``ddof=0``."""
    given = [k for k, v in (("correction", correction), ("unbiased", unbiased)) if v is not None]
    if len(given) > 1 or (given and ddof != 0):
        raise TypeError(f"{name}: pass one of ddof=, correction=, unbiased=")
    if correction is not None:
        return int(correction)
    if unbiased is not None:
        return 1 if unbiased else 0
    if dim is not None and ddof == 0:
        raise TypeError(
            f"{name}: with dim= (PyTorch) say which estimate: PyTorch's default is unbiased "
            "(correction=1), NumPy's is ddof=0; pass correction= or ddof="
        )
    return ddof


@composite(methods=True, array_function=np.var)
def var(
    x,
    axis=None,
    keepdims=False,
    ddof: int = 0,
    *,
    dim=None,
    keepdim=None,
    correction=None,
    unbiased=None,
) -> Tensor:
    """Variance over ``axis`` (``ddof=1`` for the unbiased estimate).

    PyTorch's ``dim`` / ``keepdim`` / ``correction`` / ``unbiased`` are aliases; with ``dim=``
    the estimate must be named (``correction=`` or ``ddof=``), since the two libraries'
    defaults differ.
    """
    ddof = _ddof("var", ddof, dim, correction, unbiased)
    axis, keepdims = torch_aliases("var", axis, keepdims, dim, keepdim)
    x = as_tensor(x)
    centred = x - mean(x, axis, keepdims=True)
    n = _count(x, axis)
    if n - ddof <= 0:
        raise ValueError(f"var: {n} element(s) with ddof={ddof} leaves no degrees of freedom")
    return sum(centred * centred, axis, keepdims) / (n - ddof)


@composite(methods=True, array_function=np.std)
def std(
    x,
    axis=None,
    keepdims=False,
    ddof: int = 0,
    *,
    dim=None,
    keepdim=None,
    correction=None,
    unbiased=None,
) -> Tensor:
    """Standard deviation over ``axis``: ``sqrt(var(x, axis, keepdims, ddof))`` (PyTorch's
    ``dim`` / ``keepdim`` / ``correction`` / ``unbiased`` as in :func:`var`).

    Where the variance is 0 (one element, or all values equal) every derivative of ``std``
    is defined as 0 rather than ``sqrt'(0) * 0 = inf * 0 = nan``: PyTorch's choice, and the
    exact derivative for one element, where ``std`` is identically 0. It is computed as
    ``where(v > 0, sqrt(v + (v <= 0)), 0)``: the square root never sees 0, so no
    chain rule multiplies 0 by an infinite ``sqrt'`` - not in reverse or forward mode, and
    not in the lifted formula (``Piecewise((sqrt(v + Piecewise((1, v <= 0), (0, True))),
    v > 0), (0, True))``), whose derivatives and compiled kernels are 0 there too.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.grad(ad.std)(np.array([3.0]))
    array([0.])
    >>> ad.grad(ad.std)(np.array([1.0, 3.0]))
    array([-0.5,  0.5])
    """
    ddof = _ddof("std", ddof, dim, correction, unbiased)
    axis, keepdims = torch_aliases("std", axis, keepdims, dim, keepdim)
    v = var(x, axis, keepdims, ddof)
    spread = v > 0
    return where(spread, sqrt(v + (v <= 0).astype(v.dtype)), 0.0)


def _shift_forward(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


def _shift_sympy(ns, x, axis):
    return np.full(_keep_shape(x.shape, axis), ns.S.Zero, dtype=object)


# A constant c for composites whose value does not depend on it, f(x - c) + c = f(x): the max
# keeps exp() from overflowing in eager code. Being a constant it carries no gradient (which
# is exact, by that invariance), and symbolically it is 0, so lifted formulas read
# log(exp(x0) + exp(x1)) rather than freezing a trace-time number into them.
STABLE_SHIFT = declare(
    Op(
        "stable_shift",
        1,
        _shift_forward,
        None,
        None,
        _shift_sympy,
        differentiable=False,
        doc="The finite maximum along ``axis`` as a constant shift (no gradient; 0 in lift).",
    ),
    wrapper=False,
)


@surface(STABLE_SHIFT, export=False)
def _stable_shift(x: Tensor, axis) -> Tensor:
    """The finite maximum of ``x`` along ``axis`` (kept), as a gradient-free constant."""
    return apply(STABLE_SHIFT, x, axis=normalize_axis(axis, x.ndim, "stable_shift"))


@composite(methods=True)
def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis`` without overflow (``dim`` / ``keepdim`` aliases)."""
    axis, keepdims = torch_aliases("logsumexp", axis, keepdims, dim, keepdim)
    x = as_tensor(x)
    m = _stable_shift(x, axis)
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    if keepdims:
        return out
    axes = normalize_axis(axis, x.ndim, "logsumexp")
    kept = [n for i, n in enumerate(x.shape) if axes is not None and i not in axes]
    return reshape(out, tuple(kept))


@composite()
def softmax(x, axis=-1, *, dim=None) -> Tensor:
    """Softmax along ``axis``, shifted by the maximum for stability (``dim`` is an alias)."""
    axis, _ = torch_aliases("softmax", axis, False, dim, default_axis=-1)
    x = as_tensor(x)
    e = exp(x - _stable_shift(x, axis))
    return e / sum(e, axis, keepdims=True)


@composite()
def log_softmax(x, axis=-1, *, dim=None) -> Tensor:
    """Logarithm of softmax along ``axis``, computed stably as ``x - logsumexp(x)`` (``dim``
    is an alias)."""
    axis, _ = torch_aliases("log_softmax", axis, False, dim, default_axis=-1)
    x = as_tensor(x)
    return x - logsumexp(x, axis, keepdims=True)


# --- scans, differences and sorting ---------------------------------------------------------
def _flip_axis(g: Tensor, axis: int) -> Tensor:
    from .shape import getitem

    return getitem(g, (slice(None),) * axis + (slice(None, None, -1),))


CUMSUM = declare(
    Op(
        "cumsum",
        1,
        lambda x, axis: np.cumsum(x, axis=axis),
        vjp=lambda g, out, x, axis: (_flip_axis(cumsum(_flip_axis(g, axis), axis), axis),),
        jvp=lambda t, out, x, axis: cumsum(t[0], axis),
        sympy=STRUCTURAL,  # numpy.cumsum adds SymPy objects
        doc="Cumulative sum along ``axis``.",
    ),
    wrapper=False,
)


def _scan_axis(x, axis, who: str) -> tuple[Tensor, int]:
    x = as_tensor(x)
    if axis is None:
        return reshape(x, (-1,)), 0
    axes = normalize_axis(axis, x.ndim, who)
    if axes is None or len(axes) != 1 or x.ndim == 0:
        raise ValueError(f"{who}: axis must be one integer for a tensor of shape {x.shape}")
    return x, axes[0]


@surface(CUMSUM, methods=True, array_function=np.cumsum)
def cumsum(x, axis=None, dtype=None) -> Tensor:
    """Cumulative sum along ``axis`` (of the flattened tensor by default), as ``numpy.cumsum``.

    A primitive whose cotangent is the reversed cumulative sum of the cotangent.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.grad(lambda x: ad.cumsum(x)[1])(np.ones(3))
    array([1., 1., 0.])
    """
    x, axis = _scan_axis(x, axis, "cumsum")
    if dtype is not None:
        x = x.astype(dtype)
    return apply(CUMSUM, x, axis=axis)


@composite(methods=True, array_function=np.cumprod)
def cumprod(x, axis=None, dtype=None) -> Tensor:
    """Cumulative product along ``axis`` (of the flattened tensor by default), as
    ``numpy.cumprod``.

    Computed as a parallel prefix scan (Hillis-Steele: ``log2(n)`` rounds of slices,
    multiplications and a concatenation, O(n log n) work) of multiplications only, so every
    derivative is exact where entries are zero (no division by ``x``), and lift and both
    compile modes see ordinary products.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.grad(lambda x: ad.cumprod(x)[-1])(np.array([2.0, 0.0, 3.0]))
    array([0., 6., 0.])
    """
    from .shape import concatenate, getitem

    x, axis = _scan_axis(x, axis, "cumprod")
    if dtype is not None:
        x = x.astype(dtype)
    n = x.shape[axis]
    k = 1
    head = (slice(None),) * axis
    while k < n:
        first = getitem(x, head + (slice(0, k),))
        rest = getitem(x, head + (slice(k, None),)) * getitem(x, head + (slice(0, n - k),))
        x = concatenate([first, rest], axis)
        k *= 2
    return x


@composite(array_function=np.diff)
def diff(x, n: int = 1, axis: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th discrete difference along ``axis``, as ``numpy.diff`` (``prepend`` /
    ``append`` values are joined first; a scalar is broadcast to one slice)."""
    from .shape import concatenate, getitem

    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("diff: needs at least 1 dimension, got a 0-d tensor")
    if int(n) < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    (axis,) = normalize_axis(axis, x.ndim, "diff")
    if prepend is not None or append is not None:
        parts = []
        for extra in (prepend, x, append):
            if extra is None:
                continue
            extra = _operands((x, extra))[1]  # a number keeps x's float dtype (weak typing)
            if extra.ndim == 0:
                shape = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
                extra = broadcast_to(extra, shape)
            parts.append(extra)
        x = concatenate(parts, axis)
    head = (slice(None),) * axis
    for _ in range(int(n)):
        x = getitem(x, head + (slice(1, None),)) - getitem(x, head + (slice(None, -1),))
    return x


# Sorting is two linear primitives of a value tensor ``v`` and a key tensor ``x``:
# sort_gather(v, x) takes ``v`` in the order that sorts ``x`` (stable), sort_scatter is its
# transpose (puts ``g`` back where the sorted keys came from). The key carries no derivative
# (the permutation is piecewise constant), so sort(x) = sort_gather(x, x) has the permutation
# as its Jacobian; each is the other's VJP, so every order works. Because the key is an input
# of the recorded op - not a permutation frozen at trace time - replays of the graph (the
# array lift's gradient programs) recompute the permutation at each point. Symbolically the
# rank of x_j is ``sum_k [x_k < x_j] (+ earlier ties)``, and output i picks the element of
# rank i with a Piecewise indicator, so lifted formulas are exact wherever keys do not tie.
def _rank_indicators(ns, keys: list) -> list[list]:
    """``P[i][j]``: 1 where key j has rank i in a stable sort, as SymPy Piecewise."""
    n = len(keys)
    ranks = []
    for j in range(n):
        terms = [
            ns.Piecewise((1, keys[k] <= keys[j] if k < j else keys[k] < keys[j]), (0, True))
            for k in range(n)
            if k != j
        ]
        ranks.append(ns.Add(*terms))
    return [[ns.Piecewise((1, ns.Eq(ranks[j], i)), (0, True)) for j in range(n)] for i in range(n)]


def _sort_sympy(transpose_: bool):
    def rule(ns, v, x, axis):
        vm = np.moveaxis(np.asarray(v, dtype=object), axis, -1)
        xm = np.moveaxis(np.asarray(x, dtype=object), axis, -1)
        out = np.empty(vm.shape, dtype=object)
        for idx in np.ndindex(*vm.shape[:-1]):
            p = _rank_indicators(ns, list(xm[idx]))
            vals = list(vm[idx])
            n = len(vals)
            for i in range(n):
                if transpose_:
                    out[idx + (i,)] = ns.Add(*[p[j][i] * vals[j] for j in range(n)])
                else:
                    out[idx + (i,)] = ns.Add(*[p[i][j] * vals[j] for j in range(n)])
        return np.moveaxis(out, -1, axis)

    return rule


def _gather_forward(v, x, axis):
    perm = np.argsort(x, axis=axis, kind="stable")
    return np.take_along_axis(np.broadcast_to(v, x.shape), perm, axis=axis)


def _scatter_forward(g, x, axis):
    perm = np.argsort(x, axis=axis, kind="stable")
    out = np.empty(x.shape, dtype=np.result_type(g))
    np.put_along_axis(out, perm, np.broadcast_to(g, x.shape), axis=axis)
    return out


SORT_GATHER = declare(
    Op(
        "sort_gather",
        2,
        _gather_forward,
        vjp=lambda g, out, v, x, axis: (
            sort_scatter(g, x, axis) if v.requires_grad else None,
            None,
        ),
        jvp=lambda t, out, v, x, axis: (
            sort_gather(t[0], x, axis) if t[0] is not None else zeros_like(out)
        ),
        sympy=_sort_sympy(False),
        doc="``v`` taken along ``axis`` in the (stable) order that sorts ``x``.",
    ),
    wrapper=False,
)
SORT_SCATTER = declare(
    Op(
        "sort_scatter",
        2,
        _scatter_forward,
        vjp=lambda g, out, v, x, axis: (sort_gather(g, x, axis) if v.requires_grad else None, None),
        jvp=lambda t, out, v, x, axis: (
            sort_scatter(t[0], x, axis) if t[0] is not None else zeros_like(out)
        ),
        sympy=_sort_sympy(True),
        doc="``g`` put back along ``axis`` where the sorted elements of ``x`` came from.",
    ),
    wrapper=False,
)


def _key_pair(v, x, axis, who):
    v, x = as_tensor(v), as_tensor(x)
    if v.shape != x.shape:
        raise ValueError(f"{who}: values {v.shape} and keys {x.shape} need the same shape")
    (axis,) = normalize_axis(axis, x.ndim, who) if x.ndim else (0,)
    return v, x, axis


@surface(SORT_GATHER, export=False)
def sort_gather(v, x, axis: int = -1) -> Tensor:
    """``v`` taken along ``axis`` in the (stable) order that sorts ``x``."""
    v, x, axis = _key_pair(v, x, axis, "sort_gather")
    return apply(SORT_GATHER, v, x, axis=axis)


@surface(SORT_SCATTER, export=False)
def sort_scatter(g, x, axis: int = -1) -> Tensor:
    """``g`` put back along ``axis`` where the sorted elements of ``x`` came from."""
    g, x, axis = _key_pair(g, x, axis, "sort_scatter")
    return apply(SORT_SCATTER, g, x, axis=axis)


@composite(array_function=np.sort)
def sort(x, axis=-1, kind=None, order=None, *, stable=None) -> Tensor:
    """Sorted copy along ``axis`` (of the flattened tensor for ``axis=None``), as
    ``numpy.sort``; the gradient goes back through the sorting permutation (stable for ties).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.grad(lambda x: ad.sort(x)[0] * 10 + ad.sort(x)[-1])(np.array([3.0, 1.0, 2.0]))
    array([ 1., 10.,  0.])
    """
    if order is not None:
        raise ValueError("sort: order= (structured arrays) is not supported")
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if x.ndim == 0:
        raise ValueError("sort: cannot sort a 0-d tensor along an axis (use axis=None)")
    return sort_gather(x, x, axis)

"""Reductions (sum, max, min, prod) and the composites built on them (mean, var, softmax...)."""

from __future__ import annotations

import builtins

import numpy as np

from ..tensor import Tensor, apply, as_tensor
from .base import Op
from .builders import declare
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

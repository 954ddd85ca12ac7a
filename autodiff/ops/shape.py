"""Shape primitives (reshape, transpose, broadcast, indexing, concatenation) and composites."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, apply, as_tensor
from ._rules import linear, zeros_like
from .base import STRUCTURAL, Op, register


def _shape_of(x) -> tuple[int, ...]:
    return x.shape if isinstance(x, Tensor) else np.shape(x)


RESHAPE = linear(
    "reshape",
    1,
    lambda x, shape: np.reshape(x, shape),
    lambda g, out, x, shape: (reshape(g, x.shape),),
    lambda t, shape: reshape(t, shape),
)
TRANSPOSE = linear(
    "transpose",
    1,
    lambda x, axes: np.transpose(x, axes),
    lambda g, out, x, axes: (transpose(g, tuple(np.argsort(axes))),),
    lambda t, axes: transpose(t, axes),
)


def sum_to_shape(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if g.shape == tuple(shape):
        return g
    from .reductions import sum as reduce_sum

    lead = g.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    out = reduce_sum(g, tuple(range(lead)) + stretched, keepdims=True) if lead or stretched else g
    return reshape(out, tuple(shape))


BROADCAST_TO = linear(
    "broadcast_to",
    1,
    lambda x, shape: np.broadcast_to(x, shape),
    lambda g, out, x, shape: (sum_to_shape(g, x.shape),),
    lambda t, shape: broadcast_to(t, shape),
)


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray | list) for i in items)


def _scatter_forward(g, index, shape):
    out = np.zeros(shape, dtype=g.dtype)
    if _is_advanced(index):
        np.add.at(out, index, g)  # repeated indices accumulate
    else:
        out[index] = g
    return out


GETITEM = linear(
    "getitem",
    1,
    lambda x, index: x[index],
    lambda g, out, x, index: (scatter_add(g, index, x.shape),),
    lambda t, index: getitem(t, index),
)
SCATTER_ADD = linear(
    "scatter_add",
    1,
    _scatter_forward,
    lambda g, out, x, index, shape: (getitem(g, index),),
    lambda t, index, shape: scatter_add(t, index, shape),
)


def _concat_vjp(g, out, *xs, axis):
    bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
    pieces = []
    start = 0
    for x, stop in zip(xs, [*bounds, g.shape[axis]]):
        index = (slice(None),) * axis + (slice(start, int(stop)),)
        pieces.append(getitem(g, index) if x.requires_grad else None)
        start = int(stop)
    return tuple(pieces)


CONCATENATE = register(
    Op(
        "concatenate",
        -1,
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        _concat_vjp,
        lambda t, out, *xs, axis: concatenate(
            [ti if ti is not None else zeros_like(x) for ti, x in zip(t, xs)],
            axis,
        ),
        STRUCTURAL,
    )
)


# --- public functions -------------------------------------------------------------------------
def reshape(x, shape) -> Tensor:
    """Give ``x`` a new shape with the same number of elements (one -1 allowed)."""
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(int(n) for n in shape)
    return apply(RESHAPE, x, shape=shape)


def transpose(x, axes=None) -> Tensor:
    """Permute the axes (reverse them by default)."""
    x = as_tensor(x)
    ndim = len(_shape_of(x))
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(a) % max(ndim, 1) for a in axes)
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {ndim} dimensions")
    return apply(TRANSPOSE, x, axes=axes)


permute = transpose


def swapaxes(x, a: int, b: int) -> Tensor:
    """Exchange two axes."""
    x = as_tensor(x)
    axes = list(range(len(_shape_of(x))))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def broadcast_to(x, shape) -> Tensor:
    """Broadcast ``x`` to ``shape`` (NumPy rules); the gradient is summed back."""
    return apply(BROADCAST_TO, x, shape=tuple(int(n) for n in shape))


expand = broadcast_to


def _plain_index(index):
    """Indices may hold Tensors or lists; turn them into arrays NumPy indexes with."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(x, index) -> Tensor:
    """``x[index]`` with basic or advanced indexing; repeated indices accumulate gradients."""
    return apply(GETITEM, x, index=_plain_index(index))


def scatter_add(g, index, shape) -> Tensor:
    """A zero tensor of ``shape`` with ``g`` added at ``index`` (``np.add.at`` semantics)."""
    return apply(SCATTER_ADD, g, index=index, shape=tuple(shape))


def flatten(x) -> Tensor:
    """Reshape to one dimension."""
    return reshape(x, (-1,))


def squeeze(x, axis=None) -> Tensor:
    """Remove axes of length one (all of them, or those in ``axis``)."""
    x = as_tensor(x)
    shape = _shape_of(x)
    if axis is None:
        return reshape(x, tuple(n for n in shape if n != 1))
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    if any(shape[a] != 1 for a in axes):
        raise ValueError(f"squeeze: cannot squeeze axis {axis} of shape {shape}")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def unsqueeze(x, axis: int) -> Tensor:
    """Insert an axis of length one at ``axis``."""
    x = as_tensor(x)
    shape = list(_shape_of(x))
    axis = axis % (len(shape) + 1)
    return reshape(x, tuple(shape[:axis] + [1] + shape[axis:]))


def concatenate(xs, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (elements may be nested lists holding tensors)."""
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = len(_shape_of(xs[0]))
    return apply(CONCATENATE, *xs, axis=int(axis) % max(ndim, 1))


def stack(xs, axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis (elements may be nested lists of tensors)."""
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("stack: needs at least one tensor")
    shapes = {tuple(_shape_of(x)) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    axis = axis % (len(shapes.pop()) + 1)
    return concatenate([unsqueeze(x, axis) for x in xs], axis)

"""Shape primitives (reshape, transpose, broadcast, indexing, concatenation) and composites."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, apply, as_tensor
from .base import STRUCTURAL, VARIADIC, Op
from .builders import declare, linear, zeros_like
from .surface import composite, surface


def _shape_of(x) -> tuple[int, ...]:
    return x.shape if isinstance(x, Tensor) else np.shape(x)


RESHAPE = linear(
    "reshape",
    1,
    lambda x, shape: np.reshape(x, shape),
    lambda g, out, x, shape: (reshape(g, x.shape),),
    lambda t, shape: reshape(t, shape),
    "Give ``x`` a new shape with the same number of elements (one -1 allowed).",
    wrapper=False,
)
TRANSPOSE = linear(
    "transpose",
    1,
    lambda x, axes: np.transpose(x, axes),
    lambda g, out, x, axes: (transpose(g, tuple(np.argsort(axes))),),
    lambda t, axes: transpose(t, axes),
    "Permute the axes (reverse them by default).",
    wrapper=False,
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
    "Broadcast ``x`` to ``shape`` (NumPy rules); the gradient is summed back.",
    wrapper=False,
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
    "``x[index]`` with basic or advanced indexing; repeated indices accumulate gradients.",
    wrapper=False,
)
SCATTER_ADD = linear(
    "scatter_add",
    1,
    _scatter_forward,
    lambda g, out, x, index, shape: (getitem(g, index),),
    lambda t, index, shape: scatter_add(t, index, shape),
    "A zero tensor of ``shape`` with ``g`` added at ``index`` (``np.add.at`` semantics).",
    wrapper=False,
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


CONCATENATE = declare(
    Op(
        "concatenate",
        VARIADIC,
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        _concat_vjp,
        lambda t, out, *xs, axis: concatenate(
            [ti if ti is not None else zeros_like(x) for ti, x in zip(t, xs)],
            axis,
        ),
        STRUCTURAL,
        doc="Join tensors along an existing axis.",
    ),
    wrapper=False,
)


# --- public functions -------------------------------------------------------------------------
def _reshape_method(self, *shape):
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
    return reshape(self, shape[0] if len(shape) == 1 else shape)


def _transpose_method(self, *axes):
    """``t.transpose()``, ``t.transpose(1, 0)`` or ``t.transpose((1, 0))``."""
    return transpose(self, axes[0] if len(axes) == 1 else (axes or None))


def _permute_method(self, *axes):
    """``t.permute(1, 0)`` or ``t.permute((1, 0))`` (PyTorch)."""
    return transpose(self, axes[0] if len(axes) == 1 else axes)


def _expand_method(self, *shape):
    """``t.expand(2, 3)`` or ``t.expand((2, 3))`` (PyTorch)."""
    return broadcast_to(self, shape[0] if len(shape) == 1 else shape)


@surface(RESHAPE, methods={"reshape": _reshape_method}, array_function=np.reshape)
def reshape(x, shape) -> Tensor:
    """Give ``x`` a new shape with the same number of elements (one -1 allowed)."""
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(int(n) for n in shape)
    return apply(RESHAPE, x, shape=shape)


@surface(
    TRANSPOSE,
    aliases="permute",
    methods={"transpose": _transpose_method, "permute": _permute_method},
    array_function=np.transpose,
)
def transpose(x, axes=None) -> Tensor:
    """Permute the axes (reverse them by default)."""
    x = as_tensor(x)
    ndim = len(_shape_of(x))
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(a) % max(ndim, 1) for a in axes)
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {ndim} dimensions")
    return apply(TRANSPOSE, x, axes=axes)


permute = transpose  # the surface alias, also importable from this module


@composite(methods=True, array_function=np.swapaxes)
def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes (NumPy's parameter names: ``np.swapaxes(t, axis1=0, axis2=1)``)."""
    x = as_tensor(x)
    axes = list(range(len(_shape_of(x))))
    for a in (axis1, axis2):
        if not -len(axes) <= a < len(axes):
            raise ValueError(f"swapaxes: axis {a} is out of range for shape {_shape_of(x)}")
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


@surface(
    BROADCAST_TO,
    aliases="expand",
    methods={"broadcast_to": None, "expand": _expand_method},
    array_function=np.broadcast_to,
)
def broadcast_to(x, shape) -> Tensor:
    """Broadcast ``x`` to ``shape`` (NumPy rules); the gradient is summed back."""
    return apply(BROADCAST_TO, x, shape=tuple(int(n) for n in shape))


expand = broadcast_to  # the surface alias, also importable from this module


def _plain_index(index):
    """Indices may hold Tensors or lists; turn them into arrays NumPy indexes with."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


@surface(GETITEM, export=False)
def getitem(x, index) -> Tensor:
    """``x[index]`` with basic or advanced indexing; repeated indices accumulate gradients."""
    return apply(GETITEM, x, index=_plain_index(index))


@surface(SCATTER_ADD, export=False)
def scatter_add(g, index, shape) -> Tensor:
    """A zero tensor of ``shape`` with ``g`` added at ``index`` (``np.add.at`` semantics)."""
    return apply(SCATTER_ADD, g, index=index, shape=tuple(shape))


@composite(methods=True)
def flatten(x) -> Tensor:
    """Reshape to one dimension."""
    return reshape(x, (-1,))


@composite(methods=True, array_function=np.squeeze)
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


@composite(methods=True, array_function=np.expand_dims)
def unsqueeze(x, axis: int) -> Tensor:
    """Insert an axis of length one at ``axis``."""
    x = as_tensor(x)
    shape = list(_shape_of(x))
    axis = axis % (len(shape) + 1)
    return reshape(x, tuple(shape[:axis] + [1] + shape[axis:]))


@surface(CONCATENATE, array_function=np.concatenate)
def concatenate(xs, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (elements may be nested lists holding tensors)."""
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = len(_shape_of(xs[0]))
    return apply(CONCATENATE, *xs, axis=int(axis) % max(ndim, 1))


@composite(array_function=np.stack)
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

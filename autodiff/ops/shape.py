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
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, Tensor) and i._batched:  # a per-example index inside vmap
            from ..batching import getitem_batched_index

            return getitem_batched_index(x, index)
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


# --- structural composites (NumPy's array-manipulation routines) -----------------------------
# Each is built from the primitives above (getitem, reshape, transpose, broadcast_to,
# concatenate, scatter_add) or from where/sum, so derivatives of every order, lift, the
# Hessian sparsity and both compile modes come from those primitives.
def _axis(axis, ndim: int, who: str) -> int:
    """A non-negative axis, or a clear error naming ``who``."""
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1) or ndim == 0:
        raise ValueError(f"{who}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return axis % ndim


def _axes(axis, ndim: int, who: str) -> tuple[int, ...]:
    items = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = tuple(_axis(a, ndim, who) for a in items)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {axis}")
    return out


def _along(ndim: int, axis: int, index) -> tuple:
    """An index tuple that applies ``index`` to ``axis`` only."""
    return (slice(None),) * axis + (index,)


@composite(methods=True, array_function=np.moveaxis)
def moveaxis(x, source, destination) -> Tensor:
    """Move axes ``source`` to positions ``destination`` (the others keep their order).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.moveaxis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = as_tensor(x)
    src = _axes(source, x.ndim, "moveaxis")
    dst = _axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {source} and destination {destination} differ in length"
        )
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


@composite(array_function=np.ravel)
def ravel(x, order: str = "C") -> Tensor:
    """The elements as a 1-D tensor, in C (row-major) or ``order="F"`` (column-major) order."""
    x = as_tensor(x)
    if order in ("C", "A", "K"):
        return reshape(x, (-1,))
    if order == "F":
        return reshape(transpose(x), (-1,))
    raise ValueError(f"ravel: order must be 'C', 'F', 'A' or 'K', got {order!r}")


def _atleast(xs, shape_of, who):
    out = [reshape(x, shape_of(x.shape)) for x in (as_tensor(a) for a in xs)]
    if not out:
        raise TypeError(f"{who}: needs at least one array")
    return out[0] if len(out) == 1 else out


@composite(array_function=np.atleast_1d)
def atleast_1d(*arys):
    """Each input with at least one dimension (a 0-d tensor becomes shape ``(1,)``); one
    tensor for one input, else a list."""
    return _atleast(arys, lambda s: s if len(s) >= 1 else (1,), "atleast_1d")


@composite(array_function=np.atleast_2d)
def atleast_2d(*arys):
    """Each input with at least two dimensions (``(n,)`` becomes ``(1, n)``)."""
    return _atleast(arys, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s, "atleast_2d")


def _shape_3d(s):
    if len(s) == 0:
        return (1, 1, 1)
    if len(s) == 1:
        return (1, s[0], 1)
    if len(s) == 2:
        return s + (1,)
    return s


@composite(array_function=np.atleast_3d)
def atleast_3d(*arys):
    """Each input with at least three dimensions (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``, as NumPy)."""
    return _atleast(arys, _shape_3d, "atleast_3d")


@composite(methods=True, array_function=np.flip)
def flip(x, axis=None) -> Tensor:
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    x = as_tensor(x)
    axes = tuple(range(x.ndim)) if axis is None else _axes(axis, x.ndim, "flip")
    if not axes:
        return x
    index = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))
    return getitem(x, index)


@composite(array_function=np.fliplr)
def fliplr(x) -> Tensor:
    """Reverse the columns (axis 1) of a tensor of at least two dimensions."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 dimensions, got shape {x.shape}")
    return flip(x, 1)


@composite(array_function=np.flipud)
def flipud(x) -> Tensor:
    """Reverse the rows (axis 0) of a tensor of at least one dimension."""
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError(f"flipud: needs at least 1 dimension, got shape {x.shape}")
    return flip(x, 0)


@composite(methods=True, array_function=np.roll)
def roll(x, shift, axis=None) -> Tensor:
    """Shift elements cyclically by ``shift`` along ``axis`` (over the flattened tensor by
    default), as ``numpy.roll``.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.roll(ad.tensor([1.0, 2.0, 3.0]), 1)
    tensor([3., 1., 2.])
    """
    x = as_tensor(x)
    if axis is None:
        if not isinstance(shift, int | np.integer):
            raise ValueError(f"roll: without axis, shift must be one integer, got {shift!r}")
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    shifts = (shift,) if isinstance(shift, int | np.integer) else tuple(shift)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1 and len(shifts) > 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift} and axis {axis} differ in length")
    total: dict[int, int] = {}
    for s, a in zip(shifts, axes):
        a = _axis(a, x.ndim, "roll")
        total[a] = total.get(a, 0) + int(s)
    for a, s in total.items():
        n = x.shape[a]
        s = s % n if n else 0
        if s:
            x = concatenate(
                [getitem(x, _along(x.ndim, a, slice(n - s, None))),
                 getitem(x, _along(x.ndim, a, slice(0, n - s)))],
                a,
            )  # fmt: skip
    return x


def _plain_ints(indices, who: str) -> np.ndarray:
    if isinstance(indices, Tensor):
        indices = indices.data
    arr = np.asarray(indices)
    if arr.dtype.kind not in "iub" or arr.dtype.kind == "b":
        raise TypeError(f"{who}: indices must be integers, got dtype {arr.dtype}")
    return arr.astype(np.intp, copy=False)


@composite(methods=True, array_function=np.take)
def take(x, indices, axis=None, mode: str = "raise") -> Tensor:
    """Elements at ``indices`` along ``axis`` (of the flattened tensor by default), as
    ``numpy.take``; ``mode="wrap"`` / ``"clip"`` treat out-of-range indices like NumPy.
    Repeated indices accumulate gradients."""
    x = as_tensor(x)
    idx = _plain_ints(indices, "take")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis(axis, x.ndim, "take")
    n = x.shape[axis]
    if mode == "wrap":
        idx = np.mod(idx, n) if n else idx
    elif mode == "clip":
        idx = np.clip(idx, 0, max(n - 1, 0))
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"take: index out of range for axis {axis} of size {n}")
    return getitem(x, _along(x.ndim, axis, idx))


@composite(array_function=np.take_along_axis)
def take_along_axis(x, indices, axis=-1) -> Tensor:
    """``x`` picked by ``indices`` along ``axis`` (same rank, other axes broadcast), as
    ``numpy.take_along_axis``: ``take_along_axis(x, argsort(x), -1)`` sorts ``x``."""
    x = as_tensor(x)
    idx = _plain_ints(indices, "take_along_axis")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
        if idx.ndim != 1:
            raise ValueError("take_along_axis: with axis=None, indices must be 1-D")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {idx.shape} need the rank of x {x.shape}"
        )
    axis = _axis(axis, x.ndim, "take_along_axis")
    n = x.shape[axis]
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"take_along_axis: index out of range for axis {axis} of size {n}")
    index = []
    for d in range(x.ndim):
        if d == axis:
            index.append(idx)
        else:
            shape = [1] * x.ndim
            shape[d] = x.shape[d]
            index.append(np.arange(x.shape[d]).reshape(shape))
    return getitem(x, tuple(index))


@composite(methods=True, array_function=np.repeat)
def repeat(x, repeats, axis=None) -> Tensor:
    """Repeat each element ``repeats`` times (an int or one count per element) along ``axis``
    (of the flattened tensor by default), as ``numpy.repeat``."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis(axis, x.ndim, "repeat")
    reps = _plain_ints(repeats, "repeat")
    if (reps < 0).any():
        raise ValueError(f"repeat: negative repeat count in {repeats!r}")
    try:
        idx = np.repeat(np.arange(x.shape[axis]), reps)
    except ValueError as exc:
        raise ValueError(f"repeat: {exc} (axis {axis} of shape {x.shape})") from None
    return getitem(x, _along(x.ndim, axis, idx))


@composite(array_function=np.tile)
def tile(x, reps) -> Tensor:
    """``x`` repeated ``reps`` times along each axis (ranks padded with leading ones), as
    ``numpy.tile``."""
    x = as_tensor(x)
    reps = (int(reps),) if isinstance(reps, int | np.integer) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetition in {reps}")
    d = max(x.ndim, len(reps))
    shape = (1,) * (d - x.ndim) + x.shape
    reps = (1,) * (d - len(reps)) + reps
    spread = reshape(x, tuple(v for n in shape for v in (1, n)))
    wide = broadcast_to(spread, tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return reshape(wide, tuple(r * n for r, n in zip(reps, shape)))


def _pad_width(pad_width, ndim: int) -> np.ndarray:
    try:
        pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: pad_width {pad_width!r} does not fit {ndim} dimensions (one int, one "
            "(before, after) pair, or one pair per axis)"
        ) from None
    if (pw < 0).any():
        raise ValueError(f"pad: negative pad width in {pad_width!r}")
    return pw


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


@composite(array_function=np.pad)
def pad(x, pad_width, mode: str = "constant", constant_values=0, **kwargs) -> Tensor:
    """Pad ``x``, as ``numpy.pad``, in mode ``constant`` (``constant_values``: one number, one
    per side, or a pair per axis), ``edge``, ``reflect``, ``symmetric`` or ``wrap``.

    The padding is built from ``scatter_add`` (constant) or repeated indexing (the other
    modes), so gradients flow back to the elements each padded value copies.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.pad(ad.tensor([1.0, 2.0]), 1, mode="edge")
    tensor([1., 1., 2., 2.])
    """
    x = as_tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; choose one of {_PAD_MODES}")
    if kwargs.get("reflect_type", "even") != "even" or set(kwargs) - {"reflect_type"}:
        raise TypeError(f"pad: unsupported keyword argument(s) {sorted(kwargs)}")
    pw = _pad_width(pad_width, x.ndim)
    if mode == "constant":
        if isinstance(constant_values, Tensor):
            raise TypeError(
                "pad: constant_values must be numbers (pad a tensor value with "
                "ad.concatenate, or add it to the padded result)"
            )
        shape = tuple(int(n + a + b) for n, (a, b) in zip(x.shape, pw))
        inner = tuple(slice(int(a), int(a) + n) for n, (a, _) in zip(x.shape, pw))
        out = scatter_add(x, inner, shape)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        frame = np.pad(
            np.zeros(x.shape, dtype), pw, mode="constant", constant_values=constant_values
        )
        return out + frame if frame.any() else out
    for axis, (a, b) in enumerate(pw):
        if a == 0 and b == 0:
            continue
        n = x.shape[axis]
        if n == 0:
            raise ValueError(f"pad: cannot pad the empty axis {axis} in mode {mode!r}")
        idx = np.pad(np.arange(n), (int(a), int(b)), mode=mode)
        x = getitem(x, _along(x.ndim, axis, idx))
    return x


def _split_bounds(n: int, sections, who: str, equal: bool) -> list[int]:
    if isinstance(sections, int | np.integer):
        k = int(sections)
        if k <= 0:
            raise ValueError(f"{who}: number of sections must be larger than 0, got {k}")
        if equal and n % k:
            raise ValueError(f"{who}: array split does not result in an equal division ({n} / {k})")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return [int(v) for v in np.cumsum([0] + sizes)]
    points = [int(i) for i in sections]
    return [0, *points, n]


@composite(array_function=np.array_split)
def array_split(x, indices_or_sections, axis: int = 0) -> list:
    """Split into pieces along ``axis``: ``k`` sections (sizes differing by at most one) or at
    the given indices; a list of tensors, as ``numpy.array_split``."""
    x = as_tensor(x)
    axis = _axis(axis, x.ndim, "array_split")
    bounds = _split_bounds(x.shape[axis], indices_or_sections, "array_split", equal=False)
    return [getitem(x, _along(x.ndim, axis, slice(a, b))) for a, b in zip(bounds[:-1], bounds[1:])]


@composite(array_function=np.split)
def split(x, indices_or_sections, axis: int = 0) -> list:
    """Split into ``k`` equal pieces (or at the given indices) along ``axis``, as
    ``numpy.split``; an unequal division raises."""
    x = as_tensor(x)
    axis = _axis(axis, x.ndim, "split")
    if isinstance(indices_or_sections, int | np.integer):
        _split_bounds(x.shape[axis], indices_or_sections, "split", equal=True)
    return array_split(x, indices_or_sections, axis)


def _seq(tup, who: str) -> list[Tensor]:
    if isinstance(tup, Tensor | np.ndarray):
        raise TypeError(f"{who}: expects a sequence of arrays, not one array")
    xs = [as_tensor(t) for t in tup]
    if not xs:
        raise ValueError(f"{who}: needs at least one array")
    return xs


@composite(array_function=np.vstack)
def vstack(tup) -> Tensor:
    """Stack tensors vertically (row-wise): 1-D tensors become rows, as ``numpy.vstack``."""
    return concatenate([atleast_2d(x) for x in _seq(tup, "vstack")], 0)


@composite(array_function=np.hstack)
def hstack(tup) -> Tensor:
    """Stack tensors horizontally: along axis 1, or axis 0 for 1-D tensors (``numpy.hstack``)."""
    xs = [atleast_1d(x) for x in _seq(tup, "hstack")]
    return concatenate(xs, 0 if xs[0].ndim == 1 else 1)


@composite(array_function=np.dstack)
def dstack(tup) -> Tensor:
    """Stack tensors depth-wise (along axis 2, after ``atleast_3d``), as ``numpy.dstack``."""
    return concatenate([atleast_3d(x) for x in _seq(tup, "dstack")], 2)


@composite(array_function=np.column_stack)
def column_stack(tup) -> Tensor:
    """1-D tensors as columns of a 2-D tensor (2-D ones as they are), as ``numpy.column_stack``."""
    xs = _seq(tup, "column_stack")
    xs = [reshape(x, (-1, 1)) if x.ndim < 2 else x for x in xs]
    return concatenate(xs, 1)


@composite(array_function=np.append)
def append(arr, values, axis=None) -> Tensor:
    """``values`` appended to ``arr`` along ``axis`` (both flattened by default), as
    ``numpy.append``."""
    arr, values = as_tensor(arr), as_tensor(values)
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))], 0)
    if arr.ndim != values.ndim:
        raise ValueError(
            f"append: arr of shape {arr.shape} and values of shape {values.shape} need the same "
            "number of dimensions"
        )
    return concatenate([arr, values], _axis(axis, arr.ndim, "append"))


def _diag_indices(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
        i = np.arange(length)
        return i, i + offset
    length = max(0, min(n1 + offset, n2))
    j = np.arange(length)
    return j - offset, j


@composite(methods=True, array_function=np.diagonal)
def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``offset`` of the (``axis1``, ``axis2``) planes, as the last axis
    (``numpy.diagonal``)."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1, a2 = _axis(axis1, x.ndim, "diagonal"), _axis(axis2, x.ndim, "diagonal")
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same ({axis1}, {axis2})")
    y = moveaxis(x, (a1, a2), (-2, -1))
    i, j = _diag_indices(y.shape[-2], y.shape[-1], int(offset))
    return getitem(y, (Ellipsis, i, j))


@composite(methods=True, array_function=np.trace)
def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum along the diagonal ``offset`` of the (``axis1``, ``axis2``) planes (``numpy.trace``).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.grad(ad.trace)(np.ones((2, 3)))
    array([[1., 0., 0.],
           [0., 1., 0.]])
    """
    from .reductions import sum as reduce_sum

    return reduce_sum(diagonal(x, offset, axis1, axis2), -1)


@composite(array_function=np.diag)
def diag(v, k: int = 0) -> Tensor:
    """The ``k``-th diagonal of a 2-D tensor, or a 2-D tensor with the 1-D ``v`` on its
    ``k``-th diagonal (``numpy.diag``)."""
    v = as_tensor(v)
    k = int(k)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {v.shape}")
    n = v.shape[0] + abs(k)
    i, j = _diag_indices(n, n, k)
    return scatter_add(v, (i, j), (n, n))


def _tri_mask(shape, k: int, lower: bool) -> np.ndarray:
    n, m = shape[-2], shape[-1]
    mask = np.tri(n, m, k, dtype=bool)
    return mask if lower else ~np.tri(n, m, k - 1, dtype=bool)


@composite(array_function=np.tril)
def tril(x, k: int = 0) -> Tensor:
    """The lower triangle (on and below diagonal ``k``) of the last two axes; zero elsewhere."""
    from .elementwise import where

    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("tril: needs at least 1 dimension, got a 0-d tensor")
    shape = x.shape if x.ndim >= 2 else (x.shape[0], x.shape[0])
    return where(_tri_mask(shape, int(k), True), x, 0.0)


@composite(array_function=np.triu)
def triu(x, k: int = 0) -> Tensor:
    """The upper triangle (on and above diagonal ``k``) of the last two axes; zero elsewhere."""
    from .elementwise import where

    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("triu: needs at least 1 dimension, got a 0-d tensor")
    shape = x.shape if x.ndim >= 2 else (x.shape[0], x.shape[0])
    return where(_tri_mask(shape, int(k), False), x, 0.0)

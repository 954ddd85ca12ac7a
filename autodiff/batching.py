"""``vmap``: a batching interpreter over the op table (JAX's ``vmap``, PyTorch's ``torch.vmap``).

Inside ``vmap(f)`` every mapped argument is a :class:`BatchedTensor`: a Tensor whose *logical*
shape is one example's shape, backed by a *value* (an ordinary Tensor, or a BatchedTensor of an
enclosing ``vmap``) that holds the batch on its axis 0. Every operation funnels through
``autodiff.tensor.apply``; when an operand is batched, ``apply`` hands the op to the op's
*batch rule* here, which runs the op once on the whole batch (``sum(x, axis=1)`` on an example
becomes ``sum(value, axis=2)``), and wraps the result again. Nested ``vmap`` calls get
increasing *levels*: a rule only ever sees the batch axis of the innermost level among its
operands, and the values it passes on are dispatched again by their own level, so every rule is
written for one batch axis.

The logical operations are recorded on the graph like any other (the logical graph), and the
physical ones underneath are recorded too, so every transform composes with ``vmap`` in both
orders: ``vmap(grad(f))`` differentiates the logical graph of one example (per-example
gradients), ``grad(lambda x: vmap(f)(x).sum())`` differentiates the physical one.

Batch rules
-----------
A rule is found, in order, from

* ``Op.batch``, a rule callable or one of the kinds ``"elementwise"``, ``"reduce"`` (an
  ``axis`` parameter that is None - all axes - or a tuple of axes), ``"axis"`` (an int
  ``axis`` parameter, every input mapped along it);
* the registry :data:`RULES` (``register_rule(op, rule)``), which holds the shape ops,
  reductions, indexing, ``concatenate`` and ``matmul``;
* the op's symbolic rule: every op declared with an elementwise SymPy rule (the ``unary``,
  ``binary`` and ``comparison`` builders) is elementwise, so new ones are batched with no work;
* otherwise a loop over the batch that stacks the results, with a one-time
  :class:`PerformanceWarning` naming the op (PyTorch's fallback).

A rule is ``rule(op, args, mapped, params, size) -> Tensor``: ``args`` hold the op's tensor
inputs, those with ``mapped[i]`` carrying the batch (of ``size``) on axis 0; the result holds it
on axis 0 too.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

import numpy as np

from . import tree as _tree
from .grad_mode import active_transforms, tracing
from .ops import contractions as _con
from .ops import linalg as _la
from .ops import reductions as _red
from .ops import shape as _sh
from .ops.base import Op
from .ops.builders import elementwise_sympy
from .tensor import ShapeError, Tensor, apply, as_array

__all__ = ["BatchedTensor", "PerformanceWarning", "RULES", "register_rule", "vmap"]


class PerformanceWarning(UserWarning):
    """An op without a batch rule runs once per example inside ``vmap`` (correct but slow)."""


# --- levels ---------------------------------------------------------------------------------
_ACTIVE: dict[int, int] = {}  # level -> batch size, for the vmap calls now running
_COUNTER = itertools.count(1)


def _error(what: str) -> RuntimeError:
    return RuntimeError(f"vmap: {what}")


class BatchedTensor(Tensor):
    """One example's view of a batch inside ``vmap``: ``shape`` is the example's shape.

    Created by :func:`vmap` only. Reading its values (``float(t)``, ``t.numpy()``,
    ``np.asarray(t)``, ``if t > 0:``) would mix the examples, so it raises; use ``ad.where``
    for data-dependent choices.
    """

    __slots__ = ("_value", "_level")
    _batched = True

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape[1:]

    @property
    def ndim(self) -> int:
        return self._value.ndim - 1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        return (
            f"BatchedTensor(shape={self.shape}, dtype={self.dtype}, level={self._level}, "
            f"batch={self._value.shape[0]})"
        )

    def _refuse(self, what: str):
        raise _error(
            f"{what} of a batched tensor (shape {self.shape}) would read every example of the "
            "batch at once; inside vmap, compute with tensor operations (ad.where instead of "
            "`if`), or move the conversion out of the mapped function"
        )

    def __bool__(self) -> bool:
        self._refuse("bool() (Python control flow)")

    def __float__(self) -> float:
        self._refuse("float()")

    def __int__(self) -> int:
        self._refuse("int()")

    def __complex__(self) -> complex:
        self._refuse("complex()")

    def __array__(self, dtype=None, copy=None):
        self._refuse("np.asarray() (__array__)")

    def numpy(self):
        self._refuse(".numpy()")

    def item(self):
        self._refuse(".item()")

    def tolist(self):
        self._refuse(".tolist()")

    def any(self):
        self._refuse(".any()")

    def all(self):
        self._refuse(".all()")

    def backward(self, gradient=None, create_graph=False, retain_graph=None):
        self._refuse(".backward()")

    def _inplace(self, ufunc, other, what):
        self._refuse(what)

    def __setitem__(self, index, value):
        self._refuse("x[...] = value (in-place assignment)")

    def detach(self) -> BatchedTensor:
        """The batched value cut from the graph."""
        return _wrap(self._value.detach(), self._level)

    stop_gradient = detach

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .ops.surface import UFUNCS

        fn = UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
        if fn is None:
            raise TypeError(f"vmap: numpy.{ufunc.__name__} has no autodiff version to batch")
        return fn(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        from .ops.surface import ARRAY_FUNCTIONS

        fn = ARRAY_FUNCTIONS.get(func)
        if fn is None:
            raise TypeError(f"vmap: numpy.{func.__name__} has no autodiff version to batch")
        return fn(*args, **kwargs)


_new_batched = object.__new__
_NO_PARAMS: dict = {}


def _wrap(value: Tensor, level: int, requires_grad: bool | None = None) -> BatchedTensor:
    out = _new_batched(BatchedTensor)
    out.data = value.data  # the innermost physical array: dtype, and any-value checks of rules
    out.grad = None
    out.requires_grad = value.requires_grad if requires_grad is None else requires_grad
    out.name = None
    out._op = None
    out._parents = ()
    out._params = _NO_PARAMS
    out._version = 0
    out._versions = ()
    out._value = value
    out._level = level
    return out


def fresh_leaf(x: BatchedTensor) -> BatchedTensor:
    """A new logical leaf that requires grad, standing for the batched ``x`` (for transforms
    that differentiate with respect to a batched argument)."""
    return _wrap(x._value.detach(), x._level, requires_grad=True)


def is_batched(x: Any) -> bool:
    """Whether ``x`` is a batched tensor (only inside ``vmap``)."""
    return isinstance(x, BatchedTensor)


# --- the dispatch ---------------------------------------------------------------------------
def apply_batched(op: Op, tensors: tuple[Tensor, ...], params: dict) -> BatchedTensor:
    """Run ``op`` on operands of which some are batched: the batch rule of the innermost level.

    Called by ``autodiff.tensor.apply``, which records the result on the (logical) graph.
    """
    level = 0
    for t in tensors:
        if t._batched and t._level > level:
            level = t._level
    size = _ACTIVE.get(level)
    if size is None:
        raise _error(
            f"op {op.name!r} got a batched tensor whose vmap has already returned (a batched "
            "value escaped the mapped function, e.g. through a closure or a global)"
        )
    args: list[Tensor] = []
    mapped: list[bool] = []
    for t in tensors:
        if t._batched and t._level == level:
            args.append(t._value)
            mapped.append(True)
        else:
            args.append(t)
            mapped.append(False)
    rule = _RESOLVED.get(op)
    if rule is None:
        rule = _rule_for(op)
    try:
        value = rule(op, args, mapped, params, size)
    except (ShapeError, IndexError) as exc:
        shapes = ", ".join(str(t.shape) for t in tensors)
        axes = ", ".join("0" if m else "None" for m in mapped)
        raise type(exc)(
            f"{op.name} (inside vmap; example shapes {shapes}, batch axes {axes}): {exc}"
        ) from None
    if value.ndim == 0 or value.shape[0] != size:
        raise _error(
            f"the batch rule of op {op.name!r} returned shape {value.shape}, not a batch of "
            f"{size} on axis 0"
        )
    return _wrap(value, level, requires_grad=False)


_RESOLVED: dict[Op, Callable] = {}
RULES: dict[Op, Callable] = {}
"""Op -> batch rule, for the ops of :mod:`autodiff.ops` that are not elementwise."""


def register_rule(op: Op, rule: Callable | str) -> None:
    """Give ``op`` a batch rule (a callable, or a kind: ``"elementwise"``, ``"reduce"``,
    ``"axis"``)."""
    if isinstance(rule, str) and rule not in _KINDS:
        raise ValueError(f"op {op.name!r}: unknown batch kind {rule!r} ({sorted(_KINDS)})")
    RULES[op] = _KINDS[rule] if isinstance(rule, str) else rule
    _RESOLVED.pop(op, None)


_ELEMENTWISE_CODE = elementwise_sympy(lambda ns: None).__code__


def _rule_for(op: Op) -> Callable:
    found = _RESOLVED.get(op)
    if found is not None:
        return found
    spec = getattr(op, "batch", None)
    if spec is not None:
        if isinstance(spec, str):
            if spec not in _KINDS:
                raise ValueError(f"op {op.name!r}: unknown batch kind {spec!r} ({sorted(_KINDS)})")
            rule = _KINDS[spec]
        else:
            rule = spec
    elif op in RULES:
        rule = RULES[op]
    elif getattr(op.sympy, "__code__", None) is _ELEMENTWISE_CODE:
        rule = _elementwise
    else:
        rule = _loop
    _RESOLVED[op] = rule
    return rule


def rule_kind(op: Op) -> str:
    """``"elementwise"``, ``"rule"`` or ``"loop"``: how ``vmap`` batches ``op``."""
    rule = _rule_for(op)
    return "elementwise" if rule is _elementwise else "loop" if rule is _loop else "rule"


# --- generic rules --------------------------------------------------------------------------
def _align(args: list[Tensor], mapped: list[bool]) -> list[Tensor]:
    """Give mapped operands the rank of the largest example (ones after the batch axis), so
    that NumPy broadcasting pairs example axes with example axes."""
    rank = 0
    for a, m in zip(args, mapped):
        r = a.ndim - 1 if m else a.ndim
        if r > rank:
            rank = r
    out = args
    for k, (a, m) in enumerate(zip(args, mapped)):
        if m:
            shape = a.shape
            missing = rank + 1 - len(shape)
            if missing > 0:
                if out is args:
                    out = list(args)
                out[k] = apply(_sh.RESHAPE, a, shape=(shape[0],) + (1,) * missing + shape[1:])
    return out


def _elementwise(op, args, mapped, params, size):
    if len(args) == 1:
        return apply(op, args[0], **params)
    return apply(op, *_align(args, mapped), **params)


def _materialize(x: Tensor, mapped: bool, size: int) -> Tensor:
    """``x`` with the batch on axis 0, broadcast (a view) when it was not mapped."""
    if mapped:
        return x
    shape = x.shape
    return apply(_sh.BROADCAST_TO, apply(_sh.RESHAPE, x, shape=(1,) + shape), shape=(size,) + shape)


def _reduce(op, args, mapped, params, size):
    (x,) = args
    axis = params.get("axis")
    ndim = max(x.ndim - 1, 1)
    new = dict(params)
    if axis is None:
        new["axis"] = tuple(range(1, x.ndim))
    elif isinstance(axis, tuple | list):
        new["axis"] = tuple(int(a) % ndim + 1 for a in axis)
    else:
        new["axis"] = int(axis) % ndim + 1
    return apply(op, x, **new)


def _axis(op, args, mapped, params, size):
    axis = params.get("axis")
    if axis is None:
        return _loop(op, args, mapped, params, size)
    xs = [_materialize(a, m, size) for a, m in zip(args, mapped)]
    ndim = xs[0].ndim - 1
    new = dict(params)
    if isinstance(axis, tuple):
        new["axis"] = tuple(int(a) % max(ndim, 1) + 1 for a in axis)
    else:
        new["axis"] = int(axis) % max(ndim, 1) + 1
    return apply(op, *xs, **new)


_WARNED: set[str] = set()


def _loop(op, args, mapped, params, size):
    """PyTorch's fallback: run ``op`` once per example and stack the results."""
    if op.name not in _WARNED:
        _WARNED.add(op.name)
        warnings.warn(
            f"vmap: op {op.name!r} has no batch rule, so it runs once per example (a Python "
            "loop over the batch); give it one with Op(batch=...) or "
            "autodiff.batching.register_rule",
            PerformanceWarning,
            stacklevel=4,
        )
    if size == 0:
        raise _error(
            f"op {op.name!r} has no batch rule and the batch is empty, so the shape of its "
            "result is unknown"
        )
    outs = []
    for i in range(size):
        call = [apply(_sh.GETITEM, a, index=i) if m else a for a, m in zip(args, mapped)]
        outs.append(apply(op, *call, **params))
    shapes = sorted({o.shape for o in outs})
    if len(shapes) > 1:
        axes = ", ".join("0" if m else "None" for m in mapped)
        raise _error(
            f"op {op.name!r} has no batch rule, and running it once per example (batch axes "
            f"{axes}) gives results of different shapes {shapes}, which cannot be stacked"
        )
    return apply(
        _sh.CONCATENATE, *[apply(_sh.RESHAPE, o, shape=(1,) + o.shape) for o in outs], axis=0
    )


_KINDS: dict[str, Callable] = {"elementwise": _elementwise, "reduce": _reduce, "axis": _axis}


# --- rules of the shape ops, indexing, matmul -----------------------------------------------
def _reshape(op, args, mapped, params, size):
    (x,) = args
    return apply(op, x, shape=(x.shape[0],) + tuple(params["shape"]))


def _transpose(op, args, mapped, params, size):
    (x,) = args
    return apply(op, x, axes=(0,) + tuple(a + 1 for a in params["axes"]))


def _broadcast_to(op, args, mapped, params, size):
    (x,) = args
    shape = tuple(params["shape"])
    missing = len(shape) - (x.ndim - 1)
    if missing > 0:
        x = apply(_sh.RESHAPE, x, shape=(x.shape[0],) + (1,) * missing + x.shape[1:])
    return apply(op, x, shape=(x.shape[0],) + shape)


def _advanced_layout(index: tuple) -> int | None:
    """For an index whose advanced entries NumPy moves to the front of the result (they are
    not adjacent), the number of axes they make; None when they stay in place."""
    arrays = [i for i in index if isinstance(i, np.ndarray | list)]
    if not arrays:
        return None
    positions = [
        k
        for k, i in enumerate(index)
        if isinstance(i, np.ndarray | list | int | np.integer) and not isinstance(i, bool)
    ]
    if positions == list(range(positions[0], positions[0] + len(positions))):
        return None
    shapes = []
    for i in index:
        if isinstance(i, np.ndarray | list):
            arr = np.asarray(i)
            shapes.append((int(arr.sum()),) if arr.dtype == bool else arr.shape)
    return len(np.broadcast_shapes(*shapes))


def _batched_index(index) -> tuple:
    items = index if isinstance(index, tuple) else (index,)
    return (slice(None),) + items


def _getitem(op, args, mapped, params, size):
    (x,) = args
    index = params["index"]
    items = index if isinstance(index, tuple) else (index,)
    out = apply(op, x, index=_batched_index(index))
    moved = _advanced_layout(items)
    if moved is None:
        return out
    # NumPy put the advanced axes first and the batch axis after them: bring it back.
    perm = (moved,) + tuple(range(moved)) + tuple(range(moved + 1, out.ndim))
    return apply(_sh.TRANSPOSE, out, axes=perm)


def _scatter_add(op, args, mapped, params, size):
    (g,) = args
    index = params["index"]
    items = index if isinstance(index, tuple) else (index,)
    moved = _advanced_layout(items)
    if moved is not None:  # the layout x[batched index] has: advanced axes, then the batch
        perm = tuple(range(1, moved + 1)) + (0,) + tuple(range(moved + 1, g.ndim))
        g = apply(_sh.TRANSPOSE, g, axes=perm)
    return apply(
        op,
        g,
        index=_batched_index(index),
        shape=(g.shape[0 if moved is None else moved],) + tuple(params["shape"]),
    )


def _concatenate(op, args, mapped, params, size):
    xs = [_materialize(a, m, size) for a, m in zip(args, mapped)]
    return apply(op, *xs, axis=params["axis"] + 1)


def _matmul(op, args, mapped, params, size):
    a, b = args
    ma, mb = mapped
    if ma and not mb and b.ndim == 2:
        # One matrix product for the whole batch: (size * ..., k) @ (k, n).
        shape = a.shape
        flat = apply(_sh.RESHAPE, a, shape=(-1, shape[-1]))
        out = apply(op, flat, b)
        return apply(_sh.RESHAPE, out, shape=shape[:-1] + (b.shape[-1],))
    return apply(op, *_align(args, mapped))


def _einsum(op, args, mapped, params, size):
    """The batch axis is one more letter: on the mapped operands and on the output."""
    ins, out = params["subscripts"].split("->")
    terms = ins.split(",")
    used = set(params["subscripts"])
    letter = next(
        c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in used
    )
    terms = [letter + t if m else t for t, m in zip(terms, mapped)]
    return apply(op, *args, subscripts=",".join(terms) + "->" + letter + out)


def _leading(op, args, mapped, params, size):
    """A one-matrix linear-algebra op: NumPy's linalg batches over leading axes already, so
    the batch axis (axis 0) is one more of them."""
    return apply(op, *args, **params)


for _op, _rule in (
    (_con.EINSUM, _einsum),
    (_la.INV, _leading),
    (_la.DET, _leading),
    (_la.SLOGDET, _leading),
    (_la.CHOLESKY, _leading),
    (_la.EIGH, _leading),
    (_la.EIGVALSH, _leading),
    (_la.SVD, _leading),
    (_la.SVDVALS, _leading),
    (_la.PINV, _leading),
    (_sh.RESHAPE, _reshape),
    (_sh.TRANSPOSE, _transpose),
    (_sh.BROADCAST_TO, _broadcast_to),
    (_sh.GETITEM, _getitem),
    (_sh.SCATTER_ADD, _scatter_add),
    (_sh.CONCATENATE, _concatenate),
    (_la.MATMUL, _matmul),
    (_red.SUM, _reduce),
    (_red.MAX, _reduce),
    (_red.MIN, _reduce),
    (_red.PROD, _reduce),
    (_red.STABLE_SHIFT, _reduce),
    (_red.CUMSUM, _axis),
    (_red.SORT_GATHER, _axis),  # values and keys along one axis: every input batched alike
    (_red.SORT_SCATTER, _axis),
):
    register_rule(_op, _rule)


def getitem_batched_index(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` inside vmap where ``index`` holds batched integer tensors (a different
    index per example, e.g. ``logits[label]``): one-hot rows times ``x``, so the logical graph
    records ordinary ops (an equality, a cast, a matrix product) and differentiates."""
    from .ops.elementwise import cast, equal, where

    items = index if isinstance(index, tuple) else (index,)
    x = x if isinstance(x, Tensor) else Tensor._wrap(as_array(x))
    if len(items) > x.ndim or not all(
        isinstance(i, Tensor | np.ndarray | list | int | np.integer) for i in items
    ):
        raise IndexError(
            f"vmap: x[index] with a batched index tensor supports integer index tensors for "
            f"the leading axes only (got {len(items)} entries with slices or None for a tensor "
            f"of shape {x.shape}); use ad.where or a one-hot product for other cases"
        )
    k = len(items)
    lead = x.shape[:k]
    flat = None
    stride = 1
    for i, n in reversed(list(zip(items, lead))):
        t = i if isinstance(i, Tensor) else Tensor._wrap(np.asarray(i))
        if t.dtype.kind not in "iu":
            raise IndexError(f"vmap: an index tensor must hold integers, got dtype {t.dtype}")
        values = t.data
        if values.size and (values.min() < -n or values.max() >= n):
            raise IndexError(
                f"vmap: index out of range for axis of length {n} in x[index] (shape {x.shape})"
            )
        t = where(t < 0, t + n, t)
        flat = t * stride if flat is None else flat + t * stride
        stride *= n
    total = int(np.prod(lead, dtype=np.int64))
    positions = Tensor._wrap(np.arange(total))
    shape = flat.shape
    onehot = cast(equal(_sh.reshape(flat, shape + (1,)), positions), x.dtype)
    rest = x.shape[k:]
    rows = _la.matmul(_sh.reshape(onehot, (-1, total)), _sh.reshape(x, (total, -1)))
    return _sh.reshape(rows, shape + rest)


# --- vmap -----------------------------------------------------------------------------------
def _check_axes_spec(spec: Any, what: str) -> None:
    for leaf in _tree.leaves(spec, none_is_leaf=True):
        if leaf is not None and (isinstance(leaf, bool) or not isinstance(leaf, int | np.integer)):
            raise TypeError(f"vmap: {what} must hold ints or None, got {leaf!r}")


def _as_operand(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(as_array(x))


def _move(x: Tensor, source: int, dest: int) -> Tensor:
    if source == dest:
        return x
    perm = [i for i in range(x.ndim) if i != source]
    perm.insert(dest, source)
    return apply(_sh.TRANSPOSE, x, axes=tuple(perm))


def vmap(
    f: Callable, in_axes: Any = 0, out_axes: Any = 0, *, axis_size: int | None = None
) -> Callable:
    """Vectorize ``f`` over an axis of its arguments: ``vmap(f)(xs)[i] == f(xs[i])``.

    JAX's semantics: ``in_axes`` is an int (every positional argument mapped along that axis),
    None (not mapped), or a tuple/list with one entry per positional argument, each an int,
    None or a pytree prefix of that argument (``({"w": None, "b": 0}, 0)``); negative axes
    count from the end. ``out_axes`` says where the mapped axis goes in each output (an int,
    or a pytree prefix of the output; None for an output that does not depend on the mapped
    axis). Outputs that do not depend on it are broadcast along it. ``axis_size`` gives the
    batch size when no argument is mapped. Keyword arguments are passed through unmapped
    (PyTorch's rule). Arguments and results may be pytrees (nested lists, tuples, dicts).

    ``f`` runs once, on the whole batch: each op uses its batch rule (see
    :mod:`autodiff.batching`); an op without one runs once per example with a
    :class:`PerformanceWarning`. ``vmap`` nests, and composes with ``grad``, ``jvp``, ``vjp``,
    ``jacfwd`` and ``hessian`` in both orders: ``vmap(grad(loss), in_axes=(None, 0))`` gives
    per-example gradients. Results are NumPy arrays for plain inputs at top level, Tensors
    otherwise (as for ``grad``).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.vmap(lambda x: ad.sum(x ** 2))(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([ 5., 25.])
    >>> ad.vmap(lambda w, x: w @ x, in_axes=(None, 0))(np.eye(2), np.ones((3, 2))).shape
    (3, 2)
    >>> per_example = ad.vmap(ad.grad(lambda w, x: ad.sum(w * x) ** 2), in_axes=(None, 0))
    >>> per_example(np.ones(2), np.array([[1.0, 0.0], [0.0, 2.0]]))
    array([[2., 0.],
           [0., 8.]])
    """
    if not callable(f):
        raise TypeError(f"vmap: f must be callable, got {type(f).__name__}")
    _check_axes_spec(in_axes, "in_axes")
    _check_axes_spec(out_axes, "out_axes")
    if axis_size is not None and (
        isinstance(axis_size, bool) or int(axis_size) != axis_size or axis_size < 0
    ):
        raise ValueError(f"vmap: axis_size must be a non-negative int, got {axis_size!r}")
    name = getattr(f, "__name__", type(f).__name__)

    @wraps(f)
    def wrapper(*args, **kwargs):
        if isinstance(in_axes, tuple | list):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"vmap({name}): in_axes has {len(in_axes)} entries for {len(args)} "
                    "positional argument(s) (give one per argument, or a single int / None)"
                )
            specs = list(in_axes)
        else:
            specs = [in_axes] * len(args)
        any_tensor = False
        flat: list[tuple[list, _tree.TreeDef, list]] = []
        sizes: dict[int, list[str]] = {}
        for k, (arg, spec) in enumerate(zip(args, specs)):
            leaves, treedef = _tree.flatten(arg)
            try:
                axes = _tree.broadcast_prefix(spec, arg)
            except ValueError as exc:
                raise ValueError(f"vmap({name}): in_axes entry {k}: {exc}") from None
            converted = []
            any_tensor = any_tensor or any(isinstance(leaf, Tensor) for leaf in leaves)
            for j, (leaf, ax) in enumerate(zip(leaves, axes)):
                if ax is not None:
                    leaf = _as_operand(leaf)
                    nd = leaf.ndim
                    if not -nd <= ax < nd:
                        raise ValueError(
                            f"vmap({name}): in_axes {ax} is out of range for argument {k} "
                            f"(leaf {j}) of shape {leaf.shape}"
                        )
                    ax = int(ax) % nd
                    sizes.setdefault(leaf.shape[ax], []).append(f"argument {k} axis {ax}")
                converted.append((leaf, ax))
            flat.append((converted, treedef, axes))
        if len(sizes) > 1:
            detail = "; ".join(f"{n}: {', '.join(w)}" for n, w in sorted(sizes.items()))
            raise ValueError(f"vmap({name}): mapped axes have different sizes ({detail})")
        if sizes:
            size = next(iter(sizes))
            if axis_size is not None and axis_size != size:
                raise ValueError(
                    f"vmap({name}): axis_size={axis_size} but the mapped axes have size {size}"
                )
        elif axis_size is not None:
            size = int(axis_size)
        else:
            raise ValueError(
                f"vmap({name}): no argument is mapped (in_axes={in_axes!r}); pass axis_size= "
                "to say how many times to map"
            )
        outside = bool(active_transforms())
        level = next(_COUNTER)
        _ACTIVE[level] = size
        try:
            call = []
            for converted, treedef, _ in flat:
                items = [
                    leaf if ax is None else _wrap(_move(leaf, ax, 0), level)
                    for leaf, ax in converted
                ]
                call.append(_tree.unflatten(treedef, items))
            with tracing("vmap"):
                out = f(*call, **kwargs)
            result = _unbatch(out, out_axes, level, size, name)
        finally:
            del _ACTIVE[level]
        if outside or any_tensor:
            return result
        return _tree.map(_numpy_result, result)

    return wrapper


def _numpy_result(x: Any) -> Any:
    if isinstance(x, Tensor) and not x.requires_grad:
        data = np.array(x.data, order="C", copy=True)
        return data[()] if data.ndim == 0 else data
    return x


def _unbatch(out: Any, out_axes: Any, level: int, size: int, name: str) -> Any:
    leaves, treedef = _tree.flatten(out)
    try:
        axes = _tree.broadcast_prefix(out_axes, out)
    except ValueError as exc:
        raise ValueError(f"vmap({name}): out_axes: {exc}") from None
    results = []
    for j, (leaf, ax) in enumerate(zip(leaves, axes)):
        mapped = isinstance(leaf, BatchedTensor) and leaf._level == level
        if isinstance(leaf, BatchedTensor) and leaf._level > level:
            raise _error(f"output {j} of {name} is a batched tensor of an inner vmap")
        if ax is None:
            if mapped:
                raise ValueError(
                    f"vmap({name}): out_axes is None for output {j}, but it depends on the "
                    "mapped axis (give it an int out_axes)"
                )
            results.append(leaf)
            continue
        if mapped:
            value = leaf._value
        elif isinstance(leaf, Tensor | np.ndarray | np.generic | float | int | bool):
            t = _as_operand(leaf)
            value = apply(
                _sh.BROADCAST_TO,
                apply(_sh.RESHAPE, t, shape=(1,) + t.shape),
                shape=(size,) + t.shape,
            )
        else:
            raise TypeError(
                f"vmap({name}): output {j} is a {type(leaf).__name__}, not an array; give it "
                "out_axes None, or return arrays"
            )
        nd = value.ndim
        if not -nd <= ax < nd:
            raise ValueError(
                f"vmap({name}): out_axes {ax} is out of range for output {j}, which has "
                f"{nd - 1} dimension(s) per example"
            )
        results.append(_move(value, 0, int(ax) % nd))
    return _tree.unflatten(treedef, results)

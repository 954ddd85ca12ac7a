"""The Tensor, the ``apply`` funnel every operation goes through, and ``tensor()``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .grad_mode import _GRAD_ENABLED

if TYPE_CHECKING:
    from .ops.base import Op


class ShapeError(ValueError):
    """Operands whose shapes an op cannot combine; the message names the op and the shapes."""


def _float_dtype(dtype: Any) -> np.dtype:
    return np.dtype(dtype) if dtype is not None else np.dtype(np.float64)


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to an ndarray: float64 by default, float32 (or ints) kept from arrays."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray | np.generic):
        return np.asarray(data)
    arr = np.asarray(data)
    if arr.dtype.kind in "biuf" and arr.dtype != np.float32:
        return arr.astype(np.float64)
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it for differentiation.

    Examples
    --------
    >>> import autodiff as ad
    >>> x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_op", "_parents", "_params")
    __array_priority__ = 1000  # make ndarray <op> Tensor defer to the Tensor's reflected method

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name=None):
        arr = as_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients; got dtype {arr.dtype} "
                "(cast with dtype=float)"
            )
        self.data = arr
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._op: Op | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._params: dict = {}

    # --- construction used by the funnel (no conversion, no checks) ---------------------------
    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> Tensor:
        t = _new(data)
        t.requires_grad = requires_grad
        return t

    # --- array protocol -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by a recorded operation."""
        return self._op is None

    def numpy(self) -> np.ndarray:
        """Return the underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """Return the value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): tensor of shape {self.shape} has {self.size} elements, not 1"
            )
        return self.data.item()

    def detach(self) -> Tensor:
        """Return a tensor sharing this data, cut from the graph."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf and return self."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "requires_grad_(False) is only allowed on leaf tensors; use detach()"
            )
        if requires_grad and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients; got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``grad`` to None)."""
        self.grad = None

    def astype(self, dtype: Any) -> Tensor:
        """Cast to another dtype (differentiable between floating dtypes)."""
        from .ops.elementwise import cast

        return cast(self, np.dtype(dtype))

    def backward(
        self, gradient: Any = None, create_graph: bool = False, retain_graph: bool | None = None
    ) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` seeds the backward pass and is required when ``self`` is not a scalar.
        With ``create_graph=True`` the gradients are themselves recorded, so they can be
        differentiated again (higher-order derivatives). The graph is released during the pass
        unless ``retain_graph=True`` (default: ``create_graph``), as in PyTorch.
        """
        from .engine import backward

        backward(self, gradient, create_graph, retain_graph)

    # --- Python protocol ----------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.dtype != np.float64:
            extra += f", dtype={self.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True" if self.is_leaf else f", grad_fn={self._op.name}"
        return f"tensor({body}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any()/.all()"
            )
        if self._op is not None or self.requires_grad:  # a traced value: lift may intercept
            from .grad_mode import traced_bool

            return traced_bool(self)
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __setitem__(self, index: Any, value: Any) -> None:
        if self.requires_grad and _GRAD_ENABLED.get():
            raise RuntimeError(
                "in-place assignment into a tensor that requires grad would corrupt its gradient; "
                "build a new tensor (e.g. with where or concatenate) or assign under no_grad()"
            )
        self.data[index] = as_array(value)

    __hash__ = object.__hash__

    # --- NumPy interoperability: np.sin(t), ndarray + t, np.sum(t) stay on the graph ----------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = _UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
        if fn is None:
            call = ufunc if method == "__call__" else getattr(ufunc, method)
            return _untracked(f"numpy.{ufunc.__name__}", call, inputs, kwargs)
        return fn(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        fn = _ARRAY_FUNCTIONS.get(func)
        if fn is None:
            return _untracked(f"numpy.{func.__name__}", func, args, kwargs)
        return fn(*args, **kwargs)

    # --- operators (defined in the op modules) ------------------------------------------------
    def __add__(self, other):
        return apply(_ew.ADD, self, other)

    def __radd__(self, other):
        return apply(_ew.ADD, other, self)

    def __sub__(self, other):
        return apply(_ew.SUB, self, other)

    def __rsub__(self, other):
        return apply(_ew.SUB, other, self)

    def __mul__(self, other):
        return apply(_ew.MUL, self, other)

    def __rmul__(self, other):
        return apply(_ew.MUL, other, self)

    def __truediv__(self, other):
        return apply(_ew.DIV, self, other)

    def __rtruediv__(self, other):
        return apply(_ew.DIV, other, self)

    def __pow__(self, other):
        return _ew.power(self, other)

    def __rpow__(self, other):
        return _ew.power(other, self)

    def __neg__(self):
        return _ew.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.abs(self)

    def __matmul__(self, other):
        return _la.matmul(self, other)

    def __rmatmul__(self, other):
        return _la.matmul(other, self)

    def __lt__(self, other):
        return _ew.less(self, other)

    def __le__(self, other):
        return _ew.less_equal(self, other)

    def __gt__(self, other):
        return _ew.greater(self, other)

    def __ge__(self, other):
        return _ew.greater_equal(self, other)

    def __eq__(self, other):  # type: ignore[override]
        return _ew.equal(self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _ew.not_equal(self, other)

    def __getitem__(self, index):
        return _sh.getitem(self, index)

    # --- methods a PyTorch/NumPy user expects -------------------------------------------------
    @property
    def T(self) -> Tensor:
        return _sh.transpose(self)

    def exp(self):
        return _ew.exp(self)

    def log(self):
        return _ew.log(self)

    def sqrt(self):
        return _ew.sqrt(self)

    def sin(self):
        return _ew.sin(self)

    def cos(self):
        return _ew.cos(self)

    def tanh(self):
        return _ew.tanh(self)

    def sigmoid(self):
        return _ew.sigmoid(self)

    def relu(self):
        return _ew.relu(self)

    def abs(self):
        return _ew.abs(self)

    def square(self):
        return _ew.square(self)

    def clip(self, lo=None, hi=None):
        return _ew.clip(self, lo, hi)

    def sum(self, axis=None, keepdims=False):
        return _red.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _red.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _red.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return _red.min(self, axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return _red.prod(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _red.var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _red.std(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims=False):
        return _red.logsumexp(self, axis, keepdims)

    def reshape(self, *shape):
        return _sh.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return _sh.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def permute(self, *axes):
        return _sh.transpose(self, axes[0] if len(axes) == 1 else axes)

    def swapaxes(self, a, b):
        return _sh.swapaxes(self, a, b)

    def flatten(self):
        return _sh.reshape(self, (-1,))

    def squeeze(self, axis=None):
        return _sh.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _sh.unsqueeze(self, axis)

    def expand(self, *shape):
        return _sh.broadcast_to(self, shape[0] if len(shape) == 1 else shape)

    def broadcast_to(self, shape):
        return _sh.broadcast_to(self, shape)

    def dot(self, other):
        return _la.dot(self, other)

    def any(self):
        return bool(self.data.any())

    def all(self):
        return bool(self.data.all())


def _untracked(name: str, fn, args, kwargs):
    """Run a NumPy function autodiff lacks on plain arrays, unless a gradient is at stake."""
    flat = list(args) + [a for v in args if isinstance(v, list | tuple) for a in v]
    if fn not in _NON_DIFFERENTIABLE and any(
        isinstance(a, Tensor) and a.requires_grad for a in flat
    ):
        raise TypeError(
            f"{name} is not differentiable by autodiff and would drop the gradient; use the "
            "autodiff function of the same name, or detach() the tensor first"
        )

    def plain(v):
        if isinstance(v, Tensor):
            return v.data
        if isinstance(v, list | tuple):
            return type(v)(plain(a) for a in v)
        return v

    return fn(*[plain(a) for a in args], **{k: plain(v) for k, v in kwargs.items()})


_SCALARS = (float, int, bool)
_CONSTANTS: dict[tuple, Tensor] = {}


def _constant(x: float, dtype: np.dtype) -> Tensor:
    """A shared, read-only constant for a Python number (scalar chains reuse ``1.0001``...)."""
    key = (x, dtype)
    found = _CONSTANTS.get(key)
    if found is not None:
        return found
    arr = np.asarray(x, dtype=dtype)
    # 0.0 == -0.0 and nan != nan: keys that would alias or never hit are not cached.
    if x == 0 or x != x or len(_CONSTANTS) >= 4096:
        return Tensor._wrap(arr)
    arr.flags.writeable = False
    found = _CONSTANTS[key] = Tensor._wrap(arr)
    return found


def _operand(x: Any, like: np.dtype | None) -> Tensor:
    """Wrap a non-Tensor operand as a constant, matching a float dtype of the other operand."""
    if isinstance(x, Tensor):
        return x
    if type(x) in _SCALARS and like is not None and like.kind == "f":
        return _constant(x, like)
    arr = as_array(x)
    if arr.dtype.kind in "biu" and like is not None and like.kind == "f":
        arr = arr.astype(like)
    return Tensor._wrap(arr)


def _operands(inputs: tuple) -> tuple[Tensor, ...]:
    like = None
    for x in inputs:
        if isinstance(x, Tensor) and x.data.dtype.kind == "f":
            like = x.data.dtype
            break
    return tuple(_operand(x, like) for x in inputs)


def _new(data: np.ndarray) -> Tensor:
    out = _object_new(Tensor)
    out.data = data
    out.grad = None
    out.requires_grad = False
    out.name = None
    out._op = None
    out._parents = ()
    out._params = _NO_PARAMS
    return out


_object_new = object.__new__
_NO_PARAMS: dict = {}


def apply(op: Op, *inputs: Any, **params: Any) -> Tensor:
    """Run ``op`` forward and, when recording, attach it to the output: the one funnel."""
    # Hot path (every operation, forward and backward): keep it free of avoidable calls.
    tensors = inputs
    for x in inputs:
        if not isinstance(x, Tensor):
            tensors = _operands(inputs)
            break
    try:
        data = op.forward(*[t.data for t in tensors], **params)
    except (ValueError, IndexError, TypeError) as exc:
        shapes = ", ".join(str(t.shape) for t in tensors)
        kind = IndexError if isinstance(exc, IndexError) else ShapeError
        raise kind(f"{op.name}: cannot apply to operands of shapes {shapes}: {exc}") from None
    if data.__class__ is not np.ndarray:
        data = np.asarray(data)
    out = _new(data)
    if _GRAD_ENABLED.get():
        # Record every op downstream of a graph input, comparisons included: the backward
        # pass only follows tensors that require grad, but symdiff.lift replays conditions.
        for t in tensors:
            if t.requires_grad or t._op is not None:
                out._op = op
                out._parents = tensors
                out._params = params
                if op.differentiable:
                    for u in tensors:
                        if u.requires_grad:
                            out.requires_grad = True
                            break
                break
    return out


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name=None) -> Tensor:
    """Create a leaf tensor (float64 unless ``data`` is float32 or ``dtype`` says otherwise).

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.tensor([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> ad.tensor(2.0, requires_grad=True)
    tensor(2., requires_grad=True)
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


# Bound at the end: the op modules import Tensor and apply from this module.
from .ops import elementwise as _ew  # noqa: E402
from .ops import linalg as _la  # noqa: E402
from .ops import reductions as _red  # noqa: E402
from .ops import shape as _sh  # noqa: E402

_UFUNCS = {
    np.add: _ew.add,
    np.subtract: _ew.sub,
    np.multiply: _ew.mul,
    np.true_divide: _ew.div,
    np.power: _ew.power,
    np.negative: _ew.neg,
    np.exp: _ew.exp,
    np.log: _ew.log,
    np.log1p: _ew.log1p,
    np.expm1: _ew.expm1,
    np.sqrt: _ew.sqrt,
    np.square: _ew.square,
    np.sin: _ew.sin,
    np.cos: _ew.cos,
    np.tan: _ew.tan,
    np.tanh: _ew.tanh,
    np.absolute: _ew.abs,
    np.sign: _ew.sign,
    np.maximum: _ew.maximum,
    np.minimum: _ew.minimum,
    np.less: _ew.less,
    np.less_equal: _ew.less_equal,
    np.greater: _ew.greater,
    np.greater_equal: _ew.greater_equal,
    np.equal: _ew.equal,
    np.not_equal: _ew.not_equal,
    np.matmul: _la.matmul,
}
_ARRAY_FUNCTIONS = {
    np.sum: _red.sum,
    np.mean: _red.mean,
    np.max: _red.max,
    np.min: _red.min,
    np.prod: _red.prod,
    np.var: _red.var,
    np.std: _red.std,
    np.reshape: _sh.reshape,
    np.transpose: _sh.transpose,
    np.swapaxes: _sh.swapaxes,
    np.broadcast_to: _sh.broadcast_to,
    np.squeeze: _sh.squeeze,
    np.expand_dims: _sh.unsqueeze,
    np.concatenate: _sh.concatenate,
    np.stack: _sh.stack,
    np.where: _ew.where,
    np.clip: _ew.clip,
    np.dot: _la.dot,
    np.outer: _la.outer,
}
# Functions whose results carry no gradient (shapes, predicates): run on the data.
_NON_DIFFERENTIABLE = {
    np.shape,
    np.ndim,
    np.size,
    np.result_type,
    np.isfinite,
    np.isnan,
    np.isinf,
    np.signbit,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.argmax,
    np.argmin,
    np.argsort,
    np.allclose,
    np.isclose,
    np.array_equal,
}

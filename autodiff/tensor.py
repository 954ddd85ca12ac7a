"""The Tensor, the ``apply`` funnel every operation goes through, and ``tensor()``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .grad_mode import _GRAD_ENABLED, _TRACING

if TYPE_CHECKING:
    from .ops.base import Op


class ShapeError(ValueError):
    """Operands whose shapes an op cannot combine; the message names the op and the shapes."""


class ConversionError(TypeError):
    """A tensor that carries a gradient was turned into a NumPy array or a Python number inside
    a differentiated function, which would silently drop its gradient.

    Raised, when ``t`` requires grad and grad mode is on, by

    * ``np.asarray(t)`` / ``np.array([t, ...])`` (``__array__``, so SciPy functions too) -
      always, as PyTorch refuses ``np.asarray`` of such a tensor (``t.detach()`` first);
    * ``t.numpy()``, ``float(t)``, ``int(t)``, ``complex(t)``, ``math.*(t)``, ``t.item()``,
      ``t.tolist()`` and ``ad.tensor(t)`` - only while a transform (``grad``, ``jvp``,
      ``lift``...) traces the function; outside transforms they work (``float(loss)``).

    Under ``no_grad()`` every conversion works.
    """


def _conversion_error(what: str) -> ConversionError:
    who = " / ".join(_TRACING.get())
    where = f"inside a differentiated function ({who})" if who else "while grad mode is on"
    return ConversionError(
        f"{what} of a tensor that requires grad {where} would "
        "silently drop its gradient. Build arrays from tensors with ad.stack([...]) (or "
        "ad.concatenate), call the autodiff function of the same name instead of the NumPy / "
        "SciPy / math one (ad.exp, ad.sum, ad.logsumexp, ...), or make the value an explicit "
        "constant with ad.stop_gradient(t) / t.detach()"
    )


def _check_conversion(t: Tensor, what: str) -> None:
    """Refuse ``what`` (a conversion to NumPy / Python) of ``t`` while a transform traces."""
    if t.requires_grad and _TRACING.get() and _GRAD_ENABLED.get():
        raise _conversion_error(what)


def _check_array_conversion(t: Tensor, what: str) -> None:
    """Refuse ``what`` (a conversion to a NumPy array) of ``t`` when grad mode is on.

    Stricter than :func:`_check_conversion`, as PyTorch's ``np.asarray(t)`` is: NumPy and SciPy
    convert implicitly, and an array made from a tensor that requires grad has lost its
    gradient whether or not a transform runs (eager code followed by ``backward()`` would
    silently miss that path), so it takes an explicit ``detach()`` / ``stop_gradient`` or
    ``no_grad()``. Explicit requests (``t.numpy()``, ``float(loss)``) stay allowed outside
    transforms.
    """
    if t.requires_grad and _GRAD_ENABLED.get():
        raise _conversion_error(what)


def _complex_error(what: str) -> TypeError:
    return TypeError(
        f"{what}: complex differentiation is not supported (only real floating-point tensors "
        "can require gradients); differentiate the real and imaginary parts as separate real "
        "tensors"
    )


def _float_dtype(dtype: Any) -> np.dtype:
    return np.dtype(dtype) if dtype is not None else np.dtype(np.float64)


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to an ndarray: float64 by default, float32 (or ints) kept from arrays."""
    if isinstance(data, Tensor):
        if data._batched:
            data.numpy()  # raises: a batched tensor has no one array of values
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray | np.generic):
        return np.asarray(data)
    arr = np.asarray(data)
    if arr.dtype.kind in "biuf" and arr.dtype != np.float32:
        return arr.astype(np.float64)
    return arr


def _holds_tensor(seq: list | tuple) -> bool:
    for v in seq:
        if isinstance(v, Tensor) or (isinstance(v, list | tuple) and _holds_tensor(v)):
            return True
    return False


def _stack_nested(seq: list | tuple, like: np.dtype | None) -> Tensor:
    """Stack a (nested) list/tuple holding tensors on the graph, like ``np.array`` would."""
    if not seq:
        raise ValueError("cannot stack an empty list/tuple that is nested among tensors")
    if like is None:
        like = _first_float_dtype(seq)
    items = [
        _stack_nested(v, like) if isinstance(v, list | tuple) else _operand(v, like) for v in seq
    ]
    return _sh.stack(items)


def _first_float_dtype(seq) -> np.dtype | None:
    for v in seq:
        if isinstance(v, Tensor):
            if v.data.dtype.kind == "f":
                return v.data.dtype
        elif isinstance(v, list | tuple):
            found = _first_float_dtype(v)
            if found is not None:
                return found
    return None


def as_tensor(x: Any) -> Tensor:
    """The one conversion of an operand to a Tensor, used by every autodiff function.

    Tensors pass through unchanged; (nested) lists/tuples that hold tensors are stacked on the
    graph (``ad.stack``), so gradients flow to every element; anything else becomes a constant
    tensor (float64 unless float32, not copied).

    Examples
    --------
    >>> import autodiff as ad
    >>> x = ad.tensor(2.0, requires_grad=True)
    >>> y = ad.as_tensor([x, 3 * x])
    >>> y.shape, y.requires_grad
    ((2,), True)
    """
    return x if isinstance(x, Tensor) else _operand(x, None)


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

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "name",
        "_op",
        "_parents",
        "_params",
        "_version",
        "_versions",
    )
    __array_priority__ = 1000  # make ndarray <op> Tensor defer to the Tensor's reflected method
    _batched = False  # True for autodiff.batching.BatchedTensor (inside vmap)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name=None):
        if isinstance(data, Tensor):
            if data._batched:
                data.numpy()  # raises: a batched tensor has no one array of values
            _check_conversion(data, "Tensor(t)")
            data = data.data
        elif isinstance(data, list | tuple) and _holds_tensor(data):
            # np.asarray would call __array__ on each element: refused under transforms, and
            # a copy cut from the graph elsewhere (as torch.tensor([t, ...]) is).
            _check_list(data)
            data = _plain(data)
        arr = as_array(data, dtype)
        # Copy what may alias the caller's memory (torch.tensor copies): a later
        # ``a[:] = 10`` must not change this tensor, its graph or its gradient.
        if arr is data or arr.base is not None:
            arr = arr.copy()
        if requires_grad:
            _check_requires_grad(arr.dtype, "tensor(requires_grad=True)")
        self.data = arr
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._op: Op | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._params: dict = {}
        self._version = 0  # bumped by every in-place write; checked by backward
        self._versions: tuple[int, ...] = ()

    # --- construction used by the funnel (no conversion, no checks) ---------------------------
    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> Tensor:
        t = _new(data)
        t.requires_grad = requires_grad
        return t

    # --- array protocol -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the data, as ``numpy.ndarray.shape``."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes (``len(t.shape)``)."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements (the product of ``t.shape``)."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data (float64 by default, float32 kept when given)."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by a recorded operation."""
        return self._op is None

    def numpy(self) -> np.ndarray:
        """Return the underlying ndarray (shared, not copied).

        An explicit request for the raw array, so it works outside transforms; inside a
        differentiated function, on a tensor that requires grad, it raises
        :class:`ConversionError` (use ``detach().numpy()`` for a deliberate constant).
        """
        _check_conversion(self, ".numpy()")
        return self.data

    def item(self) -> float:
        """Return the value of a one-element tensor as a Python number."""
        _check_conversion(self, ".item()")
        if self.data.size != 1:
            raise ValueError(
                f"item(): tensor of shape {self.shape} has {self.size} elements, not 1"
            )
        return self.data.item()

    def tolist(self) -> Any:
        """Return the values as (nested) Python lists of numbers, like ``ndarray.tolist``."""
        _check_conversion(self, ".tolist()")
        return self.data.tolist()

    def detach(self) -> Tensor:
        """Return a tensor sharing this data, cut from the graph (a constant for derivatives).

        The data is shared, not copied: an in-place write into the result also changes this
        tensor, and is not seen by its version counter.
        """
        return Tensor._wrap(self.data)

    stop_gradient = detach

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf and return self."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "requires_grad_(False) is only allowed on leaf tensors; use detach()"
            )
        if requires_grad:
            _check_requires_grad(self.dtype, "requires_grad_()")
        self.requires_grad = requires_grad
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets ``grad`` to None)."""
        self.grad = None

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
        _check_conversion(self, "float() (or a math.* function)")
        return float(self._scalar("float()"))

    def __int__(self) -> int:
        _check_conversion(self, "int()")
        return int(self._scalar("int()"))

    def __complex__(self) -> complex:
        _check_conversion(self, "complex()")
        return complex(self._scalar("complex()"))

    def _scalar(self, what: str):
        if self.data.size != 1:
            raise TypeError(
                f"{what}: only a one-element tensor converts to a Python number, got shape "
                f"{self.shape}"
            )
        return self.data.reshape(())[()]

    def __array__(self, dtype=None, copy=None):
        _check_array_conversion(self, "np.asarray() / np.array() (__array__)")
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    # --- in-place writes (PyTorch semantics, tracked by the version counter) ------------------
    def _check_inplace(self, what: str, value: Any) -> None:
        if not _GRAD_ENABLED.get():
            return
        if self.requires_grad:
            if self._op is None:
                raise RuntimeError(
                    f"{what}: a leaf Variable that requires grad is being used in an in-place "
                    "operation (in-place assignment into a tensor that requires grad would "
                    "corrupt its gradient); update parameters under `with ad.no_grad():` (as in "
                    "`w -= lr * w.grad`), or compute a new tensor out of place"
                )
            raise RuntimeError(
                f"{what}: in-place operation on a tensor of shape {self.shape} that requires "
                f"grad and was computed by {self._op.name}; autodiff does not record in-place "
                "operations, so it refuses them on graph tensors: compute a new tensor out of "
                "place (y = x + ..., ad.where, ad.concatenate) or write under no_grad()"
            )
        if _holds_grad(value):
            raise RuntimeError(
                f"{what}: the value requires grad but in-place writes are not recorded, so its "
                "gradient would be dropped; compute a new tensor out of place, or write "
                "value.detach() / under no_grad()"
            )

    def _inplace(self, ufunc, other: Any, what: str) -> Tensor:
        self._check_inplace(what, other)
        value = other.data if isinstance(other, Tensor) else _plain_value(other)
        try:
            ufunc(self.data, value, out=self.data, casting="same_kind")
        except TypeError as exc:
            raise TypeError(
                f"{what}: cannot write a {np.result_type(self.data, value)} result into a "
                f"tensor of dtype {self.dtype} in place (NumPy same_kind casting): {exc}"
            ) from None
        except ValueError as exc:
            raise _write_error(what, self, value, exc) from None
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other, "+= (in-place add)")

    def __isub__(self, other):
        return self._inplace(np.subtract, other, "-= (in-place sub)")

    def __imul__(self, other):
        return self._inplace(np.multiply, other, "*= (in-place mul)")

    def __itruediv__(self, other):
        return self._inplace(np.true_divide, other, "/= (in-place div)")

    def __setitem__(self, index: Any, value: Any) -> None:
        what = "x[...] = value (in-place assignment)"
        self._check_inplace(what, value)
        from .ops.shape import _plain_index

        value = value.data if isinstance(value, Tensor) else _plain_value(value)
        try:
            self.data[_plain_index(index)] = value
        except ValueError as exc:
            raise _write_error(what, self, value, exc) from None
        self._version += 1

    __hash__ = object.__hash__

    # --- NumPy interoperability: np.sin(t), ndarray + t, np.sum(t) stay on the graph ----------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = _UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
        if fn is None and method == "__call__" and not kwargs:
            fn = _special.foreign_ufunc(ufunc)  # scipy.special.erf(t), matched lazily
        if fn is None:
            call = ufunc if method == "__call__" else getattr(ufunc, method)
            return _untracked(f"numpy.{ufunc.__name__}", call, inputs, kwargs)
        return fn(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        fn = _ARRAY_FUNCTIONS.get(func)
        if fn is None:
            return _untracked(f"numpy.{func.__name__}", func, args, kwargs)
        return fn(*args, **kwargs)

    # --- operators: direct methods calling apply (the hot path; not generated) ----------------
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

    def __mod__(self, other):
        return apply(_special.MOD, self, other)

    def __rmod__(self, other):
        return apply(_special.MOD, other, self)

    def __round__(self, ndigits=None):
        return _special.round(self, 0 if ndigits is None else ndigits)

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
        """The transpose (all axes reversed, as ``numpy.ndarray.T``); differentiable."""
        return _sh.transpose(self)

    # Named methods (t.exp(), t.sum(axis), t.reshape(2, 3), t.astype(...), ...) are installed
    # from the op table's surfaces (autodiff.ops.surface): one declaration per op.

    def any(self):
        """True when any element is non-zero (a plain bool: no gradient flows through it)."""
        return bool(self.data.any())

    def all(self):
        """True when every element is non-zero (a plain bool: no gradient flows through it)."""
        return bool(self.data.all())


def _check_requires_grad(dtype: np.dtype, what: str) -> None:
    if dtype.kind == "c":
        raise _complex_error(what)
    if dtype.kind != "f":
        raise TypeError(
            f"{what}: only floating-point tensors can require gradients; got dtype {dtype} "
            "(cast with dtype=float)"
        )


def _holds_grad(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, list | tuple):
        return any(_holds_grad(v) for v in value)
    return False


def _check_list(seq: list | tuple) -> None:
    for v in seq:
        if isinstance(v, Tensor):
            if v._batched:
                v.numpy()  # raises: a batched tensor has no one array of values
            _check_conversion(v, "ad.tensor([...]) of a list of tensors")
        elif isinstance(v, list | tuple):
            _check_list(v)


def _plain(v: Any) -> Any:
    """Replace the tensors in (nested) lists/tuples by their data (no checks)."""
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, list | tuple):
        return type(v)(_plain(a) for a in v)
    return v


def _plain_value(value: Any) -> Any:
    """The NumPy value written by an in-place operation (lists of tensors included)."""
    if isinstance(value, list | tuple) and _holds_tensor(value):
        return np.asarray(_plain(value))
    return value


def _write_error(what: str, t: Tensor, value: Any, exc: Exception) -> Exception:
    if not t.data.flags.writeable:
        return RuntimeError(
            f"{what}: this tensor's data of shape {t.shape} is read-only (a broadcast view or a "
            "shared constant); copy it first with ad.tensor(t)"
        )
    return ShapeError(
        f"{what}: cannot write a value of shape {np.shape(value)} into a tensor of shape "
        f"{t.shape}: {exc}"
    )


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

    return fn(*[_plain(a) for a in args], **{k: _plain(v) for k, v in kwargs.items()})


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
    if isinstance(x, list | tuple) and _holds_tensor(x):
        return _stack_nested(x, like)
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
    out._version = 0
    return out


_object_new = object.__new__
_NO_PARAMS: dict = {}


def apply(op: Op, *inputs: Any, **params: Any) -> Tensor:
    """Run ``op`` forward and, when recording, attach it to the output: the one funnel."""
    # Hot path (every operation, forward and backward): keep it free of avoidable calls.
    tensors = inputs
    for x in inputs:
        if not isinstance(x, Tensor) or x._batched:
            tensors = _operands(inputs)
            for t in tensors:
                if t._batched:  # inside vmap: the op's batch rule (autodiff.batching)
                    return _record(_apply_batched(op, tensors, params), op, tensors, params)
            break
    try:
        data = op.forward(*[t.data for t in tensors], **params)
    except (ValueError, IndexError, TypeError) as exc:
        if isinstance(exc, np.linalg.LinAlgError):
            raise  # singular / not positive definite: the op's own message names op and shape
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
                # What backward checks: an in-place write since then would corrupt the VJP.
                out._versions = tuple([u._version for u in tensors])
                if op.differentiable:
                    for u in tensors:
                        if u.requires_grad:
                            if data.dtype.kind == "c":
                                raise _complex_error(op.name)
                            out.requires_grad = True
                            break
                break
    return out


def _record(out: Tensor, op: Op, tensors: tuple, params: dict) -> Tensor:
    """Attach ``op`` to ``out`` when recording (what ``apply`` does inline on its hot path)."""
    if _GRAD_ENABLED.get():
        for t in tensors:
            if t.requires_grad or t._op is not None:
                out._op = op
                out._parents = tensors
                out._params = params
                out._versions = tuple([u._version for u in tensors])
                if op.differentiable:
                    for u in tensors:
                        if u.requires_grad:
                            if out.dtype.kind == "c":
                                raise _complex_error(op.name)
                            out.requires_grad = True
                            break
                break
    return out


def _apply_batched(op: Op, tensors: tuple, params: dict) -> Tensor:
    """The batch rules' entry point (:func:`autodiff.batching.apply_batched`), bound on first
    use: ``autodiff.batching`` imports this module."""
    global _apply_batched
    from .batching import apply_batched

    _apply_batched = apply_batched
    return apply_batched(op, tensors, params)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name=None) -> Tensor:
    """Create a leaf tensor (float64 unless ``data`` is float32 or ``dtype`` says otherwise).

    The data is always copied (as ``torch.tensor`` does): writing into the caller's array later
    does not change the tensor. A tensor given as ``data`` is copied off its graph; inside a
    differentiated function that raises :class:`ConversionError` when it requires grad (keep
    the tensor, or use ``ad.stack`` for a list of tensors). Complex data cannot require grad.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.tensor([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> ad.tensor(2.0, requires_grad=True)
    tensor(2., requires_grad=True)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def stop_gradient(x: Any) -> Tensor:
    """The value of ``x`` as a constant: derivatives treat it as independent of every input.

    JAX's name for PyTorch's ``detach()``; the data is shared, not copied. Use it to make a
    deliberate NumPy / SciPy / Python conversion inside a differentiated function.

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.grad(lambda x: x * ad.stop_gradient(x))(3.0))
    3.0
    """
    return as_tensor(x).detach()


# Bound at the end: the op modules import Tensor and apply from this module.
from .ops import elementwise as _ew  # noqa: E402
from .ops import linalg as _la  # noqa: E402
from .ops import shape as _sh  # noqa: E402
from .ops import special as _special  # noqa: E402

# ufunc -> function (``__array_ufunc__``) and NumPy function -> function
# (``__array_function__``): generated from the surfaces the ops declare.
from .ops.surface import ARRAY_FUNCTIONS as _ARRAY_FUNCTIONS  # noqa: E402
from .ops.surface import UFUNCS as _UFUNCS  # noqa: E402

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


def _ravel(self) -> Tensor:
    """``t.ravel()``: the tensor as one dimension (C order), ``reshape(t, -1)``."""
    return _sh.reshape(self, -1)


def _mT(self) -> Tensor:
    """``t.mT``: the last two axes swapped (a batch of transposed matrices), as in PyTorch and
    NumPy's ``ndarray.mT``; needs at least two dimensions."""
    if self.ndim < 2:
        raise ValueError(f"mT: needs a tensor of at least 2 dimensions, got shape {self.shape}")
    return _sh.swapaxes(self, -1, -2)


# Installed unless the op table already gave them (a ``ravel`` surface may own the method).
if "ravel" not in vars(Tensor):
    Tensor.ravel = _ravel
if "mT" not in vars(Tensor):
    Tensor.mT = property(_mT)

"""Functional transforms — ``grad``, ``jvp``, ``hessian``... — that compose to any order.

Arguments may be NumPy arrays, Python numbers or Tensors. With plain inputs the results are
NumPy arrays; with Tensor inputs they are Tensors that stay connected to any enclosing
transform, which is what makes ``grad(grad(f))`` and MAML-style meta-gradients work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import numpy as np

from .engine import gradients, push_along, toposort
from .grad_mode import enable_grad, is_grad_enabled
from .ops.shape import concatenate, reshape, stack, transpose
from .tensor import Tensor, _complex_error, as_array

Argnums = int | Sequence[int]


def _name(f: Callable) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _as_input(value: Any, who: str, position: int) -> Tensor:
    """A tensor that requires grad standing for ``value``, kept on the graph when nested."""
    if isinstance(value, Tensor):
        if value.dtype.kind == "c":
            raise _complex_error(f"{who}: argument {position} has dtype {value.dtype}")
        if value.dtype.kind != "f":
            raise TypeError(
                f"{who}: argument {position} has dtype {value.dtype}; only floating-point "
                "inputs can be differentiated"
            )
        if value.requires_grad and is_grad_enabled():
            return value
        return Tensor._wrap(value.data, requires_grad=True)
    arr = np.asarray(value) if isinstance(value, np.ndarray | np.generic) else as_array(value)
    if arr.dtype.kind == "c":
        raise _complex_error(f"{who}: argument {position} has dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{who}: argument {position} has dtype {arr.dtype}; only floating-point inputs can "
            "be differentiated (cast with .astype(float))"
        )
    return Tensor._wrap(arr, requires_grad=True)


class _Trace:
    """One traced call of ``f`` with the differentiated arguments replaced by graph inputs."""

    def __init__(self, f: Callable, args: tuple, argnums: Argnums, who: str):
        self.single = isinstance(argnums, int | np.integer)
        self.argnums = (int(argnums),) if self.single else tuple(argnums)
        for i in self.argnums:
            if not -len(args) <= i < len(args):
                raise IndexError(f"{who}: argnums {i} is out of range for {len(args)} argument(s)")
        call = list(args)
        self.inputs = []
        for i in self.argnums:
            call[i] = _as_input(args[i], who, i)
            self.inputs.append(call[i])
        self.tensor_mode = any(isinstance(a, Tensor) for a in args)
        self.nested = any(isinstance(a, Tensor) and a.requires_grad for a in args)
        with enable_grad():
            out = f(*call)
        if isinstance(out, tuple | list) and any(isinstance(o, Tensor) for o in out):
            # as_array would silently detach the Tensors inside and give zero derivatives.
            raise TypeError(
                f"{who}: {_name(f)} returned a {type(out).__name__} of tensors; it must return "
                "a single Tensor (stack or concatenate the parts)"
            )
        self.raw = out
        self.out = out if isinstance(out, Tensor) else Tensor._wrap(as_array(out))
        self.create_graph = self.nested and is_grad_enabled()

    def finish(self, values: list):
        """Convert per-input results to the caller's world and collapse a single argnum."""
        values = [v if self.tensor_mode else _to_numpy(v) for v in values]
        return values[0] if self.single else tuple(values)

    def finish_output(self, value: Tensor):
        return value if self.tensor_mode else _to_numpy(value)


def _to_numpy(t: Tensor):
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return data[()] if data.ndim == 0 else data


def _scalar_grads(trace: _Trace, who: str, f: Callable) -> list[Tensor]:
    if trace.out.size != 1:
        raise TypeError(
            f"{who}: {_name(f)} must return a scalar, got a tensor of shape {trace.out.shape} "
            "(use jacobian / vjp for vector outputs)"
        )
    out = reshape(trace.out, ()) if trace.out.ndim else trace.out
    return gradients([out], trace.inputs, create_graph=trace.create_graph)


def value_and_grad(f: Callable, argnums: Argnums = 0) -> Callable:
    """Return a function computing ``(f(*args), grad f(*args))`` in one pass.

    Examples
    --------
    >>> import autodiff as ad
    >>> v, g = ad.value_and_grad(lambda x: (x ** 2).sum())([1.0, 2.0])
    >>> float(v), g
    (5.0, array([2., 4.]))
    """

    @wraps(f)
    def wrapper(*args):
        trace = _Trace(f, args, argnums, "value_and_grad")
        grads = _scalar_grads(trace, "value_and_grad", f)
        return trace.finish_output(trace.out), trace.finish(grads)

    return wrapper


def grad(f: Callable, argnums: Argnums = 0) -> Callable:
    """Return the gradient function of a scalar-valued ``f`` with respect to ``argnums``.

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.grad(lambda x: ad.sin(x) * x)(0.0))
    0.0
    >>> d3 = ad.grad(ad.grad(ad.grad(lambda x: x ** 4)))
    >>> float(d3(2.0))
    48.0
    """

    @wraps(f)
    def wrapper(*args):
        trace = _Trace(f, args, argnums, "grad")
        return trace.finish(_scalar_grads(trace, "grad", f))

    return wrapper


def vjp(f: Callable, *primals) -> tuple[Any, Callable]:
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(ct)`` gives one
    cotangent per primal.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> out, pullback = ad.vjp(lambda x: x * 3.0, np.ones(2))
    >>> pullback(np.array([1.0, 2.0]))
    (array([3., 6.]),)
    """
    trace = _Trace(f, primals, tuple(range(len(primals))), "vjp")

    def vjp_fn(cotangent):
        ct = cotangent if isinstance(cotangent, Tensor) else Tensor._wrap(as_array(cotangent))
        nested = trace.create_graph or (isinstance(ct, Tensor) and ct.requires_grad)
        grads = gradients([trace.out], trace.inputs, [ct], create_graph=nested)
        return tuple(g if trace.tensor_mode else _to_numpy(g) for g in grads)

    return trace.finish_output(trace.out), vjp_fn


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Forward mode: return ``(f(*primals), J @ tangents)`` by pushing tangents through the
    JVP rules.

    Examples
    --------
    >>> import autodiff as ad
    >>> [float(v) for v in ad.jvp(ad.sin, (0.0,), (2.0,))]
    [0.0, 2.0]
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    trace = _Trace(f, primals, tuple(range(len(primals))), "jvp")
    tans = []
    for x, t in zip(trace.inputs, tangents):
        if np.iscomplexobj(t.data if isinstance(t, Tensor) else t):
            raise _complex_error("jvp: a tangent is complex")
        t = t if isinstance(t, Tensor) else Tensor._wrap(as_array(t, x.dtype))
        if t.shape != x.shape:
            raise ValueError(f"jvp: tangent of shape {t.shape} for a primal of shape {x.shape}")
        tans.append(t)
    order = toposort([trace.out], stop={id(x) for x in trace.inputs})
    (tangent_out,) = push_along(order, [trace.out], trace.inputs, tans)
    return trace.finish_output(trace.out), trace.finish_output(tangent_out)


def _basis(x: Tensor):
    eye = np.eye(x.size, dtype=x.dtype)
    for row in eye:
        yield Tensor._wrap(row.reshape(x.shape))


def _jacobian_layout(rows: list[Tensor], out_shape, in_shape, out_major: bool) -> Tensor:
    stacked = stack(rows, axis=0)
    if out_major:  # rows are indexed by output element
        return reshape(stacked, tuple(out_shape) + tuple(in_shape))
    moved = reshape(stacked, (len(rows), -1))  # rows indexed by input element
    return reshape(transpose(moved), tuple(out_shape) + tuple(in_shape))


def jacobian(f: Callable, argnums: Argnums = 0) -> Callable:
    """Reverse-mode Jacobian: one backward pass per output element; shape ``out + in``.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.jacobian(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    @wraps(f)
    def wrapper(*args):
        trace = _Trace(f, args, argnums, "jacobian")
        flat_out = reshape(trace.out, (-1,))
        results = []
        for x in trace.inputs:
            rows = []
            for k in range(flat_out.shape[0]):
                seed = np.zeros(flat_out.shape, dtype=flat_out.dtype)
                seed[k] = 1.0
                (g,) = gradients(
                    [flat_out], [x], [Tensor._wrap(seed)], create_graph=trace.create_graph
                )
                rows.append(g)
            results.append(_jacobian_layout(rows, trace.out.shape, x.shape, out_major=True))
        return trace.finish(results)

    return wrapper


def jacfwd(f: Callable, argnums: Argnums = 0) -> Callable:
    """Forward-mode Jacobian: one tangent push per input element; shape ``out + in``."""

    @wraps(f)
    def wrapper(*args):
        trace = _Trace(f, args, argnums, "jacfwd")
        order = toposort([trace.out], stop={id(x) for x in trace.inputs})
        results = []
        for x in trace.inputs:
            rows = []
            for e in _basis(x):
                tans = [e if o is x else None for o in trace.inputs]  # None: a zero tangent
                rows.append(push_along(order, [trace.out], trace.inputs, tans)[0])
            results.append(_jacobian_layout(rows, trace.out.shape, x.shape, out_major=False))
        return trace.finish(results)

    return wrapper


def hessian(f: Callable, argnums: Argnums = 0) -> Callable:
    """Hessian of a scalar ``f`` by forward-over-reverse (``jacfwd(grad(f))``).

    With a tuple ``argnums`` the result is nested: ``H[i][j]`` has shape ``in_i + in_j``.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.hessian(lambda x: (x[0] * x[1]) ** 2)(np.array([1.0, 2.0]))
    array([[8., 8.],
           [8., 2.]])
    """
    if isinstance(argnums, int | np.integer):
        return jacfwd(grad(f, argnums), argnums)
    argnums = tuple(argnums)

    @wraps(f)
    def wrapper(*args):
        # grad with a tuple argnums returns a tuple, which jacfwd cannot push; one row each.
        return tuple(jacfwd(grad(f, int(i)), argnums)(*args) for i in argnums)

    return wrapper


def hvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Hessian-vector product ``H(x) @ v`` of a scalar ``f`` without forming ``H``.

    One primal gives one array; several give a tuple, one block row ``sum_j H_ij v_j`` each.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) == 1:
        return jvp(grad(f), primals, tangents)[1]
    argnums = tuple(range(len(primals)))

    def flat_grad(*xs):
        return concatenate([reshape(g, (-1,)) for g in grad(f, argnums)(*xs)])

    flat = jvp(flat_grad, primals, tangents)[1]
    pieces, start = [], 0
    for x in primals:
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        size = int(np.prod(shape, dtype=np.int64))
        pieces.append(reshape(flat[start : start + size], shape))
        start += size
    return tuple(p if isinstance(flat, Tensor) else _to_numpy(p) for p in pieces)


def derivative(f: Callable, order: int = 1) -> Callable:
    """The ``order``-th derivative of a scalar function of one scalar variable.

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.derivative(lambda x: x ** 5, order=3)(1.0))
    60.0
    """
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"derivative: order must be a non-negative integer, got {order!r}")
    g = f
    for _ in range(order):
        g = grad(g)
    return g

"""Functional transforms — ``grad``, ``jvp``, ``hessian``... — that compose to any order.

Arguments may be NumPy arrays, Python numbers or Tensors. With plain inputs at top level the
results are fresh, writeable NumPy arrays; with Tensor inputs, inside another transform, or
when ``f`` closes over a tensor that requires grad, they are Tensors that stay connected to the
enclosing computation, which is what makes ``grad(grad(f))`` and MAML-style meta-gradients work.

Nesting and perturbation confusion
----------------------------------
Each call of a transform differentiates only with respect to *its own* inputs. Every
differentiated argument becomes a distinct graph node: a fresh leaf for a plain value, or an
alias (an identity ``reshape`` node) whose parent is the argument when the argument is itself a
tensor that an enclosing transform (or the user) differentiates. The inner backward pass stops
at those nodes, so values that depend on an enclosing transform's variable - captured by a
closure, passed as an argument, or both - stay differentiable by the enclosing transform
(what JAX does with trace levels and HIPS autograd with per-call trace ids)::

    grad(lambda x: x * grad(lambda y: x * y)(2.0))(1.0)  # 2.0
    grad(lambda x: grad(lambda y: x * y)(x))(1.0)        # 1.0, not d(x*x)/dx
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import numpy as np

from .engine import gradients, push_along, toposort
from .grad_mode import active_transforms, enable_grad, is_grad_enabled, set_grad_enabled, tracing
from .ops.shape import concatenate, reshape, stack, transpose
from .tensor import Tensor, _complex_error, as_array

Argnums = int | Sequence[int]


def _name(f: Callable) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _as_input(value: Any, who: str, position: int) -> Tensor:
    """A graph input of this transform alone, standing for ``value``.

    A tensor that already requires grad (an enclosing transform's variable, or the user's) gets
    an alias node whose parent is that tensor: this transform's backward pass stops at the
    alias, while the enclosing one differentiates through it. Anything else becomes a fresh
    leaf.
    """
    if isinstance(value, Tensor):
        if value.dtype.kind == "c":
            raise _complex_error(f"{who}: argument {position} has dtype {value.dtype}")
        if value.dtype.kind != "f":
            raise TypeError(
                f"{who}: argument {position} has dtype {value.dtype}; only floating-point "
                "inputs can be differentiated"
            )
        if value.requires_grad and is_grad_enabled():
            return reshape(value, value.shape)  # identity node: a distinct input, same data
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


def _positions(argnums: Argnums, nargs: int, who: str) -> tuple[bool, list[int], list[int]]:
    """(single, distinct argument positions, index into them for each entry of argnums)."""
    single = isinstance(argnums, int | np.integer)
    entries = (argnums,) if single else tuple(argnums)
    positions: list[int] = []
    index: list[int] = []
    for i in entries:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"{who}: argnums must be integers, got {i!r}")
        if not -nargs <= i < nargs:
            raise IndexError(f"{who}: argnums {i} is out of range for {nargs} argument(s)")
        p = int(i) % nargs
        if p not in positions:
            positions.append(p)
        index.append(positions.index(p))
    return single, positions, index


def _connected(roots: Sequence[Tensor], inputs: Sequence[Tensor]) -> bool:
    """Whether the graph of ``roots`` reaches a tensor that requires grad other than the fresh
    leaves of this transform: an alias of an outer variable, or a captured one."""
    stop = {id(x) for x in inputs}
    for node in toposort(roots, stop):
        if id(node) in stop:
            if node._op is not None:  # an alias of an enclosing variable
                return True
        elif not node._parents:
            return True  # a captured leaf (or a graph freed by backward) that requires grad
    return False


class _Trace:
    """One traced call of ``f`` with the differentiated arguments replaced by graph inputs.

    ``create_graph``: the derivatives must be recorded because they depend on tensors that
    require grad beyond this transform's own fresh inputs. ``tensor_mode``: results are returned
    as Tensors (Tensor arguments, inside another transform, or ``create_graph``).
    """

    def __init__(
        self, f: Callable, args: tuple, kwargs: dict, argnums: Argnums, who: str, extra=()
    ):
        self.single, positions, self.index = _positions(argnums, len(args), who)
        recording = is_grad_enabled()
        call = list(args)
        self.inputs = []
        for p in positions:
            call[p] = _as_input(args[p], who, p)
            self.inputs.append(call[p])
        with enable_grad(), tracing(who):
            out = f(*call, **kwargs)
        if isinstance(out, tuple | list) and any(isinstance(o, Tensor) for o in out):
            # as_array would silently detach the Tensors inside and give zero derivatives.
            raise TypeError(
                f"{who}: {_name(f)} returned a {type(out).__name__} of tensors; it must return "
                "a single Tensor (stack or concatenate the parts)"
            )
        self.raw = out
        self.out = out if isinstance(out, Tensor) else Tensor._wrap(as_array(out))
        self.create_graph = recording and (
            any(isinstance(t, Tensor) and t.requires_grad for t in extra)
            or _connected([self.out], self.inputs)
        )
        self.tensor_mode = (
            self.create_graph
            or bool(active_transforms())
            or any(isinstance(a, Tensor) for a in (*args, *extra))
        )

    def retire(self) -> None:
        """End this transform's perturbation: its fresh leaves stop requiring grad.

        Results recorded with ``create_graph`` may still lead to them; once retired, enclosing
        transforms (and ``backward``) treat them as constants instead of as captured variables.
        """
        for x in self.inputs:
            if x._op is None:
                x.requires_grad = False

    def revive(self) -> None:
        """Make the fresh leaves graph inputs again (each call of a ``vjp`` pullback)."""
        for x in self.inputs:
            if x._op is None:
                x.requires_grad = True

    def finish(self, values: list):
        """Convert per-input results to the caller's world and lay them out like argnums."""
        picked = [self.convert(values[k]) for k in self.index]
        return picked[0] if self.single else tuple(picked)

    def convert(self, value: Tensor):
        """A result as the caller gets it: a Tensor, or a fresh writeable NumPy array."""
        return _result(value, self.tensor_mode, self.create_graph)


def _owned(data: np.ndarray) -> np.ndarray:
    """A C-contiguous, writeable copy that shares memory with nothing else."""
    return np.array(data, order="C", copy=True)


def _result(value: Tensor, tensor_mode: bool, connected: bool):
    if tensor_mode:
        # Connected results keep their graph. Anything else can only lead to this transform's
        # retired leaves: it is returned detached, with memory of its own.
        if connected and value.requires_grad:
            return value
        return Tensor._wrap(_owned(value.data))
    return _to_numpy(value)


def _to_numpy(t: Tensor):
    data = _owned(t.data if isinstance(t, Tensor) else np.asarray(t))
    return data[()] if data.ndim == 0 else data


def _scalar_grads(trace: _Trace, who: str, f: Callable) -> list[Tensor]:
    if trace.out.size != 1:
        raise TypeError(
            f"{who}: {_name(f)} must return a scalar, got a tensor of shape {trace.out.shape} "
            "(use jacobian / vjp for vector outputs)"
        )
    out = reshape(trace.out, ()) if trace.out.ndim else trace.out
    grads = gradients([out], trace.inputs, create_graph=trace.create_graph)
    trace.retire()
    return grads


def value_and_grad(f: Callable, argnums: Argnums = 0) -> Callable:
    """Return a function computing ``(f(*args, **kwargs), grad f(*args, **kwargs))`` in one
    pass.

    Keyword arguments are passed through to ``f`` and not differentiated. Nests like
    :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad
    >>> v, g = ad.value_and_grad(lambda x: (x ** 2).sum())([1.0, 2.0])
    >>> float(v), g
    (5.0, array([2., 4.]))
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "value_and_grad")
        grads = _scalar_grads(trace, "value_and_grad", f)
        return trace.convert(trace.out), trace.finish(grads)

    return wrapper


def grad(f: Callable, argnums: Argnums = 0) -> Callable:
    """Return the gradient function of a scalar-valued ``f`` with respect to ``argnums``.

    ``argnums`` is an int (one gradient) or a sequence of ints (a tuple of gradients, one per
    entry; a repeated entry gets the same gradient, as in JAX). Keyword arguments are passed
    through to ``f`` and not differentiated.

    Transforms nest to any depth, and an inner transform differentiates only with respect to
    its own arguments: a variable of an enclosing transform that the inner function captures
    (or receives as its argument) stays differentiable by the enclosing one. The result is a
    NumPy array (a NumPy scalar for a scalar argument) at top level; it is a Tensor connected to
    the graph when an argument is a Tensor, inside another transform, or when ``f`` captures a
    tensor that requires grad.

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.grad(lambda x: ad.sin(x) * x)(0.0))
    0.0
    >>> d3 = ad.grad(ad.grad(ad.grad(lambda x: x ** 4)))
    >>> float(d3(2.0))
    48.0

    The inner ``grad`` gives ``x`` (a function of the outer variable), so the outer one
    differentiates ``x * x``:

    >>> float(ad.grad(lambda x: x * ad.grad(lambda y: x * y)(2.0))(1.0))
    2.0
    >>> float(ad.grad(lambda x, scale: scale * x ** 2)(3.0, scale=0.5))
    3.0
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "grad")
        return trace.finish(_scalar_grads(trace, "grad", f))

    return wrapper


def vjp(f: Callable, *primals) -> tuple[Any, Callable]:
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(ct)`` gives one
    cotangent per primal.

    The pullback is recorded (and returns Tensors) when the output depends on tensors of an
    enclosing transform or when the cotangent requires grad, so ``vjp`` nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> out, pullback = ad.vjp(lambda x: x * 3.0, np.ones(2))
    >>> pullback(np.array([1.0, 2.0]))
    (array([3., 6.]),)
    """
    trace = _Trace(f, primals, {}, tuple(range(len(primals))), "vjp")
    trace.retire()

    def vjp_fn(cotangent):
        ct = cotangent if isinstance(cotangent, Tensor) else Tensor._wrap(as_array(cotangent))
        if ct.shape != trace.out.shape:
            raise ValueError(
                f"vjp: cotangent has shape {ct.shape}, the output of {_name(f)} has shape "
                f"{trace.out.shape}"
            )
        nested = trace.create_graph or (ct.requires_grad and is_grad_enabled())
        trace.revive()
        try:
            grads = gradients([trace.out], trace.inputs, [ct], create_graph=nested)
        finally:
            trace.retire()
        tensor_mode = trace.tensor_mode or nested or isinstance(cotangent, Tensor)
        return tuple(_result(g, tensor_mode, nested) for g in grads)

    return trace.convert(trace.out), vjp_fn


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Forward mode: return ``(f(*primals), J @ tangents)`` by pushing tangents through the
    JVP rules.

    Only this call's tangents are pushed; values depending on an enclosing transform's variables
    (captured, or in ``primals`` / ``tangents``) stay differentiable by it.

    Examples
    --------
    >>> import autodiff as ad
    >>> [float(v) for v in ad.jvp(ad.sin, (0.0,), (2.0,))]
    [0.0, 2.0]
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    trace = _Trace(f, primals, {}, tuple(range(len(primals))), "jvp", extra=tangents)
    tans = []
    for x, t in zip(trace.inputs, tangents):
        if np.iscomplexobj(t.data if isinstance(t, Tensor) else t):
            raise _complex_error("jvp: a tangent is complex")
        t = t if isinstance(t, Tensor) else Tensor._wrap(as_array(t, x.dtype))
        if t.shape != x.shape:
            raise ValueError(f"jvp: tangent of shape {t.shape} for a primal of shape {x.shape}")
        tans.append(t)
    order = toposort([trace.out], stop={id(x) for x in trace.inputs})
    with set_grad_enabled(trace.create_graph):
        (tangent_out,) = push_along(order, [trace.out], trace.inputs, tans)
    trace.retire()
    return trace.convert(trace.out), trace.convert(tangent_out)


def _basis(x: Tensor):
    eye = np.eye(x.size, dtype=x.dtype)
    for row in eye:
        yield Tensor._wrap(row.reshape(x.shape))


def _jacobian_layout(rows: list[Tensor], out_shape, in_shape, out_major: bool, dtype) -> Tensor:
    shape = tuple(out_shape) + tuple(in_shape)
    if not rows:  # an empty input or output: nothing to stack, the result is empty too
        return Tensor._wrap(np.zeros(shape, dtype=dtype))
    stacked = stack(rows, axis=0)
    if out_major:  # rows are indexed by output element
        return reshape(stacked, shape)
    moved = reshape(stacked, (len(rows), -1))  # rows indexed by input element
    return reshape(transpose(moved), shape)


def jacobian(f: Callable, argnums: Argnums = 0) -> Callable:
    """Reverse-mode Jacobian: one backward pass per output element; shape ``out + in``.

    Keyword arguments are passed through to ``f``; empty inputs or outputs give an empty
    Jacobian of shape ``out + in``. Nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.jacobian(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "jacobian")
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
            dtype = np.result_type(trace.out.dtype, x.dtype)
            results.append(_jacobian_layout(rows, trace.out.shape, x.shape, True, dtype))
        trace.retire()
        return trace.finish(results)

    return wrapper


def jacfwd(f: Callable, argnums: Argnums = 0) -> Callable:
    """Forward-mode Jacobian: one tangent push per input element; shape ``out + in``.

    Keyword arguments are passed through to ``f``; empty inputs or outputs give an empty
    Jacobian of shape ``out + in``. Nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.jacfwd(lambda x: ad.sum(x) * x)(np.array([1.0, 2.0]))
    array([[4., 1.],
           [2., 5.]])
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "jacfwd")
        order = toposort([trace.out], stop={id(x) for x in trace.inputs})
        results = []
        with set_grad_enabled(trace.create_graph):
            for x in trace.inputs:
                rows = []
                for e in _basis(x):
                    tans = [e if o is x else None for o in trace.inputs]  # None: a zero tangent
                    rows.append(push_along(order, [trace.out], trace.inputs, tans)[0])
                dtype = np.result_type(trace.out.dtype, x.dtype)
                results.append(_jacobian_layout(rows, trace.out.shape, x.shape, False, dtype))
        trace.retire()
        return trace.finish(results)

    return wrapper


def hessian(f: Callable, argnums: Argnums = 0) -> Callable:
    """Hessian of a scalar ``f`` by forward-over-reverse (``jacfwd(grad(f))``).

    With a tuple ``argnums`` the result is nested: ``H[i][j]`` has shape ``in_i + in_j``.
    Keyword arguments are passed through to ``f``. Nests like :func:`grad`: a Hessian taken
    inside another transform stays differentiable with respect to the variables it captures.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.hessian(lambda x: (x[0] * x[1]) ** 2)(np.array([1.0, 2.0]))
    array([[8., 8.],
           [8., 2.]])
    >>> ad.hessian(lambda x: ad.sum(x ** 3))(np.zeros(0)).shape
    (0, 0)
    """
    if isinstance(argnums, int | np.integer):
        return jacfwd(grad(f, argnums), argnums)
    argnums = tuple(argnums)

    @wraps(f)
    def wrapper(*args, **kwargs):
        # grad with a tuple argnums returns a tuple, which jacfwd cannot push; one row each.
        return tuple(jacfwd(grad(f, int(i)), argnums)(*args, **kwargs) for i in argnums)

    return wrapper


def hvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Hessian-vector product ``H(x) @ v`` of a scalar ``f`` without forming ``H``.

    One primal gives one array; several give a tuple, one block row ``sum_j H_ij v_j`` each.
    Nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.hvp(lambda x: ad.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
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

    Keyword arguments of the returned function are passed through to ``f``.

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

"""Functional transforms — ``grad``, ``jvp``, ``hessian``... — that compose to any order.

Arguments may be NumPy arrays, Python numbers or Tensors. With plain inputs at top level the
results are fresh, writeable NumPy arrays; with Tensor inputs, inside another transform, or
when ``f`` closes over a tensor that requires grad, they are Tensors that stay connected to the
enclosing computation, which is what makes ``grad(grad(f))`` and MAML-style meta-gradients work.

Differentiated arguments and outputs may be pytrees (nested lists, tuples and dicts of arrays,
see :mod:`autodiff.tree`); ``has_aux=True`` lets ``f`` return ``(output, aux)``. ``jacfwd``,
``jacobian`` and ``hessian`` push (or pull) all basis vectors at once with ``vmap``
(:mod:`autodiff.batching`), and every transform works inside ``vmap`` and on functions that
use it.

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

from . import tree
from .batching import fresh_leaf, vmap
from .engine import gradients, push_along, toposort
from .grad_mode import active_transforms, enable_grad, is_grad_enabled, set_grad_enabled, tracing
from .ops.elementwise import cast
from .ops.shape import reshape, transpose
from .tensor import Tensor, _complex_error, as_array

Argnums = int | Sequence[int]


def _name(f: Callable) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _as_input(value: Any, who: str, position: int) -> Tensor:
    """A graph input of this transform alone, standing for ``value``.

    A tensor that already requires grad (an enclosing transform's variable, or the user's) gets
    an alias node whose parent is that tensor: this transform's backward pass stops at the
    alias, while the enclosing one differentiates through it. Anything else becomes a fresh
    leaf (inside ``vmap``, a fresh batched leaf).
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
        if value._batched:
            return fresh_leaf(value)
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


_NUMBERS = (int, float, bool, np.number, np.bool_)


def _numbers_only(seq: list | tuple) -> bool:
    return all(
        isinstance(v, _NUMBERS) or (isinstance(v, list | tuple) and _numbers_only(v)) for v in seq
    )


def _is_tree(x: Any) -> bool:
    """Whether an argument is a pytree of arrays rather than one array.

    Dicts (and None) are trees; a list or tuple is one array when it holds only numbers (as
    ``np.asarray`` reads ``[1.0, 2.0]``), and a tree when it holds tensors, arrays or dicts.
    """
    if isinstance(x, dict) or x is None:
        return True
    return isinstance(x, list | tuple) and not _numbers_only(x)


def _has_tensor(values) -> bool:
    for v in values:
        if isinstance(v, Tensor):
            return True
        if isinstance(v, list | tuple | dict) and _has_tensor(tree.leaves(v)):
            return True
    return False


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
    leaves of this transform: an alias of an outer variable, or a captured one.

    A depth-first walk that stops at the first such tensor (inside an enclosing transform
    that is usually one of the first few nodes), instead of sorting the whole graph.
    """
    stop = {id(x) for x in inputs}
    seen: set[int] = set()
    pending = [r for r in roots if r.requires_grad]
    while pending:
        node = pending.pop()
        key = id(node)
        if key in seen:
            continue
        seen.add(key)
        if key in stop:
            if node._op is not None:  # an alias of an enclosing variable
                return True
            continue
        if not node._parents:
            return True  # a captured leaf (or a graph freed by backward) that requires grad
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                pending.append(parent)
    return False


class _Trace:
    """One traced call of ``f`` with the differentiated arguments replaced by graph inputs.

    Differentiated arguments may be pytrees: ``inputs`` holds one graph input per leaf, and
    ``groups`` how they regroup per argument. The output may be a pytree too (``out_leaves``,
    ``out_def``); ``out`` is the output when it is a single tensor. With ``has_aux``, ``f``
    returns ``(output, aux)`` and ``aux`` is kept aside.

    ``create_graph``: the derivatives must be recorded because they depend on tensors that
    require grad beyond this transform's own fresh inputs. ``tensor_mode``: results are returned
    as Tensors (Tensor arguments, inside another transform, or ``create_graph``).
    """

    def __init__(
        self,
        f: Callable,
        args: tuple,
        kwargs: dict,
        argnums: Argnums,
        who: str,
        extra=(),
        has_aux: bool = False,
    ):
        self.single, positions, self.index = _positions(argnums, len(args), who)
        recording = is_grad_enabled()
        call = list(args)
        self.inputs: list[Tensor] = []
        self.groups: list[tuple[tree.TreeDef | None, int, int]] = []
        for p in positions:
            start = len(self.inputs)
            if _is_tree(args[p]):
                leaves, treedef = tree.flatten(args[p])
                self.inputs += [_as_input(v, who, p) for v in leaves]
                call[p] = treedef.unflatten(self.inputs[start:])
            else:
                treedef = None
                call[p] = _as_input(args[p], who, p)
                self.inputs.append(call[p])
            self.groups.append((treedef, start, len(self.inputs)))
        with enable_grad(), tracing(who):
            out = f(*call, **kwargs)
        self.aux = None
        if has_aux:
            if not (isinstance(out, tuple | list) and len(out) == 2):
                raise TypeError(
                    f"{who}: with has_aux=True, {_name(f)} must return a pair (output, aux), "
                    f"got {type(out).__name__}"
                )
            out, self.aux = out
        self.raw = out
        leaves, self.out_def = tree.flatten(out)
        self.out_leaves = [
            o if isinstance(o, Tensor) else Tensor._wrap(as_array(o)) for o in leaves
        ]
        self.out = self.out_leaves[0] if self.out_def == _LEAF else None
        self.create_graph = recording and (
            _has_grad(extra) or _connected(self.out_leaves, self.inputs)
        )
        self.tensor_mode = (
            self.create_graph or bool(active_transforms()) or _has_tensor((*args, *extra))
        )

    def single_output(self, what: str) -> Tensor:
        """The output, which must be one tensor (not a pytree) for ``what``."""
        if self.out is None:
            raise TypeError(
                f"{what} must return a single tensor, got a {type(self.raw).__name__} of "
                f"structure {self.out_def} (stack or concatenate the parts)"
            )
        return self.out

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

    def regroup(self, values: list, convert: bool = True) -> list:
        """Per differentiated argument: its value (one per input) rebuilt into its pytree."""
        grouped = []
        for treedef, a, b in self.groups:
            items = [self.convert(v) if convert else v for v in values[a:b]]
            grouped.append(items[0] if treedef is None else treedef.unflatten(items))
        return grouped

    def finish(self, values: list, convert: bool = True):
        """Convert per-input results to the caller's world and lay them out like argnums."""
        grouped = self.regroup(values, convert=False)
        picked = [self.convert_tree(grouped[k]) if convert else grouped[k] for k in self.index]
        return picked[0] if self.single else tuple(picked)

    def convert(self, value: Tensor):
        """A result as the caller gets it: a Tensor, or a fresh writeable NumPy array."""
        return _result(value, self.tensor_mode, self.create_graph)

    def convert_tree(self, value: Any) -> Any:
        """Every tensor leaf of ``value`` (an output or aux) as the caller gets it."""
        return tree.map(lambda v: self.convert(v) if isinstance(v, Tensor) else v, value)


_LEAF = tree.flatten(0)[1]


def _has_grad(values) -> bool:
    return any(isinstance(t, Tensor) and t.requires_grad for t in tree.leaves(list(values)))


def _owned(data: np.ndarray) -> np.ndarray:
    """A C-contiguous, writeable copy that shares memory with nothing else."""
    return np.array(data, order="C", copy=True)


def _result(value: Tensor, tensor_mode: bool, connected: bool):
    if tensor_mode:
        # Connected results keep their graph. Anything else can only lead to this transform's
        # retired leaves: it is returned detached, with memory of its own.
        if connected and value.requires_grad:
            return value
        if value._batched:
            return value.detach()
        return Tensor._wrap(_owned(value.data))
    return _to_numpy(value)


def _to_numpy(t: Tensor):
    data = _owned(t.data if isinstance(t, Tensor) else np.asarray(t))
    return data[()] if data.ndim == 0 else data


def _scalar_grads(trace: _Trace, who: str, f: Callable) -> list[Tensor]:
    out = trace.out
    if out is None or out.size != 1:
        got = f"shape {out.shape}" if out is not None else f"structure {trace.out_def}"
        raise TypeError(
            f"{who}: {_name(f)} must return a scalar, got a tensor of {got} "
            "(use jacobian / vjp for vector outputs)"
        )
    out = reshape(out, ()) if out.ndim else out
    grads = gradients([out], trace.inputs, create_graph=trace.create_graph)
    trace.retire()
    return grads


def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Return a function computing ``(f(*args, **kwargs), grad f(*args, **kwargs))`` in one
    pass.

    Keyword arguments are passed through to ``f`` and not differentiated; differentiated
    arguments may be pytrees (the gradient has the same structure). With ``has_aux=True``,
    ``f`` returns ``(value, aux)`` and the result is ``((value, aux), grad)`` (JAX). Nests
    like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad
    >>> v, g = ad.value_and_grad(lambda x: (x ** 2).sum())([1.0, 2.0])
    >>> float(v), g
    (5.0, array([2., 4.]))
    >>> (v, aux), g = ad.value_and_grad(lambda x: (x ** 2, x + 1), has_aux=True)(3.0)
    >>> float(v), float(aux), float(g)
    (9.0, 4.0, 6.0)
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "value_and_grad", has_aux=has_aux)
        grads = _scalar_grads(trace, "value_and_grad", f)
        value = trace.convert(trace.out)
        if has_aux:
            return (value, trace.convert_tree(trace.aux)), trace.finish(grads)
        return value, trace.finish(grads)

    return wrapper


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Return the gradient function of a scalar-valued ``f`` with respect to ``argnums``.

    ``argnums`` is an int (one gradient) or a sequence of ints (a tuple of gradients, one per
    entry; a repeated entry gets the same gradient, as in JAX). Keyword arguments are passed
    through to ``f`` and not differentiated. A differentiated argument may be a pytree (nested
    lists, tuples, dicts of arrays; a list of plain numbers is one array): its gradient has
    the same structure. With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the result
    is ``(grad, aux)`` (JAX).

    Transforms nest to any depth, and an inner transform differentiates only with respect to
    its own arguments: a variable of an enclosing transform that the inner function captures
    (or receives as its argument) stays differentiable by the enclosing one. The result is a
    NumPy array (a NumPy scalar for a scalar argument) at top level; it is a Tensor connected to
    the graph when an argument is a Tensor, inside another transform, or when ``f`` captures a
    tensor that requires grad.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
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
    >>> params = {"w": np.array([1.0, 2.0]), "b": np.array(0.5)}
    >>> g = ad.grad(lambda p, x: ad.sum(p["w"] * x) + p["b"])(params, np.array([3.0, 4.0]))
    >>> g["w"], float(g["b"])
    (array([3., 4.]), 1.0)
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "grad", has_aux=has_aux)
        grads = trace.finish(_scalar_grads(trace, "grad", f))
        if has_aux:
            return grads, trace.convert_tree(trace.aux)
        return grads

    return wrapper


def vjp(f: Callable, *primals, has_aux: bool = False) -> tuple[Any, ...]:
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(ct)`` gives one
    cotangent per primal.

    Primals, the output and cotangents may be pytrees (``ct`` has the structure of ``out``).
    With ``has_aux=True``, ``f`` returns ``(out, aux)`` and ``vjp`` returns
    ``(out, vjp_fn, aux)``. The pullback is recorded (and returns Tensors) when the output
    depends on tensors of an enclosing transform or when the cotangent requires grad, so
    ``vjp`` nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> out, pullback = ad.vjp(lambda x: x * 3.0, np.ones(2))
    >>> pullback(np.array([1.0, 2.0]))
    (array([3., 6.]),)
    """
    trace = _Trace(f, primals, {}, tuple(range(len(primals))), "vjp", has_aux=has_aux)
    trace.retire()

    def vjp_fn(cotangent):
        ct_leaves, ct_def = tree.flatten(cotangent)
        if ct_def != trace.out_def:
            raise ValueError(
                f"vjp: the cotangent has structure {ct_def}, the output of {_name(f)} has "
                f"{trace.out_def}"
            )
        cts = []
        for c, o in zip(ct_leaves, trace.out_leaves):
            ct = c if isinstance(c, Tensor) else Tensor._wrap(as_array(c))
            if ct.shape != o.shape:
                raise ValueError(
                    f"vjp: cotangent has shape {ct.shape}, the output of {_name(f)} has shape "
                    f"{o.shape}"
                )
            cts.append(ct)
        nested = trace.create_graph or (_has_grad(cts) and is_grad_enabled())
        trace.revive()
        try:
            grads = gradients(trace.out_leaves, trace.inputs, cts, create_graph=nested)
        finally:
            trace.retire()
        tensor_mode = trace.tensor_mode or nested or _has_tensor(ct_leaves)
        return tuple(trace.regroup([_result(g, tensor_mode, nested) for g in grads], convert=False))

    out = trace.convert_tree(trace.raw)
    if has_aux:
        return out, vjp_fn, trace.convert_tree(trace.aux)
    return out, vjp_fn


def jvp(f: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False):
    """Forward mode: return ``(f(*primals), J @ tangents)`` by pushing tangents through the
    JVP rules.

    Primals and tangents may be pytrees of the same structure; the output tangent has the
    structure of the output. With ``has_aux=True``, ``f`` returns ``(out, aux)`` and ``jvp``
    returns ``(out, tangent_out, aux)``. Only this call's tangents are pushed; values depending
    on an enclosing transform's variables (captured, or in ``primals`` / ``tangents``) stay
    differentiable by it. Inside ``vmap`` the tangents may be batched: ``jacfwd`` pushes all
    its basis tangents at once that way.

    Examples
    --------
    >>> import autodiff as ad
    >>> [float(v) for v in ad.jvp(ad.sin, (0.0,), (2.0,))]
    [0.0, 2.0]
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    trace = _Trace(
        f, primals, {}, tuple(range(len(primals))), "jvp", extra=tangents, has_aux=has_aux
    )
    tans = []
    for k, ((treedef, a, b), t) in enumerate(zip(trace.groups, tangents)):
        t_leaves, t_def = ([t], None) if treedef is None else tree.flatten(t)
        if treedef is not None and t_def != treedef:
            raise ValueError(f"jvp: tangent {k} has structure {t_def}, its primal {treedef}")
        for x, t in zip(trace.inputs[a:b], t_leaves):
            if np.iscomplexobj(t.data if isinstance(t, Tensor) else t):
                raise _complex_error("jvp: a tangent is complex")
            t = t if isinstance(t, Tensor) else Tensor._wrap(as_array(t, x.dtype))
            if t.shape != x.shape:
                raise ValueError(f"jvp: tangent of shape {t.shape} for a primal of shape {x.shape}")
            tans.append(t)
    order = toposort(trace.out_leaves, stop={id(x) for x in trace.inputs})
    with set_grad_enabled(trace.create_graph):
        tangent_out = push_along(order, trace.out_leaves, trace.inputs, tans)
    trace.retire()
    out = trace.convert_tree(trace.raw)
    t_out = trace.out_def.unflatten([trace.convert(t) for t in tangent_out])
    if has_aux:
        return out, t_out, trace.convert_tree(trace.aux)
    return out, t_out


def _to_end(block: Tensor, out_shape: tuple, in_shape: tuple) -> Tensor:
    """``(n_in, *out)`` (one row per input element) laid out as ``out + in``."""
    if block.ndim > 1:
        block = transpose(block, tuple(range(1, block.ndim)) + (0,))
    return reshape(block, tuple(out_shape) + tuple(in_shape))


def _jacobian_result(trace: _Trace, blocks: list[list[Tensor]]):
    """JAX's layout: the output's structure, each leaf replaced by the inputs' structure."""
    per_out = [trace.finish(row) for row in blocks]
    result = trace.out_def.unflatten(per_out)
    if trace.aux is not None:
        return result, trace.convert_tree(trace.aux)
    return result


def _basis_batch(x: Tensor) -> Tensor:
    """The ``x.size`` unit tangents of ``x``, stacked on a new axis 0."""
    n = x.size
    return Tensor._wrap(np.eye(n, dtype=x.dtype).reshape((n,) + tuple(x.shape)))


def jacobian(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Reverse-mode Jacobian: all output cotangents pulled back at once (``vmap`` of one
    backward pass); shape ``out + in``.

    Arguments and outputs may be pytrees (the result has the output's structure with each
    leaf replaced by the arguments' structure, as JAX's ``jacrev``). Keyword arguments are
    passed through to ``f``; with ``has_aux=True`` the result is ``(jacobian, aux)``. Empty
    inputs or outputs give an empty Jacobian of shape ``out + in``. Nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.jacobian(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    @wraps(f)
    def wrapper(*args, **kwargs):
        trace = _Trace(f, args, kwargs, argnums, "jacobian", has_aux=has_aux)
        blocks = []
        for o in trace.out_leaves:
            m = o.size
            if m == 0 or not trace.inputs:
                rows = [_empty(o, x) for x in trace.inputs]
            else:

                def pull(ct, o=o):
                    return gradients([o], trace.inputs, [ct], create_graph=trace.create_graph)

                pulled = vmap(pull)(_basis_batch(o))
                rows = [
                    reshape(p, tuple(o.shape) + tuple(x.shape))
                    for p, x in zip(pulled, trace.inputs)
                ]
            blocks.append([_cast_to(r, o, x) for r, x in zip(rows, trace.inputs)])
        trace.retire()
        return _jacobian_result(trace, blocks)

    return wrapper


def _empty(o: Tensor, x: Tensor) -> Tensor:
    dtype = np.result_type(o.dtype, x.dtype)
    return Tensor._wrap(np.zeros(tuple(o.shape) + tuple(x.shape), dtype=dtype))


def _cast_to(block: Tensor, o: Tensor, x: Tensor) -> Tensor:
    dtype = np.result_type(o.dtype, x.dtype)
    return block if block.dtype == dtype else cast(block, dtype)


def jacfwd(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Forward-mode Jacobian: all basis tangents pushed at once (``vmap`` of one tangent
    push through the recorded graph); shape ``out + in``.

    ``f`` is traced once; the tangents then travel the graph as one batch, so the cost is a
    few batched operations per node rather than one push per input element. Arguments and
    outputs may be pytrees (JAX's layout: the output's structure, each leaf replaced by the
    arguments' structure). Keyword arguments are passed through to ``f``; with
    ``has_aux=True`` the result is ``(jacobian, aux)``. Empty inputs or outputs give an empty
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
        trace = _Trace(f, args, kwargs, argnums, "jacfwd", has_aux=has_aux)
        order = toposort(trace.out_leaves, stop={id(x) for x in trace.inputs})
        outs = trace.out_leaves
        columns = []  # per input: one (out + in) block per output
        with set_grad_enabled(trace.create_graph):
            for x in trace.inputs:
                if x.size == 0 or not outs:
                    columns.append([_empty(o, x) for o in outs])
                    continue

                def push(e, x=x):
                    tans = [e if o is x else None for o in trace.inputs]  # None: zero tangent
                    return push_along(order, outs, trace.inputs, tans)

                pushed = vmap(push)(_basis_batch(x))
                columns.append(
                    [_cast_to(_to_end(p, o.shape, x.shape), o, x) for p, o in zip(pushed, outs)]
                )
        trace.retire()
        blocks = [[col[i] for col in columns] for i in range(len(outs))]
        return _jacobian_result(trace, blocks)

    return wrapper


def hessian(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Hessian of a scalar ``f`` by forward-over-reverse (``jacfwd(grad(f))``), with all
    tangents pushed at once through the gradient's graph.

    With a tuple ``argnums`` the result is nested: ``H[i][j]`` has shape ``in_i + in_j``; for
    pytree arguments it is a tree of trees (JAX). ``ad.tree.ravel`` turns a pytree of
    parameters into one vector for a single square matrix. Keyword arguments are passed
    through to ``f``; with ``has_aux=True`` the result is ``(hessian, aux)``. Nests like
    :func:`grad`: a Hessian taken inside another transform stays differentiable with respect
    to the variables it captures.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.hessian(lambda x: (x[0] * x[1]) ** 2)(np.array([1.0, 2.0]))
    array([[8., 8.],
           [8., 2.]])
    >>> ad.hessian(lambda x: ad.sum(x ** 3))(np.zeros(0)).shape
    (0, 0)
    """
    return jacfwd(grad(f, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


def hvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Hessian-vector product ``H(x) @ v`` of a scalar ``f`` without forming ``H``.

    One primal gives one array; several give a tuple, one block row ``sum_j H_ij v_j`` each.
    Primals may be pytrees. Nests like :func:`grad`.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> ad.hvp(lambda x: ad.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(f, argnums), primals, tangents)[1]


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

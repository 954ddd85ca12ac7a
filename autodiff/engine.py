"""Graph interpreters: reverse accumulation (backward) and tangent push-forward (forward mode).

Both walk the graph recorded by ``apply``; neither knows any op by name. The only place where
gradients are reduced to an input's shape (undoing broadcasting) is :func:`_accumulate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .grad_mode import set_grad_enabled
from .ops.base import Op
from .ops.builders import zeros_like
from .ops.elementwise import cast
from .ops.shape import broadcast_to, sum_to_shape
from .tensor import Tensor, as_array


def toposort(
    roots: Iterable[Tensor], stop: set[int] = frozenset(), recorded: bool = False
) -> list[Tensor]:
    """Tensors that require grad and lead to ``roots``, parents before children.

    Iterative (no recursion limit on long chains); ids in ``stop`` are not expanded further.
    With ``recorded=True`` every recorded tensor is followed, including non-differentiable
    ones such as comparisons (what symbolic replay needs).
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots if recorded or r.requires_grad]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        key = id(node)
        if key in seen:
            continue
        seen.add(key)
        stack.append((node, True))
        if key in stop:
            continue
        for parent in node._parents:
            if id(parent) not in seen and (
                parent.requires_grad or (recorded and parent._op is not None)
            ):
                stack.append((parent, False))
    return order


def _seed(output: Tensor, gradient, who: str) -> Tensor:
    if gradient is None:
        if output.size != 1:
            raise RuntimeError(
                f"{who}: output has shape {output.shape}; gradients can only be created "
                "implicitly for scalar outputs (pass gradient= / grad_outputs= of that shape)"
            )
        return Tensor._wrap(np.ones(output.shape, dtype=output.dtype))
    seed = gradient if isinstance(gradient, Tensor) else Tensor._wrap(as_array(gradient))
    if seed.shape != output.shape:
        raise RuntimeError(f"{who}: gradient has shape {seed.shape}, output has {output.shape}")
    return seed


def _accumulate(grads: dict[int, Tensor], parent: Tensor, g: Tensor) -> None:
    gd, pd = g.data, parent.data
    if g._batched or parent._batched:  # inside vmap: compare one example's shapes
        if g.shape != parent.shape:
            g = sum_to_shape(g, parent.shape)
    elif gd.shape != pd.shape:
        g = sum_to_shape(g, pd.shape)
    if gd.dtype != pd.dtype and pd.dtype.kind == "f":
        # A float32 input mixed with float64 constants still gets a float32 gradient.
        g = cast(g, parent.dtype)
    key = id(parent)
    previous = grads.get(key)
    grads[key] = g if previous is None else previous + g


def _backprop(
    outputs: Sequence[Tensor],
    seeds: Sequence[Tensor],
    create_graph: bool,
    stop: set[int] = frozenset(),
    free: bool = False,
) -> dict[int, Tensor]:
    """Run reverse accumulation; returns id -> (tensor, gradient) for the leaves and ``stop``.

    With ``free=True`` each node forgets its parents once its VJP has run, so activations are
    released during the pass instead of after it (PyTorch's default, ``retain_graph=False``).
    """
    order = toposort(outputs, stop)
    grads: dict[int, Tensor] = {}
    done: dict[int, tuple[Tensor, Tensor]] = {}
    with set_grad_enabled(create_graph):
        for out, seed in zip(outputs, seeds):
            if out.requires_grad:
                _accumulate(grads, out, seed)
        while order:
            node = order.pop()
            key = id(node)
            g = grads.pop(key, None)
            if g is None:
                continue
            if node._op is None or key in stop:
                done[key] = (node, g)  # only what callers read: intermediates die early
                continue
            if node._version or node._versions != tuple([p._version for p in node._parents]):
                _raise_modified(node)
            parent_grads = node._op.vjp(g, node, *node._parents, **node._params)
            for parent, pg in zip(node._parents, parent_grads):
                if pg is not None and parent.requires_grad:
                    _accumulate(grads, parent, pg)
            if free:
                node._op, node._parents, node._params, node._versions = FREED, (), {}, ()
    return done


def _raise_modified(node: Tensor) -> None:
    """Name the op and the tensor whose in-place write since recording invalidates its VJP."""
    checks = [(node, node._version, 0, "its output")]
    checks += [
        (p, p._version, v, f"input {i}")
        for i, (p, v) in enumerate(zip(node._parents, node._versions))
    ]
    for t, now, expected, role in checks:
        if now != expected:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {role} of {node._op.name}, a tensor of shape {t.shape} and "
                f"dtype {t.dtype}, is at version {now}; expected version {expected}. Do the "
                "in-place update after backward(), or compute a new tensor out of place"
            )


def _freed_vjp(g, out, *args, **params):
    raise RuntimeError(
        "backward: this graph was freed by an earlier backward(); call backward("
        "retain_graph=True) the first time to go through it again"
    )


# Marks a node whose graph a backward pass released (not a primitive: never in the op table).
FREED = Op("freed", -1, None, _freed_vjp, None, None)


def backward(
    output: Tensor, gradient=None, create_graph: bool = False, retain_graph: bool | None = None
) -> None:
    """Accumulate gradients of ``output`` into ``.grad`` of the leaves that require grad.

    The graph is released as the pass goes unless ``retain_graph`` (default: ``create_graph``).
    """
    if not output.requires_grad:
        raise RuntimeError(
            "backward: tensor does not require grad and has no graph "
            "(no input had requires_grad=True, or it was computed under no_grad())"
        )
    seed = _seed(output, gradient, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    for node, g in _backprop([output], [seed], create_graph, free=not retain).values():
        if node._op is None:
            # A detached .grad gets memory of its own: a gradient may be a read-only broadcast
            # view (sum, mean) or the very seed array the caller passed.
            g = g if create_graph else Tensor._wrap(np.array(g.data, order="C", copy=True))
            node.grad = g if node.grad is None else node.grad + g


def gradients(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence | None = None,
    create_graph: bool = False,
    allow_unused: bool = True,
) -> list[Tensor]:
    """d(sum_k <grad_outputs_k, outputs_k>)/d(inputs), like ``torch.autograd.grad``.

    Inputs may be non-leaf tensors; unused inputs get zeros (or raise if not ``allow_unused``).
    """
    seeds = [
        _seed(o, None if grad_outputs is None else grad_outputs[i], "gradients")
        for i, o in enumerate(outputs)
    ]
    done = _backprop(outputs, seeds, create_graph, stop={id(x) for x in inputs})
    result = []
    for i, x in enumerate(inputs):
        g = done[id(x)][1] if id(x) in done else None
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"gradients: input {i} was not used to compute the outputs")
            g = zeros_like(x)
        result.append(g)
    return result


def push_along(
    order: list[Tensor],
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    tangents: Sequence[Tensor | None],
) -> list[Tensor]:
    """Forward mode: push ``tangents`` of ``inputs`` along ``order`` (a ``toposort``) by JVPs.

    The order is computed once and reused for many tangents. The JVP rules are written in
    Tensor ops, so when grad mode is on the result is itself recorded and can be
    differentiated again (forward-over-reverse Hessians).
    """
    known: dict[int, Tensor] = {id(x): t for x, t in zip(inputs, tangents)}
    for node in order:
        key = id(node)
        if key in known or node._op is None:
            continue
        parent_tangents = tuple(known.get(id(p)) for p in node._parents)
        if all(t is None for t in parent_tangents):
            continue
        t = node._op.jvp(parent_tangents, node, *node._parents, **node._params)
        if t.shape != node.shape:
            t = broadcast_to(t, node.shape)
        known[key] = t
    found = [known.get(id(o)) for o in outputs]
    return [zeros_like(o) if t is None else t for o, t in zip(outputs, found)]

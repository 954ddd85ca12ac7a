"""Builders that turn a derivative formula into an op's VJP, JVP and symbolic rule."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import STRUCTURAL, Op, register


def elementwise_sympy(fn: Callable) -> Callable:
    """Lift ``fn(ns, *scalars) -> Expr`` to object arrays, broadcasting like NumPy."""

    def rule(ns, *arrays, **params):
        scalar = np.frompyfunc(lambda *args: fn(ns, *args, **params), len(arrays), 1)
        return np.asarray(scalar(*arrays), dtype=object)

    return rule


def unary(name: str, forward: Callable, deriv: Callable, sym: Callable, doc: str = "") -> Op:
    """Declare an elementwise unary op from ``deriv(x, out) -> f'(x)`` written in Tensor ops."""
    return register(
        Op(
            name,
            1,
            forward,
            vjp=lambda g, out, x, **p: (g * deriv(x, out, **p),),
            jvp=lambda t, out, x, **p: t[0] * deriv(x, out, **p),
            sympy=elementwise_sympy(sym),
            doc=doc,
        )
    )


def binary(name: str, forward: Callable, partials: tuple[Callable, Callable], sym: Callable) -> Op:
    """Declare an elementwise binary op from its two partials ``p(a, b, out)``."""
    pa, pb = partials

    def vjp(g, out, a, b):
        ga = g * pa(a, b, out) if a.requires_grad else None
        gb = g * pb(a, b, out) if b.requires_grad else None
        return ga, gb

    def jvp(t, out, a, b):
        ta, tb = t
        if ta is None:
            return tb * pb(a, b, out)
        if tb is None:
            return ta * pa(a, b, out)
        return ta * pa(a, b, out) + tb * pb(a, b, out)

    return register(Op(name, 2, forward, vjp, jvp, elementwise_sympy(sym)))


def linear(name: str, arity: int, forward: Callable, vjp: Callable, fn: Callable) -> Op:
    """Declare a structural op that is linear in its inputs: its JVP is the op on tangents.

    ``fn(*tensors, **params)`` is the public Tensor function, used to push tangents.
    """

    def jvp(t, out, *xs, **params):
        return fn(*[ti if ti is not None else zeros_like(x) for ti, x in zip(t, xs)], **params)

    return register(Op(name, arity, forward, vjp, jvp, STRUCTURAL))


def zeros_like(x):
    """A constant zero tensor with the shape and dtype of ``x``."""
    from ..tensor import Tensor

    return Tensor._wrap(np.zeros(x.shape, dtype=x.dtype))

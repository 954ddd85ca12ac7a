"""Op builders: turn a derivative formula into an op's VJP, JVP and symbolic rule, register the
op and generate its public surface - one declaration per op.

Each builder takes the keywords of :func:`autodiff.ops.surface.expose` (``public``, ``aliases``,
``methods``, ``ufunc``, ``array_function``, ``export``, ``params``) for how the op is exposed;
``wrapper=False`` skips the generated wrapper when a hand-written one registers itself with
``@surface(OP)`` (argument handling such as ``heaviside``'s ``at_zero``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .base import STRUCTURAL, Op, register, unregister
from .surface import expose


def elementwise_sympy(fn: Callable) -> Callable:
    """Lift ``fn(ns, *scalars) -> Expr`` to object arrays, broadcasting like NumPy."""

    def rule(ns, *arrays, **params):
        scalar = np.frompyfunc(lambda *args: fn(ns, *args, **params), len(arrays), 1)
        return np.asarray(scalar(*arrays), dtype=object)

    return rule


def declare(op: Op, *, wrapper: bool = True, **surface: Any) -> Op:
    """Register ``op`` and, unless ``wrapper=False``, generate its public surface."""
    if surface and not wrapper:
        raise TypeError(f"op {op.name!r}: surface keywords {sorted(surface)} need wrapper=True")
    register(op)
    if wrapper:
        try:
            expose(op, **surface)
        except BaseException:
            unregister(op)  # all or nothing: a refused surface leaves no op behind
            raise
    return op


def unary(
    name: str, forward: Callable, deriv: Callable, sym: Callable, doc: str, **surface: Any
) -> Op:
    """Declare an elementwise unary op from ``deriv(x, out) -> f'(x)`` written in Tensor ops.

    ``sym(ns, x) -> Expr`` is the scalar SymPy rule; ``doc`` the one-line docstring of the
    generated public function. Example (``docs/architecture.md``, "How to add an op")::

        CBRT = unary("cbrt", np.cbrt, lambda x, o: 1.0 / (3.0 * o * o),
                     lambda ns, x: ns.cbrt(x), "Elementwise cube root.",
                     ufunc=np.cbrt, methods=True)
    """
    op = Op(
        name,
        1,
        forward,
        vjp=lambda g, out, x, **p: (g * deriv(x, out, **p),),
        jvp=lambda t, out, x, **p: t[0] * deriv(x, out, **p),
        sympy=elementwise_sympy(sym),
        doc=doc,
    )
    return declare(op, **surface)


def binary(
    name: str,
    forward: Callable,
    partials: tuple[Callable, Callable],
    sym: Callable,
    doc: str,
    **surface: Any,
) -> Op:
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

    return declare(Op(name, 2, forward, vjp, jvp, elementwise_sympy(sym), doc=doc), **surface)


def comparison(name: str, forward: Callable, sym: Callable, symbol: str, **surface: Any) -> Op:
    """Declare an elementwise comparison: a boolean result that carries no gradient."""
    doc = f"Elementwise ``a {symbol} b`` (boolean, not differentiable)."
    op = Op(name, 2, forward, None, None, elementwise_sympy(sym), differentiable=False, doc=doc)
    return declare(op, **surface)


def linear(
    name: str,
    arity: int,
    forward: Callable,
    vjp: Callable,
    fn: Callable,
    doc: str,
    **surface: Any,
) -> Op:
    """Declare a structural op that is linear in its inputs: its JVP is the op on tangents.

    ``fn(*tensors, **params)`` is the public Tensor function, used to push tangents.
    """

    def jvp(t, out, *xs, **params):
        return fn(*[ti if ti is not None else zeros_like(x) for ti, x in zip(t, xs)], **params)

    return declare(Op(name, arity, forward, vjp, jvp, STRUCTURAL, doc=doc), **surface)


def zeros_like(x):
    """A constant zero tensor with the shape and dtype of ``x``."""
    from ..tensor import Tensor

    return Tensor._wrap(np.zeros(x.shape, dtype=x.dtype))

"""Elementwise primitives: arithmetic, transcendental functions, activations, comparisons.

Each declaration also generates the op's public function in this module (``exp(x)``,
``maximum(a, b)``, ``where(cond, a, b)``...), its ``Tensor`` methods and NumPy dispatch; see
:mod:`autodiff.ops.surface`. Rules inside this module call ``apply(OP, ...)`` directly.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, apply
from . import kernels
from .base import Op
from .builders import binary, comparison, declare, elementwise_sympy, unary, zeros_like
from .surface import composite, surface

# --- arithmetic -------------------------------------------------------------------------------
NEG = declare(
    Op(
        "neg",
        1,
        np.negative,
        vjp=lambda g, out, x: (-g,),
        jvp=lambda t, out, x: -t[0],
        sympy=elementwise_sympy(lambda ns, x: -x),
        doc="Elementwise ``-x``.",
    ),
    aliases="negative",
    ufunc=np.negative,
)


def _add_vjp(g, out, a, b):
    return (g if a.requires_grad else None, g if b.requires_grad else None)


def _add_jvp(t, out, a, b):
    ta, tb = t
    return tb if ta is None else (ta if tb is None else ta + tb)


def _sub_vjp(g, out, a, b):
    return (g if a.requires_grad else None, -g if b.requires_grad else None)


def _sub_jvp(t, out, a, b):
    ta, tb = t
    return -tb if ta is None else (ta if tb is None else ta - tb)


ADD = declare(
    Op(
        "add",
        2,
        np.add,
        _add_vjp,
        _add_jvp,
        elementwise_sympy(lambda ns, a, b: a + b),
        doc="Elementwise ``a + b`` with NumPy broadcasting.",
    ),
    ufunc=np.add,
)
SUB = declare(
    Op(
        "sub",
        2,
        np.subtract,
        _sub_vjp,
        _sub_jvp,
        elementwise_sympy(lambda ns, a, b: a - b),
        doc="Elementwise ``a - b``.",
    ),
    aliases="subtract",
    ufunc=np.subtract,
)
MUL = binary(
    "mul",
    np.multiply,
    (lambda a, b, o: b, lambda a, b, o: a),
    lambda ns, a, b: a * b,
    "Elementwise ``a * b``.",
    aliases="multiply",
    ufunc=np.multiply,
)
DIV = binary(
    "div",
    np.divide,
    (lambda a, b, o: 1.0 / b, lambda a, b, o: -o / b),
    lambda ns, a, b: a / b,
    "Elementwise ``a / b``.",
    aliases="divide",
    ufunc=np.true_divide,
)


def _pow_base_partial(a, b, o):
    """d(a**b)/da = b * a**(b - 1), exact at a = 0 for a constant exponent, to every order.

    For an exponent that carries no gradient (``x ** 3``, ``x ** k`` with an integer or any
    constant ``k``), the new exponent ``b - 1`` is again a constant and is replaced by 0 where
    ``b == 0``: ``d/dx x**0`` is then an exact ``0 * x**0 = 0``, never ``0 * 0**-1 = nan``, so
    ``d^n/dx^n x**k`` at 0 is the exact polynomial derivative for every order ``n`` (PyTorch,
    JAX). An exponent that requires grad keeps the general formula (its mixed partial
    ``a**(b-1) (1 + b log a)`` needs the true ``b - 1``).
    """
    if b.requires_grad:
        return b * a ** (b - 1.0)
    if b._op is None and not b._batched:  # a leaf constant: the new exponent, on the data
        k = b.data
        lowered = np.where(k == 0, 0, k - 1) if (k == 0).any() else k - 1
        return b * a ** Tensor._wrap(np.asarray(lowered, dtype=k.dtype))
    # a recorded constant (e.g. from a comparison): stay on the graph so that lift replays it
    return b * a ** apply(WHERE, b == 0, 0.0, b - 1.0)


POW = binary(
    "pow",
    np.power,
    # d(a**b)/db = a**b log(a); at a = 0 it is 0 (as in PyTorch), not 0 * log(0) = nan.
    (_pow_base_partial, lambda a, b, o: o * apply(LOG, apply(WHERE, a == 0, 1.0, a))),
    lambda ns, a, b: a**b,
    "Elementwise ``a ** b``; the exponent may itself be a tensor.",
    public="power",
    ufunc=np.power,
)

# --- transcendental ---------------------------------------------------------------------------
EXP = unary(
    "exp",
    np.exp,
    lambda x, o: o,
    lambda ns, x: ns.exp(x),
    "Elementwise exponential.",
    ufunc=np.exp,
    methods=True,
)
# Outside the domain the value is nan, and so is the derivative (to every order): a finite
# 1/x there would hide the error. Inside, 1/x stays exact.
LOG = unary(
    "log",
    np.log,
    lambda x, o: apply(WHERE, x < 0, o, 1.0 / x),
    lambda ns, x: ns.log(x),
    "Elementwise natural logarithm.",
    ufunc=np.log,
    methods=True,
)
LOG1P = unary(
    "log1p",
    np.log1p,
    lambda x, o: apply(WHERE, x < -1, o, 1.0 / (1.0 + x)),
    lambda ns, x: ns.log1p(x),
    "Elementwise ``log(1 + x)``, accurate for small ``x``.",
    ufunc=np.log1p,
    methods=True,
)
EXPM1 = unary(
    "expm1",
    np.expm1,
    lambda x, o: apply(EXP, x),  # not o + 1: that is 0 for x < -37 instead of e^x
    lambda ns, x: ns.expm1(x),
    "Elementwise ``exp(x) - 1``, accurate for small ``x``.",
    ufunc=np.expm1,
    methods=True,
)
SQRT = unary(
    "sqrt",
    np.sqrt,
    lambda x, o: 0.5 / o,
    lambda ns, x: ns.sqrt(x),
    "Elementwise square root.",
    ufunc=np.sqrt,
    methods=True,
)
SQUARE = unary(
    "square",
    np.square,
    lambda x, o: 2.0 * x,
    lambda ns, x: x**2,
    "Elementwise ``x ** 2``.",
    ufunc=np.square,
    methods=True,
)
SIN = unary(
    "sin",
    np.sin,
    lambda x, o: apply(COS, x),
    lambda ns, x: ns.sin(x),
    "Elementwise sine.",
    ufunc=np.sin,
    methods=True,
)
COS = unary(
    "cos",
    np.cos,
    lambda x, o: -apply(SIN, x),
    lambda ns, x: ns.cos(x),
    "Elementwise cosine.",
    ufunc=np.cos,
    methods=True,
)
TAN = unary(
    "tan",
    np.tan,
    lambda x, o: 1.0 + o * o,
    lambda ns, x: ns.tan(x),
    "Elementwise tangent.",
    ufunc=np.tan,
    methods=True,
)
TANH = unary(
    "tanh",
    np.tanh,
    lambda x, o: 1.0 - o * o,
    lambda ns, x: ns.tanh(x),
    "Elementwise hyperbolic tangent.",
    ufunc=np.tanh,
    methods=True,
)


SIGMOID = unary(
    "sigmoid",
    kernels.sigmoid,
    # sigma' = sigma(x) sigma(-x): 1 - sigma(x) would cancel (relative error ~e^x eps, x >> 0)
    lambda x, o: o * apply(SIGMOID, -x),
    lambda ns, x: ns.sigmoid(x),
    "Elementwise logistic function ``1 / (1 + exp(-x))``, stable for large ``|x|``.",
    methods=True,
)
SOFTPLUS = unary(
    "softplus",
    kernels.softplus,
    lambda x, o: apply(SIGMOID, x),
    lambda ns, x: ns.softplus(x),
    "Elementwise ``log(1 + exp(x))`` without overflow.",
    methods=True,
)


# --- kinks: relu'(0) = 0, abs'(0) = 0, sign' = 0, ties split 0.5/0.5 (docs/architecture.md) -------
def _zero_deriv(x, o, **params):
    return zeros_like(x)


HEAVISIDE = unary(
    "heaviside",
    kernels.heaviside,
    _zero_deriv,
    lambda ns, x, at_zero: ns.Heaviside(x, ns.nsimplify(at_zero)),
    "Elementwise step: 0 below zero, 1 above, ``at_zero`` at zero.",
    wrapper=False,  # heaviside() below converts at_zero
)


@surface(HEAVISIDE)
def heaviside(x, at_zero: float = 0.5) -> Tensor:
    """Elementwise step: 0 below zero, 1 above, ``at_zero`` at zero."""
    return apply(HEAVISIDE, x, at_zero=float(at_zero))


SIGN = unary(
    "sign",
    kernels.sign,
    _zero_deriv,
    lambda ns, x: ns.sign(x),
    "Elementwise sign (-1, 0 or 1); its derivative is 0.",
    ufunc=np.sign,
    methods=True,
)
RELU = unary(
    "relu",
    kernels.relu,
    lambda x, o: apply(HEAVISIDE, x, at_zero=0.0),
    lambda ns, x: ns.relu(x),
    "Elementwise ``max(x, 0)``; its derivative at 0 is 0.",
    methods=True,
)
ABS = unary(
    "abs",
    np.abs,
    lambda x, o: apply(SIGN, x),
    lambda ns, x: ns.Abs(x),
    "Elementwise absolute value; its derivative at 0 is 0.",
    aliases="absolute",
    ufunc=np.absolute,
    methods=True,
)


def _picked(mine, other, o, larger: bool):
    """How much of the gradient of ``maximum`` (``larger``) / ``minimum`` goes to ``mine``.

    ``heaviside(mine - other, 0.5)`` for maximum (``other - mine`` for minimum): 1 where
    ``mine`` is picked, 0.5 at a tie. Where the result is not finite the difference would be
    nan (``inf - inf``), so comparisons decide instead: a tie of infinities splits 0.5 / 0.5,
    and a nan operand, which makes the result nan (NumPy), takes the whole gradient, as in
    PyTorch (two nan operands split it like a tie). The gradient never holds a nan.
    """
    if np.isfinite(o.data).all():
        return heaviside(mine - other if larger else other - mine, 0.5)
    dtype = o.dtype
    better = (mine > other) if larger else (mine < other)
    share = better.astype(dtype) + 0.5 * (mine == other).astype(dtype)
    mine_nan = (mine != mine).astype(dtype)
    other_nan = (other != other).astype(dtype)
    return apply(WHERE, o != o, mine_nan * (1.0 - 0.5 * other_nan), share)


MAXIMUM = binary(
    "maximum",
    np.maximum,
    (lambda a, b, o: _picked(a, b, o, True), lambda a, b, o: _picked(b, a, o, True)),
    lambda ns, a, b: ns.Max(a, b),
    "Elementwise maximum; at a tie the gradient is split 0.5 / 0.5.",
    ufunc=np.maximum,
)
MINIMUM = binary(
    "minimum",
    np.minimum,
    (lambda a, b, o: _picked(a, b, o, False), lambda a, b, o: _picked(b, a, o, False)),
    lambda ns, a, b: ns.Min(a, b),
    "Elementwise minimum; at a tie the gradient is split 0.5 / 0.5.",
    ufunc=np.minimum,
)


def _where_vjp(g, out, cond, a, b):
    zero = zeros_like(g)
    ga = apply(WHERE, cond, g, zero) if a.requires_grad else None
    gb = apply(WHERE, cond, zero, g) if b.requires_grad else None
    return None, ga, gb


def _where_jvp(t, out, cond, a, b):
    _, ta, tb = t
    ta = ta if ta is not None else zeros_like(a)
    return apply(WHERE, cond, ta, tb if tb is not None else 0.0)


WHERE = declare(
    Op(
        "where",
        3,
        np.where,
        _where_vjp,
        _where_jvp,
        elementwise_sympy(lambda ns, c, a, b: ns.Piecewise((a, c), (b, True))),
        doc="Pick ``a`` where ``cond`` is true and ``b`` elsewhere (``cond`` is not "
        "differentiated).",
    ),
    array_function=np.where,
)


def _cast_vjp(g, out, x, dtype):
    return (cast(g, x.dtype),)


def _cast_sympy(ns, x, dtype):
    # A condition cast to a number is its indicator function.
    if isinstance(x, ns.logic.boolalg.Boolean) and not isinstance(x, ns.Expr):
        return ns.Piecewise((1, x), (0, True))
    return x


CAST = declare(
    Op(
        "cast",
        1,
        lambda x, dtype: x.astype(dtype),
        _cast_vjp,
        lambda t, out, x, dtype: cast(t[0], dtype),
        elementwise_sympy(_cast_sympy),
        doc="a cast between floating dtypes (differentiable; gradients in the input's dtype)",
    ),
    wrapper=False,  # cast() below picks CAST or CAST_DISCRETE by dtype
)


def _cast_discrete_forward(x, dtype):
    return x.astype(dtype)


def _cast_discrete_sympy(ns, x, dtype):
    boolean = isinstance(x, ns.logic.boolalg.Boolean) and not isinstance(x, ns.Expr)
    if dtype.kind == "b":
        # x.astype(bool) is x != 0.
        return x if boolean else ns.Ne(x, 0)
    if boolean:  # a condition cast to an integer: its indicator
        return ns.Piecewise((1, x), (0, True))
    # NumPy's float -> integer cast truncates toward zero.
    return ns.Piecewise((ns.floor(x), x >= 0), (ns.ceiling(x), True))


# A cast to an integer or boolean dtype is piecewise constant: its output carries no gradient
# (as in PyTorch, where integer tensors cannot require grad), and lift gives the truncation
# NumPy applies, so the eager, lifted and compiled values agree.
CAST_DISCRETE = declare(
    Op(
        "cast_discrete",
        1,
        _cast_discrete_forward,
        None,
        None,
        elementwise_sympy(_cast_discrete_sympy),
        differentiable=False,
        doc="a cast to an integer or boolean dtype (truncation toward zero; no gradient)",
    ),
    wrapper=False,
)


# --- comparisons (no gradient) ----------------------------------------------------------------
LESS = comparison("less", np.less, lambda ns, a, b: ns.Lt(a, b), "<", ufunc=np.less)
LESS_EQUAL = comparison(
    "less_equal", np.less_equal, lambda ns, a, b: ns.Le(a, b), "<=", ufunc=np.less_equal
)
GREATER = comparison("greater", np.greater, lambda ns, a, b: ns.Gt(a, b), ">", ufunc=np.greater)
GREATER_EQUAL = comparison(
    "greater_equal", np.greater_equal, lambda ns, a, b: ns.Ge(a, b), ">=", ufunc=np.greater_equal
)
EQUAL = comparison("equal", np.equal, lambda ns, a, b: ns.Eq(a, b), "==", ufunc=np.equal)
NOT_EQUAL = comparison(
    "not_equal", np.not_equal, lambda ns, a, b: ns.Ne(a, b), "!=", ufunc=np.not_equal
)


# --- hand-written public functions (argument handling) and composites -------------------------
def _bound(name: str, positional, spellings: dict) -> object:
    """The one bound given among ``positional`` and its keyword spellings (NumPy's ``a_min``,
    NumPy 2 / PyTorch's ``min``); a TypeError when two of them are given."""
    given = {k: v for k, v in {name: positional, **spellings}.items() if v is not None}
    if len(given) > 1:
        raise TypeError(f"clip: {' and '.join(given)} give the same bound; pass one of them")
    value = next(iter(given.values()), None)
    return value


@composite(array_function=np.clip, aliases="clamp", methods=("clip", "clamp"))
def clip(x, lo=None, hi=None, out=None, *, a_min=None, a_max=None, min=None, max=None) -> Tensor:
    """Clamp ``x`` to ``[lo, hi]``; the same as ``minimum(maximum(x, lo), hi)``, ties included.

    The bounds may also be given by NumPy's keywords ``a_min`` / ``a_max``, NumPy 2's and
    PyTorch's ``min`` / ``max`` (``ad.clamp``, ``t.clamp(min=0)``); ``None`` leaves a side
    open. At a bound the gradient is split 0.5 / 0.5 as in ``maximum``.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> np.clip(ad.tensor([-2.0, 0.5, 3.0]), a_min=-1.0, a_max=1.0)
    tensor([-1. ,  0.5,  1. ])
    >>> ad.tensor([-2.0, 0.5]).clamp(min=0.0)
    tensor([0. , 0.5])
    """
    if out is not None:
        raise TypeError("clip: out= is not supported (autodiff tensors are immutable)")
    lo = _bound("lo", lo, {"a_min": a_min, "min": min})
    hi = _bound("hi", hi, {"a_max": a_max, "max": max})
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi")
    out = x if lo is None else apply(MAXIMUM, x, lo)
    return out if hi is None else apply(MINIMUM, out, hi)


def _astype(self, dtype) -> Tensor:
    """Cast to another dtype (differentiable between floating dtypes)."""
    return cast(self, dtype)


@surface((CAST, CAST_DISCRETE), methods={"astype": _astype}, export=False)
def cast(x, dtype) -> Tensor:
    """Convert to ``dtype`` with NumPy's ``astype`` semantics.

    Between floating dtypes the cast is differentiable (gradients flow back in the input's
    dtype). A cast to an integer or boolean dtype is piecewise constant, so its output does
    not require grad (its derivative is 0, as in PyTorch); floats truncate toward zero
    (``2.7 -> 2``, ``-2.7 -> -2``), and ``symdiff.lift`` writes that truncation as
    ``Piecewise((floor(x), x >= 0), (ceiling(x), True))`` (``x != 0`` for ``bool``).

    Examples
    --------
    >>> import autodiff as ad
    >>> float(ad.grad(lambda x: x.astype(int) * x)(2.5))  # d/dx (2 * x), not 2 * x + x
    2.0
    >>> ad.tensor([2.7, -2.7]).astype(int)
    tensor([ 2, -2], dtype=int64)
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return apply(CAST_DISCRETE, x, dtype=dtype)
    return apply(CAST, x, dtype=dtype)

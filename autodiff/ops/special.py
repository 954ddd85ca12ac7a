"""Math primitives beyond the core elementwise set: rounding, modulo, inverse trigonometric and
hyperbolic functions, ``erf``, base-2/10 logarithms and exponentials, ``logaddexp``, ``hypot``,
``arctan2``, ``nan_to_num``; and the NumPy composites ``fmax``/``fmin``, ``select`` and the
``*_like`` constructors.

Each declaration generates its public function, ``Tensor`` methods and NumPy dispatch (see
:mod:`autodiff.ops.surface`); ops are named as SymPy and C name them (``asin``, ``atan2``)
with NumPy's spellings as aliases (``arcsin``, ``arctan2``).

Conventions (documented in each docstring):

* ``floor``, ``ceil``, ``trunc``, ``round`` are piecewise constant: their derivative is 0
  everywhere, the integers included (PyTorch, JAX), to every order;
* ``mod(a, b)`` (``a % b``, NumPy's floored ``remainder``) has ``d/da = 1`` and
  ``d/db = -k`` where ``k`` is the integer with ``a = k * b + mod(a, b)`` (``floor(a / b)``);
  at a jump the one-sided value of the branch NumPy picked is used;
* ``hypot`` and ``arctan2`` have gradient 0 at the origin (as ``abs'(0) = 0``); the lifted
  and compiled formulas are the plain quotients there (nan at exactly ``(0, 0)``);
* ``fmax`` / ``fmin`` ignore a NaN operand: the gradient goes to the other one; a tie is split
  0.5 / 0.5 as in ``maximum``.
"""

from __future__ import annotations

import builtins
import math
import sys

import numpy as np

from ..tensor import Tensor, apply, as_tensor
from . import kernels
from .builders import binary, unary
from .elementwise import (
    ABS,
    EXP,
    LESS,
    SIGMOID,
    SQRT,
    WHERE,
    _zero_deriv,
    cast,
    maximum,
    minimum,
    where,
)
from .surface import composite, surface

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# --- rounding: derivative 0 everywhere -------------------------------------------------------
FLOOR = unary(
    "floor",
    np.floor,
    _zero_deriv,
    lambda ns, x: ns.floor(x),
    "Elementwise floor (largest integer <= x); its derivative is 0 everywhere.",
    ufunc=np.floor,
    methods=True,
)
CEIL = unary(
    "ceil",
    np.ceil,
    _zero_deriv,
    lambda ns, x: ns.ceiling(x),
    "Elementwise ceiling (smallest integer >= x); its derivative is 0 everywhere.",
    ufunc=np.ceil,
    methods=True,
)
TRUNC = unary(
    "trunc",
    np.trunc,
    _zero_deriv,
    lambda ns, x: ns.Piecewise((ns.floor(x), x >= 0), (ns.ceiling(x), True)),
    "Elementwise truncation toward zero; its derivative is 0 everywhere.",
    ufunc=np.trunc,
    methods=True,
)


def _round_sympy(ns, x, decimals):
    if decimals == 0:
        return ns.rint(x)
    scale = ns.Integer(10) ** builtins.abs(decimals)
    if decimals > 0:
        return ns.rint(x * scale) / scale
    return ns.rint(x / scale) * scale


ROUND = unary(
    "round",
    lambda x, decimals: np.round(x, decimals),
    _zero_deriv,
    _round_sympy,
    "Round to ``decimals`` decimal places, halves to even; its derivative is 0 everywhere.",
    wrapper=False,  # round() below checks decimals
)


@surface(ROUND, aliases="around", methods=True, ufunc=np.rint, array_function=(np.round, np.around))
def round(x, decimals: int = 0, out=None) -> Tensor:  # noqa: A001 - mirrors numpy.round
    """Round to ``decimals`` decimal places (negative: tens, hundreds...), halves to even.

    NumPy's ``round`` / ``around`` (also ``np.rint``): ``x * 10**decimals`` is rounded to the
    nearest integer, ties to even, and scaled back. Piecewise constant, so the derivative is 0
    everywhere (PyTorch's and JAX's choice), the half-way points included. ``lift`` writes it
    with ``rint`` (round half to even), which the compiled kernels evaluate the same way.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.round(ad.tensor([0.5, 1.5, 2.675, -1.25]), 1)
    tensor([ 0.5,  1.5,  2.7, -1.2])
    >>> float(ad.grad(lambda x: ad.round(x) * x)(2.4))  # d/dx (2 * x)
    2.0
    """
    if out is not None:
        raise TypeError("round: out= is not supported (autodiff tensors are immutable)")
    if isinstance(decimals, bool) or not isinstance(decimals, int | np.integer):
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}")
    return apply(ROUND, x, decimals=int(decimals))


# --- modulo -------------------------------------------------------------------------------------
def _mod_quotient(a, b, o):
    """The integer ``k`` with ``a = k * b + mod(a, b)``, read off the computed remainder (so it
    is the branch NumPy picked, even where ``a / b`` rounds across an integer)."""
    return apply(ROUND, (a - o) / b, decimals=0)


MOD = binary(
    "mod",
    np.remainder,
    (lambda a, b, o: 1.0, lambda a, b, o: -_mod_quotient(a, b, o)),
    lambda ns, a, b: a - b * ns.floor(a / b),
    "Elementwise floored remainder ``a - floor(a / b) * b`` (the sign of ``b``, as NumPy's "
    "``mod``); d/da = 1, d/db = -floor(a / b).",
    aliases="remainder",
    ufunc=np.remainder,
    methods=("remainder",),
)


# --- logarithms and exponentials --------------------------------------------------------------
LOG2 = unary(
    "log2",
    np.log2,
    lambda x, o: apply(WHERE, x < 0, o, 1.0 / (x * _LN2)),
    lambda ns, x: ns.log2(x),
    "Elementwise base-2 logarithm.",
    ufunc=np.log2,
    methods=True,
)
LOG10 = unary(
    "log10",
    np.log10,
    lambda x, o: apply(WHERE, x < 0, o, 1.0 / (x * _LN10)),
    lambda ns, x: ns.log10(x),
    "Elementwise base-10 logarithm.",
    ufunc=np.log10,
    methods=True,
)
EXP2 = unary(
    "exp2",
    np.exp2,
    lambda x, o: o * _LN2,
    lambda ns, x: ns.exp2(x),
    "Elementwise ``2 ** x``.",
    ufunc=np.exp2,
    methods=True,
)
LOGADDEXP = binary(
    "logaddexp",
    np.logaddexp,
    # d/da log(e^a + e^b) = sigmoid(a - b): never exp() of a large number
    (lambda a, b, o: apply(SIGMOID, a - b), lambda a, b, o: apply(SIGMOID, b - a)),
    lambda ns, a, b: ns.logsumexp(a, b),
    "Elementwise ``log(exp(a) + exp(b))`` without overflow.",
    ufunc=np.logaddexp,
)
LOGADDEXP2 = binary(
    "logaddexp2",
    np.logaddexp2,
    (
        lambda a, b, o: apply(SIGMOID, (a - b) * _LN2),
        lambda a, b, o: apply(SIGMOID, (b - a) * _LN2),
    ),
    lambda ns, a, b: ns.logsumexp(a * ns.log(2), b * ns.log(2)) / ns.log(2),
    "Elementwise ``log2(2**a + 2**b)`` without overflow.",
    ufunc=np.logaddexp2,
)


# --- hypot and arctan2: gradient 0 at the origin ------------------------------------------------
def _quotient(num, r):
    """``num / r``, and 0 where ``r == 0`` (the origin), to every order: the divisor there is
    replaced by 1, so that no branch of the ``where`` holds a nan whose derivative would
    leak (``0 * inf``), and the second derivative at the origin is 0 as ``abs''(0)``."""
    zero = r == 0
    return apply(WHERE, zero, 0.0, num / apply(WHERE, zero, 1.0, r))


HYPOT = binary(
    "hypot",
    np.hypot,
    (lambda a, b, o: _quotient(a, o), lambda a, b, o: _quotient(b, o)),
    lambda ns, a, b: ns.hypot(a, b),
    "Elementwise ``sqrt(a**2 + b**2)`` without overflow; its gradient at (0, 0) is 0.",
    ufunc=np.hypot,
)


ATAN2 = binary(
    "atan2",
    np.arctan2,
    (lambda a, b, o: _quotient(b, a * a + b * b), lambda a, b, o: _quotient(-a, a * a + b * b)),
    lambda ns, a, b: ns.atan2(a, b),
    "Elementwise angle of the point ``(b, a)``: ``arctan(a / b)`` in the right quadrant; its "
    "gradient at (0, 0) is 0.",
    aliases="arctan2",
    ufunc=np.arctan2,
    params=("y", "x"),
)


# --- inverse trigonometric and hyperbolic functions -------------------------------------------
ASIN = unary(
    "asin",
    np.arcsin,
    lambda x, o: 1.0 / apply(SQRT, 1.0 - x * x),
    lambda ns, x: ns.asin(x),
    "Elementwise inverse sine (nan outside [-1, 1]).",
    aliases="arcsin",
    ufunc=np.arcsin,
    methods=("asin", "arcsin"),
)
ACOS = unary(
    "acos",
    np.arccos,
    lambda x, o: -1.0 / apply(SQRT, 1.0 - x * x),
    lambda ns, x: ns.acos(x),
    "Elementwise inverse cosine (nan outside [-1, 1]).",
    aliases="arccos",
    ufunc=np.arccos,
    methods=("acos", "arccos"),
)
ATAN = unary(
    "atan",
    np.arctan,
    lambda x, o: 1.0 / (1.0 + x * x),
    lambda ns, x: ns.atan(x),
    "Elementwise inverse tangent.",
    aliases="arctan",
    ufunc=np.arctan,
    methods=("atan", "arctan"),
)
SINH = unary(
    "sinh",
    np.sinh,
    lambda x, o: apply(COSH, x),
    lambda ns, x: ns.sinh(x),
    "Elementwise hyperbolic sine.",
    ufunc=np.sinh,
    methods=True,
)
COSH = unary(
    "cosh",
    np.cosh,
    lambda x, o: apply(SINH, x),
    lambda ns, x: ns.cosh(x),
    "Elementwise hyperbolic cosine.",
    ufunc=np.cosh,
    methods=True,
)
ASINH = unary(
    "asinh",
    np.arcsinh,
    lambda x, o: 1.0 / apply(SQRT, 1.0 + x * x),
    lambda ns, x: ns.asinh(x),
    "Elementwise inverse hyperbolic sine.",
    aliases="arcsinh",
    ufunc=np.arcsinh,
    methods=("asinh", "arcsinh"),
)
ACOSH = unary(
    "acosh",
    np.arccosh,
    # (x - 1)(x + 1), not x*x - 1: no cancellation near 1; nan below 1
    lambda x, o: 1.0 / apply(SQRT, (x - 1.0) * (x + 1.0)),
    lambda ns, x: ns.acosh(x),
    "Elementwise inverse hyperbolic cosine (nan below 1).",
    aliases="arccosh",
    ufunc=np.arccosh,
    methods=("acosh", "arccosh"),
)
ATANH = unary(
    "atanh",
    np.arctanh,
    # nan outside [-1, 1] (where the value is nan), not a finite 1 / (1 - x^2)
    lambda x, o: apply(WHERE, o != o, o, 1.0 / ((1.0 - x) * (1.0 + x))),
    lambda ns, x: ns.atanh(x),
    "Elementwise inverse hyperbolic tangent (nan outside [-1, 1]).",
    aliases="arctanh",
    ufunc=np.arctanh,
    methods=("atanh", "arctanh"),
)


# --- error function ---------------------------------------------------------------------------
def _gauss(x):
    """``2 / sqrt(pi) * exp(-x^2)``, the derivative of ``erf``."""
    return _TWO_OVER_SQRT_PI * apply(EXP, -(x * x))


ERF = unary(
    "erf",
    kernels.erf,
    lambda x, o: _gauss(x),
    lambda ns, x: ns.erf(x),
    "Elementwise error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.",
    methods=True,
)
ERFC = unary(
    "erfc",
    kernels.erfc,
    lambda x, o: -_gauss(x),
    lambda ns, x: ns.erfc(x),
    "Elementwise complementary error function ``1 - erf(x)``, accurate for large ``x``.",
    methods=True,
)

SCIPY_UFUNCS = {"erf": "erf", "erfc": "erfc", "expit": "sigmoid"}
"""``scipy.special`` ufunc name -> the autodiff function it dispatches to (matched by identity
with ``scipy.special.<name>`` when SciPy is loaded; autodiff never imports SciPy itself)."""


def foreign_ufunc(ufunc):
    """The autodiff function for a SciPy ufunc (``scipy.special.erf``), or None.

    Looked up lazily by identity: only when ``scipy.special`` is already imported (it must be,
    for the caller to hold one of its ufuncs).
    """
    name = SCIPY_UFUNCS.get(getattr(ufunc, "__name__", None))
    special = sys.modules.get("scipy.special")
    if name is None or special is None or getattr(special, ufunc.__name__, None) is not ufunc:
        return None
    package = sys.modules["autodiff"]
    return getattr(package, name)


# --- nan_to_num -------------------------------------------------------------------------------
def _finite_mask(x, o, **params):
    """1 where ``x`` is finite, 0 where nan_to_num replaced it by a constant: ``|x| < inf``,
    on the graph (not frozen from the data), so that traced and compiled gradients see it."""
    return cast(apply(LESS, apply(ABS, x), math.inf), o.dtype)


NAN_TO_NUM = unary(
    "nan_to_num",
    lambda x, nan, posinf, neginf: np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
    _finite_mask,
    lambda ns, x, nan, posinf, neginf: x,
    "Replace nan, +inf and -inf by finite numbers; gradient 1 where finite, 0 elsewhere.",
    wrapper=False,
)


@surface(NAN_TO_NUM, methods=True, array_function=np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None) -> Tensor:
    """Replace nan by ``nan``, +inf by ``posinf``, -inf by ``neginf`` (NumPy's defaults: 0 and
    the largest finite numbers of the dtype).

    The gradient is 1 where ``x`` is finite and 0 where a value was replaced (a constant).
    ``copy`` is accepted for NumPy compatibility; the result is always a new tensor. The
    lifted formula is ``x`` itself (symbolic values are finite).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.nan_to_num(ad.tensor([np.nan, 1.0, -np.inf]), neginf=-9.0)
    tensor([ 0.,  1., -9.])
    """

    def number(v, what):
        if v is None:
            return None
        if isinstance(v, Tensor) or np.ndim(v) != 0:
            raise TypeError(f"nan_to_num: {what} must be a number, got {type(v).__name__}")
        return float(v)

    return apply(
        NAN_TO_NUM,
        x,
        nan=number(nan, "nan"),
        posinf=number(posinf, "posinf"),
        neginf=number(neginf, "neginf"),
    )


# --- composites ---------------------------------------------------------------------------------
@composite(ufunc=np.fmax)
def fmax(a, b) -> Tensor:
    """Elementwise maximum that ignores nan: where one operand is nan the other is returned
    (and takes the whole gradient); nan only where both are (the gradient is then split
    0.5 / 0.5 as in ``maximum``, never nan). Ties split the gradient 0.5 / 0.5 as well.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.fmax(ad.tensor([1.0, np.nan, np.nan]), ad.tensor([np.nan, 2.0, np.nan]))
    tensor([ 1.,  2., nan])
    >>> ad.grad(lambda x: ad.fmax(x, np.nan).sum())(np.array([1.0, -2.0]))
    array([1., 1.])
    """
    a, b = _operands_of(a, b)
    return maximum(where(a != a, b, a), where(b != b, a, b))


@composite(ufunc=np.fmin)
def fmin(a, b) -> Tensor:
    """Elementwise minimum that ignores nan (see :func:`fmax`); ties split 0.5 / 0.5."""
    a, b = _operands_of(a, b)
    return minimum(where(a != a, b, a), where(b != b, a, b))


def _operands_of(a, b):
    """Both operands as tensors; a Python number takes the other's floating dtype."""
    if not isinstance(a, Tensor):
        b = as_tensor(b)
        a = Tensor._wrap(np.asarray(a, dtype=b.dtype if b.dtype.kind == "f" else None))
    elif not isinstance(b, Tensor):
        b = Tensor._wrap(np.asarray(b, dtype=a.dtype if a.dtype.kind == "f" else None))
    return a, b


@composite(array_function=np.select)
def select(condlist, choicelist, default=0) -> Tensor:
    """NumPy's ``select``: the element of the first choice whose condition holds, else
    ``default``; the gradient flows to the chosen element (conditions are not differentiated).

    Examples
    --------
    >>> import autodiff as ad
    >>> x = ad.tensor([-2.0, 0.5, 3.0])
    >>> ad.select([x < 0, x < 1], [-x, x * 10], default=x ** 2)
    tensor([2., 5., 9.])
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: {len(condlist)} condition(s) but {len(choicelist)} choice(s); "
            "give one choice per condition"
        )
    if not condlist:
        raise ValueError("select: needs at least one condition and choice")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        cond = as_tensor(cond)
        if cond.dtype.kind != "b":
            raise TypeError(f"select: conditions must be boolean, got dtype {cond.dtype}")
        out = where(cond, choice, out)
    return as_tensor(out)


def _like(name: str, x, fill, dtype, shape) -> Tensor:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if shape is not None:
        shape = (int(shape),) if isinstance(shape, int | np.integer) else tuple(shape)
    elif isinstance(x, Tensor):
        shape = x.shape  # the logical shape: inside vmap, ``data`` holds the whole batch
    try:
        return Tensor._wrap(np.full_like(data, fill, dtype=dtype, shape=shape))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None


def _like_fill(value, what: str):
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise TypeError(
                f"{what}: fill_value is a tensor that requires grad; the result is a constant "
                "(use x * 0 + value, or ad.broadcast_to, to keep the gradient)"
            )
        value = value.data
    return value


@composite(array_function=np.zeros_like)
def zeros_like(x, dtype=None, order="K", subok=True, shape=None) -> Tensor:
    """A constant tensor of zeros with the shape and dtype of ``x`` (or ``dtype`` / ``shape``).

    Constants carry no gradient (as ``torch.zeros_like`` and ``jnp.zeros_like``); ``order``
    and ``subok`` are accepted for NumPy compatibility.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> np.zeros_like(ad.tensor([[1.0, 2.0]], requires_grad=True))
    tensor([[0., 0.]])
    >>> ad.zeros_like(ad.tensor([1.0, 2.0]), dtype=int, shape=3)
    tensor([0, 0, 0], dtype=int64)
    """
    return _like("zeros_like", x, 0, dtype, shape)


@composite(array_function=np.ones_like)
def ones_like(x, dtype=None, order="K", subok=True, shape=None) -> Tensor:
    """A constant tensor of ones shaped like ``x`` (see :func:`zeros_like`).

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.ones_like(ad.tensor([1.0, 2.0], dtype="float32"))
    tensor([1., 1.], dtype=float32)
    """
    return _like("ones_like", x, 1, dtype, shape)


@composite(array_function=np.full_like)
def full_like(x, fill_value, dtype=None, order="K", subok=True, shape=None) -> Tensor:
    """A constant tensor filled with ``fill_value``, shaped like ``x`` (see :func:`zeros_like`);
    as in NumPy the dtype is ``x``'s unless ``dtype`` is given (``full_like(int_x, 0.5)`` is 0).

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.full_like(ad.tensor([1.0, 2.0]), 7)
    tensor([7., 7.])
    """
    return _like("full_like", x, _like_fill(fill_value, "full_like"), dtype, shape)

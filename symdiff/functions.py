"""Named functions: one definition per function, holding all of its faces.

A named function is a function SymPy lacks (or one whose stable evaluation needs care). Each is
ONE :class:`NamedFunction` entry of :data:`REGISTRY`, holding

* its stable NumPy kernel (from :mod:`autodiff.ops.kernels`, the same one autodiff's ops run;
  ``lambdify`` and :func:`symdiff.numeric.evaluate` use it),
* its SymPy ``Function`` class (``fdiff``, numeric ``eval`` / ``_eval_evalf``, rewrite to
  elementary form; ``sigmoid``, ``softplus`` and ``relu`` keep derivative formulas readable,
  ``σ(x)·(1 - σ(x))`` rather than a tower of exponentials),
* its numba code-printer rule (:class:`NumbaRule`: a ``math.*`` call or a small helper emitted
  once per generated module, the same source for cpu, parallel and cuda), read by
  :class:`bridge.printer.NumbaPrinter`,
* its derivative rule: ``fdiff``, or for a *kink* (step functions: ``Heaviside``, ``sign``,
  ``floor``, ``ceiling``) 0 almost everywhere with DiracDelta dropped, as autodiff does
  (docs/architecture.md); :mod:`symdiff.reverse` and the bridge read :data:`KINKS` and
  :func:`drop_dirac`.

``log1p`` and ``expm1`` come from ``sympy.codegen``. :data:`NS` is the namespace handed to each
op's symbolic rule: SymPy plus :data:`NAMED_FUNCTIONS`.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> REGISTRY["softplus"].derivative(softplus(x), 0)
sigmoid(x)
>>> REGISTRY["sign"].derivative(sp.sign(x), 0)
0
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10
from sympy.printing.pretty.stringpict import prettyForm

from autodiff.ops import kernels

from .dag import has_any


class _Named(sp.Function):
    """Shared printing: ``σ(x)`` style in pretty and LaTeX output, plain name in ``str``."""

    nargs = 1
    _pretty_name = ""
    _latex_name = ""

    def _pretty(self, printer):
        arg = prettyForm(*printer._print(self.args[0]).parens())
        return prettyForm(*arg.left(self._pretty_name or type(self).__name__))

    def _latex(self, printer, exp=None):
        body = rf"{self._latex_name}\left({printer._print(self.args[0])}\right)"
        return (
            body
            if exp is None
            else rf"{self._latex_name}^{{{exp}}}\left({printer._print(self.args[0])}\right)"
        )

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number:
            return None
        return self._eval_rewrite_as_exp(arg).evalf(prec)


class sigmoid(_Named):  # noqa: N801 - SymPy function names are lower case
    """The logistic function ``1 / (1 + exp(-x))``; ``σ' = σ (1 - σ)``."""

    _pretty_name = "σ"
    _latex_name = r"\sigma"

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        if x is sp.S.Infinity:
            return sp.S.One
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero
        if x.is_Float:
            return 1 / (1 + sp.exp(-x))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_rewrite_as_tanh(self, x, **kwargs):
        return (1 + sp.tanh(x / 2)) / 2


class softplus(_Named):  # noqa: N801
    """``log(1 + exp(x))``; ``softplus' = σ``."""

    _pretty_name = "softplus"
    _latex_name = r"\operatorname{softplus}"

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.log(2)
        if x.is_Float:
            return _softplus_float(x, x._prec)
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):
        # log1p, not log(1 + e^x): for x << 0 the latter cancels ~|x|/2.3 digits of prec
        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number:
            return None
        return _softplus_float(arg, prec)


def _softplus_float(x: sp.Number, prec: int) -> sp.Float:
    """``log1p(exp(x))`` at ``prec`` bits: ``log(1 + e^x)`` would round to 0 for x << 0."""
    with mpmath.workprec(prec):
        value = mpmath.log1p(mpmath.exp(x._to_mpmath(prec)))
    return sp.Float._new(value._mpf_, prec)


class relu(_Named):  # noqa: N801
    """``max(x, 0)``; ``relu' = Heaviside(x, 0)`` so that relu'(0) = 0 as in autodiff."""

    _pretty_name = "relu"
    _latex_name = r"\operatorname{relu}"

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_negative:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sp.Piecewise((x, x > 0), (0, True))

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(x, 0)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return self._eval_rewrite_as_Piecewise(x)

    def _eval_evalf(self, prec):
        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number:
            return None
        return arg if arg > 0 else sp.Float(0, prec)


class logsumexp(sp.Function):  # noqa: N801 - SymPy function names are lower case
    """``log(exp(a1) + ... + exp(an))``, n >= 2; ``d/da_i = exp(a_i - logsumexp(a))``.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> logsumexp(a, b).diff(a)
    exp(a - logsumexp(a, b))
    >>> logsumexp(1000, 1000).evalf(20)
    1000.6931471805599453
    """

    @classmethod
    def eval(cls, *args):
        if len(args) < 2:
            raise TypeError(f"logsumexp takes at least 2 arguments, got {len(args)}")
        return None

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise sp.ArgumentIndexError(self, argindex)
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_is_real(self):
        return True if all(a.is_real for a in self.args) else None

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))

    def _eval_evalf(self, prec):
        values = [a._eval_evalf(prec) for a in self.args]
        if any(v is None or not v.is_Number for v in values):
            return None
        # SymPy floats have an unbounded exponent: the unshifted sum cannot overflow
        return sp.log(sp.Add(*[sp.exp(v) for v in values])).evalf(prec)


class rint(sp.Function):  # noqa: N801
    """Round to the nearest integer, halves to even (NumPy's ``rint`` / ``round``).

    A step function: its derivative is 0 almost everywhere (:data:`KINKS`).

    Examples
    --------
    >>> import sympy as sp
    >>> [rint(v) for v in (sp.Rational(5, 2), sp.Rational(7, 2), sp.Float(-1.5), 3)]
    [2, 4, -2.00000000000000, 3]
    """

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_Integer:
            return x
        if x.is_Rational or (x.is_Float and x.is_finite):
            f = sp.floor(x)
            d = x - f
            half = sp.S.Half
            r = f + 1 if d > half else (f if d < half or f.is_even else f + 1)
            return sp.Float(r, precision=x._prec) if x.is_Float else r
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.S.Zero

    def _eval_is_integer(self):
        return True if self.args[0].is_finite else None

    def _eval_is_real(self):
        return self.args[0].is_real


# --- the registry -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NumbaRule:
    """How the numba code printer emits one named function (the same for every target).

    Either ``math`` (print ``math.<math>(args)``) or ``helper`` with its ``source``: a function
    emitted once per generated module, whose literals ``{zero}``, ``{one}`` and ``{log2}`` are
    written in the kernel's dtype. ``fold`` prints an n-ary call as a left fold of the binary
    helper; ``defaults`` are the values of the arguments after the first that SymPy may omit
    (``Heaviside(x)`` prints as ``_heaviside(x, 0.5)``).
    """

    math: str | None = None
    helper: str | None = None
    source: str = ""
    fold: bool = False
    defaults: tuple = ()

    def __post_init__(self) -> None:
        if (self.math is None) == (self.helper is None):
            raise ValueError("NumbaRule: give exactly one of math= or helper=")
        if self.helper is not None and f"def {self.helper}(" not in self.source:
            raise ValueError(f"NumbaRule: the source of {self.helper} does not define it")


@dataclass(frozen=True)
class NamedFunction:
    """One named function: its NumPy kernel, SymPy class, numba rule and derivative rule.

    ``kink`` marks a step function: its derivative is 0 almost everywhere (DiracDelta dropped),
    as autodiff differentiates it; otherwise the derivative is the class's ``fdiff``.
    ``in_namespace`` adds the class to :data:`NS` and the formula parser (SymPy's own classes
    are there already).
    """

    name: str
    sympy: type[sp.Function]
    numpy: Callable
    numba: NumbaRule
    kink: bool = False
    in_namespace: bool = True

    def derivative(self, expr: sp.Expr, i: int = 0) -> sp.Expr:
        """d expr / d expr.args[i] for an application ``expr`` of this function."""
        if not isinstance(expr, self.sympy):
            raise TypeError(f"{self.name}.derivative: {expr} is not a {self.name} call")
        if self.kink:
            return sp.S.Zero
        return expr.fdiff(i + 1)


_SIGMOID_SOURCE = """
def _sigmoid(x):
    # exp of a non-positive number never overflows
    if x >= {zero}:
        return {one} / ({one} + math.exp(-x))
    e = math.exp(x)
    return e / ({one} + e)
"""
_SOFTPLUS_SOURCE = """
def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for every finite x
    return max(x, {zero}) + math.log1p(math.exp(-abs(x)))
"""
_LOGADDEXP_SOURCE = """
def _logaddexp(a, b):
    # log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|); equal arguments (infinities too) first
    if a == b:
        return a + {log2}
    if a > b:
        return a + math.log1p(math.exp(b - a))
    if b > a:
        return b + math.log1p(math.exp(a - b))
    return a + b
"""
_RINT_SOURCE = """
def _rint(x):
    # round half to even; beyond 2**52 (and for inf, nan) x is already its own rounding
    if not abs(x) < 4503599627370496.0:
        return x
    f = math.floor(x)
    d = x - f
    if d + d > {one}:
        return f + {one}
    if d + d < {one}:
        return f + {zero}
    h = f / ({one} + {one})
    return f + {zero} if math.floor(h) == h else f + {one}
"""
_EXP2_SOURCE = """
def _exp2(x):
    return ({one} + {one}) ** x
"""
_RELU_SOURCE = """
def _relu(x):
    return x if x > {zero} else {zero}
"""
_HEAVISIDE_SOURCE = """
def _heaviside(x, at_zero):
    if x > {zero}:
        return {one}
    if x < {zero}:
        return {zero}
    return at_zero if x == {zero} else x
"""
_SIGN_SOURCE = """
def _sign(x):
    if x > {zero}:
        return {one}
    if x < {zero}:
        return -{one}
    return x
"""

# Order matters only for the generated source: helpers are emitted in this order.
REGISTRY: dict[str, NamedFunction] = {
    spec.name: spec
    for spec in (
        NamedFunction(
            "sigmoid",
            sigmoid,
            kernels.sigmoid,
            NumbaRule(helper="_sigmoid", source=_SIGMOID_SOURCE),
        ),
        NamedFunction(
            "softplus",
            softplus,
            kernels.softplus,
            NumbaRule(helper="_softplus", source=_SOFTPLUS_SOURCE),
        ),
        NamedFunction(
            "logsumexp",
            logsumexp,
            kernels.logaddexp,
            NumbaRule(helper="_logaddexp", source=_LOGADDEXP_SOURCE, fold=True),
            in_namespace=False,
        ),
        NamedFunction("relu", relu, kernels.relu, NumbaRule(helper="_relu", source=_RELU_SOURCE)),
        NamedFunction(
            "Heaviside",
            sp.Heaviside,
            kernels.heaviside,
            NumbaRule(helper="_heaviside", source=_HEAVISIDE_SOURCE, defaults=(sp.S.Half,)),
            kink=True,
            in_namespace=False,
        ),
        NamedFunction(
            "sign",
            sp.sign,
            kernels.sign,
            NumbaRule(helper="_sign", source=_SIGN_SOURCE),
            kink=True,
            in_namespace=False,
        ),
        NamedFunction("log1p", log1p, np.log1p, NumbaRule(math="log1p")),
        NamedFunction("expm1", expm1, np.expm1, NumbaRule(math="expm1")),
        # floor / ceiling come from casts to integers (truncation): derivative 0, as autodiff
        NamedFunction(
            "floor", sp.floor, np.floor, NumbaRule(math="floor"), kink=True, in_namespace=False
        ),
        NamedFunction(
            "ceiling", sp.ceiling, np.ceil, NumbaRule(math="ceil"), kink=True, in_namespace=False
        ),
        NamedFunction(
            "rint", rint, np.rint, NumbaRule(helper="_rint", source=_RINT_SOURCE), kink=True
        ),
        # from sympy.codegen.cfunctions (readable derivatives: log2' = 1/(x log 2))
        NamedFunction("log2", log2, np.log2, NumbaRule(math="log2")),
        NamedFunction("log10", log10, np.log10, NumbaRule(math="log10")),
        NamedFunction("exp2", exp2, np.exp2, NumbaRule(helper="_exp2", source=_EXP2_SOURCE)),
        NamedFunction("hypot", hypot, np.hypot, NumbaRule(math="hypot")),
        # SymPy's own classes, with the NumPy kernels lambdify lacks (NumPy has no erf)
        NamedFunction("erf", sp.erf, kernels.erf, NumbaRule(math="erf"), in_namespace=False),
        NamedFunction("erfc", sp.erfc, kernels.erfc, NumbaRule(math="erfc"), in_namespace=False),
    )
}
"""Every named function, by name (the SymPy class's name)."""

BY_CLASS: dict[type, NamedFunction] = {spec.sympy: spec for spec in REGISTRY.values()}
"""The registry entry of each SymPy class."""

KINKS: tuple[type, ...] = tuple(spec.sympy for spec in REGISTRY.values() if spec.kink)
"""Step functions differentiated as 0 almost everywhere (keeps DiracDelta out of formulas
and Hessians of relu models sparse)."""

NAMED_FUNCTIONS: dict[str, type[sp.Function]] = {
    name: spec.sympy for name, spec in REGISTRY.items() if spec.in_namespace
}
"""Named functions that are not in SymPy's namespace (added to :data:`NS` and the parser)."""

NUMPY_FUNCTIONS: dict[str, Callable] = {name: spec.numpy for name, spec in REGISTRY.items()}
"""The NumPy kernel of each named function, by the name ``lambdify`` prints."""


def drop_dirac(expr):
    """``expr`` with every ``DiracDelta`` replaced by 0: kinks are differentiated as 0 almost
    everywhere (docs/architecture.md: ``relu'' = sign' = 0``). The one place that does it.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> drop_dirac(x + sp.DiracDelta(x))
    x
    """
    if isinstance(expr, sp.Basic) and has_any(expr, (sp.DiracDelta,)):
        return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return expr


def _namespace() -> types.SimpleNamespace:
    ns = types.SimpleNamespace(**{k: getattr(sp, k) for k in dir(sp) if not k.startswith("_")})
    for name, fn in NAMED_FUNCTIONS.items():
        setattr(ns, name, fn)
    ns.logsumexp = logsumexp  # for op rules (logaddexp); not a parser name
    return ns


NS = _namespace()
"""The namespace each op's ``sympy`` rule receives: ``sympy`` plus :data:`NAMED_FUNCTIONS`."""

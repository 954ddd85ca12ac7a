"""Named SymPy functions for ops SymPy lacks, written the SymPy way (fdiff / eval / rewrite).

``sigmoid``, ``softplus`` and ``relu`` keep derivative formulas readable (``σ(x)·(1 - σ(x))``
rather than a tower of exponentials). ``log1p`` and ``expm1`` come from ``sympy.codegen``.
:data:`NS` is the namespace handed to each op's symbolic rule: SymPy plus these functions.
"""

from __future__ import annotations

import types

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.printing.pretty.stringpict import prettyForm


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
            return sp.log(1 + sp.exp(x))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):
        # log1p, not log(1 + e^x): for x << 0 the latter cancels ~|x|/2.3 digits of prec
        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number:
            return None
        with mpmath.workprec(prec):
            value = mpmath.log1p(mpmath.exp(arg._to_mpmath(prec)))
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


NAMED_FUNCTIONS: dict[str, type[sp.Function]] = {
    "sigmoid": sigmoid,
    "softplus": softplus,
    "relu": relu,
    "log1p": log1p,
    "expm1": expm1,
}


def _namespace() -> types.SimpleNamespace:
    ns = types.SimpleNamespace(**{k: getattr(sp, k) for k in dir(sp) if not k.startswith("_")})
    for name, fn in NAMED_FUNCTIONS.items():
        setattr(ns, name, fn)
    return ns


NS = _namespace()
"""The namespace each op's ``sympy`` rule receives: ``sympy`` plus :data:`NAMED_FUNCTIONS`."""

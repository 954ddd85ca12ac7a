"""Print: a SymPy code printer whose output runs in numba ``njit`` and CUDA device code.

:class:`NumbaPrinter` extends SymPy's ``PythonCodePrinter``: ``math.*`` calls (supported in
nopython mode and on CUDA), literals as floats of the kernel's dtype (``np.float32(0.5)`` in
float32 kernels, so that no temporary is silently promoted to float64). Named functions
print by their rule in :data:`symdiff.functions.REGISTRY` (the one definition of each): a
``math.*`` call, or a call to a small helper emitted once per generated module
(:func:`helper_source`; sigmoid, softplus, relu, Heaviside, sign), ``logsumexp`` as a fold of
the pairwise-stable ``_logaddexp``. DiracDelta prints as 0 through
:func:`symdiff.functions.drop_dirac`.
"""

from __future__ import annotations

import math

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pycode import PythonCodePrinter

from symdiff.functions import BY_CLASS, REGISTRY, NamedFunction, drop_dirac

from .errors import UnsupportedExpressionError

# math.* functions the printer may emit. numba supports each of them in nopython CPU code
# (cpu; parallel is the same njit compiler) and in numba.cuda device code: the list is the
# intersection, so that one generated body runs on every target. A function one target
# lacks goes in that target's set only.
_MATH_COMMON = {
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos", "cosh", "erf",
    "erfc", "exp", "expm1", "floor", "gamma", "hypot", "isinf", "isnan", "lgamma", "log",
    "log10", "log1p", "log2", "sin", "sinh", "sqrt", "tan", "tanh", "copysign", "inf", "nan",
    "pi", "e",
}  # fmt: skip
SUPPORTED_MATH: dict[str, frozenset[str]] = {
    "cpu": frozenset(_MATH_COMMON),
    "parallel": frozenset(_MATH_COMMON),
    "cuda": frozenset(_MATH_COMMON),
}
"""The ``math`` functions each target runs (see the note above ``_MATH_COMMON``)."""

HELPERS: tuple[str, ...] = tuple(
    spec.numba.helper for spec in REGISTRY.values() if spec.numba.helper is not None
)
"""Helper function names, in the order the generated module defines them."""
_HELPER_SOURCE: dict[str, str] = {
    spec.numba.helper: spec.numba.source
    for spec in REGISTRY.values()
    if spec.numba.helper is not None
}


class NumbaPrinter(PythonCodePrinter):
    """Print SymPy expressions as numba-compatible Python for one dtype and one target.

    ``names`` maps every symbol that may appear to the local variable that holds it.
    """

    printmethod = "_numbacode"
    language = "numba"
    _default_settings = dict(PythonCodePrinter._default_settings, human=False, strict=False)

    def __init__(self, names: dict[sp.Symbol, str], dtype: str = "float64", target: str = "cpu"):
        super().__init__({"human": False, "strict": False})
        self.names = names
        self.float32 = dtype == "float32"
        self.target = target
        self.unknown_symbols: set[sp.Symbol] = set()
        self.helpers_used: set[str] = set()

    def print_expr(self, expr: sp.Expr) -> str:
        """Print one expression; raise if the target cannot run something in it."""
        _, unsupported, code = self.doprint(expr)
        if unsupported:
            names = [type(e).__name__ for e in unsupported]
            raise UnsupportedExpressionError(names, self.target, "no numba translation")
        return code

    def check_target(self) -> None:
        """Raise if a printed ``math`` function is not available on the target."""
        used = self.module_imports.get("math", set())
        missing = sorted(used - SUPPORTED_MATH[self.target])
        if missing:
            raise UnsupportedExpressionError(missing, self.target, "math function not available")
        if self.unknown_symbols:
            names = ", ".join(sorted(map(str, self.unknown_symbols)))
            raise ValueError(
                f"expression has symbols that are neither variables nor params: {names}"
            )

    # --- literals -----------------------------------------------------------------------------
    def _lit(self, text: str) -> str:
        return f"np.float32({text})" if self.float32 else text

    def _number(self, value: float) -> str:
        return self._lit(repr(float(value)))

    def _print_Float(self, expr):
        return self._number(float(expr))

    def _print_Integer(self, expr):
        return self._number(float(expr.p))

    def _print_Rational(self, expr):
        return self._number(expr.p / expr.q)

    _print_Half = _print_One = _print_Zero = _print_NegativeOne = _print_Rational

    def _print_NumberSymbol(self, expr):
        return self._number(float(expr.evalf(20)))

    _print_Pi = _print_Exp1 = _print_EulerGamma = _print_GoldenRatio = _print_NumberSymbol
    _print_Catalan = _print_TribonacciConstant = _print_NumberSymbol

    def _print_Infinity(self, expr):
        return self._lit(self._module_format("math.inf"))

    def _print_NegativeInfinity(self, expr):
        return "-" + self._print_Infinity(expr)

    def _print_NaN(self, expr):
        return self._lit(self._module_format("math.nan"))

    _print_ComplexInfinity = PythonCodePrinter._print_not_supported
    _print_ImaginaryUnit = PythonCodePrinter._print_not_supported

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    def _print_Symbol(self, expr):
        name = self.names.get(expr)
        if name is None:
            self.unknown_symbols.add(expr)
            return "_unknown"
        return name

    _print_Dummy = _print_Symbol

    # --- arithmetic ---------------------------------------------------------------------------
    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        sqrt = self._module_format("math.sqrt")
        if exp == sp.S.Half:
            return f"{sqrt}({self._print(base)})"
        if exp == -sp.S.Half:
            return f"{self._number(1)}/{sqrt}({self._print(base)})"
        if exp == -1:
            return f"{self._number(1)}/{self.parenthesize(base, PRECEDENCE['Mul'], strict=True)}"
        base_str = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if exp.is_Integer:
            # an integer exponent keeps the dtype in numba and is expanded into multiplications
            return f"{base_str}**{int(exp)}"
        return f"{base_str}**{self.parenthesize(exp, PRECEDENCE['Pow'], strict=True)}"

    # --- functions ----------------------------------------------------------------------------
    def _print(self, expr, **kwargs):
        spec = BY_CLASS.get(type(expr))
        if spec is not None:
            return self._print_named(spec, expr)
        return super()._print(expr, **kwargs)

    def _print_named(self, spec: NamedFunction, expr: sp.Expr) -> str:
        """A named function, by its registry rule (``math.*`` call or helper call)."""
        rule = spec.numba
        args = list(expr.args) + list(rule.defaults[len(expr.args) - 1 :])
        if rule.math is not None:
            fn = self._module_format(f"math.{rule.math}")
            return f"{fn}({', '.join(self._print(a) for a in args)})"
        self.helpers_used.add(rule.helper)
        if rule.fold:
            # a left fold of the binary helper: no exp() of a positive number
            out = self._print(args[0])
            for arg in args[1:]:
                out = f"{rule.helper}({out}, {self._print(arg)})"
            return out
        return f"{rule.helper}({', '.join(self._print(a) for a in args)})"

    def _print_DiracDelta(self, expr):
        return self._print(drop_dirac(expr))

    def _fold(self, fn: str, args) -> str:
        out = self._print(args[0])
        for arg in args[1:]:
            out = f"{fn}({out}, {self._print(arg)})"
        return out

    def _print_Max(self, expr):
        return self._fold("max", expr.args)

    def _print_Min(self, expr):
        return self._fold("min", expr.args)

    def _print_Piecewise(self, expr):
        *pairs, last = expr.args
        tail = self._print(last.expr) if last.cond == sp.true else None
        if tail is None:
            pairs.append(last)
            tail = self._print_NaN(expr)
        out = f"({tail})"
        for pair in reversed(pairs):
            out = f"(({self._print(pair.expr)}) if {self._print(pair.cond)} else {out})"
        return out

    def _print_Relational(self, expr):
        lhs = self.parenthesize(expr.lhs, precedence(expr))
        rhs = self.parenthesize(expr.rhs, precedence(expr))
        return f"({lhs} {expr.rel_op} {rhs})"


def helper_source(name: str, decorator: str, dtype: str) -> str:
    """Source of one helper function, with literals of ``dtype``, under ``decorator``."""
    wrap = "np.float32({})" if dtype == "float32" else "{}"
    text = _HELPER_SOURCE[name].format(
        zero=wrap.format("0.0"), one=wrap.format("1.0"), log2=wrap.format(repr(math.log(2.0)))
    )
    return f"\n\n{decorator}{text.lstrip()}"

"""Print: a SymPy code printer whose output runs in numba ``njit`` and CUDA device code.

:class:`NumbaPrinter` extends SymPy's ``PythonCodePrinter``: ``math.*`` calls (supported in
nopython mode and on CUDA), literals as floats of the kernel's dtype (``np.float32(0.5)`` in
float32 kernels, so that no temporary is silently promoted to float64), and one
``_print_<Class>`` method per function SymPy's printer does not know. Named functions whose
stable form needs branches (sigmoid, softplus, relu, Heaviside, sign) print as calls to small
helpers emitted once per generated module (:func:`helper_source`); ``logsumexp`` (from
:mod:`bridge.stable`) prints as a fold of the pairwise-stable ``_logaddexp``.
"""

from __future__ import annotations

import math

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pycode import PythonCodePrinter

from .errors import UnsupportedExpressionError

# math.* functions each target can run (numba nopython CPU and numba.cuda device code).
_MATH_COMMON = {
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos", "cosh", "erf",
    "erfc", "exp", "expm1", "floor", "gamma", "hypot", "isinf", "isnan", "lgamma", "log",
    "log10", "log1p", "log2", "sin", "sinh", "sqrt", "tan", "tanh", "copysign", "inf", "nan",
    "pi", "e",
}  # fmt: skip
SUPPORTED_MATH = {"cpu": _MATH_COMMON, "parallel": _MATH_COMMON, "cuda": _MATH_COMMON}

HELPERS = ("_sigmoid", "_softplus", "_logaddexp", "_relu", "_heaviside", "_sign")


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
    def _helper(self, name: str, *args) -> str:
        self.helpers_used.add(name)
        return f"{name}({', '.join(self._print(a) for a in args)})"

    def _print_sigmoid(self, expr):
        return self._helper("_sigmoid", expr.args[0])

    def _print_softplus(self, expr):
        return self._helper("_softplus", expr.args[0])

    def _print_logsumexp(self, expr):
        # a left fold of the pairwise-stable log(e^a + e^b): no exp() of a positive number
        out = self._print(expr.args[0])
        for arg in expr.args[1:]:
            self.helpers_used.add("_logaddexp")
            out = f"_logaddexp({out}, {self._print(arg)})"
        return out

    def _print_relu(self, expr):
        return self._helper("_relu", expr.args[0])

    def _print_sign(self, expr):
        return self._helper("_sign", expr.args[0])

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return self._helper("_heaviside", expr.args[0], at_zero)

    def _print_DiracDelta(self, expr):
        # Kinks are differentiated as 0 everywhere (docs/architecture.md: relu'' = sign' = 0).
        return self._number(0)

    def _print_log1p(self, expr):
        return f"{self._module_format('math.log1p')}({self._print(expr.args[0])})"

    def _print_expm1(self, expr):
        return f"{self._module_format('math.expm1')}({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

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


_HELPER_SOURCE = {
    "_sigmoid": """
def _sigmoid(x):
    # exp of a non-positive number never overflows
    if x >= {zero}:
        return {one} / ({one} + math.exp(-x))
    e = math.exp(x)
    return e / ({one} + e)
""",
    "_softplus": """
def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for every finite x
    return max(x, {zero}) + math.log1p(math.exp(-abs(x)))
""",
    "_logaddexp": """
def _logaddexp(a, b):
    # log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|); equal arguments (infinities too) first
    if a == b:
        return a + {log2}
    if a > b:
        return a + math.log1p(math.exp(b - a))
    if b > a:
        return b + math.log1p(math.exp(a - b))
    return a + b
""",
    "_relu": """
def _relu(x):
    return x if x > {zero} else {zero}
""",
    "_heaviside": """
def _heaviside(x, at_zero):
    if x > {zero}:
        return {one}
    if x < {zero}:
        return {zero}
    return at_zero if x == {zero} else x
""",
    "_sign": """
def _sign(x):
    if x > {zero}:
        return {one}
    if x < {zero}:
        return -{one}
    return x
""",
}


def helper_source(name: str, decorator: str, dtype: str) -> str:
    """Source of one helper function, with literals of ``dtype``, under ``decorator``."""
    wrap = "np.float32({})" if dtype == "float32" else "{}"
    text = _HELPER_SOURCE[name].format(
        zero=wrap.format("0.0"), one=wrap.format("1.0"), log2=wrap.format(repr(math.log(2.0)))
    )
    return f"\n\n{decorator}{text.lstrip()}"

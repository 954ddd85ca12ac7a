"""Parse user text into a SymPy expression, accepting only arithmetic on a fixed namespace.

The text is checked with Python's ``ast`` before SymPy sees it: only an expression of numbers,
names, ``+ - * / ** ^``, unary signs and calls of allowed functions passes. Attribute access,
subscripts, dunder names, lambdas, keywords, strings, statements and imports are rejected.

Work is bounded before SymPy evaluates anything: the text has at most ``MAX_LENGTH``
characters, brackets and operators nest at most ``MAX_DEPTH`` levels, and every integer
literal or constant power (``9**9**9``) has at most ``MAX_DIGITS`` decimal digits. Anything
beyond raises ``ValueError`` naming the limit, never a hang, ``RecursionError`` or
``MemoryError``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence

import sympy as sp
from sympy.parsing.sympy_parser import (
    auto_number,
    convert_xor,
    parse_expr,
)

from .functions import NAMED_FUNCTIONS, logsumexp
from .numbers import sympy_number

_ELEMENTARY = [
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "asin",
    "acos",
    "atan",
    "Abs",
    "sign",
    "Max",
    "Min",
    "Heaviside",
]
FUNCTIONS: dict[str, object] = {name: getattr(sp, name) for name in _ELEMENTARY}
FUNCTIONS.update(NAMED_FUNCTIONS)
# The names of the Python API (autodiff's functions, NumPy's spellings) and SymPy's own, so that
# a formula copied from Python code parses: ``arctan2(y, x)`` and ``atan2(y, x)`` alike.
_ALIASES: dict[str, str] = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "abs": "Abs",
    "absolute": "Abs",
    "maximum": "Max",
    "minimum": "Min",
    "fmax": "Max",
    "fmin": "Min",
    "heaviside": "Heaviside",
    "ceil": "ceiling",
    "around": "rint",
}
FUNCTIONS.update(
    {name: getattr(sp, name) for name in ("asinh", "acosh", "atanh", "atan2", "erf", "erfc")}
)
FUNCTIONS.update({"floor": sp.floor, "ceiling": sp.ceiling})
FUNCTIONS.update({alias: FUNCTIONS[name] for alias, name in _ALIASES.items()})
FUNCTIONS.update(
    {
        "power": sp.Pow,
        "mod": lambda a, b: a - b * sp.floor(a / b),
        "remainder": lambda a, b: a - b * sp.floor(a / b),
        "trunc": lambda x: sp.Piecewise((sp.floor(x), x >= 0), (sp.ceiling(x), True)),
        "square": lambda x: x**2,
        "logaddexp": lambda a, b: logsumexp(a, b),
        "logaddexp2": lambda a, b: logsumexp(a * sp.log(2), b * sp.log(2)) / sp.log(2),
        "round": lambda x, decimals=0: _round(x, decimals),
    }
)


def _round(x, decimals):
    """``round(x, decimals)`` as autodiff lifts it: ``rint`` of the scaled value (halves to
    even)."""
    if not (isinstance(decimals, int | sp.Integer) or getattr(decimals, "is_Integer", False)):
        raise ValueError(
            f"parse_expression: round() takes an integer number of decimals, got {decimals}"
        )
    scale = sp.Integer(10) ** abs(int(decimals))
    rint = FUNCTIONS["rint"]
    return rint(x * scale) / scale if decimals >= 0 else rint(x / scale) * scale


CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}
RESERVED = frozenset({"oo", "zoo", "nan", "NaN", "inf", "Infinity", "infinity", "I", "true"})
"""Names that SymPy (or a reader) takes for infinity, NaN or the imaginary unit: rejected."""
CONDITIONALS: dict[str, object] = {
    "where": lambda cond, a, b: sp.Piecewise((a, cond), (b, True)),
    "Piecewise": sp.Piecewise,
}
"""``where(cond, a, b)`` (as ``ad.where``) and ``Piecewise((a, cond), ..., (b, True))``."""
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor)
_UNARY = (ast.UAdd, ast.USub)
MAX_LENGTH = 10_000
"""Longest accepted input, in characters."""
MAX_DEPTH = 200
"""Deepest accepted nesting of brackets, calls and operators (``x+x+...`` counts one per term)."""
MAX_DIGITS = 1_000
"""Most decimal digits of an integer literal or of a constant power such as ``2**3000``."""
_MAX_LENGTH = MAX_LENGTH


def _reject(text: str, why: str) -> ValueError:
    shown = text if len(text) <= 80 else f"{text[:40]}...{text[-20:]}"
    return ValueError(f"parse_expression: {why} in {shown!r}")


def _check_tree(root: ast.AST, text: str, names: list[str]) -> None:
    """Check every node (iteratively, so that deep input cannot exhaust the stack)."""
    stack: list[tuple[ast.AST, int, str]] = [(root, 1, "value")]
    while stack:
        node, depth, role = stack.pop()
        if depth > MAX_DEPTH:
            raise _reject(text, f"expression nested deeper than the limit of {MAX_DEPTH} levels")
        if role == "value":
            found = _check_node(node, text, names)
            children = found if isinstance(found, _Tagged) else [(c, "value") for c in found]
        else:
            children = _check_conditional_part(node, text, role)
        # children pushed in reverse: names are then found in order of appearance
        stack.extend((c, depth + 1, r) for c, r in reversed(children))
    _check_magnitudes(root, text)


def _check_conditional_part(node: ast.AST, text: str, role: str) -> list[tuple[ast.AST, str]]:
    """A condition (``x > 0``, ``True`` last in Piecewise) or a ``(value, condition)`` pair."""
    if role == "pair":
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
            raise _reject(text, "Piecewise takes (value, condition) pairs")
        return [(node.elts[0], "value"), (node.elts[1], "condition")]
    if isinstance(node, ast.Constant) and node.value is True:
        return []
    if isinstance(node, ast.Compare):
        if not all(isinstance(op, _COMPARE) for op in node.ops) or len(node.ops) != 1:
            raise _reject(text, "a condition is one comparison with <, <=, > or >=")
        return [(node.left, "value"), (node.comparators[0], "value")]
    raise _reject(text, "a condition must be a comparison such as x > 0")


def _check_node(node: ast.AST, text: str, names: list[str]) -> list[ast.AST]:
    """Validate one node; return the children still to check."""
    called = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else ""
    if called in CONDITIONALS:
        return _check_conditional(node, text)
    if isinstance(node, ast.Compare):
        raise _reject(text, "comparisons are allowed only as conditions of where(cond, a, b)")
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise _reject(text, f"operator {type(node.op).__name__} is not allowed")
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARY):
            raise _reject(text, f"operator {type(node.op).__name__} is not allowed")
        return [node.operand]
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise _reject(text, f"only numbers are allowed as literals, not {node.value!r}")
        return []
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _reject(text, f"name {node.id!r} is not allowed (leading underscore)")
        if node.id in FUNCTIONS or node.id in CONDITIONALS:
            raise _reject(text, f"function {node.id!r} must be called")
        if node.id in RESERVED:
            raise _reject(
                text,
                f"name {node.id!r} is reserved (infinity, NaN and complex numbers are not "
                "variables)",
            )
        if node.id not in names and node.id not in CONSTANTS:
            names.append(node.id)
        return []
    if isinstance(node, ast.Call):
        return _check_call(node, text)
    raise _reject(text, f"{type(node).__name__} is not allowed (only arithmetic and calls)")


def _check_conditional(node: ast.Call, text: str):
    name = node.func.id
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise _reject(text, f"{name}() takes plain positional arguments")
    if name == "where":
        if len(node.args) != 3:
            raise _reject(text, "where(cond, a, b) takes three arguments")
        return _Tagged(
            [(node.args[0], "condition"), (node.args[1], "value"), (node.args[2], "value")]
        )
    if len(node.args) < 1:
        raise _reject(text, "Piecewise needs (value, condition) pairs")
    return _Tagged([(a, "pair") for a in node.args])


class _Tagged(list):
    """Children with their roles (``condition``, ``pair``) rather than plain values."""


def _check_call(node: ast.Call, text: str) -> list[ast.AST]:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        what = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
        allowed = ", ".join(sorted(FUNCTIONS))
        raise _reject(text, f"call of {what!r} is not allowed (allowed: {allowed})")
    if node.keywords:
        raise _reject(text, "keyword arguments are not allowed")
    if not node.args:
        raise _reject(text, f"{node.func.id}() needs an argument")
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise _reject(text, "starred arguments are not allowed")
    return list(node.args)


def _check_magnitudes(root: ast.AST, text: str) -> None:
    """Reject integer literals and constant powers with more than ``MAX_DIGITS`` digits.

    ``log10 |value|`` of every constant subexpression is estimated bottom-up (post-order, no
    recursion) from the literals alone, so ``9**9**9`` is rejected without being computed.
    """
    size: dict[int, float | None] = {}  # id(node) -> log10|value|, None: not a constant
    order: list[ast.AST] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    for node in reversed(order):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            size[id(node)] = _log10(node.value)
        elif isinstance(node, ast.Constant):
            v = abs(float(node.value))
            if v == math.inf:
                raise _reject(text, "a number literal is beyond the float range (about 1.8e308)")
            size[id(node)] = math.log10(v) if v > 0 else 0.0
        elif isinstance(node, ast.UnaryOp):
            size[id(node)] = size.get(id(node.operand))
        elif isinstance(node, ast.BinOp):
            size[id(node)] = _binop_size(node, size.get(id(node.left)), size.get(id(node.right)))
        else:
            size[id(node)] = None
        found = size[id(node)]
        if found is not None and found > MAX_DIGITS:
            raise _reject(
                text,
                f"a constant of about {found:.3g} digits exceeds the limit of {MAX_DIGITS} digits",
            )


def _log10(value: int) -> float:
    """``log10 |value|`` of an int of any size (0 for 0), without converting it to text."""
    value = abs(value)
    if value == 0:
        return 0.0
    bits = value.bit_length()
    if bits < 1000:
        return math.log10(value)
    return math.log10(value >> (bits - 60)) + (bits - 60) * math.log10(2)


def _binop_size(node: ast.BinOp, left: float | None, right: float | None) -> float | None:
    if left is None or right is None:
        # a symbolic base with a huge constant exponent stays cheap (x**(10**9)); a constant
        # base with a symbolic exponent is not evaluated
        return None
    if isinstance(node.op, ast.Pow | ast.BitXor):
        exponent = 10.0**right if right < 300 else math.inf
        return left * exponent if left > 0 else 1.0
    if isinstance(node.op, ast.Mult | ast.Div):
        return abs(left) + abs(right)
    return max(left, right) + 1.0


def _nesting(text: str) -> int:
    """Deepest bracket nesting, counting a run of unary signs as nesting too."""
    depth = deepest = run = 0
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c in "+-":
            run += 1
        elif not c.isspace():
            run = 0
        deepest = max(deepest, depth + run)
    return deepest


def _validated_names(text: str) -> list[str]:
    if len(text) > MAX_LENGTH:
        raise ValueError(
            f"parse_expression: input of {len(text)} characters is longer than the limit of "
            f"{MAX_LENGTH} characters"
        )
    if any(c in text for c in ";\n\r\\"):
        raise _reject(text, "statements, line breaks and backslashes are not allowed")
    if _nesting(text) > MAX_DEPTH:
        raise _reject(text, f"brackets or signs nested deeper than the limit of {MAX_DEPTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _reject(text, f"not a valid expression ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise _reject(text, f"expression nested deeper than the limit of {MAX_DEPTH}") from None
    names: list[str] = []
    _check_tree(tree.body, text, names)
    return names


def parse_expression(
    text: str, names: Sequence[str] | None = None
) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """Parse ``text`` into ``(expr, symbols)`` with real symbols, rejecting anything but math.

    ``symbols`` follows ``names`` when given (other names are then an error), otherwise the
    order of first appearance in ``text``.

    Examples
    --------
    >>> from symdiff import parse_expression
    >>> expr, (x, y) = parse_expression("log(1 + exp(x*y)) / (1 + y**2)")
    >>> expr
    log(exp(x*y) + 1)/(y**2 + 1)
    >>> parse_expression("x.__class__")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: parse_expression: Attribute is not allowed ...
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_expression: expected a string, got {type(text).__name__}")
    found = _validated_names(text)
    if names is not None:
        names = [str(n) for n in names]
        unknown = [n for n in found if n not in names]
        if unknown:
            raise _reject(text, f"unknown name(s) {unknown} (expected only {names})")
        found = names
    symbols = {n: sp.Symbol(n, real=True) for n in found}
    local = {**FUNCTIONS, **CONDITIONALS, **CONSTANTS, **symbols}
    global_dict = {"__builtins__": {}, "Integer": sp.Integer, "Float": sp.Float}
    global_dict.update({"Rational": sp.Rational, "Symbol": sp.Symbol})
    try:
        expr = parse_expr(
            text.strip(),
            local_dict=local,
            global_dict=global_dict,
            transformations=(auto_number, convert_xor),
        )
    except (SyntaxError, TypeError, ValueError, AttributeError) as exc:
        raise _reject(text, f"SymPy could not build it ({exc})") from None
    expr = sp.sympify(expr)
    if expr.has(sp.zoo, sp.oo, sp.nan, sp.S.NegativeInfinity):
        raise _reject(text, f"the expression is not finite ({expr}: a division by zero?)")
    floats = {f: sympy_number(float(f)) for f in expr.atoms(sp.Float)}
    return (expr.xreplace(floats) if floats else expr), tuple(symbols.values())

"""Parse user text into a SymPy expression, accepting only arithmetic on a fixed namespace.

The text is checked with Python's ``ast`` before SymPy sees it: only an expression of numbers,
names, ``+ - * / ** ^``, unary signs and calls of allowed functions passes. Attribute access,
subscripts, dunder names, lambdas, keywords, strings, statements and imports are rejected.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import sympy as sp
from sympy.parsing.sympy_parser import (
    auto_number,
    convert_xor,
    parse_expr,
)

from .functions import NAMED_FUNCTIONS
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
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.BitXor)
_UNARY = (ast.UAdd, ast.USub)
_MAX_LENGTH = 10_000


def _reject(text: str, why: str) -> ValueError:
    return ValueError(f"parse_expression: {why} in {text!r}")


def _check_node(node: ast.AST, text: str, names: list[str]) -> None:
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise _reject(text, f"operator {type(node.op).__name__} is not allowed")
        _check_node(node.left, text, names)
        _check_node(node.right, text, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARY):
            raise _reject(text, f"operator {type(node.op).__name__} is not allowed")
        _check_node(node.operand, text, names)
    elif isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise _reject(text, f"only numbers are allowed as literals, not {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _reject(text, f"name {node.id!r} is not allowed (leading underscore)")
        if node.id in FUNCTIONS:
            raise _reject(text, f"function {node.id!r} must be called")
        if node.id not in names and node.id not in CONSTANTS:
            names.append(node.id)
    elif isinstance(node, ast.Call):
        _check_call(node, text, names)
    else:
        raise _reject(text, f"{type(node).__name__} is not allowed (only arithmetic and calls)")


def _check_call(node: ast.Call, text: str, names: list[str]) -> None:
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
        _check_node(arg, text, names)


def _validated_names(text: str) -> list[str]:
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"parse_expression: input longer than {_MAX_LENGTH} characters")
    if any(c in text for c in ";\n\r\\"):
        raise _reject(text, "statements, line breaks and backslashes are not allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _reject(text, f"not a valid expression ({exc.msg})") from None
    names: list[str] = []
    _check_node(tree.body, text, names)
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
    local = {**FUNCTIONS, **CONSTANTS, **symbols}
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
    floats = {f: sympy_number(float(f)) for f in expr.atoms(sp.Float)}
    return (expr.xreplace(floats) if floats else expr), tuple(symbols.values())

"""Array expressions given as text (``hybriddiff formula ... --shapes``), run on autodiff.

``array_function("sum(softplus(X@w) - y*(X@w))")`` checks the text with Python's ``ast`` and
returns a function of the names in it (in order of first appearance) that evaluates the
expression with autodiff operations, plus those names. Only numbers, names, ``+ - * / ** @``,
unary signs, ``.T`` and calls of the functions in :data:`ARRAY_FUNCTIONS` (with an optional
``axis=`` integer) pass; nothing is ``eval``-ed.

:func:`parse_shapes` reads ``X=m,n w=n y=m lam=`` into NumPy shapes: a letter is a size
variable (each distinct letter gets a distinct size, 3, 4, 5, ...; the formula does not depend
on them), a number a fixed size, an empty right-hand side a scalar.

Examples
--------
>>> f, names = array_function("sum((A @ x - b) ** 2)")
>>> names
['A', 'x', 'b']
>>> parse_shapes(["A=m,n", "x=n", "b=m"], names)
{'A': (3, 4), 'x': (4,), 'b': (3,)}
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

import autodiff as ad

from .parse import MAX_DEPTH, MAX_LENGTH

__all__ = ["ARRAY_FUNCTIONS", "array_function", "example_arrays", "parse_shapes"]

ARRAY_FUNCTIONS: dict[str, Callable] = {
    name: getattr(ad, name)
    for name in (
        "sum", "mean", "exp", "log", "tanh", "sigmoid", "softplus", "relu", "sin", "cos", "tan",
        "sqrt", "abs", "logsumexp", "softmax", "square", "log1p", "expm1", "transpose",
    )
}  # fmt: skip
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.MatMult: lambda a, b: a @ b,
}


def _error(text: str, why: str) -> ValueError:
    return ValueError(f"array expression {text[:60]!r}: {why}")


def _check(tree: ast.AST, text: str) -> list[str]:
    """Validate every node (iteratively) and return the free names in order of appearance."""
    names: list[str] = []
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _error(text, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Expression):
            kids = [node.body]
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise _error(text, f"operator {type(node.op).__name__} is not allowed")
            kids = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise _error(text, f"operator {type(node.op).__name__} is not allowed")
            kids = [node.operand]
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise _error(text, f"constant {node.value!r} is not a number")
            kids = []
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _error(text, f"name {node.id!r} is not allowed")
            if node.id in ARRAY_FUNCTIONS:
                raise _error(text, f"{node.id!r} is a function; call it")
            if node.id not in names:
                names.append(node.id)
            kids = []
        elif isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise _error(text, f"attribute .{node.attr} is not allowed (only .T)")
            kids = [node.value]
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in ARRAY_FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else "this call"
                raise _error(
                    text, f"unknown function {what!r}; known: {', '.join(sorted(ARRAY_FUNCTIONS))}"
                )
            if len(node.args) != 1:
                raise _error(text, f"{node.func.id}() takes one argument")
            for kw in node.keywords:
                ok = isinstance(kw.value, ast.Constant) and type(kw.value.value) is int
                if kw.arg != "axis" or not ok:
                    raise _error(text, f"{node.func.id}(): only axis=<integer> is allowed")
            kids = list(node.args)
        else:
            raise _error(text, f"{type(node).__name__} is not allowed")
        # push in reverse so that names are found left to right
        stack.extend((k, depth + 1) for k in reversed(kids))
    return names


def _run(node: ast.AST, env: dict[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _run(node.body, env)
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_run(node.left, env), _run(node.right, env))
    if isinstance(node, ast.UnaryOp):
        value = _run(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Attribute):
        return ad.transpose(_run(node.value, env))
    if isinstance(node, ast.Call):
        kwargs = {kw.arg: kw.value.value for kw in node.keywords}
        return ARRAY_FUNCTIONS[node.func.id](_run(node.args[0], env), **kwargs)
    raise TypeError(type(node).__name__)  # unreachable after _check


def array_function(text: str) -> tuple[Callable[..., Any], list[str]]:
    """``(f, names)``: ``f(*values)`` evaluates ``text`` with autodiff, one value per name."""
    if len(text) > MAX_LENGTH:
        raise _error(text, f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _error(text, f"not an expression ({exc.msg})") from None
    names = _check(tree, text)
    if not names:
        raise _error(text, "has no variables")

    def f(*values: Any) -> Any:
        return _run(tree, dict(zip(names, values)))

    return f, names


def parse_shapes(
    items: Sequence[str], names: Sequence[str], sizes: dict[str, int] | None = None
) -> dict[str, tuple[int, ...]]:
    """NumPy shapes from ``NAME=d1,d2`` items; unlisted names are scalars.

    A dimension is a positive integer or a letter-name (each distinct name gets a distinct
    size from 3 up, none equal to a number given); ``NAME=`` or ``NAME=()`` is a scalar.
    ``sizes`` (when given) receives the size chosen for each letter-name.
    """
    sizes = {} if sizes is None else sizes
    shapes: dict[str, tuple[int, ...]] = {}
    fixed = {
        int(t) for item in items for t in item.partition("=")[2].strip("() ").split(",")
        if t.strip().isdigit()
    }  # fmt: skip

    def size_of(letter: str) -> int:
        if letter not in sizes:
            n = 3
            while n in fixed or n in sizes.values():
                n += 1
            sizes[letter] = n
        return sizes[letter]

    for item in items:
        name, eq, dims = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ValueError(f"--shapes: expected NAME=d1,d2, got {item!r}")
        if name not in names:
            raise ValueError(f"--shapes: {name!r} does not appear in the expression {list(names)}")
        dims = dims.strip().strip("()")
        shape = []
        for d in (t.strip() for t in dims.split(",") if t.strip()):
            if d.isdigit() and int(d) > 0:
                shape.append(int(d))
            elif d.isidentifier():
                shape.append(size_of(d))
            else:
                raise ValueError(f"--shapes: dimension {d!r} of {name!r} is not a size or a name")
        if len(shape) > 2:
            raise ValueError(f"--shapes: {name!r} has {len(shape)} dimensions; at most 2")
        shapes[name] = tuple(shape)
    return {n: shapes.get(n, ()) for n in names}


def example_arrays(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> list[Any]:
    """Random example values of the given shapes (floats for scalars), in order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) if s else float(rng.normal()) for s in shapes.values()]

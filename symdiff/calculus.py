"""Derivatives of plain SymPy expressions: gradient, Jacobian, sparse Hessian, any order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from .hessian import SparseHessian, sparse_hessian
from .reverse import diff_raw, gradient_raw
from .simplify import check_level, collapse_named, simplify_expr, simplify_exprs


def _variables(variables: Any) -> tuple[sp.Symbol, ...]:
    if isinstance(variables, sp.Symbol):
        return (variables,)
    if isinstance(variables, np.ndarray):
        variables = variables.ravel().tolist()
    out = tuple(sp.sympify(v) for v in variables)
    bad = [v for v in out if not isinstance(v, sp.Symbol)]
    if bad:
        raise ValueError(f"variables must be SymPy symbols, got {bad[0]!r}")
    return out


def _prepare(expr: Any, simplify: str) -> sp.Basic:
    """Sympify; unless ``simplify="none"``, collapse exp patterns into named functions first."""
    check_level(simplify)
    expr = sp.sympify(expr)
    return expr if simplify == "none" else collapse_named(expr)


def gradient(
    expr: Any, variables: Iterable[sp.Symbol], simplify: str = "none", budget: float | None = None
) -> list[sp.Expr]:
    """First partials of ``expr`` in ``variables`` order, by one reverse sweep.

    Examples
    --------
    >>> import sympy as sp, symdiff
    >>> x, y = sp.symbols("x y")
    >>> symdiff.gradient(x**2 * y, [x, y])
    [2*x*y, x**2]
    """
    expr = _prepare(expr, simplify)
    return simplify_exprs(gradient_raw(expr, _variables(variables)), simplify, budget)


def hessian(
    expr: Any, variables: Iterable[sp.Symbol], simplify: str = "none", budget: float | None = None
) -> SparseHessian:
    """Sparse Hessian of ``expr``: only structurally non-zero entries are derived.

    Examples
    --------
    >>> import sympy as sp, symdiff
    >>> x, y = sp.symbols("x y")
    >>> h = symdiff.hessian(x**3 + y**2, [x, y])
    >>> h.nnz, h.dense()
    (2, Matrix([
    [6*x, 0],
    [  0, 2]]))
    """
    h = sparse_hessian(_prepare(expr, simplify), _variables(variables))
    return h if simplify == "none" else h.simplify(simplify, budget)


def jacobian(
    exprs: Any, variables: Iterable[sp.Symbol], simplify: str = "none", budget: float | None = None
) -> sp.Matrix:
    """Jacobian matrix: one row per (flattened) expression, one column per variable."""
    check_level(simplify)
    variables = _variables(variables)
    flat = np.asarray(exprs, dtype=object).ravel().tolist()
    rows = [
        simplify_exprs(gradient_raw(_prepare(e, simplify), variables), simplify, budget)
        for e in flat
    ]
    return sp.Matrix(len(rows), len(variables), lambda i, j: rows[i][j])


def parse_wrt(wrt: Sequence[Any]) -> list[sp.Symbol]:
    """Expand SymPy-style ``(x, 2, y)`` or ``((x, 2), y)`` into ``[x, x, y]``."""
    out: list[sp.Symbol] = []
    for item in wrt:
        if isinstance(item, int | np.integer):
            if not out or item < 0:
                raise ValueError(f"derivative: a count {item} must follow a variable")
            out.extend([out[-1]] * (int(item) - 1))
        elif isinstance(item, tuple):
            out.extend(parse_wrt(item))
        else:
            out.append(item)
    return out


def derivative(expr: Any, *wrt: Any, simplify: str = "none") -> sp.Expr:
    """Mixed partial of any order: ``derivative(e, x, 3)``, ``derivative(e, x, y, y)``.

    Examples
    --------
    >>> import sympy as sp, symdiff
    >>> x = sp.Symbol("x")
    >>> symdiff.derivative(x**5, x, 3)
    60*x**2
    """
    variables = parse_wrt(wrt)
    _variables(variables)
    expr = _prepare(expr, simplify)
    if simplify != "none":
        for v in variables:  # simplifying between orders keeps high orders from swelling
            expr = simplify_expr(diff_raw(expr, [v]), simplify)
        return expr
    return diff_raw(expr, variables)

"""Reverse accumulation over a SymPy expression DAG: all first partials in one sweep.

Equal subexpressions are one node (SymPy expressions hash structurally), so a subexpression
shared by many terms is differentiated once and its adjoint is reused, instead of the
``n`` independent ``sympy.diff`` calls whose cost and output size grow as ``O(n^2)``.
Adjoint contributions are collected in lists and summed with one n-ary ``Add`` per node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sympy as sp
from sympy.core.function import ArgumentIndexError
from sympy.functions.elementary.miscellaneous import MinMaxBase

from .dag import deep_recursion, free_symbols, fresh_constructor_cache, tree_size
from .functions import KINKS


def _children(node: sp.Basic) -> tuple:
    """The differentiable operands of ``node`` (conditions of a Piecewise are not)."""
    if isinstance(node, sp.Piecewise):
        return tuple(pair.expr for pair in node.args)
    if isinstance(node, sp.Add | sp.Mul | sp.Pow) or _is_function(node):
        return node.args
    return ()


def _is_function(node: sp.Basic) -> bool:
    if isinstance(node, MinMaxBase):
        return True
    return isinstance(node, sp.Function) and not isinstance(node, sp.Piecewise)


def _is_opaque(node: sp.Basic) -> bool:
    """Nodes differentiated as a whole by ``sympy.diff`` (Derivative, Integral, Sum, ...)."""
    return isinstance(node, sp.Expr) and not node.is_Atom and not _children(node)


def _sweep_order(
    expr: sp.Basic, targets: frozenset, free: dict | None = None
) -> tuple[list[sp.Basic], dict]:
    """Nodes of ``expr`` that depend on ``targets``, children before parents (iterative).

    Every unique node is visited once, so the cost is linear in the DAG size of ``expr``.
    """
    free = {} if free is None else free
    depends: dict[sp.Basic, bool] = {}
    order: list[sp.Basic] = []
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            dep = any(depends[c] for c in _children(node))
            dep = dep or (_is_opaque(node) and bool(free_symbols(node, free) & targets))
            depends[node] = dep
            if dep:
                order.append(node)
            continue
        if node in depends:
            continue
        if node.is_Atom:
            depends[node] = node in targets
            if depends[node]:
                order.append(node)
            continue
        depends[node] = False  # placeholder until its children are done
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if c not in depends)
    return order, depends


def _dummy_partial(node: sp.Basic, i: int) -> sp.Expr:
    """d node / d args[i] by replacing that one position with a Dummy (generic fallback)."""
    d = sp.Dummy("d")
    args = list(node.args)
    arg = args[i]
    args[i] = d
    return node.func(*args).diff(d).xreplace({d: arg})


def _function_partial(node: sp.Function, i: int) -> sp.Expr:
    if isinstance(node, KINKS):  # step functions: 0 almost everywhere (symdiff.functions)
        return sp.S.Zero
    try:
        return node.fdiff(i + 1)
    except (ArgumentIndexError, NotImplementedError, TypeError, AttributeError):
        return _dummy_partial(node, i)


def _piecewise_partial(node: sp.Piecewise, i: int) -> sp.Expr:
    pieces = [(sp.S.One if j == i else sp.S.Zero, p.cond) for j, p in enumerate(node.args)]
    return sp.Piecewise(*pieces)


def _local_partials(node: sp.Basic, depends: dict) -> list[tuple[sp.Basic, sp.Expr]]:
    """(child, d node / d child) for every operand position of ``node`` that depends."""
    kids = _children(node)
    out = []
    for i, child in enumerate(kids):
        if not depends.get(child, False):
            continue
        if isinstance(node, sp.Add):
            p = sp.S.One
        elif isinstance(node, sp.Mul):
            p = sp.Mul(*(kids[:i] + kids[i + 1 :]))
        elif isinstance(node, sp.Pow):
            base, e = kids
            p = e * base ** (e - 1) if i == 0 else node * sp.log(base)
        elif isinstance(node, sp.Piecewise):
            p = _piecewise_partial(node, i)
        else:
            p = _function_partial(node, i)
        out.append((child, p))
    return out


SMALL = 60
"""Adjoint products and sums whose operands have at most this many tree nodes are built by
SymPy as usual (flattened, sorted, readable); larger ones are kept as nested binary nodes
(``evaluate=False``): flattening an adjoint into the product of every chain factor, and
sorting deep arguments, makes the sweep quadratic."""


class _Builder:
    """Adjoint products (flattened when small, nested when large) and sums."""

    def __init__(self) -> None:
        self.sizes: dict = {}

    def _large(self, *exprs: sp.Basic) -> bool:
        total = 0
        for e in exprs:
            total += tree_size(e, SMALL, self.sizes)
            if total > SMALL:
                return True
        return False

    def mul(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        if a == 1:
            return b
        if b == 1:
            return a
        if not self._large(a, b):
            return a * b
        if a == b:
            return sp.Pow(a, 2, evaluate=False)
        return sp.Mul(a, b, evaluate=False)

    def add(self, terms: list) -> sp.Expr:
        if len(terms) == 1:
            return terms[0]
        if not self._large(*terms):
            return sp.Add(*terms)
        # Binary sums of distinct terms only: SymPy's cse (lambdify, codegen) treats the
        # arguments of an Add as a set and loses terms of wider unevaluated sums.
        counts: dict = {}
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
        out = None
        for t, k in counts.items():
            t = t if k == 1 else sp.Mul(sp.Integer(k), t, evaluate=False)
            if out is None or out == t:
                out = t if out is None else sp.Mul(sp.Integer(2), t, evaluate=False)
            else:
                out = sp.Add(out, t, evaluate=False)
        return out


@deep_recursion()
def adjoints(expr: sp.Basic, targets: Iterable[sp.Symbol]) -> dict[sp.Symbol, sp.Expr]:
    """d expr / d t for every ``t`` in ``targets`` that ``expr`` depends on, in one sweep."""
    expr = sp.sympify(expr)
    targets = frozenset(targets)
    free: dict = {}
    order, depends = _sweep_order(expr, targets, free)
    build = _Builder()
    contributions: dict[sp.Basic, list] = {expr: [sp.S.One]}
    result: dict[sp.Symbol, sp.Expr] = {}
    for node in reversed(order):
        terms = contributions.pop(node, None)
        if not terms:
            continue
        bar = build.add(terms)
        if bar == 0:
            continue
        if node.is_Atom:
            result[node] = bar
        elif _is_opaque(node):
            for t in free_symbols(node, free) & targets:
                contributions.setdefault(t, []).append(build.mul(bar, node.diff(t)))
        else:
            for child, p in _local_partials(node, depends):
                if p != 0:
                    contributions.setdefault(child, []).append(build.mul(bar, p))
    for t, terms in contributions.items():  # opaque contributions reach symbols late
        if t in targets:
            result[t] = build.add([result[t], *terms] if t in result else terms)
    return {t: v for t, v in result.items() if v != 0}


def gradient_raw(expr: sp.Basic, variables: Sequence[sp.Symbol]) -> list[sp.Expr]:
    """All first partials of ``expr`` in ``variables`` order, unsimplified."""
    fresh_constructor_cache()
    adj = adjoints(expr, variables)
    return [adj.get(v, sp.S.Zero) for v in variables]


def diff_raw(expr: sp.Basic, wrt: Sequence[sp.Symbol]) -> sp.Expr:
    """The mixed partial of ``expr`` w.r.t. ``wrt`` (one entry per differentiation)."""
    for v in wrt:
        expr = adjoints(expr, (v,)).get(v, sp.S.Zero)
        if expr == 0:
            break
    return expr

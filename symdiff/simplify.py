"""Bounded simplification: ``"none"``, ``"fast"`` (cheap rewrites, never hangs) and ``"full"``.

``fast`` first collapses exponential patterns into named functions — ``1/(1 + exp(-u))`` into
``sigmoid(u)``, ``log(1 + exp(u))`` into ``softplus(u)``, ``(e^u - e^-u)/(e^u + e^-u)`` into
``tanh(u)`` — then, on entries below ``config.fast_size`` operations only, keeps the smallest
of a few linear-time rewrites (``factor_terms``). ``full`` runs ``sympy.simplify`` on entries
below ``config.full_size`` while the time budget lasts, and ``fast`` on the rest.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

from .dag import deep_recursion, has_any, postorder
from .dag import xreplace as dag_xreplace
from .functions import relu, sigmoid, softplus
from .settings import config

LEVELS = ("none", "fast", "full")
_NAMED_PATTERNS = (sp.exp, sigmoid, sp.sinh, sp.Heaviside)


def check_level(level: str) -> str:
    """Return ``level`` if it names a simplification level, else raise ValueError."""
    if level not in LEVELS:
        raise ValueError(f"simplify must be one of {LEVELS}, got {level!r}")
    return level


def node_count(expr: sp.Basic, limit: int) -> int:
    """Number of nodes of ``expr``, counting at most ``limit + 1`` (cheap size test)."""
    n = 0
    for _ in sp.preorder_traversal(expr):
        n += 1
        if n > limit:
            break
    return n


def _exp_arg(e: sp.Basic):
    return e.args[0] if isinstance(e, sp.exp) else None


def _one_plus_exp(e: sp.Basic):
    """``w`` when ``e`` is ``1 + exp(w)``, else None."""
    if not isinstance(e, sp.Add) or len(e.args) != 2 or sp.S.One not in e.args:
        return None
    other = e.args[0] if e.args[1] == 1 else e.args[1]
    return _exp_arg(other)


def _exp_terms(e: sp.Basic) -> dict | None:
    """``{w: c}`` when ``e`` is a two-term sum ``c1*exp(w1) + c2*exp(w2)``, else None."""
    if not (isinstance(e, sp.Add) and len(e.args) == 2):
        return None
    out = {}
    for t in e.args:
        c, rest = t.as_coeff_Mul()
        w = _exp_arg(rest)
        if w is None:
            return None
        out[w] = c
    return out if len(out) == 2 else None


def _tanh_pair(num: sp.Basic, den: sp.Basic):
    """``(k, w)`` when ``num/den`` is ``k (e^w - e^-w)/(e^w + e^-w)``, else None."""
    d, n = _exp_terms(den), _exp_terms(num)
    if d is None or n is None or set(d) != set(n):
        return None
    a, b = d
    if a != -b:
        return None
    w = b if a.could_extract_minus_sign() else a
    c = d[w]
    if d[-w] != c or c == 0 or n[-w] != -n[w]:
        return None
    return n[w] / c, w


def _sigmoid_powers(factors: list) -> list[tuple[int, sp.Expr, int]]:
    """(position, argument, integer power) of every ``sigmoid(u)**k`` factor."""
    out = []
    for i, f in enumerate(factors):
        base, k = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.S.One)
        if isinstance(base, sigmoid) and k.is_Integer and k > 0:
            out.append((i, base.args[0], int(k)))
    return out


def _ratio(a: sp.Expr, b: sp.Expr) -> sp.Expr | None:
    """``a / b`` when it is cheap to find (small operands only), else None."""
    if a == b:
        return sp.S.One
    if b == 0 or node_count(a, 40) > 40 or node_count(b, 40) > 40:
        return None
    return sp.cancel(a / b)


def _absorb_exp(factors: list) -> sp.Expr | None:
    """``exp(m*u) * sigmoid(-u)**k = sigmoid(u)**m * sigmoid(-u)**(k - m)`` for ``m <= k``."""
    sigs = _sigmoid_powers(factors)
    for i, f in enumerate(factors):
        v = _exp_arg(f)
        if v is None:
            continue
        for j, arg, k in sigs:
            m = _ratio(-v, arg)
            if m is not None and m.is_Integer and 1 <= m <= k:
                rest = [g for n, g in enumerate(factors) if n not in (i, j)]
                return sp.Mul(sigmoid(-arg) ** m, sigmoid(arg) ** (k - m), *rest)
    return None


def _rewrite_mul(node: sp.Mul) -> sp.Expr:
    factors = list(node.args)
    absorbed = _absorb_exp(factors)
    if absorbed is not None:
        return _rewrite_node(absorbed) if isinstance(absorbed, sp.Mul) else absorbed
    for i, f in enumerate(factors):
        if isinstance(f, sp.Pow) and f.exp == -1:
            for j, g in enumerate(factors):
                found = _tanh_pair(g, f.base) if j != i else None
                if found is not None:
                    rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                    return sp.Mul(found[0], sp.tanh(found[1]), *rest)
                if j != i and isinstance(g, sp.sinh) and f.base == sp.cosh(g.args[0]):
                    rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                    return sp.Mul(sp.tanh(g.args[0]), *rest)
    return _rewrite_mul_sigmoids(node)


def _rewrite_mul_sigmoids(node: sp.Expr) -> sp.Expr:
    """``sigmoid(u) * sigmoid(-u)`` reads better as ``sigmoid(u) * (1 - sigmoid(u))``."""
    if not isinstance(node, sp.Mul):
        return node
    sigs = [f for f in node.args if isinstance(f, sigmoid)]
    sigs += [f.base for f in node.args if isinstance(f, sp.Pow) and isinstance(f.base, sigmoid)]
    for s in sigs:
        u = s.args[0]
        if u.could_extract_minus_sign() and sigmoid(-u) in sigs:
            return dag_xreplace(node, {s: 1 - sigmoid(-u)})
    return node


def _log_sigmoid(arg: sp.Basic) -> sp.Expr | None:
    """``log(sigmoid(u)) = -softplus(-u)`` and ``log(1 - sigmoid(u)) = -softplus(u)``."""
    if isinstance(arg, sigmoid):
        return -softplus(-arg.args[0])
    if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
        other = arg.args[0] if arg.args[1] == 1 else arg.args[1]
        if isinstance(other, sp.Mul) and len(other.args) == 2 and sp.S.NegativeOne in other.args:
            inner = other.args[0] if other.args[1] == -1 else other.args[1]
            if isinstance(inner, sigmoid):
                return -softplus(inner.args[0])
    return None


def _indicator(e: sp.Basic) -> bool:
    """True for ``Heaviside(u, 0)`` and ``Heaviside(u, 1)``: values 0 and 1 only."""
    return isinstance(e, sp.Heaviside) and len(e.args) == 2 and e.args[1] in (0, 1)


def _rewrite_indicators(node: sp.Basic) -> sp.Basic:
    """``𝟙**k = 𝟙`` (k > 0) and ``𝟙[u > 0]·relu(u) = relu(u)`` (relu' as an indicator)."""
    positive = isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp > 0
    if positive and _indicator(node.base):
        return node.base
    if isinstance(node, sp.Mul):
        relus = {f.args[0] for f in node.args if isinstance(f, relu)}
        keep = [f for f in node.args if not (_indicator(f) and f.args[0] in relus)]
        if len(keep) != len(node.args):
            return sp.Mul(*keep)
    return node


def _rewrite_node(node: sp.Basic) -> sp.Basic:
    if isinstance(node, sp.Pow | sp.Mul) and any(
        isinstance(a, sp.Heaviside) or isinstance(a, sp.Pow) and isinstance(a.base, sp.Heaviside)
        for a in node.args
    ):  # direct arguments only: ``has`` would walk the whole (DAG-shaped) tree
        changed = _rewrite_indicators(node)
        if changed is not node:
            return changed
    if isinstance(node, sigmoid) and node.args[0].could_extract_minus_sign():
        return 1 - sigmoid(-node.args[0])  # one σ per argument: σ(-u) = 1 - σ(u)
    if isinstance(node, sp.log):
        named = _log_sigmoid(node.args[0])
        if named is not None:
            return named
    if isinstance(node, sp.Pow) and node.exp.is_negative:
        w = _one_plus_exp(node.base)
        if w is not None:
            return sigmoid(-w) ** (-node.exp)
    if isinstance(node, sp.log):
        w = _one_plus_exp(node.args[0])
        if w is not None:
            return softplus(w)
    if isinstance(node, sp.Mul):
        return _rewrite_mul(node)
    return node


def collapse_named(expr: sp.Basic) -> sp.Basic:
    """Rewrite exponential patterns into ``sigmoid``, ``softplus`` and ``tanh``, bottom-up.

    Each unique node is visited once (iteratively), so the cost is linear in the DAG size.
    """
    if not isinstance(expr, sp.Basic):
        return expr
    with deep_recursion():
        holds: dict = {}
        if not has_any(expr, _NAMED_PATTERNS, holds):
            return expr
        memo: dict[sp.Basic, sp.Basic] = {}
        for node in postorder([expr]):
            if node.is_Atom or not holds[node]:
                memo[node] = node
                continue
            args = [memo[a] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            memo[node] = _rewrite_node(node if same else node.func(*args))
        return memo[expr]


def _smallest(candidates: list[sp.Expr]) -> sp.Expr:
    best, best_ops = candidates[0], sp.count_ops(candidates[0])
    for c in candidates[1:]:
        ops = sp.count_ops(c)
        if ops < best_ops:
            best, best_ops = c, ops
    return best


def fast(expr: sp.Basic) -> sp.Basic:
    """Cheap, bounded clean-up of one expression (see the module docstring)."""
    expr = collapse_named(sp.sympify(expr))
    if not isinstance(expr, sp.Expr) or expr.is_Atom:
        return expr
    if node_count(expr, config.fast_size) > config.fast_size:
        return expr
    if expr.has(sp.Piecewise):
        expr = sp.piecewise_fold(expr)
    candidates = [expr, sp.factor_terms(expr), sp.powsimp(expr), *_rational_form(expr)]
    return _smallest(candidates + _factored(expr))


def _factored(expr: sp.Expr) -> list[sp.Expr]:
    """``sympy.factor`` of a small expression (``-x/(x**2 + 1)**(3/2)`` for asinh''), else []."""
    if node_count(expr, config.fast_size // 2) > config.fast_size // 2:
        return []
    try:
        return [collapse_named(sp.factor(expr))]
    except (sp.PolynomialError, NotImplementedError, RecursionError, TypeError, ValueError):
        return []


def _rational_form(expr: sp.Expr) -> list[sp.Expr]:
    """``expr`` factored as a rational function of its sigmoid/tanh terms (small ones only).

    Treating ``σ(u)`` as a symbol ``s`` turns ``x(1 - s)(-y/s - (y - 1)/(1 - s))s`` into
    ``x(s - y)``: the gradient of a logistic loss, as written in textbooks.
    """
    named = expr.atoms(sigmoid, sp.tanh)
    if not named or node_count(expr, config.fast_size // 2) > config.fast_size // 2:
        return []
    # Factoring pays off for rational functions of σ/tanh (logistic losses), or where it can
    # cancel a division by them; with other functions around it mostly costs time.
    divides = any(p.exp.is_negative and p.base.has(*named) for p in expr.atoms(sp.Pow))
    others = [f for f in expr.atoms(sp.Function) if not isinstance(f, sigmoid | sp.tanh)]
    if others and not divides:
        return []
    dummies = {a: sp.Dummy() for a in named}
    try:
        factored = sp.factor(expr.xreplace(dummies))
    except (sp.PolynomialError, NotImplementedError, RecursionError):
        return []
    return [factored.xreplace({d: a for a, d in dummies.items()})]


_clock: Callable[[], float] = time.monotonic
"""The clock budgets are measured with (seconds; replaced by a fake clock in tests)."""


class OutOfTime(BaseException):
    """Raised inside a ``sympy.simplify`` call when its wall-time budget runs out.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that SymPy's ``except Exception``
    clauses do not swallow it; :func:`full` catches it and keeps the best form so far.
    """


class Deadline:
    """A wall-time budget: ``Deadline(5.0)`` ends 5 s from now (``None``: never).

    ``clock`` defaults to this module's ``_clock``, read when the deadline is made.
    """

    def __init__(self, seconds: float | None, clock: Callable[[], float] | None = None):
        self.clock = clock or _clock
        self.end = None if seconds is None else self.clock() + float(seconds)

    def left(self) -> float:
        """Seconds left (``inf`` without a budget)."""
        return math.inf if self.end is None else self.end - self.clock()

    def expired(self) -> bool:
        """True once the budget is spent."""
        return self.left() <= 0


def _on_alarm(signum, frame):
    raise OutOfTime()


def run_bounded(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()``, interrupted with :class:`OutOfTime` after ``seconds`` of wall time.

    Interruption uses ``SIGALRM`` and so works in the main thread on Unix; elsewhere ``fn`` runs
    to its end (the budget is then checked between calls only). An alarm already armed by the
    caller (``hybriddiff formula --timeout``) is kept: it fires first when it is due first, and
    is re-armed with its remaining time afterwards.
    """
    if seconds <= 0:
        raise OutOfTime()
    usable = (
        math.isfinite(seconds)
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        return fn()
    outer, interval = signal.getitimer(signal.ITIMER_REAL)
    if outer and outer <= seconds:
        return fn()
    old = signal.signal(signal.SIGALRM, _on_alarm)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer:
            remaining = max(outer - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


def full(expr: sp.Basic, deadline: Deadline | None = None) -> sp.Basic:
    """``sympy.simplify`` (small entries only), keeping the smaller of it and ``fast``.

    With a ``deadline``, ``sympy.simplify`` is interrupted when it runs out (see
    :func:`run_bounded`) and the ``fast`` form is kept.
    """
    quick = fast(expr)
    if not isinstance(quick, sp.Expr) or node_count(quick, config.full_size) > config.full_size:
        return quick
    left = math.inf if deadline is None else deadline.left()
    try:
        slow = collapse_named(run_bounded(lambda: sp.simplify(quick), left))
    except (TypeError, ValueError, NotImplementedError, RecursionError, OutOfTime):
        return quick
    return _smallest([quick, slow])


def simplify_exprs(
    exprs: Sequence[sp.Basic], level: str = "fast", budget: float | None = None
) -> list[sp.Basic]:
    """Simplify each entry at ``level``.

    ``full`` runs within ``budget`` seconds of wall time (default ``config.budget``): a
    ``sympy.simplify`` still running when the budget ends is interrupted (main thread, Unix)
    and the entries left get ``fast`` only - the best form found so far is returned, never an
    error. ``fast`` is bounded by entry size (``config.fast_size``) and ignores the budget.
    """
    check_level(level)
    if level == "none":
        return list(exprs)
    if level == "fast":
        return [fast(e) for e in exprs]
    deadline = Deadline(config.budget if budget is None else budget)
    out = []
    for e in exprs:
        try:
            out.append(fast(e) if deadline.expired() else full(e, deadline))
        except OutOfTime:  # the alarm hit between sympy.simplify and the clean-up
            out.append(fast(e))
    return out


def simplify_expr(expr: sp.Basic, level: str = "fast", budget: float | None = None) -> sp.Basic:
    """Simplify one expression at ``level`` (see :func:`simplify_exprs`)."""
    return simplify_exprs([expr], level, budget)[0]

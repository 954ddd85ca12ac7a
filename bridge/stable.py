"""Stabilize: rewrite exponential patterns into forms that stay finite before printing kernels.

A lifted expression says what eager code computed (``log(exp(x*y) + 1)``), not how to compute
it in floating point: printed literally, ``math.log(math.exp(900.0) + 1.0)`` is ``inf`` where
the true value is 900. :func:`stabilize` rewrites, bottom-up, in one pass over the expression
DAG (each distinct node is visited once and every rule looks at one node and its children, so
the cost is linear in the DAG size; no ``simplify``):

========================================  ================================================
pattern                                   stable form
========================================  ================================================
``log(1 + exp(u))``                       ``softplus(u)``
``log(c0 + c1 exp(u1) + ...)`` (c > 0)    ``logsumexp(u1 + log c1, ..., log c0)``
``log(1 + u)``                            ``log1p(u)``
``log(sigmoid(u)**k)``                    ``-k softplus(-u)``
``exp(u) - 1`` / ``1 - exp(u)``           ``expm1(u)`` / ``-expm1(u)``
``1 - sigmoid(u)``                        ``sigmoid(-u)`` (no cancellation in the tail)
``1 - tanh(u)**2``                        ``cosh(u)**-2``
``(1 + exp(u))**-k``                      ``sigmoid(-u)**k``
``(c1 exp(u1) + ...)**-k``                ``exp(-k logsumexp(...))``
``exp(m u) sigmoid(-u)**k`` (m <= k)      ``sigmoid(u)**m sigmoid(-u)**(k - m)``
``exp(a) exp(b)``                         ``exp(a + b)`` (no overflow times underflow)
========================================  ================================================

``bridge.compile`` stabilizes the value expression *before* differentiating it, so the
derivatives are those of the stable forms (``softplus' = sigmoid``, ``sigmoid' = σ(u) σ(-u)``,
``logsumexp'_i = exp(u_i - logsumexp)``), and stabilizes every derivative again before code
generation. :class:`logsumexp` is the n-ary named function the printer emits with a shifted,
pairwise-stable helper.
"""

from __future__ import annotations

import sympy as sp

from symdiff.functions import expm1, log1p, sigmoid, softplus


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


def _exp_sum(node: sp.Basic) -> list[sp.Expr] | None:
    """``[u_i]`` when ``node`` is ``sum c_i exp(v_i) + c0`` with positive numbers ``c``.

    ``c exp(v)`` becomes ``v + log(c)`` and ``c0`` becomes ``log(c0)``; at least one term must
    be an exponential.
    """
    if not isinstance(node, sp.Add):
        return None
    out, n_exp = [], 0
    for term in node.args:
        coeff, rest = term.as_coeff_Mul()
        if not (coeff.is_Number and coeff.is_positive):
            return None
        if rest is sp.S.One:
            out.append(sp.log(coeff))
        elif isinstance(rest, sp.exp):
            out.append(rest.args[0] if coeff == 1 else rest.args[0] + sp.log(coeff))
            n_exp += 1
        else:
            return None
    return out if n_exp else None


def _one_plus_exp(node: sp.Basic) -> sp.Expr | None:
    """``u`` when ``node`` is ``1 + exp(u)``."""
    if isinstance(node, sp.Add) and len(node.args) == 2 and sp.S.One in node.args:
        other = node.args[1] if node.args[0] is sp.S.One else node.args[0]
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def _rewrite_log(arg: sp.Expr) -> sp.Expr | None:
    base, k = (arg.base, arg.exp) if isinstance(arg, sp.Pow) else (arg, sp.S.One)
    if isinstance(base, sigmoid) and k.is_Number:
        return -k * softplus(-base.args[0])
    u = _one_plus_exp(arg)
    if u is not None:
        return softplus(u)
    terms = _exp_sum(arg)
    if terms is not None:
        return logsumexp(*terms)
    if isinstance(arg, sp.Add) and sp.S.One in arg.args:
        rest = list(arg.args)
        rest.remove(sp.S.One)
        return log1p(sp.Add(*rest))
    return None


def _rewrite_pow(node: sp.Pow) -> sp.Expr | None:
    k = node.exp
    if not (k.is_Number and k.is_negative):
        return None
    u = _one_plus_exp(node.base)
    if u is not None:
        return sigmoid(-u) ** (-k)
    terms = _exp_sum(node.base)
    if terms is not None:
        return sp.exp(k * logsumexp(*terms))
    return None


def _rewrite_add(node: sp.Add) -> sp.Expr | None:
    args = list(node.args)
    if sp.S.One in args:  # 1 - tanh(u)**2 = cosh(u)**-2: no cancellation for large |u|
        for i, term in enumerate(args):
            coeff, inner = term.as_coeff_Mul()
            squared = isinstance(inner, sp.Pow) and inner.exp == 2
            if coeff == -1 and squared and isinstance(inner.base, sp.tanh):
                rest = [a for n, a in enumerate(args) if n != i]
                rest.remove(sp.S.One)
                return sp.Add(sp.cosh(inner.base.args[0]) ** -2, *rest)
    for number, sign in ((sp.S.NegativeOne, 1), (sp.S.One, -1)):
        if number not in args:
            continue
        for i, term in enumerate(args):
            if isinstance(term, sp.exp) and sign == 1:  # exp(u) - 1
                rest = args[:i] + args[i + 1 :]
                rest.remove(number)
                return sp.Add(expm1(term.args[0]), *rest)
            coeff, inner = term.as_coeff_Mul()
            if coeff == -1 and sign == -1 and isinstance(inner, sp.exp | sigmoid):
                rest = args[:i] + args[i + 1 :]
                rest.remove(number)
                if isinstance(inner, sp.exp):  # 1 - exp(u)
                    return sp.Add(-expm1(inner.args[0]), *rest)
                return sp.Add(sigmoid(-inner.args[0]), *rest)  # 1 - sigmoid(u)
    return None


def _sigmoid_power(factor: sp.Expr) -> tuple[sp.Expr, int] | None:
    base, k = (factor.base, factor.exp) if isinstance(factor, sp.Pow) else (factor, sp.S.One)
    if isinstance(base, sigmoid) and k.is_Integer and k > 0:
        return base.args[0], int(k)
    return None


def _absorb(factors: list) -> list | None:
    """``exp(m u) sigmoid(-u)**k -> sigmoid(u)**m sigmoid(-u)**(k - m)`` for ``1 <= m <= k``."""
    for j, f in enumerate(factors):
        sig = _sigmoid_power(f)
        if sig is None:
            continue
        s, k = sig  # the factor is sigmoid(s)**k with s = -u
        for i, g in enumerate(factors):
            if i == j or not isinstance(g, sp.exp):
                continue
            v = g.args[0]
            for m in range(1, k + 1):
                if v == -m * s:
                    rest = [h for n, h in enumerate(factors) if n not in (i, j)]
                    return [sigmoid(-s) ** m, sigmoid(s) ** (k - m), *rest]
    return None


def _rewrite_mul(node: sp.Mul) -> sp.Expr | None:
    factors = list(node.args)
    changed = False
    absorbed = _absorb(factors)
    while absorbed is not None:
        factors, changed = absorbed, True
        absorbed = _absorb(factors)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    if len(exps) > 1:
        rest = [f for f in factors if not isinstance(f, sp.exp)]
        factors = [sp.exp(sp.Add(*[e.args[0] for e in exps])), *rest]
        changed = True
    return sp.Mul(*factors) if changed else None


def _rewrite(node: sp.Basic) -> sp.Basic:
    if isinstance(node, sp.log):
        out = _rewrite_log(node.args[0])
    elif isinstance(node, sp.Pow):
        out = _rewrite_pow(node)
    elif isinstance(node, sp.Add):
        out = _rewrite_add(node)
    elif isinstance(node, sp.Mul):
        out = _rewrite_mul(node)
    else:
        out = None
    return node if out is None else out


def stabilize(expr: sp.Basic, memo: dict | None = None) -> sp.Basic:
    """``expr`` with the stability rewrites of the module docstring applied, bottom-up.

    Iterative (no recursion limit) and linear in the number of distinct nodes; pass one
    ``memo`` dict to several calls to share the work between expressions with common parts.

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> stabilize(sp.log(1 + sp.exp(x * y)))
    softplus(x*y)
    >>> stabilize(sp.exp(x) / (sp.exp(x) + sp.exp(y)))
    exp(x - logsumexp(x, y))
    >>> stabilize(sp.exp(x) - 1), stabilize(sp.log(1 + x**2))
    (expm1(x), log1p(x**2))
    """
    expr = sp.sympify(expr)
    memo = {} if memo is None else memo
    if expr in memo:
        return memo[expr]
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if node.is_Atom or not node.args:
            memo[node] = node
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in memo)
            continue
        args = [memo[a] for a in node.args]
        rebuilt = node if all(a is b for a, b in zip(args, node.args)) else node.func(*args)
        memo[node] = _rewrite(rebuilt) if isinstance(rebuilt, sp.Expr) else rebuilt
    return memo[expr]

"""How formulas are shown: textbook signs, whole names, indicators, constants and named parts.

SymPy's printers are exact but not always readable; this module holds the display rules that
:class:`symdiff.formula.Formula` applies to every entry (the expressions themselves stay
canonical SymPy objects - only what is printed changes):

* **Signs and argument order.** A sum whose first term is negative is printed from its first
  positive term (``x - mu``, not ``-mu + x``), and a difference is oriented the way the
  function wrote it: with ``(x - mu)**2`` in the function, ``mu - x`` in a derivative prints as
  ``-(x - mu)`` (:func:`orient`).
* **Names.** A symbol with an underscore is printed whole (``log_sigma``,
  ``\\mathrm{log\\_sigma}``) unless a subscript is meant (``x_1``, ``theta_0``, ``sigma_x``:
  one letter or a Greek name before the underscore). Labels use the same printer as bodies
  (``∂f/∂μ`` beside ``μ``).
* **Indicators.** relu' is ``Heaviside(u, 0)`` in SymPy; it prints as ``𝟙[u > 0]`` and
  ``\\mathbb{1}[u > 0]`` (``Heaviside(u, 1)`` as ``𝟙[u ≥ 0]``); plain text keeps the SymPy
  spelling, which parses back.
* **Constants.** Floats that are π, e or simple rationals of them become exact
  (:func:`recognise_constants`, ``nsimplify`` with a whitelist).
* **Long entries** get named common parts, as a person would write them (``p = σ(z)``,
  :func:`name_parts`), instead of wrapping.

Examples
--------
>>> import sympy as sp
>>> x, mu = sp.symbols("x mu")
>>> text(-mu + x)
'x - mu'
>>> text(orient(mu - x, reference=[x - mu]))
'-(x - mu)'
>>> latex(sp.Symbol("log_sigma")), latex(sp.Symbol("theta_0"))
('\\\\mathrm{log\\\\_sigma}', '\\\\theta_{0}')
>>> pretty(sp.Heaviside(x, 0))
'𝟙[x > 0]'
>>> recognise_constants(3.141592653589793 * x)
pi*x
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.str import StrPrinter

from .dag import deep_recursion, has_any, postorder, tree_size
from .dag import xreplace as dag_xreplace

__all__ = [
    "latex",
    "name_parts",
    "orient",
    "pretty",
    "recognise_constants",
    "symbol_latex",
    "symbol_pretty",
    "text",
]

WIDTH = 100
"""Entries whose plain text is longer than this get named common parts (:func:`name_parts`)."""
_SIZE = 4_000
"""Largest tree (nodes) the display passes rewrite; larger entries are printed as they are."""

_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lamda", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon",
    "phi", "chi", "psi", "omega",
}  # fmt: skip


def _subscript_meant(name: str) -> bool:
    """``x_1``, ``theta_0``, ``sigma_x``: one letter or a Greek name before the underscore."""
    head = name.split("_", 1)[0]
    return len(head) == 1 or head.lower() in _GREEK


def _ordered(terms: list) -> list:
    """Start a sum at its first positive term: ``x - mu`` rather than ``-mu + x``."""
    if not terms or not terms[0].could_extract_minus_sign():
        return terms
    for i, t in enumerate(terms):
        if not t.could_extract_minus_sign():
            return [t] + terms[:i] + terms[i + 1 :]
    return terms


class _Text(StrPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _ordered(list(super()._as_ordered_terms(expr, order)))


class _Pretty(PrettyPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _ordered(list(super()._as_ordered_terms(expr, order)))

    def _print_Symbol(self, e, bold_name=False):
        if "_" in e.name and not _subscript_meant(e.name):
            return prettyForm(e.name)
        return super()._print_Symbol(e, bold_name)

    def _print_Heaviside(self, e):
        cond = _indicator_condition(e)
        if cond is None:
            return super()._print_Heaviside(e)
        body = prettyForm(*self._print(cond).parens("[", "]"))
        return prettyForm(*body.left("𝟙"))


class _Latex(LatexPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _ordered(list(super()._as_ordered_terms(expr, order)))

    def _print_Symbol(self, expr, style="plain"):
        if "_" in expr.name and not _subscript_meant(expr.name):
            return r"\mathrm{" + expr.name.replace("_", r"\_") + "}"
        return super()._print_Symbol(expr, style)

    def _print_Heaviside(self, expr, exp=None):
        cond = _indicator_condition(expr)
        if cond is None:
            return super()._print_Heaviside(expr, exp)
        return r"\mathbb{1}\left[" + self._print(cond) + r"\right]"  # 𝟙^k = 𝟙: exp dropped


def _indicator_condition(e: sp.Heaviside):
    """``u > 0`` for ``Heaviside(u, 0)``, ``u >= 0`` for ``Heaviside(u, 1)``, else None."""
    arg, *rest = e.args
    at_zero = rest[0] if rest else sp.S.Half
    if at_zero == 0:
        return sp.StrictGreaterThan(arg, 0, evaluate=False)
    if at_zero == 1:
        return sp.GreaterThan(arg, 0, evaluate=False)
    return None


def text(expr) -> str:
    """Plain text (SymPy syntax), sums starting at a positive term."""
    return _Text().doprint(expr)


def pretty(expr, **settings) -> str:
    """Unicode 2-D art (``sympy.pretty``) with the display rules of this module."""
    settings.setdefault("use_unicode", True)
    return _Pretty(settings).doprint(expr)


def latex(expr, **settings) -> str:
    """LaTeX (``sympy.latex``) with the display rules of this module."""
    return _Latex(settings).doprint(expr)


def symbol_pretty(symbol: sp.Symbol) -> str:
    """A variable as :func:`pretty` prints it in a body (for labels: ``∂f/∂μ``)."""
    return pretty(symbol)


def symbol_latex(symbol: sp.Symbol) -> str:
    """A variable as :func:`latex` prints it in a body."""
    return latex(symbol)


# --------------------------------------------------------------------------- signs


def _sums(reference: Iterable[sp.Basic]) -> set:
    found = set()
    for node in postorder([r for r in reference if isinstance(r, sp.Basic)]):
        if isinstance(node, sp.Add):
            found.add(node)
    return found


def orient(expr, reference: Iterable[sp.Basic] = (), _sums_cache: set | None = None):
    """``expr`` with every difference oriented as in ``reference`` (for printing only).

    A sum ``A`` whose negation appears in ``reference`` (the function, usually) is flipped:
    in a product the sign moves to the coefficient (``(mu - x)/s**2`` -> ``-(x - mu)/s**2``),
    under an even power it vanishes, and a whole entry ``mu - x`` prints as ``-(x - mu)``.
    The result is unevaluated where needed and equal to ``expr``.
    """
    if not isinstance(expr, sp.Basic):
        return expr
    sums = _sums(reference) if _sums_cache is None else _sums_cache
    if not sums or tree_size(expr, _SIZE) > _SIZE:
        return expr

    def flip(a) -> bool:
        return isinstance(a, sp.Add) and a not in sums and (-a) in sums

    memo: dict = {}
    with deep_recursion():
        for node in postorder([expr]):
            if not node.args:
                memo[node] = node
                continue
            args = [memo[a] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            memo[node] = _orient_node(node if same else _rebuild(node, args), flip)
    out = memo[expr]
    if flip(out):
        return sp.Mul(sp.S.NegativeOne, -out, evaluate=False)
    return out


def _rebuild(node, args):
    # children may be unevaluated products; keep them so when the parent is a product or a sum
    if isinstance(node, sp.Mul | sp.Add):
        return node.func(*args, evaluate=False)
    return node.func(*args)


def _orient_node(node, flip):
    if isinstance(node, sp.Pow) and flip(node.base) and node.exp.is_Integer:
        base = -node.base
        if node.exp % 2 == 0:
            return sp.Pow(base, node.exp, evaluate=False)
        return sp.Mul(sp.S.NegativeOne, sp.Pow(base, node.exp, evaluate=False), evaluate=False)
    if not isinstance(node, sp.Mul):
        return node
    negative, factors = False, []
    for f in node.args:
        if flip(f):
            negative, f = not negative, -f
        elif isinstance(f, sp.Pow) and flip(f.base) and f.exp.is_Integer:
            negative ^= bool(f.exp % 2)
            f = sp.Pow(-f.base, f.exp, evaluate=False)
        factors.append(f)
    if factors == list(node.args):
        return node
    coeff = [f for f in factors if f.is_Number]
    rest = [f for f in factors if not f.is_Number]
    c = sp.Mul(*coeff) * (-1 if negative else 1)
    body = sp.Mul(*rest)  # combines (1 - p)*(1 - p)**k; no number to distribute
    if c == 1:
        return body
    return sp.Mul(c, *sp.Mul.make_args(body), evaluate=False)


# --------------------------------------------------------------------------- constants

_WHITELIST = [sp.pi, sp.E]


def _recognised(value: sp.Float) -> sp.Expr | None:
    v = float(value)
    if v == 0 or not sp.Float(v).is_finite:
        return None
    try:
        found = sp.nsimplify(v, _WHITELIST, tolerance=abs(v) * 1e-13, full=True)
    except (ValueError, TypeError, NotImplementedError):
        return None
    if found.has(sp.Float) or abs(float(found) - v) > abs(v) * 1e-13:
        return None
    # "simple": few operations and small integers (pi/2, 2*pi, sqrt(2/pi), 1/e, 3/8)
    if sp.count_ops(found) > 6:
        return None
    if any(abs(r.p) > 1000 or r.q > 1000 for r in found.atoms(sp.Rational)):
        return None
    return found


def recognise_constants(expr):
    """Floats equal (to 1e-13) to simple expressions in π, e and rationals, made exact.

    ``np.pi`` lifts to ``3.14159265358979``; printed formulas read ``pi`` instead. Floats that
    match nothing simple stay as they are.
    """
    if not isinstance(expr, sp.Basic) or not has_any(expr, (sp.Float,)):
        return expr  # DAG-aware walks throughout: a lifted expression may be a huge tree
    found = {}
    for f in postorder([expr]):
        if isinstance(f, sp.Float) and f not in found:
            exact = _recognised(f)
            if exact is not None:
                found[f] = exact
    return dag_xreplace(expr, found) if found else expr


# --------------------------------------------------------------------------- named parts

_LETTERS = {"sigmoid": "p", "tanh": "t", "softplus": "s", "exp": "u", "log": "l"}
_ALWAYS = {"sigmoid", "tanh"}  # named even of a plain variable (p = σ(z)); sin(x) is not


def _occurrences(exprs: Sequence[sp.Basic], limit: int) -> Counter:
    """How often each function call occurs in the trees of ``exprs`` (counting to ``limit``)."""
    counts: Counter = Counter()
    for e in exprs:
        for n, node in enumerate(sp.preorder_traversal(e), start=1):
            if n > limit:
                break
            if isinstance(node, sp.Function) and not node.is_Atom:
                counts[node] += 1
    return counts


def name_parts(
    entries: Sequence[sp.Basic], avoid: Iterable[str] = (), width: int = WIDTH
) -> tuple[list[tuple[sp.Symbol, sp.Basic]], list[sp.Basic]]:
    """``(definitions, entries)``: repeated function calls named while an entry is too long.

    Entries whose plain text fits in ``width`` characters are returned unchanged. Otherwise the
    function call with the largest ``occurrences * size`` (``σ(z)``, ``exp(-x**2)``) is named -
    ``p`` for σ, ``t`` for tanh, ``u`` for exp, ``l`` for log, ``s`` for softplus, ``q`` for
    others, with digits when a letter is taken - and so on (at most six names) until every
    entry fits or nothing repeats. Calls of a plain variable (``sin(x)``) are not worth a name,
    except σ and tanh.
    """
    entries = list(entries)
    if any(tree_size(e, _SIZE) > _SIZE for e in entries if isinstance(e, sp.Basic)):
        return [], entries  # first: printing a DAG-shaped entry walks its whole tree
    if all(len(text(e)) <= width for e in entries):
        return [], entries
    taken = set(avoid)
    for e in entries:
        if isinstance(e, sp.Basic):
            taken.update(s.name for s in e.free_symbols)
    defs: list[tuple[sp.Symbol, sp.Basic]] = []
    for _ in range(6):
        counts = _occurrences(entries + [d for _, d in defs], _SIZE)
        repeated = [
            (n * sp.count_ops(f), f)
            for f, n in counts.items()
            if n >= 2 and (type(f).__name__ in _ALWAYS or not all(a.is_Atom for a in f.args))
        ]
        if not repeated:
            break
        _, call = max(repeated, key=lambda t: (t[0], -len(str(t[1]))))
        name = _fresh(_LETTERS.get(type(call).__name__, "q"), taken)
        sym = sp.Symbol(name, real=True)
        entries = [e.xreplace({call: sym}) if isinstance(e, sp.Basic) else e for e in entries]
        defs = [(s, d.xreplace({call: sym})) for s, d in defs]
        defs.append((sym, call))
        if all(len(text(e)) <= width for e in entries):
            break
    return _dependency_order(defs), entries


def _fresh(letter: str, taken: set) -> str:
    name, k = letter, 1
    while name in taken:
        k += 1
        name = f"{letter}{k}"
    taken.add(name)
    return name


def _dependency_order(defs):
    out, done, todo = [], set(), list(defs)
    while todo:
        for i, (s, d) in enumerate(todo):
            needs = {t for t, _ in todo if t != s and d.has(t)}
            if not needs:
                out.append((s, d))
                done.add(s)
                todo.pop(i)
                break
        else:  # pragma: no cover - a cycle cannot arise from substitution
            out.extend(todo)
            break
    return out


# --------------------------------------------------------------------------- softmax


class softmax(sp.Function):  # noqa: N801 - printed name
    """Display-only: ``softmax(a, b, c)[i] = exp(args[i]) / (exp(a) + exp(b) + exp(c))``.

    The first argument is the index ``i``; :func:`name_softmax` builds it from derivatives of
    log-sum-exp and cross-entropy. ``doit()`` gives the quotient of exponentials back.
    """

    def doit(self, **hints):
        i, *args = self.args
        return sp.exp(args[int(i)]) / sp.Add(*[sp.exp(a) for a in args])

    def _sympystr(self, printer):
        i, *args = self.args
        return f"softmax({', '.join(printer._print(a) for a in args)})[{i}]"

    def _pretty(self, printer):
        i, *args = self.args
        body = prettyForm(*printer._print_seq(args, delimiter=", ").parens())
        body = prettyForm(*body.left("softmax"))
        return prettyForm(*body.right(f"[{i}]"))

    def _latex(self, printer, exp=None):
        i, *args = self.args
        inner = ", ".join(printer._print(a) for a in args)
        tex = rf"\operatorname{{softmax}}\left({inner}\right)_{{{i}}}"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def _exp_sum_args(s) -> list | None:
    """``[a, b, c]`` when ``s`` is ``exp(a) + exp(b) + exp(c)`` (two or more terms)."""
    if not isinstance(s, sp.Add) or len(s.args) < 2:
        return None
    if not all(isinstance(t, sp.exp) for t in s.args):
        return None
    return [t.args[0] for t in s.args]


def _as_counts(w, args: list) -> list[int] | None:
    """Non-negative integers ``k`` with ``w = sum(k[i] * args[i])``, else None."""
    counts = [0] * len(args)
    for term in sp.Add.make_args(w):
        c, rest = term.as_coeff_Mul()
        hit = [i for i, a in enumerate(args) if a in (rest, term)]
        if not hit:
            return None
        i = hit[0]
        k = 1 if args[i] == term else c
        if not (k.is_Integer if isinstance(k, sp.Basic) else isinstance(k, int)) or k < 0:
            return None
        counts[i] += int(k)
    return counts


def _softmax_mul(node: sp.Mul):
    factors = list(node.args)
    for j, f in enumerate(factors):
        if not (isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0):
            continue
        args = _exp_sum_args(f.base)
        if args is None:
            continue
        power = int(-f.exp)
        total, out = [0] * len(args), []
        for g in factors[:j] + factors[j + 1 :]:
            counts = _as_counts(g.args[0], args) if isinstance(g, sp.exp) else None
            if counts is not None and sum(total) + sum(counts) <= power:
                total = [a + b for a, b in zip(total, counts)]
            else:
                out.append(g)
        used = sum(total)
        if used == 0:
            continue
        sm = [softmax(i, *args) ** k for i, k in enumerate(total) if k]
        return sp.Mul(*out, *sm, f.base ** (used - power))
    return node


def name_softmax(expr):
    """Quotients ``exp(a) / (exp(a) + exp(b) + ...)`` shown as ``softmax(a, b, ...)[0]``.

    Display only (the derivatives of log-sum-exp and cross-entropy); products such as
    ``exp(a + b) / S**2`` become ``softmax(...)[0] * softmax(...)[1]``.
    """
    if not isinstance(expr, sp.Basic) or tree_size(expr, _SIZE) > _SIZE:
        return expr
    if not expr.has(sp.exp):
        return expr
    memo: dict = {}
    with deep_recursion():
        for node in postorder([expr]):
            if not node.args:
                memo[node] = node
                continue
            args = [memo[a] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            now = node if same else node.func(*args)
            memo[node] = _softmax_mul(now) if isinstance(now, sp.Mul) else now
    return memo[expr]


def operation_count(expr) -> int:
    """``sympy.count_ops`` with constant subexpressions (``sqrt(2)/sqrt(pi)``) counted as one
    number, so that recognising a float as ``sqrt(2/pi)`` does not make a formula "larger"."""
    if not isinstance(expr, sp.Basic):
        return 0
    constants = {}
    for node in postorder([expr]):
        if isinstance(node, sp.Expr) and node.args and not node.is_Number and not node.free_symbols:
            constants[node] = sp.Integer(2)
    if constants:
        try:
            expr = expr.xreplace(constants)
        except (TypeError, ValueError):  # a container that must keep its structure
            return int(sp.count_ops(expr))
    return int(sp.count_ops(expr))


# --------------------------------------------------------------------------- Jupyter

_MATRIX_SIDE = 12
"""Hessians up to this many variables render as a full matrix in Jupyter; larger ones list
their first non-zero entries."""
_LISTED = 20


def _fits(expr) -> bool:
    return not isinstance(expr, sp.Basic) or tree_size(expr, 2_000) <= 2_000


def latex_lifted(lifted) -> str:
    """``$f(x, y) = ...$`` for Jupyter: the lifted output, a matrix for array outputs."""
    names = ", ".join(symbol_latex(v) for v in lifted.variables[:8])
    names += ", \\ldots" if len(lifted.variables) > 8 else ""
    out = lifted.output
    if lifted.is_scalar:
        body = latex(out) if _fits(out) else r"\text{(too large to print)}"
    else:
        import numpy as np

        arr = np.asarray(out, dtype=object)
        if arr.size <= _MATRIX_SIDE**2 and arr.ndim <= 2 and all(_fits(e) for e in arr.flat):
            body = latex(sp.Matrix(arr.reshape(arr.shape[0], -1) if arr.ndim else arr))
        else:
            body = rf"\text{{an array of shape {arr.shape}}}"
    return rf"$\displaystyle f\left({names}\right) = {body}$"


def latex_hessian(hessian) -> str:
    """A :class:`symdiff.SparseHessian` for Jupyter: the matrix, or its first entries."""
    n = hessian.shape[0]
    if n <= _MATRIX_SIDE and all(_fits(v) for v in hessian.values):
        return rf"$\displaystyle H = {latex(hessian.dense())}$"
    rows = []
    for i, j, v in hessian.entries():
        if i <= j:
            shown = latex(v) if _fits(v) else r"\ldots"
            rows.append(rf"H_{{{i},{j}}} &= {shown}")
        if len(rows) == _LISTED:
            break
    more = rf" \\ &\ldots \text{{ ({hessian.nnz} non-zeros in all)}}"
    body = r" \\ ".join(rows) + (more if hessian.nnz > 2 * len(rows) else "")
    return rf"$\displaystyle \begin{{aligned}}{body}\end{{aligned}}$"

"""Readable derivative formulas: plain text, SymPy unicode, LaTeX and Jupyter display."""

from __future__ import annotations

import inspect
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from . import display
from .dag import deep_recursion, free_symbols, shared_form, tree_size
from .lifted import Lifted
from .parse import parse_expression
from .reverse import adjoints
from .settings import config
from .simplify import check_level, collapse_named, simplify_exprs

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _groups(wrt: tuple[sp.Symbol, ...]) -> list[tuple[sp.Symbol, int]]:
    counts = Counter(wrt)
    return [(v, counts[v]) for v in dict.fromkeys(wrt)]


def label_text(wrt: tuple[sp.Symbol, ...], name: str = "f") -> str:
    """``df/dx``, ``d2f/dx2``, ``d2f/dxdy`` (plain ASCII)."""
    if not wrt:
        return name
    n = len(wrt)
    den = "".join(f"d{v}" + (str(k) if k > 1 else "") for v, k in _groups(wrt))
    return f"d{n if n > 1 else ''}{name}/{den}"


def label_pretty(wrt: tuple[sp.Symbol, ...], name: str = "f") -> str:
    """``∂f/∂x``, ``∂²f/∂x²``, ``∂²f/∂x∂y``."""
    if not wrt:
        return name
    n = len(wrt)
    sup = str(n).translate(_SUPERSCRIPT) if n > 1 else ""
    den = "".join(
        f"∂{display.symbol_pretty(v)}" + (str(k).translate(_SUPERSCRIPT) if k > 1 else "")
        for v, k in _groups(wrt)
    )
    return f"∂{sup}{name}/{den}"


def label_latex(wrt: tuple[sp.Symbol, ...], name: str = "f") -> str:
    r"""``\frac{\partial^{2} f}{\partial x \partial y}``."""
    if not wrt:
        return name
    n = len(wrt)
    sup = f"^{{{n}}}" if n > 1 else ""
    den = " ".join(
        rf"\partial {display.symbol_latex(v)}" + (f"^{{{k}}}" if k > 1 else "")
        for v, k in _groups(wrt)
    )
    return rf"\frac{{\partial{sup} {name}}}{{{den}}}"


class Formula:
    """Derivative formulas, one entry per distinct partial (symmetric duplicates dropped).

    ``str()`` is plain text: the bare expression for a single entry, else one
    ``label = expr`` line per entry. ``pretty()`` and ``latex()`` use SymPy's printers, so
    named functions read ``σ(x)``, ``softplus(x)``, ``relu(x)``.

    When the entries would expand to more than ``symdiff.config.print_size`` tree nodes
    (derivatives of computations with shared subexpressions grow exponentially as trees),
    ``subexpressions`` holds named shared parts ``(t0, expr), (t1, expr), ...`` in dependency
    order, the entries refer to those names, and every printed form lists them first.
    """

    def __init__(
        self,
        expr: sp.Expr,
        variables,
        entries: list[tuple[tuple, sp.Expr]],
        subexpressions: Sequence[tuple[sp.Symbol, sp.Expr]] = (),
    ):
        self.function = expr
        self.variables = tuple(variables)
        self.entries = list(entries)
        self.subexpressions = list(subexpressions)

    @property
    def exprs(self) -> list[sp.Expr]:
        """The expressions, in entry order."""
        return [e for _, e in self.entries]

    @property
    def expr(self) -> sp.Expr:
        """The expression of a single-entry formula."""
        if len(self.entries) != 1:
            raise ValueError(f"Formula has {len(self.entries)} entries; use .exprs or .entries")
        return self.entries[0][1]

    def __len__(self) -> int:
        return len(self.entries)

    def _shown(self, e):
        """``e`` as printed: differences oriented as in the function (:mod:`symdiff.display`)."""
        if getattr(self, "_sums", None) is None:
            self._sums = display._sums([self.function])
        return display.orient(display.name_softmax(e), _sums_cache=self._sums)

    def rows(self, style: str = "text", **settings) -> list[tuple[str, str]]:
        """``(label, body)`` per shared subexpression, then per entry, in one ``style``.

        ``style`` is ``"text"``, ``"pretty"`` (``settings`` go to the pretty printer, e.g.
        ``wrap_line=False``) or ``"latex"``; labels and bodies use the same rendering
        (``∂f/∂μ`` beside ``μ``). For callers that lay entries out themselves.

        >>> import symdiff
        >>> symdiff.formula("x**2*y").rows()
        [('df/dx', '2*x*y'), ('df/dy', 'x**2')]
        """
        if style == "text":
            named, label, show = (lambda s: s.name), label_text, display.text
        elif style == "pretty":
            named, label = display.symbol_pretty, label_pretty
            show = lambda e: display.pretty(e, **settings)  # noqa: E731
        elif style == "latex":
            named, label, show = display.symbol_latex, label_latex, display.latex
        else:
            raise ValueError(f"rows: style must be 'text', 'pretty' or 'latex', got {style!r}")
        out = [(named(s), show(self._shown(e))) for s, e in self.subexpressions]
        return out + [(label(w), show(self._shown(e))) for w, e in self.entries]

    def lines(self, labels: bool = True) -> list[str]:
        """Plain-text lines: the shared subexpressions, then ``label = expr`` per entry."""
        show = display.text
        out = [f"{s} = {show(self._shown(e))}" for s, e in self.subexpressions]
        if not labels and len(self.entries) == 1 and not out:
            return [show(self._shown(self.entries[0][1]))]
        return out + [f"{label_text(w)} = {show(self._shown(e))}" for w, e in self.entries]

    def __str__(self) -> str:
        return "\n".join(self.lines(labels=False))

    def __repr__(self) -> str:
        return f"Formula({len(self.entries)} entr{'y' if len(self.entries) == 1 else 'ies'})"

    def pretty(self, **settings) -> str:
        """Unicode 2-D printing (multi-line for fractions and powers).

        ``settings`` go to SymPy's pretty printer (``use_unicode=False`` for ASCII art,
        ``wrap_line=False``, ``num_columns=...``).
        """
        if len(self.entries) == 1 and not self.subexpressions:
            return display.pretty(self._shown(self.entries[0][1]), **settings)
        blocks = []
        named = [(display.symbol_pretty(s), e) for s, e in self.subexpressions]
        for w, e in named + [(label_pretty(w), e) for w, e in self.entries]:
            body = display.pretty(self._shown(e), **settings)
            prefix = f"{w} = "
            blocks.append(prefix + body if "\n" not in body else f"{prefix.rstrip()}\n{body}")
        return "\n\n".join(blocks)

    def latex(self) -> str:
        """LaTeX: one expression, or ``label = expr`` lines in an ``aligned`` block."""
        tex = display.latex
        if len(self.entries) == 1 and not self.subexpressions:
            return tex(self._shown(self.entries[0][1]))
        rows = [rf"{tex(s)} &= {tex(self._shown(e))}" for s, e in self.subexpressions]
        rows += [rf"{label_latex(w)} &= {tex(self._shown(e))}" for w, e in self.entries]
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def cse(self, **kwargs):
        """Common subexpressions over all entries: ``(replacements, reduced)``."""
        return sp.cse(self.exprs, **kwargs)


def _from_callable(f: Callable, args: Sequence | None, names=None) -> Lifted:
    from .lift import lift

    if args is None:
        n = len([p for p in inspect.signature(f).parameters.values() if p.default is p.empty])
        args = [0.5] * n
    extra = {"names": list(names)} if names is not None else {}
    return lift(f, *args, mode="scalar", **extra)  # formulas are element-wise


def _is_array_lifted(obj: Any) -> bool:
    from .array_lift import ArrayLifted

    return isinstance(obj, ArrayLifted)


def _matrix_wanted(f: Any, is_function: bool, args: Sequence | None, form: str | None) -> bool:
    """Whether ``formula`` builds the matrix form (see ``form`` on :func:`formula`)."""
    if form == "elements":
        return False
    if form == "matrix":
        if not (is_function or _is_array_lifted(f)):
            raise TypeError(
                "formula: form='matrix' needs a function (with example arrays) or an "
                f"ArrayLifted, got {type(f).__name__}"
            )
        return True
    if _is_array_lifted(f):
        return True
    if not is_function or not args:
        return False
    from .lift import is_liftable

    sizes = [np.size(getattr(a, "data", a)) for a in args if is_liftable(a)]
    return any(n >= MATRIX_FORM_MIN_ELEMENTS for n in sizes)


def _array_lift(f: Any, args: Sequence | None, names: Sequence[str] | None):
    if _is_array_lifted(f):
        return f
    from .lift import lift

    extra = {"names": list(names)} if names is not None else {}
    return lift(f, *(args or ()), mode="array", **extra)


def _source(f_or_expr: Any, args: Sequence | None, names=None) -> tuple[sp.Expr, tuple]:
    if isinstance(f_or_expr, str):
        return parse_expression(f_or_expr)
    if isinstance(f_or_expr, Lifted):
        return f_or_expr._scalar("formula"), f_or_expr.variables
    if callable(f_or_expr) and not isinstance(f_or_expr, sp.Basic):
        lifted = _from_callable(f_or_expr, args, names)
        return lifted._scalar("formula"), lifted.variables
    expr = sp.sympify(f_or_expr)
    return expr, tuple(sorted(free_symbols(expr), key=sp.default_sort_key))


def _resolve(wrt: Any, variables: tuple, expr: sp.Expr) -> tuple[sp.Symbol, ...]:
    if wrt is None:
        return variables
    items = [wrt] if isinstance(wrt, str | sp.Symbol) else list(wrt)
    known = {s.name: s for s in tuple(variables) + tuple(free_symbols(expr))}
    out = []
    for w in items:
        if isinstance(w, sp.Symbol):
            out.append(w)
        elif str(w) in known:
            out.append(known[str(w)])
        elif any(name.startswith(f"{w}[") for name in known):  # an array: all its elements
            out.extend(s for s in variables if s.name.startswith(f"{w}["))
        else:
            raise ValueError(f"formula: unknown variable {w!r}; known: {sorted(known)}")
    return tuple(out)


def derivative_table(
    expr: sp.Expr, wrt: tuple, order: int, simplify: str, budget: float | None = None
) -> list[tuple[tuple, sp.Expr]]:
    """All distinct partials of ``order`` over ``wrt`` (index-sorted), one sweep per parent."""
    level = {(): expr}
    for _ in range(order):
        nxt: dict[tuple, sp.Expr] = {}
        for key, e in level.items():
            first = key[-1] if key else 0
            targets = wrt[first:]
            adj = adjoints(e, targets) if e != 0 else {}
            for k, v in enumerate(targets, start=first):
                nxt[key + (k,)] = adj.get(v, sp.S.Zero)
        keys = list(nxt)
        step = "fast" if simplify != "none" else "none"
        level = dict(zip(keys, simplify_exprs([nxt[k] for k in keys], step)))
    keys = list(level)
    if simplify == "full":
        level = dict(zip(keys, simplify_exprs([level[k] for k in keys], "full", budget)))
    return [(tuple(wrt[i] for i in k), level[k]) for k in keys]


MATRIX_FORM_MIN_ELEMENTS = 5
"""``form=None`` prints in matrix notation when some array argument has at least this many
elements (a function or an :class:`~symdiff.ArrayLifted`); smaller inputs print element by
element."""

FORMS = ("matrix", "elements")


def formula(
    f_or_expr: Any,
    *example_args: Any,
    wrt: Any = None,
    order: int = 1,
    simplify: str = "fast",
    form: str | None = None,
    names: Sequence[str] | None = None,
    args: Sequence | None = None,
    budget: float | None = None,
):
    """Readable derivatives of an expression, a string, a :class:`Lifted`, an
    :class:`~symdiff.ArrayLifted` or a function.

    A function is lifted at ``example_args`` (or ``args=``; default: 0.5 for each parameter);
    its argument names (or ``names=``) name the symbols, and the arguments not in ``wrt`` stay
    symbolic parameters (a data array prints as its name). With ``simplify != "none"`` the
    input is first rewritten so that ``1/(1 + exp(-x))`` reads ``sigmoid(x)`` and
    ``log(1 + exp(x))`` reads ``softplus(x)``.

    ``form="matrix"`` prints array code in matrix calculus, one entry per gradient
    (``Xᵀ(σ(Xw) − y)``) or Hessian block (``Aᵀ(diag(p) − ppᵀ)A  where p = softmax(Ax)``), as a
    :class:`~symdiff.matrix_formula.MatrixFormula` (:mod:`symdiff.matrix_formula`; ``order``
    0, 1 or 2; a Hessian needs vector or scalar variables; ``simplify`` does not apply).
    ``form="elements"`` gives a :class:`Formula`, one scalar formula per element. The default
    (``form=None``) is "matrix" for a function or an ArrayLifted with an array argument of at
    least :data:`MATRIX_FORM_MIN_ELEMENTS` (5) elements, falling back to "elements" with a
    warning naming the op when the computation has no matrix form; an explicit
    ``form="matrix"`` raises :class:`~symdiff.matrix_expr.MatrixFormError` instead.

    For a string, a SymPy expression or a Lifted, positional arguments after the first are
    ``wrt`` and ``order`` (the signature before ``example_args`` existed).

    Examples
    --------
    >>> import symdiff
    >>> print(symdiff.formula("log(1 + exp(x))", wrt="x"))
    sigmoid(x)
    >>> print(symdiff.formula("tanh(x)"))
    1 - tanh(x)**2
    >>> print(symdiff.formula("x**2*y", order=2))
    d2f/dx2 = 2*y
    d2f/dxdy = 2*x
    d2f/dy2 = 0
    >>> import numpy as np, autodiff as ad
    >>> X, w, y = np.ones((5, 3)), np.ones(3), np.ones(5)
    >>> loss = lambda X, w, y: ad.sum(ad.softplus(X @ w) - y * (X @ w))
    >>> print(symdiff.formula(loss, X, w, y, wrt="w"))
    Xᵀ(σ(Xw) − y)
    >>> print(symdiff.formula(loss, X, w, y, wrt="w", order=2))
    Xᵀ diag(σ(Xw) ⊙ (1 − σ(Xw))) X
    """
    check_level(simplify)
    if form not in (None, *FORMS):
        raise ValueError(f"formula: form must be 'matrix', 'elements' or None, got {form!r}")
    is_function = callable(f_or_expr) and not isinstance(f_or_expr, sp.Basic | Lifted | str)
    if example_args and not is_function and not _is_array_lifted(f_or_expr):
        if len(example_args) > 2 or (wrt is not None and example_args):
            raise TypeError("formula: an expression takes at most (wrt, order) positionally")
        wrt = example_args[0]
        order = example_args[1] if len(example_args) > 1 else order
        example_args = ()
    if example_args and args is not None:
        raise TypeError("formula: give the example arguments positionally or as args=, not both")
    if example_args:
        args = example_args
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"formula: order must be a non-negative integer, got {order!r}")
    matrix = _matrix_wanted(f_or_expr, is_function, args, form)
    if matrix:
        from .matrix_expr import MatrixFormError
        from .matrix_formula import matrix_formula

        try:
            lifted = _array_lift(f_or_expr, args, names)
            return matrix_formula(lifted, wrt=wrt, order=order)
        except MatrixFormError as exc:
            if form == "matrix":
                raise
            warnings.warn(f"{exc}; printing the formula element by element", stacklevel=2)
            if _is_array_lifted(f_or_expr):
                f_or_expr = f_or_expr.to_scalar()
    elif form == "elements" and _is_array_lifted(f_or_expr):
        f_or_expr = f_or_expr.to_scalar()
    with deep_recursion():
        expr, variables = _source(f_or_expr, args, names)
        raw = expr
        if simplify != "none":
            raw = display.recognise_constants(expr)
            expr = collapse_named(raw)
        wrt = _resolve(wrt, tuple(variables), expr)
        entries = derivative_table(expr, wrt, order, simplify, budget)
        if simplify != "none":
            entries = no_larger_than_diff(entries, raw)
        return _readable(Formula(expr, wrt, entries))


def no_larger_than_diff(entries: list[tuple[tuple, sp.Expr]], raw: sp.Expr) -> list:
    """Each entry, or raw ``sympy.diff`` of ``raw`` where that has fewer operations.

    The printed form is never larger (``count_ops``, a constant such as ``sqrt(2/pi)`` counting
    as one number: :func:`symdiff.display.operation_count`) than SymPy's own derivative of the
    lifted expression: of our entry, ``sympy.diff`` and its named-function form, the smallest
    is kept (ours on a tie). Entries or expressions beyond ``config.print_size`` tree nodes are kept
    as they are (counting them would be the expensive part).
    """
    limit, sizes = config.print_size, {}
    if not isinstance(raw, sp.Basic) or tree_size(raw, limit, sizes) > limit:
        return entries
    out = []
    for wrt, e in entries:
        if not isinstance(e, sp.Basic):
            out.append((wrt, e))
            continue
        d = sp.diff(raw, *wrt)  # as a user would call it (``diff(f, x, x)``, not nested)
        if tree_size(d, limit, sizes) > limit:
            out.append((wrt, e))
            continue
        count = display.operation_count
        if tree_size(e, limit, sizes) > limit:  # ours is the larger tree: SymPy's wins
            best, best_ops = d, count(d)
        else:
            best, best_ops = e, count(e)
        for c in (collapse_named(d), d):
            ops = count(c)
            if ops < best_ops:
                best, best_ops = c, ops
        out.append((wrt, best))
    return out


def _readable(result: Formula) -> Formula:
    """Name shared subexpressions when the expanded entries would be too large to print,
    and common function calls (``p = σ(z)``) when an entry would be a very long line."""
    limit, total, sizes = config.print_size, 0, {}
    for _, e in result.entries:
        total += tree_size(e, limit, sizes) if isinstance(e, sp.Basic) else 1
        if total > limit:
            break
    else:
        avoid = [s.name for s in result.variables]
        defs, reduced = display.name_parts(result.exprs, avoid=avoid)
        if not defs:
            return result
        entries = [(w, r) for (w, _), r in zip(result.entries, reduced)]
        return Formula(result.function, result.variables, entries, defs)
    avoid = [s.name for s in result.variables]
    defs, reduced = shared_form([e for _, e in result.entries], avoid=avoid)
    entries = [(w, r) for (w, _), r in zip(result.entries, reduced)]
    return Formula(result.function, result.variables, entries, defs)

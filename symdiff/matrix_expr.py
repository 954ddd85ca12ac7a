"""Matrix expressions for derivative formulas printed as matrix calculus.

A small, immutable expression language over matrices with concrete shapes, the vocabulary of
a matrix-calculus textbook: symbols, ``𝟏`` (a ones vector or matrix), ``I``, ``0``, matrix
products with scalar factors, sums, Hadamard products ``⊙``, transposes ``ᵀ``, ``diag(v)``,
elementwise functions (``σ``, ``tanh``, ``exp``, ``log``, ``softplus``, ``relu``, the
indicator ``𝟙[z > 0]`` that is ``relu′``...), elementwise powers, ``sum`` of all elements,
``softmax`` and ``logsumexp`` of a vector.

Conventions: every value is a matrix of shape ``(rows, cols)``. A 1-D array of length ``n`` is
the column vector ``(n, 1)``; a 0-d value is ``(1, 1)`` and acts as a scalar (it scales
anything). Nodes are hash-consed (structurally equal expressions are the same object), so a
DAG of shared subexpressions costs nothing to compare.

Simplification happens in the constructors (:func:`add`, :func:`matmul`, :func:`had`,
:func:`tr`, ...), so every expression is kept in one canonical form: transposes pushed inward
(``(AB)ᵀ = BᵀAᵀ``, ``(Aᵀ)ᵀ = A``, ``(A + B)ᵀ = Aᵀ + Bᵀ``; an elementwise function keeps its
transpose outside, ``hᵀ``), numeric and scalar factors collected in front of a product
(``2Aᵀ(Ax − b)``), like terms combined, a factor common to every term of a sum pulled out
(``Ax + Aᵀx = (A + Aᵀ)x``, ``Aᵀ diag(p) A − Aᵀ ppᵀ A = Aᵀ(diag(p) − ppᵀ)A``), products such as
``XᵀX`` kept as products (never expanded into elements), ``𝟏 ⊙ v = v`` and ``v ⊙ v = v²``.

:func:`to_text` prints unicode (``Xᵀ(σ(Xw) − y)``), ASCII in NumPy spelling
(``X.T @ (sigmoid(X @ w) - y)``) or LaTeX; :func:`evaluate` computes an expression with NumPy;
:func:`to_sympy` builds the equivalent SymPy matrix expression (``MatrixSymbol``, ``MatMul``,
``Transpose``, ``HadamardProduct``, ``DiagMatrix``, ``ElementwiseApplyFunction``...).

Examples
--------
>>> from symdiff.matrix_expr import sym, matmul, tr, add, neg, scale, to_text
>>> A, x, b = sym("A", (4, 3)), sym("x", (3, 1)), sym("b", (4, 1))
>>> print(to_text(scale(2, matmul(tr(A), add(matmul(A, x), neg(b))))))
2Aᵀ(Ax − b)
>>> S = sym("S", (3, 3))
>>> print(to_text(add(matmul(S, x), matmul(tr(S), x))))
(S + Sᵀ)x
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.pretty.pretty_symbology import greek_unicode

from .errors import LiftError

__all__ = [
    "MExpr", "MatrixFormError", "add", "diag", "eye", "evaluate", "fn", "had", "inner", "lse",
    "matmul", "neg", "num", "ones", "pw", "scale", "softmax", "sub", "sym", "to_sympy",
    "to_text", "total", "tr", "zero",
]  # fmt: skip


class MatrixFormError(LiftError):
    """A computation (or one of its derivatives) has no matrix-calculus form here.

    The message names the op (or the construct) that has no matrix-level rule.
    """


Shape = tuple[int, int]

_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class MExpr:
    """A node of a matrix expression (immutable, hash-consed: equal means identical)."""

    __slots__ = ("shape", "fields", "_text", "__weakref__")
    kind = "expr"

    def __new__(cls, shape: Shape, *fields: Any):
        key = (cls, shape, fields)
        found = _TABLE.get(key)
        if found is not None:
            return found
        self = object.__new__(cls)
        self.shape = (int(shape[0]), int(shape[1]))
        self.fields = fields
        self._text = None
        _TABLE[key] = self
        return self

    def children(self) -> tuple[MExpr, ...]:
        """Operand expressions, in order (with repeats)."""
        return ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {to_text(self, 'ascii')} {self.shape}>"

    def __str__(self) -> str:
        return to_text(self)

    @property
    def key(self) -> str:
        """A deterministic sort key (the ASCII text)."""
        if self._text is None:
            self._text = to_text(self, "ascii")
        return self._text


class Sym(MExpr):
    """A named matrix, vector (``(n, 1)``) or scalar (``(1, 1)``)."""

    __slots__ = ()
    kind = "sym"

    @property
    def name(self) -> str:
        return self.fields[0]


class Ones(MExpr):
    """All ones: ``𝟏`` as a matrix factor, ``1`` in elementwise arithmetic."""

    __slots__ = ()
    kind = "ones"


class Eye(MExpr):
    """The identity matrix ``I``."""

    __slots__ = ()
    kind = "eye"


class Zero(MExpr):
    """The zero matrix."""

    __slots__ = ()
    kind = "zero"


class Prod(MExpr):
    """``coef · s1 · s2 ··· (F1 F2 ··· Fk)``: number, scalar factors, matrix chain."""

    __slots__ = ()
    kind = "prod"

    @property
    def coef(self) -> sp.Number:
        return self.fields[0]

    @property
    def scalars(self) -> tuple[MExpr, ...]:
        return self.fields[1]

    @property
    def chain(self) -> tuple[MExpr, ...]:
        return self.fields[2]

    def children(self):
        return self.fields[1] + self.fields[2]


class Add(MExpr):
    """A sum of terms of one shape."""

    __slots__ = ()
    kind = "add"

    def children(self):
        return self.fields[0]


class Had(MExpr):
    """A Hadamard (elementwise) product of factors of one shape."""

    __slots__ = ()
    kind = "had"

    def children(self):
        return self.fields[0]


class _Unary(MExpr):
    __slots__ = ()

    @property
    def arg(self) -> MExpr:
        return self.fields[-1]

    def children(self):
        return (self.fields[-1],)


class T(_Unary):
    """A transpose (only of symbols and other atoms; the constructor pushes it inward)."""

    __slots__ = ()
    kind = "t"


class Diag(_Unary):
    """``diag(v)``: the diagonal matrix of a column vector."""

    __slots__ = ()
    kind = "diag"


class Fn(_Unary):
    """An elementwise function ``fields[0]`` of its argument."""

    __slots__ = ()
    kind = "fn"

    @property
    def name(self) -> str:
        return self.fields[0]


class Pw(_Unary):
    """An elementwise power by a constant exponent ``fields[0]``."""

    __slots__ = ()
    kind = "pow"

    @property
    def p(self) -> sp.Number:
        return self.fields[0]


class Total(_Unary):
    """The sum of all elements (a scalar)."""

    __slots__ = ()
    kind = "total"


class Softmax(_Unary):
    """``softmax(v)`` of a column vector."""

    __slots__ = ()
    kind = "softmax"


class LSE(_Unary):
    """``logsumexp(v)`` of a column vector (a scalar)."""

    __slots__ = ()
    kind = "lse"


# --- constructors (with the simplifications) ------------------------------------------------------
SCALAR: Shape = (1, 1)

#: elementwise functions with a matrix-level derivative rule (see :func:`dfn`)
FUNCTIONS = (
    "exp", "log", "tanh", "sigmoid", "softplus", "relu", "step", "sin", "cos", "tan", "abs",
    "sign", "log1p", "expm1",
)  # fmt: skip


def _n(c: Any) -> sp.Number:
    v = sp.sympify(c)
    if not v.is_Number:
        raise MatrixFormError(f"matrix form: coefficient {c!r} is not a number")
    return v


def _shape(shape: Iterable[int]) -> Shape:
    s = tuple(int(d) for d in shape)
    if len(s) != 2:
        raise MatrixFormError(f"matrix form: shape {s} is not (rows, cols)")
    return s  # type: ignore[return-value]


def sym(name: str, shape: Iterable[int] = SCALAR) -> Sym:
    """A named matrix of ``shape`` (``(n, 1)`` for a vector, ``(1, 1)`` for a scalar)."""
    return Sym(_shape(shape), str(name))


def zero(shape: Iterable[int]) -> Zero:
    """The zero matrix of ``shape``."""
    return Zero(_shape(shape))


def num(c: Any) -> MExpr:
    """A number as a ``(1, 1)`` expression."""
    c = _n(c)
    return Zero(SCALAR) if c == 0 else Prod(SCALAR, c, (), ())


def ones(shape: Iterable[int]) -> MExpr:
    """``𝟏`` of ``shape`` (the number 1 for ``(1, 1)``)."""
    s = _shape(shape)
    return num(1) if s == SCALAR else Ones(s)


def eye(n: int) -> MExpr:
    """The ``n x n`` identity."""
    return num(1) if n == 1 else Eye((n, n), int(n))


def _is_number(e: MExpr) -> bool:
    return isinstance(e, Prod) and not e.scalars and not e.chain


def _split(e: MExpr) -> tuple[sp.Number, tuple[MExpr, ...], tuple[MExpr, ...]]:
    """``(coef, scalars, chain)`` of any expression (``e`` itself as one factor)."""
    if isinstance(e, Prod):
        return e.coef, e.scalars, e.chain
    if isinstance(e, Zero):
        return sp.S.Zero, (), ()
    if e.shape == SCALAR:
        return sp.S.One, (e,), ()
    return sp.S.One, (), (e,)


def _as_scalar_factor(e: MExpr) -> tuple[sp.Number, tuple[MExpr, ...]]:
    """A ``(1, 1)`` expression as ``coef`` and scalar factors (a chain becomes one factor)."""
    c, s, chain = _split(e)
    if chain:
        s = s + (_prod(sp.S.One, (), chain),)
    return c, s


def _prod(coef: Any, scalars: tuple[MExpr, ...], chain: tuple[MExpr, ...]) -> MExpr:
    coef = _n(coef)
    shape: Shape = (chain[0].shape[0], chain[-1].shape[1]) if chain else SCALAR
    if coef == 0 or any(isinstance(f, Zero) for f in scalars + chain):
        return Zero(shape)
    flat: list[MExpr] = []
    if any(isinstance(f, Prod) for f in chain):  # products inside the chain are spliced in
        spliced: list[MExpr] = []
        for f in chain:
            if isinstance(f, Prod) and f.chain:
                coef = coef * f.coef
                flat.extend(f.scalars)
                spliced.extend(f.chain)
            else:
                spliced.append(f)
        chain = tuple(spliced)
    for s in scalars:  # scalar products inside scalars are flattened
        if isinstance(s, Prod):
            coef = coef * s.coef
            flat.extend(s.scalars)
            if s.chain:
                flat.append(_prod(1, (), s.chain))
        else:
            flat.append(s)
    if len(chain) > 1:
        chain = tuple(f for f in chain if not isinstance(f, Eye)) or chain[:1]
    if len(chain) > 1:
        chain = _diag_ones(chain)
    if len(chain) > 2:  # an inner product inside a chain is a scalar: x yᵀy = (yᵀy) x
        chain, inner_products = _inner_products(chain)
        flat.extend(inner_products)
    powers: dict[MExpr, Any] = {}  # λ λ = λ², λ⁻¹ λ = 1
    for s in flat:
        base, p = (s.arg, s.p) if isinstance(s, Pw) else (s, sp.S.One)
        powers[base] = powers.get(base, sp.S.Zero) + p
    flat = [pw(b, p) for b, p in powers.items() if p != 0]
    scalars = tuple(sorted(flat, key=lambda s: s.key))
    if coef == 1 and not scalars and len(chain) == 1:
        return chain[0]
    return Prod(shape, coef, scalars, chain)


def _collapses(a: MExpr, b: MExpr) -> MExpr | None:
    """``a ⊙ b`` when it cancels to something simpler than a Hadamard product of the two."""
    h = had(a, b)
    if isinstance(a, Ones) or isinstance(b, Ones):
        return h
    return h if _n_factors(h) <= _n_factors(a) + _n_factors(b) - 2 else None


def _n_factors(e: MExpr) -> int:
    core = _split(e)[2]
    if len(core) != 1 or isinstance(core[0], Ones):
        return 0 if not core or isinstance(core[0], Ones) else 1
    return len(core[0].fields[0]) if isinstance(core[0], Had) else 1


def _diag_ones(chain: tuple[MExpr, ...]) -> tuple[MExpr, ...]:
    """``diag(w) v = w ⊙ v`` and ``vᵀ diag(w) = (v ⊙ w)ᵀ`` inside a chain when the Hadamard
    product cancels (``diag(w) 𝟏 = w``, ``pᵀ diag(1 ⊘ p) = 𝟏ᵀ``)."""
    out: list[MExpr] = []
    for f in chain:
        prev = out[-1] if out else None
        if isinstance(prev, Diag) and f.shape[1] == 1 and not isinstance(f, Diag):
            merged = _collapses(prev.arg, f)
            if merged is not None:
                out[-1] = merged
                continue
        if isinstance(f, Diag) and prev is not None and prev.shape[0] == 1:
            row = tr(prev)
            merged = _collapses(row, f.arg) if row.shape[1] == 1 else None
            if merged is not None:
                out[-1] = tr(merged)
                continue
        out.append(f)
    return tuple(out)


def _inner_products(chain: tuple[MExpr, ...]) -> tuple[tuple[MExpr, ...], list[MExpr]]:
    """Split ``(1, 1)`` segments ``rᵀ ... c`` out of the middle or end of a chain."""
    out: list[MExpr] = []
    scalars: list[MExpr] = []
    i = 0
    while i < len(chain):
        f = chain[i]
        if f.shape[0] == 1:  # a row starts a segment; the first column ends it
            j = i
            while j < len(chain) and chain[j].shape[1] != 1:
                j += 1
            whole = i == 0 and j == len(chain) - 1
            if j < len(chain) and not whole:
                segment = chain[i : j + 1]
                pair = _collapses(tr(segment[0]), segment[1]) if len(segment) == 2 else None
                # aᵀb = sum(a ⊙ b) when that cancels: pᵀ(y ⊘ p) = sum(y)
                scalars.append(total(pair) if pair is not None else Prod(SCALAR, 1, (), segment))
                i = j + 1
                continue
        out.append(f)
        i += 1
    return tuple(out), scalars


def matmul(a: MExpr, b: MExpr) -> MExpr:
    """The matrix product ``a b`` (a ``(1, 1)`` operand that does not conform scales)."""
    ca, sa, cha = _split(a)
    cb, sb, chb = _split(b)
    if a.shape[1] == b.shape[0]:
        shape = (a.shape[0], b.shape[1])
        if isinstance(a, Zero) or isinstance(b, Zero):
            return Zero(shape)
        return _prod(ca * cb, sa + sb, cha + chb)
    if a.shape == SCALAR or b.shape == SCALAR:
        s, m = (a, b) if a.shape == SCALAR else (b, a)
        if isinstance(s, Zero) or isinstance(m, Zero):
            return Zero(m.shape)
        cs, ss = _as_scalar_factor(s)
        cm, sm, chm = _split(m)
        return _prod(cs * cm, ss + sm, chm)
    raise MatrixFormError(f"matrix form: cannot multiply shapes {a.shape} and {b.shape}")


def scale(c: Any, e: MExpr) -> MExpr:
    """``c · e`` for a number or a ``(1, 1)`` expression ``c``."""
    return matmul(c if isinstance(c, MExpr) else num(c), e)


def neg(e: MExpr) -> MExpr:
    """``−e``."""
    return scale(-1, e)


def _strip(e: MExpr) -> tuple[sp.Number, MExpr]:
    """``(coef, rest)`` with ``e = coef · rest``."""
    if isinstance(e, Prod) and e.coef != 1:
        return e.coef, _prod(1, e.scalars, e.chain)
    return sp.S.One, e


def add(*terms: MExpr) -> MExpr:
    """The sum: like terms combined, a factor common to all terms pulled out, terms sorted."""
    flat: list[MExpr] = []
    shape = None
    for t in terms:
        if shape is None:
            shape = t.shape
        elif t.shape != shape:
            raise MatrixFormError(f"matrix form: cannot add shapes {shape} and {t.shape}")
        if isinstance(t, Add):
            flat.extend(t.fields[0])
        elif not isinstance(t, Zero):
            flat.append(t)
    if shape is None:
        raise MatrixFormError("matrix form: empty sum")
    coefs: dict[MExpr, sp.Number] = {}
    for t in flat:
        c, rest = _strip(t)
        coefs[rest] = coefs.get(rest, sp.S.Zero) + c
    items = [scale(c, rest) for rest, c in coefs.items() if c != 0]
    if not items:
        return Zero(shape)
    if len(items) == 1:
        return items[0]
    diags = [t for t in items if _is_diag(t)]
    if len(diags) > 1:  # diag(a) + diag(b) = diag(a + b)
        vectors = [_prod(c, s, (ch[0].arg,)) for c, s, ch in map(_split, diags)]
        items = [t for t in items if not _is_diag(t)] + [diag(add(*vectors))]
        if len(items) == 1:
            return items[0]
    factored = _factor(items)
    if factored is not None:
        return factored
    items.sort(key=lambda t: _strip(t)[1].key)
    if _strip(items[0])[0] < 0:  # one sign per sum: −diag(p) + ppᵀ = −(diag(p) − ppᵀ)
        return _prod(-1, (), (Add(shape, tuple(scale(-1, t) for t in items)),))
    return Add(shape, tuple(items))


def _is_diag(t: MExpr) -> bool:
    chain = _split(t)[2]
    return len(chain) == 1 and isinstance(chain[0], Diag)


def _factor(items: list[MExpr]) -> MExpr | None:
    """``L (Σ rest) `` or ``(Σ rest) R`` when every term shares a left / right chain factor."""
    parts = [_split(t) for t in items]
    if any(not chain for _, _, chain in parts) or all(len(ch) < 2 for _, _, ch in parts):
        return None
    for side in (-1, 0):
        common = parts[0][2][side]
        if isinstance(common, Ones | Eye) or any(ch[side] is not common for _, _, ch in parts):
            continue
        rest = []
        for c, s, ch in parts:
            left = ch[:-1] if side == -1 else ch[1:]
            n = common.shape[0] if side == -1 else common.shape[1]
            rest.append(_prod(c, s, left or (eye(n),)))
        inner_sum = add(*rest)
        return matmul(inner_sum, common) if side == -1 else matmul(common, inner_sum)
    return None


def sub(a: MExpr, b: MExpr) -> MExpr:
    """``a − b``."""
    return add(a, neg(b))


def had(*factors: MExpr) -> MExpr:
    """The Hadamard product: numbers and scalars pulled out, ``𝟏`` dropped, ``v ⊙ v = v²``."""
    shape = max((f.shape for f in factors), key=lambda s: s[0] * s[1])
    coef, scalars = sp.S.One, []
    powers: dict[MExpr, Any] = {}
    for f in factors:
        if isinstance(f, Zero):
            return Zero(shape)
        if f.shape != shape:
            if f.shape != SCALAR:
                raise MatrixFormError(f"matrix form: ⊙ of shapes {shape} and {f.shape}")
            c, s = _as_scalar_factor(f)
            coef, scalars = coef * c, scalars + list(s)
            continue
        c, s, chain = _split(f)
        coef, scalars = coef * c, scalars + list(s)
        if not chain:
            continue
        core = chain[0] if len(chain) == 1 else _prod(1, (), chain)
        for g in core.fields[0] if isinstance(core, Had) else (core,):
            if isinstance(g, Ones):
                continue
            base, p = (g.arg, g.p) if isinstance(g, Pw) else (g, sp.S.One)
            powers[base] = powers.get(base, sp.S.Zero) + p
    if shape == SCALAR:
        return _prod(coef, tuple(scalars) + tuple(pw(b, p) for b, p in powers.items()), ())
    core_factors = [pw(b, p) for b, p in powers.items() if p != 0]
    core_factors = [f for f in core_factors if not isinstance(f, Ones)]
    # D ⊙ 𝟏wᵀ = D diag(w) and D ⊙ w𝟏ᵀ = diag(w) D (a broadcast vector scales rows/columns)
    left: list[MExpr] = []
    right: list[MExpr] = []
    if len(core_factors) > 1 and shape[0] > 1 and shape[1] > 1:
        kept = []
        work = list(core_factors)
        while work:  # (A diag(w)) ⊙ B = (A ⊙ B) diag(w), and on the left
            f = work.pop()
            chain = f.chain if isinstance(f, Prod) and f.coef == 1 and not f.scalars else ()
            if len(chain) > 1 and isinstance(chain[0], Ones) and chain[0].shape[1] == 1:
                right.append(tr(_prod(1, (), chain[1:])))
            elif len(chain) > 1 and isinstance(chain[-1], Ones) and chain[-1].shape[0] == 1:
                left.append(_prod(1, (), chain[:-1]))
            elif len(chain) > 1 and isinstance(chain[-1], Diag):
                right.append(chain[-1].arg)
                work.append(_prod(1, (), chain[:-1]))
            elif len(chain) > 1 and isinstance(chain[0], Diag):
                left.append(chain[0].arg)
                work.append(_prod(1, (), chain[1:]))
            else:
                kept.append(f)
        kept.reverse()
        if kept:
            core_factors = kept
        else:
            left, right = [], []
    if left or right:
        out = had(*core_factors)
        for w in left:
            out = matmul(diag(w), out)
        for w in right:
            out = matmul(out, diag(w))
        return _prod(coef, tuple(scalars), (out,))
    if not core_factors:
        core: MExpr = Ones(shape)
    elif len(core_factors) == 1:
        core = core_factors[0]
    else:
        flat: list[MExpr] = []
        for f in core_factors:
            flat.extend(f.fields[0] if isinstance(f, Had) else (f,))
        core = Had(shape, tuple(flat))
    return _prod(coef, tuple(scalars), (core,))


def tr(e: MExpr) -> MExpr:
    """The transpose, pushed inward: ``(AB)ᵀ = BᵀAᵀ``, ``(Aᵀ)ᵀ = A``, ``(A + B)ᵀ = Aᵀ + Bᵀ``."""
    r, c = e.shape
    if e.shape == SCALAR or isinstance(e, Eye | Diag):
        return e
    if isinstance(e, T):
        return e.arg
    if isinstance(e, Zero):
        return Zero((c, r))
    if isinstance(e, Ones):
        return Ones((c, r))
    if isinstance(e, Prod):
        return _prod(e.coef, e.scalars, tuple(tr(f) for f in reversed(e.chain)))
    if isinstance(e, Add):
        return add(*(tr(t) for t in e.fields[0]))
    # elementwise nodes keep their transpose outside: h = tanh(Wx + b) prints hᵀ
    return T((c, r), e)


def fn(name: str, e: MExpr) -> MExpr:
    """The elementwise function ``name`` applied to ``e``."""
    if name not in FUNCTIONS:
        raise MatrixFormError(f"matrix form: no elementwise function {name!r}")
    return Fn(e.shape, name, e)


def pw(e: MExpr, p: Any) -> MExpr:
    """``e`` to the elementwise power ``p`` (a number)."""
    p = _n(p)
    if p == 0:
        return ones(e.shape)
    if p == 1:
        return e
    if isinstance(e, Pw) and p.is_integer:
        return pw(e.arg, e.p * p)
    if isinstance(e, Ones):
        return e
    if isinstance(e, Prod) and len(e.chain) <= 1 and (e.coef != 1 or e.scalars):
        if not e.chain:
            if not e.scalars:
                return num(e.coef**p)
            if p.is_integer:  # (λμ)⁻¹ = λ⁻¹μ⁻¹
                return _prod(e.coef**p, tuple(pw(s, p) for s in e.scalars), ())
        elif p.is_integer or e.coef > 0:
            scalars = tuple(pw(s, p) for s in e.scalars)
            return _prod(e.coef**p, scalars, (pw(e.chain[0], p),))
    return Pw(e.shape, p, e)


def total(e: MExpr) -> MExpr:
    """The sum of all elements of ``e`` (a scalar); numbers and scalars are pulled out."""
    if e.shape == SCALAR:
        return e
    if isinstance(e, Zero):
        return num(0)
    if isinstance(e, Ones):
        return num(e.shape[0] * e.shape[1])
    c, s, chain = _split(e)
    if c != 1 or s:
        return _prod(c, s, (total(_prod(1, (), chain)),))
    return Total(SCALAR, e)


def diag(v: MExpr) -> MExpr:
    """``diag(v)`` of a column vector (numbers and scalars pulled out; ``diag(𝟏) = I``)."""
    if v.shape[1] != 1:
        raise MatrixFormError(f"matrix form: diag of shape {v.shape}; needs a column vector")
    n = v.shape[0]
    if isinstance(v, Zero):
        return Zero((n, n))
    if isinstance(v, Ones):
        return eye(n)
    c, s, chain = _split(v)
    if c != 1 or s:
        return _prod(c, s, (diag(_prod(1, (), chain)),))
    return Diag((n, n), v)


def softmax(v: MExpr) -> MExpr:
    """``softmax(v)`` of a column vector."""
    if v.shape[1] != 1:
        raise MatrixFormError(f"matrix form: softmax of shape {v.shape}; needs a vector")
    return Softmax(v.shape, v)


def lse(v: MExpr) -> MExpr:
    """``logsumexp(v)`` of a column vector."""
    if v.shape[1] != 1:
        raise MatrixFormError(f"matrix form: logsumexp of shape {v.shape}; needs a vector")
    return LSE(SCALAR, v)


def inner(g: MExpr, p: MExpr) -> MExpr:
    """``⟨g, p⟩ = sum(g ⊙ p)``: ``gᵀp`` for column vectors, a product for scalars."""
    if g.shape != p.shape:
        raise MatrixFormError(f"matrix form: inner product of {g.shape} and {p.shape}")
    if g.shape == SCALAR:
        return matmul(g, p)
    if g.shape[1] == 1:
        return matmul(tr(g), p)
    if g.shape[0] == 1:
        return matmul(g, tr(p))
    return total(had(g, p))


# --- derivatives of the elementwise functions -----------------------------------------------------
def dfn(name: str, a: MExpr) -> MExpr:
    """The elementwise derivative ``f′(a)`` of the function ``name``."""
    one = ones(a.shape)
    if name == "exp":
        return fn("exp", a)
    if name == "log":
        return pw(a, -1)
    if name == "tanh":
        return sub(one, pw(fn("tanh", a), 2))
    if name == "sigmoid":
        s = fn("sigmoid", a)
        return had(s, sub(one, s))
    if name == "softplus":
        return fn("sigmoid", a)
    if name == "relu":
        return fn("step", a)
    if name == "sin":
        return fn("cos", a)
    if name == "cos":
        return neg(fn("sin", a))
    if name == "tan":
        return add(one, pw(fn("tan", a), 2))
    if name == "abs":
        return fn("sign", a)
    if name in ("step", "sign"):
        return zero(a.shape)
    if name == "log1p":
        return pw(add(one, a), -1)
    if name == "expm1":
        return fn("exp", a)
    raise MatrixFormError(f"matrix form: no derivative rule for the function {name!r}")


# --- traversal ------------------------------------------------------------------------------------
def topo(roots: Iterable[MExpr]) -> list[MExpr]:
    """Every node reachable from ``roots``, operands before users (iterative)."""
    seen: set[int] = set()
    order: list[MExpr] = []
    for root in roots:
        stack: list[tuple[MExpr, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children()) if id(c) not in seen)
    return order


# --- printing -------------------------------------------------------------------------------------
_FRACTIONS = {
    (1, 2): "½", (1, 3): "⅓", (2, 3): "⅔", (1, 4): "¼", (3, 4): "¾", (1, 5): "⅕", (1, 6): "⅙",
    (1, 8): "⅛",
}  # fmt: skip
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_FN_TEXT = {"sigmoid": "σ", "log1p": "log1p", "expm1": "expm1"}
_FN_LATEX = {
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "exp": r"\exp",
    "log": r"\log",
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
}
_FN_ASCII = {"step": "heaviside0"}
_GREEK_ALIASES = {"lam": "lamda", "lambda": "lamda"}

# precedence: sum < hadamard < product < power/transpose < atom
_P_ADD, _P_HAD, _P_PROD, _P_POW, _P_ATOM = 1, 2, 3, 4, 5


def display_name(name: str, style: str = "unicode") -> str:
    """A symbol's printed name: Greek letters for ``lam``/``lambda``/``alpha``... in unicode
    and LaTeX, the name itself in ASCII."""
    if style == "ascii":
        return name
    g = _GREEK_ALIASES.get(name, name)
    if style == "latex":
        return sp.latex(sp.Symbol(g))
    return greek_unicode.get(g, name)


class _Printer:
    def __init__(self, style: str, names: Mapping[MExpr, str] | None = None):
        if style not in ("unicode", "ascii", "latex"):
            raise ValueError(f"to_text: style must be unicode, ascii or latex, got {style!r}")
        self.style = style
        self.names = dict(names or {})
        # keyed by the node itself (kept alive): ids of freed temporaries are reused
        self.memo: dict[tuple[MExpr, bool], tuple[str, int]] = {}

    # helpers
    def paren(self, text: str) -> str:
        return rf"\left({text}\right)" if self.style == "latex" else f"({text})"

    def at(self, e: MExpr, prec: int) -> str:
        text, p = self.print(e)
        return self.paren(text) if p < prec else text

    def call(self, name: str, e: MExpr) -> tuple[str, int]:
        arg = self.print(e)[0]
        if self.style == "latex":
            return rf"{name}\left({arg}\right)", _P_ATOM
        return f"{name}({arg})", _P_ATOM

    def number(self, c: sp.Number) -> str:
        if self.style == "latex":
            return sp.latex(c)
        if self.style == "unicode" and c.is_Rational and not c.is_Integer:
            return _FRACTIONS.get((int(c.p), int(c.q)), f"({c})")
        return str(c)

    def print(self, e: MExpr, top: bool = False) -> tuple[str, int]:
        if not top and e in self.names:
            return display_name(self.names[e], self.style), _P_ATOM
        key = (e, top)
        if key not in self.memo:
            self.memo[key] = self._print(e)
        return self.memo[key]

    def _print(self, e: MExpr) -> tuple[str, int]:
        st = self.style
        if isinstance(e, Sym):
            return display_name(e.name, st), _P_ATOM
        if isinstance(e, Ones):  # in elementwise arithmetic (1 − σ(z)); 𝟏 as a factor
            return "1", _P_ATOM
        if isinstance(e, Eye):
            return (f"np.eye({e.shape[0]})" if st == "ascii" else "I"), _P_ATOM
        if isinstance(e, Zero):
            return "0", _P_ATOM
        if isinstance(e, T):
            base = self.at(e.arg, _P_ATOM)
            return base + {"unicode": "ᵀ", "ascii": ".T", "latex": r"^{\top}"}[st], _P_POW
        if isinstance(e, Pw):
            return self._pow(e)
        if isinstance(e, Fn):
            return self._fn(e)
        if isinstance(e, Diag):
            return self.call(r"\operatorname{diag}" if st == "latex" else "diag", e.arg)
        if isinstance(e, Total):
            return self.call(r"\operatorname{sum}" if st == "latex" else "sum", e.arg)
        if isinstance(e, Softmax):
            return self.call(r"\operatorname{softmax}" if st == "latex" else "softmax", e.arg)
        if isinstance(e, LSE):
            return self.call(r"\operatorname{logsumexp}" if st == "latex" else "logsumexp", e.arg)
        if isinstance(e, Had):
            return self._had(e.fields[0]), _P_HAD
        if isinstance(e, Add):
            return self._add(e.fields[0]), _P_ADD
        if isinstance(e, Prod):
            return self._prod(e)
        raise TypeError(f"to_text: unknown node {type(e).__name__}")

    def _pow(self, e: Pw) -> tuple[str, int]:
        st, p = self.style, e.p
        if p == -1 and st != "latex":
            sep = " / " if st == "ascii" else " ⊘ "
            return "1" + sep + self.at(e.arg, _P_POW), _P_HAD
        if p == sp.Rational(1, 2):
            if st == "latex":
                return rf"\sqrt{{{self.print(e.arg)[0]}}}", _P_ATOM
            return self.call("sqrt" if st == "ascii" else "√", e.arg)
        base = self.at(e.arg, _P_ATOM)
        if st == "ascii":
            return f"{base}**{p if p >= 0 else f'({p})'}", _P_POW
        if st == "latex":
            return f"{base}^{{{sp.latex(p)}}}", _P_POW
        if p.is_integer:
            return base + str(p).translate(_SUP), _P_POW
        return f"{base}^({p})", _P_POW

    def _fn(self, e: Fn) -> tuple[str, int]:
        st, name = self.style, e.name
        if name == "step":
            arg = self.print(e.arg)[0]
            if st == "latex":
                return rf"\mathbb{{1}}\left[{arg} > 0\right]", _P_ATOM
            if st == "unicode":
                return f"𝟙[{arg} > 0]", _P_ATOM
        if name == "abs" and st != "ascii":
            arg = self.print(e.arg)[0]
            return (rf"\left|{arg}\right|" if st == "latex" else f"|{arg}|"), _P_ATOM
        if st == "latex":
            return self.call(_FN_LATEX.get(name, rf"\operatorname{{{name}}}"), e.arg)
        if st == "ascii":
            return self.call(_FN_ASCII.get(name, name), e.arg)
        return self.call(_FN_TEXT.get(name, name), e.arg)

    def _had(self, factors: tuple[MExpr, ...]) -> str:
        st = self.style
        op = {"unicode": " ⊙ ", "ascii": " * ", "latex": r" \odot "}[st]
        div = {"unicode": " ⊘ ", "ascii": " / ", "latex": r" \oslash "}[st]
        num_f = [f for f in factors if not (isinstance(f, Pw) and f.p == -1)]
        den_f = [f.arg for f in factors if isinstance(f, Pw) and f.p == -1]
        # NumPy's @ and * share one precedence: parenthesize products in ASCII
        level = _P_POW if st == "ascii" else _P_HAD + 1
        text = op.join(self.at(f, level) for f in num_f) if num_f else "1"
        for d in den_f:
            text += div + self.at(d, level)
        return text

    def _add(self, terms: tuple[MExpr, ...]) -> str:
        minus = {"unicode": " − ", "ascii": " - ", "latex": " - "}[self.style]
        out = ""
        for i, t in enumerate(terms):
            c, rest = _strip(t)
            negative = c < 0
            body = self.print(scale(-c, rest) if negative else t)
            text = self.paren(body[0]) if body[1] <= _P_ADD else body[0]
            if i == 0:
                out = ("−" if self.style == "unicode" else "-") + text if negative else text
            else:
                out += (minus if negative else " + ") + text
        return out

    def _factor_text(self, f: MExpr) -> tuple[str, bool]:
        """A product factor's text and whether it reads as a word (needs spaces around)."""
        if f in self.names:
            name = display_name(self.names[f], self.style)
            return name, len(self.names[f]) > 1 and name == self.names[f]
        if isinstance(f, Ones) and f.shape[0] > 1 and f.shape[1] > 1:  # a ones matrix: 𝟏𝟏ᵀ
            return {
                "unicode": "𝟏𝟏ᵀ", "latex": r"\mathbf{1} \mathbf{1}^{\top}",
                "ascii": f"np.ones({f.shape})",
            }[self.style], False  # fmt: skip
        if isinstance(f, Ones) and f.shape[0] == 1 and f.shape[1] > 1:  # a ones row: 𝟏ᵀ
            return {
                "unicode": "𝟏ᵀ", "latex": r"\mathbf{1}^{\top}", "ascii": f"np.ones({f.shape})"
            }[self.style], False  # fmt: skip
        if isinstance(f, Ones):
            return {
                "unicode": "𝟏", "latex": r"\mathbf{1}", "ascii": f"np.ones({f.shape})"
            }[self.style], False  # fmt: skip
        text, p = self.print(f)
        if p <= _P_PROD:
            return self.paren(text), False
        base = f.arg if isinstance(f, T) else f
        if base in self.names:
            return text, len(self.names[base]) > 1
        if isinstance(base, Fn | Diag | Total | Softmax | LSE) or (
            isinstance(base, Pw) and base.p == sp.Rational(1, 2)
        ):
            return text, True
        if isinstance(base, Sym):
            return text, len(display_name(base.name, self.style)) > 1
        return text, p == _P_ATOM and not isinstance(f, Ones | Eye)

    def _join(self, parts: list[tuple[str, bool]]) -> str:
        """Juxtapose product factors; a space around words (``diag(v)``, ``W2``)."""
        text = parts[0][0]
        for (prev, prev_word), (cur, word) in zip(parts, parts[1:]):
            space = prev_word or word or (prev[-1:].isdigit() and cur[:1].isdigit())
            text += (" " if space or self.style == "latex" else "") + cur
        return text

    def _prod(self, e: Prod) -> tuple[str, int]:
        st = self.style
        c = e.coef
        chain = list(e.chain)
        # a lone 𝟏 scaled reads as the scalar (λ𝟏 is "λ" in elementwise arithmetic)
        if len(chain) == 1 and isinstance(chain[0], Ones) and st != "ascii":
            chain = []
        sign = ""
        if c < 0:
            sign, c = ("−" if st == "unicode" else "-"), -c
        ups = [s for s in e.scalars if not (isinstance(s, Pw) and s.p < 0)]
        downs = [pw(s.arg, -s.p) for s in e.scalars if isinstance(s, Pw) and s.p < 0]
        if not downs and c == 1 and len(ups) == 1 and not chain:
            text, prec = self.print(ups[0])
            if sign:
                return sign + (self.paren(text) if prec <= _P_PROD else text), _P_PROD
            return text, prec
        parts: list[tuple[str, bool]] = []
        if downs:  # scalar factors with negative powers: a fraction, (2/m)Xᵀ(Xw − y)
            top, bottom = (int(c.p), int(c.q)) if c.is_Rational else (c, 1)
            num_parts = [(self.number(sp.sympify(top)), False)] if top != 1 or not ups else []
            num_parts += [self._factor_text(f) for f in ups]
            den_parts = [(self.number(sp.sympify(bottom)), False)] if bottom != 1 else []
            den_parts += [
                (self.print(f)[0], False) if st == "latex" else self._factor_text(f) for f in downs
            ]
            if st == "ascii":
                num_t = " * ".join(t for t, _ in num_parts)
                den_t = " * ".join(t for t, _ in den_parts)
                frac = f"{num_t} / " + (f"({den_t})" if len(den_parts) > 1 else den_t)
            else:
                num_t, den_t = self._join(num_parts), self._join(den_parts)
                if st == "latex":
                    frac = rf"\frac{{{num_t}}}{{{den_t}}}"
                else:
                    frac = f"{num_t}/" + (f"({den_t})" if len(den_parts) > 1 else den_t)
                    frac = f"({frac})" if chain else frac
            parts.append((frac, False))
        else:
            if c != 1 or not (ups or chain):
                parts.append((self.number(c), False))
            parts += [self._factor_text(f) for f in ups]
        n_scalar = len(parts)
        parts += [self._factor_text(f) for f in chain]
        prec = _P_PROD if len(parts) > 1 or sign or downs else _P_ATOM
        if st == "ascii":
            scalars_txt = " * ".join(t for t, _ in parts[:n_scalar])
            chain_txt = " @ ".join(t for t, _ in parts[n_scalar:])
            return sign + " * ".join(x for x in (scalars_txt, chain_txt) if x), prec
        return sign + self._join(parts), prec


def to_text(e: MExpr, style: str = "unicode", names: Mapping[MExpr, str] | None = None) -> str:
    """``e`` printed: ``"unicode"`` (``Xᵀ(σ(Xw) − y)``), ``"ascii"`` (NumPy spelling) or
    ``"latex"``; nodes in ``names`` print as those names (shared subexpressions).

    Examples
    --------
    >>> X, w, y = sym("X", (5, 3)), sym("w", (3, 1)), sym("y", (5, 1))
    >>> g = matmul(tr(X), sub(fn("sigmoid", matmul(X, w)), y))
    >>> to_text(g), to_text(g, "ascii"), to_text(g, "latex")
    ('Xᵀ(σ(Xw) − y)', 'X.T @ (sigmoid(X @ w) - y)', 'X^{\\\\top} \\\\left(\\\\sigma\\\\left(X w\\\\right) - y\\\\right)')
    """  # noqa: E501
    return _Printer(style, names).print(e, top=True)[0]


# --- numeric evaluation ---------------------------------------------------------------------------
def _sigmoid(z):
    return np.where(
        z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z)))
    )


_NUMPY_FN: dict[str, Callable] = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": lambda z: np.logaddexp(0.0, z),
    "relu": lambda z: np.maximum(z, 0.0),
    "step": lambda z: (z > 0).astype(float),
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "abs": np.abs,
    "sign": np.sign,
    "log1p": np.log1p,
    "expm1": np.expm1,
}


def evaluate(e: MExpr, env: Mapping[str, Any]) -> np.ndarray:
    """``e`` computed with NumPy; ``env`` maps each symbol name to its value (any shape that
    reshapes to the symbol's ``(rows, cols)``). Returns a 2-D float array."""
    vals: dict[int, np.ndarray] = {}
    for node in topo([e]):
        vals[id(node)] = _eval_node(node, vals, env)
    return vals[id(e)]


def _eval_node(e: MExpr, vals: dict, env: Mapping[str, Any]) -> np.ndarray:
    def v(x: MExpr) -> np.ndarray:
        return vals[id(x)]

    if isinstance(e, Sym):
        if e.name not in env:
            raise KeyError(f"matrix form: no value for {e.name!r}")
        return np.asarray(env[e.name], dtype=float).reshape(e.shape)
    if isinstance(e, Ones):
        return np.ones(e.shape)
    if isinstance(e, Eye):
        return np.eye(e.shape[0])
    if isinstance(e, Zero):
        return np.zeros(e.shape)
    if isinstance(e, Prod):
        out = np.full((1, 1), float(e.coef))
        for s in e.scalars:
            out = out * v(s)
        if e.chain:
            m = v(e.chain[0])
            for f in e.chain[1:]:
                m = m @ v(f)
            out = out * m
        return out
    if isinstance(e, Add):
        return sum(v(t) for t in e.fields[0])
    if isinstance(e, Had):
        out = v(e.fields[0][0])
        for f in e.fields[0][1:]:
            out = out * v(f)
        return out
    a = v(e.arg)
    if isinstance(e, T):
        return a.T
    if isinstance(e, Diag):
        return np.diag(a[:, 0])
    if isinstance(e, Fn):
        return _NUMPY_FN[e.name](a)
    if isinstance(e, Pw):
        return a ** float(e.p)
    if isinstance(e, Total):
        return np.array([[a.sum()]])
    if isinstance(e, Softmax):
        z = np.exp(a - a.max())
        return z / z.sum()
    if isinstance(e, LSE):
        return np.array([[a.max() + np.log(np.exp(a - a.max()).sum())]])
    raise TypeError(f"evaluate: unknown node {type(e).__name__}")


# --- SymPy ----------------------------------------------------------------------------------------
def _sympy_fn(name: str) -> sp.Lambda:
    from .functions import relu, sigmoid, softplus

    t = sp.Dummy("t", real=True)
    body = {
        "exp": sp.exp(t),
        "log": sp.log(t),
        "tanh": sp.tanh(t),
        "sigmoid": sigmoid(t),
        "softplus": softplus(t),
        "relu": relu(t),
        "step": sp.Piecewise((1, t > 0), (0, True)),
        "sin": sp.sin(t),
        "cos": sp.cos(t),
        "tan": sp.tan(t),
        "abs": sp.Abs(t),
        "sign": sp.sign(t),
        "log1p": sp.log(1 + t),
        "expm1": sp.exp(t) - 1,
    }[name]
    return sp.Lambda(t, body)


def to_sympy(e: MExpr, names: Mapping[MExpr, str] | None = None) -> sp.Basic:
    """The SymPy matrix expression of ``e`` (``MatrixSymbol``, ``MatMul``, ``Transpose``,
    ``HadamardProduct``, ``DiagMatrix``, ``ElementwiseApplyFunction``, ``OneMatrix``...).

    A ``(1, 1)`` symbol becomes a scalar ``Symbol``; ``sum``, ``softmax`` and ``logsumexp``
    are written with ``OneMatrix`` products. Nodes in ``names`` become ``MatrixSymbol`` s of
    those names.
    """
    from sympy.matrices.expressions import (
        DiagMatrix,
        HadamardPower,
        HadamardProduct,
        MatrixSymbol,
        OneMatrix,
        Transpose,
        ZeroMatrix,
    )
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    names = dict(names or {})
    memo: dict[int, Any] = {}

    def scalar(x: Any, node: MExpr) -> Any:
        return x[0, 0] if node.shape == SCALAR and isinstance(x, sp.MatrixExpr) else x

    for node in topo([e]):
        if node in names and node is not e:
            s = node.shape
            memo[id(node)] = (
                sp.Symbol(names[node], real=True) if s == SCALAR else MatrixSymbol(names[node], *s)
            )
            continue
        k = [memo[id(c)] for c in node.children()]
        if isinstance(node, Sym):
            out: Any = (
                sp.Symbol(node.name, real=True)
                if node.shape == SCALAR
                else MatrixSymbol(node.name, *node.shape)
            )
        elif isinstance(node, Ones):
            out = OneMatrix(*node.shape)
        elif isinstance(node, Eye):
            out = sp.Identity(node.shape[0])
        elif isinstance(node, Zero):
            out = sp.S.Zero if node.shape == SCALAR else ZeroMatrix(*node.shape)
        elif isinstance(node, Prod):
            ns = len(node.scalars)
            out = node.coef
            for s, kid in zip(node.scalars, k[:ns]):
                out = out * scalar(kid, s)
            if node.chain:
                chain = sp.MatMul(*k[ns:]) if len(k) - ns > 1 else k[ns]
                out = scalar(out * chain, node) if node.shape == SCALAR else out * chain
        elif isinstance(node, Add):
            out = sp.Add(*[scalar(x, t) for x, t in zip(k, node.children())])
            if node.shape != SCALAR:
                out = sp.MatAdd(*k)
        elif isinstance(node, Had):
            out = HadamardProduct(*k)
        elif isinstance(node, T):
            out = Transpose(k[0])
        elif isinstance(node, Diag):
            out = DiagMatrix(k[0])
        elif isinstance(node, Fn):
            out = ElementwiseApplyFunction(_sympy_fn(node.name), k[0])
        elif isinstance(node, Pw):
            out = HadamardPower(k[0], node.p)
        elif isinstance(node, Total):
            r, c = node.arg.shape
            out = (OneMatrix(1, r) * k[0] * OneMatrix(c, 1))[0, 0]
        elif isinstance(node, Softmax | LSE):
            n = node.arg.shape[0]
            ex = ElementwiseApplyFunction(_sympy_fn("exp"), k[0])
            s = (OneMatrix(1, n) * ex)[0, 0]
            out = ex / s if isinstance(node, Softmax) else sp.log(s)
        else:
            raise TypeError(f"to_sympy: unknown node {type(node).__name__}")
        memo[id(node)] = out
    return memo[id(e)]

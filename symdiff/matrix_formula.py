"""Derivative formulas of array code, printed as matrix calculus.

``symdiff.formula(f, *example_args, wrt=..., order=1|2, form="matrix")`` prints the gradient
and the Hessian of array code the way one writes them on a whiteboard::

    ad.sum(ad.softplus(X @ w) - y * (X @ w))   ∂f/∂w   = Xᵀ(σ(Xw) − y)
                                               ∂²f/∂w² = Xᵀ diag(σ(Xw) ⊙ (1 − σ(Xw))) X
    ad.logsumexp(A @ x)                        ∂f/∂x   = Aᵀ softmax(Ax)
                                               ∂²f/∂x² = Aᵀ(diag(p) − ppᵀ)A, where p = softmax(Ax)

How: the traced program (:mod:`autodiff.graph`, through ``lift(mode="array")``) is read into
a matrix expression (:mod:`symdiff.matrix_expr`) - each named argument a matrix symbol of its
shape (1-D arrays are column vectors), each op its matrix counterpart (``@`` a matrix product,
``*`` a Hadamard product ``⊙`` or a scaling, ``ad.sum`` the sum of elements or a product
with ``𝟏``, the stable ``logsumexp``/``softmax`` recognised as such). The gradient is reverse
mode over that expression with matrix-level VJP rules (``∂⟨G, AB⟩``: ``Gbᵀ``, ``AᵀG``...);
the Hessian is the forward derivative of the gradient expression in a direction ``v``,
written as ``H v`` and read off as ``H`` (``d ⊙ (Av) = diag(d) A v``, ``p (pᵀAv) = ppᵀA v``).
Every constructor simplifies (transposes pushed inward, scalar factors collected, common
factors pulled out of sums, ``A + Aᵀ`` kept). Subexpressions that the printed result repeats
are named (``p = softmax(Ax)``, ``h = tanh(W1 x + b1)``); in a network of two or more layers
the gradient at the last layer's output is named ``δ`` (backpropagation's notation).

An op without a matrix-level rule raises :class:`~symdiff.matrix_expr.MatrixFormError`
naming it (``formula`` then falls back to element formulas with a warning unless
``form="matrix"`` was asked for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from autodiff.graph import Graph, Node

from .formula import label_latex
from .matrix_expr import (
    LSE,
    SCALAR,
    Add,
    Diag,
    Eye,
    Fn,
    Had,
    MatrixFormError,
    MExpr,
    Ones,
    Prod,
    Pw,
    Softmax,
    Sym,
    T,
    Total,
    Zero,
    _Printer,
    _prod,
    add,
    dfn,
    diag,
    evaluate,
    eye,
    fn,
    had,
    inner,
    lse,
    matmul,
    neg,
    num,
    ones,
    pw,
    scale,
    softmax,
    sub,
    sym,
    to_sympy,
    to_text,
    topo,
    total,
    tr,
    zero,
)
from .numbers import sympy_number

__all__ = ["MatrixFormError", "MatrixFormula", "graph_to_matrix", "matrix_formula"]

DELTA = "delta"
"""Internal name of the backpropagated gradient ``δ`` (printed ``δ``, ASCII ``delta``)."""

_UNARY = {
    "exp", "log", "tanh", "sigmoid", "softplus", "relu", "sin", "cos", "tan", "abs", "sign",
    "log1p", "expm1",
}  # fmt: skip


# --- graph -> matrix expression -------------------------------------------------------------------
def _mshape(shape: Sequence[int], what: str) -> tuple[int, int]:
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return SCALAR
    if len(shape) == 1:
        return (shape[0], 1)
    if len(shape) == 2:
        return shape  # type: ignore[return-value]
    raise MatrixFormError(f"matrix form: {what} has shape {shape}; only up to 2-D arrays")


class _Part:
    """A piece of the stable logsumexp/softmax pattern (``stable_shift`` ... ``log``)."""

    def __init__(self, stage: str, v: MExpr):
        self.stage, self.v = stage, v


def _refuse(node: Node, why: str = "") -> MatrixFormError:
    extra = f" ({why})" if why else ""
    return MatrixFormError(
        f"matrix form: op {node.op.name!r} has no matrix-level rule{extra}; node: {node}"
    )


def _size(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _broadcast(e: MExpr, src: tuple, out: tuple, node: Node) -> MExpr:
    """``e`` (NumPy shape ``src``) broadcast to the NumPy shape ``out`` as a matrix."""
    if tuple(src) == tuple(out):
        return e
    m_out = _mshape(out, "a result")
    if _size(src) == 1:
        return scale(e, ones(m_out)) if m_out != SCALAR else e
    if len(out) == 2:
        rows, cols = out
        if len(src) == 1 or (len(src) == 2 and src[0] == 1):  # a row: 𝟏 bᵀ
            row = tr(e) if len(src) == 1 else e
            return matmul(ones((rows, 1)), row)
        if len(src) == 2 and src[1] == 1:  # a column: b 𝟏ᵀ
            return matmul(e, ones((1, cols)))
    if _mshape(src, "an operand") == m_out:
        return e
    raise _refuse(node, f"broadcasting {tuple(src)} to {tuple(out)}")


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(int(a) % max(ndim, 1) for a in items))


def graph_to_matrix(
    graph: Graph,
    names: Sequence[str],
    constants: dict[str, np.ndarray] | None = None,
    dims: dict[int, str] | None = None,
) -> MExpr:
    """The output of ``graph`` as a matrix expression over symbols named ``names``.

    Array constants that are not uniform become symbols ``c<index>`` whose values are stored
    in ``constants`` (when given). ``dims`` names sizes (``{100: "m"}``): a sum divided by its
    number of terms (``ad.mean``) then reads ``sum(...)/m``, not ``sum(...)/100``. Raises
    :class:`MatrixFormError` naming the first op without a matrix-level rule.
    """
    dim_syms = {}
    for size, letter in (dims or {}).items():
        if letter not in names:
            dim_syms[int(size)] = sym(letter)
            if constants is not None:
                constants[letter] = np.array(float(size))
    vals: list[Any] = [None] * len(graph.nodes)
    for pos, i in enumerate(graph.inputs):
        node = graph.nodes[i]
        vals[i] = sym(names[pos], _mshape(node.shape, f"input {names[pos]!r}"))
    for node in graph.nodes:
        if node.is_input:
            continue
        if node.is_constant:
            vals[node.index] = _constant(node, constants)
            continue
        vals[node.index] = _op(node, [vals[j] for j in node.inputs], graph, dim_syms)
    out = vals[graph.outputs[0]]
    if isinstance(out, _Part):
        raise MatrixFormError(
            "matrix form: the output is part of a stable logsumexp/softmax (stable_shift) "
            "that is not the whole pattern"
        )
    return out


def _constant(node: Node, constants: dict | None) -> MExpr:
    flat = node.value.reshape(-1)
    shape = _mshape(node.shape, "a constant")
    if node.size and node.dtype.kind in "biuf" and (flat == flat[0]).all():
        c = sympy_number(flat[0].item())
        return num(c) if shape == SCALAR else scale(c, ones(shape))
    name = f"c{node.index}"
    if constants is not None:
        constants[name] = np.array(node.value, dtype=float)
    return sym(name, shape)


def _count(node: Node, graph: Graph, dim_syms: dict[int, MExpr]) -> MExpr | None:
    """``m`` (or ``mn``) for a division of a sum by its number of terms, when named."""
    top, bottom = (graph.nodes[j] for j in node.inputs)
    if not dim_syms or top.op is None or top.op.name != "sum" or not bottom.is_constant:
        return None
    if bottom.size != 1 or not float(bottom.value.reshape(-1)[0]).is_integer():
        return None
    c = int(bottom.value.reshape(-1)[0])
    if c in dim_syms:
        return dim_syms[c]
    for a, sa in dim_syms.items():
        if c % a == 0 and c // a in dim_syms:
            return matmul(sa, dim_syms[c // a])
    return None


def _op(node: Node, args: list, graph: Graph, dim_syms: dict[int, MExpr]) -> Any:
    name, p = node.op.name, node.params
    shapes = [tuple(graph.nodes[j].shape) for j in node.inputs]
    out = tuple(node.shape)
    parts = [a for a in args if isinstance(a, _Part)]
    if parts:
        return _pattern(node, args)
    if name in ("add", "sub"):
        a, b = (_broadcast(x, s, out, node) for x, s in zip(args, shapes))
        return add(a, b) if name == "add" else sub(a, b)
    if name == "neg":
        return neg(args[0])
    if name in ("mul", "div"):
        a, b = args
        count = _count(node, graph, dim_syms) if name == "div" else None
        if count is not None:
            b = count
        if name == "div":
            b = pw(b, -1)
        if _size(shapes[0]) == 1 or _size(shapes[1]) == 1:
            m = matmul(a, b) if _size(shapes[0]) == 1 and _size(shapes[1]) == 1 else None
            if m is None:
                s, e = (a, b) if _size(shapes[0]) == 1 else (b, a)
                es = shapes[1] if _size(shapes[0]) == 1 else shapes[0]
                m = scale(s, _broadcast(e, es, out, node))
            return m
        a, b = (_broadcast(x, s, out, node) for x, s in zip((a, b), shapes))
        return had(a, b)
    if name == "pow":
        base, expo = args
        if not _is_number(expo):
            raise _refuse(node, "the exponent is not a constant")
        return pw(_broadcast(base, shapes[0], out, node), _number_of(expo))
    if name == "square":
        return pw(args[0], 2)
    if name == "sqrt":
        return pw(args[0], sp.Rational(1, 2))
    if name in _UNARY:
        return fn(name, args[0])
    if name == "matmul":
        a, b = args
        if len(shapes[0]) == 1:
            a = tr(a)
        return matmul(a, b)
    if name == "reshape" or (name == "broadcast_to" and _size(shapes[0]) == _size(out)):
        return _reshape(node, args[0], shapes[0], out)
    if name == "broadcast_to":
        return _broadcast(args[0], shapes[0], out, node)
    if name == "transpose":
        axes = tuple(p.get("axes") or ())
        return tr(args[0]) if len(shapes[0]) == 2 and axes in ((1, 0), ()) else args[0]
    if name == "sum":
        return _sum(node, args[0], shapes[0], p)
    if name == "stable_shift":
        if shapes[0] and len(shapes[0]) == 1 and args[0].shape[1] == 1:
            return _Part("shift", args[0])
        raise _refuse(node, "softmax/logsumexp of a matrix along an axis")
    if name == "logsumexp" and len(shapes[0]) == 1:
        return lse(args[0])
    if name == "softmax" and len(shapes[0]) == 1:
        return softmax(args[0])
    raise _refuse(node)


def _is_number(e: Any) -> bool:
    if isinstance(e, Zero) and e.shape == SCALAR:
        return True
    if isinstance(e, Prod) and not e.scalars:
        return not e.chain or (len(e.chain) == 1 and isinstance(e.chain[0], Ones))
    return isinstance(e, Ones)


def _number_of(e: MExpr) -> sp.Number:
    if isinstance(e, Zero):
        return sp.S.Zero
    return e.coef if isinstance(e, Prod) else sp.S.One


def _reshape(node: Node, e: MExpr, src: tuple, out: tuple) -> MExpr:
    ms, mo = _mshape(src, "an operand"), _mshape(out, "a result")
    if ms == mo:
        return e
    if ms == (mo[1], mo[0]) and 1 in ms:
        return tr(e)
    raise _refuse(node, f"reshape {src} -> {out} is not a vector/matrix view")


def _sum(node: Node, e: MExpr, src: tuple, p: Any) -> Any:
    axes = _axes(p.get("axis"), len(src))
    if len(axes) == len(src):
        return total(e)
    if len(src) == 2 and axes == (0,):
        rows = src[0]
        if p.get("keepdims"):
            return matmul(ones((1, rows)), e)
        return matmul(tr(e), ones((rows, 1)))
    if len(src) == 2 and axes == (1,):
        return matmul(e, ones((src[1], 1)))
    raise _refuse(node, f"sum over axes {axes} of shape {src}")


def _pattern(node: Node, args: list) -> Any:
    """The stable logsumexp/softmax: shift, sub, exp, sum, then log + shift or div."""
    name = node.op.name
    a = args[0]
    b = args[1] if len(args) > 1 else None
    if name == "sub" and isinstance(b, _Part) and b.stage == "shift" and a is b.v:
        return _Part("centered", a)
    if name == "exp" and isinstance(a, _Part) and a.stage == "centered":
        return _Part("exp", a.v)
    if name == "sum" and isinstance(a, _Part) and a.stage == "exp":
        return _Part("sumexp", a.v)
    if name == "log" and isinstance(a, _Part) and a.stage == "sumexp":
        return _Part("log", a.v)
    if name == "add" and isinstance(a, _Part) and isinstance(b, _Part):
        stages = {a.stage, b.stage}
        if stages == {"log", "shift"} and a.v is b.v:
            return lse(a.v)
    if name == "div" and isinstance(a, _Part) and isinstance(b, _Part):  # noqa: SIM102
        if a.stage == "exp" and b.stage == "sumexp" and a.v is b.v:
            return softmax(a.v)
    if name == "reshape" and isinstance(a, _Part):
        return a
    raise _refuse(node, "on a piece of a stable logsumexp/softmax that is not the whole pattern")


# --- reverse mode ---------------------------------------------------------------------------------
def _depends(roots: Sequence[MExpr], targets: Sequence[MExpr]) -> set[int]:
    wanted = {id(t) for t in targets}
    dep: set[int] = set()
    for node in topo(roots):
        if id(node) in wanted or any(id(c) in dep for c in node.children()):
            dep.add(id(node))
    return dep


def _chain(factors: Sequence[MExpr]) -> MExpr:
    out = factors[0]
    for f in factors[1:]:
        out = matmul(out, f)
    return out


def _vjp(node: MExpr, g: MExpr):
    """``(operand, contribution to its adjoint)`` pairs for the adjoint ``g`` of ``node``."""
    if isinstance(node, Prod):
        c, S, chain = node.coef, node.scalars, node.chain
        pchain = _prod(1, (), chain) if chain else num(1)
        for i, s in enumerate(S):
            others = _prod(c, S[:i] + S[i + 1 :], ())
            yield s, matmul(others, inner(g, pchain))
        front = _prod(c, S, ())
        for i, f in enumerate(chain):
            gi = scale(front, g)
            if i > 0:
                gi = matmul(tr(_chain(chain[:i])), gi)
            if isinstance(f, Diag):  # ∂⟨G, L diag(w) R⟩/∂w = diagonal of LᵀGRᵀ
                rt = tr(_chain(chain[i + 1 :])) if i < len(chain) - 1 else None
                yield f.arg, _diagonal(gi, rt)
                continue
            if i < len(chain) - 1:
                gi = matmul(gi, tr(_chain(chain[i + 1 :])))
            yield f, gi
    elif isinstance(node, Add):
        for t in node.fields[0]:
            yield t, g
    elif isinstance(node, Had):
        fs = node.fields[0]
        for i, f in enumerate(fs):
            yield f, had(g, *(fs[:i] + fs[i + 1 :]))
    elif isinstance(node, T):
        yield node.arg, tr(g)
    elif isinstance(node, Fn):
        yield node.arg, had(g, dfn(node.name, node.arg))
    elif isinstance(node, Pw):
        yield node.arg, had(g, scale(node.p, pw(node.arg, node.p - 1)))
    elif isinstance(node, Total):
        yield node.arg, scale(g, ones(node.arg.shape))
    elif isinstance(node, Softmax):
        yield node.arg, sub(had(node, g), matmul(node, matmul(tr(node), g)))
    elif isinstance(node, LSE):
        yield node.arg, scale(g, softmax(node.arg))
    elif isinstance(node, Diag):
        yield node.arg, _diagonal(g, None)


def _diagonal(m: MExpr, n: MExpr | None) -> MExpr:
    """The diagonal of ``m n`` (of ``m`` when ``n`` is None) as a column vector:
    ``(m ⊙ nᵀ)𝟏``, ``m ⊙ nᵀ`` for an outer product."""
    if n is None:
        c, s, chain = _prod_parts(m)
        if len(chain) > 1 and chain[-1].shape[0] == 1:  # an outer product a bᵀ
            return scale(_prod(c, s, ()), _diagonal(_chain(chain[:-1]), chain[-1]))
        if isinstance(m, Diag):
            return m.arg
        raise MatrixFormError(
            f"matrix form: no vector form for the diagonal of {to_text(m)} (reverse rule of diag)"
        )
    k = n.shape[0]
    d = had(m, tr(n))
    return d if k == 1 else matmul(d, ones((k, 1)))


def _prod_parts(m: MExpr):
    if isinstance(m, Prod):
        return m.coef, m.scalars, m.chain
    return sp.S.One, (), (m,)


def _is_trivial(g: MExpr) -> bool:
    return isinstance(g, Ones | Zero | Sym) or (
        isinstance(g, Prod) and not g.scalars and all(isinstance(f, Ones) for f in g.chain)
    )


def _layers(f: MExpr) -> MExpr | None:
    """The output of the last layer of a network of >= 2 layers: where ``δ`` is named.

    The highest node reached from ``f`` through elementwise ops, sums and scalings only (the
    loss) that is a sum or a matrix product and holds matrix products nested two deep.
    """
    depth: dict[int, int] = {}
    for node in topo([f]):
        d = max((depth[id(c)] for c in node.children()), default=0)
        depth[id(node)] = d + (1 if isinstance(node, Prod) and len(node.chain) > 1 else 0)
    best, stack, seen = None, [f], set()
    position = {id(n): k for k, n in enumerate(topo([f]))}
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        is_layer = isinstance(node, Add) or (isinstance(node, Prod) and len(node.chain) > 1)
        deep = is_layer and depth[id(node)] >= 2 and node.shape != SCALAR
        if deep and (best is None or position[id(node)] > position[id(best)]):
            best = node
        if isinstance(node, Prod) and len(node.chain) > 1:
            continue
        stack.extend(node.children())
    return best


def gradients(
    f: MExpr, variables: Sequence[Sym], name_delta: bool = False
) -> tuple[list[MExpr], list[tuple[Sym, MExpr]]]:
    """Reverse mode over ``f`` (a ``(1, 1)`` expression): one gradient per variable.

    With ``name_delta`` the adjoint at the last layer's output of a network of two or more
    layers is replaced by the symbol ``δ``; its definition is returned in the second item.
    """
    if f.shape != SCALAR:
        raise MatrixFormError(f"matrix form: the function has shape {f.shape}; needs a scalar")
    dep = _depends([f], variables)
    delta = _layers(f) if name_delta else None
    adj: dict[int, MExpr] = {id(f): num(1)}
    defs: list[tuple[Sym, MExpr]] = []
    wanted = {id(v) for v in variables}
    for node in reversed(topo([f])):
        g = adj.get(id(node))
        if g is None or isinstance(g, Zero) or id(node) not in dep or id(node) in wanted:
            continue
        if node is delta and not _is_trivial(g):
            d = sym(DELTA, node.shape)
            defs.append((d, g))
            g = d
        for child, contrib in _vjp(node, g):
            if id(child) not in dep:
                continue
            prev = adj.get(id(child))
            adj[id(child)] = contrib if prev is None else add(prev, contrib)
    return [adj.get(id(v), zero(v.shape)) for v in variables], defs


# --- forward mode and the Hessian -----------------------------------------------------------------
def directional(e: MExpr, tangents: dict[MExpr, MExpr]) -> MExpr:
    """The derivative of ``e`` in the direction given by ``tangents`` (symbol -> direction)."""
    d: dict[int, MExpr] = {}
    for node in topo([e]):
        if node in tangents:
            d[id(node)] = tangents[node]
            continue
        kids = node.children()
        dk = [d[id(k)] for k in kids]
        if all(isinstance(x, Zero) for x in dk):
            d[id(node)] = zero(node.shape)
            continue
        d[id(node)] = _jvp_rule(node, dk)
    return d[id(e)]


def _jvp_rule(node: MExpr, dk: list[MExpr]) -> MExpr:
    if isinstance(node, Prod):
        c, S, chain = node.coef, node.scalars, node.chain
        terms = []
        for i in range(len(S)):
            if isinstance(dk[i], Zero):
                continue
            rest = _prod(c, S[:i] + S[i + 1 :], chain)
            terms.append(scale(dk[i], rest))
        front = _prod(c, S, ())
        for j in range(len(chain)):
            dj = dk[len(S) + j]
            if isinstance(dj, Zero):
                continue
            m = dj
            if j > 0:
                m = matmul(_chain(chain[:j]), m)
            if j < len(chain) - 1:
                m = matmul(m, _chain(chain[j + 1 :]))
            terms.append(scale(front, m))
        return add(*terms) if terms else zero(node.shape)
    if isinstance(node, Add):
        return add(*dk)
    if isinstance(node, Had):
        fs = node.fields[0]
        terms = [
            had(dk[i], *(fs[:i] + fs[i + 1 :]))
            for i in range(len(fs))
            if not isinstance(dk[i], Zero)
        ]
        return add(*terms)
    if isinstance(node, T):
        return tr(dk[0])
    if isinstance(node, Diag):
        return diag(dk[0])
    if isinstance(node, Fn):
        return had(dfn(node.name, node.arg), dk[0])
    if isinstance(node, Pw):
        return had(scale(node.p, pw(node.arg, node.p - 1)), dk[0])
    if isinstance(node, Total):
        return total(dk[0])
    if isinstance(node, Softmax):
        return sub(had(node, dk[0]), matmul(node, matmul(tr(node), dk[0])))
    if isinstance(node, LSE):
        return inner(softmax(node.arg), dk[0])
    return zero(node.shape)


def _nonlinear(e: MExpr) -> MatrixFormError:
    return MatrixFormError(
        f"matrix form: the second-derivative term {to_text(e)} is not written as a matrix "
        "times the direction; no matrix form for this Hessian"
    )


def linear_map(e: MExpr, v: Sym) -> MExpr:
    """``M`` with ``e = M v`` for an expression ``e`` linear in the column vector ``v``."""
    n = v.shape[0]
    cache: dict[MExpr, bool] = {v: True}

    def has(x: MExpr) -> bool:
        """Whether ``x`` depends on ``v`` (memoized, new nodes included; iterative)."""
        if x not in cache:
            for node in topo([x]):
                if node not in cache:
                    cache[node] = any(cache[c] for c in node.children())
        return cache[x]

    def lin(x: MExpr) -> MExpr:
        if x is v:
            return eye(n)
        if isinstance(x, Zero):
            return zero((x.shape[0], n))
        if not has(x):
            raise _nonlinear(x)
        if isinstance(x, Add):
            return add(*(lin(t) for t in x.fields[0]))
        if isinstance(x, Prod):
            return lin_prod(x)
        if isinstance(x, Had) and x.shape[1] == 1:
            fs = x.fields[0]
            hit = [i for i, f in enumerate(fs) if has(f)]
            if len(hit) != 1:
                raise _nonlinear(x)
            i = hit[0]
            return matmul(diag(had(*(fs[:i] + fs[i + 1 :]))), lin(fs[i]))
        if isinstance(x, Total) and x.arg.shape[1] == 1:
            return matmul(tr(ones(x.arg.shape)), lin(x.arg))
        raise _nonlinear(x)

    def lin_prod(x: Prod) -> MExpr:
        c, S, chain = x.coef, x.scalars, x.chain
        hs = [i for i, s in enumerate(S) if has(s)]
        hc = [j for j, f in enumerate(chain) if has(f)]
        if len(hs) + len(hc) != 1:
            raise _nonlinear(x)
        if hs:
            i = hs[0]
            rest = _prod(c, S[:i] + S[i + 1 :], chain)
            if rest.shape[1] != 1:
                raise _nonlinear(x)
            return matmul(rest, lin(S[i]))
        j = hc[0]
        f = chain[j]
        pre = _prod(c, S, chain[:j]) if j else _prod(c, S, ())
        if j == len(chain) - 1:
            return matmul(pre, lin(f))
        right = _chain(chain[j + 1 :])
        if right.shape == SCALAR:  # L F (rᵀs) = (rᵀs) L F
            return lin(scale(right, matmul(pre, f)))
        if isinstance(f, Add):
            return add(*(lin(matmul(matmul(pre, t), right)) for t in f.fields[0]))
        if right.shape[1] == 1 and isinstance(f, T):  # L wᵀ R = L Rᵀ w
            return lin(matmul(pre, matmul(tr(right), f.arg)))
        if right.shape[1] == 1 and isinstance(f, Diag):  # L diag(w) R = L diag(R) w
            return lin(matmul(pre, matmul(diag(right), f.arg)))
        raise _nonlinear(x)

    return lin(e)


def hessian_block(grad: MExpr, x: Sym, y: Sym) -> MExpr:
    """``∂²f/∂x∂y`` as a matrix from the gradient expression ``grad = ∂f/∂x``."""
    for s in (x, y):
        if s.shape[1] != 1:
            raise MatrixFormError(
                f"matrix form: the Hessian w.r.t. {s.name!r} of shape {s.shape} is a 4-index "
                "tensor; order=2 in matrix form needs vector or scalar variables"
            )
    v = sym("v__", y.shape)
    return linear_map(directional(grad, {y: v}), v)


# --- naming shared subexpressions -----------------------------------------------------------------
_ATOMS = (Sym, Ones, Eye, Zero)
_MIN_NAMED = 8  # a repeated subexpression is named when it prints this long or longer


def _base_name(e: MExpr) -> str:
    if isinstance(e, Softmax):
        return "p"
    if isinstance(e, Fn):
        return "h"
    if isinstance(e, Prod) and len(e.chain) > 1:
        return "z"
    if isinstance(e, Add):
        return "u"
    return "t"


def name_shared(
    roots: Sequence[MExpr], avoid: Sequence[str], fixed: dict[MExpr, str] | None = None
) -> dict[MExpr, str]:
    """Names for the subexpressions that ``roots`` print more than once (largest first)."""
    names: dict[MExpr, str] = dict(fixed or {})
    used = set(avoid) | set(names.values())
    tops = {id(r) for r in roots}  # a whole entry repeated is printed, not named
    while True:
        occ = _occurrences(roots, names)
        best, best_len = None, 0
        for node, count in occ.items():
            if count < 2 or node in names or id(node) in tops or _is_atomic(node):
                continue
            n = len(to_text(node, names=names))
            if n >= _MIN_NAMED and n > best_len:
                best, best_len = node, n
        if best is None:
            return _drop_unused(roots, _prune(names, fixed or {}), fixed or {})
        base, k = _base_name(best), 1
        name = base
        while name in used:
            k += 1
            name = f"{base}{k}"
        used.add(name)
        names[best] = name


def _prune(names: dict[MExpr, str], fixed: dict[MExpr, str]) -> dict[MExpr, str]:
    """Drop names whose definition became short once the parts inside it were named."""
    changed = True
    while changed:
        changed = False
        for node in list(names):
            if node in fixed:
                continue
            if len(to_text(node, names=names)) < _MIN_NAMED:
                del names[node]
                changed = True
    return names


class _Recorder(_Printer):
    """A printer that records which names it printed."""

    def __init__(self, names):
        super().__init__("ascii", names)
        self.hits: set[MExpr] = set()

    def print(self, e, top=False):
        if not top and e in self.names:
            self.hits.add(e)
        return super().print(e, top)

    def _factor_text(self, f):
        if f in self.names or (isinstance(f, T) and f.arg in self.names):
            self.hits.add(f if f in self.names else f.arg)
        return super()._factor_text(f)


def _drop_unused(roots, names: dict[MExpr, str], fixed) -> dict[MExpr, str]:
    """Drop names that no printed entry or definition uses (a negated term prints its body)."""
    while True:
        rec = _Recorder(names)
        for r in roots:
            rec.print(r, top=True)
        for node in names:
            rec.print(node, top=True)
        unused = [n for n in names if n not in rec.hits and n not in fixed]
        if not unused:
            return names
        for n in unused:
            del names[n]


def _is_atomic(e: MExpr) -> bool:
    if isinstance(e, Pw) and e.p < 0 and e.shape == SCALAR:  # printed as a fraction
        return True
    return isinstance(e, _ATOMS) or (isinstance(e, T) and isinstance(e.arg, _ATOMS)) or (
        isinstance(e, Prod) and not e.chain
        and all(isinstance(s, _ATOMS) for s in e.scalars)
    )  # fmt: skip


def _occurrences(roots: Sequence[MExpr], names: dict[MExpr, str]) -> dict[MExpr, int]:
    """How often each node is printed (a named node prints its body once, in its definition)."""
    defs = {id(n) for n in names}
    order = topo(list(roots) + list(names))
    occ: dict[int, int] = {id(r): 0 for r in order}
    for r in roots:
        occ[id(r)] += 1
    nodes = {id(n): n for n in order}
    for node in reversed(order):
        expand = 1 if id(node) in defs else occ[id(node)]
        for c in node.children():
            occ[id(c)] += expand
    return {nodes[k]: v for k, v in occ.items()}


def _ordered_defs(names: dict[MExpr, str], explicit: list[tuple[Sym, MExpr]]):
    """Definitions ``(name, expr)`` in dependency order."""
    items = [(n, e) for e, n in names.items()] + [(s.name, e) for s, e in explicit]
    out: list[tuple[str, MExpr]] = []
    pending = list(items)
    while pending:
        for k, (n, e) in enumerate(pending):
            inside = topo([e])
            needs = {
                m for m, d in pending if m != n and any(x is d or _is_sym(x, m) for x in inside)
            }
            if not needs:
                out.append((n, e))
                pending.pop(k)
                break
        else:  # a cycle cannot happen; keep the order
            out.extend(pending)
            break
    return out


def _is_sym(x: MExpr, name: str) -> bool:
    return isinstance(x, Sym) and x.name == name


# --- the result -----------------------------------------------------------------------------------
def _matrix_label(names: list[str], style: str) -> str:
    """``∂f/∂W1``, ``∂²f/∂x²``, ``∂²f/∂x∂y`` with each name rendered as the body renders it
    (the element formulas' labels subscript digits, ``W₁``; matrix bodies print ``W1``)."""
    unicode = style == "unicode"
    d = "∂" if unicode else "d"
    n = len(names)
    groups: list[list] = []
    for name in names:
        if groups and groups[-1][0] == name:
            groups[-1][1] += 1
        else:
            groups.append([name, 1])

    def power(k: int) -> str:
        if k == 1:
            return ""
        return str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) if unicode else str(k)

    den = "".join(f"{d}{name}{power(k)}" for name, k in groups)
    return f"{d}{power(n)}f/{den}"


class MatrixFormula:
    """Derivatives in matrix notation: one entry per gradient or Hessian block.

    ``str()`` is unicode text (``Xᵀ(σ(Xw) − y)``), the bare expression for a single entry,
    else ``∂f/∂w = ...`` lines; named subexpressions follow on a ``where`` line. ``ascii()``
    writes NumPy spelling (``X.T @ (sigmoid(X @ w) - y)``), ``latex()`` LaTeX, and Jupyter
    shows ``_repr_latex_``. :meth:`evaluate` computes every entry with NumPy and
    :meth:`to_sympy` gives SymPy matrix expressions.

    Attributes
    ----------
    function : MExpr
        ``f`` as a matrix expression.
    variables : tuple of str
    entries : list of (tuple of str, MExpr)
        ``(("w",), ∂f/∂w)`` or ``(("x", "y"), ∂²f/∂x∂y)``.
    definitions : list of (str, MExpr)
        Named subexpressions (``p``, ``h``, ``δ``...), in dependency order.
    names : dict
        Node -> name of the named subexpressions (printing uses them).
    shapes : dict
        Name -> NumPy shape of every argument.
    constants : dict
        Name -> value of array constants captured by the function (``c<index>``).
    """

    form = "matrix"

    def __init__(self, function, variables, entries, definitions, names, shapes, constants):
        self.function = function
        self.variables = tuple(variables)
        self.entries = list(entries)
        self.definitions = list(definitions)
        self.names = dict(names)
        self.shapes = dict(shapes)
        self.constants = dict(constants)

    @property
    def subexpressions(self) -> list[tuple[str, MExpr]]:
        """Alias of :attr:`definitions` (as :attr:`Formula.subexpressions`)."""
        return self.definitions

    @property
    def exprs(self) -> list[MExpr]:
        """The entry expressions, in order."""
        return [e for _, e in self.entries]

    @property
    def expr(self) -> MExpr:
        """The expression of a single-entry formula."""
        if len(self.entries) != 1:
            raise ValueError(f"MatrixFormula has {len(self.entries)} entries; use .entries")
        return self.entries[0][1]

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        n = len(self.entries)
        return f"MatrixFormula({n} entr{'y' if n == 1 else 'ies'})"

    # --- printing ---
    def text(self, e: MExpr, style: str = "unicode") -> str:
        """One expression printed with this formula's names."""
        return to_text(e, style, self.names)

    def _where(self, style: str) -> str:
        items = [
            f"{_display(n, style)} = {to_text(e, style, self.names)}" for n, e in self.definitions
        ]
        return ("where " + ", ".join(items)) if items else ""

    def lines(self, labels: bool = True, style: str = "unicode") -> list[str]:
        """Text lines: ``label = expr`` per entry (bare for one entry without ``labels``),
        then a ``where ...`` line naming the shared subexpressions."""
        if style not in ("unicode", "ascii"):
            raise ValueError(f"MatrixFormula.lines: style must be unicode or ascii, got {style!r}")
        if not labels and len(self.entries) == 1:
            out = [self.text(self.entries[0][1], style)]
        else:
            out = [
                f"{_matrix_label([_display(v, style) for v in w], style)} = {self.text(e, style)}"
                for w, e in self.entries
            ]
        where = self._where(style)
        return out + ([where] if where else [])

    def __str__(self) -> str:
        return "\n".join(self.lines(labels=len(self.entries) > 1))

    def pretty(self) -> str:
        """Unicode, one labelled line per entry (``∂²f/∂x² = A + Aᵀ``)."""
        return "\n".join(self.lines(labels=True))

    def ascii(self) -> str:
        """ASCII in NumPy spelling (``X.T @ (sigmoid(X @ w) - y)``), labelled ``df/dw``."""
        return "\n".join(self.lines(labels=len(self.entries) > 1, style="ascii"))

    def latex(self) -> str:
        """LaTeX: the expression (``\\quad\\text{where}\\ ...`` for named parts), or an
        ``aligned`` block of ``label &= expr`` rows for several entries."""
        defs = [
            rf"{_display(n, 'latex')} = {to_text(e, 'latex', self.names)}"
            for n, e in self.definitions
        ]
        if len(self.entries) == 1:
            body = to_text(self.entries[0][1], "latex", self.names)
            if defs:
                body += r", \quad \text{where } " + r", \ ".join(defs)
            return body
        rows = [
            rf"{label_latex(tuple(sp.Symbol(_greek(v)) for v in w))} &= "
            rf"{to_text(e, 'latex', self.names)}"
            for w, e in self.entries
        ]
        if defs:
            rows.append(r"\text{where } " + r", \ ".join(defs))
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    # --- numbers and SymPy ---
    def evaluate(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """Every entry at the given argument values (NumPy), as arrays shaped like the
        variable (a gradient) or ``(size_x, size_y)`` (a Hessian block).

        Pass the arguments positionally (all of ``f``'s liftable arguments, in order) or by
        name.
        """
        env = self._env(args, kwargs)
        with np.errstate(all="ignore"):
            for name, e in self.definitions:
                if name == DELTA:
                    env[name] = evaluate(e, env)
            out = []
            for w, e in self.entries:
                value = evaluate(e, env)
                if len(w) == 1:
                    out.append(value.reshape(self.shapes[w[0]]))
                else:
                    out.append(value.reshape(_size(self.shapes[w[0]]), _size(self.shapes[w[1]])))
        return out

    def _env(self, args, kwargs) -> dict[str, Any]:
        names = list(self.shapes)
        if args and len(args) != len(names):
            raise ValueError(
                f"MatrixFormula.evaluate: expected {len(names)} value(s) for {names}, got "
                f"{len(args)}"
            )
        env = dict(zip(names, args)) if args else {}
        env.update(kwargs)
        missing = [n for n in names if n not in env]
        if missing:
            raise ValueError(f"MatrixFormula.evaluate: no value for {missing}")
        env = {k: np.asarray(getattr(v, "data", v), dtype=float) for k, v in env.items()}
        env.update(self.constants)
        return env

    def to_sympy(self) -> tuple[list[sp.Basic], list[tuple[str, sp.Basic]]]:
        """``(entries, definitions)`` as SymPy matrix expressions (named parts as symbols)."""
        entries = [to_sympy(e, self.names) for _, e in self.entries]
        defs = [(n, to_sympy(e, self.names)) for n, e in self.definitions]
        return entries, defs


def _greek(name: str) -> str:
    return {"lam": "lamda", "lambda": "lamda"}.get(name, name)


def _display(name: str, style: str) -> str:
    from .matrix_expr import display_name

    return display_name(name, style)


# --- entry point ----------------------------------------------------------------------------------
def matrix_formula(
    lifted: Any, wrt: Any = None, order: int = 1, dims: dict[int, str] | None = None
) -> MatrixFormula:
    """The matrix-calculus formula of an :class:`~symdiff.ArrayLifted` program.

    ``wrt``: a name or names (default: the program's variables, for ``order=2`` those that
    are vectors or scalars); ``order`` 0 (the function),
    1 (gradients) or 2 (Hessian blocks of vector or scalar variables, ``i <= j``); ``dims``
    names sizes for ``ad.mean`` (see :func:`graph_to_matrix`).
    Raises :class:`MatrixFormError` naming the op or construct without a matrix form.

    Examples
    --------
    >>> import numpy as np, autodiff as ad, symdiff
    >>> A, x, b = np.ones((4, 3)), np.ones(3), np.ones(4)
    >>> prog = symdiff.lift(lambda A, x, b: ad.sum((A @ x - b) ** 2), A, x, b, mode="array")
    >>> print(matrix_formula(prog, wrt="x"))
    2Aᵀ(Ax − b)
    >>> print(matrix_formula(prog, wrt="x", order=2))
    2AᵀA
    """
    graph = lifted.graph
    names = list(lifted.names)
    shapes = {n: tuple(graph.nodes[i].shape) for n, i in zip(names, graph.inputs)}
    if wrt is None:  # the variables; for a Hessian, those that are vectors or scalars
        wrt = [v for v in lifted.variables if order != 2 or len(shapes[v]) <= 1]
        if not wrt:
            raise MatrixFormError(
                f"matrix form: no vector or scalar variable for a Hessian among "
                f"{list(lifted.variables)}; order=2 in matrix form needs one"
            )
    wrt = [wrt] if isinstance(wrt, str | sp.Symbol) else list(wrt)
    wrt = [str(w) for w in wrt]
    for w in wrt:
        if w not in names:
            raise ValueError(f"formula: unknown variable {w!r}; known: {sorted(names)}")
    if not isinstance(order, int) or order not in (0, 1, 2):
        raise MatrixFormError(f"matrix form: order must be 0, 1 or 2, got {order!r}")
    if graph.nodes[graph.outputs[0]].size != 1:
        raise MatrixFormError(
            f"matrix form: the function's output has shape "
            f"{graph.nodes[graph.outputs[0]].shape}; derivatives in matrix form need a scalar"
        )
    constants: dict[str, np.ndarray] = {}
    f = graph_to_matrix(graph, names, constants, dims)
    symbols = {n: sym(n, _mshape(shapes[n], n)) for n in names}
    variables = [symbols[w] for w in wrt]
    explicit: list[tuple[Sym, MExpr]] = []
    if order == 0:
        entries = [((), f)]
    elif order == 1:
        grads, explicit = gradients(f, variables, name_delta=True)
        entries = [((w,), g) for w, g in zip(wrt, grads)]
    else:
        grads, _ = gradients(f, variables)
        entries = []
        for i, (wi, gi) in enumerate(zip(variables, grads)):
            for wj in variables[i:]:
                entries.append(((wi.name, wj.name), hessian_block(gi, wi, wj)))
    roots = [e for _, e in entries] + [e for _, e in explicit]
    avoid = names + list(constants) + [DELTA]
    named = name_shared(roots, avoid)
    named = _renumber(_ordered_defs(named, []), named, avoid)
    definitions = _ordered_defs(named, explicit)
    return MatrixFormula(f, wrt, entries, definitions, named, shapes, constants)


def _renumber(order: list[tuple[str, MExpr]], names: dict[MExpr, str], avoid) -> dict:
    """Number names of one kind in the order they are computed: h1 = tanh(W1 x + b1), h2..."""
    groups: dict[str, list[MExpr]] = {}
    for _, e in order:
        groups.setdefault(_base_name(e), []).append(e)
    taken = set(avoid)
    out: dict[MExpr, str] = {}
    for base, nodes in groups.items():
        k = 0
        for e in nodes:
            while True:
                k += 1
                name = base if len(nodes) == 1 and k == 1 else f"{base}{k}"
                if name not in taken:
                    break
            taken.add(name)
            out[e] = name
    return {e: out.get(e, n) for e, n in names.items()}


_TEX_ESCAPES = (
    ("\\", r"\textbackslash{}"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("%", r"\%"),
    ("#", r"\#"), ("&", r"\&"), ("$", r"\$"), ("^", r"\^{}"),
)  # fmt: skip


def _tex_text(s: str) -> str:
    for a, b in _TEX_ESCAPES:
        s = s.replace(a, b)
    return rf"\texttt{{{s}}}"


def program_latex(lifted: Any) -> str:
    """LaTeX of an :class:`~symdiff.ArrayLifted`: its matrix form (``f(X, w) = ...``) when
    every op has a matrix-level rule, else the program listing in an ``aligned`` block."""
    from .matrix_expr import display_name

    escaped = lifted.title.replace("_", r"\_")
    title = rf"\mathrm{{{escaped}}}"
    try:
        f = graph_to_matrix(lifted.graph, list(lifted.names))
    except MatrixFormError:
        f = None
    if f is not None:
        args = ", ".join(display_name(n, "latex") for n in lifted.names)
        return rf"{title}\left({args}\right) = {to_text(f, 'latex')}"
    rows = []
    for e in lifted.nodes:
        if e.kind == "input" or e.inline:
            continue
        rhs = sp.latex(e.expr) if e.kind == "elementwise" else _tex_text(e.text)
        rows.append(rf"{_tex_text(e.lhs())} &= {rhs}")
    rows.append(rf"\text{{return }} & {_tex_text(lifted.output_name)}")
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

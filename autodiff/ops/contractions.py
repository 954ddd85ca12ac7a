"""Contractions: ``einsum`` (one primitive) and the composites built on it or on ``matmul``
(``tensordot``, ``inner``, ``kron``, ``cross``).

``einsum`` is parsed and canonicalized here, in Tensor operations, before the primitive sees
it: the ellipsis becomes explicit letters, an implicit output becomes NumPy's (the ellipsis
first, then the letters used once, alphabetically), a letter repeated inside one operand takes
that operand's diagonal (``getitem``), a letter of size 1 broadcast against a longer one is
squeezed away, and a letter used by one operand only (and not in the output) is summed over
(``sum``). The primitive ``einsum`` therefore always reads ``"ab,bc->ac"``-like subscripts in
which every letter of an operand appears in the output or in another operand, so that the
cotangent of operand ``k`` is again an einsum - ``einsum("<out>,<others>-><k>", g, *others)`` -
and derivatives of every order are einsums. The forward runs ``numpy.einsum`` with the
contraction order of ``numpy.einsum_path`` (``optimize="greedy"``), cached per subscripts and
shapes. Lift runs the same NumPy einsum over SymPy object arrays (``STRUCTURAL``).
"""

from __future__ import annotations

import functools
import string

import numpy as np

from ..tensor import ShapeError, Tensor, _operands, apply, as_tensor
from .base import STRUCTURAL, VARIADIC, Op
from .builders import declare, zeros_like
from .elementwise import mul, sub
from .linalg import matmul
from .shape import getitem, moveaxis, reshape, transpose
from .surface import composite, surface

_LETTERS = string.ascii_letters


class _Spec:
    """Parsed einsum subscripts: one string of letters per operand and the output's."""

    def __init__(self, inputs: list[str], output: str):
        self.inputs = inputs
        self.output = output

    def __str__(self) -> str:
        return ",".join(self.inputs) + "->" + self.output


def _sublist_letters(sub, text: str) -> str:
    out = []
    for item in sub:
        if item is Ellipsis:
            out.append("...")
        elif isinstance(item, int | np.integer) and 0 <= int(item) < len(_LETTERS):
            out.append(_LETTERS[int(item)])
        else:
            raise ValueError(
                f"einsum: subscript list {text}: {item!r} is not an integer in "
                f"[0, {len(_LETTERS)}) or Ellipsis"
            )
    return "".join(out)


def _interleaved(args: tuple) -> tuple[str, list]:
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` -> ``("ab,bc->ac", [a, b])``."""
    body, output = (args[:-1], args[-1]) if len(args) % 2 == 1 else (args, None)
    operands, subs = list(body[0::2]), list(body[1::2])
    text = repr(subs)
    spec = ",".join(_sublist_letters(s, text) for s in subs)
    if output is not None:
        spec += "->" + _sublist_letters(output, text)
    return spec, operands


def _parse(subscripts: str, shapes: list[tuple[int, ...]]) -> _Spec:
    """Explicit letters for every axis (the ellipsis expanded), an explicit output."""
    text = subscripts
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        lhs, out = spec.split("->", 1)
        if "->" in out:
            raise ValueError(f"einsum: subscripts {text!r} hold more than one '->'")
    else:
        lhs, out = spec, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: subscripts {text!r} name {len(terms)} operand(s), got {len(shapes)}"
        )
    for part in [*terms, out or ""]:
        bad = [c for c in part.replace("...", "") if c not in _LETTERS]
        if bad or part.count("...") > 1:
            what = f"character {bad[0]!r}" if bad else "more than one ellipsis"
            raise ValueError(
                f"einsum: subscripts {text!r}: {what} in {part!r} (letters a-z, A-Z and one "
                "'...' per operand)"
            )
    used = set(lhs.replace("...", "").replace(",", "")) | set((out or "").replace("...", ""))
    free = [c for c in _LETTERS if c not in used]
    ell_rank = 0
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term:
            if named > len(shape):
                raise ShapeError(
                    f"einsum: subscripts {text!r}: operand {term!r} names {named} axes, but "
                    f"has shape {shape}"
                )
            ell_rank = max(ell_rank, len(shape) - named)
        elif named != len(shape):
            raise ShapeError(
                f"einsum: subscripts {text!r}: operand {term!r} names {named} axes, but has "
                f"shape {shape} ({len(shape)} axes)"
            )
    if ell_rank > len(free):
        raise ValueError(f"einsum: subscripts {text!r} use too many letters with the ellipsis")
    ell = "".join(free[:ell_rank])
    inputs = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            r = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[ell_rank - r :] if r else "")
        inputs.append(term)
    if out is None:
        counts: dict[str, int] = {}
        for term in inputs:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        if "..." in out:
            out = out.replace("...", ell)
        elif ell_rank:
            raise ValueError(
                f"einsum: subscripts {text!r}: the operands' ellipsis covers {ell_rank} axes, "
                "but the output has no '...' to place them"
            )
    seen = set("".join(inputs))
    for c in out:
        if c not in seen:
            raise ValueError(
                f"einsum: subscripts {text!r}: output letter {c!r} does not appear in any operand"
            )
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: subscripts {text!r}: the output repeats a letter")
    return _Spec(inputs, out)


def _sizes(spec: _Spec, shapes, text: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for term, shape in zip(spec.inputs, shapes):
        for c, n in zip(term, shape):
            m = sizes.get(c)
            if m is None or m == 1:
                sizes[c] = int(n)
            elif n != 1 and n != m:
                raise ShapeError(
                    f"einsum: subscripts {text!r}: letter {c!r} has sizes {m} and {n} "
                    f"(operand shapes {[tuple(s) for s in shapes]})"
                )
    return sizes


def _diagonal_of(x: Tensor, term: str) -> tuple[Tensor, str]:
    """The operand with its repeated letters reduced to one axis each (the diagonal)."""
    unique = "".join(dict.fromkeys(term))
    if len(unique) == len(term):
        return x, term
    index = []
    for c, n in zip(term, x.shape):
        q = unique.index(c)
        index.append(np.arange(n).reshape([-1 if k == q else 1 for k in range(len(unique))]))
    for c in unique:  # repeated letters need equal sizes
        lengths = {n for d, n in zip(term, x.shape) if d == c}
        if len(lengths) > 1:
            raise ShapeError(
                f"einsum: letter {c!r} repeated in operand {term!r} of shape {x.shape} with "
                "different sizes"
            )
    return getitem(x, tuple(index)), unique


def _canonical(spec: _Spec, xs: list[Tensor], text: str) -> tuple[str, list[Tensor]]:
    """Canonical subscripts for the primitive (see the module docstring) and its operands."""
    from .reductions import sum as reduce_sum

    sizes = _sizes(spec, [x.shape for x in xs], text)
    terms = list(spec.inputs)
    ops = list(xs)
    for k in range(len(ops)):
        ops[k], terms[k] = _diagonal_of(ops[k], terms[k])
        # a size-1 axis broadcast against a longer one: drop it from this operand
        drop = [p for p, c in enumerate(terms[k]) if ops[k].shape[p] == 1 and sizes[c] != 1]
        if drop:
            shape = tuple(n for p, n in enumerate(ops[k].shape) if p not in drop)
            ops[k] = reshape(ops[k], shape)
            terms[k] = "".join(c for p, c in enumerate(terms[k]) if p not in drop)
    for k in range(len(ops)):
        others = set(spec.output).union(*(set(t) for j, t in enumerate(terms) if j != k))
        alone = [p for p, c in enumerate(terms[k]) if c not in others]
        if alone:
            ops[k] = reduce_sum(ops[k], tuple(alone))
            terms[k] = "".join(c for p, c in enumerate(terms[k]) if p not in alone)
    # every output letter is still held: an axis is only dropped where another operand holds
    # the letter with a longer axis
    return ",".join(terms) + "->" + spec.output, ops


@functools.lru_cache(maxsize=512)
def _path(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> tuple:
    if len(shapes) < 2:
        return ("einsum_path", (0,))
    dummies = [np.empty(s, dtype=np.float64) for s in shapes]
    path, _ = np.einsum_path(subscripts, *dummies, optimize="greedy")
    return tuple(path)


def _einsum_forward(*arrays, subscripts):
    if any(a.dtype == object for a in arrays):  # lift: SymPy object arrays
        return np.einsum(subscripts, *arrays, optimize=False)
    path = list(_path(subscripts, tuple(a.shape for a in arrays)))
    return np.einsum(subscripts, *arrays, optimize=path)


def _einsum_vjp(g, out, *xs, subscripts):
    ins, output = subscripts.split("->")
    terms = ins.split(",")
    grads = []
    for k, x in enumerate(xs):
        if not x.requires_grad:
            grads.append(None)
            continue
        others = [t for j, t in enumerate(terms) if j != k]
        spec = ",".join([output, *others]) + "->" + terms[k]
        grads.append(einsum(spec, g, *[y for j, y in enumerate(xs) if j != k]))
    return tuple(grads)


def _einsum_jvp(t, out, *xs, subscripts):
    total = None
    for k, tk in enumerate(t):
        if tk is None:
            continue
        term = apply(
            EINSUM, *[tk if j == k else x for j, x in enumerate(xs)], subscripts=subscripts
        )
        total = term if total is None else total + term
    return total if total is not None else zeros_like(out)


EINSUM = declare(
    Op(
        "einsum",
        VARIADIC,
        _einsum_forward,
        _einsum_vjp,
        _einsum_jvp,
        STRUCTURAL,
        doc="Einstein summation over canonical subscripts (NumPy's optimized contraction order).",
    ),
    wrapper=False,
)


@surface(EINSUM, array_function=np.einsum)
def einsum(subscripts, *operands, optimize=True, out=None, dtype=None, **kwargs) -> Tensor:
    """Einstein summation, as ``numpy.einsum``, differentiable to any order.

    Accepts NumPy's forms: explicit (``"ij,jk->ik"``) and implicit (``"ij,jk"``: the output
    holds the letters used once, alphabetically) subscripts, the ellipsis (``"...ij,...jk"``,
    broadcast like NumPy), repeated letters (``"ii"`` is the trace, ``"ii->i"`` the
    diagonal, ``"i,i"`` the inner product), and the interleaved form ``einsum(a, [0, 1], b,
    [1, 2], [0, 2])``. The forward uses NumPy's optimized contraction order; the gradient of
    each operand is again an einsum of the cotangent with the other operands, so Hessians
    work. ``optimize`` is accepted for NumPy compatibility (the order is always optimized).

    Raises
    ------
    ValueError
        Malformed subscripts (the message quotes them).
    ShapeError
        Operands whose shapes disagree with the subscripts or with each other.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> a = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> ad.einsum("ij,ij->", a, a)
    tensor(55., grad_fn=einsum)
    >>> ad.grad(lambda m: ad.einsum("ii", m))(np.ones((2, 2)))
    array([[1., 0.],
           [0., 1.]])
    """
    if out is not None:
        raise TypeError("einsum: out= is not supported (autodiff tensors are immutable results)")
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword argument(s) {sorted(kwargs)}")
    if not isinstance(subscripts, str):
        subscripts, ops = _interleaved((subscripts, *operands))
    else:
        ops = list(operands)
    if not ops:
        raise ValueError(f"einsum: subscripts {subscripts!r} need at least one operand")
    xs = list(_operands(tuple(ops)))
    if dtype is not None:
        xs = [x.astype(dtype) for x in xs]
    spec = _parse(subscripts, [x.shape for x in xs])
    canonical, xs = _canonical(spec, xs, subscripts)
    return apply(EINSUM, *xs, subscripts=canonical)


def _axes_pair(axes, na: int, nb: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, int | np.integer):
        k = int(axes)
        if k < 0 or k > min(na, nb):
            raise ValueError(f"tensordot: axes={k} is out of range for ranks {na} and {nb}")
        return list(range(na - k, na)), list(range(k))
    try:
        a_axes, b_axes = axes
    except (TypeError, ValueError):
        raise ValueError(
            f"tensordot: axes must be an int or a pair of sequences, got {axes!r}"
        ) from None
    a_axes = [a_axes] if isinstance(a_axes, int | np.integer) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, int | np.integer) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(a_axes)} with {len(b_axes)} axes")
    for ax, n in [(a, na) for a in a_axes] + [(b, nb) for b in b_axes]:
        if not -n <= ax < max(n, 1):
            raise ValueError(f"tensordot: axis {ax} is out of range for rank {n}")
    return [int(a) % na for a in a_axes], [int(b) % nb for b in b_axes]


@composite(array_function=np.tensordot)
def tensordot(a, b, axes=2) -> Tensor:
    """Sum products over ``axes`` of ``a`` and ``b``, as ``numpy.tensordot``.

    ``axes`` is an int ``k`` (the last ``k`` axes of ``a`` with the first ``k`` of ``b``) or a
    pair of axis lists. A composite of ``transpose``, ``reshape`` and ``matmul``.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5)), axes=2).shape
    (2, 5)
    """
    a, b = _operands((a, b))
    a_axes, b_axes = _axes_pair(axes, a.ndim, b.ndim)
    for i, j in zip(a_axes, b_axes):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(
                f"tensordot: shape mismatch for sum: {a.shape} axis {i} ({a.shape[i]}) vs "
                f"{b.shape} axis {j} ({b.shape[j]})"
            )
    a_free = [i for i in range(a.ndim) if i not in a_axes]
    b_free = [j for j in range(b.ndim) if j not in b_axes]
    k = int(np.prod([a.shape[i] for i in a_axes], dtype=np.int64))
    m = int(np.prod([a.shape[i] for i in a_free], dtype=np.int64))
    n = int(np.prod([b.shape[j] for j in b_free], dtype=np.int64))
    a2 = reshape(transpose(a, a_free + a_axes), (m, k))
    b2 = reshape(transpose(b, b_axes + b_free), (k, n))
    shape = tuple(a.shape[i] for i in a_free) + tuple(b.shape[j] for j in b_free)
    return reshape(matmul(a2, b2), shape)


@composite(array_function=np.inner)
def inner(a, b) -> Tensor:
    """Inner product over the last axes, as ``numpy.inner`` (a scalar operand multiplies).

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.inner(ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0]))
    tensor(11.)
    """
    a, b = _operands((a, b))
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: last dimensions differ for shapes {a.shape} and {b.shape}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


@composite(array_function=np.kron)
def kron(a, b) -> Tensor:
    """Kronecker product, as ``numpy.kron`` (blocks ``a[i, j] * b``; ranks are padded).

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> ad.kron(np.eye(2), np.ones((2, 3))).shape
    (4, 6)
    """
    a, b = _operands((a, b))
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    a2 = reshape(a, tuple(v for n in sa for v in (n, 1)))
    b2 = reshape(b, tuple(v for n in sb for v in (1, n)))
    return reshape(mul(a2, b2), tuple(p * q for p, q in zip(sa, sb)))


@composite(array_function=np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None) -> Tensor:
    """Cross product of 3-vectors (and of 2-vectors: the z component), as ``numpy.cross``.

    Vectors lie along ``axis`` (or ``axisa`` / ``axisb``, the result's along ``axisc``); the
    other axes broadcast.

    Examples
    --------
    >>> import autodiff as ad
    >>> ad.cross(ad.tensor([1.0, 0.0, 0.0]), ad.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    from .shape import stack

    a, b = _operands((a, b))
    if axis is not None:
        axisa = axisb = axisc = axis
    for name, x, ax in (("a", a, axisa), ("b", b, axisb)):
        if x.ndim == 0 or not -x.ndim <= ax < x.ndim:
            raise ValueError(f"cross: axis {ax} is out of range for {name} of shape {x.shape}")
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ShapeError(
            f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), "
            f"got vectors of length {na} and {nb} (shapes {a.shape}, {b.shape})"
        )
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    if na == 2 and nb == 2:
        return sub(a0 * b1, a1 * b0)
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    cx = (a1 * b2 if b2 is not None else 0.0) - (a2 * b1 if a2 is not None else 0.0)
    cy = (a2 * b0 if a2 is not None else 0.0) - (a0 * b2 if b2 is not None else 0.0)
    cz = a0 * b1 - a1 * b0
    cx, cy = as_tensor(cx), as_tensor(cy)
    out = stack(
        [
            cx if cx.shape == cz.shape else cx + zeros_like(cz),
            cy if cy.shape == cz.shape else cy + zeros_like(cz),
            cz,
        ],
        -1,
    )
    return moveaxis(out, -1, axisc)

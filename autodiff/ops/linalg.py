"""Linear algebra: batched matrix product (the primitive), dot, outer, einsum-free composites."""

from __future__ import annotations

import numpy as np

from ..tensor import ShapeError, Tensor, _operands, apply
from .base import STRUCTURAL, Op, register
from .shape import reshape, swapaxes


def _mT(x: Tensor) -> Tensor:
    return swapaxes(x, -1, -2)


def _matmul_vjp(g, out, a, b):
    ga = matmul(g, _mT(b)) if a.requires_grad else None
    gb = matmul(_mT(a), g) if b.requires_grad else None
    return ga, gb


def _matmul_jvp(t, out, a, b):
    ta, tb = t
    if ta is None:
        return matmul(a, tb)
    if tb is None:
        return matmul(ta, b)
    return matmul(ta, b) + matmul(a, tb)


# The primitive takes operands of rank >= 2; 1-D operands are promoted in matmul() below, so
# that the VJP needs no special cases and batch broadcasting is summed by the engine.
MATMUL = register(Op("matmul", 2, np.matmul, _matmul_vjp, _matmul_jvp, STRUCTURAL))


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy semantics: 1-D vectors, 2-D matrices, broadcast batches."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = _operands((a, b))  # the one conversion, float dtype matched
    sa, sb = a.shape, b.shape
    if len(sa) == 0 or len(sb) == 0:
        raise ShapeError(f"matmul: operands must be at least 1-D, got shapes {sa} and {sb}")
    if sa[-1] != sb[-2 if len(sb) > 1 else 0]:
        raise ShapeError(f"matmul: inner dimensions differ for shapes {sa} and {sb}")
    a2 = reshape(a, (1, sa[0])) if len(sa) == 1 else a
    b2 = reshape(b, (sb[0], 1)) if len(sb) == 1 else b
    out = apply(MATMUL, a2, b2)
    if len(sa) == 1 or len(sb) == 1:
        shape = out.shape
        drop = {len(shape) - 2} if len(sa) == 1 else set()
        drop |= {len(shape) - 1} if len(sb) == 1 else set()
        out = reshape(out, tuple(n for i, n in enumerate(shape) if i not in drop))
    return out


def dot(a, b) -> Tensor:
    """Inner product of two vectors (or ``matmul`` for higher ranks)."""
    return matmul(a, b)


def outer(a, b) -> Tensor:
    """Outer product of two vectors."""
    return matmul(reshape(a, (-1, 1)), reshape(b, (1, -1)))

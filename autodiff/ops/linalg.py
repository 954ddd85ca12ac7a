"""Linear algebra: batched matrix product (the primitive), dot, outer, einsum-free composites."""

from __future__ import annotations

import numpy as np

from ..tensor import ShapeError, Tensor, _operands, apply
from .base import STRUCTURAL, Op
from .builders import declare
from .elementwise import mul
from .shape import reshape, swapaxes, transpose
from .surface import composite, surface


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
MATMUL = declare(
    Op(
        "matmul",
        2,
        np.matmul,
        _matmul_vjp,
        _matmul_jvp,
        STRUCTURAL,
        doc="Batched matrix product of operands of rank >= 2.",
    ),
    wrapper=False,  # matmul() below promotes 1-D operands
)


@surface(MATMUL, ufunc=np.matmul)
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


@composite(methods=True, array_function=np.dot)
def dot(a, b) -> Tensor:
    """``numpy.dot`` for every case NumPy defines, differentiable to any order.

    * a 0-d operand: elementwise ``a * b``;
    * 1-D with 1-D: the inner product (a 0-d result);
    * 2-D with 2-D: the matrix product;
    * N-D with 1-D: the sum over the last axis of ``a`` (``a.shape[:-1]``);
    * N-D with M-D (M >= 2): the sum over the last axis of ``a`` and the second-to-last of
      ``b``, of shape ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]`` (unlike ``matmul``, the
      leading axes are not broadcast against each other but all kept).

    It is a composite of ``reshape``, ``transpose``, ``matmul`` and ``mul``, so its gradients,
    forward mode, ``symdiff.lift`` and ``bridge.compile`` come from those primitives.
    ``np.dot(t, b)`` and ``Tensor.dot`` call it.

    Raises
    ------
    ShapeError
        When the summed axes differ in length.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> a, b = np.ones((2, 2, 3)), np.ones((2, 3, 4))
    >>> ad.dot(a, b).shape
    (2, 2, 2, 4)
    >>> ad.dot(ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0]))
    tensor(11.)
    """
    a, b = _operands((a, b))
    sa, sb = a.shape, b.shape
    if len(sa) == 0 or len(sb) == 0:
        return mul(a, b)
    ka, kb = (len(sa) - 1, len(sb) - 2 if len(sb) > 1 else 0)
    if sa[ka] != sb[kb]:
        raise ShapeError(
            f"dot: shapes {sa} and {sb} are not aligned: {sa[ka]} (dim {ka}) != {sb[kb]} (dim {kb})"
        )
    if len(sa) <= 2 and len(sb) <= 2 or len(sb) == 1 or len(sa) == 1:
        # NumPy's matmul agrees with dot whenever one operand is 1-D or both are 2-D.
        return matmul(a, b)
    # N-D . M-D, both >= 2: contract a's last axis with b's second-to-last as one matrix
    # product (prod(a.shape[:-1]), k) @ (k, prod(b.shape[:-2]) * m), then unflatten.
    k = sa[-1]
    rows = int(np.prod(sa[:-1], dtype=np.int64))
    cols = int(np.prod(sb[:-2], dtype=np.int64)) * sb[-1]
    nb = len(sb)
    b_first = transpose(b, (nb - 2,) + tuple(range(nb - 2)) + (nb - 1,))
    out = matmul(reshape(a, (rows, k)), reshape(b_first, (k, cols)))
    return reshape(out, sa[:-1] + sb[:-2] + sb[-1:])


@composite(array_function=np.outer)
def outer(a, b) -> Tensor:
    """Outer product of two vectors."""
    return matmul(reshape(a, (-1, 1)), reshape(b, (1, -1)))

"""``autodiff.linalg``: the ``numpy.linalg`` functions on tensors, differentiable to any order.

``ad.linalg.norm`` (with the array API's ``vector_norm`` and ``matrix_norm``), ``inv``,
``solve``, ``det``, ``slogdet``, ``cholesky``, ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``,
``pinv`` and ``lstsq`` take NumPy's arguments and return NumPy's results (named tuples where
NumPy has them); ``np.linalg.norm(t)`` and the other ``np.linalg`` functions dispatch here for
a Tensor argument. Each decomposition is one primitive of the op table
(``autodiff/ops/linalg.py``) with a forward (LAPACK through NumPy), a VJP written in Tensor ops
(so Hessians of ``logdet`` or of a norm work), a JVP and a SymPy rule; ``norm``,
``vector_norm``, ``matrix_norm`` and ``lstsq`` are composites.

Conventions
-----------
* **Batching**: leading axes are batch axes wherever NumPy batches (``lstsq`` does not).
* **Triangles**: ``cholesky``, ``eigh`` and ``eigvalsh`` read the lower triangle only (as
  NumPy does), so their gradients land on the lower triangle; for symmetric perturbations
  this is the usual derivative.
* **Gradient of a norm at 0 is 0** (every order), like ``abs'(0) = 0``.
* **Where a derivative does not exist** - eigenvectors at repeated eigenvalues, singular
  vectors at repeated (or, for non-square matrices, zero) singular values - the affected
  entries are nan and a ``RuntimeWarning`` names the op; the derivative of ``det`` /
  ``slogdet`` at a singular matrix raises ``LinAlgError``; ``pinv`` / ``lstsq`` at a
  rank-deficient matrix warn that the derivative is the constant-rank one.
* **Errors**: a non-square matrix raises ``autodiff.ShapeError``; a singular (or, for
  ``cholesky``, not positive definite) matrix raises ``numpy.linalg.LinAlgError`` naming the
  op, the shape and the batch index.
* **Symbolic face** (``symdiff.lift``): ``inv``, ``det``, ``slogdet``, ``solve``,
  ``cholesky`` and ``pinv`` (full rank) expand to exact SymPy formulas up to 4x4;
  ``eigvalsh`` up to 2x2 and ``svdvals`` up to two rows or columns (closed forms);
  eigenvectors (beyond 1x1) and singular vectors have no sign-fixed formula and raise
  ``symdiff.LiftError`` naming the op. Array mode (``lift(mode="array")``) records them as
  ops; array-mode compilation raises ``UnsupportedExpressionError`` naming them.

Examples
--------
>>> import numpy as np, autodiff as ad
>>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> g = ad.grad(lambda a: ad.linalg.slogdet(a)[1])(a)   # d logdet = inv(a).T
>>> np.allclose(g, np.linalg.inv(a).T)
True
>>> float(np.linalg.norm(ad.tensor([3.0, 4.0])))       # NumPy dispatches to ad.linalg.norm
5.0
"""

from __future__ import annotations

from numpy.linalg import LinAlgError

from .ops.linalg import (
    EighResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    lstsq,
    matmul,
    matrix_norm,
    norm,
    pinv,
    slogdet,
    solve,
    svd,
    svdvals,
    vector_norm,
)

__all__ = [
    "EighResult",
    "LinAlgError",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "norm",
    "pinv",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]

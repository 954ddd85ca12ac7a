"""Loss functions, written as plain compositions of autodiff primitives (so any order works).

Every loss takes ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per element or
per sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.elementwise import exp, log, relu, sigmoid, softplus, square, tanh
from ..ops.reductions import _stable_shift, log_softmax, softmax
from ..ops.reductions import sum as reduce_sum
from ..tensor import ShapeError, Tensor, as_tensor

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]

_REDUCTIONS = ("mean", "sum", "none")


def _as_tensor(x: Any) -> Tensor:
    return as_tensor(x)


def _reduce(loss: Tensor, reduction: str, who: str) -> Tensor:
    if reduction == "mean":
        # One multiply instead of sum-then-divide: the tape stays short.
        return reduce_sum(loss) * (1.0 / max(loss.size, 1))
    if reduction == "sum":
        return reduce_sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(pred: Tensor, target: Tensor, who: str) -> None:
    if pred.shape != target.shape:
        raise ShapeError(
            f"{who}: input has shape {pred.shape} but target has shape {target.shape}; they "
            "must match exactly (no broadcasting, which would silently change the loss)"
        )


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error ``mean((pred - target) ** 2)``; shapes must match exactly.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff.nn.functional import mse_loss
    >>> mse_loss(ad.tensor([1.0, 2.0]), [0.0, 0.0])
    tensor(2.5)
    """
    pred, target = _as_tensor(pred), _as_tensor(target)
    _same_shape(pred, target, "mse_loss")
    return _reduce(square(pred - target), reduction, "mse_loss")


def _class_targets(targets: Any, n: int, classes: int) -> np.ndarray:
    arr = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: targets must be integer class indices, got dtype {arr.dtype} "
            "(use .astype(np.int64); for probabilities use binary_cross_entropy_with_logits)"
        )
    if classes == 0:
        raise ShapeError("cross_entropy: logits have 0 classes")
    if arr.shape != (n,):
        raise ShapeError(
            f"cross_entropy: logits of shape ({n}, {classes}) need targets of shape ({n},), "
            f"got {arr.shape}"
        )
    if n and (arr.min() < 0 or arr.max() >= classes):
        raise ValueError(
            f"cross_entropy: targets must lie in [0, {classes}), got values in "
            f"[{arr.min()}, {arr.max()}]"
        )
    return arr


def cross_entropy(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of ``logits`` (n, C) against integer class ``targets`` (n,).

    Equal to ``-log_softmax(logits)[range(n), targets]``, computed stably for any finite
    logits. A single sample may be given as logits (C,) and a scalar target.

    Examples
    --------
    >>> import numpy as np
    >>> import autodiff as ad
    >>> from autodiff.nn.functional import cross_entropy
    >>> logits = ad.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
    >>> loss = cross_entropy(logits, np.array([0, 1]))
    >>> round(float(loss), 6)
    0.126928
    """
    logits = _as_tensor(logits)
    if logits.ndim == 1:
        scalar = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
        if scalar.ndim != 0:
            raise ShapeError(
                f"cross_entropy: 1-D logits of shape {logits.shape} need a scalar target, "
                f"got shape {scalar.shape}"
            )
        out = cross_entropy(logits.reshape(1, -1), scalar.reshape(1), reduction)
        return out.reshape(()) if reduction == "none" else out
    if logits.ndim != 2:
        raise ShapeError(
            f"cross_entropy: logits must have shape (n, classes) or (classes,), got {logits.shape}"
        )
    n, classes = logits.shape
    index = _class_targets(targets, n, classes)
    # -log_softmax(z)[i, t_i] = logsumexp(z_i - m_i) - (z_i - m_i)[t_i] for any constant m_i;
    # m_i = max_j z_ij (the gradient-free stable_shift primitive, 0 when lifted) keeps exp from
    # overflowing. Only the picked entries of log_softmax are formed: fewer ops than indexing
    # the full matrix.
    shifted = logits - _stable_shift(logits, 1)
    per_sample = log(reduce_sum(exp(shifted), axis=1)) - shifted[np.arange(n), index]
    return _reduce(per_sample, reduction, "cross_entropy")


def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against ``targets`` in [0, 1], computed stably.

    Uses ``softplus(x) - x * t``, which equals ``-t log s(x) - (1 - t) log(1 - s(x))`` without
    forming ``log(sigmoid(x))`` (that overflows to ``-inf`` for very negative ``x``).

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff.nn.functional import binary_cross_entropy_with_logits as bce
    >>> round(float(bce(ad.tensor([0.0]), [1.0])), 6)
    0.693147
    """
    logits, targets = _as_tensor(logits), _as_tensor(targets)
    _same_shape(logits, targets, "binary_cross_entropy_with_logits")
    if targets.dtype.kind not in "fiub":
        raise TypeError(
            f"binary_cross_entropy_with_logits: targets must be numeric, got {targets.dtype}"
        )
    t = targets.data
    if t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(
            "binary_cross_entropy_with_logits: targets must lie in [0, 1], got values in "
            f"[{t.min()}, {t.max()}]"
        )
    return _reduce(softplus(logits) - logits * targets, reduction, "binary_cross_entropy")

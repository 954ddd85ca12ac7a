"""First-order optimizers: SGD (momentum, Nesterov), Adam and AdamW, with PyTorch's equations.

Each subclass of :class:`~autodiff.optim.base.Optimizer` only defines ``_validate`` (its
hyper-parameter checks) and ``_update`` (one in-place NumPy update of a parameter's data from
its gradient and per-parameter state).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .base import Optimizer, _check

__all__ = ["SGD", "Adam", "AdamW"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 decay.

    With ``g = grad + weight_decay * w``; ``b = g`` at the first step, then
    ``b = momentum * b + (1 - dampening) * g``; the update is ``w -= lr * d`` with
    ``d = g + momentum * b`` (Nesterov) or ``d = b`` (``d = g`` without momentum) — exactly
    ``torch.optim.SGD``.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff import optim
    >>> w = ad.tensor([1.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     _ = opt.step()
    >>> round(float(w.data[0]), 4)
    0.46
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    def _validate(self, hyper: dict[str, Any]) -> None:
        super()._validate(hyper)
        m, d = hyper["momentum"], hyper["dampening"]
        _check("momentum", m, m >= 0, ">= 0", "SGD")
        _check("dampening", d, 0 <= d <= 1, "in [0, 1]", "SGD")
        if hyper["nesterov"] and (m <= 0 or d != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        wd, momentum = group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * w
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        w -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction and optional L2 ``weight_decay``, as in PyTorch.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` and
    ``w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``, where
    ``g = grad + weight_decay * w``.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff import optim
    >>> w = ad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> _ = opt.step()
    >>> w.data.round(6)  # the first Adam step moves each weight by about lr
    array([ 0.9, -0.9])
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _validate(self, hyper: dict[str, Any]) -> None:
        super()._validate(hyper)
        who = type(self).__name__
        betas = tuple(hyper["betas"])
        ok = len(betas) == 2 and all(0 <= b < 1 for b in betas)
        _check("betas", betas, ok, "two numbers in [0, 1)", who)
        _check("eps", hyper["eps"], hyper["eps"] >= 0, ">= 0", who)

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd and self._decoupled:
            w *= 1.0 - lr * wd
        elif wd:
            g = g + wd * w
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        denom = np.sqrt(v) / math.sqrt(1.0 - b2**t) + eps
        w -= (lr / (1.0 - b1**t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``w *= 1 - lr * weight_decay``
    before the Adam step, instead of adding ``weight_decay * w`` to the gradient.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff import optim
    >>> w = ad.tensor([1.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = ad.tensor([0.0])
    >>> _ = opt.step()
    >>> w.data  # only the decay acts when the gradient is zero
    array([0.95])
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

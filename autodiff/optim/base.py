"""Optimizers (SGD, Adam, AdamW) that update parameters in place with the PyTorch equations.

Updates are plain NumPy on each parameter's ``.data`` (nothing is recorded on the tape), using
the gradients left in ``.grad`` by ``backward()``. Parameters whose ``.grad`` is None are
skipped. Hyper-parameters live in ``param_groups`` (a list of dicts, each with its own
``"params"`` list), so they can be changed between steps, e.g. for a learning-rate schedule.

Examples
--------
>>> import autodiff as ad
>>> from autodiff import optim
>>> w = ad.tensor([1.0, -2.0], requires_grad=True)
>>> opt = optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w
tensor([ 0.8, -1.6], requires_grad=True)
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["SGD", "Adam", "AdamW", "NewtonCG", "Optimizer"]


def _check(name: str, value: Any, ok: bool, rule: str, who: str) -> None:
    if not ok:
        raise ValueError(f"{who}: invalid {name}={value!r}; it must be {rule}")


def _check_param(p: Any, who: str) -> Tensor:
    if not isinstance(p, Tensor):
        raise TypeError(f"{who}: parameters must be Tensors, got {type(p).__name__}")
    if not p.requires_grad or not p.is_leaf:
        raise ValueError(
            f"{who}: can only optimize leaf tensors with requires_grad=True "
            f"(got shape {p.shape}, requires_grad={p.requires_grad}, leaf={p.is_leaf})"
        )
    return p


class Optimizer:
    """Base class: holds ``param_groups`` and per-parameter ``state``; subclasses define
    ``_update``.

    ``params`` is an iterable of Tensors, or of dicts ``{"params": [...], **overrides}`` giving
    some groups their own hyper-parameters.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        who = type(self).__name__
        self.defaults = dict(defaults)
        items = list(params) if not isinstance(params, Tensor) else [params]
        if not items:
            raise ValueError(f"{who}: got an empty parameter list")
        groups = items if isinstance(items[0], Mapping) else [{"params": items}]
        self.param_groups: list[dict[str, Any]] = []
        seen: set[int] = set()
        for group in groups:
            if not isinstance(group, Mapping) or "params" not in group:
                raise TypeError(f"{who}: mix of tensors and groups; every group needs 'params'")
            unknown = set(group) - set(defaults) - {"params"}
            if unknown:
                raise TypeError(f"{who}: unknown hyper-parameter(s) {sorted(unknown)}")
            ps = group["params"]
            ps = [ps] if isinstance(ps, Tensor) else list(ps)
            for p in ps:
                _check_param(p, who)
                if id(p) in seen:
                    raise ValueError(f"{who}: a parameter (shape {p.shape}) appears twice")
                seen.add(id(p))
            full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
            self._validate(full)
            self.param_groups.append({"params": ps, **full})
        # Per-parameter state, keyed by the parameter's position over all groups.
        self.state: dict[int, dict[str, Any]] = {}

    def _validate(self, hyper: dict[str, Any]) -> None:
        """Raise ``ValueError`` naming the first invalid hyper-parameter."""
        who = type(self).__name__
        for name in ("lr", "weight_decay"):
            value = hyper[name]
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= 0
            _check(name, value, ok, "a real number >= 0", who)

    def _indexed(self) -> Iterable[tuple[int, Tensor, dict[str, Any]]]:
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                yield i, p, group
                i += 1

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (set ``.grad`` to None)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for i, p, group in self._indexed():
            if p.grad is not None:
                g = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
                self._update(p.data, g, self.state.setdefault(i, {}), group)
        return loss

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Copies of the state and hyper-parameters; parameters appear as their positions."""
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            hyper = {k: v for k, v in group.items() if k != "params"}
            groups.append({**hyper, "params": list(range(start, start + n))})
            start += n
        return {"state": copy.deepcopy(self.state), "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore state and hyper-parameters saved by ``state_dict`` for the same parameters."""
        who = type(self).__name__
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        if [len(g["params"]) for g in groups] != sizes:
            raise ValueError(f"{who}.load_state_dict: group sizes differ from this optimizer's")
        params = [p for _, p, _ in self._indexed()]
        for i, entry in state_dict["state"].items():
            for key, value in entry.items():
                if isinstance(value, np.ndarray) and value.shape != params[int(i)].shape:
                    raise ValueError(
                        f"{who}.load_state_dict: state {key!r} of parameter {i} has shape "
                        f"{value.shape}, the parameter has {params[int(i)].shape}"
                    )
        for group, saved in zip(self.param_groups, groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {int(i): copy.deepcopy(dict(s)) for i, s in state_dict["state"].items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            hyper = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {hyper}")
        return "\n".join(lines) + "\n)"


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


from ._newton_cg import NewtonCG  # noqa: E402  (builds on Optimizer above)

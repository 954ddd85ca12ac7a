"""The optimizer base class: parameter groups, per-parameter state and ``state_dict``.

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
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer"]


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
                p._version += 1  # an in-place write: a graph recorded before it is stale
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

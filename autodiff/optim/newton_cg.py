"""Hessian-free Newton for Modules: CG on Hessian-vector products, damping and a line search."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..engine import gradients
from ..grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from .base import Optimizer, _check
from .line_search import armijo_backtracking

__all__ = ["NewtonCG", "conjugate_gradient"]


def conjugate_gradient(
    matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray, iters: int, tol: float
) -> np.ndarray:
    """Approximately solve ``A x = b`` for symmetric ``A``; stop at negative curvature."""
    x = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    rr = float(r @ r)
    for _ in range(iters):
        if np.sqrt(rr) <= tol:
            break
        ad = matvec(d)
        curvature = float(d @ ad)
        if curvature <= 0:
            return x if x.any() else b  # no positive curvature yet: fall back to the gradient
        alpha = rr / curvature
        x += alpha * d
        r -= alpha * ad
        rr_next = float(r @ r)
        d = r + (rr_next / rr) * d
        rr = rr_next
    return x


class NewtonCG(Optimizer):
    """Hessian-free Newton steps for a training loop.

    Each ``step(closure)`` solves ``(H + damping I) d = -g`` with conjugate gradient, where
    ``H v`` comes from differentiating ``g . v`` (reverse over reverse, nothing is formed
    densely), then backtracks along ``d`` until the loss decreases enough (Armijo).

    Parameters
    ----------
    params : iterable of Tensor
        The parameters to optimise (one group: the Newton system couples them all).
    lr : float
        The first step length tried along the Newton direction (1.0: the full Newton step);
        with ``line_search=False`` the step taken. Must be >= 0.
    damping : float
        Added to the Hessian's diagonal (``H + damping I``): keeps the solve well posed where
        the curvature is flat or negative; larger values move toward gradient descent with
        step ``1/damping``. Must be >= 0.
    cg_iters : int
        The most conjugate-gradient iterations (Hessian-vector products) per step.
    cg_tol : float
        Conjugate gradient stops when the residual norm falls below this tolerance.
    line_search : bool
        If True (default), backtrack from ``lr`` until the loss decreases enough (Armijo, at
        most 30 halvings; the parameters stay put if none does); if False, take ``lr * d``.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> from autodiff.optim import NewtonCG
    >>> w = ad.tensor([3.0, -1.0], requires_grad=True)
    >>> opt = NewtonCG([w])
    >>> loss = lambda: ((w - 1.0) ** 2).sum() + (w[0] * w[1]) ** 2
    >>> for _ in range(20):
    ...     _ = opt.step(loss)
    >>> bool(np.abs(w.grad.data).max() < 1e-8)
    True
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        damping: float = 1e-4,
        cg_iters: int = 50,
        cg_tol: float = 1e-10,
        line_search: bool = True,
    ):
        defaults = {"lr": lr, "damping": damping, "cg_iters": cg_iters, "cg_tol": cg_tol}
        super().__init__(params, {**defaults, "line_search": line_search})
        if len(self.param_groups) != 1:
            raise ValueError("NewtonCG: takes one group of parameters (the solve is joint)")

    def _validate(self, hyper: dict[str, Any]) -> None:
        for name in ("lr", "damping", "cg_tol"):
            value = hyper[name]
            ok = isinstance(value, numbers.Real) and value >= 0
            _check(name, value, ok, "a real number >= 0", "NewtonCG")
        its = hyper["cg_iters"]
        _check("cg_iters", its, isinstance(its, int) and its > 0, "a positive integer", "NewtonCG")

    def step(self, closure: Callable[[], Any] | None = None) -> Tensor:
        """Take one Newton step; ``closure`` recomputes and returns the loss (required)."""
        if closure is None:
            raise ValueError("NewtonCG.step needs a closure that recomputes and returns the loss")
        group = self.param_groups[0]
        params = group["params"]
        with enable_grad():
            loss = closure()
            grads = gradients([loss], params, create_graph=True)
        g = np.concatenate([gi.data.ravel() for gi in grads])

        def hvp(v: np.ndarray) -> np.ndarray:
            with enable_grad():
                dot = sum((gi * _piece(v, params, i)).sum() for i, gi in enumerate(grads))
                hv = gradients([dot], params)
            return np.concatenate([h.data.ravel() for h in hv]) + group["damping"] * v

        d = conjugate_gradient(hvp, -g, group["cg_iters"], group["cg_tol"])
        self._move(params, d, g, float(loss.data), closure, group)
        for p, gi in zip(params, grads):
            p.grad = gi.detach()
        return loss

    def _move(self, params, d, g, f0, closure, group) -> None:
        start = [p.data.copy() for p in params]
        t = group["lr"]
        if not group["line_search"] or t == 0:
            _assign(params, start, t * d)
            return

        def phi(step: float) -> float:
            _assign(params, start, step * d)
            with no_grad():
                return float(closure().data)

        found = armijo_backtracking(phi, f0, float(g @ d), step=t, max_trials=30)
        # Leave the parameters at the accepted step, or where they started if none was found.
        _assign(params, start, (found.step or 0.0) * d)


def _piece(v: np.ndarray, params: list[Tensor], i: int) -> np.ndarray:
    start = sum(p.size for p in params[:i])
    p = params[i]
    return v[start : start + p.size].reshape(p.shape).astype(p.dtype, copy=False)


def _assign(params: list[Tensor], start: list[np.ndarray], delta: np.ndarray) -> None:
    offset = 0
    for p, s in zip(params, start):
        p.data[...] = s + delta[offset : offset + p.size].reshape(p.shape)
        p._version += 1
        offset += p.size

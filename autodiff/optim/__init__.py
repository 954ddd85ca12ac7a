"""Optimizers that update parameters in place: SGD, Adam, AdamW (PyTorch's equations) and
Hessian-free NewtonCG.

Modules: :mod:`~autodiff.optim.base` (``Optimizer``: parameter groups, state, ``state_dict``),
:mod:`~autodiff.optim.first_order` (SGD, Adam, AdamW), :mod:`~autodiff.optim.newton_cg`
(NewtonCG) and :mod:`~autodiff.optim.line_search` (the Armijo backtracking shared with
``hybriddiff.minimize``).

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

from .base import Optimizer
from .first_order import SGD, Adam, AdamW
from .line_search import LineSearchResult, armijo_backtracking
from .newton_cg import NewtonCG

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "LineSearchResult",
    "NewtonCG",
    "Optimizer",
    "armijo_backtracking",
]

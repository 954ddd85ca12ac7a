"""Neural-network building blocks on top of autodiff: modules, layers and losses.

Examples
--------
>>> import numpy as np
>>> import autodiff as ad
>>> from autodiff import nn, optim
>>> net = nn.MLP([1, 16, 1], activation="tanh", seed=0)
>>> opt = optim.Adam(net.parameters(), lr=1e-2)
>>> x = ad.tensor(np.linspace(-2.0, 2.0, 32).reshape(-1, 1))
>>> y = ad.sin(x)
>>> for _ in range(100):
...     opt.zero_grad()
...     loss = nn.functional.mse_loss(net(x), y)
...     loss.backward()
...     opt.step()
>>> float(loss) < 0.05
True
"""

from __future__ import annotations

from . import functional, utils
from .layers import MLP, Identity, Linear, ReLU, Sequential, Sigmoid, Softplus, Tanh
from .module import Module, Parameter, functional_call

__all__ = [
    "MLP",
    "Identity",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "functional",
    "functional_call",
    "utils",
]

"""autodiff — eager reverse-mode (and forward-mode) automatic differentiation on NumPy arrays.

Every operation goes through one op table (:mod:`autodiff.ops`); gradients are computed with
Tensor operations, so they can be differentiated again to any order.

Examples
--------
>>> import autodiff as ad
>>> x = ad.tensor([1.0, -2.0], requires_grad=True)
>>> y = (ad.relu(x) * x + x).sum()
>>> y.backward()
>>> x.grad
tensor([3., 1.])
"""

from __future__ import annotations

from typing import Any

from .tensor import (  # isort: skip  (first: ops build on it)
    ConversionError,
    ShapeError,
    Tensor,
    as_tensor,
    stop_gradient,
    tensor,
)
from . import graph, linalg, tree
from .batching import PerformanceWarning, vmap
from .engine import gradients
from .functional import derivative, grad, hessian, hvp, jacfwd, jacobian, jvp, value_and_grad, vjp
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Graph, Node, graph_of, trace_graph
from .ops.surface import exports as _op_exports

# The op functions (exp, sum, reshape, dot, ... and aliases such as absolute) are generated
# from the op table's surfaces (autodiff.ops.surface): one declaration per op.
_OPS = _op_exports()
globals().update(_OPS)

__all__ = [
    "ConversionError", "ShapeError", "Tensor", "as_tensor", "stop_gradient", "tensor",
    "__version__",
    "grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacfwd", "hessian", "hvp",
    "derivative", "gradients", "graph", "linalg", "Graph", "Node", "graph_of", "trace_graph",
    "vmap", "tree", "PerformanceWarning",
    "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
    *_OPS,
]  # fmt: skip


def __getattr__(name: str) -> Any:
    # The version comes from package metadata (autodiff._version), read on first use only:
    # importlib.metadata costs more than the rest of a warm start's imports.
    if name == "__version__":
        from ._version import __version__

        globals()["__version__"] = __version__
        return __version__
    raise AttributeError(f"module 'autodiff' has no attribute {name!r}")

"""hybriddiff — one piece of array code, three faces: eager, symbolic, compiled.

``import hybriddiff as hd`` gives the everyday names of all three faces:

* eager autodiff (:mod:`autodiff`): ``hd.tensor``, ``hd.Tensor``, ``hd.grad``,
  ``hd.value_and_grad``, ``hd.jvp``, ``hd.vjp``, ``hd.jacobian``, ``hd.jacfwd``,
  ``hd.hessian``, ``hd.hvp``, ``hd.no_grad``, ``hd.enable_grad``;
* symbolic (:mod:`symdiff`): ``hd.lift``, ``hd.formula``;
* compiled (:mod:`bridge`): ``hd.compile``;
* second-order minimisation (:mod:`hybriddiff.optimize`): ``hd.minimize``;
* the three packages themselves: ``hd.autodiff``, ``hd.symdiff``, ``hd.bridge``.

Importing ``hybriddiff`` stays light (NumPy only): SymPy, numba and SciPy are imported the
first time a symbolic, compiled or optimisation name is used (PEP 562 module ``__getattr__``).

Examples
--------
>>> import hybriddiff as hd
>>> import numpy as np
>>> hd.grad(lambda x: (x * x).sum())(np.array([1.0, -2.0]))
array([ 2., -4.])
>>> print(hd.formula(hd.lift(lambda x: hd.autodiff.sigmoid(x), 0.5)))
(1 - sigmoid(x))*sigmoid(x)
>>> hd.minimize(lambda x: ((x - 3.0) ** 2).sum(), np.zeros(2), hessian="eager").x
array([3., 3.])
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

import autodiff
from autodiff import (
    Tensor,
    enable_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jvp,
    no_grad,
    tensor,
    value_and_grad,
    vjp,
)

if TYPE_CHECKING:
    import bridge
    import symdiff
    from bridge import compile
    from symdiff import formula, lift

    from ._version import __version__
    from .optimize import minimize

__all__ = [
    "Tensor", "__version__", "autodiff", "bridge", "compile", "enable_grad", "formula", "grad",
    "hessian", "hvp", "jacfwd", "jacobian", "jvp", "lift", "minimize", "no_grad", "symdiff",
    "tensor", "value_and_grad", "vjp",
]  # fmt: skip

# name -> (module, attribute or None for the module itself), imported on first use.
_LAZY: dict[str, tuple[str, str | None]] = {
    "__version__": ("hybriddiff._version", "__version__"),  # package metadata: read on use
    "symdiff": ("symdiff", None),
    "bridge": ("bridge", None),
    "lift": ("symdiff", "lift"),
    "formula": ("symdiff", "formula"),
    "compile": ("bridge", "compile"),
    "minimize": ("hybriddiff.optimize", "minimize"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        module = import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'hybriddiff' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""bridge — compile symbolic derivatives to numba CPU, parallel and CUDA kernels.

Three steps kept apart: *print* (:mod:`bridge.printer`, a SymPy code printer for numba),
*generate* (:mod:`bridge.codegen`, module source with one line per common subexpression) and
*compile* (:mod:`bridge.compiled`, numba ``njit`` / ``prange`` / ``cuda.jit`` behind one object),
with generated modules kept in a content-hashed cache folder (:mod:`bridge.cache`).

``import bridge`` stays light: SymPy and numba are imported on first use.

``bridge`` is only the compiler. ``bridge.minimize`` is a deprecated alias of
``hybriddiff.minimize`` (its home since the restructuring), kept so that existing code runs; it
warns with ``DeprecationWarning`` and is resolved only when used.

Examples
--------
>>> import sympy as sp
>>> import bridge
>>> x = sp.Symbol("x", real=True)
>>> bridge.compile(sp.exp(x) * x, wrt=[x]).grad([0.0]).tolist()
[1.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import UnsafeCacheError, cache_dir
from .errors import GuardError, UnsupportedExpressionError

if TYPE_CHECKING:
    from .api import compile
    from .arrays.compiled import ArrayCompiled
    from .compiled import Compiled
    from .scipy_api import scipy_objective

__all__ = [
    "ArrayCompiled",
    "Compiled",
    "GuardError",
    "UnsafeCacheError",
    "UnsupportedExpressionError",
    "cache_dir",
    "compile",
    "scipy_objective",
]

_LAZY = {
    "ArrayCompiled": "arrays.compiled",
    "compile": "api",
    "Compiled": "compiled",
    "scipy_objective": "scipy_api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "minimize":
        import warnings

        warnings.warn(
            "bridge.minimize is deprecated; use hybriddiff.minimize (import hybriddiff as hd; "
            "hd.minimize(...)), which takes the same arguments",
            DeprecationWarning,
            stacklevel=2,
        )
        from hybriddiff.optimize import minimize  # the one upward import: a deprecated shim

        return minimize
    raise AttributeError(f"module 'bridge' has no attribute {name!r}")

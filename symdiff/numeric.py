"""Numeric evaluation of symbolic results with NumPy (our named functions included)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp


def _sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _relu(x):
    return np.maximum(x, 0)


NUMPY_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "relu": _relu,
    "log1p": np.log1p,
    "expm1": np.expm1,
}
"""NumPy implementations of :data:`symdiff.functions.NAMED_FUNCTIONS` for ``lambdify``."""


def without_ite(exprs: Any) -> Any:
    """Rewrite if-then-else conditions (from nested ``where``) as And/Or/Not.

    SymPy's NumPy printer turns ``ITE`` into ``select(...)`` with a float default, which is not
    a valid condition for the enclosing ``Piecewise``.
    """

    def rewrite(e):
        return e.replace(lambda a: isinstance(a, sp.ITE), lambda a: a.to_nnf())

    if isinstance(exprs, list | tuple):
        return type(exprs)(without_ite(e) for e in exprs)
    return rewrite(exprs) if isinstance(exprs, sp.Basic) else exprs


def numpy_function(symbols: Sequence[sp.Symbol], exprs: Any) -> Callable:
    """``sympy.lambdify`` over NumPy, mapping sigmoid / softplus / relu to stable kernels."""
    return sp.lambdify(
        list(symbols), without_ite(exprs), modules=[NUMPY_FUNCTIONS, "numpy"], cse=True
    )


def evaluate(exprs: Sequence[Any], symbols: Sequence[sp.Symbol], values: Sequence[float]):
    """Evaluate a flat list of expressions at ``symbols = values`` as a float64 array."""
    exprs = list(exprs)
    if not exprs:
        return np.zeros(0)
    fn = numpy_function(symbols, exprs)
    with np.errstate(all="ignore"):
        out = fn(*[float(v) for v in values])
    return np.array([float(np.asarray(v)) for v in out], dtype=np.float64)

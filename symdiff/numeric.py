"""Numeric evaluation of symbolic results with NumPy (our named functions included).

Named functions evaluate with their registered NumPy kernels
(:data:`symdiff.functions.NUMPY_FUNCTIONS`, the same kernels autodiff runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from .functions import NUMPY_FUNCTIONS


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
    """``sympy.lambdify`` over NumPy, mapping named functions to their stable kernels."""
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

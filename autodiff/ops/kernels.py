"""The NumPy kernels of the named functions: one stable implementation each.

These are the only NumPy implementations of the named functions (sigmoid, softplus, relu,
heaviside, sign, logaddexp, erf, erfc): autodiff's ops use them as forward kernels, and
:mod:`symdiff.functions` registers them as the numeric face of each SymPy class (``lambdify``
and :func:`symdiff.numeric.evaluate`). This module imports NumPy only (no SymPy); ``erf`` and
``erfc`` load ``scipy.special`` on their first call.

>>> import numpy as np
>>> float(sigmoid(np.array(-800.0)))
0.0
>>> float(softplus(np.array(800.0)))
800.0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["erf", "erfc", "heaviside", "logaddexp", "relu", "sigmoid", "sign", "softplus"]


def _float_array(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def sigmoid(x) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: ``exp(-|x|)`` and the branch that avoids
    cancellation (``e / (1 + e)`` for ``x < 0``); keeps a floating dtype."""
    x = _float_array(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x) -> np.ndarray:
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``: finite for every finite ``x``."""
    x = _float_array(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def relu(x) -> np.ndarray:
    """``max(x, 0)`` (NaN propagates)."""
    return np.maximum(x, 0)


def heaviside(x, at_zero=0.5) -> np.ndarray:
    """0 below zero, 1 above, ``at_zero`` at zero (NaN propagates); keeps ``x``'s dtype."""
    x = _float_array(x)
    return np.heaviside(x, np.asarray(at_zero, dtype=x.dtype))


def sign(x) -> np.ndarray:
    """-1, 0 or 1 (NaN propagates)."""
    return np.sign(x)


def logaddexp(*args) -> np.ndarray:
    """``log(exp(a1) + ... + exp(an))`` as a left fold of NumPy's pairwise-stable
    ``logaddexp`` (the numba code prints the same fold)."""
    if len(args) < 2:
        raise TypeError(f"logaddexp takes at least 2 arguments, got {len(args)}")
    out = np.logaddexp(args[0], args[1])
    for a in args[2:]:
        out = np.logaddexp(out, a)
    return out


def _special(name: str):
    """``scipy.special.<name>`` (imported on first use, never when autodiff is imported), or
    None where SciPy is not installed."""
    try:
        import scipy.special
    except ImportError:  # pragma: no cover - SciPy is a dependency of the distribution
        return None
    return getattr(scipy.special, name)


def _elementwise_math(name: str, x) -> np.ndarray:
    """``math.<name>`` or SciPy's ufunc of the same name over ``x``, keeping a float dtype."""
    x = _float_array(x)
    fn = _special(name)
    if fn is not None:
        return np.asarray(fn(x)).astype(x.dtype, copy=False)
    scalar = getattr(math, name)
    out = np.frompyfunc(lambda v: scalar(float(v)), 1, 1)(x)
    return np.asarray(out, dtype=x.dtype)


def erf(x) -> np.ndarray:
    """The error function (SciPy's vectorised ``erf``; ``math.erf`` without SciPy)."""
    return _elementwise_math("erf", x)


def erfc(x) -> np.ndarray:
    """``1 - erf(x)`` without cancellation for large ``x``."""
    return _elementwise_math("erfc", x)

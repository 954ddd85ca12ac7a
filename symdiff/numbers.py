"""Exact SymPy numbers for the floating-point values a program holds.

The one place where symdiff turns a NumPy / Python number into a SymPy number: ``lift`` uses it
for the constants of a replayed graph and ``parse`` for the floats of a parsed formula, so both
write ``0.25`` as ``1/4`` and ``2.0`` as ``2``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["constant_array", "sympify_array", "sympy_number"]


def sympy_number(v: Any) -> sp.Basic:
    """A clean SymPy number for ``v``: integral floats become Integers, 0.25 becomes 1/4.

    A float whose nearest fraction with a denominator up to 1000 is exactly ``v`` becomes that
    Rational; any other finite float stays a ``Float``; infinities and NaN map to ``oo``,
    ``-oo`` and ``nan``; bools to ``true`` / ``false``.

    Examples
    --------
    >>> from symdiff.numbers import sympy_number
    >>> sympy_number(2.0), sympy_number(0.25), sympy_number(0.1), sympy_number(float("inf"))
    (2, 1/4, 1/10, oo)
    >>> sympy_number(1e-20)
    1.00000000000000e-20
    """
    if isinstance(v, bool | np.bool_):
        return sp.true if v else sp.false
    if isinstance(v, int | np.integer):
        return sp.Integer(int(v))
    if isinstance(v, complex | np.complexfloating):
        return sp.sympify(complex(v))
    v = float(v)
    if not np.isfinite(v):
        return sp.nan if np.isnan(v) else (sp.oo if v > 0 else -sp.oo)
    if v == int(v) and abs(v) < 2**53:
        return sp.Integer(int(v))
    frac = Fraction(v).limit_denominator(1000)
    if float(frac) == v:
        return sp.Rational(frac.numerator, frac.denominator)
    return sp.Float(v)


def constant_array(data: Any) -> np.ndarray:
    """An object array of SymPy numbers holding ``data`` (equal numbers share one object).

    Examples
    --------
    >>> from symdiff.numbers import constant_array
    >>> constant_array([0.5, 2.0])
    array([1/2, 2], dtype=object)
    """
    arr = np.asarray(data)
    cache: dict = {}
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        key = (type(v), v)
        if key not in cache:
            cache[key] = sympy_number(v)
        out[idx] = cache[key]
    return out


def sympify_array(arr: Any) -> np.ndarray:
    """``arr`` as an object array whose every element is a SymPy object (numbers converted)."""
    arr = np.asarray(arr, dtype=object)
    if all(isinstance(v, sp.Basic) for v in arr.flat):
        return arr
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = v if isinstance(v, sp.Basic) else sympy_number(v)
    return out

"""Bound constraints for :func:`hybriddiff.minimize`: parsing SciPy-style ``bounds`` and the
projected-Newton step (Bertsekas 1982) that the bounded solves use."""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds

__all__ = ["parse_bounds", "projected_gradient", "active_set"]


def parse_bounds(bounds, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lower, upper)`` float arrays of length ``n`` from SciPy-style ``bounds``.

    ``bounds`` is None, a ``scipy.optimize.Bounds`` (scalars broadcast), or a sequence of
    ``n`` pairs ``(lo, hi)`` where None means unbounded. Returns None when nothing is bounded.
    Raises ValueError naming the offending entry for a wrong length, a NaN, or ``lo > hi``.

    Examples
    --------
    >>> parse_bounds([(0, None), (None, 2.5)], 2)
    (array([  0., -inf]), array([inf, 2.5]))
    >>> parse_bounds(Bounds(0.0, 1.0), 2)
    (array([0., 0.]), array([1., 1.]))
    """
    if bounds is None:
        return None
    if isinstance(bounds, Bounds):
        try:
            lo = np.broadcast_to(np.asarray(bounds.lb, dtype=np.float64), (n,)).copy()
            hi = np.broadcast_to(np.asarray(bounds.ub, dtype=np.float64), (n,)).copy()
        except ValueError:
            raise ValueError(
                f"minimize: bounds has lb shape {np.shape(bounds.lb)} and ub shape "
                f"{np.shape(bounds.ub)}; they must broadcast to the {n} variables"
            ) from None
    else:
        pairs = list(bounds)
        if len(pairs) != n:
            raise ValueError(f"minimize: bounds has {len(pairs)} (lo, hi) pairs for {n} variables")
        lo, hi = np.empty(n), np.empty(n)
        for i, pair in enumerate(pairs):
            try:
                a, b = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"minimize: bounds[{i}] = {pair!r} is not a (lo, hi) pair"
                ) from None
            lo[i] = -np.inf if a is None else float(a)
            hi[i] = np.inf if b is None else float(b)
    bad = np.flatnonzero(np.isnan(lo) | np.isnan(hi) | (lo > hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"minimize: bounds[{i}] = ({lo[i]}, {hi[i]}) is empty or NaN (needs lo <= hi); "
            f"{bad.size} such entries"
        )
    if np.all(np.isneginf(lo)) and np.all(np.isposinf(hi)):
        return None
    return lo, hi


def projected_gradient(x: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """``x - P(x - g)``: zero exactly at the points satisfying the first-order (KKT)
    conditions of the box-constrained problem (SciPy's L-BFGS-B ``pgtol`` test)."""
    return x - np.clip(x - g, lo, hi)


def active_set(x, g, lo, hi, width: float) -> np.ndarray:
    """Bertsekas' active set: variables within ``width`` of a bound that the gradient pushes
    against it (they are held by the projection; the Newton system is solved on the rest)."""
    return ((x <= lo + width) & (g > 0)) | ((x >= hi - width) & (g < 0))

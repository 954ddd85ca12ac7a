"""Runtime helpers of generated array kernels: reductions, scatter and batched products.

Shared by every generated module (imported by it), so numba compiles and caches them once.
Sums are pairwise: blocks of 128 summed with eight accumulators, then block sums combined in
pairs, as NumPy's ``np.sum`` does, so the error grows like ``O(log n)``, not ``O(n)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _block(a, lo, hi):
    """Sum of a[lo:hi] (1 <= hi - lo <= 128) with eight accumulators."""
    if hi - lo < 8:
        s = a[lo]
        for i in range(lo + 1, hi):
            s += a[i]
        return s
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    while i + 8 <= hi:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < hi:
        s += a[i]
        i += 1
    return s


@njit(cache=True, error_model="numpy")
def _psum(a):
    """Pairwise sum of a non-empty contiguous 1-D array: blocks of 128, combined in pairs."""
    n = a.shape[0]
    if n <= 128:
        return _block(a, 0, n)
    m = (n + 127) // 128
    s = np.empty(m, a.dtype)
    for j in range(m):
        s[j] = _block(a, 128 * j, min(n, 128 * (j + 1)))
    while m > 1:
        h = m // 2
        for j in range(h):
            s[j] = s[2 * j] + s[2 * j + 1]
        if m % 2 == 1:
            s[h] = s[m - 1]
            m = h + 1
        else:
            m = h
    return s[0]


@njit(cache=True, error_model="numpy")
def _combine(s):
    """Pairwise combination of block sums ``s`` (modified in place), as in :func:`_psum`."""
    m = s.shape[0]
    while m > 1:
        h = m // 2
        for j in range(h):
            s[j] = s[2 * j] + s[2 * j + 1]
        if m % 2 == 1:
            s[h] = s[m - 1]
            m = h + 1
        else:
            m = h
    return s[0]


@njit(cache=True, error_model="numpy")
def _rsum(a):
    out = np.zeros(a.shape[0], a.dtype)
    if a.shape[1] > 0:
        for r in range(a.shape[0]):
            out[r] = _psum(a[r])
    return out


@njit(cache=True, error_model="numpy")
def _rprod(a):
    out = np.ones(a.shape[0], a.dtype)
    for r in range(a.shape[0]):
        s = out[r]
        for k in range(a.shape[1]):
            s *= a[r, k]
        out[r] = s
    return out


@njit(cache=True, error_model="numpy")
def _rmax(a, larger):
    """Row maxima (minima), nan-propagating like NumPy."""
    out = np.empty(a.shape[0], a.dtype)
    for r in range(a.shape[0]):
        m = a[r, 0]
        for k in range(a.shape[1]):
            v = a[r, k]
            if v != v:
                m = v
                break
            if (v > m) if larger else (v < m):
                m = v
        out[r] = m
    return out


@njit(cache=True, error_model="numpy")
def _rshift(a):
    """Row maxima, non-finite ones replaced by 0 (autodiff's stable_shift)."""
    out = _rmax(a, True)
    for r in range(out.shape[0]):
        if not np.isfinite(out[r]):
            out[r] = 0
    return out


@njit(cache=True, error_model="numpy")
def _scatter(g, index, size):
    """A zero vector of ``size`` with g[j] added at index[j] (repeats accumulate)."""
    out = np.zeros(size, g.dtype)
    for j in range(index.shape[0]):
        out[index[j]] += g[j]
    return out


@njit(cache=True, error_model="numpy")
def _bmm(a, b):
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)
    for i in range(a.shape[0]):
        out[i] = np.dot(a[i], b[i])
    return out


@njit(cache=True, error_model="numpy")
def _cumsum3(a):
    """Cumulative sums along the middle axis of ``a`` (pre, n, post), sequentially (as NumPy)."""
    out = np.empty_like(a)
    for p in range(a.shape[0]):
        for q in range(a.shape[2]):
            acc = a[p, 0, q] * 0
            for i in range(a.shape[1]):
                acc += a[p, i, q]
                out[p, i, q] = acc
    return out


@njit(cache=True, error_model="numpy")
def _sort3(v, x, scatter):
    """Along the middle axis of (pre, n, post) arrays: ``v`` in the stable order that sorts
    ``x`` (gather), or ``v`` put back where the sorted keys came from (``scatter``)."""
    out = np.empty_like(v)
    for p in range(v.shape[0]):
        for q in range(v.shape[2]):
            perm = np.argsort(x[p, :, q], kind="mergesort")
            for i in range(v.shape[1]):
                if scatter:
                    out[p, perm[i], q] = v[p, i, q]
                else:
                    out[p, i, q] = v[p, perm[i], q]
    return out

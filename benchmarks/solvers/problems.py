"""Test problems for second-order solvers, written from the papers.

* :data:`MGH`: the 18 unconstrained minimisation problems of Moré, Garbow and Hillstrom,
  "Testing unconstrained optimization software", ACM TOMS 7 (1981), 17-41, at their standard
  dimensions and starting points (the paper's problem numbers in parentheses).
* :func:`scalable`: CUTEst-style scalable problems (extended Rosenbrock, ARWHEAD, discrete
  boundary value, DQDRTIC, chained Wood, Broyden tridiagonal, and a 2-D Laplacian with a
  quartic term) at any ``n``.

Every objective is written with :mod:`autodiff` operations, so the same function runs eagerly,
lifts and compiles (hybriddiff) or, given ``ops=jax.numpy``-like modules through
:func:`as_numpy`, under JAX. ``fstar`` lists the known minimum values (local minima the
paper reports included): a solve counts as correct when it reaches one of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import autodiff as ad

__all__ = ["MGH", "Problem", "scalable", "SCALABLE_NAMES"]


@dataclass(frozen=True)
class Problem:
    """One test problem: ``f(x, ops)`` with ``ops`` a module of array functions (default
    :mod:`autodiff`; ``jax.numpy`` works as well), the start ``x0``, the known minimum values
    ``fstar`` (a solve is correct when it reaches one of them) and where it comes from."""

    name: str
    f: Callable
    x0: np.ndarray
    fstar: tuple[float, ...] = (0.0,)
    source: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return int(self.x0.size)

    def objective(self, ops=ad) -> Callable:
        """``x -> f(x, ops)``."""
        return lambda x: self.f(x, ops)

    def reached(self, fun: float, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
        """Whether ``fun`` is one of the known minimum values (to ``rtol``/``atol``)."""
        return any(abs(fun - fs) <= atol + rtol * abs(fs) for fs in self.fstar)


def _sumsq(r, ops):
    return ops.sum(r * r)


def _stack(items, ops):
    return ops.stack(items)


# --- the 18 MGH problems ------------------------------------------------------------------
def helical_valley(x, ops):  # (7), n = 3
    theta = ops.where(
        x[0] > 0,
        ops.arctan(x[1] / x[0]) / (2 * math.pi),
        ops.arctan(x[1] / x[0]) / (2 * math.pi) + 0.5,
    )
    r = _stack([10 * (x[2] - 10 * theta), 10 * (ops.sqrt(x[0] ** 2 + x[1] ** 2) - 1), x[2]], ops)
    return _sumsq(r, ops)


_T13 = 0.1 * np.arange(1, 14)
_Y13 = np.exp(-_T13) - 5 * np.exp(-10 * _T13) + 3 * np.exp(-4 * _T13)


def biggs_exp6(x, ops):  # (18), n = 6, m = 13
    t = _T13
    r = x[2] * ops.exp(-t * x[0]) - x[3] * ops.exp(-t * x[1]) + x[5] * ops.exp(-t * x[4]) - _Y13
    return _sumsq(r, ops)


_GAUSS_Y = np.array(
    [0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
     0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009]
)  # fmt: skip
_GAUSS_T = (8 - np.arange(1, 16)) / 2


def gaussian(x, ops):  # (9), n = 3, m = 15
    r = x[0] * ops.exp(-x[1] * (_GAUSS_T - x[2]) ** 2 / 2) - _GAUSS_Y
    return _sumsq(r, ops)


def powell_badly_scaled(x, ops):  # (3), n = 2
    r = _stack([1e4 * x[0] * x[1] - 1, ops.exp(-x[0]) + ops.exp(-x[1]) - 1.0001], ops)
    return _sumsq(r, ops)


_T10 = 0.1 * np.arange(1, 11)


def box_3d(x, ops):  # (12), n = 3, m = 10
    t = _T10
    r = ops.exp(-t * x[0]) - ops.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10 * t))
    return _sumsq(r, ops)


def variably_dimensioned(x, ops):  # (25)
    n = x.shape[0]
    j = np.arange(1, n + 1)
    s = ops.sum(j * (x - 1))
    return _sumsq(x - 1, ops) + s**2 + s**4


_WT = np.arange(1, 30) / 29


def watson(x, ops):  # (20), n = 6, m = 31
    n = x.shape[0]
    j = np.arange(1, n + 1)
    a1 = np.where(j >= 2, (j - 1) * _WT[:, None] ** np.maximum(j - 2, 0), 0.0)  # (29, n)
    a2 = _WT[:, None] ** (j - 1)
    r = ops.sum(a1 * x, axis=1) - ops.sum(a2 * x, axis=1) ** 2 - 1
    return _sumsq(r, ops) + x[0] ** 2 + (x[1] - x[0] ** 2 - 1) ** 2


def penalty_1(x, ops):  # (23), n = 4
    a = 1e-5
    return a * _sumsq(x - 1, ops) + (ops.sum(x * x) - 0.25) ** 2


def penalty_2(x, ops):  # (24), n = 4
    n = x.shape[0]
    a = 1e-5
    i = np.arange(2, n + 1)
    y = np.exp(i / 10) + np.exp((i - 1) / 10)
    r1 = ops.exp(x[1:] / 10) + ops.exp(x[:-1] / 10) - y
    r2 = ops.exp(x[1:] / 10) - np.exp(-0.1)
    w = np.arange(n, 0, -1)
    return (
        (x[0] - 0.2) ** 2 + a * (_sumsq(r1, ops) + _sumsq(r2, ops)) + (ops.sum(w * x * x) - 1) ** 2
    )


def brown_badly_scaled(x, ops):  # (4), n = 2
    return (x[0] - 1e6) ** 2 + (x[1] - 2e-6) ** 2 + (x[0] * x[1] - 2) ** 2


_BD_T = np.arange(1, 21) / 5


def brown_dennis(x, ops):  # (16), n = 4, m = 20
    t = _BD_T
    r = (x[0] + t * x[1] - np.exp(t)) ** 2 + (x[2] + x[3] * np.sin(t) - np.cos(t)) ** 2
    return _sumsq(r, ops)


_GULF_T = np.arange(1, 100) / 100
_GULF_Y = 25 + (-50 * np.log(_GULF_T)) ** (2 / 3)


def gulf(x, ops):  # (11), n = 3, m = 99
    d = ops.abs(_GULF_Y - x[1])
    r = ops.exp(-ops.exp(x[2] * ops.log(d)) / x[0]) - _GULF_T
    return _sumsq(r, ops)


def trigonometric(x, ops):  # (26)
    n = x.shape[0]
    i = np.arange(1, n + 1)
    r = n - ops.sum(ops.cos(x)) + i * (1 - ops.cos(x)) - ops.sin(x)
    return _sumsq(r, ops)


def extended_rosenbrock(x, ops):  # (21)
    odd, even = x[0::2], x[1::2]
    return ops.sum(100 * (even - odd**2) ** 2 + (1 - odd) ** 2)


def extended_powell(x, ops):  # (22)
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    return ops.sum((a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4)


_BEALE_Y = np.array([1.5, 2.25, 2.625])


def beale(x, ops):  # (5), n = 2
    r = _BEALE_Y - x[0] * (1 - x[1] ** np.arange(1, 4))
    return _sumsq(r, ops)


def wood(x, ops):  # (14), n = 4
    return (
        100 * (x[1] - x[0] ** 2) ** 2
        + (1 - x[0]) ** 2
        + 90 * (x[3] - x[2] ** 2) ** 2
        + (1 - x[2]) ** 2
        + 10.1 * ((x[1] - 1) ** 2 + (x[3] - 1) ** 2)
        + 19.8 * (x[1] - 1) * (x[3] - 1)
    )


def chebyquad(x, ops):  # (35), n = m = 8
    n = x.shape[0]
    y = 2 * x - 1
    prev, cur = None, y
    total = 0.0
    for i in range(1, n + 1):
        if i == 2:
            prev, cur = cur, 2 * y * y - 1
        elif i > 2:
            prev, cur = cur, 2 * y * cur - prev
        exact = -1.0 / (i * i - 1) if i % 2 == 0 else 0.0
        total = total + (ops.sum(cur) / n - exact) ** 2
    return total


def _mgh() -> dict[str, Problem]:
    src = "Moré, Garbow & Hillstrom 1981, problem "
    rows = [
        ("helical_valley", helical_valley, [-1.0, 0.0, 0.0], (0.0,), 7),
        ("biggs_exp6", biggs_exp6, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0], (0.0, 5.65565e-3), 18),
        ("gaussian", gaussian, [0.4, 1.0, 0.0], (1.12793e-8,), 9),
        ("powell_badly_scaled", powell_badly_scaled, [0.0, 1.0], (0.0,), 3),
        ("box_3d", box_3d, [0.0, 10.0, 20.0], (0.0,), 12),
        ("variably_dimensioned", variably_dimensioned, 1 - np.arange(1, 11) / 10, (0.0,), 25),
        ("watson", watson, np.zeros(6), (2.28767e-3,), 20),
        ("penalty_2", penalty_2, np.full(4, 0.5), (9.37629e-6,), 24),
        ("penalty_1", penalty_1, np.arange(1.0, 5.0), (2.24997e-5,), 23),
        ("brown_badly_scaled", brown_badly_scaled, [1.0, 1.0], (0.0,), 4),
        ("brown_dennis", brown_dennis, [25.0, 5.0, -5.0, -1.0], (85822.2,), 16),
        ("gulf", gulf, [5.0, 2.5, 0.15], (0.0,), 11),
        ("trigonometric", trigonometric, np.full(10, 0.1), (0.0, 2.79506e-5), 26),
        ("extended_rosenbrock", extended_rosenbrock, np.tile([-1.2, 1.0], 5), (0.0,), 21),
        ("extended_powell", extended_powell, [3.0, -1.0, 0.0, 1.0], (0.0,), 22),
        ("beale", beale, [1.0, 1.0], (0.0,), 5),
        ("wood", wood, [-3.0, -1.0, -3.0, -1.0], (0.0,), 14),
        ("chebyquad", chebyquad, np.arange(1, 9) / 9, (3.51687e-3,), 35),
    ]
    return {
        name: Problem(name, f, np.asarray(x0, dtype=np.float64), fstar, f"{src}({k})", ("mgh",))
        for name, f, x0, fstar, k in rows
    }


MGH: dict[str, Problem] = _mgh()
"""The 18 MGH unconstrained problems by name (standard ``n`` and ``x0``)."""


# --- scalable CUTEst-style problems ----------------------------------------------------------
def arwhead(x, ops):  # CUTEst ARWHEAD
    return ops.sum(-4 * x[:-1] + 3.0) + ops.sum((x[:-1] ** 2 + x[-1] ** 2) ** 2)


def discrete_bv(x, ops):  # MGH (28), discrete boundary value (as a sum of squares)
    n = x.shape[0]
    h = 1.0 / (n + 1)
    t = np.arange(1, n + 1) * h
    mid = 2 * x[1:-1] - x[:-2] - x[2:] + h * h * (x[1:-1] + t[1:-1] + 1) ** 3 / 2
    first = 2 * x[0] - x[1] + h * h * (x[0] + t[0] + 1) ** 3 / 2
    last = 2 * x[-1] - x[-2] + h * h * (x[-1] + t[-1] + 1) ** 3 / 2
    return ops.sum(mid * mid) + first**2 + last**2


def dqdrtic(x, ops):  # CUTEst DQDRTIC
    return ops.sum(100 * x[1:-1] ** 2 + 100 * x[2:] ** 2 + x[:-2] ** 2)


def chained_wood(x, ops):  # CUTEst CHAINWOO (n a multiple of 4)
    n = x.shape[0]
    a, b, c, d = x[0 : n - 3 : 2], x[1 : n - 2 : 2], x[2 : n - 1 : 2], x[3:n:2]
    return 1.0 + ops.sum(
        100 * (b - a**2) ** 2
        + (1 - a) ** 2
        + 90 * (d - c**2) ** 2
        + (1 - c) ** 2
        + 10 * (b + d - 2) ** 2
        + 0.1 * (b - d) ** 2
    )


def broyden_tridiagonal(x, ops):  # MGH (30), as a sum of squares
    mid = (3 - 2 * x[1:-1]) * x[1:-1] - x[:-2] - 2 * x[2:] + 1
    first = (3 - 2 * x[0]) * x[0] - 2 * x[1] + 1
    last = (3 - 2 * x[-1]) * x[-1] - x[-2] + 1
    return ops.sum(mid * mid) + first**2 + last**2


def laplace_quartic(x, ops):
    """``sum |grad u|^2 / 2 + h^2 sum (u^4/4 - u)`` on an m x m grid, u = 0 outside."""
    m = math.isqrt(x.shape[0])
    h = 1.0 / (m + 1)
    u = ops.reshape(x, (m, m))
    dx = u[:, 1:] - u[:, :-1]
    dy = u[1:, :] - u[:-1, :]
    edges = ops.sum(u[:, 0] ** 2) + ops.sum(u[:, -1] ** 2)
    edges = edges + ops.sum(u[0, :] ** 2) + ops.sum(u[-1, :] ** 2)
    return 0.5 * (ops.sum(dx * dx) + ops.sum(dy * dy) + edges) + h * h * ops.sum(x**4 / 4 - x)


SCALABLE_NAMES = (
    "extended_rosenbrock", "arwhead", "discrete_bv", "dqdrtic", "chained_wood",
    "broyden_tridiagonal", "laplace_quartic",
)  # fmt: skip


def scalable(name: str, n: int) -> Problem:
    """Scalable problem ``name`` (one of :data:`SCALABLE_NAMES`) at about ``n`` variables
    (rounded to a multiple of 4 for chained Wood, to a square for the Laplacian)."""
    if name == "extended_rosenbrock":
        return Problem(name, extended_rosenbrock, np.tile([-1.2, 1.0], n // 2), (0.0,),
                       "MGH (21)", ("scalable",))  # fmt: skip
    if name == "arwhead":
        return Problem(name, arwhead, np.ones(n), (0.0,), "CUTEst ARWHEAD", ("scalable",))
    if name == "discrete_bv":
        t = np.arange(1, n + 1) / (n + 1)
        return Problem(name, discrete_bv, t * (t - 1), (0.0,), "MGH (28)", ("scalable",))
    if name == "dqdrtic":
        return Problem(name, dqdrtic, np.full(n, 3.0), (0.0,), "CUTEst DQDRTIC", ("scalable",))
    if name == "chained_wood":
        n4 = max(4, n - n % 4)
        x0 = np.tile([-3.0, -1.0], n4 // 2)
        return Problem(name, chained_wood, x0, (1.0,), "CUTEst CHAINWOO", ("scalable",))
    if name == "broyden_tridiagonal":
        return Problem(name, broyden_tridiagonal, -np.ones(n), (0.0,), "MGH (30)", ("scalable",))
    if name == "laplace_quartic":
        m = max(2, round(math.sqrt(n)))
        return Problem(name, laplace_quartic, np.zeros(m * m), (), "2-D Laplacian + quartic",
                       ("scalable", "fstar-unknown"))  # fmt: skip
    raise ValueError(f"scalable: unknown problem {name!r}; choose one of {SCALABLE_NAMES}")

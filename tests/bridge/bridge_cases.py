"""Shared cases for the bridge tests: the ``compile`` rows of the one op-spec table
(``tests/op_specs.py``), and the three faces.

Every row is a scalar function of one 1-D block ``x`` that exercises the op(s) it names. All
rows are compiled together as ``F(x, w) = sum_k w_k * f_k(x[block_k])`` with ``w`` a
*parameter* vector: one numba compile covers every op, ``w = e_k`` isolates the value of row
``k``, and the gradient and Hessian of ``F`` hold each row's own derivatives in its block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import op_specs
from op_specs import Row

import autodiff as ad
import symdiff
from symdiff.numeric import numpy_function

ROWS: list[Row] = op_specs.compile_rows()

REASONS: dict[str, str] = op_specs.compile_reasons()
"""Ops deliberately without a compile row, with the reason (from the op-spec table)."""


def sample(row: Row, rng: np.random.Generator, n_points: int | None = None) -> np.ndarray:
    """Points for ``row``: shape (size,) or (n_points, size), from the row's domain."""
    shape = (row.size,) if n_points is None else (n_points, row.size)
    return op_specs.sample(row.domain, shape, rng)


@dataclass
class Blocks:
    """The rows laid out side by side in one input vector."""

    rows: list[Row]

    @property
    def slices(self) -> list[slice]:
        out, start = [], 0
        for row in self.rows:
            out.append(slice(start, start + row.size))
            start += row.size
        return out

    @property
    def n(self) -> int:
        return sum(r.size for r in self.rows)

    def function(self) -> Callable:
        """``F(x, w) = sum_k w_k f_k(x[block_k])`` written with autodiff ops."""
        slices = self.slices

        def F(x, w):
            total = 0.0
            for k, (row, s) in enumerate(zip(self.rows, slices)):
                total = total + w[k] * row.fn(x[s])
            return total

        return F

    def points(self, rng: np.random.Generator, n_points: int | None = None) -> np.ndarray:
        return np.concatenate([sample(r, rng, n_points) for r in self.rows], axis=-1)


def eager(row: Row, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian of one row by eager autodiff (float64)."""
    x = np.asarray(x, dtype=np.float64)
    value = float(row.fn(ad.tensor(x)).data)
    return value, ad.grad(row.fn)(x), ad.hessian(row.fn)(x)


class LiftedFaces:
    """Value, gradient and dense Hessian of a lifted function evaluated through lambdify."""

    def __init__(self, lifted: symdiff.Lifted):
        self.n = len(lifted.variables)
        h = lifted.hessian()
        self.rows, self.cols = h.rows, h.cols
        symbols = list(lifted.variables) + list(lifted.parameters)
        exprs = [lifted.expr, *lifted.gradient(), *h.values]
        self.fn = numpy_function(symbols, exprs)

    def __call__(self, x: np.ndarray, p: np.ndarray):
        with np.errstate(all="ignore"):
            out = np.array([float(v) for v in self.fn(*x, *p)])
        hess = np.zeros((self.n, self.n))
        hess[self.rows, self.cols] = out[1 + self.n :]
        return out[0], out[1 : 1 + self.n], hess


def assert_close(actual, expected, rtol: float, what: str = "") -> None:
    """``|actual - expected| <= rtol * max|expected|`` (norm-wise relative error)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-6)
    err = float(np.max(np.abs(actual - expected), initial=0.0))
    assert err <= rtol * scale, f"{what}: max error {err:.3e} > {rtol:g} * {scale:.3e}"


# --- hand-written Rosenbrock derivatives: an oracle independent of every face ---------------
def rosen_chained_grad(x):
    """The textbook gradient, written directly in NumPy (an independent oracle)."""
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosen_chained_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    H[i + 1, i + 1] += 200.0
    H[i, i + 1] = H[i + 1, i] = -400.0 * x[:-1]
    return H

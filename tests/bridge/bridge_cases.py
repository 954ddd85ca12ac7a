"""Shared cases for the bridge tests: one scalar test function per op, and the three faces.

Every row is a scalar function of one 1-D block ``x`` that exercises the op(s) it names. All
rows are compiled together as ``F(x, w) = sum_k w_k * f_k(x[block_k])`` with ``w`` a
*parameter* vector: one numba compile covers every op, ``w = e_k`` isolates the value of row
``k``, and the gradient and Hessian of ``F`` hold each row's own derivatives in its block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import autodiff as ad
import symdiff
from autodiff.ops import elementwise as cmp
from autodiff.ops.elementwise import cast
from autodiff.ops.shape import scatter_add
from symdiff.numeric import numpy_function


@dataclass(frozen=True)
class Row:
    """A test function for ``ops`` on a block of ``size`` inputs drawn from ``domain``."""

    label: str
    ops: tuple[str, ...]
    fn: Callable
    size: int = 3
    domain: str = "real"


def _rows_unary() -> list[Row]:
    table = [
        ("exp", ad.exp, "real"),
        ("log", ad.log, "positive"),
        ("log1p", ad.log1p, "positive"),
        ("expm1", ad.expm1, "real"),
        ("sqrt", ad.sqrt, "positive"),
        ("square", ad.square, "real"),
        ("sin", ad.sin, "real"),
        ("cos", ad.cos, "real"),
        ("tan", ad.tan, "small"),
        ("tanh", ad.tanh, "real"),
        ("sigmoid", ad.sigmoid, "wide"),
        ("softplus", ad.softplus, "wide"),
    ]
    # times the reversed block, so that the Hessian has off-diagonal entries too
    return [
        Row(name, (name, "mul", "getitem", "sum"), lambda x, op=op: ad.sum(op(x) * x[::-1]), 3, d)
        for name, op, d in table
    ]


ROWS: list[Row] = _rows_unary() + [
    Row("neg", ("neg",), lambda x: ad.sum(ad.exp(-x) * x)),
    Row("add", ("add",), lambda x: ad.sum(ad.sin(x + x * x))),
    Row("sub", ("sub",), lambda x: ad.sum((x[0] - x) ** 3)),
    Row("mul", ("mul",), lambda x: ad.sum(x * x[::-1] * x)),
    Row("div", ("div",), lambda x: ad.sum(x / (1.0 + x * x[::-1]))),
    Row("pow", ("pow",), lambda x: ad.sum(x[:2] ** x[1:]) + ad.sum(x**2.5), 3, "positive"),
    Row("heaviside", ("heaviside",), lambda x: ad.sum(ad.heaviside(x, 0.5) * x**3), 3, "away"),
    Row("sign", ("sign",), lambda x: ad.sum(ad.sign(x) * x**3 * x[::-1]), 3, "away"),
    Row("relu", ("relu",), lambda x: ad.sum(ad.relu(x) ** 3 * x[::-1]), 3, "away"),
    Row("abs", ("abs",), lambda x: ad.sum(ad.abs(x) ** 3 * x[::-1]), 3, "away"),
    Row("maximum", ("maximum",), lambda x: ad.sum(ad.maximum(x[:2], x[2:]) ** 3), 4, "ladder"),
    Row("minimum", ("minimum",), lambda x: ad.sum(ad.minimum(x[:2], x[2:]) ** 3), 4, "ladder"),
    Row(
        "where/greater",
        ("where", "greater"),
        lambda x: ad.sum(ad.where(cmp.greater(x, 0.0), x**3, ad.sin(x))),
        3,
        "away",
    ),
    Row(
        "less/less_equal",
        ("where", "less", "less_equal"),
        lambda x: (
            ad.sum(ad.where(cmp.less(x[:2], x[2:]), x[:2] ** 2, x[2:] ** 3))
            + ad.sum(ad.where(cmp.less_equal(x[:2], x[2:]), ad.exp(x[2:]), x[:2]))
        ),
        4,
        "ladder",
    ),
    Row(
        "greater_equal/equal/not_equal",
        ("where", "greater_equal", "equal", "not_equal"),
        lambda x: (
            ad.sum(ad.where(cmp.greater_equal(x[:2], x[2:]), x[:2] * x[2:], x[2:] ** 2))
            + ad.sum(ad.where(cmp.equal(x[:2], x[2:]), x[:2], ad.cos(x[2:])))
            + ad.sum(ad.where(cmp.not_equal(x[:2], x[2:]), x[2:] ** 3, x[:2]))
        ),
        4,
        "ladder",
    ),
    Row("cast", ("cast",), lambda x: ad.sum(cast(x, np.float64) ** 3)),
    Row(
        "reshape/transpose",
        ("reshape", "transpose"),
        lambda x: ad.sum(ad.transpose(ad.reshape(x, (2, 2))) * ad.reshape(x, (2, 2)) ** 2),
        4,
    ),
    Row(
        "broadcast_to",
        ("broadcast_to",),
        lambda x: ad.sum(ad.broadcast_to(x[:1], (2,)) * x[1:] ** 2),
    ),
    Row("getitem", ("getitem",), lambda x: x[0] * x[2] ** 2 + ad.sum(ad.sin(x[[1, 1, 2]]))),
    Row(
        "scatter_add",
        ("scatter_add",),
        lambda x: ad.sum(scatter_add(x[:2] * x[1:], np.array([0, 0]), (3,)) ** 2 * x),
    ),
    Row(
        "concatenate",
        ("concatenate",),
        lambda x: ad.sum(ad.concatenate([x[:2] ** 2, ad.sin(x)]) * ad.concatenate([x, x[1:]])),
    ),
    Row(
        "matmul",
        ("matmul",),
        lambda x: ad.sum(ad.matmul(ad.reshape(x, (2, 2)), ad.reshape(x[::-1], (2, 2))) ** 2),
        4,
    ),
    Row("sum axis", ("sum",), lambda x: ad.sum(ad.sum(ad.reshape(x, (2, 2)), axis=0) ** 3), 4),
    Row("max", ("max",), lambda x: ad.max(x * x[::-1] + x), 3, "distinct"),
    Row("min", ("min",), lambda x: ad.min(ad.sin(x) * x[0]), 3, "distinct"),
    Row("prod", ("prod",), lambda x: ad.prod(x) * ad.sum(x), 4),
    Row("logsumexp", ("stable_shift",), lambda x: ad.logsumexp(x * x[::-1])),
    Row("softmax", ("stable_shift",), lambda x: ad.sum(ad.softmax(x) * x)),
    Row("var", (), lambda x: ad.var(x * x)),
    Row(
        "cast_discrete",
        ("cast_discrete",),
        lambda x: (
            ad.sum(cast(x * 2.0, np.int64) * x**3) + ad.sum(cast(cast(x, bool), np.float64) * x)
        ),
    ),
]

REASONS: dict[str, str] = {}
"""Ops deliberately without a row, with the reason (none at present: every op has a row)."""


def sample(row: Row, rng: np.random.Generator, n_points: int | None = None) -> np.ndarray:
    """Points for ``row``: shape (size,) or (n_points, size), kept away from kinks and ties."""
    shape = (row.size,) if n_points is None else (n_points, row.size)
    if row.domain == "real":
        return rng.uniform(-1.5, 1.5, shape)
    if row.domain == "wide":
        return rng.uniform(-6.0, 6.0, shape)
    if row.domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if row.domain == "small":
        return rng.uniform(-1.0, 1.0, shape)
    if row.domain == "away":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 1.5, shape)
    if row.domain == "ladder":  # first half and second half differ by at least 0.2
        base = rng.uniform(-1.0, 1.0, shape)
        shift = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 0.8, shape)
        half = row.size // 2
        base[..., half:] = base[..., :half] + shift[..., :half]
        return base
    if row.domain == "distinct":  # x*x[::-1]+x and sin(x)*x0 stay apart for these values
        base = np.array([-1.2, 0.3, 1.1])
        return base + rng.uniform(-0.05, 0.05, shape)
    raise ValueError(row.domain)


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

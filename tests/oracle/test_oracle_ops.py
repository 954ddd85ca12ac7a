"""An oracle that shares none of our rules: every differentiable op against mpmath.

Each differentiable op of the table has an entry here: a small scalar function written with
autodiff (exercising the op) and the *same function written independently with mpmath*. The
oracle differentiates the mpmath function numerically (``mpmath.diff``, at 30 significant
digits), so it uses neither our VJP/JVP rules nor our SymPy rules. Every face is compared with
it, at a few points per op:

* eager value, reverse-mode gradient (``grad``), forward-mode gradient (``jacfwd``), Hessian by
  forward-over-reverse (``hessian``) and by reverse-over-reverse (``jacobian(grad)``);
* the lifted SymPy value, gradient and Hessian, evaluated exactly (``evalf(60)``: the formula
  ``σ(1 - σ)`` cancels ~13 digits at 30);
* compiled value, gradient and Hessian (one numba compile for all entries).

Tolerances: float64 faces are compared norm-wise at ``RTOL_F64 = 1e-11``: each entry is a
composition of at most a few dozen correctly rounded operations (error <= ~50 ulp ~ 1e-14)
at points chosen away from cancellation, and ``mpmath.diff`` at 30 digits is accurate to far
beyond that. The lifted face is exact arithmetic on the same formula, so it must agree with the
oracle to ``RTOL_EXACT = 1e-20`` (the numerical differentiation's own error is ~1e-25).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import bridge
import symdiff
from autodiff.ops import ALL_OPS
from autodiff.ops import elementwise as cmp
from autodiff.ops.elementwise import cast
from autodiff.ops.shape import scatter_add

mpmath.mp.dps = 30
RTOL_F64 = 1e-11
RTOL_EXACT = 1e-20
mp = mpmath


@dataclass(frozen=True)
class Entry:
    """``fn`` (autodiff, on a 1-D block) and ``oracle`` (mpmath, on scalars) of one op."""

    op: str
    fn: Callable
    oracle: Callable
    points: tuple[tuple[float, ...], ...]


def _heaviside(a, at_zero=0.5):
    return mp.mpf(1) if a > 0 else (mp.mpf(0) if a < 0 else mp.mpf(at_zero))


def _sign(a):
    return mp.mpf(1) if a > 0 else (mp.mpf(-1) if a < 0 else mp.mpf(0))


P2 = ((0.7, -1.3), (1.9, 0.4), (-0.35, 2.2))
POS2 = ((0.7, 1.3), (1.9, 0.4), (2.5, 2.2))
P4 = ((0.7, -1.3, 0.4, 1.1), (1.9, 0.4, -0.6, -1.2))

ENTRIES: list[Entry] = [
    Entry("neg", lambda x: -x[0] * x[1] ** 2, lambda a, b: -a * b**2, P2),
    Entry("add", lambda x: (x[0] + x[1]) ** 3, lambda a, b: (a + b) ** 3, P2),
    Entry("sub", lambda x: (x[0] - x[1]) ** 3, lambda a, b: (a - b) ** 3, P2),
    Entry("mul", lambda x: x[0] * x[1] * x[0], lambda a, b: a * b * a, P2),
    Entry("div", lambda x: x[0] / (1.5 + x[1] * x[1]), lambda a, b: a / (1.5 + b * b), P2),
    Entry("pow", lambda x: x[0] ** x[1], lambda a, b: mp.power(a, b), POS2),
    Entry("exp", lambda x: ad.exp(x[0] * x[1]), lambda a, b: mp.exp(a * b), P2),
    Entry("log", lambda x: ad.log(x[0] * x[1]), lambda a, b: mp.log(a * b), POS2),
    Entry("log1p", lambda x: ad.log1p(x[0] * x[1]), lambda a, b: mp.log(1 + a * b), POS2),
    Entry("expm1", lambda x: ad.expm1(x[0] * x[1]), lambda a, b: mp.exp(a * b) - 1, P2),
    Entry("sqrt", lambda x: ad.sqrt(x[0] * x[1]), lambda a, b: mp.sqrt(a * b), POS2),
    Entry("square", lambda x: ad.square(x[0] * x[1]), lambda a, b: (a * b) ** 2, P2),
    Entry("sin", lambda x: ad.sin(x[0] * x[1]), lambda a, b: mp.sin(a * b), P2),
    Entry("cos", lambda x: ad.cos(x[0] * x[1]), lambda a, b: mp.cos(a * b), P2),
    Entry(
        "tan", lambda x: ad.tan(x[0] * x[1]), lambda a, b: mp.tan(a * b), ((0.7, -1.3), (1.9, 0.4))
    ),
    Entry("tanh", lambda x: ad.tanh(x[0] * x[1]), lambda a, b: mp.tanh(a * b), P2),
    Entry(
        "sigmoid",
        lambda x: ad.sigmoid(x[0] * x[1]),
        lambda a, b: 1 / (1 + mp.exp(-a * b)),
        P2 + ((6.0, 5.0),),
    ),
    Entry(
        "softplus",
        lambda x: ad.softplus(x[0] * x[1]),
        lambda a, b: mp.log1p(mp.exp(a * b)),
        P2 + ((6.0, -5.0),),
    ),
    Entry(
        "heaviside",
        lambda x: ad.heaviside(x[0], 0.5) * x[0] ** 3 * x[1],
        lambda a, b: _heaviside(a) * a**3 * b,
        P2,
    ),
    Entry("sign", lambda x: ad.sign(x[0]) * x[0] ** 3 * x[1], lambda a, b: _sign(a) * a**3 * b, P2),
    Entry(
        "relu",
        lambda x: ad.relu(x[0]) ** 3 * x[1],
        lambda a, b: (a if a > 0 else 0) ** 3 * b,
        P2,
    ),
    Entry("abs", lambda x: ad.abs(x[0]) ** 3 * x[1], lambda a, b: abs(a) ** 3 * b, P2),
    Entry(
        "maximum",
        lambda x: ad.maximum(x[0], x[1]) ** 3,
        lambda a, b: (a if a > b else b) ** 3,
        P2,
    ),
    Entry(
        "minimum",
        lambda x: ad.minimum(x[0], x[1]) ** 3,
        lambda a, b: (a if a < b else b) ** 3,
        P2,
    ),
    Entry(
        "where",
        lambda x: ad.where(cmp.greater(x[0], x[1]), x[0] ** 2 * x[1], ad.sin(x[0] * x[1])),
        lambda a, b: a**2 * b if a > b else mp.sin(a * b),
        P2,
    ),
    Entry("cast", lambda x: cast(x[0] * x[1], np.float64) ** 3, lambda a, b: (a * b) ** 3, P2),
    Entry(
        "reshape",
        lambda x: ad.sum(ad.reshape(x, (2, 2))[0] ** 2 * ad.reshape(x, (2, 2))[1]),
        lambda a, b, c, d: a**2 * c + b**2 * d,
        P4,
    ),
    Entry(
        "transpose",
        lambda x: ad.sum(ad.transpose(ad.reshape(x, (2, 2)))[0] ** 3),
        lambda a, b, c, d: a**3 + c**3,
        P4,
    ),
    Entry(
        "broadcast_to",
        lambda x: ad.sum(ad.broadcast_to(x[:1], (3,)) * x[1:] ** 2),
        lambda a, b, c, d: a * (b**2 + c**2 + d**2),
        P4,
    ),
    Entry(
        "getitem",
        lambda x: ad.sum(x[[1, 1, 3]] * x[:3]),
        lambda a, b, c, d: b * a + b * b + d * c,
        P4,
    ),
    Entry(
        "scatter_add",
        lambda x: ad.sum(scatter_add(x[:3] * x[1:], np.array([0, 1, 0]), (2,)) ** 2),
        lambda a, b, c, d: (a * b + c * d) ** 2 + (b * c) ** 2,
        P4,
    ),
    Entry(
        "concatenate",
        lambda x: ad.sum(ad.concatenate([x[:2] ** 2, ad.sin(x[2:])]) * x[::-1]),
        lambda a, b, c, d: a**2 * d + b**2 * c + mp.sin(c) * b + mp.sin(d) * a,
        P4,
    ),
    Entry(
        "matmul",
        lambda x: ad.sum(ad.matmul(ad.reshape(x, (2, 2)), ad.reshape(x[::-1], (2, 2))) ** 2),
        lambda a, b, c, d: (
            (a * d + b * b) ** 2
            + (a * c + b * a) ** 2
            + (c * d + d * b) ** 2
            + (c * c + d * a) ** 2
        ),
        P4,
    ),
    Entry(
        "sum",
        lambda x: ad.sum(ad.sum(ad.reshape(x, (2, 2)), axis=0) ** 3),
        lambda a, b, c, d: (a + c) ** 3 + (b + d) ** 3,
        P4,
    ),
    Entry(
        "max",
        lambda x: ad.max(x * x[::-1] + x),
        lambda a, b, c, d: max(a * d + a, b * c + b, c * b + c, d * a + d),
        P4,
    ),
    Entry(
        "min",
        lambda x: ad.min(ad.sin(x) * x[0]),
        lambda a, b, c, d: min(mp.sin(a) * a, mp.sin(b) * a, mp.sin(c) * a, mp.sin(d) * a),
        P4,
    ),
    Entry(
        "prod",
        lambda x: ad.prod(x) * ad.sum(x),
        lambda a, b, c, d: a * b * c * d * (a + b + c + d),
        P4,
    ),
    # autodiff.ops.special (issue 13)
    Entry(
        "floor", lambda x: ad.floor(x[0] * 2.0) * x[1] ** 2, lambda a, b: mp.floor(2 * a) * b**2, P2
    ),
    Entry(
        "ceil", lambda x: ad.ceil(x[0] * 2.0) * x[1] ** 2, lambda a, b: mp.ceil(2 * a) * b**2, P2
    ),
    Entry(
        "trunc",
        lambda x: ad.trunc(x[0] * 3.0) * x[1] ** 2,
        lambda a, b: (mp.floor(3 * a) if a >= 0 else mp.ceil(3 * a)) * b**2,
        P2,
    ),
    Entry(
        "round", lambda x: ad.round(x[0] * 3.0) * x[1] ** 2, lambda a, b: mp.nint(3 * a) * b**2, P2
    ),
    Entry(
        "mod",
        lambda x: ad.mod(x[0] * 3.0, x[1] + 3.0) * x[1],
        lambda a, b: (3 * a - (b + 3) * mp.floor(3 * a / (b + 3))) * b,
        P2,
    ),
    Entry("log2", lambda x: ad.log2(x[0] * x[1]), lambda a, b: mp.log(a * b, 2), POS2),
    Entry("log10", lambda x: ad.log10(x[0] * x[1]), lambda a, b: mp.log10(a * b), POS2),
    Entry("exp2", lambda x: ad.exp2(x[0] * x[1]), lambda a, b: mp.power(2, a * b), P2),
    Entry(
        "logaddexp",
        lambda x: ad.logaddexp(x[0], x[1] * 2.0),
        lambda a, b: mp.log(mp.exp(a) + mp.exp(2 * b)),
        P2,
    ),
    Entry(
        "logaddexp2",
        lambda x: ad.logaddexp2(x[0], x[1]),
        lambda a, b: mp.log(mp.power(2, a) + mp.power(2, b), 2),
        P2,
    ),
    Entry("hypot", lambda x: ad.hypot(x[0], x[1]), lambda a, b: mp.sqrt(a * a + b * b), P2),
    Entry("atan2", lambda x: ad.arctan2(x[0], x[1] + 3.0), lambda a, b: mp.atan2(a, b + 3), P2),
    Entry("asin", lambda x: ad.arcsin(x[0] * x[1] * 0.25), lambda a, b: mp.asin(a * b / 4), P2),
    Entry("acos", lambda x: ad.arccos(x[0] * x[1] * 0.25), lambda a, b: mp.acos(a * b / 4), P2),
    Entry("atan", lambda x: ad.arctan(x[0] * x[1]), lambda a, b: mp.atan(a * b), P2),
    Entry("sinh", lambda x: ad.sinh(x[0] * x[1]), lambda a, b: mp.sinh(a * b), P2),
    Entry("cosh", lambda x: ad.cosh(x[0] * x[1]), lambda a, b: mp.cosh(a * b), P2),
    Entry("asinh", lambda x: ad.arcsinh(x[0] * x[1]), lambda a, b: mp.asinh(a * b), P2),
    Entry(
        "acosh",
        lambda x: ad.arccosh(x[0] * x[0] + x[1] * x[1] + 1.0),
        lambda a, b: mp.acosh(a * a + b * b + 1),
        P2,
    ),
    Entry("atanh", lambda x: ad.arctanh(x[0] * x[1] * 0.25), lambda a, b: mp.atanh(a * b / 4), P2),
    Entry("erf", lambda x: ad.erf(x[0] * x[1]), lambda a, b: mp.erf(a * b), P2),
    Entry("erfc", lambda x: ad.erfc(x[0] * x[1]), lambda a, b: mp.erfc(a * b), P2),
    Entry("nan_to_num", lambda x: ad.nan_to_num(x[0] * x[1]) ** 2, lambda a, b: (a * b) ** 2, P2),
    # not an op of its own (stable_shift is not differentiable), but its composites are
    Entry(
        "logsumexp",
        lambda x: ad.logsumexp(x * x[::-1]),
        lambda a, b, c, d: mp.log(2 * mp.exp(a * d) + 2 * mp.exp(b * c)),
        P4,
    ),
]


def test_every_differentiable_op_has_an_oracle_entry():
    differentiable = {op.name for op in ALL_OPS if op.differentiable}
    have = {e.op for e in ENTRIES}
    missing = differentiable - have
    assert not missing, f"differentiable ops without an mpmath oracle entry: {sorted(missing)}"


# Families of ops (tests/op_specs_<area>.py) add entries as ``ORACLE_ENTRIES``: tuples of
# (op, fn, mpmath oracle, points). op_specs first: it imports them (no circular import).
import op_specs  # noqa: E402, F401

for _path in sorted(Path(__file__).parents[1].glob("op_specs_*.py")):
    ENTRIES += [Entry(*e) for e in getattr(import_module(_path.stem), "ORACLE_ENTRIES", ())]
SIZES = [len(e.points[0]) for e in ENTRIES]


def _oracle(entry: Entry, point) -> tuple[float, np.ndarray, np.ndarray]:
    pt = [mp.mpf(v) for v in point]
    n = len(pt)

    def d(*orders):
        return mp.diff(entry.oracle, pt, orders)

    unit = [tuple(int(i == k) for i in range(n)) for k in range(n)]
    grad = [d(*u) for u in unit]
    hess = [[d(*[a + b for a, b in zip(unit[i], unit[j])]) for j in range(n)] for i in range(n)]
    return (
        entry.oracle(*pt),
        np.array(grad, dtype=object),
        np.array(hess, dtype=object),
    )


def _mpf(a):
    return mp.mpf(float(a)) if isinstance(a, np.floating | float | int) else mp.mpf(a)


def _close(actual, expected, rtol: float, what: str) -> None:
    """Norm-wise: ``max |actual - expected| <= rtol * max |expected|`` (mpf-aware)."""
    actual = np.atleast_1d(np.asarray(actual, dtype=object)).ravel()
    expected = np.atleast_1d(np.asarray(expected, dtype=object)).ravel()
    assert actual.shape == expected.shape, f"{what}: {actual.shape} != {expected.shape}"
    scale = max(max(abs(mp.mpf(e)) for e in expected), mp.mpf("1e-30"))
    err = max(abs(_mpf(a) - mp.mpf(e)) for a, e in zip(actual, expected))
    assert err <= rtol * scale, f"{what}: error {mp.nstr(err, 5)} > {rtol} * {mp.nstr(scale, 5)}"


@pytest.fixture(scope="module")
def kernels():
    """Every entry compiled together: ``F(x, w) = sum_k w_k f_k(x_k)``, ``w`` parameters."""
    starts = np.cumsum([0, *SIZES])
    slices = [slice(a, b) for a, b in zip(starts[:-1], starts[1:])]

    def F(x, w):
        return sum(w[k] * e.fn(x[s]) for k, (e, s) in enumerate(zip(ENTRIES, slices)))

    base = np.concatenate([np.array(e.points[0]) for e in ENTRIES])
    return bridge.compile(F, base, np.ones(len(ENTRIES)), params=1), base, slices


@pytest.fixture(scope="module")
def oracle_values():
    return {(e.op, p): _oracle(e, p) for e in ENTRIES for p in e.points}


@pytest.mark.parametrize("k", range(len(ENTRIES)), ids=[e.op for e in ENTRIES])
def test_op_against_mpmath_oracle(k, kernels, oracle_values):
    entry = ENTRIES[k]
    compiled, base, slices = kernels
    s, w = slices[k], np.eye(len(ENTRIES))[k]
    lifted = symdiff.lift(entry.fn, np.array(entry.points[0]))
    hess = lifted.hessian()
    for point in entry.points:
        value, grad, hessian = oracle_values[entry.op, point]
        x = np.array(point)
        label = f"{entry.op} at {point}"
        # eager: reverse and forward mode, two Hessians
        _close(float(entry.fn(ad.tensor(x)).data), [value], RTOL_F64, f"eager {label} value")
        _close(ad.grad(entry.fn)(x), grad, RTOL_F64, f"reverse {label} grad")
        _close(ad.jacfwd(entry.fn)(x), grad, RTOL_F64, f"forward {label} grad")
        _close(ad.hessian(entry.fn)(x), hessian, RTOL_F64, f"fwd-over-rev {label} hessian")
        rr = ad.jacobian(ad.grad(entry.fn))(x)
        _close(rr, hessian, RTOL_F64, f"rev-over-rev {label} hessian")
        # lifted SymPy, evaluated exactly
        # 80-digit inputs: SymPy evaluates exp(Float) eagerly, at the Float's precision
        subs = dict(zip(lifted.variables, [sp.Float(v, 80) for v in point]))
        exact = [e.xreplace(subs).evalf(60) for e in [lifted.expr, *lifted.gradient()]]
        _close([mp.mpf(str(exact[0]))], [value], RTOL_EXACT, f"lifted {label} value")
        _close([mp.mpf(str(v)) for v in exact[1:]], grad, RTOL_EXACT, f"lifted {label} grad")
        dense = np.full(hessian.shape, mp.mpf(0), dtype=object)
        for r, c, v in zip(hess.rows, hess.cols, hess.values):
            dense[r, c] = mp.mpf(str(v.xreplace(subs).evalf(60)))
        _close(dense, hessian, RTOL_EXACT, f"lifted {label} hessian")
        # compiled
        X = base.copy()
        X[s] = x
        _close([compiled.value(X, w)], [value], RTOL_F64, f"compiled {label} value")
        _close(compiled.grad(X, w)[s], grad, RTOL_F64, f"compiled {label} grad")
        _close(compiled.hessian(X, w)[s, s], hessian, RTOL_F64, f"compiled {label} hessian")

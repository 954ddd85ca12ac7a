"""Extreme inputs for every op: eager == lifted == compiled at |x| up to 700, ±0, subnormals,
values near the overflow of exp and of the float64 range.

Each op of the table gets an *extreme domain* here (the shared tables in ``bridge_cases`` keep
their moderate domains). All cases are compiled together, ``F(x, w) = sum_k w_k f_k(x_k)``
with ``w`` a parameter vector, so one numba compile covers every op; a case is evaluated with
``w = e_k`` and the other blocks at their first (moderate) point.

Agreement rule, per case, point and derivative (value, gradient, Hessian): two results agree
when they have the same inf/nan pattern (same sign of inf) and their finite entries agree
norm-wise to ``RTOL`` relative (plus the smallest normal double, 2.3e-308). The lifted face is
the lifted formula evaluated *exactly* (SymPy ``evalf`` at 400 digits, rounded to float64): in
float64 the
literal formula of ``logsumexp`` (``log(sum(exp(x)))``, the shift being a no-op constant under
lift) overflows where eager's shifted code does not.

* compiled agrees with eager; where it does not, eager lost it (e.g. ``d expm1(-700)`` as
  ``expm1 + 1 = 0``, ``nan`` from ``inf - inf`` in eager's division VJP at ``1 / 5e-324``) and
  compiled must then agree with the exact value;
* the exact lifted value agrees with eager or with compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import bridge
import symdiff
from autodiff.engine import toposort
from autodiff.ops import ALL_OPS
from autodiff.ops import elementwise as cmp
from autodiff.ops.elementwise import cast
from autodiff.ops.shape import scatter_add
from autodiff.tensor import tensor

RTOL = 1e-10
SUBNORMAL_ATOL = 2.3e-308  # below the normal range, underflowing intermediates lose digits
BIG = 1.7e308  # near the largest double
TINY = 5e-324  # the smallest subnormal
MOD = 0.5  # a moderate value (first point of every unary case)


@dataclass(frozen=True)
class Case:
    """A scalar function of one block exercising ``ops`` at the extreme ``points``."""

    label: str
    ops: tuple[str, ...]
    fn: Callable
    points: tuple[tuple[float, ...], ...]

    @property
    def size(self) -> int:
        return len(self.points[0])


def _unary(name, fn, values) -> Case:
    return Case(name, (name,), lambda x: fn(x[0]), tuple((v,) for v in (MOD, *values)))


def _binary(name, fn, pairs) -> Case:
    return Case(name, (name,), lambda x: fn(x[0], x[1]), ((0.5, 0.25), *pairs))


_KINK_POINTS = (700.0, -700.0, TINY, -TINY, 0.0, -0.0, BIG, -BIG)
_CMP_POINTS = (
    (0.25, 0.5),
    (700.0, -700.0),
    (TINY, -TINY),
    (1e200, 1e200),
    (BIG, BIG),
    (0.0, -0.0),
    (-BIG, BIG),
)
_BLOCK = (
    (0.5, -0.3, 0.8, 1.1),
    (1e150, -1e150, 2e150, 3e150),
    (TINY, -TINY, 1e-300, 2.5e-320),
    (700.0, -700.0, 690.0, 1.0),
    (0.0, -0.0, 1e-160, -3e-170),
    (1e155, 1.0, 1.0, 1e155),  # squares overflow
)


def _where(op):
    return lambda a, b: ad.where(op(a, b), a * b, a - b)


CASES: list[Case] = [
    _unary("neg", lambda a: -a, (-700.0, 700.0, 0.0, -0.0, TINY, BIG, -BIG)),
    _unary("exp", ad.exp, (-745.0, -800.0, 700.0, 709.7, 710.0, 0.0, -0.0, TINY)),
    _unary("log", ad.log, (TINY, 1e-308, BIG, 700.0, 0.0)),
    _unary("log1p", ad.log1p, (TINY, -0.0, 1e-300, 1e150, 1e300, -1 + 2**-52, -1.0)),
    _unary("expm1", ad.expm1, (TINY, -0.0, 1e-300, -700.0, 700.0, 709.7, -800.0, 710.0)),
    _unary("sqrt", ad.sqrt, (TINY, 1e-308, BIG, 700.0, 0.0)),
    _unary("square", ad.square, (1e154, 1e155, TINY, -700.0, -1.3e154)),
    _unary("sin", ad.sin, (700.0, -700.0, TINY, -0.0, 1e22)),
    _unary("cos", ad.cos, (700.0, -700.0, TINY, -0.0, 1e22)),
    _unary("tan", ad.tan, (1.5707963267948966, -1.5707963267948966, TINY, 700.0, -0.0)),
    _unary("tanh", ad.tanh, (700.0, -700.0, TINY, 20.0, -0.0, 1e-300)),
    _unary("sigmoid", ad.sigmoid, (-745.0, -710.0, 700.0, 800.0, -800.0, TINY, -0.0, 40.0)),
    _unary("softplus", ad.softplus, (800.0, -800.0, -745.0, 40.0, -40.0, TINY, BIG)),
    _unary("heaviside", lambda a: ad.heaviside(a, 0.5) * a, _KINK_POINTS),
    _unary("sign", lambda a: ad.sign(a) * a, _KINK_POINTS),
    _unary("relu", lambda a: ad.relu(a) * a, _KINK_POINTS),
    _unary("abs", lambda a: ad.abs(a) * a, _KINK_POINTS),
    _unary("cast", lambda a: cast(a, np.float64) * a, (1e154, 1e155, TINY, -0.0, -700.0)),
    # float -> int truncates toward zero (no gradient); int64 bounds keep |x| below 2**63
    _unary(
        "cast_discrete",
        lambda a: cast(a, np.int64) * a,
        (700.5, -700.5, TINY, -TINY, -0.0, 2.5, -2.5, 1e15 + 0.5),
    ),
    _binary("add", lambda a, b: a + b, ((1e308, 1e308), (BIG, -BIG), (TINY, TINY), (-0.0, -0.0))),
    _binary("sub", lambda a, b: a - b, ((1e308, -1e308), (BIG, BIG), (TINY, -TINY), (-0.0, 0.0))),
    _binary(
        "mul",
        lambda a, b: a * b,
        ((1e200, 1e200), (1e-200, 1e-200), (TINY, 0.5), (-0.0, 700.0), (BIG, -2.0)),
    ),
    _binary(
        "div",
        lambda a, b: a / b,
        ((1.0, TINY), (1e-300, 1e10), (0.0, 1.0), (1e300, 1e-10), (TINY, 1e300), (1.0, 1e160)),
    ),
    _binary(
        "pow",
        lambda a, b: a**b,
        ((700.0, 2.0), (1e-300, 0.5), (2.0, 1023.0), (2.0, 1030.0), (0.5, 1074.0), (BIG, 1.0)),
    ),
    _binary("maximum", ad.maximum, ((700.0, -700.0), (BIG, -BIG), (TINY, -TINY), (-1e-300, 0.0))),
    _binary("minimum", ad.minimum, ((700.0, -700.0), (BIG, -BIG), (TINY, -TINY), (-1e-300, 0.0))),
    _binary("where/less", _where(cmp.less), _CMP_POINTS),
    _binary("where/less_equal", _where(cmp.less_equal), _CMP_POINTS),
    _binary("where/greater", _where(cmp.greater), _CMP_POINTS),
    _binary("where/greater_equal", _where(cmp.greater_equal), _CMP_POINTS),
    _binary("where/equal", _where(cmp.equal), _CMP_POINTS),
    _binary("where/not_equal", _where(cmp.not_equal), _CMP_POINTS),
    Case(
        "reshape/transpose",
        ("reshape", "transpose"),
        lambda x: ad.sum(ad.transpose(ad.reshape(x, (2, 2))) * ad.reshape(x, (2, 2))),
        _BLOCK,
    ),
    Case(
        "broadcast_to",
        ("broadcast_to",),
        lambda x: ad.sum(ad.broadcast_to(x[:1], (3,)) * x[1:]),
        _BLOCK,
    ),
    Case("getitem", ("getitem",), lambda x: ad.sum(x[[1, 1, 2]] * x[:3]) + x[3], _BLOCK),
    Case(
        "scatter_add",
        ("scatter_add",),
        lambda x: ad.sum(scatter_add(x[:2] * x[2:], np.array([0, 0]), (2,)) * x[:2]),
        _BLOCK,
    ),
    Case(
        "concatenate",
        ("concatenate",),
        lambda x: ad.sum(ad.concatenate([x[:2], x[2:] * x[:2]]) * x[::-1]),
        _BLOCK,
    ),
    Case(
        "matmul",
        ("matmul",),
        lambda x: ad.sum(ad.matmul(ad.reshape(x, (2, 2)), ad.reshape(x[::-1], (2, 2)))),
        _BLOCK,
    ),
    Case("sum", ("sum",), lambda x: ad.sum(ad.sum(ad.reshape(x * x, (2, 2)), axis=0)), _BLOCK),
    Case(
        "max",
        ("max",),
        lambda x: ad.max(x),
        ((0.5, -0.3, 0.8, 1.1), (1e308, -1e308, BIG, TINY), (-800.0, 800.0, 799.0, -TINY)),
    ),
    Case(
        "min",
        ("min",),
        lambda x: ad.min(x),
        ((0.5, -0.3, 0.8, 1.1), (1e308, -1e308, BIG, TINY), (-800.0, 800.0, 799.0, -TINY)),
    ),
    Case(
        "prod",
        ("prod",),
        lambda x: ad.prod(x),
        (
            (0.5, -0.3, 0.8, 1.1),
            (1e100, 1e100, 1e100, 1e-300),
            (1e200, 1e-100, 1e-200, 1.0),
            (TINY, 2.0, 3.0, 4.0),
            (1e200, 1e200, 1.0, 1.0),
        ),
    ),
    # autodiff.ops.special (issue 13): large, tiny and signed-zero arguments
    _unary("floor", ad.floor, (700.5, -700.5, TINY, -TINY, 0.0, -0.0, 1e15)),
    _unary("ceil", ad.ceil, (700.5, -700.5, TINY, -TINY, 0.0, -0.0, -1e15)),
    _unary("trunc", ad.trunc, (700.5, -700.5, TINY, -TINY, 0.0, -0.0, 1e15)),
    _unary("round", ad.round, (700.5, -701.5, TINY, -TINY, 0.0, -0.0, 1e15)),
    _binary("mod", ad.mod, ((700.25, 3.0), (-700.25, 3.0), (TINY, 2.0), (1e10, -7.0))),
    _unary("log2", ad.log2, (700.0, TINY, 1e300, 1.0)),
    _unary("log10", ad.log10, (700.0, TINY, 1e300, 1.0)),
    _unary("exp2", ad.exp2, (-700.0, 700.0, 1000.0, -1100.0, 0.0, TINY)),
    _binary("logaddexp", ad.logaddexp, ((700.0, -700.0), (800.0, 800.0), (-800.0, -801.0))),
    _binary("logaddexp2", ad.logaddexp2, ((700.0, -700.0), (1100.0, 1100.0), (-1100.0, -1101.0))),
    _binary("hypot", ad.hypot, ((1e100, 1e100), (-1e-100, 3e-100), (700.0, -0.5))),
    _binary("atan2", ad.arctan2, ((1e100, 1e-100), (-700.0, 0.5), (1e-100, -700.0))),
    _unary("asin", ad.arcsin, (0.999, -0.999, TINY, -TINY, 0.0)),
    _unary("acos", ad.arccos, (0.999, -0.999, TINY, 0.0)),
    _unary("atan", ad.arctan, (700.0, -700.0, 1e300, TINY, 0.0)),
    _unary("sinh", ad.sinh, (700.0, -700.0, TINY, 0.0, -0.0)),
    _unary("cosh", ad.cosh, (700.0, -700.0, TINY, 0.0)),
    _unary("asinh", ad.arcsinh, (700.0, -700.0, 1e100, TINY, 0.0)),
    _unary("acosh", lambda a: ad.arccosh(a * a + 1.0), (700.0, 1.5, 1e100)),  # 0.5 -> 1.25
    _unary("atanh", ad.arctanh, (0.999, -0.999, TINY, 0.0)),
    _unary("erf", ad.erf, (700.0, -700.0, 6.0, TINY, 0.0, -0.0)),
    _unary("erfc", ad.erfc, (-700.0, 6.0, 26.0, TINY, 0.0)),
    _unary("nan_to_num", lambda a: ad.nan_to_num(a) * a, (700.0, -700.0, TINY, 1e150)),
    Case(
        "logsumexp",
        ("stable_shift",),
        lambda x: ad.logsumexp(x),
        (
            (0.5, -0.3, 0.8, 1.1),
            (800.0, 799.0, -800.0, 0.0),
            (-800.0, -801.0, -1000.0, -TINY),
            (700.0, 701.0, 690.0, 702.0),
        ),
    ),
    Case(
        "softmax",
        ("stable_shift",),
        lambda x: ad.sum(ad.softmax(x) * x),
        (
            (0.5, -0.3, 0.8, 1.1),
            (800.0, 799.0, -800.0, 0.0),
            (-800.0, -801.0, -1000.0, -TINY),
            (700.0, 701.0, 690.0, 702.0),
        ),
    ),
]


LITERAL = {
    "logsumexp": "lifts to log(exp(x0) + ...): the float64 lambdify of it overflows",
    "softmax": "lifts to exp(x_i) / sum(exp(x_j)): the float64 lambdify of it overflows",
}
# Families of ops (tests/op_specs_<area>.py) add cases as ``EXTREME_CASES``: tuples of
# (label, ops, fn[, points]); without points, the shared extreme block ``_BLOCK``.
import op_specs  # noqa: E402, F401  (first: it imports the area modules)

for _path in sorted(Path(__file__).parents[1].glob("op_specs_*.py")):
    for _c in getattr(import_module(_path.stem), "EXTREME_CASES", ()):
        CASES.append(Case(_c[0], tuple(_c[1]), _c[2], tuple(_c[3]) if len(_c) > 3 else _BLOCK))
IDS = [c.label for c in CASES]


def test_every_op_has_an_extreme_case():
    covered = {op for case in CASES for op in case.ops} | {
        op for case in CASES for op in case.label.split("/")
    }
    names = {op.name for op in ALL_OPS}
    missing = names - covered
    assert not missing, f"ops without an extreme-domain case: {sorted(missing)}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_case_records_its_ops(case):
    x = tensor(np.array(case.points[0]), requires_grad=True)
    recorded = {t._op.name for t in toposort([case.fn(x)]) if t._op is not None}
    claimed = set(case.ops) | ({case.label.split("/")[1]} if "/" in case.label else set())
    claimed &= {op.name for op in ALL_OPS if op.differentiable}  # others leave no graph node
    assert claimed <= recorded, f"{case.label}: {sorted(claimed - recorded)} never recorded"


# --- the three faces -------------------------------------------------------------------------
def _eager(case: Case, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        value = np.float64(case.fn(ad.tensor(x)).data)
        return value, np.asarray(ad.grad(case.fn)(x)), np.asarray(ad.hessian(case.fn)(x))


class _Exact:
    """The lifted formulas evaluated exactly (30 digits) and rounded to float64."""

    def __init__(self, lifted):
        self.symbols = lifted.variables
        h = lifted.hessian()
        self.n = len(self.symbols)
        self.rows, self.cols = h.rows, h.cols
        self.exprs = [lifted.expr, *lifted.gradient(), *h.values]

    def __call__(self, x):
        subs = {s: sp.Float(float(v), 400) for s, v in zip(self.symbols, x)}
        # 400 digits: 1 - sigmoid(700) and log(1 + 1e-300) cancel hundreds of digits
        out = np.array([_to_float(e.xreplace(subs).evalf(400)) for e in self.exprs])
        hess = np.zeros((self.n, self.n))
        hess[self.rows, self.cols] = out[1 + self.n :]
        return out[0], out[1 : 1 + self.n], hess


def _to_float(v) -> float:
    if v is sp.zoo:  # complex infinity (log(0), 1/0): SymPy drops the sign
        return float("inf")
    if v is sp.nan or not v.is_number:
        return float("nan")
    if v.is_infinite:
        return float(v)
    return float(sp.re(v)) if v.is_real is not False else float("nan")


@pytest.fixture(scope="module")
def extreme_setup():
    """One kernel for all cases (w as parameters) and each case's lifted faces."""
    sizes = [c.size for c in CASES]
    starts = np.cumsum([0, *sizes])
    slices = [slice(a, b) for a, b in zip(starts[:-1], starts[1:])]

    def F(x, w):
        total = 0.0
        for k, (case, s) in enumerate(zip(CASES, slices)):
            total = total + w[k] * case.fn(x[s])
        return total

    base = np.concatenate([np.array(c.points[0]) for c in CASES])
    compiled = bridge.compile(F, base, np.ones(len(CASES)), params=1)
    lifted = {}
    for case in CASES:
        lifted[case.label] = _Exact(symdiff.lift(case.fn, np.array(case.points[0])))
    return compiled, base, slices, lifted


def _agree(actual, expected) -> str | None:
    """None when ``actual`` has the inf/nan pattern of ``expected`` and is close, else why not."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    for name, test in (("nan", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        if (test(actual) != test(expected)).any():
            return f"{name} pattern differs: {actual} vs {expected}"
    fin = np.isfinite(expected)
    if not fin.any():
        return None
    scale = float(np.max(np.abs(expected[fin])))
    err = float(np.max(np.abs(actual[fin] - expected[fin])))
    if err <= RTOL * scale + SUBNORMAL_ATOL:
        return None
    return f"max error {err:.3e} > {RTOL:g} * {scale:.3e}: {actual} vs {expected}"


@pytest.mark.parametrize("k", range(len(CASES)), ids=IDS)
def test_extreme_inputs_eager_lifted_compiled_agree(k, extreme_setup):
    """Compiled agrees with eager, or (where eager loses it) with the exact lifted value."""
    compiled, base, slices, lifted = extreme_setup
    case, s = CASES[k], slices[k]
    exact = lifted[case.label]
    w = np.eye(len(CASES))[k]
    X = np.tile(base, (len(case.points), 1))
    X[:, s] = np.array(case.points)
    values = compiled.value(X, w)
    v2, grads = compiled.value_and_grad(X, w)
    hessians = compiled.hessian(X, w)
    for i, point in enumerate(case.points):
        label = f"{case.label} at {point}"
        eager = _eager(case, point)
        truth = exact(point)
        got = (values[i], grads[i, s], hessians[i, s, s])
        assert _agree(v2[i], values[i]) is None, f"{label}: value_and_grad != value"
        for what, c, e, t in zip(("value", "grad", "hessian"), got, eager, truth):
            why = _agree(c, e)
            if why is not None:  # eager lost it: compiled must then be the exact value
                assert _agree(c, t) is None, f"compiled {label} {what}: {why}; vs exact: " + str(
                    _agree(c, t)
                )
            # the lifted formula, evaluated exactly, is eager's or compiled's number
            t = np.where(np.isinf(t) & np.isinf(e), e, t)  # zoo: an inf of either sign
            assert _agree(t, e) is None or _agree(t, c) is None, f"lifted {label} {what}"

"""Op specs of the math primitives of ``autodiff.ops.special`` (rounding, modulo, inverse
trigonometric and hyperbolic functions, erf, log2/log10/exp2, logaddexp, hypot, arctan2,
nan_to_num) and of its composites (fmax/fmin, select, the ``*_like`` constructors).

Collected into ``op_specs.ALL_SPECS`` by ``op_specs._area_specs``. References are NumPy's (and
SciPy's for erf/erfc); compile rows group the ops into three small rows to keep the shared kernels
small. Functions of a restricted domain are composed with an affine map into it
(``arcsin(0.6 x)``, ``arccosh(x + 1)``) so that every sample stays well inside.
"""

from __future__ import annotations

import numpy as np
import scipy.special
from op_specs import BINARY, UNARY, Case, Kink, LiftRow, OpSpec, Row, _t, binary, unary

import autodiff as ad


def _lift(fn, shapes, domains) -> LiftRow:
    return LiftRow(fn, tuple(shapes), tuple(domains))


def _unary_lift(fn, domain="real") -> LiftRow:
    """``sum(f(x) * x[::-1])``: value, gradient and a Hessian with off-diagonal entries."""
    return _lift(lambda x: (fn(x) * x[::-1]).sum(), [(3,)], [domain])


def _kink(label, fn, points, expected) -> Kink:
    return Kink(label, fn, tuple(points), tuple(expected))


_ZERO_KINK_POINTS = (-1.5, -0.5, 0.0, 0.5, 1.0, 2.5)


def _rounding(name, fn, ref, extra=(), lift_fn=None) -> OpSpec:
    """A piecewise-constant op: derivative 0 everywhere, the jumps included."""
    return OpSpec(
        name,
        eager=(unary(name, fn, ref), *extra),
        lift=_lift(lift_fn or (lambda x: (fn(x * 2.0) * x**2).sum()), [(4,)], ["real"]),
        kinks=(_kink(f"{name}' = 0 at integers and halves", fn, _ZERO_KINK_POINTS, [0.0] * 6),),
    )


# --- the rows grouped for the one compiled kernel ----------------------------------------------
# Terms are kept small (each op once, mostly diagonal Hessians): every row is compiled into the
# shared kernels of tests/bridge for four targets and dtypes, whose compile time is the suite's.
_ROUNDING_ROW = Row(
    "floor/ceil/trunc/round/mod",
    ("floor", "ceil", "trunc", "round", "mod"),
    lambda x: ad.sum(
        (ad.floor(x * 2.0) + ad.ceil(x * 2.0) + ad.trunc(x * 3.0) + ad.round(x, 1)) * x
        + ad.mod(x * 3.0, 0.7) ** 2
    ),
    2,
)
_SMOOTH_ROW = Row(
    "log2/log10/exp2/asin/acos/atan/sinh/cosh/asinh/acosh/atanh/erf/erfc/nan_to_num",
    (
        "log2",
        "log10",
        "exp2",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "asinh",
        "acosh",
        "atanh",
        "erf",
        "erfc",
        "nan_to_num",
    ),  # fmt: skip
    lambda x: ad.sum(
        ad.log2(x + 2.0)
        + ad.log10(x + 2.0)
        + ad.exp2(x)
        + ad.arcsin(x * 0.6)
        + ad.arccos(x * 0.6)
        + ad.arctan(x)
        + ad.sinh(x)
        + ad.cosh(x)
        + ad.arcsinh(x)
        + ad.arccosh(x * x + 1.5)
        + ad.arctanh(x * 0.5)
        + ad.erf(x)
        + ad.erfc(x)
        + ad.nan_to_num(x) ** 3
    ),
    2,
)
_BINARY_ROW = Row(
    "logaddexp/logaddexp2/hypot/atan2",
    ("logaddexp", "logaddexp2", "hypot", "atan2"),
    lambda x: (
        ad.logaddexp(x[0], x[1])
        + ad.logaddexp2(x[0], x[1])
        + ad.hypot(x[0], x[1])
        + ad.arctan2(x[0], x[1] + 3.0)
    ),
    2,
    "away",
)


def _transcendental(name, fn, ref, domain, rows, lift_domain=None) -> OpSpec:
    return OpSpec(
        name,
        eager=(unary(name, fn, ref, domain),),
        lift=_unary_lift(fn, lift_domain or domain),
        compile=rows,
    )


SPECS: list[OpSpec] = [
    # rounding: derivative 0 everywhere (PyTorch, JAX)
    _rounding("floor", ad.floor, np.floor),
    _rounding("ceil", ad.ceil, np.ceil),
    _rounding("trunc", ad.trunc, np.trunc),
    OpSpec(
        "round",
        eager=(
            unary("round", ad.round, np.round),
            Case(
                "round(x, 1)",
                lambda x: ad.round(x, 1),
                lambda x: np.round(x, 1),
                UNARY,
                broadcast=True,
            ),
            Case(
                "round(10 x, -1)",
                lambda x: ad.round(_t(x) * 10.0, -1),
                lambda x: np.round(x * 10.0, -1),
                UNARY,
            ),
            Case("np.around", lambda x: np.around(_t(x), 2), lambda x: np.around(x, 2), UNARY),
        ),
        lift=_lift(
            lambda x: (ad.round(x * 3.0) * x**2 + ad.round(x, 1) * x).sum(), [(4,)], ["real"]
        ),
        kinks=(
            _kink("round' = 0 at halves", ad.round, _ZERO_KINK_POINTS, [0.0] * 6),
            _kink("round(x, 1)' = 0", lambda x: ad.round(x, 1), (0.05, 0.25, -0.15), [0.0] * 3),
        ),
        compile=(_ROUNDING_ROW,),
    ),
    OpSpec(
        "mod",
        eager=(
            binary("a % b", lambda a, b: _t(a) % b, np.mod, ("real", "away")),
            binary("remainder", ad.remainder, np.remainder, ("real", "away")),
            Case("3.0 % b", lambda b: 3.0 % _t(b), lambda b: np.mod(3.0, b), UNARY, ("away",)),
        ),
        lift=_lift(
            lambda x, y: (ad.mod(x * 3.0, y) ** 2 * x).sum(), [(3,), (3,)], ["real", "away"]
        ),
        # compiled in the rounding row
        kinks=(
            # d/da = 1 across the jumps; d/db = -k with a = k b + mod(a, b) (here a = 3.0)
            _kink(
                "mod(x, 1)' = 1 at multiples", lambda x: ad.mod(x, 1.0), (-1.5, 0.0, 2.0), [1.0] * 3
            ),
            _kink(
                "d/db mod(3, b) = -floor(3 / b)",
                lambda x: 3.0 % x,
                (-1.5, 1.0, 2.0),
                (2.0, -3.0, -1.0),
            ),
        ),
    ),
    # logarithms and exponentials
    _transcendental("log2", ad.log2, np.log2, "positive", (_SMOOTH_ROW,)),
    _transcendental("log10", ad.log10, np.log10, "positive", ()),
    _transcendental("exp2", ad.exp2, np.exp2, "real", ()),
    OpSpec(
        "logaddexp",
        eager=(
            binary("logaddexp", ad.logaddexp, np.logaddexp),
            Case(
                "logaddexp far apart",
                lambda a, b: ad.logaddexp(_t(a) * 400.0, b),
                lambda a, b: np.logaddexp(a * 400.0, b),
                BINARY,
            ),
        ),
        lift=_lift(lambda x, y: (ad.logaddexp(x, y) * x).sum(), [(3,), (3,)], ["real"] * 2),
        compile=(_BINARY_ROW,),
    ),
    OpSpec(
        "logaddexp2",
        eager=(binary("logaddexp2", ad.logaddexp2, np.logaddexp2),),
        lift=_lift(lambda x, y: (ad.logaddexp2(x, y**2) * y).sum(), [(3,), (3,)], ["real"] * 2),
    ),
    OpSpec(
        "hypot",
        eager=(
            binary("hypot", ad.hypot, np.hypot, ("away",)),
            Case(
                "hypot huge",
                lambda a, b: ad.hypot(_t(a) * 1e200, _t(b) * 1e200),
                lambda a, b: np.hypot(a * 1e200, b * 1e200),
                BINARY,
                ("away",),
                dtypes=("float64",),  # 1e200 overflows float32
            ),
        ),
        lift=_lift(lambda x, y: (ad.hypot(x, y) * x).sum(), [(3,), (3,)], ["away"] * 2),
        # compiled in the logaddexp row
        # gradient 0 at the origin (like abs'(0) = 0); b = 0 gives exactly sign(a)
        kinks=(
            _kink(
                "hypot(x, 0)' = sign(x), 0 at 0",
                lambda x: ad.hypot(x, 0.0),
                (-1.5, 0.0, 2.0),
                (-1.0, 0.0, 1.0),
            ),
        ),
    ),
    OpSpec(
        "atan2",
        eager=(
            binary("arctan2", ad.arctan2, np.arctan2, ("away",)),
            Case(
                "np.arctan2(y, x)",
                lambda a, b: np.arctan2(_t(a), b),
                np.arctan2,
                BINARY,
                ("real", "away"),
            ),
        ),
        lift=_lift(lambda x, y: (ad.arctan2(x, y + 2.0) * y).sum(), [(3,), (3,)], ["real", "real"]),
        kinks=(
            _kink(
                "atan2(x, x)' = 0, the origin included",
                lambda x: ad.arctan2(x, x),
                (-1.5, 0.0, 2.0),
                (0.0,) * 3,
            ),
        ),
    ),
    # inverse trigonometric and hyperbolic functions
    _transcendental(
        "asin",
        lambda x: ad.arcsin(_t(x) * 0.6),
        lambda x: np.arcsin(x * 0.6),
        "real",
        (),
    ),
    _transcendental(
        "acos", lambda x: ad.arccos(_t(x) * 0.6), lambda x: np.arccos(x * 0.6), "real", ()
    ),
    _transcendental("atan", ad.arctan, np.arctan, "real", ()),
    _transcendental("sinh", ad.sinh, np.sinh, "real", ()),
    _transcendental("cosh", ad.cosh, np.cosh, "real", ()),
    _transcendental("asinh", ad.arcsinh, np.arcsinh, "real", ()),
    _transcendental(
        "acosh",
        lambda x: ad.arccosh(_t(x) + 1.0),
        lambda x: np.arccosh(x + 1.0),
        "positive",
        (),
    ),
    _transcendental(
        "atanh", lambda x: ad.arctanh(_t(x) * 0.5), lambda x: np.arctanh(x * 0.5), "real", ()
    ),
    # error function
    _transcendental("erf", ad.erf, scipy.special.erf, "real", ()),
    _transcendental("erfc", ad.erfc, scipy.special.erfc, "real", ()),
    OpSpec(
        "nan_to_num",
        eager=(
            unary("nan_to_num", ad.nan_to_num, np.nan_to_num),
            Case(
                "nan_to_num of nan and inf entries",
                lambda x: ad.nan_to_num(
                    ad.where(_t(x) < -0.5, np.nan, ad.where(_t(x) > 1.0, np.inf, x)),
                    nan=-3.0,
                    posinf=9.0,
                ),
                lambda x: np.nan_to_num(
                    np.where(x < -0.5, np.nan, np.where(x > 1.0, np.inf, x)), nan=-3.0, posinf=9.0
                ),
                (((6,),), ((2, 3),)),
            ),
        ),
        lift=_unary_lift(ad.nan_to_num),
        # compiled in the log2 row
        kinks=(
            _kink(
                "nan_to_num' = 0 where replaced",
                ad.nan_to_num,
                (np.nan, np.inf, -np.inf, 2.0),
                (0.0, 0.0, 0.0, 1.0),
            ),
        ),
    ),
    # --- composites ---------------------------------------------------------------------------
    OpSpec(
        "fmax",
        composite=True,
        eager=(
            binary("fmax", ad.fmax, np.fmax, ("lattice", "half")),
            binary("np.fmax", lambda a, b: np.fmax(_t(a), b), np.fmax, ("lattice", "half")),
        ),
        kinks=(
            _kink("fmax(x, nan)' = 1", lambda x: ad.fmax(x, np.nan), (-1.5, 0.0, 2.0), (1.0,) * 3),
            _kink(
                "fmax(x, 0)' splits at the tie",
                lambda x: ad.fmax(x, 0.0),
                (-1.5, 0.0, 2.0),
                (0.0, 0.5, 1.0),
            ),
        ),
    ),
    OpSpec(
        "fmin",
        composite=True,
        eager=(binary("fmin", ad.fmin, np.fmin, ("lattice", "half")),),
        kinks=(
            _kink("fmin(nan, x)' = 1", lambda x: ad.fmin(np.nan, x), (-1.5, 0.0, 2.0), (1.0,) * 3),
        ),
    ),
    OpSpec(
        "select",
        composite=True,
        eager=(
            Case(
                "select([c < 0, c < 0.5], [a, b * 2], default=a * b)",
                lambda c, a, b: ad.select([_t(c) < 0, _t(c) < 0.5], [a, _t(b) * 2.0], _t(a) * b),
                lambda c, a, b: np.select([c < 0, c < 0.5], [a, b * 2.0], a * b),
                (((2, 3), (2, 3), (2, 3)), ((4,), (4,), (4,))),
                ("away", "real", "real"),
            ),
        ),
    ),
    OpSpec(
        "zeros_like",
        composite=True,
        eager=(
            Case("zeros_like", ad.zeros_like, np.zeros_like, UNARY, differentiable=False),
            Case(
                "np.zeros_like(t, dtype=int32)",
                lambda x: np.zeros_like(_t(x), dtype=np.int32),
                lambda x: np.zeros_like(x, dtype=np.int32),
                UNARY,
                differentiable=False,
                keeps_dtype=False,
            ),
        ),
    ),
    OpSpec(
        "ones_like",
        composite=True,
        eager=(
            Case("ones_like", ad.ones_like, np.ones_like, UNARY, differentiable=False),
            Case(
                "ones_like(shape=(2, 2))",
                lambda x: ad.ones_like(x, shape=(2, 2)),
                lambda x: np.ones_like(x, shape=(2, 2)),
                UNARY,
                differentiable=False,
            ),
        ),
    ),
    OpSpec(
        "full_like",
        composite=True,
        eager=(
            Case(
                "full_like(x, 2.5)",
                lambda x: ad.full_like(x, 2.5),
                lambda x: np.full_like(x, 2.5),
                UNARY,
                differentiable=False,
            ),
            Case(
                "np.full_like(t, 7)",
                lambda x: np.full_like(_t(x), 7),
                lambda x: np.full_like(x, 7),
                UNARY,
                differentiable=False,
            ),
        ),
    ),
]

"""The op test table: one row per primitive in ``autodiff.ops.ALL_OPS``, plus composites.

A row maps an op name to the cases that exercise it through the public API: the function, its
NumPy reference, the argument shapes and the input domain of each argument (positive only for
log and sqrt, away from zero at kinks, no ties for max/min). Tests receive the cases through
the ``op_case``, ``composite_case`` and ``elementwise_case`` parameters (see
``pytest_generate_tests``); ``op_table`` gives the whole table to the completeness test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import autodiff as ad
from autodiff.ops.reductions import _stable_shift
from autodiff.ops.shape import scatter_add

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Case:
    """One way of exercising an op: ``fn`` (public API) against ``ref`` (NumPy)."""

    label: str
    fn: Callable
    ref: Callable
    shapes: tuple[tuple[Shape, ...], ...]
    domains: tuple[str, ...] = ("real",)
    broadcast: bool = False  # elementwise: hypothesis also draws broadcastable shapes
    differentiable: bool = True
    keeps_dtype: bool = True  # False: the output dtype is fixed (casts)

    def domain(self, i: int) -> str:
        return self.domains[min(i, len(self.domains) - 1)]


def _sample(domain: str, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Random float64 values of ``shape`` from ``domain``, kept away from kinks and ties."""
    if domain == "real":
        return rng.uniform(-2.0, 2.0, shape)
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "small":  # tan: stay far from its poles
        return rng.uniform(-1.0, 1.0, shape)
    if domain == "away":  # relu, abs, sign, heaviside: |x| >= 0.3
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)
    if domain in ("lattice", "half"):  # maximum/minimum: the two differ by at least 0.2
        offset = 0.5 if domain == "half" else 0.0
        return rng.integers(-2, 2, shape) + offset + rng.uniform(-0.15, 0.15, shape)
    if domain == "distinct":  # max/min reductions: no ties, gaps of at least 0.2
        size = int(np.prod(shape, dtype=np.int64))
        values = rng.permutation(size) * 0.3 - 0.15 * size + rng.uniform(-0.05, 0.05, size)
        return values.reshape(shape)
    raise ValueError(f"unknown domain {domain!r}")


def _make_inputs(case: Case, shapes, rng, dtype=np.float64) -> list[np.ndarray]:
    """One input array per argument of ``case``."""
    return [_sample(case.domain(i), s, rng).astype(dtype) for i, s in enumerate(shapes)]


def _t(x):
    """A Tensor view of ``x``, so that methods and operators work on plain arrays too."""
    return x if isinstance(x, ad.Tensor) else ad.tensor(x)


def _np_scatter(g, index, shape):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


UNARY = (((3,),), ((2, 3),), ((),))
BINARY = (((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2,)), ((3,), (3,)))
TERNARY = (((2, 3), (3,), (2, 1)), ((3,), (3,), (3,)), ((), (2,), (1,)))
MATMUL_SHAPES = (
    ((2, 3), (3, 4)),
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 2, 3), (3, 4)),
    ((2, 1, 2, 3), (3, 3, 1)),
)
CONST = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])
MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)


def unary(label, fn, ref, domain="real") -> Case:
    return Case(label, fn, ref, UNARY, (domain,), broadcast=True)


def binary(label, fn, ref, domains=("real",), differentiable=True) -> Case:
    return Case(label, fn, ref, BINARY, domains, True, differentiable)


def _comparison(label, fn, ref) -> list[Case]:
    return [binary(label, fn, ref, differentiable=False)]


def _reduction(fn, ref, domain) -> list[Case]:
    return [
        Case("all axes", lambda x: fn(x), lambda x: ref(x), UNARY, (domain,)),
        Case("axis=1", lambda x: fn(x, axis=1), lambda x: ref(x, axis=1), (((2, 3),),), (domain,)),
        Case(
            "axis=(0, 2) keepdims",
            lambda x: fn(x, axis=(0, 2), keepdims=True),
            lambda x: ref(x, axis=(0, 2), keepdims=True),
            (((2, 3, 2),),),
            (domain,),
        ),
        Case("axis=-1", lambda x: fn(x, -1), lambda x: ref(x, axis=-1), (((3, 2),),), (domain,)),
    ]


TABLE: dict[str, list[Case]] = {
    "neg": [unary("-x", lambda x: -_t(x), np.negative)],
    "add": [binary("a + b", lambda a, b: _t(a) + b, np.add)],
    "sub": [binary("a - b", lambda a, b: _t(a) - b, np.subtract)],
    "mul": [binary("a * b", lambda a, b: _t(a) * b, np.multiply)],
    "div": [binary("a / b", lambda a, b: _t(a) / b, np.divide, ("real", "away"))],
    "pow": [
        binary("a ** b", lambda a, b: ad.power(a, b), np.power, ("positive", "real")),
        unary("x ** 3", lambda x: _t(x) ** 3, lambda x: x**3),
        unary("2 ** x", lambda x: 2.0 ** _t(x), lambda x: 2.0**x),
    ],
    "exp": [unary("exp", ad.exp, np.exp)],
    "log": [unary("log", ad.log, np.log, "positive")],
    "log1p": [unary("log1p", ad.log1p, np.log1p, "positive")],
    "expm1": [unary("expm1", ad.expm1, np.expm1)],
    "sqrt": [unary("sqrt", ad.sqrt, np.sqrt, "positive")],
    "square": [unary("square", ad.square, np.square)],
    "sin": [unary("sin", ad.sin, np.sin)],
    "cos": [unary("cos", ad.cos, np.cos)],
    "tan": [unary("tan", ad.tan, np.tan, "small")],
    "tanh": [unary("tanh", ad.tanh, np.tanh)],
    "sigmoid": [unary("sigmoid", ad.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)))],
    "softplus": [unary("softplus", ad.softplus, lambda x: np.log1p(np.exp(x)))],
    "heaviside": [
        unary("heaviside", lambda x: ad.heaviside(x, 0.5), lambda x: np.heaviside(x, 0.5), "away")
    ],
    "sign": [unary("sign", ad.sign, np.sign, "away")],
    "relu": [unary("relu", ad.relu, lambda x: np.maximum(x, 0.0), "away")],
    "abs": [unary("abs", ad.abs, np.abs, "away")],
    "maximum": [binary("maximum", ad.maximum, np.maximum, ("lattice", "half"))],
    "minimum": [binary("minimum", ad.minimum, np.minimum, ("lattice", "half"))],
    "where": [
        Case(
            "where(c > 0, a, b)",
            lambda c, a, b: ad.where(c > 0, a, b),
            lambda c, a, b: np.where(c > 0, a, b),
            TERNARY,
            ("away", "real", "real"),
            broadcast=True,
        )
    ],
    "cast": [
        Case(
            "astype(float64)",
            lambda x: _t(x).astype(np.float64),
            lambda x: x.astype(np.float64),
            UNARY,
            keeps_dtype=False,
        )
    ],
    "stable_shift": [
        Case(
            "stable_shift (max along axis, no gradient)",
            lambda x: _stable_shift(_t(x), -1),
            lambda x: np.max(x, axis=-1, keepdims=True),
            (((3,),), ((2, 3),)),
            differentiable=False,
        )
    ],
    "less": _comparison("a < b", lambda a, b: _t(a) < b, np.less),
    "less_equal": _comparison("a <= b", lambda a, b: _t(a) <= b, np.less_equal),
    "greater": _comparison("a > b", lambda a, b: _t(a) > b, np.greater),
    "greater_equal": _comparison("a >= b", lambda a, b: _t(a) >= b, np.greater_equal),
    "equal": _comparison("a == b", lambda a, b: _t(a) == b, np.equal),
    "not_equal": _comparison("a != b", lambda a, b: _t(a) != b, np.not_equal),
    "reshape": [
        Case("(-1,)", lambda x: ad.reshape(x, -1), np.ravel, (((2, 3),), ((),))),
        Case("(3, 2)", lambda x: ad.reshape(x, (3, 2)), lambda x: x.reshape(3, 2), (((2, 3),),)),
    ],
    "transpose": [
        Case("reverse", ad.transpose, np.transpose, (((2, 3),), ((2, 3, 4),), ((3,),))),
        Case(
            "(1, 2, 0)",
            lambda x: ad.transpose(x, (1, 2, 0)),
            lambda x: np.transpose(x, (1, 2, 0)),
            (((2, 3, 4),),),
        ),
    ],
    "broadcast_to": [
        Case(
            "(2, 3, 4)",
            lambda x: ad.broadcast_to(x, (2, 3, 4)),
            lambda x: np.broadcast_to(x, (2, 3, 4)),
            (((3, 1),), ((4,),), ((1, 4),), ((),), ((2, 3, 4),)),
        )
    ],
    "getitem": [
        Case("[1:, ::2]", lambda x: _t(x)[1:, ::2], lambda x: x[1:, ::2], (((3, 4),),)),
        Case("[1]", lambda x: _t(x)[1], lambda x: x[1], (((3, 4),),)),
        Case("[..., -1]", lambda x: _t(x)[..., -1], lambda x: x[..., -1], (((2, 3, 4),),)),
        Case("[None, :, 1]", lambda x: _t(x)[None, :, 1], lambda x: x[None, :, 1], (((3, 4),),)),
        Case(
            "[[0, 2, 0, 0]] repeated",
            lambda x: _t(x)[np.array([0, 2, 0, 0])],
            lambda x: x[np.array([0, 2, 0, 0])],
            (((3, 4),), ((3,),)),
        ),
        Case(
            "[[0, 1, 1], 1:]",
            lambda x: _t(x)[[0, 1, 1], 1:],
            lambda x: x[[0, 1, 1], 1:],
            (((3, 4),),),
        ),
        Case(
            "[rows, cols] repeated pairs",
            lambda x: _t(x)[np.array([0, 2, 2]), np.array([1, 3, 3])],
            lambda x: x[np.array([0, 2, 2]), np.array([1, 3, 3])],
            (((3, 4),),),
        ),
        Case("[mask]", lambda x: _t(x)[MASK], lambda x: x[MASK], (((3, 4),),)),
    ],
    "scatter_add": [
        Case(
            "repeated indices",
            lambda g: scatter_add(g, np.array([0, 2, 0]), (4,)),
            lambda g: _np_scatter(g, np.array([0, 2, 0]), (4,)),
            (((3,),),),
        ),
        Case(
            "basic slice",
            lambda g: scatter_add(g, (slice(1, 3),), (4, 2)),
            lambda g: _np_scatter(g, (slice(1, 3),), (4, 2)),
            (((2, 2),),),
        ),
    ],
    "concatenate": [
        Case(
            "axis=1",
            lambda a, b: ad.concatenate([a, b], axis=1),
            lambda a, b: np.concatenate([a, b], axis=1),
            (((2, 3), (2, 1)),),
        ),
        Case(
            "three, axis=0",
            lambda a, b, c: ad.concatenate([a, b, c]),
            lambda a, b, c: np.concatenate([a, b, c]),
            (((2,), (3,), (1,)), ((1, 2), (2, 2), (1, 2))),
        ),
    ],
    "matmul": [
        Case("a @ b", lambda a, b: _t(a) @ b, np.matmul, MATMUL_SHAPES),
        # A float64 ndarray constant promotes a float32 operand (NumPy rules); gradients do not.
        Case(
            "ndarray @ b",
            lambda b: CONST @ _t(b),
            lambda b: CONST @ b,
            (((3,),), ((3, 2),)),
            keeps_dtype=False,
        ),
        Case(
            "b @ ndarray",
            lambda b: _t(b) @ CONST.T,
            lambda b: b @ CONST.T,
            (((3,),), ((2, 3),)),
            keeps_dtype=False,
        ),
    ],
    "sum": _reduction(ad.sum, np.sum, "real"),
    "max": _reduction(ad.max, np.max, "distinct"),
    "min": _reduction(ad.min, np.min, "distinct"),
    "prod": _reduction(ad.prod, np.prod, "real"),
    "cast_discrete": [
        Case(
            "astype(int64) truncates toward zero",
            lambda x: _t(x * 2.0).astype(np.int64),
            lambda x: (x * 2.0).astype(np.int64),
            UNARY,
            differentiable=False,
            keeps_dtype=False,
        ),
        Case(
            "astype(bool)",
            lambda x: _t(x).astype(bool),
            lambda x: x.astype(bool),
            UNARY,
            ("lattice",),
            differentiable=False,
            keeps_dtype=False,
        ),
    ],
}


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _c(label, fn, ref, shapes, domains=("real",)) -> Case:
    return Case(label, fn, ref, shapes, domains)


COMPOSITES: list[Case] = [
    _c("mean", ad.mean, np.mean, UNARY),
    _c(
        "mean axis=0 keepdims",
        lambda x: ad.mean(x, 0, True),
        lambda x: x.mean(0, keepdims=True),
        ((((2, 3),),)),
    ),
    _c("var", ad.var, np.var, (((2, 3),), ((4,),))),
    _c(
        "var ddof=1 axis=1",
        lambda x: ad.var(x, 1, ddof=1),
        lambda x: np.var(x, 1, ddof=1),
        (((2, 3),),),
    ),
    _c("std", ad.std, np.std, (((2, 3),), ((4,),))),
    _c("std axis=0", lambda x: ad.std(x, axis=0), lambda x: np.std(x, axis=0), (((3, 2),),)),
    _c("logsumexp", ad.logsumexp, _np_logsumexp, UNARY),
    _c(
        "logsumexp axis=1",
        lambda x: ad.logsumexp(x, 1),
        lambda x: _np_logsumexp(x, 1),
        (((2, 3),),),
    ),
    _c(
        "logsumexp axis=0 keepdims",
        lambda x: ad.logsumexp(x, 0, keepdims=True),
        lambda x: _np_logsumexp(x, 0, keepdims=True),
        (((2, 3),),),
    ),
    _c("softmax", ad.softmax, _np_softmax, (((4,),), ((2, 3),))),
    _c("softmax axis=0", lambda x: ad.softmax(x, 0), lambda x: _np_softmax(x, 0), (((2, 3),),)),
    _c("log_softmax", ad.log_softmax, lambda x: np.log(_np_softmax(x)), (((4,),), ((2, 3),))),
    _c("clip", lambda x: ad.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), UNARY),
    _c("clip lo only", lambda x: ad.clip(x, lo=0.2), lambda x: np.maximum(x, 0.2), UNARY),
    _c(
        "stack",
        lambda a, b: ad.stack([a, b]),
        lambda a, b: np.stack([a, b]),
        (((2, 3), (2, 3)), ((), ())),
    ),
    _c(
        "stack axis=-1",
        lambda a, b: ad.stack([a, b], -1),
        lambda a, b: np.stack([a, b], -1),
        (((2, 3), (2, 3)),),
    ),
    _c("squeeze", ad.squeeze, np.squeeze, (((1, 3, 1),), ((2, 1),))),
    _c("squeeze axis=0", lambda x: ad.squeeze(x, 0), lambda x: np.squeeze(x, 0), (((1, 3, 1),),)),
    _c(
        "unsqueeze 1",
        lambda x: ad.unsqueeze(x, 1),
        lambda x: np.expand_dims(x, 1),
        (((2, 3),), ((3,),)),
    ),
    _c(
        "unsqueeze -1", lambda x: ad.unsqueeze(x, -1), lambda x: np.expand_dims(x, -1), (((2, 3),),)
    ),
    _c("swapaxes", lambda x: ad.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2), (((2, 3, 4),),)),
    _c("flatten", ad.flatten, np.ravel, (((2, 3),), ((2, 1, 2),))),
    _c(".T", lambda x: _t(x).T, np.transpose, (((2, 3),),)),
    _c("dot", ad.dot, np.dot, (((3,), (3,)),)),
    _c("outer", ad.outer, np.outer, (((3,), (2,)),)),
    _c(
        "matmul chain",
        lambda a, b: ad.matmul(ad.matmul(a, b), a),
        lambda a, b: a @ b @ a,
        (((2, 2), (2, 2)),),
    ),
    _c(
        "expand",
        lambda x: _t(x).expand(2, 3),
        lambda x: np.broadcast_to(x, (2, 3)),
        (((3,),), ((1, 3),)),
    ),
    _c(
        "prod of sum",
        lambda x: ad.prod(ad.sum(x, 0)),
        lambda x: np.prod(np.sum(x, 0)),
        (((2, 3),),),
    ),
    _c(
        "max of sum (distinct)",
        lambda x: ad.max(x * 2.0 + 1.0),
        lambda x: np.max(x * 2 + 1),
        (((3, 2),),),
        ("distinct",),
    ),
    _c(
        "mse",
        lambda a, b: ad.mean(ad.square(_t(a) - b)),
        lambda a, b: np.mean((a - b) ** 2),
        BINARY,
    ),
]

OP_CASES = [(name, case) for name, cases in TABLE.items() for case in cases]
ALL_CASES = OP_CASES + [("composite", case) for case in COMPOSITES]
PARAMETERS = {
    "op_case": OP_CASES,  # every row of the table
    "any_case": ALL_CASES,  # the table and the composites
    "diff_case": [(n, c) for n, c in ALL_CASES if c.differentiable],
    "comparison_case": [
        (n, c)
        for n, c in OP_CASES
        if not c.differentiable and n not in ("stable_shift", "cast_discrete")
    ],
    "elementwise_case": [(n, c) for n, c in OP_CASES if c.broadcast and c.differentiable],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the ``*_case`` arguments of a test over the matching rows (see PARAMETERS)."""
    for argname, pairs in PARAMETERS.items():
        if argname in metafunc.fixturenames:
            ids = [f"{name}[{case.label}]" for name, case in pairs]
            metafunc.parametrize(argname, [case for _, case in pairs], ids=ids)


@pytest.fixture
def op_table() -> dict[str, list[Case]]:
    """The whole table, op name -> cases."""
    return TABLE


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so that every failure reproduces."""
    return np.random.default_rng(20261128)


@pytest.fixture(scope="session")
def sample() -> Callable[..., np.ndarray]:
    """The function ``sample(domain, shape, rng)`` (session-scoped: usable under hypothesis)."""
    return _sample


@pytest.fixture(scope="session")
def make_inputs() -> Callable[..., list[np.ndarray]]:
    """``make_inputs(case, shapes, rng, dtype=float64)``: one input array per argument."""
    return _make_inputs

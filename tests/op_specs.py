"""The one op-spec table: one :class:`OpSpec` per primitive of ``autodiff.ops.ALL_OPS`` and per
composite surface (``mean``, ``softmax``, ``dot``...), in the style of JAX's ``LAX_GRAD_OPS``.

A spec says how each face of the product exercises the op, with the input domain of every
argument named from one sampler (:func:`sample`):

* ``eager`` - :class:`Case` rows for ``tests/autodiff``: the public function against its NumPy
  reference over several argument shapes, then (when differentiable) reverse and forward mode
  and second order against central differences, the gradient shapes, and float32
  (``dtypes``); elementwise cases also run over hypothesis-drawn broadcastable shapes;
* ``lift`` - a :class:`LiftRow` for ``tests/symdiff``: a scalar function of the op whose lifted
  value, gradient and Hessian must equal the eager ones at fresh points;
* ``compile`` - :class:`Row` s for ``tests/bridge``: a scalar function of one 1-D block,
  compiled with every other row into one kernel and compared with eager autodiff (or a
  ``reasons["compile"]`` saying why not);
* ``kinks`` - :class:`Kink` points where a documented convention fixes the derivative
  (``relu'(0) = 0``), checked in reverse, forward and second order;
* ``tolerances`` - per-spec overrides of :data:`DEFAULT_TOLERANCES` (looked up for any case or
  row with :func:`tolerance`).

:func:`faces` says which faces apply to a spec (derived from what it holds).

Adding an op: one declaration in ``autodiff/ops`` plus one ``OpSpec`` here; the completeness
tests of all three suites fail until the spec exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

import autodiff as ad
from autodiff.ops import elementwise as cmp
from autodiff.ops.elementwise import cast
from autodiff.ops.reductions import _stable_shift
from autodiff.ops.shape import scatter_add

Shape = tuple[int, ...]
FACES = ("eager", "reverse", "forward", "second_order", "float32", "lift", "compile", "kinks")

DEFAULT_TOLERANCES: dict[str, float] = {
    "float32_value": 1e-4,  # float32 output vs float64 (rtol; atol is a tenth of it)
    "float32_grad": 1e-3,  # float32 cotangents vs float64 (rtol; atol is a tenth of it)
    "lift": 1e-10,  # lifted value / gradient / Hessian vs eager, relative to max(1, |eager|)
    "compile_float64": 1e-10,  # compiled kernels vs eager, norm-wise relative
    "compile_float32": 1e-4,
}


# --- input domains ------------------------------------------------------------------------------
def sample(domain: str, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """Random float64 values of ``shape`` from ``domain``, kept away from kinks, poles and ties.

    * ``real`` (-1.5, 1.5); ``wide`` (-6, 6) (sigmoid, softplus tails); ``positive``
      (0.5, 2) (log, sqrt, bases of powers); ``small`` (-1, 1) (tan, far from its poles);
    * ``away``: ``|x|`` in (0.3, 1.5), either sign (relu, abs, sign, heaviside, divisors);
    * ``lattice`` / ``half``: integers (plus 0.5) jittered by 0.15, so that values from the two
      domains differ by at least 0.2 (maximum / minimum without ties);
    * ``distinct``: all entries at least 0.2 apart (max / min reductions without ties);
    * ``ladder``: the two halves of the last axis differ elementwise by 0.2 to 0.8;
    * ``spread3``: near (-1.2, 0.3, 1.1) on the last axis (rows whose products must not tie).
    """
    if domain == "real":
        return rng.uniform(-1.5, 1.5, shape)
    if domain == "wide":
        return rng.uniform(-6.0, 6.0, shape)
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "small":
        return rng.uniform(-1.0, 1.0, shape)
    if domain == "away":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 1.5, shape)
    if domain in ("lattice", "half"):
        offset = 0.5 if domain == "half" else 0.0
        return rng.integers(-2, 2, shape) + offset + rng.uniform(-0.15, 0.15, shape)
    if domain == "distinct":
        size = int(np.prod(shape, dtype=np.int64))
        values = rng.permutation(size) * 0.3 - 0.15 * size + rng.uniform(-0.05, 0.05, size)
        return values.reshape(shape)
    if domain == "ladder":
        base = rng.uniform(-1.0, 1.0, shape)
        shift = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 0.8, shape)
        half = shape[-1] // 2
        base[..., half:] = base[..., :half] + shift[..., :half]
        return base
    if domain == "spread3":
        return np.array([-1.2, 0.3, 1.1]) + rng.uniform(-0.05, 0.05, shape)
    raise ValueError(f"unknown domain {domain!r}")


# --- the records --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One way of exercising an op eagerly: ``fn`` (public API) against ``ref`` (NumPy)."""

    label: str
    fn: Callable
    ref: Callable
    shapes: tuple[tuple[Shape, ...], ...]
    domains: tuple[str, ...] = ("real",)
    broadcast: bool = False  # elementwise: hypothesis also draws broadcastable shapes
    differentiable: bool = True
    keeps_dtype: bool = True  # False: the output dtype is fixed (casts, float64 constants)
    dtypes: tuple[str, ...] = ("float64", "float32")

    def domain(self, i: int) -> str:
        """The domain of argument ``i`` (the last one repeats)."""
        return self.domains[min(i, len(self.domains) - 1)]


@dataclass(frozen=True)
class LiftRow:
    """A scalar function of the op for ``symdiff.lift``: argument shapes and domains."""

    fn: Callable
    shapes: tuple[Shape, ...]
    domains: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """A scalar function of one 1-D block of ``size`` inputs from ``domain`` for
    ``bridge.compile``; ``ops`` are the primitives it exercises."""

    label: str
    ops: tuple[str, ...]
    fn: Callable
    size: int = 3
    domain: str = "real"


@dataclass(frozen=True)
class Kink:
    """``grad(sum(fn))`` at ``points`` is exactly ``expected`` (a documented convention)."""

    label: str
    fn: Callable
    points: tuple[float, ...]
    expected: tuple[float, ...]


@dataclass(frozen=True)
class OpSpec:
    """Everything the three suites need to test one op (or one composite)."""

    name: str
    eager: tuple[Case, ...] = ()
    lift: LiftRow | None = None
    compile: tuple[Row, ...] = ()
    kinks: tuple[Kink, ...] = ()
    composite: bool = False
    tolerances: Mapping[str, float] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)  # face -> why it does not apply


def faces(spec: OpSpec) -> set[str]:
    """The faces that apply to ``spec``."""
    out = set()
    if spec.eager:
        out.add("eager")
    if any(c.differentiable for c in spec.eager):
        out |= {"reverse", "forward", "second_order"}
    if any(c.differentiable and "float32" in c.dtypes for c in spec.eager):
        out.add("float32")
    if spec.lift is not None:
        out.add("lift")
    if spec.compile or any(spec.name in row.ops for row in compile_rows()):
        out.add("compile")
    if spec.kinks:
        out.add("kinks")
    return out


# --- helpers for the rows -------------------------------------------------------------------------
def _t(x):
    """A Tensor view of ``x``, so that methods and operators work on plain arrays too."""
    return x if isinstance(x, ad.Tensor) else ad.tensor(x)


def _np_scatter(g, index, shape):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


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
C23 = CONST
MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)


def unary(label, fn, ref, domain="real") -> Case:
    """An elementwise unary case over scalar, vector and matrix shapes (and broadcasting)."""
    return Case(label, fn, ref, UNARY, (domain,), broadcast=True)


def binary(label, fn, ref, domains=("real",), differentiable=True) -> Case:
    """An elementwise binary case over broadcasting shape pairs."""
    return Case(label, fn, ref, BINARY, domains, True, differentiable)


def _reduction(fn, ref, domain) -> tuple[Case, ...]:
    return (
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
    )


def _lift(fn, shapes, domains) -> LiftRow:
    return LiftRow(fn, tuple(shapes), tuple(domains))


def _transcendental(name, fn, ref, domain, lift, compile_domain) -> OpSpec:
    """A unary op: eager case, a lift row, and a compile row ``sum(f(x) * x[::-1])`` (the
    reversed block gives the Hessian off-diagonal entries)."""
    return OpSpec(
        name,
        eager=(unary(name, fn, ref, domain),),
        lift=lift,
        compile=(
            Row(
                name,
                (name, "mul", "getitem", "sum"),
                lambda x, op=fn: ad.sum(op(x) * x[::-1]),
                3,
                compile_domain,
            ),
        ),
    )


def _cmp_lift(op) -> LiftRow:
    return _lift(lambda x, y: ad.where(op(x, y), x * y, x**2).sum(), [(4,), (4,)], ["real"] * 2)


def _comparison(name, label, fn, ref, compile=()) -> OpSpec:
    return OpSpec(
        name,
        eager=(binary(label, fn, ref, differentiable=False),),
        lift=_cmp_lift(getattr(cmp, name)),
        compile=compile,
    )


def _kink(label, fn, expected) -> Kink:
    return Kink(label, fn, (-1.5, 0.0, 2.0), tuple(expected))


# --- the table ----------------------------------------------------------------------------------
SPECS: list[OpSpec] = [
    # arithmetic
    OpSpec(
        "neg",
        eager=(unary("-x", lambda x: -_t(x), np.negative),),
        lift=_lift(lambda x: (-(x**3)).sum(), [(3,)], ["real"]),
        compile=(Row("neg", ("neg",), lambda x: ad.sum(ad.exp(-x) * x)),),
    ),
    OpSpec(
        "add",
        eager=(binary("a + b", lambda a, b: _t(a) + b, np.add),),
        lift=_lift(lambda x, y: ((x + y) ** 2).sum(), [(2, 3), (3,)], ["real", "real"]),
        compile=(Row("add", ("add",), lambda x: ad.sum(ad.sin(x + x * x))),),
    ),
    OpSpec(
        "sub",
        eager=(binary("a - b", lambda a, b: _t(a) - b, np.subtract),),
        lift=_lift(lambda x, y: ((x - y) ** 3).sum(), [(3,), (3,)], ["real", "real"]),
        compile=(Row("sub", ("sub",), lambda x: ad.sum((x[0] - x) ** 3)),),
    ),
    OpSpec(
        "mul",
        eager=(binary("a * b", lambda a, b: _t(a) * b, np.multiply),),
        lift=_lift(lambda x, y: (x * y * x).sum(), [(3,), (3,)], ["real", "real"]),
        compile=(Row("mul", ("mul",), lambda x: ad.sum(x * x[::-1] * x)),),
    ),
    OpSpec(
        "div",
        eager=(binary("a / b", lambda a, b: _t(a) / b, np.divide, ("real", "away")),),
        lift=_lift(lambda x, y: (x / y).sum(), [(3,), (3,)], ["real", "positive"]),
        compile=(Row("div", ("div",), lambda x: ad.sum(x / (1.0 + x * x[::-1]))),),
    ),
    OpSpec(
        "pow",
        eager=(
            binary("a ** b", lambda a, b: ad.power(a, b), np.power, ("positive", "real")),
            unary("x ** 3", lambda x: _t(x) ** 3, lambda x: x**3),
            unary("2 ** x", lambda x: 2.0 ** _t(x), lambda x: 2.0**x),
        ),
        lift=_lift(lambda x, y: (x**y + x**3).sum(), [(3,), (3,)], ["positive", "real"]),
        compile=(
            Row(
                "pow",
                ("pow",),
                lambda x: ad.sum(x[:2] ** x[1:]) + ad.sum(x**2.5),
                3,
                "positive",
            ),
        ),
    ),
    # transcendental
    _transcendental(
        "exp",
        ad.exp,
        np.exp,
        "real",
        _lift(lambda x: ad.exp(x * x[::-1]).sum(), [(3,)], ["real"]),
        "real",
    ),
    _transcendental(
        "log",
        ad.log,
        np.log,
        "positive",
        _lift(lambda x: (ad.log(x) * x).sum(), [(3,)], ["positive"]),
        "positive",
    ),
    _transcendental(
        "log1p",
        ad.log1p,
        np.log1p,
        "positive",
        _lift(lambda x: ad.log1p(x**2).sum(), [(3,)], ["real"]),
        "positive",
    ),
    _transcendental(
        "expm1",
        ad.expm1,
        np.expm1,
        "real",
        _lift(lambda x: (ad.expm1(x) * x).sum(), [(3,)], ["real"]),
        "real",
    ),
    _transcendental(
        "sqrt",
        ad.sqrt,
        np.sqrt,
        "positive",
        _lift(lambda x: ad.sqrt(x).sum(), [(3,)], ["positive"]),
        "positive",
    ),
    _transcendental(
        "square",
        ad.square,
        np.square,
        "real",
        _lift(lambda x: ad.square(x * x[0]).sum(), [(3,)], ["real"]),
        "real",
    ),
    _transcendental(
        "sin",
        ad.sin,
        np.sin,
        "real",
        _lift(lambda x: ad.sin(x * x[::-1]).sum(), [(3,)], ["real"]),
        "real",
    ),
    _transcendental(
        "cos",
        ad.cos,
        np.cos,
        "real",
        _lift(lambda x: ad.cos(x**2).sum(), [(3,)], ["real"]),
        "real",
    ),
    _transcendental(
        "tan",
        ad.tan,
        np.tan,
        "small",
        _lift(lambda x: ad.tan(x).sum(), [(3,)], ["small"]),
        "small",
    ),
    _transcendental(
        "tanh",
        ad.tanh,
        np.tanh,
        "real",
        _lift(lambda x: ad.tanh(x * 2.0).sum(), [(3,)], ["real"]),
        "real",
    ),
    _transcendental(
        "sigmoid",
        ad.sigmoid,
        lambda x: 1.0 / (1.0 + np.exp(-x)),
        "real",
        _lift(lambda x: ad.sigmoid(x * x[0]).sum(), [(3,)], ["real"]),
        "wide",
    ),
    _transcendental(
        "softplus",
        ad.softplus,
        lambda x: np.log1p(np.exp(x)),
        "real",
        _lift(lambda x: ad.softplus(x**2 - 1.0).sum(), [(3,)], ["real"]),
        "wide",
    ),
    # kinks: relu'(0) = 0, abs'(0) = 0, sign' = 0, ties split 0.5 / 0.5 (docs/architecture.md)
    OpSpec(
        "heaviside",
        eager=(
            unary(
                "heaviside",
                lambda x: ad.heaviside(x, 0.5),
                lambda x: np.heaviside(x, 0.5),
                "away",
            ),
        ),
        lift=_lift(lambda x: (ad.heaviside(x, 0.5) * x**2).sum(), [(4,)], ["real"]),
        compile=(
            Row(
                "heaviside",
                ("heaviside",),
                lambda x: ad.sum(ad.heaviside(x, 0.5) * x**3),
                3,
                "away",
            ),
        ),
        kinks=(_kink("heaviside", lambda x: ad.heaviside(x, 0.5), [0.0, 0.0, 0.0]),),
    ),
    OpSpec(
        "sign",
        eager=(unary("sign", ad.sign, np.sign, "away"),),
        lift=_lift(lambda x: (ad.sign(x) * x**3).sum(), [(4,)], ["real"]),
        compile=(Row("sign", ("sign",), lambda x: ad.sum(ad.sign(x) * x**3 * x[::-1]), 3, "away"),),
        kinks=(_kink("sign", ad.sign, [0.0, 0.0, 0.0]),),
    ),
    OpSpec(
        "relu",
        eager=(unary("relu", ad.relu, lambda x: np.maximum(x, 0.0), "away"),),
        lift=_lift(lambda x: (ad.relu(x) ** 3).sum(), [(4,)], ["real"]),
        compile=(Row("relu", ("relu",), lambda x: ad.sum(ad.relu(x) ** 3 * x[::-1]), 3, "away"),),
        kinks=(_kink("relu", ad.relu, [0.0, 0.0, 1.0]),),
    ),
    OpSpec(
        "abs",
        eager=(unary("abs", ad.abs, np.abs, "away"),),
        lift=_lift(lambda x: (ad.abs(x) ** 3).sum(), [(4,)], ["real"]),
        compile=(Row("abs", ("abs",), lambda x: ad.sum(ad.abs(x) ** 3 * x[::-1]), 3, "away"),),
        kinks=(_kink("abs", ad.abs, [-1.0, 0.0, 1.0]),),
    ),
    OpSpec(
        "maximum",
        eager=(binary("maximum", ad.maximum, np.maximum, ("lattice", "half")),),
        lift=_lift(lambda x, y: (ad.maximum(x, y) ** 2).sum(), [(3,), (3,)], ["real"] * 2),
        compile=(
            Row(
                "maximum",
                ("maximum",),
                lambda x: ad.sum(ad.maximum(x[:2], x[2:]) ** 3),
                4,
                "ladder",
            ),
        ),
    ),
    OpSpec(
        "minimum",
        eager=(binary("minimum", ad.minimum, np.minimum, ("lattice", "half")),),
        lift=_lift(lambda x, y: (ad.minimum(x, y) ** 3).sum(), [(3,), (3,)], ["real"] * 2),
        compile=(
            Row(
                "minimum",
                ("minimum",),
                lambda x: ad.sum(ad.minimum(x[:2], x[2:]) ** 3),
                4,
                "ladder",
            ),
        ),
    ),
    OpSpec(
        "where",
        eager=(
            Case(
                "where(c > 0, a, b)",
                lambda c, a, b: ad.where(c > 0, a, b),
                lambda c, a, b: np.where(c > 0, a, b),
                TERNARY,
                ("away", "real", "real"),
                broadcast=True,
            ),
        ),
        lift=_lift(lambda x: ad.where(x > 0.0, x**3, -x).sum(), [(4,)], ["real"]),
        compile=(
            Row(
                "where/greater",
                ("where", "greater"),
                lambda x: ad.sum(ad.where(cmp.greater(x, 0.0), x**3, ad.sin(x))),
                3,
                "away",
            ),
        ),
    ),
    OpSpec(
        "cast",
        eager=(
            Case(
                "astype(float64)",
                lambda x: _t(x).astype(np.float64),
                lambda x: x.astype(np.float64),
                UNARY,
                keeps_dtype=False,
            ),
        ),
        lift=_lift(lambda x: (cast(x, np.float64) ** 2 * x).sum(), [(3,)], ["real"]),
        compile=(Row("cast", ("cast",), lambda x: ad.sum(cast(x, np.float64) ** 3)),),
    ),
    OpSpec(
        "cast_discrete",
        eager=(
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
        ),
        lift=_lift(
            lambda x: (
                (cast(x * 2.0, np.int64) * x**2).sum() + ad.where(cast(x, bool), x, 1.0).sum()
            ),
            [(4,)],
            ["real"],
        ),
        compile=(
            Row(
                "cast_discrete",
                ("cast_discrete",),
                lambda x: (
                    ad.sum(cast(x * 2.0, np.int64) * x**3)
                    + ad.sum(cast(cast(x, bool), np.float64) * x)
                ),
            ),
        ),
    ),
    OpSpec(
        "stable_shift",
        eager=(
            Case(
                "stable_shift (max along axis, no gradient)",
                lambda x: _stable_shift(_t(x), -1),
                lambda x: np.max(x, axis=-1, keepdims=True),
                (((3,),), ((2, 3),)),
                differentiable=False,
            ),
        ),
        # compiled through the logsumexp and softmax rows, which name it
        lift=_lift(lambda x: ad.logsumexp(x * x[::-1]), [(3,)], ["real"]),
    ),
    # comparisons (no gradient)
    _comparison(
        "less",
        "a < b",
        lambda a, b: _t(a) < b,
        np.less,
        compile=(
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
        ),
    ),
    _comparison("less_equal", "a <= b", lambda a, b: _t(a) <= b, np.less_equal),
    _comparison("greater", "a > b", lambda a, b: _t(a) > b, np.greater),
    _comparison(
        "greater_equal",
        "a >= b",
        lambda a, b: _t(a) >= b,
        np.greater_equal,
        compile=(
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
        ),
    ),
    _comparison("equal", "a == b", lambda a, b: _t(a) == b, np.equal),
    _comparison("not_equal", "a != b", lambda a, b: _t(a) != b, np.not_equal),
    # shape
    OpSpec(
        "reshape",
        eager=(
            Case("(-1,)", lambda x: ad.reshape(x, -1), np.ravel, (((2, 3),), ((),))),
            Case(
                "(3, 2)", lambda x: ad.reshape(x, (3, 2)), lambda x: x.reshape(3, 2), (((2, 3),),)
            ),
        ),
        lift=_lift(lambda x: (ad.reshape(x, (2, 3)) ** 2 * C23).sum(), [(6,)], ["real"]),
        compile=(
            Row(
                "reshape/transpose",
                ("reshape", "transpose"),
                lambda x: ad.sum(ad.transpose(ad.reshape(x, (2, 2))) * ad.reshape(x, (2, 2)) ** 2),
                4,
            ),
        ),
    ),
    OpSpec(
        "transpose",
        eager=(
            Case("reverse", ad.transpose, np.transpose, (((2, 3),), ((2, 3, 4),), ((3,),))),
            Case(
                "(1, 2, 0)",
                lambda x: ad.transpose(x, (1, 2, 0)),
                lambda x: np.transpose(x, (1, 2, 0)),
                (((2, 3, 4),),),
            ),
            Case(".T", lambda x: _t(x).T, np.transpose, (((2, 3),),)),
        ),
        lift=_lift(lambda x: (ad.transpose(x) ** 3 * C23.T).sum(), [(2, 3)], ["real"]),
    ),
    OpSpec(
        "broadcast_to",
        eager=(
            Case(
                "(2, 3, 4)",
                lambda x: ad.broadcast_to(x, (2, 3, 4)),
                lambda x: np.broadcast_to(x, (2, 3, 4)),
                (((3, 1),), ((4,),), ((1, 4),), ((),), ((2, 3, 4),)),
            ),
            Case(
                "expand",
                lambda x: _t(x).expand(2, 3),
                lambda x: np.broadcast_to(x, (2, 3)),
                (((3,),), ((1, 3),)),
            ),
        ),
        lift=_lift(lambda x: (ad.broadcast_to(x, (2, 3)) * C23).sum() ** 2, [(3,)], ["real"]),
        compile=(
            Row(
                "broadcast_to",
                ("broadcast_to",),
                lambda x: ad.sum(ad.broadcast_to(x[:1], (2,)) * x[1:] ** 2),
            ),
        ),
    ),
    OpSpec(
        "getitem",
        eager=(
            Case("[1:, ::2]", lambda x: _t(x)[1:, ::2], lambda x: x[1:, ::2], (((3, 4),),)),
            Case("[1]", lambda x: _t(x)[1], lambda x: x[1], (((3, 4),),)),
            Case("[..., -1]", lambda x: _t(x)[..., -1], lambda x: x[..., -1], (((2, 3, 4),),)),
            Case(
                "[None, :, 1]", lambda x: _t(x)[None, :, 1], lambda x: x[None, :, 1], (((3, 4),),)
            ),
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
        ),
        lift=_lift(lambda x: (x[1:] * x[:-1]).sum() + (x[[0, 0, 2]] ** 2).sum(), [(3,)], ["real"]),
        compile=(
            Row(
                "getitem",
                ("getitem",),
                lambda x: x[0] * x[2] ** 2 + ad.sum(ad.sin(x[[1, 1, 2]])),
            ),
        ),
    ),
    OpSpec(
        "scatter_add",
        eager=(
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
        ),
        lift=_lift(
            lambda x: (scatter_add(x, (np.array([0, 0, 2]),), (4,)) ** 2).sum(), [(3,)], ["real"]
        ),
        compile=(
            Row(
                "scatter_add",
                ("scatter_add",),
                lambda x: ad.sum(scatter_add(x[:2] * x[1:], np.array([0, 0]), (3,)) ** 2 * x),
            ),
        ),
    ),
    OpSpec(
        "concatenate",
        eager=(
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
        ),
        lift=_lift(
            lambda x, y: (ad.concatenate([x, y**2]) ** 2).sum(), [(2,), (3,)], ["real", "real"]
        ),
        compile=(
            Row(
                "concatenate",
                ("concatenate",),
                lambda x: ad.sum(
                    ad.concatenate([x[:2] ** 2, ad.sin(x)]) * ad.concatenate([x, x[1:]])
                ),
            ),
        ),
    ),
    # linear algebra
    OpSpec(
        "matmul",
        eager=(
            Case("a @ b", lambda a, b: _t(a) @ b, np.matmul, MATMUL_SHAPES),
            # A float64 ndarray constant promotes a float32 operand (NumPy); gradients do not.
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
            Case(
                "matmul chain",
                lambda a, b: ad.matmul(ad.matmul(a, b), a),
                lambda a, b: a @ b @ a,
                (((2, 2), (2, 2)),),
            ),
        ),
        lift=_lift(lambda w, v: ad.sin(w @ v).sum(), [(2, 3), (3,)], ["real", "real"]),
        compile=(
            Row(
                "matmul",
                ("matmul",),
                lambda x: ad.sum(
                    ad.matmul(ad.reshape(x, (2, 2)), ad.reshape(x[::-1], (2, 2))) ** 2
                ),
                4,
            ),
        ),
    ),
    # reductions
    OpSpec(
        "sum",
        eager=_reduction(ad.sum, np.sum, "real"),
        lift=_lift(lambda x: (ad.sum(x, axis=0) ** 2).sum(), [(2, 3)], ["real"]),
        compile=(
            Row(
                "sum axis",
                ("sum",),
                lambda x: ad.sum(ad.sum(ad.reshape(x, (2, 2)), axis=0) ** 3),
                4,
            ),
        ),
    ),
    OpSpec(
        "max",
        eager=(
            *_reduction(ad.max, np.max, "distinct"),
            Case(
                "max of sum (distinct)",
                lambda x: ad.max(x * 2.0 + 1.0),
                lambda x: np.max(x * 2 + 1),
                (((3, 2),),),
                ("distinct",),
            ),
        ),
        lift=_lift(lambda x: (ad.max(x, axis=1) ** 2).sum(), [(2, 3)], ["real"]),
        compile=(Row("max", ("max",), lambda x: ad.max(x * x[::-1] + x), 3, "spread3"),),
    ),
    OpSpec(
        "min",
        eager=_reduction(ad.min, np.min, "distinct"),
        lift=_lift(lambda x: (ad.min(x, axis=0) ** 3).sum(), [(2, 3)], ["real"]),
        compile=(Row("min", ("min",), lambda x: ad.min(ad.sin(x) * x[0]), 3, "spread3"),),
    ),
    OpSpec(
        "prod",
        eager=(
            *_reduction(ad.prod, np.prod, "real"),
            Case(
                "prod of sum",
                lambda x: ad.prod(ad.sum(x, 0)),
                lambda x: np.prod(np.sum(x, 0)),
                (((2, 3),),),
            ),
        ),
        lift=_lift(lambda x: ad.prod(x, axis=1).sum(), [(2, 3)], ["real"]),
        compile=(Row("prod", ("prod",), lambda x: ad.prod(x) * ad.sum(x), 4),),
    ),
]

# --- composites: no primitive of their own; their derivatives come from the ops they call ------
COMPOSITE_SPECS: list[OpSpec] = [
    OpSpec(
        "mean",
        composite=True,
        eager=(
            Case("mean", ad.mean, np.mean, UNARY),
            Case(
                "mean axis=0 keepdims",
                lambda x: ad.mean(x, 0, True),
                lambda x: x.mean(0, keepdims=True),
                (((2, 3),),),
            ),
            Case(
                "mse",
                lambda a, b: ad.mean(ad.square(_t(a) - b)),
                lambda a, b: np.mean((a - b) ** 2),
                BINARY,
            ),
        ),
    ),
    OpSpec(
        "var",
        composite=True,
        eager=(
            Case("var", ad.var, np.var, (((2, 3),), ((4,),))),
            Case(
                "var ddof=1 axis=1",
                lambda x: ad.var(x, 1, ddof=1),
                lambda x: np.var(x, 1, ddof=1),
                (((2, 3),),),
            ),
        ),
        compile=(Row("var", (), lambda x: ad.var(x * x)),),
    ),
    OpSpec(
        "std",
        composite=True,
        eager=(
            Case("std", ad.std, np.std, (((2, 3),), ((4,),))),
            Case(
                "std axis=0", lambda x: ad.std(x, axis=0), lambda x: np.std(x, axis=0), (((3, 2),),)
            ),
        ),
    ),
    OpSpec(
        "logsumexp",
        composite=True,
        eager=(
            Case("logsumexp", ad.logsumexp, _np_logsumexp, UNARY),
            Case(
                "logsumexp axis=1",
                lambda x: ad.logsumexp(x, 1),
                lambda x: _np_logsumexp(x, 1),
                (((2, 3),),),
            ),
            Case(
                "logsumexp axis=0 keepdims",
                lambda x: ad.logsumexp(x, 0, keepdims=True),
                lambda x: _np_logsumexp(x, 0, keepdims=True),
                (((2, 3),),),
            ),
        ),
        compile=(Row("logsumexp", ("stable_shift",), lambda x: ad.logsumexp(x * x[::-1])),),
    ),
    OpSpec(
        "softmax",
        composite=True,
        eager=(
            Case("softmax", ad.softmax, _np_softmax, (((4,),), ((2, 3),))),
            Case(
                "softmax axis=0",
                lambda x: ad.softmax(x, 0),
                lambda x: _np_softmax(x, 0),
                (((2, 3),),),
            ),
        ),
        compile=(Row("softmax", ("stable_shift",), lambda x: ad.sum(ad.softmax(x) * x)),),
    ),
    OpSpec(
        "log_softmax",
        composite=True,
        eager=(
            Case(
                "log_softmax",
                ad.log_softmax,
                lambda x: np.log(_np_softmax(x)),
                (((4,),), ((2, 3),)),
            ),
        ),
    ),
    OpSpec(
        "clip",
        composite=True,
        eager=(
            Case("clip", lambda x: ad.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), UNARY),
            Case("clip lo only", lambda x: ad.clip(x, lo=0.2), lambda x: np.maximum(x, 0.2), UNARY),
        ),
    ),
    OpSpec(
        "stack",
        composite=True,
        eager=(
            Case(
                "stack",
                lambda a, b: ad.stack([a, b]),
                lambda a, b: np.stack([a, b]),
                (((2, 3), (2, 3)), ((), ())),
            ),
            Case(
                "stack axis=-1",
                lambda a, b: ad.stack([a, b], -1),
                lambda a, b: np.stack([a, b], -1),
                (((2, 3), (2, 3)),),
            ),
        ),
    ),
    OpSpec(
        "squeeze",
        composite=True,
        eager=(
            Case("squeeze", ad.squeeze, np.squeeze, (((1, 3, 1),), ((2, 1),))),
            Case(
                "squeeze axis=0",
                lambda x: ad.squeeze(x, 0),
                lambda x: np.squeeze(x, 0),
                (((1, 3, 1),),),
            ),
        ),
    ),
    OpSpec(
        "unsqueeze",
        composite=True,
        eager=(
            Case(
                "unsqueeze 1",
                lambda x: ad.unsqueeze(x, 1),
                lambda x: np.expand_dims(x, 1),
                (((2, 3),), ((3,),)),
            ),
            Case(
                "unsqueeze -1",
                lambda x: ad.unsqueeze(x, -1),
                lambda x: np.expand_dims(x, -1),
                (((2, 3),),),
            ),
        ),
    ),
    OpSpec(
        "swapaxes",
        composite=True,
        eager=(
            Case(
                "swapaxes",
                lambda x: ad.swapaxes(x, 0, 2),
                lambda x: np.swapaxes(x, 0, 2),
                (((2, 3, 4),),),
            ),
        ),
    ),
    OpSpec(
        "flatten",
        composite=True,
        eager=(Case("flatten", ad.flatten, np.ravel, (((2, 3),), ((2, 1, 2),))),),
    ),
    OpSpec("dot", composite=True, eager=(Case("dot", ad.dot, np.dot, (((3,), (3,)),)),)),
    OpSpec("outer", composite=True, eager=(Case("outer", ad.outer, np.outer, (((3,), (2,)),)),)),
]


def _area_specs() -> list[OpSpec]:
    """Specs declared by area in ``tests/op_specs_<area>.py`` (each a list ``SPECS``), so
    families of ops (math, structure, linear algebra) keep their rows next to each other."""
    import importlib
    import pathlib

    found: list[OpSpec] = []
    for path in sorted(pathlib.Path(__file__).parent.glob("op_specs_*.py")):
        found += importlib.import_module(path.stem).SPECS
    return found


# Area specs join the primitive and composite lists, so that every helper below (and the suites
# that read SPECS, e.g. the op-table completeness tests) sees them.
_AREA_SPECS = _area_specs()
SPECS += [s for s in _AREA_SPECS if not s.composite]
COMPOSITE_SPECS += [s for s in _AREA_SPECS if s.composite]
ALL_SPECS: list[OpSpec] = SPECS + COMPOSITE_SPECS


def by_name() -> dict[str, OpSpec]:
    """Spec name -> spec (op names and composite names never collide)."""
    table = {s.name: s for s in ALL_SPECS}
    assert len(table) == len(ALL_SPECS), "two specs share a name"
    return table


def eager_cases(*, composite: bool | None = None) -> list[tuple[str, Case]]:
    """``(id prefix, case)`` for every eager case (``composite`` filters by kind)."""
    return [
        ("composite" if s.composite else s.name, c)
        for s in ALL_SPECS
        if composite is None or s.composite == composite
        for c in s.eager
    ]


def lift_rows() -> dict[str, LiftRow]:
    """Op name -> its lift row (primitives; composites lift through them)."""
    return {s.name: s.lift for s in SPECS if s.lift is not None}


def compile_rows() -> list[Row]:
    """Every compile row, in table order."""
    return [row for s in ALL_SPECS for row in s.compile]


def compile_reasons() -> dict[str, str]:
    """Op name -> why it has no compile row of its own."""
    return {s.name: s.reasons["compile"] for s in SPECS if "compile" in s.reasons}


def kinks() -> list[tuple[str, Kink]]:
    """``(op name, kink)`` for every documented kink convention."""
    return [(s.name, k) for s in ALL_SPECS for k in s.kinks]


def _owners() -> dict[int, OpSpec]:
    owners: dict[int, OpSpec] = {}
    for spec in ALL_SPECS:
        for item in (*spec.eager, *spec.compile, *spec.kinks, spec.lift):
            if item is not None:
                owners[id(item)] = spec
    return owners


def tolerance(item: Case | LiftRow | Row | OpSpec, key: str) -> float:
    """The tolerance ``key`` (see :data:`DEFAULT_TOLERANCES`) for a spec or one of its rows."""
    spec = item if isinstance(item, OpSpec) else _owners().get(id(item))
    if key not in DEFAULT_TOLERANCES:
        raise KeyError(f"unknown tolerance {key!r}; known: {sorted(DEFAULT_TOLERANCES)}")
    if spec is not None and key in spec.tolerances:
        return spec.tolerances[key]
    return DEFAULT_TOLERANCES[key]

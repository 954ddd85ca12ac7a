"""lift refuses silent constants and frozen branches; guards=True records branches instead.

Oracles: mpmath (50 digits) derivatives of the plain-math function, not our rules.
"""

from __future__ import annotations

import doctest
import importlib
import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from autodiff.grad_mode import tracing
from symdiff import Guard, GuardError, TracerBoolConversionError, TracerConversionError

X = sp.Symbol("x", real=True)
mp.mp.dps = 50


def _conversions_refused_by_autodiff() -> bool:
    """Whether autodiff itself refuses float() of a traced tensor (the conversions work)."""
    t = ad.tensor(1.0, requires_grad=True) * 2.0
    try:
        with tracing("lift"):
            float(t)
    except TypeError:
        return True
    return False


# --- 1. silent constants ----------------------------------------------------------------------
def test_math_function_of_a_lifted_argument_raises():
    with pytest.raises(TracerConversionError, match=r"float\(\).*math") as info:
        symdiff.lift(lambda x: math.atan(x) * x, 0.3)
    assert "ad.atan" in str(info.value)
    assert isinstance(info.value, symdiff.LiftError) and isinstance(info.value, TypeError)


def test_float_of_a_lifted_argument_raises():
    def f(x):
        return float(x) * x

    with pytest.raises(TracerConversionError, match=r"float\(\)"):
        symdiff.lift(f, 1.0)


@pytest.mark.parametrize(
    "convert",
    [np.asarray, np.array, lambda t: t.item(), lambda t: t.tolist(), lambda t: t.numpy()],
    ids=["asarray", "array", "item", "tolist", "numpy"],
)
def test_numpy_conversion_of_a_lifted_argument_raises(convert):
    with pytest.raises(TracerConversionError, match="constant"):
        symdiff.lift(lambda x: ad.sum(x * np.sum(convert(x))), np.array([1.0, 2.0]))


def test_int_of_a_lifted_argument_raises():
    with pytest.raises(TracerConversionError, match="int"):
        symdiff.lift(lambda x: x * int(x), 2.0)


@pytest.mark.xfail(
    not _conversions_refused_by_autodiff(),
    reason="float() of a derived traced tensor is refused by autodiff's conversion check",
    strict=True,
)
def test_math_function_of_a_derived_value_raises():
    with pytest.raises(TracerConversionError, match="lift"):
        symdiff.lift(lambda x: math.atan(2.0 * x) * x, 0.3)


def test_autodiff_conversion_error_is_reraised_with_lift_context(monkeypatch):
    conversion = type("ConversionError", (TypeError,), {})
    monkeypatch.setattr(ad, "ConversionError", conversion, raising=False)

    def f(x):
        raise conversion("float() of a tensor that requires grad")

    with pytest.raises(TracerConversionError, match=r"lift: float\(\).*ad\.atan") as info:
        symdiff.lift(f, 1.0)
    assert isinstance(info.value.__cause__, conversion)

    def g(x):
        raise TypeError("an unrelated type error")

    with pytest.raises(TypeError, match="unrelated") as info:
        symdiff.lift(g, 1.0)
    assert not isinstance(info.value, TracerConversionError)


def test_conversions_outside_lift_and_of_constants_keep_working():
    t = ad.tensor(0.3, requires_grad=True)
    assert math.atan(t) == pytest.approx(math.atan(0.3))
    c = ad.tensor(2.0)
    lifted = symdiff.lift(lambda x: x * math.sqrt(c) + float(np.asarray(c)), 1.0)
    assert lifted.expr.free_symbols == {X}
    assert float(lifted.gradient()[0]) == pytest.approx(math.sqrt(2.0))


@pytest.mark.parametrize("n", [3, np.int64(3), np.int32(3)], ids=["int", "int64", "int32"])
def test_integer_example_argument_is_a_float_variable(n):
    lifted = symdiff.lift(lambda x: x**2, n)
    assert lifted.variables == (X,)
    assert lifted.arg_shapes == {"x": ()}
    (g,) = lifted.gradient()
    assert g == 2 * X
    # the oracle: mpmath's derivative of t**2 at the integer point
    assert float(g.subs(X, 3)) == float(mp.diff(lambda t: t**2, 3))
    assert lifted.evaluate(4) == 16.0


def test_bool_example_argument_is_not_a_variable():
    lifted = symdiff.lift(lambda x, flag: x * 2.0 if flag else x, 1.0, True)
    assert lifted.expr == 2 * X and lifted.arg_shapes == {"x": ()}


# --- 2. frozen control flow ---------------------------------------------------------------------
def _branch(x):
    return x**2 if x > 0 else -x


def test_if_on_a_traced_value_raises_pointing_to_where():
    with pytest.raises(TracerBoolConversionError, match=r"ad\.where") as info:
        symdiff.lift(_branch, 1.0)
    text = str(info.value)
    assert "x > 0" in text and "greater" in text
    assert "test_lift_guards.py" in text and "guards=True" in text


def test_while_loop_on_a_traced_value_raises():
    def doubling(x):
        while x < 10:
            x = x * 2
        return x

    with pytest.raises(TracerBoolConversionError, match="x < 10"):
        symdiff.lift(doubling, 1.0)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: max(x[0], 0.0) * x[1],
        lambda x: x if x[0] else -x,
        lambda x: (x[0] > 0 and x[1] < 2) * x,
        lambda x: x * 2 if ad.sin(x[0]) * x[1] > 0.1 else x,
    ],
    ids=["max", "truthiness", "and", "intermediate"],
)
def test_other_python_branches_raise(f):
    with pytest.raises(TracerBoolConversionError, match="ad.where"):
        symdiff.lift(lambda x: ad.sum(f(x)), np.array([1.0, 0.5]))


def test_comparisons_of_constants_shapes_and_outside_tensors_keep_working():
    w = ad.tensor(3.0, requires_grad=True)  # a tensor of the caller, not a lifted argument
    c = ad.tensor([1.0, -1.0])

    def f(x):
        y = x * 2.0 if x.ndim == 1 else x
        y = y * w if w > 0 else y  # depends on no lifted symbol: an ordinary constant
        y = y + 1.0 if (c[0] > 0) and bool(c.sum() == 0) else y
        return ad.sum(y)

    lifted = symdiff.lift(f, np.array([0.5, 2.0]))
    assert lifted.guards == ()
    x0, x1 = lifted.variables
    assert sp.simplify(lifted.expr - (6 * x0 + 6 * x1 + 2)) == 0


def test_where_stays_symbolic_and_needs_no_guard():
    lifted = symdiff.lift(lambda x: ad.where(x > 0, x**2, -x), 1.0)
    assert lifted.guards == ()
    assert lifted.evaluate(-2.0) == 2.0 and lifted.evaluate(2.0) == 4.0


# --- guards -----------------------------------------------------------------------------------
def test_guards_record_the_branch_taken():
    lifted = symdiff.lift(_branch, 1.0, guards=True)
    assert lifted.expr == X**2
    assert lifted.guards == (Guard(X > 0, True),)
    (guard,) = lifted.guards
    assert guard.expr == (X > 0) and "test_lift_guards.py" in guard.where
    assert "1 guard" in repr(lifted)

    other = symdiff.lift(_branch, -1.0, guards=True)
    assert other.expr == -X
    assert other.guards == (Guard(X > 0, False),)
    assert other.guards[0].expr == sp.Not(X > 0)


def test_lifted_evaluation_checks_guards():
    lifted = symdiff.lift(_branch, 1.0, guards=True)
    assert lifted.evaluate(2.0) == 4.0
    assert lifted.subs_values(2.0) == {X: 2.0}
    with pytest.raises(GuardError, match=r"x > 0.*x=-2\.0"):
        lifted.evaluate(-2.0)
    with pytest.raises(GuardError, match="x > 0"):
        lifted.subs_values(-2.0)
    with pytest.raises(GuardError, match="x > 0"):
        lifted.check_guards(-2.0)
    lifted.check_guards(0.5)

    other = symdiff.lift(_branch, -1.0, guards=True)
    assert other.evaluate(-3.0) == 3.0
    assert other.evaluate(0.0) == 0.0  # 0 > 0 is False: the traced branch
    assert other.evaluate(float("nan")) != other.evaluate(float("nan"))  # NaN > 0 is False
    with pytest.raises(GuardError, match=r"not \(x > 0\)"):
        other.evaluate(1.0)


def test_while_loop_with_guards_records_every_iteration():
    def doubling(x):
        while x < 10:
            x = x * 2
        return x

    lifted = symdiff.lift(doubling, 1.0, guards=True)
    assert lifted.expr == 16 * X
    conds = [(g.condition, g.taken) for g in lifted.guards]
    assert conds == [(X < 10, True), (2 * X < 10, True), (4 * X < 10, True)] + [
        (8 * X < 10, True),
        (16 * X < 10, False),
    ]
    assert lifted.evaluate(0.7) == 16 * 0.7  # the same number of iterations
    with pytest.raises(GuardError):
        lifted.evaluate(2.0)  # three iterations, not four
    with pytest.raises(GuardError):
        lifted.evaluate(0.5)  # five iterations


def test_guards_on_parameters_and_array_elements():
    def f(x, a):
        return ad.sum(x**2) * a if a > 0 and x[1] < x[0] else ad.sum(x)

    lifted = symdiff.lift(f, np.array([2.0, 1.0]), 3.0, params="a", guards=True)
    a = sp.Symbol("a", real=True)
    x0, x1 = lifted.variables
    assert lifted.parameters == (a,)
    assert [g.condition for g in lifted.guards] == [a > 0, x1 < x0]
    assert lifted.evaluate(np.array([3.0, 1.0]), 2.0) == 20.0
    with pytest.raises(GuardError, match="a > 0"):
        lifted.evaluate(np.array([3.0, 1.0]), -2.0)
    with pytest.raises(GuardError, match=r"x\[1\] < x\[0\]"):
        lifted.evaluate(np.array([1.0, 3.0]), 2.0)


def test_guarded_derivatives_match_mpmath_on_the_traced_branch():
    def f(x):
        return ad.sin(x) * x if x > 0.5 else x**3

    lifted = symdiff.lift(f, 1.0, guards=True)
    (g,) = lifted.gradient()
    d2 = lifted.hessian()[0, 0]
    assert d2 == lifted.derivative("x", "x")
    for point in (0.7, 1.3, 2.9):
        lifted.check_guards(point)
        exact = mp.diff(lambda t: mp.sin(t) * t, point)
        assert float(g.subs(X, point)) == pytest.approx(float(exact), rel=1e-14)
        exact2 = mp.diff(lambda t: mp.sin(t) * t, point, 2)
        assert float(d2.subs(X, point)) == pytest.approx(float(exact2), rel=1e-14)
    with pytest.raises(GuardError, match="x > 0.5|x > 1/2"):
        lifted.check_guards(0.2)


def test_constant_comparisons_record_no_guard():
    lifted = symdiff.lift(lambda x: x * 2.0 if ad.tensor(1.0) > 0 else x, 1.0, guards=True)
    assert lifted.guards == () and lifted.expr == 2 * X


@pytest.mark.parametrize("module", ["symdiff.lift", "symdiff.lifted"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0

"""bridge.compile refuses frozen branches; guards=True compiles a per-point guard check.

Oracles: mpmath derivatives (50 digits) of the plain-math branch, and the eager function.
"""

from __future__ import annotations

import pickle

import mpmath as mp
import numpy as np
import pytest

import autodiff as ad
import bridge
import hybriddiff as hd
import symdiff
from bridge import GuardError

mp.mp.dps = 50


def _branch(x):
    return x**2 if x > 0 else -x


@pytest.fixture(scope="module")
def branch():
    return bridge.compile(_branch, 1.0, guards=True)


def test_compile_refuses_a_frozen_branch():
    with pytest.raises(symdiff.TracerBoolConversionError, match=r"ad\.where"):
        bridge.compile(_branch, 1.0)


def test_guarded_value_on_the_traced_branch(branch):
    assert branch.guards == (("x > 0", True, branch.guards[0][2]),)
    assert "test_bridge_guards.py" in branch.guards[0][2]
    assert branch.value(np.array([2.0])) == 4.0
    assert branch.value([0.5]) == 0.25
    np.testing.assert_array_equal(branch.value(np.array([[1.0], [3.0]])), [1.0, 9.0])


def test_guard_violation_at_one_point_names_guard_and_input(branch):
    with pytest.raises(GuardError, match=r"value: guard `x > 0`.*x = -2\.0") as info:
        branch.value(np.array([-2.0]))
    assert info.value.guard == "x > 0" and info.value.indices == (0,)
    assert "test_bridge_guards.py" in str(info.value)


def test_guard_violation_in_a_batch_names_the_points(branch):
    with pytest.raises(GuardError, match=r"1 of 3 points \(indices 1;") as info:
        branch.value(np.array([[1.0], [-1.0], [3.0]]))
    assert info.value.indices == (1,)
    many = np.linspace(-1.0, 1.0, 21).reshape(-1, 1)  # 11 points with x <= 0
    with pytest.raises(GuardError, match=r"11 of 21 points \(indices 0, 1, 2, 3, 4, \.\.\.") as e:
        branch.value(many)
    assert e.value.indices == tuple(range(11))


def test_guards_with_grad_and_hessian(branch):
    for point in (0.3, 2.5):
        g = branch.grad([point])
        assert g[0] == pytest.approx(float(mp.diff(lambda t: t**2, point)), rel=1e-15)
        v, g2 = branch.value_and_grad(np.array([point]))
        assert v == pytest.approx(point**2) and g2[0] == g[0]
        assert branch.hessian([point])[0, 0] == pytest.approx(2.0)
    batch = np.array([[1.0], [2.0], [-3.0], [-4.0]])
    for call in (branch.grad, branch.value_and_grad, branch.hessian):
        with pytest.raises(GuardError, match=r"2 of 4 points \(indices 2, 3;") as info:
            call(batch)
        assert info.value.indices == (2, 3)
    with pytest.raises(GuardError, match="hessian: guard"):
        branch.hessian(np.array([-1.0]), sparse=True)
    with pytest.raises(GuardError, match="x = -1.0"):
        branch.hessp(np.array([-1.0]), np.array([1.0]))


def test_the_first_violated_guard_is_reported_with_its_branch():
    def f(x):
        y = ad.sum(x**2)
        if x[0] > x[1]:
            y = y * 2.0
        if ad.sum(x) < 3:
            y = y + x[0]
        return y

    c = bridge.compile(f, np.array([1.0, 0.5]), guards=True)
    assert [(g[0], g[1]) for g in c.guards] == [("x[0] > x[1]", True), ("x[0] + x[1] < 3", True)]
    eager = lambda x: float(f(ad.tensor(x)).data)  # noqa: E731
    point = np.array([0.9, -0.2])
    assert c.value(point) == pytest.approx(eager(point))
    with pytest.raises(GuardError, match=r"guard `x\[0\] > x\[1\]`.*x\[0\] = 0.0, x\[1\] = 1.0"):
        c.value(np.array([0.0, 1.0]))
    with pytest.raises(GuardError, match=r"guard `x\[0\] \+ x\[1\] < 3`.*indices 0;") as info:
        c.grad(np.array([[3.0, 2.0], [1.0, 0.0]]))
    assert info.value.indices == (0,)
    X = np.array([[0.0, 1.0], [3.0, 2.0], [1.0, 0.0]])
    with pytest.raises(GuardError, match=r"indices 0;.*2 points violate some guard"):
        c.value(X)


def test_a_branch_not_taken_is_guarded_too():
    c = bridge.compile(_branch, -1.0, guards=True)
    assert c.guards[0][:2] == ("x > 0", False)
    assert c.value([-3.0]) == 3.0 and c.value([0.0]) == 0.0
    assert np.isnan(c.value([np.nan]))  # nan > 0 is False: the traced branch, as in eager
    with pytest.raises(GuardError, match=r"guard `not \(x > 0\)`"):
        c.value([2.0])


def test_guards_are_part_of_the_cache_key():
    def same_expression(x):
        return x**2 if x > 0 else x * x

    up = bridge.compile(same_expression, 1.0, guards=True)
    down = bridge.compile(same_expression, -1.0, guards=True)
    plain = bridge.compile(lambda x: x**2, 1.0)
    assert up.source != down.source and not plain.guards and "guard_point" not in plain.source
    assert down.value([-2.0]) == 4.0 and plain.value([-2.0]) == 4.0
    with pytest.raises(GuardError):
        up.value([-2.0])
    with pytest.raises(GuardError):
        down.value([2.0])


def test_guards_on_parameters_checked_with_the_call_time_values():
    def f(x, a):
        return x * a if a > 0 else -x

    c = bridge.compile(f, 1.0, 2.0, params="a", guards=True)
    assert c.value([3.0]) == 6.0  # default p from the example
    assert c.value([3.0], p=[0.5]) == 1.5
    with pytest.raises(GuardError, match="a > 0"):
        c.value([3.0], p=[-0.5])


def test_a_lifted_computation_keeps_its_guards():
    lifted = symdiff.lift(_branch, 1.0, guards=True)
    c = bridge.compile(lifted)
    assert c.guards[0][:2] == ("x > 0", True)
    with pytest.raises(GuardError):
        c.value([-1.0])


def test_guards_flag_is_refused_where_nothing_is_lifted():
    import sympy as sp

    x = sp.Symbol("x", real=True)
    with pytest.raises(TypeError, match="guards=True is only taken with a callable"):
        bridge.compile(x**2, wrt=[x], guards=True)
    with pytest.raises(TypeError, match="a Lifted keeps the guards"):
        bridge.compile(symdiff.lift(lambda x: x**2, 1.0), guards=True)


def test_guards_survive_pickling(branch):
    copy = pickle.loads(pickle.dumps(branch))
    assert copy.guards == branch.guards
    assert copy.value([2.0]) == 4.0
    with pytest.raises(GuardError, match="x > 0"):
        copy.value([-2.0])


def test_guards_on_the_parallel_target():
    c = bridge.compile(_branch, 1.0, guards=True, target="parallel")
    X = np.linspace(0.1, 2.0, 50).reshape(-1, 1)
    np.testing.assert_allclose(c.value(X), X[:, 0] ** 2)
    X[[7, 30]] *= -1
    with pytest.raises(GuardError, match=r"indices 7, 30;") as info:
        c.value(X)
    assert info.value.indices == (7, 30)


def test_float32_guards():
    c = bridge.compile(_branch, 1.0, guards=True, dtype="float32")
    assert c.value([2.0]) == np.float32(4.0)
    with pytest.raises(GuardError, match="indices 1;"):
        c.value(np.array([[1.0], [-1.0]], dtype=np.float32))


def test_minimize_passes_guards_through():
    def f(x):
        shifted = ad.sum((x - 2.0) ** 2)
        return shifted if x[0] > 0 else shifted + 100.0

    with pytest.raises(symdiff.TracerBoolConversionError, match="ad.where"):
        hd.minimize(f, np.array([1.0, 1.0]))
    res = hd.minimize(f, np.array([1.0, 1.0]), guards=True)
    assert res.success
    np.testing.assert_allclose(res.x, [2.0, 2.0], atol=1e-8)


def test_minimize_stepping_across_a_guard_raises():
    def f(x):
        return ad.sum((x + 2.0) ** 2) if x[0] > 0 else ad.sum(x**2)

    with pytest.raises(GuardError, match=r"x\[0\] > 0"):
        hd.minimize(f, np.array([1.0, 1.0]), guards=True)

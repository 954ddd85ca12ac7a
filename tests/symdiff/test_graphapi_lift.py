"""symdiff.lift as an interpreter of the public graph IR (autodiff.graph)."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from symdiff.lift import is_liftable, lift
from symdiff.numbers import constant_array, sympy_number

lift_module = importlib.import_module("symdiff.lift")  # symdiff.lift is also the function


def test_one_home_for_numbers():
    assert lift_module.sympy_number is sympy_number
    assert lift_module.constant_array is constant_array
    assert sympy_number(0.375) == sp.Rational(3, 8)
    assert sympy_number(np.float32(0.5)) == sp.Rational(1, 2)
    assert sympy_number(-np.inf) == -sp.oo


def test_is_liftable_is_public_and_matches_lift():
    assert is_liftable(2.0) and is_liftable(3) and is_liftable(np.ones(2))
    assert is_liftable(ad.tensor([1.0]))
    assert not is_liftable(True) and not is_liftable(np.arange(3)) and not is_liftable("a")
    lifted = lift(lambda x, n, flag: x**n if flag else x, 2.0, np.int64(3), True)
    # n is an integer scalar: weakly typed, so it is lifted too (JAX semantics)
    assert [str(s) for s in lifted.variables] == ["x", "n"]


def test_captured_recorded_tensor_stays_exact():
    w = ad.tensor(2.0, requires_grad=True)
    ew = ad.exp(w)  # recorded outside lift: an op on the constant w, replayed exactly
    lifted = lift(lambda x: x * ew, 1.0)
    x = sp.Symbol("x", real=True)
    assert sp.simplify(lifted.expr - x * sp.exp(2)) == 0


def test_captured_freed_tensor_is_a_constant():
    w = ad.tensor(2.0, requires_grad=True)
    y = w * w
    y.backward()  # the graph behind y is released: its value is all that is left
    lifted = lift(lambda x: x + y, 1.0)
    x = sp.Symbol("x", real=True)
    assert sp.simplify(lifted.expr - (x + 4)) == 0


def test_each_node_is_replayed_once_with_guards(monkeypatch):
    calls = []
    original = lift_module._Replay.run

    def counting(self, node, args):
        calls.append(node.index)
        return original(self, node, args)

    monkeypatch.setattr(lift_module._Replay, "run", counting)

    def f(x):
        y = x
        for _ in range(6):
            y = ad.sin(y) + 1.0
            if y > 0.5:  # a guard on a value that grows with the chain
                y = y * 2.0
        return y

    lifted = lift(f, 0.3, guards=True)
    assert len(lifted.guards) == 6
    assert len(calls) == len(set(calls))  # no node evaluated twice
    graph, _ = ad.trace_graph(f, 0.3)  # outside lift, bool() reads the eager value
    # every op of the output's graph, plus the six comparisons only the guards needed
    assert len(calls) == sum(1 for n in graph if n.is_op) + 6
    x0 = 0.3
    want = x0
    for _ in range(6):
        want = np.sin(want) + 1.0
        if want > 0.5:
            want = want * 2.0
    assert float(lifted.evaluate(x0)) == pytest.approx(want, rel=1e-14)


def test_guard_message_names_the_op():
    with pytest.raises(symdiff.TracerBoolConversionError, match="op 'greater'"):
        lift(lambda x: x if x > 0 else -x, 1.0)


@pytest.mark.parametrize("name", ["symdiff.numbers", "symdiff.lift"])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0

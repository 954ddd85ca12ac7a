"""Shared subexpressions: every pass over a lifted DAG is linear in its size (N = 200 would
take hours if any pass walked the expression as a tree)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from symdiff.dag import (
    dag_size,
    free_symbols,
    postorder,
    serialize,
    shared_form,
    tree_size,
    xreplace,
)

N = 200


def chain(x, n=N):
    y = x
    for _ in range(n):
        y = ad.sin(y) * y + x
    return y


@pytest.fixture(scope="module")
def lifted():
    return symdiff.lift(chain, 0.3)


def _at(expr, x, value=0.3):
    """``expr`` at ``x = value`` with 30-digit SymPy Floats, one unique node at a time."""
    vals = {}
    for node in postorder([expr]):
        if node == x:
            vals[node] = sp.Float(value, 30)
        elif not node.args:
            vals[node] = node
        else:
            vals[node] = node.func(*[vals[a] for a in node.args]).evalf(30)
    return float(vals[expr])


def test_dag_is_small_tree_is_huge(lifted):
    assert dag_size([lifted.expr]) < 20 * N
    assert tree_size(lifted.expr, 10**9) > 10**9
    assert free_symbols(lifted.expr) == {lifted.variables[0]}


def test_gradient_and_hessian_match_eager(lifted):
    (x,) = lifted.variables
    (g,) = lifted.gradient()
    h = lifted.hessian()
    eager_g = float(np.asarray(ad.grad(chain)(0.3)))
    eager_h = float(np.asarray(ad.hessian(chain)(np.array(0.3))).reshape(()))
    np.testing.assert_allclose(_at(g, x), eager_g, rtol=1e-9)
    np.testing.assert_allclose(_at(h[0, 0], x), eager_h, rtol=1e-9)


def test_formula_prints_named_subexpressions(lifted):
    f = symdiff.formula(lifted)
    assert f.subexpressions, "a DAG this size must print with named shared parts"
    text = str(f)
    assert len(text) < 200_000
    assert text.splitlines()[-1].startswith("df/dx = ")


def test_small_formula_is_unchanged():
    f = symdiff.formula("x**3", order=2)
    assert not f.subexpressions
    assert str(f) == "6*x"


def test_shared_form_round_trips():
    x = sp.Symbol("x")
    y = x
    for _ in range(30):
        y = sp.sin(y) * y + x
    defs, (reduced,) = shared_form([y])
    back = reduced
    for s, e in reversed(defs):
        back = xreplace(back, {s: e})  # the linear pass: SymPy's xreplace walks the tree
    # compared through the linear DAG serialisation: ``back == y`` compares two separately built
    # trees of depth 30 node by node, which is exponential when SymPy's cache has evicted them
    assert serialize([back]) == serialize([y])


def test_serialize_distinguishes_and_is_stable(lifted):
    x = sp.Symbol("x")
    a = serialize([sp.sin(x) + 1])
    assert a == serialize([sp.sin(x) + 1])
    assert a != serialize([sp.cos(x) + 1])
    assert a != serialize([sp.sin(sp.Symbol("x", real=True)) + 1])
    assert len(serialize([lifted.expr])) < 100 * N * 20

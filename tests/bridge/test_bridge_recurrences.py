"""Repeated computations compile to loops: straight-line rerolling and hash-consing.

``y = sin(y) * y + x`` repeated N times is a DAG of O(N) nodes; its derivatives print as
O(N) statements that repeat with a period. The code generator must (1) never compare two
equal copies of a deep subexpression as trees (exponential), and (2) print the periodic
runs as loops, so that numba's compile time stops growing with N.
"""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import bridge
from bridge.recurrences import reroll_statements
from symdiff.dag import intern, serialize

N = 60


def chain(x, n=N):
    y = x
    for _ in range(n):
        y = ad.sin(y) * y + x
    return y


def _oracle(x0: float, n: int = N) -> tuple[float, float, float]:
    """Value, first and second derivative at 40 digits (mpmath's own differentiation)."""

    def f(x):
        y = x
        for _ in range(n):
            y = mpmath.sin(y) * y + x
        return y

    with mpmath.workdps(40):
        return tuple(float(mpmath.diff(f, mpmath.mpf(x0), k)) for k in range(3))


@pytest.fixture(scope="module")
def kernels():
    return bridge.compile(chain, 0.3)


def test_recurrence_kernels_agree_with_mpmath(kernels):
    for x0 in (0.3, -0.7):
        value, d1, d2 = _oracle(x0)
        np.testing.assert_allclose(kernels.value([x0]), value, rtol=1e-9)
        np.testing.assert_allclose(kernels.grad([x0]), [d1], rtol=1e-9)
        np.testing.assert_allclose(kernels.hessian([x0]), [[d2]], rtol=1e-8)


def test_recurrence_kernels_agree_with_eager_in_batches(kernels):
    xs = np.linspace(-1.0, 1.0, 7)[:, None]
    eager_v = [float(np.asarray(chain(ad.tensor(x[0])))) for x in xs]
    eager_g = [float(np.asarray(ad.grad(chain)(x[0]))) for x in xs]
    np.testing.assert_allclose(kernels.value(xs), eager_v, rtol=1e-10)
    np.testing.assert_allclose(kernels.grad(xs)[:, 0], eager_g, rtol=1e-10)


def test_recurrence_kernels_are_loops(kernels):
    src = kernels.source
    bodies = re.split(r"\ndef ", src)
    hess = next(b for b in bodies if b.startswith("hess_point"))
    # the forward sweep and each derivative sweep is one loop, not N copies
    assert hess.count("for it in range(") >= 2
    assert len(hess.splitlines()) < 4 * N, "Hessian kernel grows with N: not rerolled"


def test_reroll_reads_affine_indices():
    # a forward sweep (stride 2) then a reverse sweep reading it backwards (stride -2)
    stmts = []
    for _ in range(20):
        stmts.append((len(stmts), f"math.sin(t{len(stmts) - 1})" if stmts else "math.sin(x0)"))
        stmts.append((len(stmts), f"t{len(stmts) - 1}*x0 + x1"))
    fwd = len(stmts)
    for i in range(20):
        back = fwd - 1 - 2 * i
        prev = f"t{len(stmts) - 1}"
        stmts.append((len(stmts), f"{prev}*math.cos(t{back})"))
    lines, outs = reroll_statements(stmts, [f"t{len(stmts) - 1} + 1.0"], "t", min_statements=8)
    assert sum(line.startswith("for it") for line in lines) == 2
    assert any("T[39 + -2*it]" in line for line in lines), lines
    assert outs == [f"T[{len(stmts) - 1}] + 1.0"]
    # executing both forms gives the same numbers
    env = {"math": math, "np": np, "x": np.array([0.4, -0.2])}
    straight = "\n".join(f"t{k} = {rhs}" for k, rhs in stmts)
    exec("x0, x1 = x[0], x[1]\n" + straight, env)
    expected = env[f"t{len(stmts) - 1}"]
    env2 = {"math": math, "np": np, "x": np.array([0.4, -0.2]), "x0": 0.4, "x1": -0.2}
    exec("\n".join(lines), env2)
    assert env2["T"][len(stmts) - 1] == expected


def test_reroll_leaves_irregular_code_alone():
    stmts = [(k, f"math.sin(x{k % 3}) * {k}.0") for k in range(100)]
    lines, outs = reroll_statements(stmts, ["t99"], "t", min_statements=8)
    assert lines == [f"t{k} = {rhs}" for k, rhs in stmts]
    assert outs == ["t99"]


def test_intern_makes_equal_nodes_identical():
    x = sp.Symbol("x")

    def build():
        y = x
        for _ in range(60):
            y = sp.sin(y) * y + x
        return y

    a = build()
    sp.core.cache.clear_cache()
    b = build()  # an equal DAG of distinct objects: a == b would walk 2**60 nodes
    a2, b2 = intern([a, b])
    assert a2 is b2
    assert serialize([a2]) == serialize([a])


def test_long_sums_of_temporaries_become_loops():
    run = " + ".join(f"t{k}" for k in range(10, 40))
    stmts = [(k, "math.sin(x0)" if k == 0 else f"t{k - 1}*x0") for k in range(40)]
    outputs = [f"t0*t3 + t1 + {run} + 1.0", f"x0 - {run}", f"({run})**2"]
    lines, outs = reroll_statements(stmts, outputs, "t", min_statements=8)
    env = {"math": math, "np": np, "x": np.array([0.9]), "x0": 0.9}
    exec("\n".join(lines + [f"o{i} = {o}" for i, o in enumerate(outs)]), env)
    ref = {"math": math, "x0": 0.9}
    straight = [f"t{k} = {rhs}" for k, rhs in stmts]
    exec("\n".join(straight + [f"o{i} = {o}" for i, o in enumerate(outputs)]), ref)
    for i in range(3):
        assert env[f"o{i}"] == pytest.approx(ref[f"o{i}"], rel=1e-14)
    assert "S0" in outs[0] and outs[1].startswith("x0 - T[10]")  # never a subtrahend
    assert outs[2].startswith("(S")

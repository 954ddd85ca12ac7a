"""symdiff.lift(mode="array"): ArrayLifted against the scalar lift and eager autodiff."""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import op_specs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from symdiff_helpers import assert_close, lifted_all

import autodiff as ad
import symdiff
from symdiff.array_lift import ArrayLifted, estimate_scalar_terms
from symdiff.progress import stage


def rosenbrock(x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def eager_grad_hvp(f, args, v):
    """Eager gradient and Hessian-vector product of f over all args, flattened."""
    nums = tuple(range(len(args)))
    grads = ad.grad(f, nums)(*args)
    g = np.concatenate([np.ravel(np.asarray(t)) for t in grads])
    pieces, start = [], 0
    for a in args:
        pieces.append(v[start : start + np.size(a)].reshape(np.shape(a)))
        start += np.size(a)
    hv = ad.hvp(f, tuple(args), tuple(pieces))
    hv = hv if isinstance(hv, tuple) else (hv,)
    return g, np.concatenate([np.ravel(np.asarray(t)) for t in hv])


def check_three_ways(f, trace_args, points, rtol=1e-9):
    """Array mode == scalar mode == eager for value, gradient and hvp at each point."""
    prog = symdiff.lift(f, *trace_args, mode="array")
    assert isinstance(prog, ArrayLifted)
    scalar = symdiff.lift(f, *trace_args, mode="scalar")
    grad_prog, hvp_prog = prog.gradient(), prog.hvp()
    rng = np.random.default_rng(7)
    for point in points:
        n = sum(np.size(a) for a in point)
        v = rng.normal(size=n)
        value = float(np.asarray(f(*[ad.tensor(a) for a in point]).data))
        g_e, hv_e = eager_grad_hvp(f, point, v)
        v_s, g_s, h_s = lifted_all(scalar, point)
        assert_close(prog.evaluate(*point), value, rtol, "array value vs eager")
        assert_close(v_s, value, rtol, "scalar value vs eager")
        g_a = np.ravel(grad_prog.evaluate(*point))
        assert_close(g_a, g_e, rtol, "array gradient vs eager")
        assert_close(g_s, g_e, rtol, "scalar gradient vs eager")
        vv = v if len(point) > 1 else v.reshape(np.shape(point[0]))
        hv_a = np.ravel(hvp_prog.evaluate(*point, vv))
        assert_close(hv_a, hv_e, rtol, "array hvp vs eager")
        assert_close(h_s @ v, hv_e, rtol, "scalar Hessian @ v vs eager")
    return prog


ROWS = op_specs.lift_rows()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_op_array_equals_scalar_equals_eager(name):
    row = ROWS[name]
    rng = np.random.default_rng(sorted(ROWS).index(name) + 100)
    pts = [[op_specs.sample(d, s, rng) for s, d in zip(row.shapes, row.domains)] for _ in range(3)]
    check_three_ways(row.fn, pts[0], pts[1:], rtol=max(1e-9, op_specs.tolerance(row, "lift")))


# --- random array programs ------------------------------------------------------------------------
UNARY = [ad.exp, ad.sin, ad.tanh, ad.sigmoid, ad.softplus, ad.relu, ad.abs, ad.square, ad.cos]


@st.composite
def programs(draw):
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(["unary", "mul", "add", "slice", "matmul", "reduce", "bcast", "div"])
        )
        steps.append((kind, draw(st.integers(0, len(UNARY) - 1)), draw(st.integers(0, 10**6))))
    return steps


def build(steps):
    """A function of a (2, 3) matrix: slices, broadcasts, reductions, matmuls, elementwise."""

    def f(x):
        vals = [x, x.T, x[:, 1:]]
        for kind, u, seed in steps:
            rng = np.random.default_rng(seed)
            a = vals[rng.integers(len(vals))]
            b = vals[rng.integers(len(vals))]
            if kind == "unary":
                out = UNARY[u](a * 0.5)
            elif kind in ("mul", "add", "div"):
                c = rng.uniform(0.5, 1.5, size=(1, a.shape[1]))
                if kind == "add":
                    out = a * c + ad.sum(b) * 0.1
                elif kind == "mul":
                    out = a * ad.mean(b, axis=1, keepdims=False)[0] * c
                else:
                    out = a / (1.0 + ad.square(ad.sum(b, axis=0)[0]))
            elif kind == "slice":
                out = a[::-1] if a.shape[0] > 1 else a[:, ::-1]
            elif kind == "matmul":
                out = ad.tanh(a @ rng.normal(size=(a.shape[1], 2)) * 0.3)
            elif kind == "reduce":
                out = ad.reshape(ad.max(a, axis=0) + ad.sum(a, axis=0), (1, -1))
            else:
                out = ad.broadcast_to(ad.sum(a, axis=1, keepdims=True), (a.shape[0], 3)) * 0.2
            vals.append(out)
        return sum((ad.sum(ad.sin(v)) for v in vals[3:]), ad.sum(x * x) * 0.25)

    return f


@settings(max_examples=10, deadline=None, derandomize=True)
@given(programs())
def test_random_array_programs_three_ways(steps):
    f = build(steps)
    rng = np.random.default_rng(3)
    pts = [rng.uniform(-1.2, 1.2, size=(2, 3)) for _ in range(3)]
    prog = check_three_ways(f, [pts[0]], [[p] for p in pts[1:]])
    scalar = symdiff.lift(f, pts[0], mode="scalar").hessian()
    rows, cols = prog.hessian_structure()
    assert set(zip(scalar.rows.tolist(), scalar.cols.tolist())) <= set(
        zip(rows.tolist(), cols.tolist())
    )


# --- the program ----------------------------------------------------------------------------------
def test_rosenbrock_program_text_and_size_do_not_grow():
    small = symdiff.lift(rosenbrock, np.zeros(10), mode="array")
    big = symdiff.lift(rosenbrock, np.zeros(10**5), mode="array")
    assert big.size == small.size  # one entry per recorded op, whatever n
    text = str(big)
    assert len(text.splitlines()) == 4  # def, the fused formula, the sum, return
    assert text.splitlines()[0] == "def rosenbrock(x):  # x: (100000,)"
    assert "[i] = (1 - x[:-1][i])**2 + 100*(x[1:][i] - x[:-1][i]**2)**2  # (99999,)" in text
    assert re.search(r"t\d+ = sum\(t\d+\)  # \(\)", text)
    kinds = [e.kind for e in big.nodes]
    assert kinds.count("elementwise") == 1 and kinds.count("reduction") == 1
    fused = next(e for e in big.nodes if e.kind == "elementwise")
    assert len(fused.fused) > 5  # the whole elementwise chain is one formula
    assert big.evaluate(np.ones(10**5)) == 0.0
    assert big.graph is not None and len(big.graph) > big.size


def test_gradient_and_hvp_programs_are_array_programs_at_scale():
    n = 10**5
    prog = symdiff.lift(rosenbrock, np.zeros(n), mode="array")
    x = np.random.default_rng(0).uniform(-1, 1, n)
    v = np.random.default_rng(1).normal(size=n)
    grad = prog.gradient()
    assert isinstance(grad, ArrayLifted) and grad.size < 20
    np.testing.assert_allclose(grad.evaluate(x), ad.grad(rosenbrock)(x), rtol=1e-12)
    hvp = prog.hvp()
    assert hvp.names == ("x", "v") and hvp.size < 40
    np.testing.assert_allclose(hvp.evaluate(x, v), ad.hvp(rosenbrock, (x,), (v,)), rtol=1e-12)
    rows, cols = prog.hessian_structure()
    assert rows.size == 3 * n - 2 and np.all(np.abs(rows - cols) <= 1)


def test_matmul_and_params_program():
    def loss(w, a, y):
        return ad.sum(ad.softplus(a @ w) - y * (a @ w))

    rng = np.random.default_rng(0)
    w, a, y = rng.normal(size=3), rng.normal(size=(4, 3)), rng.uniform(size=4)
    prog = symdiff.lift(loss, w, a, y, params=["a", "y"], mode="array")
    assert prog.variables == ("w",) and prog.names == ("w", "a", "y")
    assert " @ " in str(prog)
    np.testing.assert_allclose(prog.gradient().evaluate(w, a, y), ad.grad(loss)(w, a, y))
    scalar = symdiff.lift(loss, w, a, y, params=["a", "y"], mode="scalar")
    assert_close(prog.evaluate(w, a, y), scalar.evaluate(w, a, y), 1e-12, "value")
    h = scalar.hessian()
    rows, cols = prog.hessian_structure("w")
    assert (rows.tolist(), cols.tolist()) == (h.rows.tolist(), h.cols.tolist())
    expanded = prog.to_scalar()
    assert isinstance(expanded, symdiff.Lifted)
    assert expanded.variables == scalar.variables and expanded.expr == scalar.expr


def test_to_scalar_of_gradient_program_and_too_large():
    prog = symdiff.lift(rosenbrock, np.arange(4.0), mode="array")
    g = prog.gradient().to_scalar()
    x = np.array([0.3, -0.2, 0.5, 1.1])
    assert_close(g.evaluate(x), ad.grad(rosenbrock)(x), 1e-12, "expanded gradient")
    with pytest.raises(symdiff.LiftTooLarge, match="keep the array program"):
        prog.to_scalar(max_terms=10)


# --- mode="auto" and the size estimate ------------------------------------------------------------
def test_auto_keeps_scalar_for_small_and_goes_array_for_large():
    assert isinstance(symdiff.lift(rosenbrock, np.zeros(50)), symdiff.Lifted)
    assert isinstance(symdiff.lift(lambda x, y: ad.sin(x) * y, 1.0, 2.0), symdiff.Lifted)
    assert isinstance(symdiff.lift(rosenbrock, np.zeros(10**5)), ArrayLifted)


def test_scalar_mode_too_large_fails_with_the_estimate():
    with pytest.raises(symdiff.LiftTooLarge) as info:
        symdiff.lift(rosenbrock, np.zeros(10**6), mode="scalar")
    message = str(info.value)
    assert "about 12999995 expression terms" in message and "mode='array'" in message


def test_estimate_counts_matmul_mnk_and_formula_sizes():
    graph, _ = ad.trace_graph(lambda a, b: ad.sum(a @ b), np.ones((20, 30)), np.ones((30, 40)))
    # inputs 600 + 1200; matmul 800 elements of 30 * (1 + 1) + 1; the sum: one formula of
    # 800 of those
    assert estimate_scalar_terms(graph) == 1800 + 800 * 61 + (800 * 61 + 1)
    graph, _ = ad.trace_graph(lambda x: ad.sum(ad.exp(ad.sin(x) * x)), np.ones(10))
    # x, sin(x): 1 + 1, sin(x) * x: 2 + 1 + 1, exp: 5; the sum of 10 of those is capped by
    # the 40 scalar values built before it (shared subexpressions)
    assert estimate_scalar_terms(graph) == 10 + 10 * 2 + 10 * 4 + 10 * 5 + (40 + 1)

    def repeated_squares(x):
        for _ in range(40):
            x = x * x
        return x

    graph, _ = ad.trace_graph(repeated_squares, 0.5)
    assert estimate_scalar_terms(graph) < 1000  # shared subexpressions are not re-counted


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        symdiff.lift(rosenbrock, np.zeros(3), mode="fast")
    with pytest.raises(symdiff.LiftError, match="guards=True"):
        symdiff.lift(rosenbrock, np.zeros(3), mode="array", guards=True)
    with pytest.raises(TypeError, match="unexpected keyword"):
        symdiff.lift(rosenbrock, np.zeros(3), mode="array", nmaes=["x"])

    def branchy(x):
        return ad.sum(x) if ad.sum(x) > 0 else -ad.sum(x)

    with pytest.raises(symdiff.TracerBoolConversionError, match="ad.where"):
        symdiff.lift(branchy, np.ones(3), mode="array")

    def converts(x):
        return x * float(x[0])

    with pytest.raises(symdiff.TracerConversionError):
        symdiff.lift(converts, np.ones(3), mode="array")
    prog = symdiff.lift(lambda x: x * 2.0, np.ones(3), mode="array")
    with pytest.raises(ValueError, match=re.escape("input 'x' has shape (4,), traced with (3,)")):
        prog.evaluate(np.ones(4))
    with pytest.raises(ValueError, match=re.escape("output has shape (3,)")):
        prog.gradient()


# --- progress -------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self, ticks):
        self.ticks = iter(ticks)

    def __call__(self):
        return next(self.ticks)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_reports_only_when_slow_and_interactive(caplog):
    out = Terminal()
    clock = FakeClock([0.0, 0.5, 2.5, 4.0])
    with (
        caplog.at_level(logging.INFO, logger="hybriddiff"),
        stage("lift", clock=clock, stream=out) as p,
    ):
        p.step("trace")
        p.step("scalar replay", "about 10 terms")
    assert out.getvalue() == "lift: scalar replay: about 10 terms (2.5 s)\nlift: done in 4.0 s\n"
    assert "lift: trace (0.5 s)" in caplog.text  # the logger always gets every stage
    quiet = io.StringIO()  # not a terminal
    with stage("lift", clock=FakeClock([0.0, 5.0, 9.0]), stream=quiet) as p:
        p.step("trace")
    assert quiet.getvalue() == ""
    forced = io.StringIO()
    with stage("lift", verbose=True, clock=FakeClock([0.0, 0.1, 0.2]), stream=forced) as p:
        p.step("trace")
    assert forced.getvalue() == "lift: trace (0.1 s)\nlift: done in 0.2 s\n"
    fast = Terminal()
    with stage("lift", clock=FakeClock([0.0, 0.1, 0.2]), stream=fast) as p:
        p.step("trace")
    assert fast.getvalue() == ""


def test_lift_verbose_reports_its_stages(capsys):
    symdiff.lift(rosenbrock, np.zeros(10**4), mode="array", verbose=True)
    err = capsys.readouterr().err
    assert "lift: trace" in err and "lift: array program" in err and "lift: done in" in err


@pytest.mark.parametrize(
    "module", ["symdiff.array_lift", "symdiff.sparsity", "symdiff.progress", "symdiff.lift"]
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_exports():
    assert symdiff.ArrayLifted is ArrayLifted
    assert symdiff.hessian_sparsity is not None and symdiff.color_columns is not None
    assert set(symdiff.__all__) <= set(dir(symdiff))

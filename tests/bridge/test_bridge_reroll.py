"""Loop rerolling: long runs of one formula compile to loops and still agree with autodiff."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from bridge_cases import assert_close

import autodiff as ad
import bridge
from bridge.codegen import KernelSpec, generate
from bridge.reroll import MIN_GROUP, Item, plan

N = 64


def chained(x, c):
    """Chained Rosenbrock with per-term weights ``c`` (parameters)."""
    return ad.sum(c * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2) + ad.sum(ad.sin(x) * x)


@pytest.fixture(scope="module")
def weights():
    return np.linspace(50.0, 150.0, N - 1)


@pytest.fixture(scope="module")
def rerolled(weights):
    """The chained function compiled for cpu (float64, float32) and parallel."""
    x0 = np.zeros(N)
    return {
        (target, dt): bridge.compile(chained, x0, weights, params=1, target=target, dtype=dt)
        for target, dt in (("cpu", "float64"), ("cpu", "float32"), ("parallel", "float64"))
    }


def test_reroll_source_has_loops_over_index_tables(rerolled):
    source = rerolled["cpu", "float64"].source
    assert source.count("for j in range(") >= 4
    assert "_X = np.array(" in source and "_P = np.array(" in source
    assert len(source.splitlines()) < 200  # instead of one line per entry


@pytest.mark.parametrize("key", [("cpu", "float64"), ("cpu", "float32"), ("parallel", "float64")])
def test_reroll_matches_eager_autodiff(key, rerolled, weights):
    compiled = rerolled[key]
    rtol = 1e-10 if key[1] == "float64" else 1e-4
    X = np.random.default_rng(5).uniform(-1.5, 1.5, (3, N)).astype(key[1]).astype(float)
    values, grads, hessians = compiled.value(X), compiled.grad(X), compiled.hessian(X)
    for i, x in enumerate(X):
        assert_close(values[i], float(chained(ad.tensor(x), weights).data), rtol, f"{key} value")
        assert_close(grads[i], ad.grad(chained)(x, weights), rtol, f"{key} grad")
        assert_close(hessians[i], ad.hessian(chained)(x, weights), rtol, f"{key} hessian")
    sparse = compiled.hessian(X[0], sparse=True).toarray()
    assert_close(sparse, hessians[0], 0.0, f"{key} sparse")


def test_reroll_parameters_change_without_recompiling(rerolled, weights):
    compiled = rerolled["cpu", "float64"]
    x = np.linspace(-1.0, 1.0, N)
    other = weights[::-1].copy()
    assert_close(compiled.grad(x, other), ad.grad(chained)(x, other), 1e-10, "grad")
    assert len(compiled.module.grad_point.signatures) == 1


def test_reroll_plan_keeps_short_runs_and_constants_straight():
    x = sp.symbols("x:40", real=True)
    index = {s: (0, i) for i, s in enumerate(x)}
    items = [Item(sp.sin(x[i]) * x[i + 1], "g", (i,)) for i in range(MIN_GROUP)]
    items += [Item(sp.exp(x[i]), "g", (i,)) for i in range(MIN_GROUP - 1)]
    items += [Item(sp.Integer(3), "g", (39,))] * 20
    straight, groups = plan(items, index)
    assert len(groups) == 1 and groups[0].x_index == [[i, i + 1] for i in range(MIN_GROUP)]
    assert len(straight) == len(items) - MIN_GROUP


def test_reroll_respects_symbol_assumptions():
    pos = sp.symbols("q:40", positive=True)
    real = sp.symbols("r:40", real=True)
    items = [Item(sp.Abs(s), "g", (i,)) for i, s in enumerate(pos + real)]
    index = {s: (0, i) for i, s in enumerate(pos + real)}
    _, groups = plan(items, index)
    assert sorted(str(g.template) for g in groups) == ["Abs(_a0)", "_a0"]


def test_reroll_is_off_for_cuda():
    x = sp.symbols("x:40", real=True)
    expr = sum((x[i + 1] - x[i] ** 2) ** 2 for i in range(39))
    spec = KernelSpec(expr, x, (), target="cuda")
    assert "for j in range(" not in generate(spec)
    assert "for j in range(" in generate(KernelSpec(expr, x, ()))

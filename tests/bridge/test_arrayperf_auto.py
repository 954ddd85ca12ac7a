"""One ``mode="auto"`` rule (autodiff.size.auto_mode) for symdiff.lift and bridge.compile: the
estimated scalar expansion against AUTO_SCALAR_TERMS, decided identically by both."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import autodiff.size as size
import bridge
import symdiff
from bridge.api import _array_mode_fits
from symdiff.array_lift import ArrayLifted


def rosen(x):
    return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def dense(x, A):
    return ad.logsumexp(A @ x) + 0.5 * ad.sum(x**2)


def _compile_picks_array(f, *args, params=None) -> bool:
    return _array_mode_fits(f, args, "cpu", None, None, False, params)


def _lift_picks_array(f, *args) -> bool:
    return isinstance(symdiff.lift(f, *args), ArrayLifted)


def _boundary(f, limit):
    """The smallest n whose estimate exceeds ``limit`` (bisection on traced graphs)."""
    lo, hi = 2, 4
    while size.estimate_scalar_terms(ad.trace_graph(f, np.ones(hi))[0]) <= limit:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if size.estimate_scalar_terms(ad.trace_graph(f, np.ones(mid))[0]) <= limit:
            lo = mid
        else:
            hi = mid
    return hi


@pytest.mark.parametrize("limit", [2_000, 20_000])
def test_lift_and_compile_switch_at_the_same_size(monkeypatch, limit):
    monkeypatch.setattr(size, "AUTO_SCALAR_TERMS", limit)
    n = _boundary(rosen, limit)
    for m, expected in ((n - 1, False), (n, True)):
        x = np.linspace(-1, 1, m)
        graph = ad.trace_graph(rosen, x)[0]
        assert size.auto_mode(graph) == ("array" if expected else "scalar")
        assert _compile_picks_array(rosen, x) is expected
        assert _lift_picks_array(rosen, x) is expected


def test_dense_data_counts_through_the_matmul(monkeypatch):
    monkeypatch.setattr(size, "AUTO_SCALAR_TERMS", 5_000)
    x, A = np.ones(20), np.ones((20, 20))  # few elements, but 20 x 20 x 2 products
    graph = ad.trace_graph(dense, x, A)[0]
    assert size.estimate_scalar_terms(graph) > 5_000
    assert _compile_picks_array(dense, x, A, params="A")
    assert _lift_picks_array(dense, x, A)


def test_many_elements_decide_without_tracing():
    calls = []

    def f(x):
        calls.append(1)
        return ad.sum(x)

    assert size.auto_mode_by_elements(size.AUTO_SCALAR_TERMS + 1) == "array"
    assert size.auto_mode_by_elements(size.AUTO_SCALAR_TERMS) is None
    assert _compile_picks_array(f, np.ones(size.AUTO_SCALAR_TERMS + 1))
    assert calls == []  # not traced


def test_default_compile_of_a_small_function_stays_scalar():
    c = bridge.compile(rosen, np.zeros(5), derivatives=("value",))
    assert isinstance(c, bridge.Compiled)
    assert _compile_picks_array(rosen, np.zeros(2_000))  # ~124k estimated terms

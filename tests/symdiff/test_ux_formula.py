"""What a user sees in a formula (issue 15): signs, labels, names, indicators, size, budget."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from symdiff import display
from symdiff import simplify as simp

X, Y = sp.symbols("x y", real=True)
GOLDSTEIN_PRICE = (
    1 + (X + Y + 1) ** 2 * (19 - 14 * X + 3 * X**2 - 14 * Y + 6 * X * Y + 3 * Y**2)
) * (30 + (2 * X - 3 * Y) ** 2 * (18 - 32 * X + 12 * X**2 + 48 * Y - 36 * X * Y + 27 * Y**2))


def _agrees(entry, exact, symbols, points=4, seed=0):
    """``entry == exact`` at random points, evaluated with 30 digits (an oracle-free check)."""
    rng = random.Random(seed)
    entry = entry.doit() if isinstance(entry, sp.Basic) else entry
    for _ in range(points):
        at = {s: sp.Rational(rng.randint(-900, 900), 997) for s in symbols}
        a = sp.N(sp.sympify(entry).subs(at), 30)
        b = sp.N(sp.sympify(exact).subs(at), 30)
        assert abs(a - b) <= 1e-20 * (1 + abs(b)), (entry, exact, at)


# ----------------------------------------------------------------------- signs and labels


def test_differences_read_like_a_textbook():
    f = symdiff.formula("(x - mu)**2/(2*sigma**2) + log_sigma")
    text = str(f)
    assert "-mu + x" not in text and "mu - x" not in text
    assert "df/dx = (x - mu)/sigma**2" in text
    assert "df/dmu = -(x - mu)/sigma**2" in text
    assert "df/dsigma = -(x - mu)**2/sigma**3" in text
    pretty = f.pretty()
    assert "x - μ" in pretty and "-μ + x" not in pretty
    latex = f.latex()
    assert r"x - \mu" in latex and r"- \mu + x" not in latex


def test_a_whole_entry_is_oriented_like_the_function():
    f = symdiff.formula("(x - mu)**2/2", wrt="mu")
    assert str(f) == "-(x - mu)"
    assert f.expr == sp.Symbol("mu", real=True) - sp.Symbol("x", real=True)  # value unchanged


def test_labels_use_the_body_rendering():
    f = symdiff.formula("(x - mu)**2/(2*sigma**2)")
    pretty = f.pretty()
    assert "∂f/∂μ" in pretty and "∂f/∂σ" in pretty and "∂f/∂mu" not in pretty
    assert r"\partial \mu" in f.latex()


def test_latex_names_with_underscores_are_whole_unless_a_subscript_is_meant():
    f = symdiff.formula("log_sigma**2 + theta_0*x_1")
    tex = f.latex()
    assert r"\mathrm{log\_sigma}" in tex and "log_{" not in tex
    assert r"\theta_{0}" in tex and "x_{1}" in tex
    assert "∂log_sigma" in f.pretty()


# ----------------------------------------------------------------------- indicators


def test_relu_derivative_prints_as_an_indicator_never_squared():
    f = symdiff.formula("relu(x)*relu(y)", order=2)
    pretty, tex = f.pretty(), f.latex()
    assert "θ" not in pretty and r"\theta" not in tex
    assert "𝟙[x > 0]" in pretty and r"\mathbb{1}\left[x > 0\right]" in tex
    for _, e in f.entries:
        for p in e.atoms(sp.Pow):
            assert not isinstance(p.base, sp.Heaviside)


def test_an_indicator_squared_is_itself():
    x = sp.Symbol("x", real=True)
    assert simp.fast(sp.Heaviside(x, 0) ** 2 * sp.sin(x)) == sp.Heaviside(x, 0) * sp.sin(x)
    assert str(symdiff.formula("relu(x)**2")) == "2*relu(x)"
    # Heaviside(x) (1/2 at 0) is not an indicator: its square stays
    assert simp.fast(sp.Heaviside(x) ** 2) == sp.Heaviside(x) ** 2


# ----------------------------------------------------------------------- size


def _ops(e):
    return sp.count_ops(e)


@pytest.mark.parametrize("order", [2, 4])
def test_goldstein_price_never_larger_than_sympy_diff(order):
    f = symdiff.formula(GOLDSTEIN_PRICE, order=order)
    assert not f.subexpressions
    for wrt, e in f.entries:
        raw = sp.diff(GOLDSTEIN_PRICE, *wrt)
        assert _ops(e) <= _ops(raw), wrt
        _agrees(e, raw, (X, Y), points=2)


def _gelu(x):
    return 0.5 * x * (1 + ad.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def test_gelu_order_4_never_larger_than_sympy_diff_of_the_lift():
    lifted = symdiff.lift(_gelu, 0.3)
    (x,) = lifted.variables
    f = symdiff.formula(lifted, order=4)
    assert "sqrt(2)" in str(f) and "sqrt(pi)" in str(f)  # 0.7978845608 recognised
    raw = sp.diff(lifted.expr, x, 4)
    entry = f.expr.xreplace({s: d for s, d in f.subexpressions})
    # sqrt(2)/sqrt(pi) (recognised from 0.7978845608) counts as one number, like the float
    assert display.operation_count(entry) <= _ops(raw)
    for v in (-1.3, 0.2, 2.1):
        assert float(entry.subs(x, v)) == pytest.approx(float(raw.subs(x, v)), rel=1e-10)


def test_missed_rewrites():
    cosh = symdiff.formula(lambda r: ad.log((ad.exp(r) + ad.exp(-r)) / 2), args=[0.3])
    assert str(cosh) == "tanh(r)"
    assert str(symdiff.formula("log(cosh(r))")) == "tanh(r)"
    asinh = symdiff.formula(lambda x: ad.log(x + ad.sqrt(x**2 + 1)), args=[0.3], order=2)
    assert _ops(asinh.expr) <= 6
    x = asinh.variables[0]
    _agrees(asinh.expr, sp.diff(sp.asinh(x), x, 2), (x,))


def test_softmax_is_named():
    f = symdiff.formula("log(exp(x) + exp(y) + exp(z))")
    assert str(f).splitlines() == [
        "df/dx = softmax(x, y, z)[0]",
        "df/dy = softmax(x, y, z)[1]",
        "df/dz = softmax(x, y, z)[2]",
    ]
    h = symdiff.formula("log(exp(x) + exp(y))", order=2)
    assert "softmax(x, y)[0]*softmax(x, y)[1]" in str(h)
    assert r"\operatorname{softmax}" in h.latex()
    shown = display.name_softmax(h.entries[1][1])
    _agrees(shown, h.entries[1][1], h.variables)


def test_float_constants_are_recognised():
    f = symdiff.formula(lambda x: np.pi * x**2 + np.e * x + 0.375 * x**3, args=[0.3])
    assert str(f) == "9*x**2/8 + 2*pi*x + E"
    # a float that is nothing simple stays a float
    assert display.recognise_constants(sp.Float(0.1234567891234) * X).has(sp.Float)


def test_long_entries_name_common_parts():
    f = symdiff.formula("-alpha*(1 - sigmoid(w*x + b))**gamma*log(sigmoid(w*x + b))")
    names = {s.name: e for s, e in f.subexpressions}
    assert "p" in names and str(names["p"]) == "sigmoid(b + w*x)"
    assert str(f).startswith("p = sigmoid(b + w*x)\n")
    assert "p = σ(b + w⋅x)" in f.pretty()
    assert max(len(line) for line in str(f).splitlines()) <= display.WIDTH
    for wrt, e in f.entries:
        full = e.xreplace({s: d for s, d in f.subexpressions})
        _agrees(full, sp.diff(f.function, *wrt), f.variables, points=2)


# ----------------------------------------------------------------------- budget


class _FakeClock:
    """Advances ``step`` seconds per reading."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_budget_spent_keeps_the_best_form_so_far(monkeypatch):
    calls = []
    monkeypatch.setattr(simp, "_clock", _FakeClock(10.0))
    monkeypatch.setattr(sp, "simplify", lambda e, **k: calls.append(e) or e)
    f = symdiff.formula(GOLDSTEIN_PRICE, order=2, simplify="full", budget=5.0)
    assert calls == []  # the first reading is already past the budget: no sympy.simplify
    for wrt, e in f.entries:
        _agrees(e, sp.diff(GOLDSTEIN_PRICE, *wrt), (X, Y), points=1)


def test_budget_left_lets_simplify_run(monkeypatch):
    calls = []
    monkeypatch.setattr(simp, "_clock", _FakeClock(0.0))
    monkeypatch.setattr(sp, "simplify", lambda e, **k: calls.append(e) or e)
    symdiff.formula("sin(x)**2 + cos(x)**2*y", simplify="full", budget=5.0)
    assert len(calls) == 2


def test_budget_interrupts_a_running_simplify(monkeypatch):
    def never_ends(e, **k):
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(sp, "simplify", never_ends)
    f = symdiff.formula("sin(x)**2*y", simplify="full", budget=0.2)
    assert str(f).splitlines()[0] == "df/dx = 2*y*sin(x)*cos(x)"


def test_run_bounded_keeps_an_outer_alarm():
    import signal

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this platform")
    old = signal.signal(signal.SIGALRM, lambda *a: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 50.0)
        assert simp.run_bounded(lambda: 7, 1.0) == 7
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 40.0 < left <= 50.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------------- Jupyter


def test_lifted_and_its_hessian_render_in_jupyter():
    lifted = symdiff.lift(lambda x, log_sigma: ad.exp(log_sigma) * x**2, 0.3, 0.1)
    tex = lifted._repr_latex_()
    assert tex.startswith(r"$\displaystyle f\left(x, \mathrm{log\_sigma}\right) = ")
    h = lifted.hessian()
    assert h._repr_latex_().startswith(r"$\displaystyle H = \left[\begin{matrix}")
    big = symdiff.lift(lambda v: (100 * (v[1:] - v[:-1] ** 2) ** 2).sum(), np.ones(30))
    listed = big.hessian()._repr_latex_()
    assert r"\begin{aligned}H_{0,0} &= " in listed and "non-zeros in all" in listed

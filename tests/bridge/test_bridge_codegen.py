"""Printing and code generation: math.* calls, float32 literals, stable forms, clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

import autodiff as ad
import bridge
from bridge.codegen import KernelSpec, generate
from bridge.printer import NumbaPrinter
from symdiff import relu, sigmoid, softplus

x, y = sp.symbols("x y", real=True)
a = sp.Symbol("a", real=True)

# One module for the numeric checks below: stable forms, kinks, Piecewise, constants.
PIECES = [
    sigmoid(x),
    softplus(x),
    relu(x),
    log1p(x**2),
    expm1(x),
    sp.Heaviside(x, sp.Rational(1, 4)),
    sp.sign(x),
    sp.Abs(x),
    sp.Max(x, y, 0),
    sp.Min(x, -y),
    sp.Piecewise((x**2, x > 1), (sp.cos(x), x < -1), (sp.pi * x, True)),
    sp.sqrt(1 + y**2) + (1 + x**2) ** sp.Rational(-1, 2) + (2 + x**2) ** sp.Rational(3, 2),
]


@pytest.fixture(scope="module")
def pieces():
    """``sum_k w_k * piece_k`` for float64 and float32, ``w`` as parameters."""
    w = sp.symbols(f"w:{len(PIECES)}", real=True)
    expr = sum(wk * piece for wk, piece in zip(w, PIECES))
    return {
        dt: bridge.compile(expr, wrt=[x, y], params=w, dtype=dt) for dt in ("float64", "float32")
    }


def _piece(compiled, k, point):
    w = np.zeros(len(PIECES))
    w[k] = 1.0
    return compiled.value(np.asarray(point, dtype=float), w)


def _numeric(k, point):
    return float(PIECES[k].subs({x: point[0], y: point[1]}).evalf(30))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("k", range(len(PIECES)), ids=[type(p).__name__ for p in PIECES])
def test_printer_pieces_match_sympy(k, dtype, pieces):
    for point in ([0.3, -0.7], [1.7, 0.2], [-1.4, 1.1], [-0.6, -2.0]):
        got = _piece(pieces[dtype], k, point)
        assert abs(got - _numeric(k, point)) <= (1e-12 if dtype == "float64" else 1e-5) * max(
            1.0, abs(_numeric(k, point))
        )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_printer_stable_forms_do_not_overflow(dtype, pieces):
    c = bridge.compile(sigmoid(x) + softplus(y), wrt=[x, y], dtype=dtype)
    big = 80.0 if dtype == "float32" else 800.0
    log2 = np.log(2.0)
    assert c.value([big, 0.0]) == pytest.approx(1.0 + log2)
    assert c.value([-big, 0.0]) == pytest.approx(log2)
    assert c.value([0.0, big]) == pytest.approx(0.5 + big)
    assert c.value([0.0, -big]) == pytest.approx(0.5)
    assert np.all(np.isfinite(c.hessian([[big, -big], [-big, big]])))
    assert _piece(pieces[dtype], 3, [1e-9, 0]) == pytest.approx(1e-18, rel=1e-6)
    assert _piece(pieces[dtype], 4, [1e-9, 0]) == pytest.approx(1e-9, rel=1e-6)


def test_printer_kink_values_follow_the_conventions(pieces):
    c = pieces["float64"]
    assert _piece(c, 2, [0.0, 0.0]) == 0.0  # relu(0)
    assert _piece(c, 5, [0.0, 0.0]) == 0.25  # Heaviside(0, 1/4)
    assert _piece(c, 6, [0.0, 0.0]) == 0.0  # sign(0)
    assert _piece(c, 8, [-1.0, -2.0]) == 0.0  # Max(x, y, 0)


def test_printer_emits_math_calls_and_helpers(pieces):
    source = pieces["float64"].source
    assert "math.log1p(" in source and "math.expm1(" in source and "math.cos(" in source
    assert "def _softplus(x):" in source and "def _sigmoid(x):" in source
    assert "numpy." not in source.replace("import numpy as np", "")


def test_printer_float32_wraps_every_literal(pieces):
    source = pieces["float32"].source
    bodies = source.split("def _sigmoid", 1)[1]  # skip the header (structure arrays)
    literal = r"-?\d+\.\d+(?:e-?\d+)?"
    wrapped = re.findall(rf"np\.float32\({literal}\)", bodies)
    bare = re.findall(rf"(?<![\w.]){literal}", re.sub(rf"np\.float32\({literal}\)", "", bodies))
    assert wrapped and not bare, f"float literals not wrapped in float32: {bare}"


def test_printer_reports_unsupported_functions_with_the_target():
    f = sp.Function("mystery")
    for target in ("cpu", "parallel", "cuda"):
        with pytest.raises(bridge.UnsupportedExpressionError, match=f"'{target}'.*mystery"):
            generate(KernelSpec(f(x) + x, (x,), (), target=target))
    with pytest.raises(bridge.UnsupportedExpressionError, match="factorial"):
        bridge.compile(sp.factorial(x) + x, wrt=[x], derivatives=["value"])
    with pytest.raises(bridge.UnsupportedExpressionError, match="besselj"):
        bridge.compile(sp.besselj(1, x), wrt=[x], derivatives=["value"])


def test_printer_rejects_symbols_outside_wrt_and_params():
    printer = NumbaPrinter({x: "x0"})
    printer.print_expr(x + y)
    with pytest.raises(ValueError, match="neither variables nor params: y"):
        printer.check_target()


def test_codegen_writes_each_hessian_entry_once_for_both_triangles():
    expr = sp.exp(x * y) + x**3
    c = bridge.compile(expr, wrt=[x, y], derivatives=("value", "hessian"))
    source = c.source
    assert source.count("out[idx[1]] = h") == 1 and source.count("out[idx[2]] = h") == 1
    h = c.hessian([0.5, -1.0])
    assert h[0, 1] == h[1, 0] == pytest.approx(float(sp.diff(expr, x, y).subs({x: 0.5, y: -1})))


def test_codegen_dirac_delta_prints_as_zero():
    f = ad.relu
    c = bridge.compile(lambda v: ad.sum(f(v) ** 2 + f(v)), np.array([0.5, -0.5]))
    assert "DiracDelta" not in c.source
    np.testing.assert_array_equal(c.hessian([0.5, -0.5]), [[2.0, 0.0], [0.0, 0.0]])


def test_codegen_piecewise_without_default_is_nan():
    c = bridge.compile(sp.Piecewise((x, x > 0)), wrt=[x], derivatives=["value"])
    assert c.value([1.0]) == 1.0 and np.isnan(c.value([-1.0]))

"""Printed formulas (text, pretty, LaTeX), the expression parser and the formula CLI."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff


def test_formula_sigmoid_derivative_prints_with_sigma():
    f = symdiff.formula("sigmoid(x)")
    assert str(f) == "(1 - sigmoid(x))*sigmoid(x)"
    assert f.pretty() == "(1 - σ(x))⋅σ(x)"
    assert f.latex() == r"\left(1 - \sigma\left(x\right)\right) \sigma\left(x\right)"
    assert f._repr_latex_() == f"$\\displaystyle {f.latex()}$"


def test_formula_softplus_derivative_is_sigmoid():
    f = symdiff.formula("softplus(x)")
    assert str(f) == "sigmoid(x)"
    assert f.pretty() == "σ(x)"
    assert f.latex() == r"\sigma\left(x\right)"


def test_formula_tanh_derivative():
    f = symdiff.formula("tanh(x)")
    assert str(f) == "1 - tanh(x)**2"
    assert f.latex() == r"1 - \tanh^{2}{\left(x \right)}"
    assert "tanh (x)" in f.pretty() and "2" in f.pretty().splitlines()[0]


def test_formula_recognises_user_written_exponential_forms():
    assert str(symdiff.formula("log(1 + exp(x))")) == "sigmoid(x)"
    assert str(symdiff.formula("1/(1 + exp(-x))")) == "(1 - sigmoid(x))*sigmoid(x)"
    assert str(symdiff.formula("(exp(x) - exp(-x))/(exp(x) + exp(-x))")) == "1 - tanh(x)**2"


def test_formula_relu_prints_by_name():
    f = symdiff.formula("relu(x)*x", wrt=[], order=0)
    assert str(f) == "x*relu(x)"
    assert f.pretty() == "x⋅relu(x)"
    assert f.latex() == r"x \operatorname{relu}\left(x\right)"


def test_formula_named_function_powers_print_in_latex():
    f = symdiff.formula(symdiff.sigmoid(sp.Symbol("x")) ** 2, order=0)
    assert f.latex() == r"\sigma^{2}\left(x\right)"


def test_formula_logistic_regression_gradient_in_sigma_form():
    X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]])
    y = np.array([1.0, 0.0])

    def nll(w):
        p = ad.sigmoid(X @ w)
        return -(y * ad.log(p) + (1.0 - y) * ad.log(1.0 - p)).sum()

    f = symdiff.formula(nll, args=[np.zeros(3)])
    assert len(f) == 3
    for e in f.exprs:
        assert e.has(symdiff.sigmoid)
        assert not e.has(sp.exp) and not e.has(sp.log)
    assert "σ(" in f.pretty()
    assert "df/dw[0] = " in str(f)


def test_formula_multiple_entries_are_labelled_and_symmetric_ones_dropped():
    f = symdiff.formula("x**2*y", order=2)
    assert str(f) == "d2f/dx2 = 2*y\nd2f/dxdy = 2*x\nd2f/dy2 = 0"
    assert "∂²f/∂x∂y = 2⋅x" in f.pretty()
    assert r"\frac{\partial^{2} f}{\partial x \partial y} &= 2 x" in f.latex()


def test_formula_third_order_labels():
    f = symdiff.formula("x**3*y", order=3)
    assert str(f).splitlines()[1] == "d3f/dx2dy = 6*x"


def test_formula_wrt_unknown_variable_is_an_error():
    with pytest.raises(ValueError, match="unknown variable 'q'"):
        symdiff.formula("x**2", wrt="q")


def test_formula_cse_and_sympy_input():
    x = sp.Symbol("x")
    f = symdiff.formula(sp.exp(sp.sin(x)) * sp.sin(x), simplify="none")
    replacements, reduced = f.cse()
    assert len(reduced) == 1


def test_parse_expression_symbols_in_order_of_appearance():
    expr, symbols = symdiff.parse_expression("log(1 + exp(x*y))*sin(x)**2/(1 + y**2)")
    assert [s.name for s in symbols] == ["x", "y"]
    assert all(s.is_real for s in symbols)
    assert expr.has(sp.log)


def test_parse_expression_numbers_and_constants():
    expr, (x,) = symdiff.parse_expression("0.5*x^2 + pi + E")
    assert expr == x**2 / 2 + sp.pi + sp.E


def test_parse_expression_names_restrict_variables():
    expr, symbols = symdiff.parse_expression("a*b", names=["b", "a"])
    assert [s.name for s in symbols] == ["b", "a"]
    with pytest.raises(ValueError, match="unknown name"):
        symdiff.parse_expression("a*c", names=["a"])


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.__class__",
        "lambda: 1",
        "a=1",
        "import os",
        "x; y",
        "open('f')",
        "x[0]",
        "'text'",
        "exp(x, base=2)",
        "[x for x in y]",
        "x if y else z",
        "__builtins__",
    ],
)
def test_parse_expression_rejects_non_arithmetic(text):
    with pytest.raises(ValueError, match="parse_expression"):
        symdiff.parse_expression(text)


def test_formula_cli_second_order(capsys):
    status = symdiff.formula_cli(
        ["log(1 + exp(x*y))*sin(x)**2/(1 + y**2)", "--wrt", "x", "y", "--order", "2"]
    )
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    labels = [line.split(" = ")[0] for line in out]
    assert [x for x in labels if x.startswith("d")] == ["d2f/dx2", "d2f/dxdy", "d2f/dy2"]
    assert "softplus(x*y)" in "\n".join(out) and "sigmoid(x*y)" in "\n".join(out)


def test_formula_cli_latex_and_pretty(capsys):
    assert symdiff.formula_cli(["sigmoid(x)", "--latex"]) == 0
    assert capsys.readouterr().out.strip() == (
        r"\frac{\partial f}{\partial x} = "
        r"\left(1 - \sigma\left(x\right)\right) \sigma\left(x\right)"
    )
    assert symdiff.formula_cli(["softplus(x)", "--pretty", "--simplify", "full"]) == 0
    assert capsys.readouterr().out.splitlines()[:1] == ["∂f/∂x = σ(x)"]


def test_formula_cli_reports_bad_input(capsys):
    assert symdiff.formula_cli(["x.__class__"]) == 2
    assert "not allowed" in capsys.readouterr().err

"""Matrix-calculus formulas of array code (symdiff.matrix_formula, formula(form="matrix")).

Every printed formula is checked numerically: evaluated with NumPy from the matrix expression
and compared with eager autodiff (grad / hessian) at random shapes; a few are also evaluated
by SymPy from the equivalent SymPy matrix expression (an oracle that shares none of our
evaluation code) and by central finite differences.
"""

from __future__ import annotations

import doctest
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from symdiff import array_expr, matrix_expr, matrix_formula
from symdiff.cli import formula_cli
from symdiff.formula import Formula
from symdiff.matrix_expr import MatrixFormError
from symdiff.matrix_formula import MatrixFormula

RNG = np.random.default_rng(1234)


def _r(*shape):
    return RNG.normal(size=shape)


def _check_numbers(f, args, result: MatrixFormula, rtol=1e-8, atol=1e-10):
    """Every entry of ``result`` against eager autodiff at ``args``."""
    names = list(result.shapes)
    values = result.evaluate(*args)
    for (wrt, _), value in zip(result.entries, values):
        if len(wrt) == 1:
            expected = ad.grad(f, names.index(wrt[0]))(*args)
        else:
            i, j = names.index(wrt[0]), names.index(wrt[1])
            if i == j:
                expected = ad.hessian(f, i)(*args)
            else:  # the mixed block: the Jacobian in y of the gradient in x
                expected = ad.jacobian(lambda *a, i=i: ad.grad(f, i)(*a), j)(*args)
        expected = np.asarray(getattr(expected, "data", expected)).reshape(value.shape)
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol, err_msg=str(wrt))


# --- the table --------------------------------------------------------------------------
def logistic(X, w, y):
    return ad.sum(ad.softplus(X @ w) - y * (X @ w))


def least_squares(A, x, b):
    return ad.sum((A @ x - b) ** 2)


def quadratic(x, A):
    return x @ A @ x


def lse(A, x):
    return ad.logsumexp(A @ x)


def ridge(x, lam):
    return 0.5 * ad.sum(x**2) * lam


def mlp(W1, b1, W2, b2, x):
    return ad.sum((W2 @ ad.tanh(W1 @ x + b1) + b2) ** 2)


def _logistic_args(m, n):
    return _r(m, n), _r(n), _r(m)


def _ls_args(m, n):
    return _r(m, n), _r(n), _r(m)


def _quad_args(m, n):
    return _r(n), _r(n, n)


def _lse_args(m, n):
    return _r(m, n), _r(n)


def _ridge_args(m, n):
    return _r(n), 0.7


TABLE = [
    # (function, args builder, wrt, gradient text, gradient LaTeX, Hessian text, Hessian LaTeX)
    (
        logistic,
        _logistic_args,
        "w",
        "Xᵀ(σ(Xw) − y)",
        r"X^{\top} \left(\sigma\left(X w\right) - y\right)",
        "Xᵀ diag(σ(Xw) ⊙ (1 − σ(Xw))) X",
        r"X^{\top} \operatorname{diag}\left(\sigma\left(X w\right) \odot \left(1 - "
        r"\sigma\left(X w\right)\right)\right) X",
    ),
    (
        least_squares,
        _ls_args,
        "x",
        "2Aᵀ(Ax − b)",
        r"2 A^{\top} \left(A x - b\right)",
        "2AᵀA",
        r"2 A^{\top} A",
    ),
    (
        quadratic,
        _quad_args,
        "x",
        "(A + Aᵀ)x",
        r"\left(A + A^{\top}\right) x",
        "A + Aᵀ",
        r"A + A^{\top}",
    ),
    (
        lse,
        _lse_args,
        "x",
        "Aᵀ softmax(Ax)",
        r"A^{\top} \operatorname{softmax}\left(A x\right)",
        "Aᵀ(diag(p) − ppᵀ)A\nwhere p = softmax(Ax)",
        r"A^{\top} \left(\operatorname{diag}\left(p\right) - p p^{\top}\right) A, \quad "
        r"\text{where } p = \operatorname{softmax}\left(A x\right)",
    ),
    (ridge, _ridge_args, "x", "λx", r"\lambda x", "λI", r"\lambda I"),
]


@pytest.mark.parametrize("row", TABLE, ids=[r[0].__name__ for r in TABLE])
@pytest.mark.parametrize("shape", [(7, 5), (12, 6)])
def test_table_gradient_and_hessian(row, shape):
    f, build, wrt, g_text, g_latex, h_text, h_latex = row
    args = build(*shape)
    grad = symdiff.formula(f, *args, wrt=wrt, form="matrix")
    assert isinstance(grad, MatrixFormula)
    assert str(grad) == g_text
    assert grad.latex() == g_latex
    _check_numbers(f, args, grad)
    hess = symdiff.formula(f, *args, wrt=wrt, order=2, form="matrix")
    assert str(hess) == h_text
    assert hess.latex() == h_latex
    _check_numbers(f, args, hess)


def test_table_mlp_layer_gradient_names_h_and_delta():
    args = (_r(6, 5), _r(6), _r(3, 6), _r(3), _r(5))
    result = symdiff.formula(mlp, *args, wrt="W1")
    assert str(result) == "(W2ᵀ δ ⊙ (1 − h²))xᵀ\nwhere h = tanh(W1 x + b1), δ = 2(W2 h + b2)"
    assert result.latex() == (
        r"\left(W_{2}^{\top} \delta \odot \left(1 - h^{2}\right)\right) x^{\top}, \quad "
        r"\text{where } h = \tanh\left(W_{1} x + b_{1}\right), \ "
        r"\delta = 2 \left(W_{2} h + b_{2}\right)"
    )
    _check_numbers(mlp, args, result)
    every = symdiff.formula(mlp, *args, wrt=["W1", "b1", "W2", "b2"])
    assert every.lines() == [
        "∂f/∂W1 = (W2ᵀ δ ⊙ (1 − h²))xᵀ",
        "∂f/∂b1 = W2ᵀ δ ⊙ (1 − h²)",
        "∂f/∂W2 = δhᵀ",
        "∂f/∂b2 = δ",
        "where h = tanh(W1 x + b1), δ = 2(W2 h + b2)",
    ]
    assert every.ascii().splitlines()[0] == "df/dW1 = ((W2.T @ delta) * (1 - h**2)) @ x.T"
    _check_numbers(mlp, args, every)


def test_deep_network_names_layers_in_order():
    def net(W1, b1, W2, b2, W3, b3, x):
        h = ad.tanh(W1 @ x + b1)
        h = ad.tanh(W2 @ h + b2)
        return ad.sum(ad.tanh(W3 @ h + b3) ** 2)

    args = (_r(4, 3), _r(4), _r(4, 4), _r(4), _r(2, 4), _r(2), _r(3))
    result = symdiff.formula(net, *args, wrt="W1")
    assert str(result) == (
        "(W2ᵀ (W3ᵀ δ ⊙ (1 − h2²)) ⊙ (1 − h1²))xᵀ\n"
        "where h1 = tanh(W1 x + b1), h2 = tanh(W2 h1 + b2), h3 = tanh(W3 h2 + b3), "
        "δ = 2(h3 ⊙ (1 − h3²))"
    )
    _check_numbers(net, args, result)
    _check_printed_ascii(result, args)


def test_formula_defaults_to_matrix_form_for_arrays_and_keeps_elements_for_small_ones():
    big = symdiff.formula(logistic, *_logistic_args(6, 4), wrt="w")
    assert isinstance(big, MatrixFormula)
    small = symdiff.formula(logistic, *_logistic_args(2, 2), wrt="w")
    assert isinstance(small, Formula) and len(small) == 2
    assert "sigmoid" in str(small)
    forced = symdiff.formula(logistic, *_logistic_args(6, 4), wrt="w", form="elements")
    assert isinstance(forced, Formula) and len(forced) == 4


def test_names_argument_and_parameters_print_as_names():
    args = _logistic_args(6, 4)
    result = symdiff.formula(logistic, *args, wrt="theta", names=["D", "theta", "t"])
    assert str(result) == "Dᵀ(σ(Dθ) − t)"
    _check_numbers(logistic, args, result)
    # an ArrayLifted is accepted as it is (its parameters stay symbols)
    program = symdiff.lift(logistic, *args, mode="array", params=["X", "y"])
    assert str(symdiff.formula(program)) == "Xᵀ(σ(Xw) − y)"


def test_repr_latex_on_matrix_formula_and_array_lifted():
    args = _lse_args(5, 4)
    result = symdiff.formula(lse, *args, wrt="x", order=2)
    assert result._repr_latex_() == f"$\\displaystyle {result.latex()}$"
    program = symdiff.lift(lse, *args, mode="array")
    assert program._repr_latex_() == (
        r"$\displaystyle \mathrm{lse}\left(A, x\right) = "
        r"\operatorname{logsumexp}\left(A x\right)$"
    )

    scalar = symdiff.lift(lambda x: ad.sigmoid(x), 0.5)
    # a Lifted shows itself as a definition, f(x) = ... (symdiff/display.py)
    assert scalar._repr_latex_() == r"$\displaystyle f\left(x\right) = \sigma\left(x\right)$"
    vector = symdiff.lift(lambda x: ad.exp(x), np.ones(2), mode="scalar")
    assert r"= \left[\begin{matrix}e^{x[0]}" in vector._repr_latex_()
    big = symdiff.lift(lambda x: ad.exp(x), np.ones(400), mode="scalar")._repr_latex_()
    assert r"\text{an array of shape (400,)}" in big  # bounded, never 400 formulas

    def rosen(x):
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    listing = symdiff.lift(rosen, np.zeros(12), mode="array")._repr_latex_()
    assert listing.startswith(r"$\displaystyle \begin{aligned}\texttt{t13[i]} &= ")
    assert r"\text{return } & \texttt{t14}" in listing


# --- the printed text itself evaluates to the right numbers --------------------------------------
def _softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


ASCII_NAMESPACE = {
    "np": np,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softplus": lambda z: np.logaddexp(0, z),
    "relu": lambda z: np.maximum(z, 0),
    "heaviside0": lambda z: (z > 0).astype(float),
    "diag": lambda v: np.diag(np.ravel(v)),
    "sum": np.sum,
    "softmax": _softmax,
    "logsumexp": lambda v: np.log(np.exp(v).sum()),
    "ones": 1.0,
    **{name: getattr(np, name) for name in ("exp", "log", "tanh", "sin", "cos", "tan", "sign")},
    **{name: getattr(np, name) for name in ("abs", "log1p", "expm1", "sqrt")},
}


def _check_printed_ascii(result: MatrixFormula, args):
    """Evaluate the ASCII text (NumPy spelling) of every entry and definition with NumPy."""
    env = dict(ASCII_NAMESPACE)
    for (name, shape), value in zip(result.shapes.items(), args):
        rows = shape[0] if shape else 1
        env[name] = np.asarray(value, dtype=float).reshape(rows, -1)
    env.update({k: np.asarray(v, dtype=float) for k, v in result.constants.items()})
    for name, e in result.definitions:
        env[name] = eval(result.text(e, "ascii"), env)  # noqa: S307 - our own printed text
    for (wrt, e), expected in zip(result.entries, result.evaluate(*args)):
        value = np.asarray(eval(result.text(e, "ascii"), env), dtype=float)  # noqa: S307
        value = np.broadcast_to(value, e.shape).reshape(expected.shape)
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12, err_msg=str(wrt))


@pytest.mark.parametrize("row", TABLE, ids=[r[0].__name__ for r in TABLE])
def test_printed_ascii_of_the_table_evaluates_to_the_formula(row):
    f, build, wrt = row[:3]
    args = build(6, 4)
    for order in (1, 2):
        result = symdiff.formula(f, *args, wrt=wrt, order=order, form="matrix")
        _check_printed_ascii(result, args)


def test_printed_ascii_of_quotients_and_layers_evaluates_to_the_formula():
    x = _r(6)

    def quotient(x):
        return ad.sum(ad.exp(x)) / ad.sum(x * x)

    for order in (1, 2):
        result = symdiff.formula(quotient, x, order=order)
        _check_numbers(quotient, (x,), result)
        _check_printed_ascii(result, (x,))
    args = (_r(6, 5), _r(6), _r(3, 6), _r(3), _r(5))
    _check_printed_ascii(symdiff.formula(mlp, *args, wrt=["W1", "b1", "W2", "b2"]), args)


# --- numeric agreement for every op with a matrix-level rule -------------------------------------
def _pos(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


OPS = {
    "add/sub/neg": (
        lambda A, x, b: ad.sum(-(A @ x) + b - x.sum()),
        lambda: (_r(5, 4), _r(4), _r(5)),
    ),
    "mul/div": (lambda x, y, c: ad.sum(x * y / (y * y + 2.0)) * c, lambda: (_r(6), _r(6), 1.3)),
    "pow": (lambda x: ad.sum(x**3) + ad.sum(x ** (-2.0)), lambda: (_pos(5),)),
    "exp/log": (lambda x: ad.sum(ad.exp(x) * ad.log(x)), lambda: (_pos(5),)),
    "tanh/sigmoid": (lambda x: ad.sum(ad.tanh(x) * ad.sigmoid(x)), lambda: (_r(5),)),
    "softplus/relu": (lambda x: ad.sum(ad.softplus(x) + ad.relu(x) * x), lambda: (_r(5),)),
    "sin/cos/tan": (lambda x: ad.sum(ad.sin(x) * ad.cos(x) + ad.tan(x)), lambda: (_r(5) * 0.5,)),
    "sqrt/square/abs": (
        lambda x: ad.sum(ad.sqrt(x) + ad.square(x) * ad.abs(x)),
        lambda: (_pos(5),),
    ),
    "log1p/expm1": (lambda x: ad.sum(ad.log1p(x) * ad.expm1(x)), lambda: (_pos(5),)),
    "matmul (matrices)": (
        lambda A, B, x: ad.sum(ad.tanh(A @ B @ x)),
        lambda: (_r(5, 3), _r(3, 4), _r(4)),
    ),
    "transpose": (lambda A, x: ad.sum((A.T @ x) ** 2), lambda: (_r(5, 4), _r(5))),
    "sum axis 0": (lambda X, w: ad.sum(ad.sum(X * X, axis=0) * w), lambda: (_r(5, 4), _r(4))),
    "sum axis 1 keepdims": (
        lambda X, w: ad.sum(ad.exp(ad.sum(X, axis=1, keepdims=True)) * w),
        lambda: (_r(5, 4), _r(5, 1)),
    ),
    "mean": (lambda X, w: ad.mean((X @ w) ** 2), lambda: (_r(6, 4), _r(4))),
    "broadcast row": (lambda X, b: ad.sum(ad.sigmoid(X + b)), lambda: (_r(5, 4), _r(4))),
    "broadcast scalar": (lambda x, s: ad.sum(ad.exp(x * s + s)), lambda: (_r(5), 0.3)),
    "softmax": (lambda A, x, y: ad.sum(ad.softmax(A @ x) * y), lambda: (_r(5, 4), _r(4), _r(5))),
    "logsumexp": (lambda A, x: ad.logsumexp(A @ x) * 2.0, lambda: (_r(5, 4), _r(4))),
}


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_rule_agrees_with_eager_autodiff(name):
    f, build = OPS[name]
    args = build()
    program = symdiff.lift(f, *args, mode="array")
    grads = matrix_formula.matrix_formula(program, order=1)
    _check_numbers(f, args, grads)
    vectors = [n for n, s in grads.shapes.items() if len(s) <= 1]
    hess = matrix_formula.matrix_formula(program, wrt=vectors, order=2)
    _check_numbers(f, args, hess, rtol=1e-7, atol=1e-9)
    _check_printed_ascii(grads, args)
    _check_printed_ascii(hess, args)


COMPOSITIONS = {
    "dots": (lambda x, y: (x @ x) * (y @ y), lambda: (_r(5), _r(5))),
    "bilinear": (lambda x, A, y: x @ A @ y, lambda: (_r(5), _r(5, 6), _r(6))),
    "exp*lin": (
        lambda A, B, x: ad.sum(ad.exp(A @ x) * (B @ x)),
        lambda: (_r(5, 4), _r(5, 4), _r(4)),
    ),
    "three matrices": (
        lambda X, W, V: ad.sum(ad.tanh(X @ W @ V)),
        lambda: (_r(5, 4), _r(4, 3), _r(3, 2)),
    ),
    "lse*sum": (lambda A, x: ad.logsumexp(A @ x) * ad.sum(x), lambda: (_r(5, 4), _r(4))),
    "log-sigmoid": (
        lambda X, w, y: ad.sum(ad.log(ad.sigmoid(y * (X @ w)))),
        lambda: (_r(6, 4), _r(4), _r(6)),
    ),
    "scalars": (lambda x, a, b: ad.sum(ad.exp(a * x)) * b + a * b, lambda: (_r(5), 0.3, 0.7)),
    "row vector": (lambda x, A: ad.sum(ad.sin(x @ A)), lambda: (_r(5), _r(5, 6))),
    "softmax cross-entropy": (
        lambda W, x, y: -ad.sum(y * ad.log(ad.softmax(W @ x))),
        lambda: (_r(5, 4), _r(4), _pos(5)),
    ),
    "gram": (lambda X: ad.sum((X.T @ X) ** 2), lambda: (_r(5, 3),)),
    "row sums": (lambda X, w: ad.sum(ad.exp(ad.sum(X * w, axis=1))), lambda: (_r(5, 4), _r(4))),
    "column broadcast": (lambda X, b: ad.sum(ad.tanh(X + b)), lambda: (_r(5, 4), _r(5, 1))),
    "quotient of sums": (lambda x: ad.sum(ad.exp(x)) / ad.sum(x * x), lambda: (_r(6),)),
}


@pytest.mark.parametrize("name", list(COMPOSITIONS))
def test_compositions_agree_with_eager_autodiff(name):
    f, build = COMPOSITIONS[name]
    args = build()
    program = symdiff.lift(f, *args, mode="array")
    grads = matrix_formula.matrix_formula(program, order=1)
    _check_numbers(f, args, grads)
    _check_printed_ascii(grads, args)
    vectors = [n for n, s in grads.shapes.items() if len(s) <= 1]
    if vectors:
        hess = matrix_formula.matrix_formula(program, wrt=vectors, order=2)
        _check_numbers(f, args, hess, rtol=1e-7, atol=1e-9)
        _check_printed_ascii(hess, args)


def test_cancellations_read_like_a_textbook():
    f, build = COMPOSITIONS["softmax cross-entropy"]
    args = build()
    assert str(symdiff.formula(f, *args, wrt="x")) == "Wᵀ(sum(y) softmax(Wx) − y)"
    hess = symdiff.formula(f, *args, wrt="x", order=2)
    assert str(hess) == "sum(y) Wᵀ(diag(p) − ppᵀ)W\nwhere p = softmax(Wx)"
    f, build = COMPOSITIONS["row sums"]
    assert str(symdiff.formula(f, *build(), wrt="w")) == "Xᵀ exp(Xw)"
    f, build = COMPOSITIONS["dots"]
    assert str(symdiff.formula(f, *build(), wrt="x")) == "2(yᵀy)x"
    sum_of_ratio = symdiff.formula(lambda x: ad.sum(x / ad.sum(x)), _pos(6), wrt="x")
    assert str(sum_of_ratio) == "0"


def test_gradient_matches_extended_precision_finite_differences():
    """An oracle outside autodiff: central differences with mpmath at 40 digits."""
    X, w, y = _logistic_args(6, 3)
    result = symdiff.formula(logistic, X, w, y, wrt="w")
    mpmath.mp.dps = 40

    def loss(wv):
        total = mpmath.mpf(0)
        for i in range(X.shape[0]):
            z = sum(mpmath.mpf(X[i, j]) * wv[j] for j in range(3))
            total += mpmath.log1p(mpmath.exp(z)) - mpmath.mpf(y[i]) * z
        return total

    h = mpmath.mpf("1e-15")
    fd = []
    for j in range(3):
        up = [mpmath.mpf(v) for v in w]
        down = list(up)
        up[j] += h
        down[j] -= h
        fd.append(float((loss(up) - loss(down)) / (2 * h)))
    np.testing.assert_allclose(result.evaluate(X, w, y)[0], fd, rtol=1e-12)


def test_sympy_matrix_expression_evaluates_to_the_same_numbers():
    """to_sympy builds MatrixSymbol/HadamardProduct/DiagMatrix...; SymPy evaluates them."""
    A, x = _lse_args(3, 2)
    result = symdiff.formula(lse, A, x, wrt="x", order=2, form="matrix")
    (entry,), defs = result.to_sympy()
    ((pname, pexpr),) = defs
    As, xs = sp.MatrixSymbol("A", 3, 2), sp.MatrixSymbol("x", 2, 1)
    values = {As: sp.Matrix(A), xs: sp.Matrix(x.reshape(2, 1))}
    p = sp.Matrix(pexpr.subs(values).doit()).evalf()
    explicit = entry.subs(values).subs({sp.MatrixSymbol(pname, 3, 1): p}).doit()
    value = np.array(sp.Matrix(explicit).evalf(), dtype=float)
    np.testing.assert_allclose(value, result.evaluate(A, x)[0], rtol=1e-10)

    X, w, y = _logistic_args(3, 2)
    grad = symdiff.formula(logistic, X, w, y, wrt="w", form="matrix").to_sympy()[0][0]
    subs = {
        sp.MatrixSymbol("X", 3, 2): sp.Matrix(X),
        sp.MatrixSymbol("w", 2, 1): sp.Matrix(w.reshape(2, 1)),
        sp.MatrixSymbol("y", 3, 1): sp.Matrix(y.reshape(3, 1)),
    }
    value = np.array(sp.Matrix(grad.subs(subs).doit()).evalf(), dtype=float).reshape(-1)
    np.testing.assert_allclose(value, ad.grad(logistic, 1)(X, w, y).data, rtol=1e-10)


def test_captured_constant_arrays_are_named_and_evaluated():
    C = _r(5, 4)
    result = symdiff.formula(lambda x: ad.sum(ad.exp(C @ x)), _r(4), form="matrix")
    assert str(result) == "c1ᵀ exp(c1 x)"
    assert "c1" in result.constants
    x = _r(4)
    np.testing.assert_allclose(result.evaluate(x)[0], C.T @ np.exp(C @ x), rtol=1e-12)


# --- no matrix rule -----------------------------------------------------------------------------
def _clipped(x):
    return ad.sum(ad.maximum(x, 0.0) * x)


def test_op_without_matrix_rule_raises_naming_it_when_asked_for():
    with pytest.raises(MatrixFormError, match="op 'maximum' has no matrix-level rule"):
        symdiff.formula(_clipped, _r(6), form="matrix")


def test_op_without_matrix_rule_falls_back_to_elements_with_a_warning():
    with pytest.warns(UserWarning, match="op 'maximum'.*element by element"):
        result = symdiff.formula(_clipped, _r(6))
    assert isinstance(result, Formula) and len(result) == 6


def test_hessian_of_a_matrix_variable_is_refused_clearly():
    with pytest.raises(MatrixFormError, match="w.r.t. 'X' of shape \\(5, 4\\).*4-index"):
        symdiff.formula(logistic, *_logistic_args(5, 4), wrt="X", order=2, form="matrix")


def test_default_variables_of_a_hessian_are_the_vectors():
    args = _logistic_args(6, 4)
    result = symdiff.formula(logistic, *args, order=2)
    assert [w for w, _ in result.entries] == [("w", "w"), ("w", "y"), ("y", "y")]
    _check_numbers(logistic, args, result)
    with pytest.raises(MatrixFormError, match="no vector or scalar variable"):
        symdiff.formula(lambda X: ad.sum(X * X), _r(3, 3), order=2, form="matrix")


def test_bad_requests_name_the_problem():
    args = _logistic_args(5, 4)
    with pytest.raises(ValueError, match="unknown variable 'q'"):
        symdiff.formula(logistic, *args, wrt="q", form="matrix")
    with pytest.raises(ValueError, match="form must be"):
        symdiff.formula(logistic, *args, form="tensor")
    with pytest.raises(TypeError, match="form='matrix' needs a function"):
        symdiff.formula("x**2", form="matrix")
    with pytest.raises(MatrixFormError, match="order must be 0, 1 or 2"):
        symdiff.formula(logistic, *args, wrt="w", order=3, form="matrix")
    vector_out = symdiff.lift(lambda x: ad.exp(x), _r(5), mode="array")
    with pytest.raises(MatrixFormError, match="need a scalar"):
        symdiff.formula(vector_out, form="matrix")


def test_legacy_positional_wrt_for_expressions_still_works():
    assert str(symdiff.formula("x**2*y", "x")) == "2*x*y"


# --- simplification rules -----------------------------------------------------------------------
def test_constructors_simplify_at_matrix_level():
    A, B = matrix_expr.sym("A", (3, 3)), matrix_expr.sym("B", (3, 2))
    x = matrix_expr.sym("x", (3, 1))
    me = matrix_expr
    assert me.tr(me.tr(A)) is A
    assert str(me.tr(me.matmul(A, B))) == "BᵀAᵀ"
    assert str(me.matmul(me.tr(B), B)) == "BᵀB"  # kept as a product
    assert str(me.add(me.matmul(A, x), me.matmul(me.tr(A), x))) == "(A + Aᵀ)x"
    assert str(me.scale(3, me.scale(2, me.matmul(A, x)))) == "6Ax"
    assert str(me.had(x, x)) == "x²"
    assert me.had(me.ones((3, 1)), x) is x
    assert str(me.add(me.diag(x), me.diag(me.fn("exp", x)))) == "diag(exp(x) + x)"
    assert isinstance(me.sub(A, A), me.Zero)
    with pytest.raises(MatrixFormError, match="cannot multiply shapes"):
        me.matmul(B, B)


# --- CLI ----------------------------------------------------------------------------------------
def test_cli_matrix_expression(capsys):
    argv = ["sum(softplus(X@w) - y*(X@w))", "--wrt", "w", "--shapes", "X=m,n", "w=n", "y=m"]
    assert formula_cli(argv) == 0
    assert capsys.readouterr().out == "∂f/∂w = Xᵀ(σ(Xw) − y)\n"
    assert formula_cli(argv + ["--order", "2", "--latex"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(r"X^{\top} \operatorname{diag}")
    assert formula_cli(["mean((X@w - y)**2)", "--wrt", "w", "--shapes", "X=m,n", "w=n", "y=m"]) == 0
    assert capsys.readouterr().out == "∂f/∂w = (2/m)Xᵀ(Xw − y)\n"
    assert formula_cli(["logsumexp(A@x)", "--shapes", "A=m,n", "x=n", "--order", "2"]) == 0
    assert capsys.readouterr().out == "∂²f/∂x² = Aᵀ(diag(p) − ppᵀ)A\nwhere p = softmax(Ax)\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sum(x[0])", "--shapes", "x=n"], "Subscript is not allowed"),
        (["sum(maximum(x))", "--shapes", "x=n"], "unknown function 'maximum'"),
        (["sum(x.__class__)", "--shapes", "x=n"], "only .T"),
        (["sum(x)", "--shapes", "q=n"], "'q' does not appear"),
        (["sum(x)", "--shapes", "x=n,m,k"], "at most 2"),
        (["sum(X@w)", "--shapes", "X=m,n", "w=n", "--order", "2", "--wrt", "X"], "4-index"),
    ],
)
def test_cli_matrix_expression_errors(argv, message, capsys):
    assert formula_cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybriddiff formula: error:") and message in err


def test_array_expression_parser():
    f, names = array_expr.array_function("sum((A @ x - b) ** 2) + lam * sum(x.T)")
    assert names == ["A", "x", "b", "lam"]
    A, x, b = _r(3, 2), _r(2), _r(3)
    assert np.isclose(float(f(A, x, b, 0.5).data), ((A @ x - b) ** 2).sum() + 0.5 * x.sum())
    assert array_expr.parse_shapes(["A=m,3", "x=3", "b=m"], ["A", "x", "b", "lam"]) == {
        "A": (4, 3), "x": (3,), "b": (4,), "lam": (),
    }  # fmt: skip
    with pytest.raises(ValueError, match="not an expression"):
        array_expr.array_function("sum(")


def test_docstring_examples_run():
    for module in (matrix_expr, matrix_formula, array_expr):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_no_warning_for_supported_programs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        symdiff.formula(logistic, *_logistic_args(6, 4), wrt="w")

"""lift: symbols and names, params, conditions, constants, limits and errors."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from symdiff_helpers import assert_close, eager_all, lifted_all

import autodiff as ad
import symdiff


def test_lift_scalar_arguments_become_named_symbols():
    lifted = symdiff.lift(lambda x, y: ad.sin(x) * y, 1.0, 2.0)
    x, y = sp.symbols("x y", real=True)
    assert lifted.variables == (x, y)
    assert lifted.expr == y * sp.sin(x)
    assert lifted.output is lifted.expr
    assert lifted.gradient() == [y * sp.cos(x), sp.sin(x)]


def test_lift_array_arguments_become_element_symbols_in_c_order():
    def f(W, v):
        return (W @ v).sum()

    lifted = symdiff.lift(f, np.ones((2, 3)), np.ones(3))
    names = [s.name for s in lifted.variables]
    assert names[:3] == ["W[0, 0]", "W[0, 1]", "W[0, 2]"]
    assert names[5] == "W[1, 2]" and names[6:] == ["v[0]", "v[1]", "v[2]"]
    assert lifted.arg_shapes == {"W": (2, 3), "v": (3,)}
    assert lifted.symbols["W"].shape == (2, 3)
    assert lifted.symbols["W"][1, 2].name == "W[1, 2]"


def test_lift_names_override_parameter_names():
    lifted = symdiff.lift(lambda *a: a[0] * a[1], 1.0, 2.0, names=["p", "q"])
    assert [s.name for s in lifted.variables] == ["p", "q"]


def test_lift_params_are_symbolic_but_not_differentiated():
    def nll(w, X, y):
        z = X @ w
        return (ad.softplus(z) - y * z).sum()

    X, y = np.ones((2, 3)), np.array([1.0, 0.0])
    lifted = symdiff.lift(nll, np.zeros(3), X, y, params=("X", 2))
    assert [s.name for s in lifted.variables] == ["w[0]", "w[1]", "w[2]"]
    assert len(lifted.parameters) == 8
    grad = lifted.gradient()
    assert len(grad) == 3
    assert all(e.has(symdiff.sigmoid) and not e.has(sp.exp) for e in grad)
    assert lifted.hessian().shape == (3, 3)


def test_lift_constants_stay_clean_numbers():
    lifted = symdiff.lift(lambda x: 0.5 * x**2.0 + 3.0 * x + 0.1, 1.0)
    x = sp.Symbol("x", real=True)
    assert lifted.expr == x**2 / 2 + 3 * x + sp.Rational(1, 10)
    assert not lifted.expr.atoms(sp.Float)


def test_lift_irrational_constant_becomes_float():
    lifted = symdiff.lift(lambda x: x * np.pi, 1.0)
    (c,) = lifted.expr.atoms(sp.Float)
    assert float(c) == np.pi


def test_lift_comparison_and_where_become_piecewise():
    f = lambda x: ad.where(x > 0.0, x**2, -x).sum()  # noqa: E731
    lifted = symdiff.lift(f, np.array([1.0, 2.0]))
    assert lifted.expr.has(sp.Piecewise)
    value, grad, _ = lifted_all(lifted, [np.array([-1.0, 3.0])])
    assert value == pytest.approx(1.0 + 9.0)
    assert_close(grad, [-1.0, 6.0])


def test_lift_mask_cast_to_float_stays_symbolic():
    f = lambda x: ((x > 0.0).astype(np.float64) * x**2).sum()  # noqa: E731
    lifted = symdiff.lift(f, np.array([1.0, 2.0]))
    point = [np.array([-1.0, 3.0])]
    v_e, g_e, h_e = eager_all(f, point)
    v_l, g_l, h_l = lifted_all(lifted, point)
    assert_close(v_l, v_e)
    assert_close(g_l, g_e)
    assert_close(h_l, h_e)


def test_lift_vector_output_gives_object_array_and_jacobian():
    lifted = symdiff.lift(lambda x: x**2, np.array([1.0, 2.0]))
    assert lifted.output.shape == (2,)
    assert not lifted.is_scalar
    jac = lifted.jacobian()
    x0, x1 = lifted.variables
    assert jac == sp.Matrix([[2 * x0, 0], [0, 2 * x1]])
    with pytest.raises(ValueError, match="scalar"):
        lifted.gradient()


def test_lift_derivative_any_order_and_mix():
    lifted = symdiff.lift(lambda x, y: ad.exp(x * y), 1.0, 1.0)
    x, y = lifted.variables
    expected = sp.diff(sp.exp(x * y), x, 2, y)
    assert sp.simplify(lifted.derivative("x", 2, "y") - expected) == 0
    assert sp.simplify(lifted.derivative(x, x, y) - expected) == 0


def test_lift_too_many_elements_names_the_limit_and_tensor():
    with pytest.raises(symdiff.LiftTooLarge, match=r"argument 'x'.*max_elements = 10"):
        symdiff.lift(lambda x: x.sum(), np.ones(20), max_elements=10)
    with pytest.raises(symdiff.LiftTooLarge, match=r"op 'matmul'.*25 elements"):
        symdiff.lift(lambda x: ad.outer(x, x).sum(), np.ones(5), max_elements=20)


def test_lift_config_max_elements_is_read_at_call_time():
    old = symdiff.config.max_elements
    symdiff.config.max_elements = 4
    try:
        with pytest.raises(symdiff.LiftTooLarge, match="max_elements = 4"):
            symdiff.lift(lambda x: x.sum(), np.ones(5))
    finally:
        symdiff.config.max_elements = old


def test_lift_rejects_non_tensor_outputs():
    with pytest.raises(symdiff.LiftError, match="must return one Tensor"):
        symdiff.lift(lambda x: (x, x), 1.0)


def test_lift_integer_arguments_are_float_variables_others_pass_through():
    # JAX-like weak typing: an int example argument is a float variable, not a constant
    lifted = symdiff.lift(lambda x, n: x**n, 2.0, 3)
    x, n = sp.Symbol("x", real=True), sp.Symbol("n", real=True)
    assert lifted.expr == x**n
    assert lifted.arg_shapes == {"x": (), "n": ()}
    # a bool and a string are passed through unchanged
    lifted = symdiff.lift(lambda x, sq, tag: x**2 if sq and tag == "a" else x, 2.0, True, "a")
    assert lifted.expr == x**2
    assert lifted.arg_shapes == {"x": ()}


def test_lift_control_flow_on_a_variable_raises_or_is_guarded():
    def f(x):
        return x**2 if x > 0 else -x

    with pytest.raises(symdiff.TracerBoolConversionError, match="ad.where"):
        symdiff.lift(f, 1.0)
    x = sp.Symbol("x", real=True)
    assert symdiff.lift(f, 1.0, guards=True).expr == x**2
    assert symdiff.lift(f, -1.0, guards=True).expr == -x


def test_lift_logsumexp_gradient_is_softmax():
    x = np.array([0.3, -1.0, 2.0])
    lifted = symdiff.lift(lambda x: ad.logsumexp(x), x)
    _, grad, _ = lifted_all(lifted, [x + 1.0])
    e = np.exp(x + 1.0)
    assert_close(grad, e / e.sum())


def test_lift_condition_on_intermediate_only_used_by_comparison():
    f = lambda x: ad.where(ad.sin(x) * 2.0 > 1.0, x**2, x).sum()  # noqa: E731
    lifted = symdiff.lift(f, np.array([0.1, 2.0]))
    x0 = lifted.variables[0]
    assert lifted.expr.has(sp.sin(x0))
    point = [np.array([1.0, -0.3])]
    assert_close(lifted_all(lifted, point)[1], eager_all(f, point)[1])


def test_lift_rejects_duplicate_names():
    with pytest.raises(ValueError, match="distinct"):
        symdiff.lift(lambda a, b: a * b, 1.0, 2.0, names=["p", "p"])

"""Nested transforms over captured variables: no perturbation confusion.

Each transform differentiates only with respect to its own inputs; values that depend on an
enclosing transform's variable (captured by a closure, passed as the argument, or both) stay
differentiable by the enclosing transform. The expected values are hand-derived closed forms,
and the random nestings are checked against mpmath evaluation at 40 digits, with every inner
derivative taken by ``mpmath.diff`` (an oracle that shares none of autodiff's rules).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
from autodiff.grad_mode import active_transforms

X0 = np.array([0.5, -1.25, 2.0])
V = np.array([1.0, 0.5, -2.0])


def _f(value) -> float:
    return float(value.item() if isinstance(value, ad.Tensor) else value)


# --- the cases of the task --------------------------------------------------------------------
def test_grad_of_product_with_inner_grad_over_a_captured_variable():
    assert _f(ad.grad(lambda x: x * ad.grad(lambda y: x * y)(2.0))(1.0)) == 2.0


def test_grad_of_product_with_inner_jvp_over_a_captured_variable():
    out = ad.grad(lambda x: x * ad.jvp(lambda y: x * y, (2.0,), (1.0,))[1])(1.0)
    assert _f(out) == 2.0


def test_grad_through_an_inner_vector_grad_that_captures_a_scalar():
    # d/da sum(2 a w) at w = ones(2) is 2 * 2 = 4.
    out = ad.grad(lambda a: ad.sum(ad.grad(lambda w: a * ad.sum(w**2))(np.ones(2))))(3.0)
    assert isinstance(out, np.floating | float)
    assert _f(out) == 4.0


def test_inner_transform_of_the_outer_variable_itself_is_not_confused():
    # The inner grad of x * y in y is x; its outer derivative is 1 (not d(x*x)/dx = 2).
    assert _f(ad.grad(lambda x: ad.grad(lambda y: x * y)(x))(1.0)) == 1.0
    assert _f(ad.grad(lambda x: ad.jvp(lambda y: x * y, (x,), (1.0,))[1])(1.0)) == 1.0
    assert _f(ad.grad(lambda x: ad.vjp(lambda y: x * y, x)[1](1.0)[0])(1.0)) == 1.0
    # forward over forward: the inner tangent x does not mix with the outer one.
    out = ad.jvp(lambda x: ad.jvp(lambda y: x * y, (x,), (1.0,))[1], (1.0,), (1.0,))[1]
    assert _f(out) == 1.0
    # d/dx [d/dy (x y^2)]_{y=x} = d/dx (2 x^2) = 4x.
    assert _f(ad.grad(lambda x: ad.grad(lambda y: x * y**2)(x))(1.5)) == pytest.approx(6.0)


# --- every transform through a closure ----------------------------------------------------------
def test_hessian_inside_grad_with_a_captured_scale():
    # hessian of a * sum(x^3) is diag(6 a x); its sum is 6 a sum(x); d/da = 6 sum(x).
    def outer(a):
        return ad.sum(ad.hessian(lambda x: a * ad.sum(x**3))(X0))

    assert _f(ad.grad(outer)(0.7)) == pytest.approx(6 * X0.sum(), rel=1e-14)


def test_jacfwd_and_jacobian_inside_grad_with_a_captured_scale():
    for jac in (ad.jacfwd, ad.jacobian):

        def outer(a, jac=jac):
            return ad.sum(jac(lambda x: a * x**2 + ad.sin(a * x))(X0))

        # jac = diag(2 a x + a cos(a x)); d/da of its sum = sum(2 x + cos(a x) - a x sin(a x))
        a = 0.7
        expected = np.sum(2 * X0 + np.cos(a * X0) - a * X0 * np.sin(a * X0))
        assert _f(ad.grad(outer)(a)) == pytest.approx(expected, rel=1e-13), jac.__name__


def test_hvp_inside_grad_with_a_captured_scale():
    # H v = 6 a x v; d/da sum(H v) = 6 sum(x v).
    def outer(a):
        return ad.sum(ad.hvp(lambda x: a * ad.sum(x**3), (X0,), (V,)))

    assert _f(ad.grad(outer)(1.3)) == pytest.approx(6 * np.sum(X0 * V), rel=1e-14)


def test_vjp_inside_grad_captured_and_through_the_cotangent():
    ct = np.array([2.0, -1.0, 0.5])

    def captured(a):
        _, pullback = ad.vjp(lambda x: a * x**2, X0)
        return ad.sum(pullback(ct)[0])

    assert _f(ad.grad(captured)(1.1)) == pytest.approx(np.sum(2 * X0 * ct), rel=1e-14)

    def through_cotangent(a):
        _, pullback = ad.vjp(lambda x: x**2, X0)
        return ad.sum(pullback(a * ct)[0])

    assert _f(ad.grad(through_cotangent)(1.1)) == pytest.approx(np.sum(2 * X0 * ct), rel=1e-14)


def test_jvp_inside_grad_through_the_tangent():
    # jvp of x^3 along a is 3 x^2 a; d/da = 3 x^2.
    assert _f(ad.grad(lambda a: ad.jvp(lambda x: x**3, (1.5,), (a,))[1])(0.3)) == 6.75


def test_value_and_grad_inside_grad_with_a_captured_scale():
    # value a sum(x^2), gradient 2 a x; d/da of value + sum(gradient) = sum(x^2) + 2 sum(x).
    def outer(a):
        value, g = ad.value_and_grad(lambda x: a * ad.sum(x**2))(X0)
        return value + ad.sum(g)

    expected = np.sum(X0**2) + 2 * X0.sum()
    assert _f(ad.grad(outer)(0.4)) == pytest.approx(expected, rel=1e-14)


def test_three_levels_each_with_its_own_variable():
    # f = x y z^2; d/dz = 2 x y z at z = y gives 2 x y^2; d/dy = 4 x y at y = x gives 4 x^2;
    # d/dx = 8 x.
    def level2(x):
        def level1(y):
            return ad.grad(lambda z: x * y * z**2)(y)

        return ad.grad(level1)(x)

    assert _f(ad.grad(level2)(1.25)) == pytest.approx(10.0, rel=1e-14)


# --- hyper-gradients --------------------------------------------------------------------------
_RNG = np.random.default_rng(7)
XT, YT = _RNG.normal(size=(6, 3)), _RNG.normal(size=6)
XV, YV = _RNG.normal(size=(5, 3)), _RNG.normal(size=5)
W0 = np.array([0.2, -0.4, 0.9])


def _train_loss(w, lam=0.0):
    return ad.mean((ad.matmul(XT, w) - YT) ** 2) + lam * ad.sum(w**2)


def _val_loss(w):
    return ad.mean((ad.matmul(XV, w) - YV) ** 2)


H = 2 / len(YT) * XT.T @ XT  # the Hessian of the training loss (without the penalty)


def _g(w):
    return H @ w - 2 / len(YT) * XT.T @ YT


def _dval(w, dw):
    return 2 / len(YV) * (XV @ w - YV) @ (XV @ dw)


def test_hypergradient_of_the_learning_rate_after_one_sgd_step():
    lr = 0.05

    def validation_after_step(lr):
        return _val_loss(W0 - lr * ad.grad(_train_loss)(W0))

    w1 = W0 - lr * _g(W0)
    expected = _dval(w1, -_g(W0))
    assert _f(ad.grad(validation_after_step)(lr)) == pytest.approx(expected, rel=1e-12)


def test_hypergradient_of_the_learning_rate_after_two_sgd_steps():
    # The second inner gradient is taken at w1, itself a function of lr: the inner grad's
    # argument is an outer tensor (the alias case).
    lr = 0.05

    def validation_after_steps(lr):
        w = ad.tensor(W0)
        for _ in range(2):
            w = w - lr * ad.grad(_train_loss)(w)
        return _val_loss(w)

    g0 = _g(W0)
    w1 = W0 - lr * g0
    g1 = _g(w1)
    w2 = w1 - lr * g1
    dw2 = -g0 - g1 + lr * H @ g0  # dw1/dlr = -g0; dw2/dlr = dw1 - g1 - lr H dw1
    expected = _dval(w2, dw2)
    assert _f(ad.grad(validation_after_steps)(lr)) == pytest.approx(expected, rel=1e-12)


def test_hypergradient_of_a_captured_weight_decay():
    # w1 = w0 - lr (g(w0) + 2 lam w0): dw1/dlam = -2 lr w0 (lam reaches only the inner grad).
    lr, lam = 0.1, 0.3

    def validation(lam):
        return _val_loss(W0 - lr * ad.grad(lambda w: _train_loss(w, lam))(W0))

    w1 = W0 - lr * (_g(W0) + 2 * lam * W0)
    assert _f(ad.grad(validation)(lam)) == pytest.approx(_dval(w1, -2 * lr * W0), rel=1e-12)


# --- what the caller gets -----------------------------------------------------------------------
def test_top_level_without_captured_tensors_returns_numpy():
    g = ad.grad(lambda x: ad.sum(x**2))(X0)
    assert type(g) is np.ndarray
    t, tan = ad.jvp(lambda x: x**2, (X0,), (V,))
    assert type(t) is np.ndarray and type(tan) is np.ndarray
    assert type(ad.hessian(lambda x: ad.sum(x**3))(X0)) is np.ndarray


def test_captured_user_tensor_gives_a_connected_tensor():
    w = ad.tensor(2.0, requires_grad=True)
    g = ad.grad(lambda x: w * x**2)(3.0)  # 2 w x
    assert isinstance(g, ad.Tensor) and g.requires_grad
    assert g.item() == 12.0
    g.backward()
    assert w.grad.item() == 6.0  # d(2 w x)/dw


def test_inner_result_is_a_tensor_and_convertible_when_not_connected():
    seen = {}

    def outer(x):
        inner = ad.grad(lambda y: y**3)(2.0)  # depends on nothing of the outer transform
        value, _ = ad.value_and_grad(lambda y: y**3)(2.0)
        primal, tangent = ad.jvp(lambda y: y**3, (2.0,), (1.0,))
        seen["detached"] = [t.requires_grad for t in (value, primal, tangent)]
        seen["inner"] = inner
        seen["value"] = float(inner)
        return x * inner

    assert _f(ad.grad(outer)(1.0)) == 12.0
    assert isinstance(seen["inner"], ad.Tensor) and not seen["inner"].requires_grad
    assert seen["value"] == 12.0
    assert seen["detached"] == [False, False, False]


@pytest.mark.parametrize(
    "call, stack",
    [
        (lambda f: ad.grad(f)(1.0), ("grad",)),
        (lambda f: ad.value_and_grad(f)(1.0), ("value_and_grad",)),
        (lambda f: ad.vjp(f, 1.0), ("vjp",)),
        (lambda f: ad.jvp(f, (1.0,), (1.0,)), ("jvp",)),
        (lambda f: ad.jacobian(f)(1.0), ("jacobian",)),
        (lambda f: ad.jacfwd(f)(1.0), ("jacfwd",)),
        (lambda f: ad.hessian(f)(1.0), ("jacfwd", "grad")),
        (lambda f: ad.hvp(f, (1.0,), (1.0,)), ("jvp", "grad")),
        (lambda f: ad.derivative(f, 2)(1.0), ("grad", "grad")),
    ],
)
def test_each_transform_marks_its_traced_call(call, stack):
    seen = []

    def f(x):
        seen.append(active_transforms())
        return x**3

    call(f)
    assert seen == [stack]
    assert active_transforms() == ()


def test_nested_tracing_stack_is_outermost_first():
    seen = []

    def inner(y):
        seen.append(active_transforms())
        return y**2

    ad.grad(lambda x: ad.jvp(inner, (x,), (1.0,))[1])(1.0)
    assert seen == [("grad", "jvp")]


def test_lift_of_a_function_containing_an_inner_grad():
    symdiff = pytest.importorskip("symdiff")
    import sympy as sp

    lifted = symdiff.lift(lambda x: ad.grad(lambda y: y**2 * x)(x), 1.5)
    (x,) = lifted.variables
    assert sp.simplify(lifted.expr - 2 * x**2) == 0


# --- random nestings against mpmath ------------------------------------------------------------
# A program is a tree evaluated over an environment of scalar variables (the outer arguments,
# then one new variable per enclosing transform). Transform nodes take the derivative of their
# body in the new variable at a point (and scale it by a tangent/cotangent), both of which are
# themselves expressions of the enclosing variables: the captured and self-argument cases.
UNARY = ("sin", "cos", "tanh")


def _programs(transforms_left: int):
    leaves = st.one_of(
        st.tuples(st.just("var"), st.integers(0, 7)),
        st.tuples(st.just("const"), st.sampled_from([-1.5, -0.5, 0.75, 2.0])),
    )

    def extend(children):
        return st.one_of(
            st.tuples(st.just("unary"), st.sampled_from(UNARY), children),
            st.tuples(st.just("add"), children, children),
            st.tuples(st.just("mul"), children, children),
        )

    plain = st.recursive(leaves, extend, max_leaves=6)
    if transforms_left == 0:
        return plain
    body = _programs(transforms_left - 1)
    transform = st.tuples(
        st.sampled_from(["grad", "jvp", "vjp"]),
        body,  # over env + [new variable]
        plain,  # the point
        plain,  # tangent / cotangent (unused by grad)
    )
    return st.one_of(
        plain,
        transform,
        st.tuples(st.just("mul"), transform, plain),
        st.tuples(st.just("add"), transform, st.tuples(st.just("mul"), transform, plain)),
    )


def _ad_eval(node, env):
    kind = node[0]
    if kind == "var":
        # the innermost variables are the likeliest: prefer the end of the environment
        return env[len(env) - 1 - node[1] % len(env)]
    if kind == "const":
        return node[1]
    if kind == "unary":
        return getattr(ad, node[1])(ad.tensor(0.0) + _ad_eval(node[2], env))
    if kind == "add":
        return ad.tensor(0.0) + _ad_eval(node[1], env) + _ad_eval(node[2], env)
    if kind == "mul":
        return ad.tensor(1.0) * _ad_eval(node[1], env) * _ad_eval(node[2], env)
    body, point, vec = node[1], _ad_eval(node[2], env), _ad_eval(node[3], env)

    def fn(y):
        return ad.tensor(0.0) + _ad_eval(body, [*env, y])

    if kind == "grad":
        return ad.grad(fn)(point)
    if kind == "jvp":
        return ad.jvp(fn, (point,), (vec,))[1]
    return ad.vjp(fn, point)[1](vec)[0]


def _mp_eval(node, env):
    kind = node[0]
    if kind == "var":
        return env[len(env) - 1 - node[1] % len(env)]
    if kind == "const":
        return mpmath.mpf(node[1])
    if kind == "unary":
        return getattr(mpmath, node[1])(_mp_eval(node[2], env))
    if kind == "add":
        return _mp_eval(node[1], env) + _mp_eval(node[2], env)
    if kind == "mul":
        return _mp_eval(node[1], env) * _mp_eval(node[2], env)
    body, point = node[1], _mp_eval(node[2], env)
    d = mpmath.diff(lambda y: _mp_eval(body, [*env, y]), point)
    return d if kind == "grad" else d * _mp_eval(node[3], env)


def _outer_derivatives(top: str, fn, x: float, c: float):
    """(d/dx, d/dc) of ``fn`` at (x, c) by the outermost transform ``top``."""
    if top == "grad":
        return ad.grad(fn, argnums=(0, 1))(x, c)
    if top == "jacfwd":
        return ad.jacfwd(fn, argnums=(0, 1))(x, c)
    if top == "jvp":
        return tuple(ad.jvp(fn, (x, c), t)[1] for t in ((1.0, 0.0), (0.0, 1.0)))
    return ad.vjp(fn, x, c)[1](1.0)


@settings(max_examples=60, deadline=None)
@given(
    program=_programs(3),
    top=st.sampled_from(["grad", "jvp", "vjp", "jacfwd"]),
    x=st.floats(-1.5, 1.5),
    c=st.floats(-1.5, 1.5),
)
def test_random_nestings_of_grad_jvp_vjp_match_mpmath(program, top, x, c):
    def fn(x, c):
        return ad.tensor(0.0) + _ad_eval(program, [x, c])

    value = fn(x, c)
    dx, dc = _outer_derivatives(top, fn, x, c)
    with mpmath.workdps(40):
        mx, mc = mpmath.mpf(x), mpmath.mpf(c)
        ref_value = _mp_eval(program, [mx, mc])
        ref_dx = mpmath.diff(lambda t: _mp_eval(program, [t, mc]), mx)
        ref_dc = mpmath.diff(lambda t: _mp_eval(program, [mx, t]), mc)
    # autodiff is exact up to float64 rounding of a few dozen operations on values of order
    # one (the tree has at most ~100 nodes, constants and inputs bounded by 2); mpmath.diff at
    # 40 digits is accurate to far more than that. 1e-9 relative-plus-absolute leaves a wide
    # margin over rounding while any wrong (confused) derivative is off by O(1).
    for got, ref in ((value, ref_value), (dx, ref_dx), (dc, ref_dc)):
        ref = float(ref)
        assert abs(_f(got) - ref) <= 1e-9 * (1 + abs(ref)), (program, got, ref)

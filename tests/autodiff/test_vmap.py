"""``vmap``: every op-spec case against an explicit Python loop (so new ops are covered by
their spec row alone), in/out_axes, nesting, compositions with grad / jvp / jacfwd / hessian in
both orders, per-example gradients, the loop fallback and the error messages."""

from __future__ import annotations

import warnings

import numpy as np
import op_specs
import pytest

import autodiff as ad
from autodiff import batching
from autodiff.ops.base import Op
from autodiff.ops.builders import declare
from autodiff.testing import check_grads

CASES = op_specs.eager_cases()
IDS = [f"{name}[{case.label}]" for name, case in CASES]
DIFF = [(n, c) for n, c in CASES if c.differentiable]
DIFF_IDS = [f"{name}[{case.label}]" for name, case in DIFF]
B = 3


def _np(x):
    return x.numpy() if isinstance(x, ad.Tensor) else np.asarray(x)


def _inputs(case, shapes, rng, mapped):
    """Per argument: a batch of ``B`` examples (mapped) or one example (not mapped)."""
    return [
        op_specs.sample(case.domain(i), ((B,) if m else ()) + tuple(s), rng)
        for i, (s, m) in enumerate(zip(shapes, mapped))
    ]


def _loop(fn, xs, mapped, size=B):
    outs = [fn(*[ad.tensor(x[i]) if m else ad.tensor(x) for x, m in zip(xs, mapped)])
            for i in range(size)]  # fmt: skip
    return np.stack([_np(o) for o in outs])


def _patterns(n):
    """Every argument mapped; then each argument alone mapped (the others broadcast)."""
    yield (True,) * n
    if n > 1:
        for k in range(n):
            yield tuple(i == k for i in range(n))


# Ops whose output shape depends on each example's data cannot batch: they refuse clearly.
DATA_DEPENDENT_SHAPES = {"lstsq": "lstsq inside vmap"}


def _refused(case) -> str | None:
    return next((m for p, m in DATA_DEPENDENT_SHAPES.items() if case.label.startswith(p)), None)


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=IDS)
def test_vmap_matches_a_loop_for_every_op_case(case, rng):
    # An op without a batch rule runs through the loop fallback (a PerformanceWarning): the
    # result must agree all the same. test_core_ops_have_batch_rules covers the rules.
    if _refused(case):
        xs = _inputs(case, case.shapes[0], rng, (True,) * len(case.shapes[0]))
        with pytest.raises(ValueError, match=_refused(case)):
            ad.vmap(case.fn)(*xs)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ad.PerformanceWarning)
        for shapes in case.shapes:
            for mapped in _patterns(len(shapes)):
                xs = _inputs(case, shapes, rng, mapped)
                in_axes = tuple(0 if m else None for m in mapped)
                got = ad.vmap(case.fn, in_axes=in_axes)(*xs)
                expected = _loop(case.fn, xs, mapped)
                assert got.shape == expected.shape, (shapes, mapped)
                assert got.dtype == expected.dtype, (shapes, mapped)
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for _, c in DIFF], ids=DIFF_IDS)
def test_vmap_of_grad_and_grad_of_vmap_match_a_loop(case, rng):
    if _refused(case):
        return  # refused inside vmap: test_vmap_matches_a_loop_for_every_op_case checks it
    for shapes in case.shapes:
        mapped = (True,) * len(shapes)
        xs = _inputs(case, shapes, rng, mapped)
        argnums = tuple(range(len(xs)))

        def scalar(*a):
            return ad.sum(case.fn(*a))

        per_example = ad.vmap(ad.grad(scalar, argnums))(*xs)
        for k in argnums:
            expected = _loop(lambda *a, k=k, n=argnums: ad.grad(scalar, n)(*a)[k], xs, mapped)
            np.testing.assert_allclose(per_example[k], expected, rtol=1e-10, atol=1e-12)
        # grad of a function that uses vmap: the batch sum's gradient is the per-example one.
        outer = ad.grad(lambda *a: ad.sum(ad.vmap(case.fn)(*a)), argnums)(*xs)
        for k in argnums:
            np.testing.assert_allclose(outer[k], per_example[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [c for _, c in DIFF][::4], ids=DIFF_IDS[::4])
def test_vmap_of_jvp_matches_a_loop(case, rng):
    if _refused(case):
        return  # refused inside vmap: test_vmap_matches_a_loop_for_every_op_case checks it
    shapes = case.shapes[0]
    mapped = (True,) * len(shapes)
    xs = _inputs(case, shapes, rng, mapped)
    ts = _inputs(case, shapes, rng, mapped)
    n = len(xs)

    def tangent(*a):
        return ad.jvp(case.fn, a[:n], a[n:])[1]

    got = ad.vmap(tangent)(*xs, *ts)
    expected = _loop(tangent, [*xs, *ts], mapped * 2)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# --- in_axes / out_axes / axis_size --------------------------------------------------------
def test_in_axes_out_axes_variants(rng):
    x = rng.normal(size=(2, 3, 4))
    w = rng.normal(size=(4,))
    f = lambda a, b: ad.sin(a) * b  # noqa: E731
    got = ad.vmap(f, in_axes=(1, None))(x, w)
    np.testing.assert_allclose(got, np.stack([np.sin(x[:, i]) * w for i in range(3)]))
    got = ad.vmap(f, in_axes=(-1, 0), out_axes=1)(x, w)
    np.testing.assert_allclose(got, np.stack([np.sin(x[..., i]) * w[i] for i in range(4)], 1))
    got = ad.vmap(f, in_axes=(2, 0), out_axes=-1)(x, w)
    np.testing.assert_allclose(got, np.sin(x) * w)
    # an output that does not depend on the mapped axis is broadcast, or kept with None
    got = ad.vmap(lambda a: (a * 2.0, w), out_axes=(0, None))(x)
    np.testing.assert_allclose(got[0], 2 * x)
    np.testing.assert_allclose(got[1], w)
    got = ad.vmap(lambda a: ad.tensor(w))(x)
    np.testing.assert_allclose(got, np.broadcast_to(w, (2, 4)))
    got = ad.vmap(lambda: ad.tensor(w) * 2.0, in_axes=(), axis_size=5)()
    np.testing.assert_allclose(got, np.broadcast_to(2 * w, (5, 4)))


def test_pytree_in_axes_and_outputs(rng):
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=(2,))}
    xs = rng.normal(size=(5, 3))

    def f(p, x):
        h = x @ p["w"] + p["b"]
        return {"out": ad.tanh(h), "parts": [h, ad.sum(h)]}

    got = ad.vmap(f, in_axes=({"w": None, "b": None}, 0))(params, xs)
    for i in range(5):
        one = f({k: ad.tensor(v) for k, v in params.items()}, ad.tensor(xs[i]))
        np.testing.assert_allclose(got["out"][i], one["out"].numpy())
        np.testing.assert_allclose(got["parts"][0][i], one["parts"][0].numpy())
        np.testing.assert_allclose(got["parts"][1][i], one["parts"][1].numpy())
    # a batch of parameter sets: mapped w, shared b
    ws = rng.normal(size=(4, 3, 2))
    got = ad.vmap(f, in_axes=({"w": 0, "b": None}, None))({"w": ws, "b": params["b"]}, xs[0])
    np.testing.assert_allclose(got["out"], np.tanh(xs[0] @ ws + params["b"]))


def test_nested_vmap_matches_loops(rng):
    x = rng.normal(size=(3, 4, 5))
    y = rng.normal(size=(4, 5))
    f = lambda a, b: ad.sum(a * b) + ad.max(a)  # noqa: E731
    got = ad.vmap(ad.vmap(f, in_axes=(0, 0)), in_axes=(0, None))(x, y)
    expected = np.array([[f(ad.tensor(x[i, j]), ad.tensor(y[j])).numpy() for j in range(4)]
                         for i in range(3)])  # fmt: skip
    np.testing.assert_allclose(got, expected)
    # the inner map over a different axis, and an inner vmap over an outer-batched closure
    got = ad.vmap(lambda a: ad.vmap(lambda r: r * a[0, 0], in_axes=1)(a))(x)
    expected = np.stack([(x[i] * x[i, 0, 0]).T for i in range(3)])
    np.testing.assert_allclose(got, expected)
    got = ad.vmap(lambda a: ad.vmap(lambda v: v @ a[0])(ad.tensor(y)))(x)
    np.testing.assert_allclose(got, np.einsum("jk,ik->ij", y, x[:, 0]))


def test_per_example_gradients_match_a_loop(rng):
    w = rng.normal(size=(3, 2))
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))

    def loss(w, x, y):
        return ad.sum((ad.tanh(x @ w) - y) ** 2)

    got = ad.vmap(ad.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    expected = np.stack([ad.grad(loss)(w, xs[i], ys[i]) for i in range(6)])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # value_and_grad, has_aux and a dict of parameters, per example
    params = {"w": w, "s": np.array(0.5)}

    def loss_aux(p, x, y):
        r = ad.tanh(x @ p["w"]) * p["s"] - y
        return ad.sum(r**2), r

    (vals, aux), grads = ad.vmap(ad.value_and_grad(loss_aux, has_aux=True), in_axes=(None, 0, 0))(
        params, xs, ys
    )
    for i in range(6):
        (v1, a1), g1 = ad.value_and_grad(loss_aux, has_aux=True)(params, xs[i], ys[i])
        np.testing.assert_allclose(vals[i], v1)
        np.testing.assert_allclose(aux[i], a1)
        np.testing.assert_allclose(grads["w"][i], g1["w"])
        np.testing.assert_allclose(grads["s"][i], g1["s"])


def test_vmap_grad_compositions_both_orders_and_higher_order(rng):
    xs = rng.normal(size=(4, 3))
    f = lambda x: ad.sum(ad.sin(x) * x[0] ** 2)  # noqa: E731
    hess = ad.vmap(ad.hessian(f))(xs)
    for i in range(4):
        np.testing.assert_allclose(hess[i], ad.hessian(f)(xs[i]), rtol=1e-12, atol=1e-12)
    jac = ad.vmap(ad.jacfwd(lambda x: ad.sin(x) * ad.sum(x)))(xs)
    rev = ad.vmap(ad.jacobian(lambda x: ad.sin(x) * ad.sum(x)))(xs)
    np.testing.assert_allclose(jac, rev, rtol=1e-12, atol=1e-12)
    # the Hessian of a function that uses vmap
    g = lambda x: ad.sum(ad.vmap(lambda r: ad.sum(r**3) * r[0])(x))  # noqa: E731
    h = ad.hessian(g)(xs)
    for i in range(4):
        block = ad.hessian(lambda r: ad.sum(r**3) * r[0])(xs[i])
        np.testing.assert_allclose(h[i, :, i, :], block, rtol=1e-12, atol=1e-12)
    # differentiating through vmap(grad(...)) again: d/dw of the per-example gradients' sum
    w = rng.normal(size=3)
    loss = lambda w, x: ad.sum(ad.exp(w * x)) ** 2  # noqa: E731
    outer = ad.grad(lambda w: ad.sum(ad.vmap(ad.grad(loss), in_axes=(None, 0))(w, xs)))(w)
    expected = sum(ad.grad(lambda w, x: ad.sum(ad.grad(loss)(w, x)))(w, x) for x in xs)
    np.testing.assert_allclose(outer, expected, rtol=1e-10)
    check_grads(lambda w: ad.sum(ad.vmap(ad.grad(loss), in_axes=(None, 0))(w, xs)), w, order=2)


def test_grad_inside_vmap_keeps_the_outer_dependency(rng):
    # perturbation confusion across vmap: the inner gradient is x, a function of the outer w
    xs = rng.normal(size=4)

    def per_example(w):
        return ad.vmap(lambda x: ad.grad(lambda v: v * x * w)(1.0))(xs * 1.0)

    got = ad.grad(lambda w: ad.sum(per_example(w)))(2.0)
    np.testing.assert_allclose(got, xs.sum())


# --- fallback and errors -------------------------------------------------------------------
def test_an_op_without_a_rule_loops_with_one_warning(rng):
    op = Op(
        "test_cummax_vmap",
        1,
        lambda x: np.maximum.accumulate(x, axis=-1),
        None,
        None,
        None,
        differentiable=False,
        doc="running maximum (test op)",
    )
    declare(op, wrapper=False)
    try:
        batching._WARNED.discard(op.name)
        x = rng.normal(size=(4, 2, 5))
        f = lambda a: ad.tensor(1.0) * _apply(op, a)  # noqa: E731
        with pytest.warns(ad.PerformanceWarning, match="test_cummax_vmap"):
            got = ad.vmap(f)(x)
        np.testing.assert_allclose(got, np.maximum.accumulate(x, axis=-1))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per op only
            ad.vmap(f)(x)
        assert batching.rule_kind(op) == "loop"
    finally:
        from autodiff.ops import unregister

        unregister(op)


def _apply(op, x):
    from autodiff.tensor import apply

    return apply(op, x)


def test_an_op_declares_its_batch_kind(rng):
    op = Op("test_cumsum_vmap", 1, lambda x, axis: np.cumsum(x, axis=axis), None, None, None,
            differentiable=False, doc="cumulative sum (test op)", batch="axis")  # fmt: skip
    declare(op, wrapper=False)
    try:
        x = rng.normal(size=(3, 4, 5))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ad.PerformanceWarning)
            got = ad.vmap(lambda a: _apply_axis(op, a, -1))(x)
        np.testing.assert_allclose(got, np.cumsum(x, axis=-1))
        assert batching.rule_kind(op) == "rule"
    finally:
        from autodiff.ops import unregister

        unregister(op)


def _apply_axis(op, x, axis):
    from autodiff.tensor import apply

    return apply(op, x, axis=axis)


CORE_OPS = [
    "neg",
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "softplus",
    "heaviside",
    "sign",
    "relu",
    "abs",
    "maximum",
    "minimum",
    "where",
    "cast",
    "cast_discrete",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "reshape",
    "transpose",
    "broadcast_to",
    "getitem",
    "scatter_add",
    "concatenate",
    "matmul",
    "sum",
    "max",
    "min",
    "prod",
    "stable_shift",
]


def test_core_ops_have_batch_rules():
    from autodiff.ops import ALL_OPS

    kinds = {op.name: batching.rule_kind(op) for op in ALL_OPS}
    looping = [name for name in CORE_OPS if kinds[name] == "loop"]
    assert not looping, f"ops that vmap runs in a loop: {looping}"


def test_elementwise_ops_are_detected_from_the_table():
    from autodiff.ops import ALL_OPS

    kinds = {op.name: batching.rule_kind(op) for op in ALL_OPS}
    assert kinds["exp"] == kinds["add"] == kinds["where"] == "elementwise"
    assert kinds["sum"] == kinds["matmul"] == kinds["getitem"] == "rule"


def test_error_messages_name_the_problem():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"mapped axes have different sizes \(2: .*; 3: .*\)"):
        ad.vmap(lambda a, b: a + b)(x, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"in_axes 2 is out of range for argument 0"):
        ad.vmap(ad.sin, in_axes=2)(x)
    with pytest.raises(ValueError, match=r"in_axes has 2 entries for 1 positional"):
        ad.vmap(ad.sin, in_axes=(0, 0))(x)
    with pytest.raises(ValueError, match=r"no argument is mapped.*axis_size"):
        ad.vmap(ad.sin, in_axes=None)(x)
    with pytest.raises(ValueError, match=r"out_axes is None for output 0, but it depends"):
        ad.vmap(ad.sin, out_axes=None)(x)
    with pytest.raises(TypeError, match=r"in_axes must hold ints or None"):
        ad.vmap(ad.sin, in_axes="0")
    with pytest.raises(RuntimeError, match=r"bool\(\) \(Python control flow\) of a batched"):
        ad.vmap(lambda a: a if ad.sum(a) > 0 else -a)(x)
    with pytest.raises(RuntimeError, match=r"float\(\) of a batched tensor"):
        ad.vmap(lambda a: float(ad.sum(a)))(x)
    with pytest.raises(RuntimeError, match=r"np.asarray"):
        ad.vmap(lambda a: np.asarray(a))(x)
    with pytest.raises(ValueError, match=r"in_axes entry 0: the prefix has a dict"):
        ad.vmap(ad.sin, in_axes=({"a": 0},))(x)
    with pytest.raises(ad.ShapeError, match=r"add \(inside vmap; example shapes \(2,\), \(3,\)"):
        ad.vmap(lambda a: a + ad.tensor(np.ones(3)))(x)
    escaped = []
    ad.vmap(lambda a: escaped.append(a) or a)(x)
    with pytest.raises(RuntimeError, match=r"escaped"):
        escaped[0] + 1.0


def test_batched_index_per_example(rng):
    logits = rng.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    got = ad.vmap(lambda z, k: z[k])(logits, labels)
    np.testing.assert_allclose(got, logits[np.arange(5), labels])
    grads = ad.vmap(ad.grad(lambda z, k: -ad.log_softmax(z)[k]))(logits, labels)
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(grads, p - np.eye(4)[labels], rtol=1e-12, atol=1e-14)
    with pytest.raises(IndexError, match="out of range"):
        ad.vmap(lambda z, k: z[k])(logits, labels + 4)


def test_results_are_numpy_at_top_level_and_tensors_otherwise():
    x = np.ones((2, 3))
    assert isinstance(ad.vmap(ad.sin)(x), np.ndarray)
    assert isinstance(ad.vmap(ad.sin)(ad.tensor(x)), ad.Tensor)
    w = ad.tensor(np.ones(3), requires_grad=True)
    out = ad.vmap(lambda a: a * w)(x)
    assert isinstance(out, ad.Tensor) and out.requires_grad
    ad.sum(out).backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0, 2.0])


def test_vjp_and_jvp_compose_with_vmap_both_orders(rng):
    xs, ts = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    f = lambda x: ad.tanh(x) * ad.sum(x**2)  # noqa: E731
    # vmap of vjp: one pullback per example
    cts = rng.normal(size=(4, 3))
    got = ad.vmap(lambda x, c: ad.vjp(f, x)[1](c)[0])(xs, cts)
    for i in range(4):
        np.testing.assert_allclose(got[i], ad.vjp(f, xs[i])[1](cts[i])[0], rtol=1e-12)
    # jvp of a function that uses vmap: the per-example tangents
    _, tangent = ad.jvp(ad.vmap(f), (xs,), (ts,))
    for i in range(4):
        np.testing.assert_allclose(tangent[i], ad.jvp(f, (xs[i],), (ts[i],))[1], rtol=1e-12)
    # the Jacobian of a vmapped function is block diagonal
    jac = ad.jacobian(ad.vmap(f))(xs)
    for i in range(4):
        for j in range(4):
            block = ad.jacfwd(f)(xs[i]) if i == j else np.zeros((3, 3))
            np.testing.assert_allclose(jac[i, :, j, :], block, rtol=1e-12, atol=1e-14)


def test_lift_replays_a_function_that_uses_vmap(rng):
    import symdiff

    x0 = rng.normal(size=(3, 2))

    def f(x):
        return ad.sum(ad.vmap(lambda r: ad.sum(ad.sin(r) * r[0]))(x))

    lifted = symdiff.lift(f, x0)
    expected = sum(np.sin(r).sum() * r[0] for r in x0)
    np.testing.assert_allclose(float(lifted.evaluate(x0)), expected, rtol=1e-12)


def test_the_loop_fallback_names_the_op_when_results_cannot_be_stacked():
    op = Op("test_positive_part_vmap", 1, lambda x: x[x > 0], None, None, None,
            differentiable=False, doc="the positive entries (test op)")  # fmt: skip
    declare(op, wrapper=False)
    try:
        x = np.array([[1.0, -1.0, 2.0], [1.0, 2.0, 3.0]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ad.PerformanceWarning)
            pattern = r"'test_positive_part_vmap' has no batch rule.*axes 0.*\(2,\), \(3,\)"
            with pytest.raises(RuntimeError, match=pattern):
                ad.vmap(lambda a: _apply(op, a))(x)
    finally:
        from autodiff.ops import unregister

        unregister(op)


@pytest.mark.parametrize("axis", [None, -1, 0, (0, -1)])
def test_the_reduce_kind_shifts_every_axis_spelling(axis, rng):
    op = Op("test_mean_vmap", 1, lambda x, axis: np.mean(x, axis=axis), None, None, None,
            differentiable=False, doc="mean (test op)", batch="reduce")  # fmt: skip
    declare(op, wrapper=False)
    try:
        x = rng.normal(size=(3, 4, 5))
        got = ad.vmap(lambda a: _apply_axis(op, a, axis))(x)
        np.testing.assert_allclose(got, np.stack([np.mean(a, axis=axis) for a in x]))
    finally:
        from autodiff.ops import unregister

        unregister(op)

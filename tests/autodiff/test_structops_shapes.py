"""Structural ops of issue 13 beyond the op-spec rows: zeros in cumprod, sorting (the
permutation is recomputed at every point, never frozen), scans in lift and compile, and the
errors that name the op and the offending shape or argument."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import symdiff
from autodiff import ShapeError
from autodiff.testing import check_grads

RNG = np.random.default_rng(1313)


# --- cumprod: exact with zeros (no division by x) ----------------------------------------------
@pytest.mark.parametrize(
    "x",
    [
        np.array([2.0, 0.0, 3.0, -1.5]),
        np.array([0.0, 0.0, 1.5, 2.0]),
        np.array([1.5, -0.5, 2.0, 0.0]),
    ],
    ids=["one zero", "two zeros", "last zero"],
)
def test_cumprod_derivatives_exact_with_zeros(x):
    f = lambda x: ad.sum(ad.cumprod(x) * np.array([1.0, -2.0, 0.5, 3.0]))  # noqa: E731
    # hand-derived: d/dx_j sum_i w_i prod_{k<=i} x_k = sum_{i>=j} w_i prod_{k<=i, k!=j} x_k
    w = np.array([1.0, -2.0, 0.5, 3.0])
    expected = [
        sum(w[i] * np.prod([x[k] for k in range(i + 1) if k != j]) for i in range(j, 4))
        for j in range(4)
    ]
    g = ad.grad(f)(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, expected, rtol=1e-14, atol=1e-14)
    check_grads(lambda x: ad.cumprod(x), x, order=2)
    h = ad.hessian(f)(x)
    assert np.all(np.isfinite(h)) and np.allclose(h, h.T)


def test_cumprod_long_scan_matches_numpy():
    x = RNG.uniform(0.9, 1.1, (3, 37))
    np.testing.assert_allclose(ad.cumprod(x, axis=1).data, np.cumprod(x, axis=1), rtol=1e-13)
    check_grads(lambda x: ad.cumprod(x, axis=1), x[:, :9], order=1)


# --- sort ---------------------------------------------------------------------------------------
def test_sort_gradient_is_the_permutation():
    x = np.array([0.3, -1.0, 2.0, 0.1])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    g = ad.grad(lambda x: ad.sum(ad.sort(x) * w))(x)
    np.testing.assert_array_equal(g, w[np.argsort(np.argsort(x))])
    _, t = ad.jvp(ad.sort, (x,), (np.arange(4.0),))
    np.testing.assert_array_equal(t, np.arange(4.0)[np.argsort(x)])


def test_sort_ties_follow_the_stable_order():
    """At ties each element still gets exactly one output slot (the stable order's)."""
    x = np.array([1.0, 1.0, 0.0])
    w = np.array([1.0, 10.0, 100.0])
    np.testing.assert_array_equal(ad.grad(lambda x: ad.sum(ad.sort(x) * w))(x), [10.0, 100.0, 1.0])


def test_sort_array_lift_recomputes_the_permutation_at_each_point():
    def f(x):
        return ad.sum(ad.sort(x) ** 2 * np.arange(1.0, 5.0))

    traced_at = np.array([0.5, -1.0, 2.0, 0.1])
    prog = symdiff.lift(f, traced_at, mode="array")
    other = np.array([2.0, 1.0, -1.0, 0.7])  # another order
    assert prog.evaluate(other) == pytest.approx(float(f(ad.tensor(other)).data))
    np.testing.assert_allclose(prog.gradient().evaluate(other), ad.grad(f)(other), rtol=1e-14)
    scalar = symdiff.lift(f, traced_at, mode="auto")  # small: scalar mode
    assert scalar.evaluate(other) == pytest.approx(float(f(ad.tensor(other)).data))


def test_cumsum_and_sort_have_array_sparsity_equal_to_scalar():
    from autodiff.graph import trace_graph
    from symdiff.sparsity import hessian_sparsity

    def f(x):
        return ad.sum(ad.cumsum(x) ** 2) + ad.sum(ad.sort(x[:3]) * x[3:])

    x = np.array([0.4, -1.1, 0.9, 0.2, 1.3, -0.6])
    graph, _ = trace_graph(f, x)
    rows, cols = hessian_sparsity(graph)
    dense = ad.hessian(f)(x)
    pattern = np.zeros((6, 6), bool)
    pattern[rows, cols] = True
    assert np.all(pattern[dense != 0])  # never misses a non-zero
    assert pattern[0:3, 3:].all()  # sort(x[:3]) * x[3:] couples the two halves


# --- errors name the op and what is wrong -------------------------------------------------------
X = ad.tensor(np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize(
    ("call", "kind", "match"),
    [
        (lambda: ad.roll(X, (1, 2), axis=(0, 1, 1)), ValueError, "roll: shift"),
        (lambda: ad.roll(X, 1, axis=2), ValueError, "roll: axis 2 is out of range"),
        (lambda: ad.pad(X, -1), ValueError, "pad: negative pad width"),
        (lambda: ad.pad(X, ((1, 1), (1, 1), (1, 1))), ValueError, "pad: pad_width"),
        (lambda: ad.pad(X, 1, mode="median"), ValueError, "pad: mode 'median'"),
        (lambda: ad.split(X, 2, axis=1), ValueError, "split: array split does not result"),
        (lambda: ad.array_split(X, 0), ValueError, "number of sections must be larger than 0"),
        (lambda: ad.diag(np.ones((2, 2, 2))), ValueError, "diag: input must be 1-D or 2-D"),
        (lambda: ad.diagonal(X, 0, 1, -1), ValueError, "axis1 and axis2 cannot be the same"),
        (lambda: ad.diagonal(np.ones(3)), ValueError, "diagonal: needs at least 2 dimensions"),
        (lambda: ad.take(X, [6]), IndexError, "take: index out of range"),
        (lambda: ad.take(X, [0.5]), TypeError, "take: indices must be integers"),
        (lambda: ad.take_along_axis(X, np.array([0, 1]), 1), ValueError, "take_along_axis"),
        (lambda: ad.repeat(X, -1), ValueError, "repeat: negative repeat count"),
        (lambda: ad.repeat(X, [1, 2], axis=1), ValueError, "repeat:"),
        (lambda: ad.tile(X, (-1, 2)), ValueError, "tile: negative repetition"),
        (lambda: ad.cross(np.ones(4), np.ones(4)), ShapeError, "cross: incompatible dimensions"),
        (lambda: ad.tensordot(X, X, 1), ShapeError, "tensordot: shape mismatch"),
        (lambda: ad.tensordot(X, X, 3), ValueError, "tensordot: axes=3 is out of range"),
        (lambda: ad.inner(X, np.ones(2)), ShapeError, "inner: last dimensions differ"),
        (lambda: ad.cumsum(X, axis=(0, 1)), ValueError, "cumsum: axis must be one integer"),
        (lambda: ad.cumprod(X, axis=3), ValueError, "cumprod: axis 3 is out of range"),
        (lambda: ad.diff(X, -1), ValueError, "diff: order n must be non-negative"),
        (lambda: ad.sort(ad.tensor(1.0)), ValueError, "sort: cannot sort a 0-d tensor"),
        (lambda: ad.append(X, np.ones(3), axis=0), ValueError, "append: arr of shape"),
        (lambda: ad.vstack(X), TypeError, "vstack: expects a sequence"),
        (lambda: ad.fliplr(np.ones(3)), ValueError, "fliplr: needs at least 2 dimensions"),
        (lambda: ad.moveaxis(X, (0, 1), 0), ValueError, "moveaxis: source"),
        (lambda: ad.tril(ad.tensor(1.0)), ValueError, "tril: needs at least 1 dimension"),
        (lambda: ad.pad(X, 1, constant_values=X), TypeError, "pad: constant_values"),
    ],
)
def test_structural_bad_input_raises_clearly(call, kind, match):
    with pytest.raises(kind, match=match):
        call()


def test_atleast_with_several_inputs_returns_a_list():
    a, b = ad.atleast_2d(1.0, np.ones(3))
    assert a.shape == (1, 1) and b.shape == (1, 3)
    pieces = ad.array_split(np.arange(7.0), 3)
    assert [p.shape for p in pieces] == [(3,), (2,), (2,)]

"""Property tests over shapes (hypothesis): broadcasting in elementwise ops and matmul batches,
reductions over random axes, broadcast_to, transpose, concatenate and indexing; each against
NumPy and against central differences to second order, with gradients summed back to shape."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff.testing import check_grads

SETTINGS = settings(max_examples=25, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


def _check_against_numpy(fn, ref, xs, order=2):
    """Forward equals the NumPy reference, gradients have input shapes, derivatives match FD."""
    out = fn(*[ad.tensor(x) for x in xs])
    expected = np.asarray(ref(*xs))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    _, pullback = ad.vjp(fn, *xs)
    for x, g in zip(xs, pullback(np.ones(expected.shape))):
        assert np.shape(g) == x.shape
    check_grads(fn, *xs, order=order)


@SETTINGS
@given(data=st.data())
def test_broadcasting_elementwise_ops_over_broadcastable_shapes(elementwise_case, sample, data):
    arity = len(elementwise_case.shapes[0])
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=arity, max_dims=3, max_side=3), "shapes"
    )
    rng = np.random.default_rng(data.draw(SEEDS, "seed"))
    xs = [sample(elementwise_case.domain(i), s, rng) for i, s in enumerate(shapes.input_shapes)]
    _check_against_numpy(elementwise_case.fn, elementwise_case.ref, xs)


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        signature="(m?,n),(n,p?)->(m?,p?)", max_dims=2, max_side=3
    ),
    seed=SEEDS,
)
def test_broadcasting_matmul_batches_and_vectors(shapes, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-2.0, 2.0, s) for s in shapes.input_shapes]
    _check_against_numpy(ad.matmul, np.matmul, xs)


REDUCTIONS = {
    "sum": (ad.sum, np.sum),
    "prod": (ad.prod, np.prod),
    "max": (ad.max, np.max),
    "min": (ad.min, np.min),
    "mean": (ad.mean, np.mean),
    "var": (ad.var, np.var),
    "logsumexp": (ad.logsumexp, None),
}


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@SETTINGS
@given(name=st.sampled_from(sorted(REDUCTIONS)), data=st.data())
def test_broadcasting_reductions_over_random_axes(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), "shape")
    axis = data.draw(st.none() | hnp.valid_tuple_axes(len(shape), min_size=1), "axis")
    keepdims = data.draw(st.booleans(), "keepdims")
    rng = np.random.default_rng(data.draw(SEEDS, "seed"))
    # Distinct values: no ties for max/min, no zero variance.
    size = int(np.prod(shape))
    x = (rng.permutation(size) * 0.3 + rng.uniform(-0.05, 0.05, size)).reshape(shape) - 0.5
    fn, ref = REDUCTIONS[name]
    ref = ref or _np_logsumexp
    _check_against_numpy(
        lambda x: fn(x, axis=axis, keepdims=keepdims),
        lambda x: ref(x, axis=axis, keepdims=keepdims),
        [x],
    )


@SETTINGS
@given(target=SHAPES, data=st.data())
def test_broadcasting_broadcast_to_sums_gradient_back(target, data):
    keep = data.draw(st.integers(0, len(target)), "kept dims")
    ones = data.draw(st.lists(st.booleans(), min_size=keep, max_size=keep), "size-1 dims")
    source = tuple(1 if one else n for one, n in zip(ones, target[len(target) - keep :]))
    x = np.random.default_rng(data.draw(SEEDS, "seed")).uniform(-2, 2, source)
    _check_against_numpy(
        lambda x: ad.broadcast_to(x, target), lambda x: np.broadcast_to(x, target), [x]
    )
    g = ad.grad(lambda x: ad.sum(ad.broadcast_to(x, target)))(x)
    np.testing.assert_array_equal(g, np.full(source, np.prod(target) / max(np.prod(source), 1)))


@SETTINGS
@given(shape=SHAPES, data=st.data())
def test_broadcasting_transpose_by_random_permutation(shape, data):
    axes = tuple(data.draw(st.permutations(range(len(shape))), "axes"))
    x = np.random.default_rng(data.draw(SEEDS, "seed")).uniform(-2, 2, shape)
    _check_against_numpy(lambda x: ad.transpose(x, axes), lambda x: np.transpose(x, axes), [x])


@SETTINGS
@given(base=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data())
def test_broadcasting_concatenate_pieces_of_random_sizes(base, data):
    axis = data.draw(st.integers(-len(base), len(base) - 1), "axis")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), "sizes")
    rng = np.random.default_rng(data.draw(SEEDS, "seed"))
    shapes = [base[: axis % len(base)] + (n,) + base[axis % len(base) + 1 :] for n in sizes]
    xs = [rng.uniform(-2, 2, s) for s in shapes]
    _check_against_numpy(
        lambda *xs: ad.concatenate(xs, axis=axis), lambda *xs: np.concatenate(xs, axis=axis), xs
    )


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_broadcasting_basic_indexing(shape, data):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True), "index")
    x = np.random.default_rng(data.draw(SEEDS, "seed")).uniform(-2, 2, shape)
    _check_against_numpy(lambda x: x[index], lambda x: x[index], [x])


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_broadcasting_integer_array_indexing_accumulates_repeats(shape, data):
    index = data.draw(
        hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=5)),
        "index",
    )
    x = np.random.default_rng(data.draw(SEEDS, "seed")).uniform(-2, 2, shape)
    _check_against_numpy(lambda x: x[index], lambda x: x[index], [x])
    counts = np.zeros(shape)
    np.add.at(counts, index, 1.0)
    np.testing.assert_array_equal(ad.grad(lambda x: ad.sum(x[index]))(x), counts)


def test_broadcasting_ndarray_and_scalars_on_either_side():
    x = ad.tensor([[1.0, 2.0, 3.0]], requires_grad=True)  # (1, 3)
    column = np.array([[1.0], [2.0]])  # (2, 1)
    y = column * x + x * column - 2.0 * x + column / x + 1.0 - x
    assert isinstance(y, ad.Tensor) and y.shape == (2, 3)
    ad.sum(y).backward()
    expected = 2 * column.sum() - 2.0 * 2 - (column / x.data**2).sum(axis=0) - 2.0
    np.testing.assert_allclose(x.grad.numpy(), expected.reshape(1, 3))


def test_broadcasting_scalar_tensor_against_matrix():
    s = ad.tensor(2.0, requires_grad=True)
    m = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    ad.sum(s * m).backward()
    assert s.grad.shape == () and s.grad.item() == 15.0
    np.testing.assert_array_equal(m.grad.numpy(), np.full((2, 3), 2.0))

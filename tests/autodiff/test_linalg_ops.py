"""autodiff.linalg beyond the op-spec table: the norm table against NumPy, batched shapes,
degeneracy, errors, NumPy dispatch, identities (d logdet = inv^T, d inv = -inv dA inv, the
Hessian of logdet) and extended-precision (mpmath) derivatives to second order."""

from __future__ import annotations

import doctest
import importlib
import itertools
import warnings

import mpmath as mp
import numpy as np
import pytest

import autodiff as ad
from autodiff.testing import check_grads

L = ad.linalg
INF = np.inf
RNG = np.random.default_rng(20261202)


def _spd(n, batch=()):
    a = RNG.uniform(-1.0, 1.0, batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _well(n, batch=()):
    return RNG.uniform(-1.0, 1.0, batch + (n, n)) + 4.0 * np.eye(n)


# --- norm: every ord, axis and keepdims against NumPy ---------------------------------------------
VECTOR_ORDS = [None, 2, 1, INF, -INF, 0, 3, 0.5, -1, -2, 1.5, 4.0]
MATRIX_ORDS = [None, "fro", "nuc", INF, -INF, 1, -1, 2, -2]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
def test_norm_vector_ords_match_numpy(ord):
    x = RNG.uniform(-1.5, 1.5, (3, 4))
    for axis, keepdims in itertools.product([0, 1, -1], [False, True]):
        out = L.norm(x, ord=ord, axis=axis, keepdims=keepdims)
        ref = np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
        assert out.shape == ref.shape and out.dtype == ref.dtype
        np.testing.assert_allclose(out.data, ref, rtol=1e-13)
    v = RNG.uniform(-1.5, 1.5, 5)
    np.testing.assert_allclose(L.norm(v, ord).data, np.linalg.norm(v, ord), rtol=1e-13)
    if ord != 0:
        check_grads(lambda t: L.norm(t, ord=ord, axis=1), x, order=2)


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
def test_norm_matrix_ords_match_numpy(ord):
    x = RNG.uniform(-1.5, 1.5, (3, 4))
    y = RNG.uniform(-1.5, 1.5, (2, 3, 4))
    for kd in (False, True):
        for axis in (None, (0, 1), (1, 0), (-1, 0)):
            ref = np.linalg.norm(x, ord=ord, axis=axis, keepdims=kd)
            out = L.norm(x, ord=ord, axis=axis, keepdims=kd)
            assert out.shape == ref.shape
            np.testing.assert_allclose(out.data, ref, rtol=1e-13)
        for axis in ((1, 2), (2, 0), (-1, -3)):
            ref = np.linalg.norm(y, ord=ord, axis=axis, keepdims=kd)
            out = L.norm(y, ord=ord, axis=axis, keepdims=kd)
            assert out.shape == ref.shape
            np.testing.assert_allclose(out.data, ref, rtol=1e-13)
    check_grads(lambda t: L.norm(t, ord=ord), x, order=2)
    check_grads(lambda t: L.norm(t, ord=ord, axis=(2, 0)), y, order=1)


def test_norm_default_flattens_any_rank_and_keepdims():
    x = RNG.uniform(-1.5, 1.5, (2, 3, 2))
    np.testing.assert_allclose(L.norm(x).data, np.linalg.norm(x), rtol=1e-14)
    assert L.norm(x, keepdims=True).shape == (1, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "shape", "match"),
    [
        ({"ord": "fro"}, (3,), "invalid norm order 'fro' for vectors"),
        ({"ord": 3}, (2, 2), "invalid norm order 3 for matrices"),
        ({"ord": 2}, (2, 2, 2), "improper number of dimensions"),
        ({"axis": (0, 0)}, (2, 2), "duplicate axes"),
        ({"axis": 3}, (2, 2), "axis 3 is out of range"),
    ],
)
def test_norm_bad_arguments_raise_naming_norm(kwargs, shape, match):
    with pytest.raises(ValueError, match=match):
        L.norm(np.ones(shape), **kwargs)


def test_norm_gradient_at_zero_is_zero_every_order():
    for ord in [None, 2, 1, INF, 3, 0.5, 1.5, -1]:
        f = lambda t, o=ord: L.norm(t, ord=o)  # noqa: E731
        np.testing.assert_array_equal(ad.grad(f)(np.zeros(3)), 0.0)
        np.testing.assert_array_equal(ad.hessian(f)(np.zeros(3)), 0.0)
        np.testing.assert_array_equal(ad.jvp(f, (np.zeros(3),), (np.ones(3),))[1], 0.0)
    for ord in MATRIX_ORDS:
        f = lambda t, o=ord: L.norm(t, ord=o)  # noqa: E731
        np.testing.assert_array_equal(ad.grad(f)(np.zeros((2, 3))), 0.0)
    # a zero row of a batch of vector norms: only that row's gradient is zero
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    g = ad.grad(lambda t: ad.sum(L.norm(t, axis=1)))(x)
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, 0.8]])


def test_norm_zero_entries_follow_the_kink_convention():
    # 0 < p < 1: a zero entry has gradient 0 (abs'(0) = 0), the others are finite
    x = np.array([0.0, 1.0, 2.0])
    g = ad.grad(lambda t: L.norm(t, 0.5))(x)
    assert g[0] == 0.0 and np.all(np.isfinite(g))
    check_grads(lambda t: L.norm(t, 0.5), np.array([0.5, 1.0, 2.0]))
    # p < 0: a zero entry makes the norm 0 (as NumPy) with gradient 0
    with np.errstate(divide="ignore"):
        assert float(L.norm(x, -1)) == np.linalg.norm(x, -1) == 0.0
    np.testing.assert_array_equal(ad.grad(lambda t: L.norm(t, -1))(x), 0.0)


def test_norm_hessian_of_two_norm_matches_closed_form():
    x = np.array([0.3, -1.2, 0.7])
    r = np.linalg.norm(x)
    expected = (np.eye(3) - np.outer(x, x) / r**2) / r
    np.testing.assert_allclose(ad.hessian(L.norm)(x), expected, rtol=1e-13)


# --- batched shapes -------------------------------------------------------------------------------
def test_batched_ops_match_numpy_per_matrix():
    a = _well(3, (2, 2))
    s = _spd(3, (2, 2))
    b = RNG.normal(size=(2, 1, 3, 2))  # broadcasts against a's batch (2, 2)
    cases = [
        (L.inv(a), np.linalg.inv(a)),
        (L.det(a), np.linalg.det(a)),
        (L.slogdet(a).logabsdet, np.linalg.slogdet(a).logabsdet),
        (L.solve(a, b), np.linalg.solve(a, b)),
        (L.cholesky(s), np.linalg.cholesky(s)),
        (L.eigvalsh(s), np.linalg.eigvalsh(s)),
        (L.eigh(s).eigenvalues, np.linalg.eigh(s).eigenvalues),
        (L.svdvals(a[..., :2]), np.linalg.svd(a[..., :2], compute_uv=False)),
        (L.pinv(a[..., :2]), np.linalg.pinv(a[..., :2])),
    ]
    for out, ref in cases:
        assert out.shape == ref.shape
        np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-14)
    check_grads(lambda a, b: L.solve(a, b), a, b, order=2)
    check_grads(lambda a: L.slogdet(a)[1], a, order=2)


def test_solve_vector_b_and_shape_errors():
    a = _well(3)
    np.testing.assert_allclose(L.solve(a, np.ones(3)).data, np.linalg.solve(a, np.ones(3)))
    with pytest.raises(ad.ShapeError, match=r"solve: a of shape \(3, 3\) and b of shape \(2,\)"):
        L.solve(a, np.ones(2))
    with pytest.raises(ad.ShapeError, match="solve: b must have shape"):
        L.solve(a, np.ones((2, 2)))
    with pytest.raises(ad.ShapeError, match="do not broadcast"):
        L.solve(_well(3, (2,)), np.ones((3, 3, 1)))


# --- errors that name the op and the shape --------------------------------------------------------
@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh"])
def test_non_square_matrix_raises_shape_error_naming_op(name):
    with pytest.raises(ad.ShapeError, match=rf"{name}: expected a square matrix .* \(2, 3\)"):
        getattr(L, name)(np.ones((2, 3)))


def test_singular_matrix_errors_name_op_shape_and_batch_index():
    a = np.stack([np.eye(2), np.ones((2, 2))])
    with pytest.raises(np.linalg.LinAlgError, match=r"inv: .* at batch index \(1,\) .*singular"):
        L.inv(a)
    with pytest.raises(np.linalg.LinAlgError, match=r"solve: .*singular .*\(2, 2, 2\)"):
        L.solve(a, np.ones((2, 2, 1)))
    with pytest.raises(np.linalg.LinAlgError, match="cholesky: .*not positive definite"):
        L.cholesky(-np.eye(3))
    # det and slogdet have values at a singular matrix (0, and (0, -inf)) but no inverse
    assert float(L.det(np.ones((2, 2)))) == 0.0
    with pytest.raises(np.linalg.LinAlgError, match=r"det: the derivative at a singular matrix"):
        ad.grad(L.det)(np.ones((7, 7)))  # beyond the cofactor route (6x6)
    with pytest.raises(np.linalg.LinAlgError, match=r"slogdet: the derivative at a singular"):
        ad.grad(lambda a: L.slogdet(a)[1])(np.ones((2, 2)))


def test_det_derivative_at_singular_matrices_is_the_cofactor_matrix():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2
    cof = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ad.grad(L.det)(a), cof, atol=1e-14)
    _, tangent = ad.jvp(L.det, (a,), (np.eye(3),))
    assert float(tangent) == pytest.approx(np.trace(cof))
    check_grads(L.det, a, order=2)
    check_grads(L.det, np.zeros((2, 3, 3)), order=3)  # rank 0: every derivative below 3 is 0


def test_svd_full_matrices_of_non_square_tensor_refuses_gradient():
    a = RNG.normal(size=(3, 2))
    u, s, vh = L.svd(a)  # a constant: NumPy's full factors
    assert u.shape == (3, 3) and vh.shape == (2, 2)
    np.testing.assert_allclose(s.data, np.linalg.svd(a, compute_uv=False))
    with pytest.raises(ValueError, match=r"svd: full_matrices=True .* \(3, 2\)"):
        ad.grad(lambda a: ad.sum(L.svd(a).U))(a)


# --- degeneracy -----------------------------------------------------------------------------------
def test_eigh_at_repeated_eigenvalues_warns_and_gives_nan_for_eigenvectors():
    q, _ = np.linalg.qr(RNG.normal(size=(3, 3)))
    a = q @ np.diag([1.0, 1.0, 2.0]) @ q.T  # a doubly degenerate eigenvalue, generic vectors
    with pytest.warns(RuntimeWarning, match="eigh: repeated eigenvalues"):
        g = ad.grad(lambda a: ad.sum(L.eigh(a).eigenvectors ** 3))(a)
    assert np.isnan(g).any()
    # eigenvalue-only cotangents stay finite and exact at a degeneracy: d tr(A) = I
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = ad.grad(lambda a: ad.sum(L.eigh(a).eigenvalues))(a)
        np.testing.assert_allclose(g, np.eye(3), atol=1e-15)
        g = ad.grad(lambda a: ad.sum(L.eigvalsh(a) ** 2))(a)  # d ||A||_F^2 on the lower triangle
        np.testing.assert_allclose(g, 2 * a * (np.tri(3) * 2 - np.eye(3)), atol=1e-14)


def test_eigvalsh_second_derivative_at_degeneracy_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="eigh: repeated eigenvalues"):
        h = ad.hessian(lambda v: L.eigvalsh(ad.reshape(v, (2, 2)))[1])(np.array([1.0, 0, 0, 1]))
    assert np.isnan(h).any()


def test_svd_at_repeated_singular_values_warns_and_gives_nan():
    q, _ = np.linalg.qr(RNG.normal(size=(3, 3)))  # orthogonal: three equal singular values
    with pytest.warns(RuntimeWarning, match="svd: repeated singular values"):
        g = ad.grad(lambda a: ad.sum(L.svd(a).U ** 3))(q)
    assert np.isnan(g).any()
    # the singular values themselves: the gradient U V^T is finite (here q itself)
    np.testing.assert_allclose(ad.grad(lambda a: ad.sum(L.svdvals(a)))(q), q, atol=1e-14)


def test_pinv_rank_deficient_warns_about_its_derivative():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(L.pinv(a).data, np.linalg.pinv(a), atol=1e-15)
    with pytest.warns(RuntimeWarning, match="pinv: the matrix .* rank-deficient"):
        ad.grad(lambda a: ad.sum(L.pinv(a)))(a)


def test_lstsq_matches_numpy_full_and_deficient_rank():
    a, b = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))
    x, res, rank, s = L.lstsq(a, b)
    ref = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(x.data, ref[0], rtol=1e-12)
    np.testing.assert_allclose(res.data, ref[1], rtol=1e-12)
    assert rank == ref[2] and isinstance(rank, int)
    np.testing.assert_allclose(s.data, ref[3], rtol=1e-13)
    check_grads(lambda a, b: L.lstsq(a, b)[0], a, b, order=2)
    deficient = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    x, res, rank, _ = L.lstsq(deficient, np.ones(3))
    ref = np.linalg.lstsq(deficient, np.ones(3))
    np.testing.assert_allclose(x.data, ref[0], rtol=1e-12)
    assert rank == ref[2] == 1 and res.shape == ref[1].shape == (0,)
    with pytest.raises(ad.ShapeError, match=r"lstsq: a must be 2-D"):
        L.lstsq(np.ones((2, 3, 3)), np.ones(3))


# --- NumPy dispatch -------------------------------------------------------------------------------
def test_np_linalg_functions_dispatch_on_tensors_and_stay_differentiable():
    a = _well(3)
    t = ad.tensor(a, requires_grad=True)
    for fn in (np.linalg.inv, np.linalg.det, np.linalg.eigvalsh, np.linalg.svdvals, np.linalg.pinv):
        out = fn(t)
        assert isinstance(out, ad.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, fn(a), rtol=1e-12)
    sign, logdet = np.linalg.slogdet(t)
    assert isinstance(logdet, ad.Tensor) and float(sign) == np.linalg.slogdet(a).sign
    w, v = np.linalg.eigh(t + t.T)
    assert isinstance(v, ad.Tensor) and v.requires_grad
    g = ad.grad(lambda t: np.linalg.norm(t, "nuc"))(a)
    u, _, vh = np.linalg.svd(a)
    np.testing.assert_allclose(g, u @ vh, rtol=1e-12)


# --- identities as oracles ------------------------------------------------------------------------
def test_grad_logdet_is_inverse_transpose_and_its_hessian():
    a = _well(3)
    ainv = np.linalg.inv(a)
    logdet = lambda a: L.slogdet(a).logabsdet  # noqa: E731
    np.testing.assert_allclose(ad.grad(logdet)(a), ainv.T, rtol=1e-13)
    np.testing.assert_allclose(ad.grad(lambda a: ad.log(L.det(a)))(a), ainv.T, rtol=1e-13)
    # d2 logdet [dA, dB] = -tr(inv dA inv dB): H[(i, j), (k, l)] = -inv[l, i] inv[j, k]
    h = ad.hessian(logdet)(a)
    expected = -np.einsum("li,jk->ijkl", ainv, ainv)
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-15)


def test_inverse_differential_is_minus_inv_da_inv():
    a, da = _well(3), RNG.normal(size=(3, 3))
    ainv = np.linalg.inv(a)
    _, tangent = ad.jvp(L.inv, (a,), (da,))
    np.testing.assert_allclose(tangent, -ainv @ da @ ainv, rtol=1e-12)
    _, pull = ad.vjp(L.inv, a)
    (g,) = pull(da)
    np.testing.assert_allclose(g, -ainv.T @ da @ ainv.T, rtol=1e-12)


def test_eigh_reconstructs_and_cholesky_gradient_is_lower_triangular():
    s = _spd(3)
    w, v = L.eigh(s)
    np.testing.assert_allclose(((v * w[None, :]) @ v.T).data, s, rtol=1e-12)
    g = ad.grad(lambda s: ad.sum(ad.sin(L.cholesky(s))))(s)
    assert np.all(np.triu(g, 1) == 0.0)


# --- extended-precision oracle (mpmath, 40 digits): gradients and Hessians ------------------------
def _mp_derivatives(f, x):
    """Gradient and Hessian of ``f`` (mpmath, on a flat list) by central differences in
    40-digit arithmetic: truncation ~h^2 = 1e-24, rounding ~1e-40 / h^2 = 1e-16 relative."""
    with mp.workdps(40):
        return _mp_differences(f, [mp.mpf(float(v)) for v in x], mp.mpf("1e-12"))


def _mp_differences(f, x, h):
    n = len(x)

    def at(*steps):
        y = list(x)
        for i, s in steps:
            y[i] += s * h
        return f(y)

    grad = [(at((i, 1)) - at((i, -1))) / (2 * h) for i in range(n)]
    hess = [[mp.mpf(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            v = (
                at((i, 1), (j, 1))
                - at((i, 1), (j, -1))
                - at((i, -1), (j, 1))
                + at((i, -1), (j, -1))
            )
            hess[i][j] = hess[j][i] = v / (4 * h * h)
    as_float = np.vectorize(float)
    return as_float(np.array(grad, dtype=object)), as_float(np.array(hess, dtype=object))


def _mpm(y, n):
    return mp.matrix([[y[i * n + j] for j in range(n)] for i in range(n)])


def _weighted(m, w):
    return mp.fsum(m[i, j] * w[i, j] for i in range(w.shape[0]) for j in range(w.shape[1]))


W3 = np.array([[0.3, -1.1, 0.7], [0.2, 0.9, -0.4], [1.3, -0.6, 0.5]])
ORACLES = {
    "inv": (
        lambda a: ad.sum(L.inv(a) * W3),
        lambda y: _weighted(mp.inverse(_mpm(y, 3)), W3),
        "well",
    ),
    "det": (lambda a: L.det(a), lambda y: mp.det(_mpm(y, 3)), "well"),
    "logabsdet": (
        lambda a: L.slogdet(a)[1],
        lambda y: mp.log(abs(mp.det(_mpm(y, 3)))),
        "well",
    ),
    "solve": (
        lambda a: ad.sum(L.solve(a, W3[:, :2]) * W3[:, 1:]),
        lambda y: _weighted(mp.inverse(_mpm(y, 3)) * mp.matrix(W3[:, :2].tolist()), W3[:, 1:]),
        "well",
    ),
    "cholesky": (
        lambda a: ad.sum(L.cholesky(a) * W3),
        # NumPy reads the lower triangle: the oracle symmetrizes from it
        lambda y: _weighted(
            mp.cholesky(
                mp.matrix([[y[max(i, j) * 3 + min(i, j)] for j in range(3)] for i in range(3)])
            ),
            W3,
        ),
        "spd",
    ),
    "eigvalsh": (
        lambda a: ad.sum(L.eigvalsh(a) * W3[0]),
        lambda y: mp.fsum(
            w * v
            for w, v in zip(
                W3[0],
                sorted(
                    mp.eigsy(
                        mp.matrix(
                            [[y[max(i, j) * 3 + min(i, j)] for j in range(3)] for i in range(3)]
                        )
                    )[0]
                ),
            )
        ),
        "spd",
    ),
    "svdvals": (
        lambda a: ad.sum(L.svdvals(a) * W3[0]),
        lambda y: mp.fsum(
            w * v
            for w, v in zip(W3[0], sorted(mp.svd_r(_mpm(y, 3), compute_uv=False), reverse=True))
        ),
        "well",
    ),
}


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_linalg_matches_mpmath_to_second_order(name):
    fn, oracle, kind = ORACLES[name]
    a = _spd(3) if kind == "spd" else _well(3)
    flat = lambda v: fn(ad.reshape(v, (3, 3)))  # noqa: E731
    grad, hess = _mp_derivatives(oracle, a.ravel())
    np.testing.assert_allclose(ad.grad(flat)(a.ravel()), grad, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ad.hessian(flat)(a.ravel()), hess, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(ad.jacobian(ad.grad(flat))(a.ravel()), hess, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("module", ["autodiff.linalg", "autodiff.ops.linalg"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

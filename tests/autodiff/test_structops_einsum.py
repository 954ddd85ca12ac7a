"""einsum specifics: NumPy's subscript forms, gradients and Hessians against independent
oracles (central differences; SymPy's exact derivatives of NumPy's own einsum over symbols),
errors that quote the subscripts, and NumPy protocol dispatch."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff
from autodiff import ShapeError
from autodiff.testing import check_grads

RNG = np.random.default_rng(13)

# (subscripts, operand shapes): against numpy.einsum
FORMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),  # matmul
    ("ij,jk", [(2, 3), (3, 2)]),  # implicit output
    ("bij,bjk->bik", [(3, 2, 4), (3, 4, 2)]),  # batch matmul
    ("...ij,...jk->...ik", [(2, 3, 2, 4), (4, 3)]),  # ellipsis, broadcast batch
    ("...ij,...jk", [(1, 2, 3), (4, 3, 2)]),  # ellipsis, size-1 batch broadcast, implicit
    ("ii", [(3, 3)]),  # trace
    ("ii->i", [(4, 4)]),  # diagonal
    ("iij->j", [(2, 2, 3)]),  # partial trace
    ("iji->j", [(3, 2, 3)]),  # repeated letters apart
    ("i,i", [(5,), (5,)]),  # inner product
    ("i,i->i", [(5,), (5,)]),  # elementwise
    ("i,j->ij", [(3,), (4,)]),  # outer
    ("ij->ji", [(2, 3)]),  # transpose
    ("ij->", [(2, 3)]),  # total sum
    ("ij->j", [(2, 3)]),  # column sums: a letter of one operand only
    ("ijk,jl->kil", [(2, 3, 2), (3, 4)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),  # three operands
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),  # a chain: the optimized order matters
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 3), (2, 3)]),  # bilinear form
    ("i,i", [(1,), (4,)]),  # size-1 broadcast of a named letter (NumPy allows it)
    ("ij,->ij", [(2, 2), ()]),  # a 0-d operand
    ("...", [(2, 3)]),  # identity
    ("Ab,bC->CA", [(2, 3), (3, 2)]),  # upper-case letters
]


def _operands(shapes):
    return [RNG.uniform(-1.5, 1.5, s) for s in shapes]


@pytest.mark.parametrize(("subs", "shapes"), FORMS, ids=[f for f, _ in FORMS])
def test_einsum_forward_matches_numpy(subs, shapes):
    xs = _operands(shapes)
    out = ad.einsum(subs, *[ad.tensor(x) for x in xs])
    expected = np.einsum(subs, *xs)
    assert isinstance(out, ad.Tensor) and out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("subs", "shapes"), FORMS, ids=[f for f, _ in FORMS])
def test_einsum_gradients_match_central_differences(subs, shapes):
    check_grads(lambda *xs: ad.einsum(subs, *xs), *_operands(shapes), order=2)


def test_einsum_interleaved_form_matches_numpy():
    a, b = _operands([(2, 3), (3, 4)])
    out = ad.einsum(ad.tensor(a), [0, 1], b, [1, 2], [2, 0])
    np.testing.assert_allclose(out.data, np.einsum(a, [0, 1], b, [1, 2], [2, 0]), rtol=1e-14)
    out = ad.einsum(ad.tensor(a), [Ellipsis, 1], b[:, 0], [1])
    np.testing.assert_allclose(out.data, np.einsum(a, [Ellipsis, 1], b[:, 0], [1]), rtol=1e-14)


def test_einsum_keeps_float32():
    a, b = (x.astype(np.float32) for x in _operands([(2, 3), (3, 2)]))
    out, pull = ad.vjp(lambda a, b: ad.einsum("ij,jk->ik", a, b), a, b)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in pull(np.ones((2, 2), np.float32)))


def test_einsum_gradient_of_shared_operand_counts_every_use():
    x = RNG.uniform(-1, 1, 4)
    np.testing.assert_allclose(ad.grad(lambda x: ad.einsum("i,i,i->", x, x, x))(x), 3 * x**2)


def test_einsum_gradients_are_einsums():
    """The recorded backward pass of an einsum holds einsums (so it is differentiable again)."""
    a, b = RNG.uniform(-1, 1, (2, 3)), RNG.uniform(-1, 1, (3, 2))

    def grad_a(a, b):
        return ad.grad(lambda a: ad.einsum("ij,jk->", a, b))(a)

    graph, ga = ad.trace_graph(grad_a, a, b)
    assert "einsum" in {n.op.name for n in graph.nodes if n.op is not None}
    np.testing.assert_allclose(ga.data, np.broadcast_to(b.sum(1), (2, 3)), rtol=1e-14)


def _sym_matrix(name, n):
    return np.array(sp.symbols(f"{name}0:{n * n}", real=True), dtype=object).reshape(n, n)


def test_einsum_hessian_matches_exact_sympy_derivatives():
    """Oracle: NumPy's own einsum over SymPy symbols, differentiated exactly by SymPy."""
    n = 3
    subs = "ij,jk,ki->"  # trace(A^3)
    sym = _sym_matrix("a", n)
    expr = sp.expand(np.einsum(subs, sym, sym, sym))
    flat = list(sym.ravel())
    point = RNG.uniform(-1, 1, n * n)
    values = dict(zip(flat, point))
    exact_grad = np.array([float(sp.diff(expr, v).subs(values)) for v in flat])
    exact_hess = np.array([[float(sp.diff(expr, u, v).subs(values)) for v in flat] for u in flat])

    def f(x):
        m = ad.reshape(x, (n, n))
        return ad.einsum(subs, m, m, m)

    np.testing.assert_allclose(ad.grad(f)(point), exact_grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ad.hessian(f)(point), exact_hess, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(ad.grad(f))(point), exact_hess, rtol=1e-12, atol=1e-12)


def test_einsum_third_order_matches_central_differences():
    x = RNG.uniform(-1, 1, 4)
    check_grads(
        lambda x: ad.einsum("ij,jk,ki->", *[ad.reshape(x, (2, 2))] * 3), x, order=3, modes=("rev",)
    )


def test_einsum_lifts_and_hessian_is_exact():
    def f(x):
        m = ad.reshape(x, (2, 2))
        return ad.einsum("ij,jk->", m, ad.sin(m))

    x = RNG.uniform(-1, 1, 4)
    lifted = symdiff.lift(f, x, mode="scalar")
    y = RNG.uniform(-1, 1, 4)
    np.testing.assert_allclose(lifted.evaluate(y), float(f(ad.tensor(y)).data), rtol=1e-13)
    array = symdiff.lift(f, x, mode="array")
    np.testing.assert_allclose(array.gradient().evaluate(y), ad.grad(f)(y), rtol=1e-13)


# --- errors: they quote the subscripts ------------------------------------------------------
@pytest.mark.parametrize(
    ("subs", "shapes", "kind", "match"),
    [
        ("ij,jk->ik", [(2, 3)], ValueError, "'ij,jk->ik' name 2 operand"),
        ("ij->i", [(2, 3, 4)], ShapeError, "names 2 axes"),
        ("ij,jk->ik", [(2, 3), (4, 2)], ShapeError, "letter 'j' has sizes 3 and 4"),
        ("ij->k", [(2, 3)], ValueError, "output letter 'k'"),
        ("ij->ii", [(2, 2)], ValueError, "repeats a letter"),
        ("i1", [(2, 3)], ValueError, "character '1'"),
        ("...i->i", [(2, 3)], ValueError, "no '...'"),
        ("ii", [(2, 3)], ShapeError, "letter 'i' has sizes 2 and 3"),
        ("ii", [(1, 3)], ShapeError, "different sizes"),
        ("ij->i->j", [(2, 3)], ValueError, "more than one '->'"),
    ],
)
def test_einsum_bad_input_raises_naming_subscripts(subs, shapes, kind, match):
    with pytest.raises(kind, match=match):
        ad.einsum(subs, *_operands(shapes))


def test_einsum_rejects_out_and_unknown_keywords():
    a = ad.tensor(np.ones((2, 2)))
    with pytest.raises(TypeError, match="out="):
        ad.einsum("ij->ji", a, out=np.empty((2, 2)))
    with pytest.raises(TypeError, match="unexpected keyword"):
        ad.einsum("ij->ji", a, casting="unsafe")
    with pytest.raises(ValueError, match="at least one operand"):
        ad.einsum("ij")


# --- NumPy protocol ----------------------------------------------------------------------------
def test_np_einsum_on_tensors_stays_on_the_graph():
    a = ad.tensor(RNG.uniform(-1, 1, (2, 3)), requires_grad=True)
    b = RNG.uniform(-1, 1, (3, 4))
    out = np.einsum("ij,jk->ik", a, b, optimize="greedy")
    assert isinstance(out, ad.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, a.data @ b, rtol=1e-14)
    g = ad.grad(lambda a: np.einsum("ij,jk->", a, b))(a.data)
    np.testing.assert_allclose(g, np.broadcast_to(b.sum(1), (2, 3)), rtol=1e-14)


def test_np_structural_functions_dispatch_to_autodiff():
    x = ad.tensor(RNG.uniform(-1, 1, (3, 3)), requires_grad=True)
    for out in (
        np.roll(x, 1),
        np.cumsum(x, axis=0),
        np.cumprod(x),
        np.sort(x),
        np.trace(x),
        np.diag(x),
        np.tril(x),
        np.pad(x, 1),
        np.kron(x, x),
        np.tensordot(x, x),
        np.cross(x, x[::-1]),
        np.take(x, [0, 8]),
        np.moveaxis(x, 0, 1),
    ):
        assert isinstance(out, ad.Tensor) and out.requires_grad
    pieces = np.split(x, 3, axis=1)
    assert len(pieces) == 3 and all(p.requires_grad for p in pieces)

"""symdiff.lift of autodiff.linalg: exact formulas for small matrices, clear LiftErrors naming
the op beyond them, norms with their zero guard, and array mode (any size)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff

L = ad.linalg
A3 = np.array([[2.0, 0.3, 0.1], [0.2, 1.5, -0.4], [0.1, 0.3, 2.2]])


def test_lifted_inverse_and_determinant_are_exact_formulas():
    lifted = symdiff.lift(lambda a: ad.sum(L.inv(a)) + L.det(a), A3)
    value = float(lifted.expr.xreplace(dict(zip(lifted.variables, A3.ravel()))))
    assert value == pytest.approx(np.linalg.inv(A3).sum() + np.linalg.det(A3), rel=1e-13)
    # the determinant of a 2x2 matrix prints as the polynomial a d - b c
    det2 = symdiff.lift(L.det, np.eye(2)).expr
    a00, a01, a10, a11 = symdiff.lift(L.det, np.eye(2)).variables
    assert sp.expand(det2 - (a00 * a11 - a01 * a10)) == 0


def test_lifted_eigvalsh_and_svdvals_closed_forms_match_eager():
    s = np.array([[2.0, 0.5], [0.5, 1.0]])
    lifted = symdiff.lift(lambda a: L.eigvalsh(a)[0] * L.eigvalsh(a)[1] ** 2, s)
    subs = dict(zip(lifted.variables, s.ravel()))
    w = np.linalg.eigvalsh(s)
    assert float(lifted.expr.xreplace(subs)) == pytest.approx(w[0] * w[1] ** 2, rel=1e-13)
    m = np.array([[1.0, 2.0, 0.5], [-0.3, 0.8, 1.1]])
    lifted = symdiff.lift(lambda a: L.svdvals(a)[1], m)
    value = float(lifted.expr.xreplace(dict(zip(lifted.variables, m.ravel()))))
    assert value == pytest.approx(np.linalg.svd(m, compute_uv=False)[1], rel=1e-12)


@pytest.mark.parametrize(
    ("fn", "shape", "match"),
    [
        (lambda a: ad.sum(L.eigh(a)[1]), (2, 2), "op 'eigh' failed: eigh: eigenvectors lift only"),
        (lambda a: ad.sum(L.svd(a)[0]), (2, 2), "op 'svd' failed: svd: singular vectors lift only"),
        (lambda a: ad.sum(L.eigvalsh(a)), (3, 3), "op 'eigvalsh' failed: .* up to 2x2"),
        (lambda a: ad.sum(L.svdvals(a)), (3, 3), "op 'svdvals' failed: .* up to 2 rows"),
        (lambda a: ad.sum(L.inv(a)), (5, 5), r"op 'inv' failed: inv: .* up to 4x4"),
    ],
    ids=["eigh", "svd", "eigvalsh", "svdvals", "inv 5x5"],
)
def test_lift_without_closed_form_raises_lift_error_naming_the_op(fn, shape, match):
    a = np.eye(shape[0]) * 2.0 + 0.1
    with pytest.raises(symdiff.LiftError, match=match):
        symdiff.lift(fn, a, mode="scalar")


def test_lifted_norm_keeps_the_zero_convention():
    lifted = symdiff.lift(lambda x: L.norm(x), np.array([3.0, 4.0]))
    x, y = lifted.variables
    grad = lifted.gradient()
    at = {x: 0.6, y: -0.8}
    assert float(lifted.expr.xreplace(at)) == pytest.approx(1.0)
    assert [float(g.xreplace(at)) for g in grad] == pytest.approx([0.6, -0.8])
    assert [float(g.xreplace({x: 0, y: 0})) for g in grad] == [0.0, 0.0]


def test_array_mode_lifts_any_size_and_differentiates():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (6, 6)) + 6 * np.eye(6)

    def f(a):
        return L.slogdet(a)[1] + ad.sum(L.solve(a, np.ones(6)))

    prog = symdiff.lift(f, a, mode="array")
    assert "slogdet" in str(prog) and "solve" in str(prog)
    b = a + 0.1 * rng.uniform(-1, 1, a.shape)
    assert float(prog.evaluate(b)) == pytest.approx(float(f(b)), rel=1e-13)
    np.testing.assert_allclose(prog.gradient().evaluate(b), ad.grad(f)(b), rtol=1e-12)


def test_hessian_sparsity_of_a_batch_of_matrices_is_block_diagonal():
    from autodiff.graph import trace_graph
    from symdiff.sparsity import hessian_sparsity

    def f(x):
        return ad.sum(ad.sin(L.inv(ad.reshape(x, (2, 2, 2)) + 3.0 * np.eye(2))))

    x = np.random.default_rng(1).uniform(-1, 1, 8)
    graph, _ = trace_graph(f, x)
    rows, cols = hessian_sparsity(graph)
    block = np.kron(np.eye(2), np.ones((4, 4)))
    assert set(zip(rows.tolist(), cols.tolist())) == set(zip(*np.nonzero(block)))
    scalar = symdiff.lift(f, x).hessian()
    assert set(zip(scalar.rows.tolist(), scalar.cols.tolist())) == set(zip(*np.nonzero(block)))

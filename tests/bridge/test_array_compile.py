"""bridge.compile(..., mode="array"): array kernels agree with eager autodiff, scalar mode and
hand-derived formulas; warm starts import no SymPy; errors name what is wrong.

numba compiles dominate the run time: every function is compiled once per module
(module-scoped fixtures) and checked at several points.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from bridge_cases import assert_close, rosen_chained_grad, rosen_chained_hessian

import autodiff as ad
import bridge
from autodiff import ShapeError
from autodiff.ops import elementwise as cmp
from autodiff.ops.base import Op
from autodiff.ops.elementwise import cast
from autodiff.ops.reductions import sort_scatter
from autodiff.ops.shape import scatter_add
from autodiff.tensor import apply
from bridge.arrays import ArrayCompiled
from bridge.arrays.program import plan


# --- functions under test -------------------------------------------------------------------
def rosen_chained(x):
    return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_separable(x):
    odd, even = x[0::2], x[1::2]
    return ad.sum(100.0 * (even - odd**2) ** 2 + (1.0 - odd) ** 2)


def logistic(w, X, y):
    z = X @ w
    return ad.mean(ad.softplus(z) - y * z)


def lse_quadratic(x, A):
    return ad.logsumexp(A @ x) + 0.5 * ad.sum(x**2)


def mlp_loss(theta, X, y):
    # 2 inputs -> 40 tanh units -> 1 output: 2*40 + 40 + 40 + 1 = 201 parameters
    W1 = ad.reshape(theta[:80], (2, 40))
    b1 = theta[80:120]
    W2 = ad.reshape(theta[120:160], (40, 1))
    b2 = theta[160]
    h = ad.tanh(X @ W1 + b1)
    out = ad.reshape(h @ W2, (-1,)) + b2
    return ad.mean((out - y) ** 2)


RNG = np.random.default_rng(7)


# --- the op table -----------------------------------------------------------------------------
def every_op(x, w):
    """Every primitive of the op table on one 4-vector (the cases of ``bridge_cases.ROWS``,
    written on one shape so that the elementwise ops fuse into few loops: numba's compile
    time grows with the number of loops)."""
    r = x[::-1]
    smooth = (
        ad.exp(x) * r
        + ad.log(x + 3.0)
        + ad.log1p(x * x)
        + ad.expm1(x) * x
        + ad.sqrt(x * x + 1.0)
        + ad.square(x) * r
        + ad.sin(x) * ad.cos(r)
        + ad.tan(x / 4.0)
        + ad.tanh(x) * r
        + ad.sigmoid(3.0 * x)
        + ad.softplus(x) * x
        + (-x) * r
        - x / (2.0 + x * r)
        + (x + 2.0) ** (r * 0.5)
        + (x * x + 1.0) ** 2.5
        + (x + 2.0) ** 3
    )
    kinks = (
        ad.heaviside(x, 0.5) * x**3
        + ad.sign(x) * x**3 * r
        + ad.relu(x) ** 3 * r
        + ad.abs(x) ** 3 * r
        + ad.maximum(x, 0.5 * r) ** 3
        + ad.minimum(x, 0.5 * r) ** 3
    )
    branches = (
        ad.where(cmp.greater(x, 0.0), x**3, ad.sin(x))
        + ad.where(cmp.less(x, 0.5 * r), x**2, r**3)
        + ad.where(cmp.less_equal(x, 0.5 * r), ad.exp(r), x)
        + ad.where(cmp.greater_equal(x, 0.5 * r), x * r, r**2)
        + ad.where(cmp.equal(x, r), x, ad.cos(r))
        + ad.where(cmp.not_equal(x, r), r**3, x)
        + cast(x, np.float64) ** 3
        + cast(x * 2.0, np.int64) * x**3
        + cast(cast(x, bool), np.float64) * x
    )
    m = ad.reshape(x, (2, 2))
    structure = (
        ad.sum(ad.transpose(m) * m**2)
        + ad.sum(ad.broadcast_to(x[:1], (3,)) * x[1:] ** 2)
        + x[0] * x[2] ** 2
        + ad.sum(ad.sin(x[[1, 1, 2]]))
        + ad.sum(scatter_add(x[:2] * x[1:3], np.array([0, 0]), (4,)) ** 2 * x)
        + ad.sum(ad.concatenate([x[:2] ** 2, ad.sin(x)]) * ad.concatenate([x, x[2:]]))
        + ad.sum(ad.matmul(m, ad.reshape(r, (2, 2))) ** 2)
        + ad.sum(ad.sum(m, axis=0) ** 3)
        # issue 13: scans, sorting, contractions (one of each: numba time grows with loops)
        + ad.sum(ad.cumsum(x) * ad.sort(x) * r)
        + ad.sum(sort_scatter(x * x, x) * r)
        + ad.einsum("ij,jk,ki->", m, m, ad.reshape(r, (2, 2)))
    )
    reductions = (
        ad.max(x * r + x)
        + ad.min(ad.sin(x) * x[0])
        + ad.prod(x) * ad.sum(x)
        + ad.logsumexp(x * r)
        + ad.sum(ad.softmax(x) * x)
        + ad.var(x * x)
    )
    special = (  # autodiff.ops.special (tests/op_specs_math.py): each op once, kept small
        (ad.floor(x * 2.0) + ad.ceil(x * 2.0) + ad.trunc(x * 3.0) + ad.round(x, 1)) * x
        + ad.mod(x * 3.0, 0.7) ** 2
        + ad.log2(x + 2.0)
        + ad.log10(x + 2.0)
        + ad.exp2(x)
        + ad.logaddexp(x, r)
        + ad.logaddexp2(x, r)
        + ad.hypot(x, r)
        + ad.arctan2(x, r + 3.0)
        + ad.arcsin(x * 0.6)
        + ad.arccos(x * 0.6)
        + ad.arctan(x)
        + ad.sinh(x)
        + ad.cosh(x)
        + ad.arcsinh(x)
        + ad.arccosh(x * x + 1.5)
        + ad.arctanh(x * 0.5)
        + ad.erf(x)
        + ad.erfc(x)
        + ad.nan_to_num(x) ** 3
    )
    return (w[0] * ad.sum(smooth) + w[1] * ad.sum(kinks) + w[2] * ad.sum(branches)
            + w[3] * structure + w[4] * reductions + w[5] * ad.sum(special))  # fmt: skip


def _points(rng):
    return rng.choice([-1.0, 1.0], 4) * rng.uniform(0.3, 1.2, 4), rng.uniform(0.5, 1.5, 6)


@pytest.fixture(scope="module")
def op_array():
    x, w = _points(np.random.default_rng(0))
    return bridge.compile(every_op, x, w, params=1, mode="array")


def test_op_table_matches_eager(op_array):
    c = op_array
    assert isinstance(c, ArrayCompiled)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, w = _points(rng)
        assert_close(c.value(x, w), every_op(ad.tensor(x), ad.tensor(w)).data, 1e-13, "value")
        eg, eH = ad.grad(every_op)(x, w), ad.hessian(every_op)(x, w)
        assert_close(c.grad(x, w), eg, 1e-12, "gradient")
        assert_close(c.hessian(x, w), eH, 1e-12, "Hessian")
        v = rng.standard_normal(4)
        assert_close(c.hvp(x, v, w), eH @ v, 1e-12, "hvp")
        value, grad = c.value_and_grad(x, w)
        assert_close(value, c.value(x, w), 1e-15, "value_and_grad value")
        assert_close(grad, eg, 1e-12, "value_and_grad gradient")


def test_op_table_matches_scalar_mode(op_array):
    x, w = _points(np.random.default_rng(2))
    scalar = bridge.compile(every_op, x, w, params=1, mode="scalar")
    assert isinstance(scalar, bridge.Compiled)
    for _ in range(2):
        assert_close(op_array.value(x, w), scalar.value(x, w), 1e-13, "value")
        assert_close(op_array.grad(x, w), scalar.grad(x, w), 1e-12, "gradient")
        assert_close(op_array.hessian(x, w), scalar.hessian(x, w), 1e-12, "Hessian")
        v = np.arange(4.0)
        assert_close(op_array.hvp(x, v, w), scalar.hvp(x, v, w), 1e-12, "hvp")
        x, w = _points(np.random.default_rng(3))


def test_every_op_of_the_table_is_exercised(op_array):
    from autodiff.ops.base import ALL_OPS
    from bridge.arrays.program import SUPPORTED

    names = {n.op.name for g in op_array._graphs.values() for n in g.nodes if n.op is not None}
    # ops array mode has no emitter for (the numpy.linalg decompositions) raise an error naming
    # them instead: tests/bridge/test_linalg_compile.py checks each
    refused = {op.name for op in ALL_OPS} - SUPPORTED
    assert not {op.name for op in ALL_OPS} - names - refused


# --- Rosenbrock -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rosen_kernels():
    x = np.linspace(-1.2, 1.0, 50)
    return {
        "chained": bridge.compile(rosen_chained, x, mode="array"),
        "separable": bridge.compile(rosen_separable, x, mode="array"),
    }


def test_rosenbrock_against_hand_derivatives(rosen_kernels):
    c = rosen_kernels["chained"]
    for _ in range(3):
        x = RNG.uniform(-2, 2, 50)
        expected = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        assert_close(c.value(x), expected, 1e-13, "value")
        assert_close(c.grad(x), rosen_chained_grad(x), 1e-13, "gradient")
        assert_close(c.hessian(x), rosen_chained_hessian(x), 1e-13, "Hessian")
        v = RNG.standard_normal(50)
        assert_close(c.hvp(x, v), rosen_chained_hessian(x) @ v, 1e-13, "hvp")


def test_separable_rosenbrock_against_eager_and_finite_differences(rosen_kernels):
    c = rosen_kernels["separable"]
    x = RNG.uniform(-2, 2, 50)
    assert_close(c.grad(x), ad.grad(rosen_separable)(x), 1e-13, "gradient")
    assert_close(c.hessian(x), ad.hessian(rosen_separable)(x), 1e-13, "Hessian")
    # central differences of the compiled gradient in extended precision (longdouble steps)
    h = 1e-6
    fd = np.empty((50, 50))
    for j in range(50):
        e = np.zeros(50)
        e[j] = h
        fd[:, j] = (c.grad(x + e) - c.grad(x - e)) / (2 * h)
    assert_close(c.hessian(x), fd, 1e-6, "Hessian vs finite differences")


def test_sparse_hessian_equals_dense(rosen_kernels):
    for c in rosen_kernels.values():
        x = RNG.uniform(-2, 2, 50)
        sparse = c.hessian(x, sparse=True)
        assert sparse.shape == (50, 50)
        assert_close(sparse.toarray(), c.hessian(x), 1e-14, "sparse vs dense")


def test_code_size_does_not_grow_with_n():
    sizes = []
    for n in (10, 1000, 100_000):
        c = bridge.compile(rosen_chained, np.linspace(-1, 1, n), mode="array")
        text = c.source
        sizes.append(len(text.replace(str(n - 1), "N").replace(str(n), "N").splitlines()))
    assert sizes[0] == sizes[1] == sizes[2], sizes


# --- data passed at call time -----------------------------------------------------------------
def test_logistic_regression_with_data_parameters():
    n_obs, dim = 300, 8
    X = RNG.standard_normal((n_obs, dim))
    y = (RNG.uniform(size=n_obs) < 0.5).astype(float)
    w = RNG.standard_normal(dim) * 0.3
    c = bridge.compile(logistic, w, X, y, params=("X", "y"), mode="array")
    # the data is an argument of the kernel, not a constant: new data, same kernel
    for X2, y2 in [(X, y), (RNG.standard_normal((n_obs, dim)), 1.0 - y)]:
        z = X2 @ w
        p = 1.0 / (1.0 + np.exp(-z))
        value = np.mean(np.logaddexp(0.0, z) - y2 * z)
        assert_close(c.value(w, X2, y2), value, 1e-13, "value")
        assert_close(c.grad(w, X2, y2), X2.T @ (p - y2) / n_obs, 1e-12, "gradient")
        H = X2.T @ (X2 * (p * (1 - p))[:, None]) / n_obs
        assert_close(c.hessian(w, X2, y2), H, 1e-12, "Hessian")
    assert "X" not in c.source and len(c.source) < 20_000


def test_logsumexp_of_matrix_product():
    n = 30
    A = RNG.standard_normal((n, n))
    x = RNG.standard_normal(n)
    c = bridge.compile(lse_quadratic, x, A, params=1, mode="array")
    z = A @ x
    p = np.exp(z - z.max())
    p /= p.sum()
    assert_close(c.value(x, A), np.log(np.sum(np.exp(z - z.max()))) + z.max() + 0.5 * x @ x,
                 1e-13, "value")  # fmt: skip
    assert_close(c.grad(x, A), A.T @ p + x, 1e-12, "gradient")
    H = A.T @ (np.diag(p) - np.outer(p, p)) @ A + np.eye(n)
    assert_close(c.hessian(x, A), H, 1e-12, "Hessian")
    assert_close(c.hessian(x, A, sparse=True).toarray(), H, 1e-12, "sparse Hessian")


def test_mlp_loss_matches_eager():
    X = RNG.standard_normal((64, 2))
    y = np.sin(X[:, 0]) * X[:, 1]
    theta = RNG.standard_normal(161) * 0.5
    c = bridge.compile(mlp_loss, theta, X, y, params=(1, 2), mode="array")
    f = lambda t: mlp_loss(t, X, y)  # noqa: E731
    assert_close(c.value(theta, X, y), mlp_loss(ad.tensor(theta), X, y).data, 1e-13, "value")
    assert_close(c.grad(theta), ad.grad(f)(theta), 1e-12, "gradient")
    v = RNG.standard_normal(161)
    H = ad.hessian(f)(theta)
    assert_close(c.hvp(theta, v), H @ v, 1e-11, "hvp")
    assert_close(c.hessian(theta), H, 1e-11, "Hessian")


def test_float32_kernels():
    x = np.linspace(-1.2, 1.0, 40)
    c = bridge.compile(rosen_chained, x, dtype="float32", derivatives=("grad",), mode="array")
    x32 = x.astype(np.float32)
    assert c.value(x32).dtype == np.float32
    g = c.grad(x32)
    assert g.dtype == np.float32
    assert_close(g, rosen_chained_grad(x32.astype(np.float64)), 1e-5, "float32 gradient")


def test_pairwise_summation_is_accurate():
    n = 1_000_003
    values = np.random.default_rng(3).uniform(0.0, 1.0, n).astype(np.float32)

    def total(x):
        return ad.sum(x)

    c = bridge.compile(total, values, dtype="float32", derivatives=("value",), mode="array")
    exact = math.fsum(values.astype(np.float64))
    ours = abs(float(c.value(values)) - exact)
    numpy_error = abs(float(np.sum(values)) - exact)
    assert ours <= max(4 * numpy_error, 64 * np.finfo(np.float32).eps * exact)


# --- modes, errors, pickling ------------------------------------------------------------------
def test_auto_mode_picks_by_size():
    small = bridge.compile(rosen_chained, np.zeros(5), derivatives=("value",))
    assert isinstance(small, bridge.Compiled)
    large = bridge.compile(rosen_chained, np.zeros(1001), derivatives=("value",))
    assert isinstance(large, ArrayCompiled)
    with pytest.raises(ValueError, match="unknown mode"):
        bridge.compile(rosen_chained, np.zeros(5), mode="fast")


def test_shape_errors_name_the_expected_shapes(rosen_kernels):
    c = rosen_kernels["chained"]
    with pytest.raises(ShapeError, match=r"grad: expected x of shape \(50,\), got shape \(49,\)"):
        c.grad(np.zeros(49))
    with pytest.raises(ShapeError, match=r"hvp: expected v of shape \(50,\)"):
        c.hvp(np.zeros(50), np.zeros(3))


def test_parameter_shape_errors():
    A = np.eye(70)
    c = bridge.compile(lse_quadratic, np.zeros(70), A, params=1, derivatives=("value",))
    assert isinstance(c, ArrayCompiled)
    with pytest.raises(ShapeError, match=r"expected parameter 0 of shape \(70, 70\)"):
        c.value(np.zeros(70), np.eye(3))
    with pytest.raises(TypeError, match="expected 1 parameter array"):
        c.value(np.zeros(70), A, A)
    with pytest.raises(ValueError, match="add 'grad'"):
        c.grad(np.zeros(70))


def test_array_mode_needs_parameters_listed():
    with pytest.raises(ValueError, match="argument 1 is floating point but not in params"):
        bridge.compile(lse_quadratic, np.zeros(3), np.eye(3), mode="array")


def test_unsupported_op_is_named():
    mystery = Op("mystery", 1, np.negative, None, None, None)
    graph, _ = ad.trace_graph(lambda x: ad.sum(apply(mystery, x)), np.zeros(3))
    with pytest.raises(bridge.UnsupportedExpressionError, match="mystery"):
        plan(graph)


def test_pickling_is_refused_with_a_reason(rosen_kernels):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(rosen_kernels["chained"])


# --- warm start -------------------------------------------------------------------------------
_WARM = textwrap.dedent(
    """
    import sys
    import numpy as np
    import autodiff as ad
    import bridge

    def rosen(x):
        return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    x = np.linspace(-1.0, 1.0, 2000)
    c = bridge.compile(rosen, x, mode="array", derivatives=("grad",))
    value, grad = c.value_and_grad(x)
    print(repr(float(value)), float(np.abs(grad).sum()))
    mods = ("sympy", "symdiff.lift", "bridge.arrays.emit")
    print(*(name in sys.modules for name in mods))
    """
)


def test_warm_start_in_a_new_process_needs_no_sympy(tmp_path):
    script = tmp_path / "warm.py"
    script.write_text(_WARM)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    runs = [
        subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )  # fmt: skip
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    cold, warm = (run.stdout.split("\n") for run in runs)
    assert cold[0] == warm[0]
    assert cold[1].split()[2] == "True"  # the cold run generated the module
    assert warm[1] == "False False False", warm  # the warm run: no SymPy, no lift, no codegen


# --- hybriddiff.minimize ----------------------------------------------------------------------
def test_minimize_takes_ready_array_kernels(rosen_kernels):
    import hybriddiff as hd

    x0 = np.ones(50)
    x0[0::2] = -1.2
    res = hd.minimize(rosen_kernels["chained"], x0, tol=1e-10)
    assert res.success, res.message
    # a stationary point (chained Rosenbrock also has a local minimum near x0 = -1)
    assert np.max(np.abs(rosen_chained_grad(res.x))) <= 1e-8
    res = hd.minimize(rosen_kernels["separable"], x0, tol=1e-10)
    assert res.success, res.message
    assert_close(res.x, np.ones(50), 1e-8, "separable minimiser")


def test_minimize_chooses_array_mode_for_large_or_dense_problems():
    from hybriddiff.optimize import _large_or_dense

    assert not _large_or_dense(np.zeros(10), ())
    assert _large_or_dense(np.zeros(2000), ())
    assert _large_or_dense(np.zeros(10), (np.eye(40),))  # dense data
    assert not _large_or_dense(np.zeros(10), (3, "label"))

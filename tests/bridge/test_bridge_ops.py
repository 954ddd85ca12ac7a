"""Compiled == lifted == eager autodiff for every op of the table, one point and batches."""

from __future__ import annotations

import numpy as np
import op_specs
import pytest
from bridge_cases import REASONS, ROWS, assert_close, eager, sample

from autodiff.engine import toposort
from autodiff.ops import ALL_OPS
from autodiff.tensor import tensor


def _rtol(row, dtype: str) -> float:
    """The op-spec table's compile tolerance for ``row`` in ``dtype``."""
    return op_specs.tolerance(row, f"compile_{dtype}")


ROW_IDS = [r.label for r in ROWS]


def _weights(k: int) -> np.ndarray:
    w = np.zeros(len(ROWS))
    w[k] = 1.0
    return w


def _recorded_ops(row) -> set[str]:
    x = tensor(sample(row, np.random.default_rng(1)), requires_grad=True)
    return {t._op.name for t in toposort([row.fn(x)]) if t._op is not None}


def test_op_table_every_op_has_a_row_or_a_reason():
    covered = {op for row in ROWS for op in row.ops}
    names = {op.name for op in ALL_OPS}
    missing = names - covered - set(REASONS)
    assert not missing, f"ops with neither a bridge test row nor a reason: {sorted(missing)}"
    assert covered <= names, f"rows name unknown ops: {sorted(covered - names)}"
    assert set(REASONS) <= names


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_op_table_row_records_its_differentiable_ops(row):
    recorded = _recorded_ops(row)
    differentiable = {op.name for op in ALL_OPS if op.differentiable}
    claimed = set(row.ops) & differentiable
    assert claimed <= recorded, f"{row.label}: {sorted(claimed - recorded)} never recorded"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("k", range(len(ROWS)), ids=ROW_IDS)
def test_compiled_op_matches_eager_at_one_point(k, dtype, op_blocks, op_kernels):
    compiled = op_kernels("cpu", dtype)
    x = op_blocks.points(np.random.default_rng(100 + k)).astype(dtype)
    w, s, row = _weights(k), op_blocks.slices[k], ROWS[k]
    value, grad, hess = eager(row, x[s])
    label = f"{row.label} {dtype}"
    assert_close(compiled.value(x, w), value, _rtol(row, dtype), f"{label} value")
    assert_close(compiled.grad(x, w)[s], grad, _rtol(row, dtype), f"{label} grad")
    assert_close(compiled.hessian(x, w)[s, s], hess, _rtol(row, dtype), f"{label} hessian")
    sparse = compiled.hessian(x, w, sparse=True).toarray()
    assert_close(sparse[s, s], hess, _rtol(row, dtype), f"{label} sparse hessian")


@pytest.mark.parametrize("k", range(len(ROWS)), ids=ROW_IDS)
def test_lifted_op_matches_eager_and_compiled(k, op_blocks, op_faces, op_kernels):
    compiled = op_kernels("cpu", "float64")
    x = op_blocks.points(np.random.default_rng(200 + k))
    w, s, row = _weights(k), op_blocks.slices[k], ROWS[k]
    value, grad, hess = eager(row, x[s])
    lifted = op_faces(x, w)
    for face, what in ((lifted, "lifted"), (compiled.value_and_grad(x, w), "compiled")):
        assert_close(face[0], value, 1e-10, f"{row.label} {what} value")
        assert_close(face[1][s], grad, 1e-10, f"{row.label} {what} grad")
    assert_close(lifted[2][s, s], hess, 1e-10, f"{row.label} lifted hessian")
    assert_close(compiled.hessian(x, w), lifted[2], 1e-10, f"{row.label} compiled vs lifted")


@pytest.mark.parametrize(
    ("target", "dtype"), [("cpu", "float64"), ("cpu", "float32"), ("parallel", "float64")]
)
def test_compiled_ops_match_eager_on_a_batch(target, dtype, op_blocks, op_kernels):
    compiled = op_kernels(target, dtype)
    X = op_blocks.points(np.random.default_rng(7), n_points=4).astype(dtype)
    for k, (row, s) in enumerate(zip(ROWS, op_blocks.slices)):
        w = _weights(k)
        values, (v2, grads), hessians = (
            compiled.value(X, w),
            compiled.value_and_grad(X, w),
            compiled.hessian(X, w),
        )
        sparse = compiled.hessian(X, w, sparse=True)
        assert (
            values.shape == (4,)
            and grads.shape == X.shape
            and hessians.shape == (4,) + 2 * (X.shape[1],)
        )
        for i in range(len(X)):
            value, grad, hess = eager(row, X[i, s])
            label = f"{row.label} {target} {dtype} point {i}"
            assert_close(values[i], value, _rtol(row, dtype), f"{label} value")
            assert_close(v2[i], value, _rtol(row, dtype), f"{label} value_and_grad")
            assert_close(grads[i, s], grad, _rtol(row, dtype), f"{label} grad")
            assert_close(hessians[i, s, s], hess, _rtol(row, dtype), f"{label} hessian")
            assert_close(compiled.csr(sparse[i]).toarray(), hessians[i], 0.0, f"{label} sparse")


def test_compiled_float32_kernels_return_float32(op_blocks, op_kernels):
    compiled = op_kernels("cpu", "float32")
    x = op_blocks.points(np.random.default_rng(3))
    w = np.ones(len(ROWS))
    assert compiled.grad(x, w).dtype == np.float32
    assert compiled.hessian(x[None], w).dtype == np.float32
    assert isinstance(compiled.value(x, w), np.float32)

"""target="cuda" under numba's simulator: the same agreement tests, small batches.

Run with ``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/bridge/cudasim`` (numba reads the
variable at import, hence the separate process). On a machine with a GPU the same file runs
without the variable set.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from bridge_cases import ROWS, assert_close, eager
from numba import cuda

import bridge
from bridge.runners import is_device_array

RTOL = {"float64": 1e-10, "float32": 1e-4}


def _weights(k: int) -> np.ndarray:
    w = np.zeros(len(ROWS))
    w[k] = 1.0
    return w


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_ops_match_eager_on_a_batch(dtype, op_blocks, op_kernels):
    compiled = op_kernels("cuda", dtype)
    X = op_blocks.points(np.random.default_rng(11), n_points=2).astype(dtype)
    for k, (row, s) in enumerate(zip(ROWS, op_blocks.slices)):
        w = _weights(k)
        values, (v2, grads), hessians = (
            compiled.value(X, w),
            compiled.value_and_grad(X, w),
            compiled.hessian(X, w),
        )
        for i in range(len(X)):
            value, grad, hess = eager(row, X[i, s])
            label = f"{row.label} cuda {dtype} point {i}"
            assert_close(values[i], value, RTOL[dtype], f"{label} value")
            assert_close(v2[i], value, RTOL[dtype], f"{label} value_and_grad")
            assert_close(grads[i, s], grad, RTOL[dtype], f"{label} grad")
            assert_close(hessians[i, s, s], hess, RTOL[dtype], f"{label} hessian")


def test_cuda_single_point_and_sparse_match_cpu(op_blocks, op_kernels):
    gpu, cpu = op_kernels("cuda", "float64"), op_kernels("cpu", "float64")
    x = op_blocks.points(np.random.default_rng(12))
    w = np.linspace(0.5, 1.5, len(ROWS))
    assert_close(gpu.value(x, w), cpu.value(x, w), 1e-12, "value")
    assert_close(gpu.grad(x, w), cpu.grad(x, w), 1e-12, "grad")
    assert_close(gpu.hessian(x, w), cpu.hessian(x, w), 1e-12, "hessian")
    sparse = gpu.hessian(x, w, sparse=True)
    assert_close(sparse.toarray(), cpu.hessian(x, w), 1e-12, "sparse hessian")


def test_cuda_device_arrays_stay_on_the_device(op_blocks, op_kernels):
    compiled = op_kernels("cuda", "float64")
    X = op_blocks.points(np.random.default_rng(13), n_points=2)
    w = np.ones(len(ROWS))
    dX, dw = cuda.to_device(X), cuda.to_device(w)
    dv, dg = compiled.value_and_grad(dX, dw)
    dh = compiled.hessian(dX, dw)
    for out in (dv, dg, dh):
        assert is_device_array(out) and hasattr(out, "copy_to_host")
    assert dh.shape == (2, X.shape[1], X.shape[1])
    assert_close(dg.copy_to_host(), compiled.grad(X, w), 0.0, "device grad")
    assert_close(dh.copy_to_host(), compiled.hessian(X, w), 0.0, "device hessian")


def test_cuda_device_array_of_the_wrong_dtype_is_rejected(op_blocks, op_kernels):
    compiled = op_kernels("cuda", "float64")
    X = op_blocks.points(np.random.default_rng(14), n_points=2).astype(np.float32)
    with pytest.raises(TypeError, match="device array has dtype float32"):
        compiled.grad(cuda.to_device(X), np.ones(len(ROWS)))


def test_cuda_unsupported_function_names_the_target():
    x = sp.Symbol("x", real=True)
    with pytest.raises(bridge.UnsupportedExpressionError, match="'cuda'.*factorial"):
        bridge.compile(sp.factorial(x), wrt=[x], target="cuda", derivatives=["value"])

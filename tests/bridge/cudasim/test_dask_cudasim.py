"""target="cuda" with Dask arrays, under numba's simulator (or a real GPU without the variable).

NumPy chunks are copied to the device per chunk and the results copied back: the lazy results
must equal the NumPy-input results of the same CUDA kernels exactly, and the CPU kernels to
rounding. CuPy chunks stay on the device (run where CuPy is installed: a GPU machine).
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import sympy as sp

import bridge

x, y, z, a = sp.symbols("x y z a", real=True)
EXPR = (
    sp.exp(-(x**2 + y**2)) * sp.sin(3 * z) + sp.log(1 + x**2 * y**2 + z**2) + a * sp.tanh(x * y * z)
)
P = np.array([0.75])
RTOL = {"float64": 1e-12, "float32": 2e-5}


@pytest.fixture(scope="module")
def kernels():
    """CUDA and CPU kernels of EXPR, per dtype."""
    out = {}
    for dtype in ("float64", "float32"):
        for target in ("cuda", "cpu"):
            out[target, dtype] = bridge.compile(
                EXPR, wrt=[x, y, z], params=[a], target=target, dtype=dtype
            )
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_kernels_on_dask_chunks_equal_numpy_input(kernels, dtype):
    gpu, cpu = kernels["cuda", dtype], kernels["cpu", dtype]
    X = np.random.default_rng(21).normal(size=(29, 3)).astype(dtype)
    dX = da.from_array(X, chunks=(8, 2))  # 8 does not divide 29; trailing axis rechunked
    lazy = {
        "value": gpu.value(dX, P),
        "grad": gpu.grad(dX, P),
        "value_and_grad": gpu.value_and_grad(dX, P),
        "hessian": gpu.hessian(dX, P),
        "sparse": gpu.hessian(dX, P, sparse=True),
    }
    assert lazy["hessian"].chunks == ((8, 8, 8, 5), (3,), (3,))
    (got,) = dask.compute(lazy, scheduler="threads")
    want = {
        "value": gpu.value(X, P),
        "grad": gpu.grad(X, P),
        "hessian": gpu.hessian(X, P),
        "sparse": gpu.hessian(X, P, sparse=True),
    }
    for kind in ("value", "grad", "hessian", "sparse"):
        assert isinstance(got[kind], np.ndarray) and got[kind].dtype == np.dtype(dtype)
        assert np.array_equal(got[kind], want[kind]), kind
    v, g = gpu.value_and_grad(X, P)  # its value comes from the gradient kernel
    assert np.array_equal(got["value_and_grad"][0], v)
    assert np.array_equal(got["value_and_grad"][1], g)
    np.testing.assert_allclose(got["hessian"], cpu.hessian(X, P), rtol=RTOL[dtype], atol=1e-6)
    np.testing.assert_allclose(got["grad"], cpu.grad(X, P), rtol=RTOL[dtype], atol=1e-6)


def test_cuda_dask_errors_are_the_numpy_errors(kernels):
    gpu = kernels["cuda", "float64"]
    with pytest.raises(Exception) as from_numpy:
        gpu.hessian(np.zeros((4, 2)), P)
    with pytest.raises(type(from_numpy.value)) as from_dask:
        gpu.hessian(da.zeros((4, 2)), P)
    assert str(from_dask.value) == str(from_numpy.value)
    assert gpu.hessian(da.zeros((0, 3)), P).compute().shape == (0, 3, 3)


def test_cupy_chunks_stay_on_the_device(kernels):
    cupy = pytest.importorskip("cupy")  # a GPU machine with CuPy; not under the simulator
    gpu, cpu = kernels["cuda", "float64"], kernels["cpu", "float64"]
    X = np.random.default_rng(22).normal(size=(1000, 3))
    dX = da.from_array(cupy.asarray(X), chunks=(300, 3), asarray=False)
    h = gpu.hessian(dX, P)
    assert isinstance(h._meta, cupy.ndarray)
    out = h.compute(scheduler="threads")
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(out), cpu.hessian(X, P), rtol=1e-12, atol=1e-12)
    v, g = dask.compute(*gpu.value_and_grad(dX, P), scheduler="threads")
    assert isinstance(v, cupy.ndarray) and isinstance(g, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(g), cpu.grad(X, P), rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="takes host arrays"):
        cpu.hessian(dX, P)  # CPU kernels refuse device chunks at call time

"""How a :class:`~bridge.compiled.Compiled` calls its kernels on each target.

``CpuRunner`` calls the ``njit`` point functions directly for one point and the batch
wrappers (serial or ``prange``) for a batch. ``CudaRunner`` launches one thread per point; it
takes host arrays (copied in, results copied back) or device arrays (used in place, results
left on the device).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .compiled import Compiled

THREADS_PER_BLOCK = 128


def is_device_array(x) -> bool:
    """True for CUDA device arrays (numba's, the simulator's, or any exposing the interface)."""
    if isinstance(x, np.ndarray):
        return False
    return getattr(x, "__cuda_ndarray__", False) or hasattr(x, "__cuda_array_interface__")


class CpuRunner:
    """Serial or parallel CPU evaluation through the generated ``njit`` functions."""

    def __init__(self, compiled: Compiled):
        self.compiled = compiled
        self.module = compiled.module
        self.scalar = compiled.dtype.type

    def check_device(self, x, who: str):
        """Reject device arrays: CPU kernels read host memory."""
        raise TypeError(
            f"{who}: target {self.compiled.target!r} takes host arrays; copy device arrays to "
            "the host first, or compile with target='cuda'"
        )

    def value(self, x, p):
        """Value at one point (a scalar) or at every row of a batch."""
        if x.ndim == 1:
            return self.scalar(self.module.value_point(x, p))
        out = np.empty(x.shape[0], dtype=self.compiled.dtype)
        self.module.value_batch(x, p, out)
        return out

    def grad(self, x, p):
        """``(value, gradient)`` at one point or at every row of a batch."""
        if x.ndim == 1:
            g = np.empty(self.compiled.n, dtype=self.compiled.dtype)
            return self.scalar(self.module.grad_point(x, p, g)), g
        v = np.empty(x.shape[0], dtype=self.compiled.dtype)
        g = np.empty(x.shape, dtype=self.compiled.dtype)
        self.module.grad_batch(x, p, v, g)
        return v, g

    def guards(self, x, p) -> np.ndarray:
        """Guard codes per point (0: every traced branch taken; k: guard k-1 violated)."""
        if x.ndim == 1:
            return np.array([self.module.guard_point(x, p)], dtype=np.int64)
        out = np.empty(x.shape[0], dtype=np.int64)
        self.module.guard_batch(x, p, out)
        return out

    def hessian(self, x, p, sparse: bool):
        """Dense Hessian(s), or CSR (one point) / values (batch) with ``sparse``."""
        c = self.compiled
        if sparse:
            shape, idx = (c.nnz,), c.idx_sparse
        else:
            shape, idx = (c.n * c.n,), c.idx_dense
        if x.ndim == 1:
            out = np.zeros(shape, dtype=c.dtype)
            c.module.hess_point(x, p, out, idx)
            return c.csr(out) if sparse else out.reshape(c.n, c.n)
        out = np.zeros((x.shape[0],) + shape, dtype=c.dtype)
        c.module.hess_batch(x, p, out, idx)
        return out if sparse else out.reshape(x.shape[0], c.n, c.n)


class CudaRunner:
    """One CUDA thread per point; a single point runs as a batch of one."""

    def __init__(self, compiled: Compiled):
        from numba import cuda

        self.cuda = cuda
        self.compiled = compiled
        self.module = compiled.module
        self._device_idx: dict[bool, object] = {}

    def check_device(self, x, who: str):
        """A numba device array of the kernel's dtype and shape, viewing ``x`` without a copy."""
        if not getattr(x, "__cuda_ndarray__", False):  # CuPy, PyTorch...: a zero-copy view
            x = self.cuda.as_cuda_array(x)
        c = self.compiled
        if x.dtype != c.dtype:
            raise TypeError(f"{who}: device array has dtype {x.dtype}, kernel is {c.dtype}")
        if not (x.ndim == 1 and x.shape[0] == c.n or x.ndim == 2 and x.shape[1] == c.n):
            raise ValueError(f"{who}: expected shape ({c.n},) or (N, {c.n}), got {x.shape}")
        return x

    def _launch(self, kernel, x, p, outs: list[tuple[int, ...]], *extra):
        """Run ``kernel`` over the rows of ``x``; return outputs on the caller's side."""
        cuda = self.cuda
        on_device = is_device_array(x)
        X = x if x.ndim == 2 else x.reshape(1, self.compiled.n)
        dX = X if on_device else cuda.to_device(X)
        dp = p if is_device_array(p) else cuda.to_device(p)
        n_points = X.shape[0]
        douts = [cuda.device_array((n_points,) + s, dtype=self.compiled.dtype) for s in outs]
        blocks = max(1, (n_points + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)
        kernel[blocks, THREADS_PER_BLOCK](dX, dp, *douts, *extra)
        results = douts if on_device else [d.copy_to_host() for d in douts]
        return [r[0] for r in results] if x.ndim == 1 else results

    def guards(self, x, p) -> np.ndarray:
        """Guard codes per point on the host (0: every traced branch taken)."""
        (codes,) = self._launch(self.module.guard_kernel, x, p, [()])
        if is_device_array(codes):
            codes = codes.copy_to_host()
        return np.atleast_1d(np.asarray(codes)).astype(np.int64)

    def value(self, x, p):
        """Values, one thread per point."""
        (v,) = self._launch(self.module.value_kernel, x, p, [()])
        return v

    def grad(self, x, p):
        """``(values, gradients)``, one thread per point."""
        v, g = self._launch(self.module.grad_kernel, x, p, [(), (self.compiled.n,)])
        return v, g

    def hessian(self, x, p, sparse: bool):
        """Hessians (dense or CSR values), one thread per point."""
        c = self.compiled
        if sparse not in self._device_idx:
            idx = c.idx_sparse if sparse else c.idx_dense
            self._device_idx[sparse] = self.cuda.to_device(idx)
        width = c.nnz if sparse else c.n * c.n
        (h,) = self._launch(self.module.hess_kernel, x, p, [(width,)], self._device_idx[sparse])
        if sparse:
            return c.csr(h) if x.ndim == 1 and not is_device_array(x) else h
        shape = (c.n, c.n) if x.ndim == 1 else (h.shape[0], c.n, c.n)
        return h.reshape(shape)

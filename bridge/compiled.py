"""Compile: the object users call — value, gradient and Hessian kernels behind one interface.

A :class:`Compiled` wraps one generated module (see :mod:`bridge.codegen`). Per call it only
checks the input's shape and dtype and preallocates outputs; everything else (index tables,
CSR structure, default parameters) is computed once here. Pickling stores the generated source,
not the compiled code: unpickling re-imports it from the cache folder (writing it again if it
is missing), so a compiled object can be sent to multiprocessing or Dask workers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from autodiff import ShapeError

from . import cache
from .runners import CpuRunner, CudaRunner, is_device_array


class Compiled:
    """Compiled value, gradient and Hessian kernels of one scalar expression.

    Call with one point ``x`` of shape ``(n,)`` or a batch ``X`` of shape ``(N, n)``; pass the
    parameter vector ``p`` when the expression has parameters (changing it never recompiles).

    Attributes
    ----------
    source : str
        The generated module source, for reading and debugging.
    hessian_structure : tuple of ndarray
        ``(rows, cols)`` of the structural non-zeros, both triangles, sorted row-major: the
        fixed pattern of ``hessian(x, sparse=True)``.
    """

    def __init__(
        self,
        module: ModuleType,
        *,
        expr: Any = None,
        variables: tuple = (),
        parameters: tuple = (),
        default_params: np.ndarray | None = None,
    ):
        self.module = module
        self.source: str = module.__hybriddiff_source__
        self.target: str = module.TARGET
        self.dtype = np.dtype(module.DTYPE)
        self.derivatives: tuple[str, ...] = module.DERIVATIVES
        self.variable_names: tuple[str, ...] = module.VARIABLES
        self.parameter_names: tuple[str, ...] = module.PARAMETERS
        self.n = len(self.variable_names)
        self.n_params = len(self.parameter_names)
        self.expr, self.variables, self.parameters = expr, variables, parameters
        rows, cols = module.HESS_ROWS, module.HESS_COLS
        self.hessian_structure = (rows, cols)
        self.nnz = len(rows)
        self.idx_dense = rows * self.n + cols
        self.idx_sparse = np.arange(self.nnz, dtype=np.int64)
        self.indptr = np.searchsorted(rows, np.arange(self.n + 1)).astype(np.int64)
        self.default_params = self._default_params(default_params)
        self._run = CudaRunner(self) if self.target == "cuda" else CpuRunner(self)

    def _default_params(self, values) -> np.ndarray | None:
        if values is None:
            return np.empty(0, dtype=self.dtype) if self.n_params == 0 else None
        values = np.ascontiguousarray(values, dtype=self.dtype).reshape(-1)
        if values.shape[0] != self.n_params:
            raise ShapeError(f"{self.n_params} parameter(s) expected, got {values.shape[0]}")
        return values

    def __repr__(self) -> str:
        return (
            f"Compiled(n={self.n}, params={self.n_params}, target={self.target!r}, "
            f"dtype={self.dtype.name!r}, derivatives={self.derivatives}, nnz={self.nnz})"
        )

    def __reduce__(self):
        return _rebuild, (self.source, self.default_params if self.n_params else None)

    # --- argument checks (kept cheap: they run on every call) --------------------------------
    def _x(self, x, who: str):
        if is_device_array(x):
            _refuse_complex(x, who, "x")
            return self._run.check_device(x, who)
        if type(x) is not np.ndarray or x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(_refuse_complex(x, who, "x"), dtype=self.dtype)
        if x.ndim == 1 and x.shape[0] == self.n or x.ndim == 2 and x.shape[1] == self.n:
            return x
        raise ShapeError(
            f"{who}: expected a point of shape ({self.n},) or a batch of shape (N, {self.n}), "
            f"got shape {x.shape}"
        )

    def _p(self, p, who: str):
        if p is None:
            if self.default_params is None:
                names = ", ".join(self.parameter_names)
                raise TypeError(f"{who}: pass the {self.n_params} parameter(s) ({names}) as p")
            return self.default_params
        if is_device_array(p):
            return _refuse_complex(p, who, "p")
        if type(p) is not np.ndarray or p.dtype != self.dtype or p.ndim != 1:
            p = np.ascontiguousarray(_refuse_complex(p, who, "p"), dtype=self.dtype).reshape(-1)
        if p.shape[0] != self.n_params:
            raise ShapeError(f"{who}: expected {self.n_params} parameter(s), got {p.shape[0]}")
        return p

    def _need(self, kind: str, who: str) -> None:
        if kind not in self.derivatives:
            raise ValueError(
                f"{who}: this object was compiled with derivatives={self.derivatives}; "
                f"add {kind!r} to compile it"
            )

    # --- public evaluation --------------------------------------------------------------------
    def value(self, x, p=None):
        """The expression's value at ``x`` (a scalar) or at every row of ``X`` (shape (N,))."""
        x = self._x(x, "value")
        return self._run.value(x, self._p(p, "value"))

    def value_and_grad(self, x, p=None):
        """``(value, gradient)`` at one point or at every row of a batch."""
        self._need("grad", "value_and_grad")
        x = self._x(x, "value_and_grad")
        return self._run.grad(x, self._p(p, "value_and_grad"))

    def grad(self, x, p=None):
        """The gradient: shape (n,) for one point, (N, n) for a batch."""
        self._need("grad", "grad")
        x = self._x(x, "grad")
        return self._run.grad(x, self._p(p, "grad"))[1]

    def hessian(self, x, p=None, sparse: bool = False):
        """The Hessian: (n, n) or (N, n, n); ``sparse=True`` gives a CSR matrix (batch: values).

        With ``sparse=True`` one point gives a ``scipy.sparse.csr_matrix`` whose pattern is
        :attr:`hessian_structure`; a batch gives the (N, nnz) array of its values.
        """
        self._need("hessian", "hessian")
        x = self._x(x, "hessian")
        return self._run.hessian(x, self._p(p, "hessian"), sparse)

    def hessp(self, x, v, p=None):
        """The Hessian-vector product ``H(x) @ v`` at one point."""
        v = np.asarray(_refuse_complex(v, "hessp", "v"))
        return self.hessian(x, p, sparse=self.nnz < self.n * self.n) @ v

    def csr(self, data: np.ndarray):
        """A CSR matrix with the Hessian's fixed structure and the given values."""
        from scipy.sparse import csr_matrix

        data = _refuse_complex(data, "csr", "data")
        shape = (self.n, self.n)
        return csr_matrix((data, self.hessian_structure[1], self.indptr), shape=shape)


def _refuse_complex(a, who: str, what: str):
    """``a`` (as an array when it was not one), or TypeError when its dtype is complex.

    NumPy would drop the imaginary part with only a ComplexWarning: a silent wrong number.
    """
    dtype = getattr(a, "dtype", None)
    if dtype is None:
        a = np.asarray(a)
        dtype = a.dtype
    if np.dtype(dtype).kind == "c":
        raise TypeError(
            f"{who}: complex input is not supported ({what} has dtype {np.dtype(dtype).name}); "
            "compiled kernels are real-valued: pass the real part explicitly if that is meant"
        )
    return a


def _rebuild(source: str, default_params) -> Compiled:
    """Unpickle: import the generated source from the cache (rewriting it if needed)."""
    return Compiled(cache.load_source(source), default_params=default_params)

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
from .errors import GuardError
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
        # (condition, taken, where) per branch frozen by compile(..., guards=True)
        self.guards: tuple[tuple[str, bool, str], ...] = getattr(module, "GUARDS", ())

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
            return self._run.check_device(x, who)
        if type(x) is not np.ndarray or x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=self.dtype)
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
            return p
        if type(p) is not np.ndarray or p.dtype != self.dtype or p.ndim != 1:
            p = np.ascontiguousarray(p, dtype=self.dtype).reshape(-1)
        if p.shape[0] != self.n_params:
            raise ShapeError(f"{who}: expected {self.n_params} parameter(s), got {p.shape[0]}")
        return p

    def _need(self, kind: str, who: str) -> None:
        if kind not in self.derivatives:
            raise ValueError(
                f"{who}: this object was compiled with derivatives={self.derivatives}; "
                f"add {kind!r} to compile it"
            )

    def _describe_point(self, x) -> str:
        host = np.asarray(x if isinstance(x, np.ndarray) else x.copy_to_host())
        if self.n <= 8:
            return ", ".join(f"{n} = {v!r}" for n, v in zip(self.variable_names, host.tolist()))
        return f"x = {np.array2string(host, threshold=8)}"

    def _check_guards(self, x, p, who: str) -> None:
        """Raise :class:`~bridge.GuardError` when a point takes another traced branch."""
        codes = self._run.guards(x, p)
        bad = np.flatnonzero(codes)
        if bad.size == 0:
            return
        code = int(codes[bad[0]])
        cond, taken, where = self.guards[code - 1]
        rows = bad[codes[bad] == code]
        guard = cond if taken else f"not ({cond})"
        traced = f" (traced at {where})" if where else ""
        if x.ndim == 1:
            at = f"the input {self._describe_point(x)}"
        else:
            shown = ", ".join(str(i) for i in rows[:5]) + (", ..." if rows.size > 5 else "")
            first = self._describe_point(x[int(rows[0])])
            at = f"{rows.size} of {x.shape[0]} points (indices {shown}; X[{rows[0]}]: {first})"
            if bad.size > rows.size:
                at += f"; {bad.size} points violate some guard"
        raise GuardError(
            f"{who}: guard `{guard}`{traced} does not hold at {at}: the function was compiled "
            f"on the branch where `{cond}` is {taken}, and its kernels are not valid on the "
            "other branch (write the branch with ad.where to compile both sides)",
            guard=guard,
            indices=tuple(int(i) for i in rows) if x.ndim == 2 else (0,),
        )

    # --- public evaluation --------------------------------------------------------------------
    def value(self, x, p=None):
        """The expression's value at ``x`` (a scalar) or at every row of ``X`` (shape (N,))."""
        x, p = self._x(x, "value"), self._p(p, "value")
        if self.guards:
            self._check_guards(x, p, "value")
        return self._run.value(x, p)

    def value_and_grad(self, x, p=None):
        """``(value, gradient)`` at one point or at every row of a batch."""
        self._need("grad", "value_and_grad")
        x, p = self._x(x, "value_and_grad"), self._p(p, "value_and_grad")
        if self.guards:
            self._check_guards(x, p, "value_and_grad")
        return self._run.grad(x, p)

    def grad(self, x, p=None):
        """The gradient: shape (n,) for one point, (N, n) for a batch."""
        self._need("grad", "grad")
        x, p = self._x(x, "grad"), self._p(p, "grad")
        if self.guards:
            self._check_guards(x, p, "grad")
        return self._run.grad(x, p)[1]

    def hessian(self, x, p=None, sparse: bool = False):
        """The Hessian: (n, n) or (N, n, n); ``sparse=True`` gives a CSR matrix (batch: values).

        With ``sparse=True`` one point gives a ``scipy.sparse.csr_matrix`` whose pattern is
        :attr:`hessian_structure`; a batch gives the (N, nnz) array of its values.
        """
        self._need("hessian", "hessian")
        x, p = self._x(x, "hessian"), self._p(p, "hessian")
        if self.guards:
            self._check_guards(x, p, "hessian")
        return self._run.hessian(x, p, sparse)

    def hessp(self, x, v, p=None):
        """The Hessian-vector product ``H(x) @ v`` at one point."""
        return self.hessian(x, p, sparse=self.nnz < self.n * self.n) @ np.asarray(v)

    def csr(self, data: np.ndarray):
        """A CSR matrix with the Hessian's fixed structure and the given values."""
        from scipy.sparse import csr_matrix

        shape = (self.n, self.n)
        return csr_matrix((data, self.hessian_structure[1], self.indptr), shape=shape)


def _rebuild(source: str, default_params) -> Compiled:
    """Unpickle: import the generated source from the cache (rewriting it if needed)."""
    return Compiled(cache.load_source(source), default_params=default_params)

"""Compile: the object users call — value, gradient and Hessian kernels behind one interface.

A :class:`Compiled` wraps one generated module (see :mod:`bridge.codegen`). Per call it only
checks the input's shape and dtype and preallocates outputs; everything else (index tables,
CSR structure, default parameters) is computed once here.

Pickling stores the request, never code: the expression, variables and parameters as
``sympy.srepr`` text plus target, dtype, derivative kinds and default parameters, all plain
data handed to :func:`_rebuild`. Unpickling finds the kernel through the cache's authenticated
index (a warm worker skips differentiation and numba's compile), or parses the text with a
parser that cannot run code and generates the kernel again. So a compiled object can be sent to
multiprocessing or Dask workers, and a crafted payload cannot make it execute anything.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from autodiff import ShapeError

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
        request: tuple[str, str, str] | None = None,
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
        self._symbolic = None if expr is None else (expr, tuple(variables), tuple(parameters))
        self._request = request
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

    # --- the symbolic request (kept for pickling; parsed lazily after unpickling) -----------------
    def _symbols(self) -> tuple:
        if self._symbolic is None:
            if self._request is None:
                return None, (), ()
            from .api import _parse_request

            problem = _parse_request(self._request)
            self._symbolic = (problem.expr, problem.variables, problem.parameters)
        return self._symbolic

    @property
    def expr(self):
        """The compiled SymPy expression (None for an object built from a bare module)."""
        return self._symbols()[0]

    @property
    def variables(self) -> tuple:
        """The SymPy symbols of ``x``, in order."""
        return self._symbols()[1]

    @property
    def parameters(self) -> tuple:
        """The SymPy symbols of ``p``, in order."""
        return self._symbols()[2]

    def __reduce__(self):
        if self._request is None:
            if self._symbolic is None:
                raise TypeError(
                    "Compiled: cannot pickle an object built from a bare module: pickles carry "
                    "the request (expression and options), never code; build it with "
                    "bridge.compile"
                )
            import sympy as sp

            self._request = tuple(sp.srepr(part) for part in self._symbolic)
        defaults = None
        if self.n_params and self.default_params is not None:
            defaults = tuple(float(v) for v in self.default_params)
        state = {
            "format": _PICKLE_FORMAT,
            "request": self._request,
            "target": self.target,
            "dtype": self.dtype.name,
            "derivatives": self.derivatives,
            "default_params": defaults,
        }
        return _rebuild, (state,)

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
        return self.hessian(x, p, sparse=self.nnz < self.n * self.n) @ np.asarray(v)

    def csr(self, data: np.ndarray):
        """A CSR matrix with the Hessian's fixed structure and the given values."""
        from scipy.sparse import csr_matrix

        shape = (self.n, self.n)
        return csr_matrix((data, self.hessian_structure[1], self.indptr), shape=shape)


_PICKLE_FORMAT = 1
_STATE_TYPES = {
    "format": int,
    "request": tuple,
    "target": str,
    "dtype": str,
    "derivatives": tuple,
    "default_params": (tuple, type(None)),
}


def _rebuild(*args) -> Compiled:
    """Unpickle: check the plain-data request, then find or regenerate its kernel.

    Nothing in the payload is executed: see :func:`bridge.api.rebuild`.
    """
    from .api import rebuild
    from .options import check_options

    state = args[0] if len(args) == 1 else None
    if type(state) is not dict or set(state) != set(_STATE_TYPES):
        raise TypeError(
            "Compiled: not a pickled Compiled of this version (expected one request dict "
            f"with keys {sorted(_STATE_TYPES)}; got {len(args)} argument(s)); pickles from "
            "older versions carried source code and are refused: compile again"
        )
    for name, kind in _STATE_TYPES.items():
        if not isinstance(state[name], kind) or isinstance(state[name], bool):
            raise TypeError(f"Compiled: pickled field {name!r} is a {type(state[name]).__name__}")
    if state["format"] != _PICKLE_FORMAT:
        raise ValueError(f"Compiled: unknown pickle format {state['format']}")
    request = state["request"]
    if len(request) != 3 or not all(type(t) is str for t in request):
        raise TypeError("Compiled: the pickled request is not three srepr strings")
    kinds = state["derivatives"]
    if not all(type(k) is str for k in kinds):
        raise TypeError("Compiled: pickled derivatives are not strings")
    target, dtype, checked = check_options(state["target"], state["dtype"], kinds)
    if checked != kinds:
        raise ValueError(f"Compiled: pickled derivatives {kinds} are not in canonical order")
    defaults = state["default_params"]
    if defaults is not None:
        if not all(type(v) in (float, int) for v in defaults):
            raise TypeError("Compiled: pickled default parameters are not numbers")
        defaults = np.array(defaults, dtype=dtype)
    return rebuild(request, target, dtype, kinds, defaults)

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

from .dask_support import is_dask_array
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
        request: tuple[str, str, str] | None = None,
        guard_request: tuple[tuple[str, bool, str], ...] = (),
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
        self._guard_request = tuple(guard_request)
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

            from .api import expression_key

            expr, variables, parameters = self._symbolic
            # the expression as linear DAG text: srepr is exponential on shared subexpressions
            self._request = (expression_key(expr), sp.srepr(variables), sp.srepr(parameters))
            self._record_request()  # a no-op when compile indexed this same key
        defaults = None
        if self.n_params and self.default_params is not None:
            defaults = tuple(float(v) for v in self.default_params)
        state = {
            "format": _PICKLE_FORMAT,
            "request": self._request,
            "guards": self._guard_request,
            "target": self.target,
            "dtype": self.dtype.name,
            "derivatives": self.derivatives,
            "default_params": defaults,
        }
        return _rebuild, (state,)

    def _record_request(self) -> None:
        """Index this kernel under its pickled request too, so that unpickling in a process that
        shares this cache (Dask or multiprocessing workers on this machine) finds it without
        SymPy; ``bridge.compile`` indexed it under a key of the expression's DAG."""
        from . import cache
        from .api import request_key

        key = request_key(
            self.target, self.dtype.name, self.derivatives, *self._request, self._guard_request
        )
        try:
            if cache.lookup(key) is None:
                cache.record(key, cache.digest(self.source))
        except (OSError, cache.UnsafeCacheError):
            pass  # a read-only or refused cache: unpickling regenerates (slower, same kernel)

    # --- argument checks (kept cheap: they run on every call) --------------------------------
    def _x(self, x, who: str):
        if is_device_array(x):
            _refuse_complex(x, who, "x")
            return self._run.check_device(x, who)
        if type(x) is not np.ndarray or x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(_refuse_complex(x, who, "x"), dtype=self.dtype)
        if x.ndim == 1 and x.shape[0] == self.n or x.ndim == 2 and x.shape[1] == self.n:
            return x
        raise self._shape_error(who, x.shape)

    def _shape_error(self, who: str, shape: tuple) -> ShapeError:
        """The error for points of the wrong shape (NumPy and Dask input alike)."""
        return ShapeError(
            f"{who}: expected a point of shape ({self.n},) or a batch of shape (N, {self.n}), "
            f"got shape {tuple(shape)}"
        )

    def _param_count_error(self, who: str, got) -> ShapeError:
        return ShapeError(f"{who}: expected {self.n_params} parameter(s), got {got}")

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
            raise self._param_count_error(who, p.shape[0])
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

    # --- the function's own arguments, packed into x ------------------------------------------
    def pack(self, x, p=None, more: tuple = (), who: str = "pack"):
        """``(x, p)`` for a call made with the compiled function's own positional arguments.

        ``bridge.compile(f, 0.7, -1.3)`` compiles ``f(x, y)`` with the variable vector
        ``x = [x, y]``; without parameters, ``c.value(0.7, -1.3)`` (scalars: one point) or
        ``c.value(xs, ys)`` (equal-length 1-D arrays: a batch of points) is packed into that
        vector (a batch: one row per point). A call that matches neither raises ``ShapeError``
        showing the expected call. With parameters, ``p`` stays the second argument.

        >>> import sympy as sp, bridge
        >>> x, y = sp.symbols("x y", real=True)
        >>> c = bridge.compile(x**2 * y, wrt=[x, y])
        >>> c.pack(3.0, 2.0)[0].tolist(), float(c.value(3.0, 2.0))
        ([3.0, 2.0], 18.0)
        """
        empty_p = not more and p is not None and np.size(p) == 0  # an explicit empty p
        if p is None and not more or self.n_params or empty_p:
            if more:
                raise ShapeError(self._expected_call(who, 2 + len(more)))
            return x, p
        args = (x, p, *more)
        arrays = [np.asarray(a) for a in args]
        if any(a.dtype == object for a in arrays):
            raise ShapeError(self._expected_call(who, len(args)))
        if len(args) == self.n and all(a.ndim == 0 for a in arrays):
            return np.array([a.item() for a in arrays], dtype=self.dtype), None
        lengths = {a.shape[0] for a in arrays if a.ndim == 1}
        if len(args) == self.n and all(a.ndim <= 1 for a in arrays) and len(lengths) == 1:
            n_points = lengths.pop()
            return np.column_stack([np.broadcast_to(a, (n_points,)) for a in arrays]), None
        flat = np.concatenate([a.reshape(-1) for a in arrays])
        if flat.shape[0] == self.n:
            return flat.astype(self.dtype), None
        raise ShapeError(self._expected_call(who, len(args)))

    def _expected_call(self, who: str, n_args: int) -> str:
        names = ", ".join(self.variable_names[:8]) + (", ..." if self.n > 8 else "")
        params = f", p=<{self.n_params} parameter(s): {', '.join(self.parameter_names)}>"
        p = params if self.n_params else ""
        return (
            f"{who}: got {n_args} positional arguments, which do not pack into the "
            f"{self.n} variable(s) ({names}); call {who}(x{p}) with one point x of shape "
            f"({self.n},) or a batch X of shape (N, {self.n})"
            + ("" if self.n_params else f", or {who}(<one value per variable>)")
        )

    # --- public evaluation --------------------------------------------------------------------
    def _lazy(self, kind: str, x, p, who: str, sparse: bool = False):
        """``kind`` over a Dask array of points: a lazy Dask array (see bridge.dask_support)."""
        from .dask_support import map_points

        return map_points(self, kind, x, p, who, sparse)

    def value(self, x, p=None, *more):
        """The expression's value at ``x`` (a scalar) or at every row of ``X`` (shape (N,)).

        ``x`` may be a ``dask.array.Array`` of points (leading axis): the result is then a
        lazy Dask array chunked like ``x`` (:mod:`bridge.dask_support`); so for every method.
        Without parameters, the function's own positional arguments work too:
        ``c.value(0.7, -1.3)`` is ``c.value([0.7, -1.3])`` (see :meth:`pack`).
        """
        if is_dask_array(x):
            return self._lazy("value", x, p, "value")
        x, p = self.pack(x, p, more, "value")
        x, p = self._x(x, "value"), self._p(p, "value")
        if self.guards:
            self._check_guards(x, p, "value")
        return self._run.value(x, p)

    def value_and_grad(self, x, p=None, *more):
        """``(value, gradient)`` at one point or at every row of a batch."""
        self._need("grad", "value_and_grad")
        if is_dask_array(x):
            return self._lazy("value_and_grad", x, p, "value_and_grad")
        x, p = self.pack(x, p, more, "value_and_grad")
        x, p = self._x(x, "value_and_grad"), self._p(p, "value_and_grad")
        if self.guards:
            self._check_guards(x, p, "value_and_grad")
        return self._run.grad(x, p)

    def grad(self, x, p=None, *more):
        """The gradient: shape (n,) for one point, (N, n) for a batch."""
        self._need("grad", "grad")
        if is_dask_array(x):
            return self._lazy("grad", x, p, "grad")
        x, p = self.pack(x, p, more, "grad")
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
        if is_dask_array(x):
            return self._lazy("hessian", x, p, "hessian", sparse)
        x, p = self.pack(x, p, (), "hessian")
        x, p = self._x(x, "hessian"), self._p(p, "hessian")
        if self.guards:
            self._check_guards(x, p, "hessian")
        return self._run.hessian(x, p, sparse)

    def hessp(self, x, v, p=None):
        """The Hessian-vector product ``H(x) @ v`` at one point."""
        v = np.asarray(_refuse_complex(v, "hessp", "v"))
        return self.hessian(x, p, sparse=self.nnz < self.n * self.n) @ v

    def hvp(self, x, v, p=None):
        """The Hessian-vector product ``H(x) @ v`` at one point (``bridge.ArrayCompiled``'s
        name; computed from the compiled Hessian)."""
        return self.hessp(x, v, p)

    def csr(self, data: np.ndarray):
        """A CSR matrix with the Hessian's fixed structure and the given values."""
        from scipy.sparse import csr_matrix

        data = _refuse_complex(data, "csr", "data")
        shape = (self.n, self.n)
        return csr_matrix((data, self.hessian_structure[1], self.indptr), shape=shape)


_PICKLE_FORMAT = 2  # 2: the expression as linear DAG text (1: srepr, still read)
_STATE_TYPES = {
    "format": int,
    "request": tuple,
    "guards": tuple,
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
    if state["format"] not in (1, _PICKLE_FORMAT):
        raise ValueError(f"Compiled: unknown pickle format {state['format']}")
    request = state["request"]
    if len(request) != 3 or not all(type(t) is str for t in request):
        raise TypeError(
            "Compiled: the pickled request is not three strings (expression, variables, parameters)"
        )
    guards = state["guards"]
    for g in guards:
        if not (
            type(g) is tuple
            and len(g) == 3
            and type(g[0]) is str
            and type(g[1]) is bool
            and type(g[2]) is str
        ):
            raise TypeError("Compiled: a pickled guard is not (condition text, taken, where)")
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
    return rebuild(request, target, dtype, kinds, defaults, guards)


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

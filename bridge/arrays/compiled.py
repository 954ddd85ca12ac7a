"""``ArrayCompiled``: value, gradient, Hessian-vector product and Hessian of an array program.

:func:`compile_array` traces the function once (eager, O(ops)), hashes the value program's
:meth:`autodiff.graph.Graph.fingerprint` into the cache key and loads the kernel module from
the authenticated cache. Only on a miss does it trace the derivative programs (the graph of
autodiff's own backward pass for the gradient, of forward-over-reverse for the Hessian-vector
product), plan them (:mod:`bridge.arrays.program`) and generate numba source
(:mod:`bridge.arrays.emit`, which imports SymPy for the per-op formulas). A warm start never
imports SymPy or the generator; derivative programs are traced on first use (for their
constant arrays), and their fingerprints are checked against the ones the module was
generated from.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import ShapeError
from autodiff.grad_mode import enable_grad, tracing
from autodiff.graph import graph_of, trace_graph

from .. import cache
from ..dask_support import is_dask_array
from ..options import CODEGEN_VERSION
from .program import Program, plan, unsupported

ARRAY_VERSION = "2"  # bump when generated array code changes (with emit.ARRAY_CODEGEN_VERSION)

_KIND_PROGRAMS = {"value": ("value",), "grad": ("vg",), "hessian": ("hvp",)}


def _is_float(value: Any) -> bool:
    if isinstance(value, ad.Tensor):
        return value.dtype.kind == "f"
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, float | np.floating):
        return True
    try:
        return np.asarray(value).dtype.kind == "f"
    except (TypeError, ValueError):
        return False


def param_positions(f: Callable, params: Any, nargs: int) -> tuple[int, ...]:
    """The argument positions named (by index or parameter name) in ``params``."""
    if params is None:
        return ()
    items = (params,) if isinstance(params, str | int) else tuple(params)
    try:
        names = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    out = []
    for p in items:
        if isinstance(p, str):
            if p not in names:
                raise ValueError(f"compile: params names {p!r}, not one of the arguments {names}")
            p = names.index(p)
        if not isinstance(p, int | np.integer) or not 0 <= p < nargs:
            raise ValueError(f"compile: params entry {p!r} is not an argument position (< {nargs})")
        out.append(int(p))
    return tuple(sorted(set(out)))


class _Request:
    """The function, its example arguments and which of them are call-time parameters."""

    def __init__(self, f: Callable, example_args: tuple, params: Any, dtype: str):
        if not example_args:
            raise TypeError("compile: a callable needs example arguments (mode='array')")
        positions = param_positions(f, params, len(example_args))
        # parameters that are not floating (integers, flags, callables) stay fixed arguments
        positions = tuple(i for i in positions if i == 0 or _is_float(example_args[i]))
        if 0 in positions:
            raise ValueError(
                "compile: array mode differentiates the first argument; it cannot be a parameter"
            )
        self.f = f
        self.dtype = np.dtype(dtype)
        self.positions = positions
        args = list(example_args)
        x = args[0]
        if not _is_float(x):
            raise TypeError(
                "compile: the first argument (the variable) must be floating point, got "
                f"{type(x).__name__}"
            )
        for i, a in enumerate(args[1:], start=1):
            if i not in positions and _is_float(a):
                raise ValueError(
                    f"compile: argument {i} is floating point but not in params; array mode "
                    "differentiates the first argument only: list the others in params= (data "
                    "passed at call time) or pack the variables into one array"
                )
        self.x = self._array(x)
        self.params = tuple(self._array(args[i]) for i in positions)
        self.fixed = {i: a for i, a in enumerate(args) if i and i not in positions}
        self.nargs = len(args)

    def _array(self, value) -> np.ndarray:
        data = value.data if isinstance(value, ad.Tensor) else value
        return np.ascontiguousarray(np.asarray(data, dtype=self.dtype))

    def call(self, x, *params):
        """``f`` with the variable, the parameters and the fixed arguments in their places."""
        args = [None] * self.nargs
        args[0] = x
        for i, p in zip(self.positions, params):
            args[i] = p
        for i, a in self.fixed.items():
            args[i] = a
        return self.f(*args)

    def leaves(self, *arrays):
        return [ad.Tensor(a.copy(), requires_grad=True) for a in arrays]

    def trace(self, kind: str):
        """The graph of one program: ``value``, ``vg`` (value and gradient) or ``hvp``."""
        if kind == "value":
            graph, out = trace_graph(self.call, self.x, *self.params)
            if out.shape != ():
                raise ValueError(
                    f"compile: the function's output has shape {out.shape}; compile needs a "
                    "scalar output (sum it, or compile one element at a time)"
                )
            return graph
        if kind == "vg":
            x, *ps = self.leaves(self.x, *self.params)
            with enable_grad(), tracing("trace"):
                v, g = ad.value_and_grad(self.call)(x, *ps)
            return graph_of([_tensor(v), _tensor(g)], [x, *ps])
        x, v, *ps = self.leaves(self.x, np.ones_like(self.x), *self.params)
        with enable_grad(), tracing("trace"):
            h = ad.hvp(lambda y: self.call(y, *ps), (x,), (v,))
        return graph_of([_tensor(h)], [x, v, *ps])


def _tensor(value) -> ad.Tensor:
    return value if isinstance(value, ad.Tensor) else ad.Tensor(np.asarray(value))


def _key(target: str, dtype: str, kinds: tuple[str, ...], fingerprints: Sequence[str]) -> str:
    parts = ["array", CODEGEN_VERSION, ARRAY_VERSION, ad.__version__, target, dtype,
             ",".join(kinds), *fingerprints]  # fmt: skip
    return cache.digest("\n".join(parts))


def compile_array(
    f: Callable,
    *example_args: Any,
    target: str = "cpu",
    dtype: str = "float64",
    kinds: tuple[str, ...] = ("value", "grad", "hessian"),
    params: Any = None,
) -> ArrayCompiled:
    """Compile ``f`` in array mode (see :func:`bridge.compile` with ``mode="array"``)."""
    if target not in ("cpu", "parallel"):
        from ..errors import UnsupportedExpressionError

        raise UnsupportedExpressionError(
            ["array mode"], target, "array kernels run on 'cpu' and 'parallel'"
        )
    request = _Request(f, example_args, params, dtype)
    graph = request.trace("value")
    missing = unsupported(graph)
    if missing:  # before tracing derivatives: name the op at once
        from ..errors import UnsupportedExpressionError

        error = UnsupportedExpressionError(missing, "array", "no array-mode emitter")
        error.graph = graph  # compile(mode="auto") estimates the scalar fallback from it
        raise error
    fp = graph.fingerprint()
    key = _key(target, dtype, kinds, [fp])
    known = cache.lookup(key)
    module = cache.load_digest(known) if known else None
    graphs = {"value": graph}
    if module is None or module.FINGERPRINTS.get("value") != fp:
        module = _generate(request, graphs, target, dtype, kinds, key)
    return ArrayCompiled(module, request, graphs, kinds, key)


def _generate(request, graphs, target, dtype, kinds, key, full_key=None):
    """Trace every program of ``kinds`` (reusing ``graphs``), generate, cache, import."""
    from symdiff.progress import stage

    from .emit import generate

    with stage("compile (array mode)") as progress:
        for kind in kinds:
            for prog in _KIND_PROGRAMS[kind]:
                if prog not in graphs:
                    graphs[prog] = request.trace(prog)
        progress.step("trace derivative programs")
        programs = {name: plan(g) for name, g in graphs.items()}
        fps = {name: g.fingerprint() for name, g in graphs.items()}
        source = generate(programs, dtype=dtype, target=target, fingerprints=fps,
                          hvp_shape=request.x.shape)  # fmt: skip
        progress.step("generate numba source")
        module = cache.load_source(source)
        cache.record(full_key or key, cache.digest(source))
        progress.step("load module")
    return module


class ArrayCompiled:
    """Compiled array kernels of one scalar function of an array ``x`` (and parameters).

    Call with ``x`` of the example's shape and the parameter arrays in the order of
    ``params=`` (defaults: the example values). Methods mirror :class:`bridge.Compiled`:
    ``value``, ``grad``, ``value_and_grad``, ``hvp`` and ``hessian`` (dense, or CSR with
    ``sparse=True``). Gradients have the shape of ``x``; Hessians are ``(x.size, x.size)``.

    Attributes
    ----------
    source : str
        The generated module source (its size grows with the number of ops, not with n).
    shape : tuple
        The shape of ``x``; ``n`` is its size.
    """

    def __init__(self, module, request: _Request, graphs: dict, kinds: tuple, key: str):
        self.module = module
        self.source: str = module.__hybriddiff_source__
        self.target: str = module.TARGET
        self.dtype = np.dtype(module.DTYPE)
        self.derivatives = tuple(kinds)
        self._request = request
        self._graphs = graphs
        self._extras: dict[str, list[np.ndarray]] = {}
        self._key = key
        self.shape = tuple(request.x.shape)
        self.n = int(request.x.size)
        self.param_shapes = tuple(p.shape for p in request.params)
        self.default_params = request.params
        self._structure = None

    def __repr__(self) -> str:
        return (
            f"ArrayCompiled(shape={self.shape}, params={len(self.param_shapes)}, "
            f"target={self.target!r}, dtype={self.dtype.name!r}, derivatives={self.derivatives})"
        )

    def __reduce__(self):
        raise TypeError(
            "ArrayCompiled: cannot be pickled: its request is a traced Python function, and "
            "pickles carry requests, never code; compile again in the worker (a warm cache "
            "makes that cheap), or use mode='scalar' for a picklable Compiled"
        )

    # --- programs --------------------------------------------------------------------------
    def _args(self, prog: str) -> list[np.ndarray]:
        extras = self._extras.get(prog)
        if extras is None:
            graph = self._graphs.get(prog)
            if graph is None:
                graph = self._request.trace(prog)
                self._graphs[prog] = graph
                if graph.fingerprint() != self.module.FINGERPRINTS.get(prog):
                    # the derivative program depends on more than the value program (e.g. on
                    # non-finite example values): generate a module for the full request
                    fps = [g.fingerprint() for _, g in sorted(self._graphs.items())]
                    key = _key(self.target, self.dtype.name, self.derivatives, fps)
                    known = cache.lookup(key)
                    module = cache.load_digest(known) if known else None
                    if module is None or any(
                        module.FINGERPRINTS.get(k) != g.fingerprint()
                        for k, g in self._graphs.items()
                    ):
                        module = _generate(self._request, self._graphs, self.target,
                                           self.dtype.name, self.derivatives, key, key)  # fmt: skip
                    self.module, self.source = module, module.__hybriddiff_source__
            extras = plan_extras(graph)
            self._extras[prog] = extras
        return extras

    # --- argument checks ----------------------------------------------------------------------
    def _x(self, x, who: str, what: str = "x") -> np.ndarray:
        if is_dask_array(x):
            raise TypeError(
                f"{who}: array-mode kernels take one {what} of shape {self.shape} (there is no "
                "points axis to map over chunks); Dask arrays of points are for scalar-mode "
                "kernels: bridge.compile(f, x0, mode='scalar'), whose methods return lazy Dask "
                "arrays (pass x.compute() here for one point)"
            )
        if type(x) is not np.ndarray or x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=self.dtype)
        if x.shape != self.shape:
            if x.size == self.n and x.ndim == 1:
                return x.reshape(self.shape)
            raise ShapeError(f"{who}: expected {what} of shape {self.shape}, got shape {x.shape}")
        return x

    def _params(self, params: tuple, who: str) -> tuple:
        if not params:
            return self.default_params
        if len(params) != len(self.param_shapes):
            raise TypeError(
                f"{who}: expected {len(self.param_shapes)} parameter array(s) of shapes "
                f"{list(self.param_shapes)}, got {len(params)}"
            )
        out = []
        for i, (p, shape) in enumerate(zip(params, self.param_shapes)):
            if isinstance(p, ad.Tensor):
                p = p.data
            if type(p) is not np.ndarray or p.dtype != self.dtype or not p.flags.c_contiguous:
                p = np.ascontiguousarray(p, dtype=self.dtype)
            if p.shape != shape:
                raise ShapeError(
                    f"{who}: expected parameter {i} of shape {shape}, got shape {p.shape}"
                )
            out.append(p)
        return tuple(out)

    def _need(self, kind: str, who: str) -> None:
        if kind not in self.derivatives:
            raise ValueError(
                f"{who}: this object was compiled with derivatives={self.derivatives}; "
                f"add {kind!r} to compile it"
            )

    # --- evaluation ---------------------------------------------------------------------------
    def value(self, x, *params):
        """The function's value at ``x`` (a scalar of the kernel's dtype)."""
        x, ps = self._x(x, "value"), self._params(params, "value")
        extras = self._args("value")
        return self.dtype.type(self.module.k_value(x, *ps, *extras)[0])

    def value_and_grad(self, x, *params):
        """``(value, gradient)`` in one pass (a shared forward sweep)."""
        self._need("grad", "value_and_grad")
        x, ps = self._x(x, "value_and_grad"), self._params(params, "value_and_grad")
        extras = self._args("vg")
        v, g = self.module.k_vg(x, *ps, *extras)
        return self.dtype.type(v), _own(g, self.shape, self.dtype, x, *ps, *extras)

    def grad(self, x, *params):
        """The gradient, of the shape of ``x``."""
        return self.value_and_grad(x, *params)[1]

    def hvp(self, x, v, *params):
        """The Hessian-vector product ``H(x) @ v`` (``v`` of the shape of ``x``)."""
        self._need("hessian", "hvp")
        x, ps = self._x(x, "hvp"), self._params(params, "hvp")
        v = self._x(v, "hvp", "v")
        extras = self._args("hvp")
        out = self.module.k_hvp(x, v, *ps, *extras)[0]
        return _own(out, self.shape, self.dtype, x, v, *ps, *extras)

    def hessp(self, x, v, *params):
        """Alias of :meth:`hvp` (SciPy's name)."""
        return self.hvp(x, v, *params)

    def hvps(self, x, V, *params) -> np.ndarray:
        """``H(x) @ V[j]`` for every row of ``V`` (shape ``(k, n)``) in one kernel call."""
        self._need("hessian", "hvps")
        x, ps = self._x(x, "hvps"), self._params(params, "hvps")
        V = np.ascontiguousarray(V, dtype=self.dtype)
        if V.ndim != 2 or V.shape[1] != self.n:
            raise ShapeError(f"hvps: expected V of shape (k, {self.n}), got shape {V.shape}")
        extras = self._args("hvp")
        return self.module.hvps(x, V, *ps, *extras)

    def hessian(self, x, *params, sparse: bool = False):
        """The Hessian, ``(n, n)`` with ``n = x.size``; ``sparse=True`` gives a CSR matrix.

        Dense: one Hessian-vector product per column, all in one kernel call. Sparse: the
        structural pattern and a column colouring from :mod:`symdiff.sparsity` give one
        product per colour (batched in one call) and the values are recovered from them.
        """
        self._need("hessian", "hessian")
        x, ps = self._x(x, "hessian"), self._params(params, "hessian")
        if not sparse:
            return self.hvps(x, np.eye(self.n, dtype=self.dtype), *ps)
        structure = self._sparsity()
        from scipy.sparse import csr_matrix

        if structure is None:  # no colouring available: CSR of the dense matrix
            dense = self.hvps(x, np.eye(self.n, dtype=self.dtype), *ps)
            return csr_matrix(dense)
        seeds, gather, indices, indptr = structure
        products = self.hvps(x, seeds, *ps)  # products[c] = H @ indicator(colour c)
        values = np.take(products.reshape(-1), gather)
        return csr_matrix((values, indices, indptr), shape=(self.n, self.n), copy=False)

    def _sparsity(self):
        """Per object, once: the colour seeds, and for the CSR order of the pattern, the flat
        positions in the ``(ncolors, n)`` products of each value, its columns and row starts
        (``H[i, j] = (H @ seed[colour(j)])[i]`` for a distance-2 colouring)."""
        if self._structure is None:
            try:
                from symdiff.sparsity import color_columns, hessian_sparsity
            except ImportError:
                self._structure = (None,)
            else:
                rows, cols = hessian_sparsity(self._graphs["value"], wrt=0)
                colors, ncolors = color_columns(rows, cols, self.n)
                rows = np.asarray(rows, dtype=np.int64)
                cols = np.asarray(cols, dtype=np.int64)
                colors = np.asarray(colors, dtype=np.int64)
                order = np.lexsort((cols, rows))
                rows, cols = rows[order], cols[order]
                indptr = np.zeros(self.n + 1, dtype=np.int64)
                np.cumsum(np.bincount(rows, minlength=self.n), out=indptr[1:])
                seeds = np.zeros((int(ncolors), self.n), dtype=self.dtype)
                seeds[colors, np.arange(self.n)] = 1
                gather = colors[cols] * self.n + rows
                self._structure = (seeds, gather, cols, indptr)
        return None if len(self._structure) == 1 else self._structure


def plan_extras(graph) -> list[np.ndarray]:
    """The extra kernel arguments of ``graph`` (constants and index maps), in order."""
    program: Program = plan(graph)
    return program.extra_arrays()


def _own(a, shape, dtype, *inputs) -> np.ndarray:
    """``a`` as an array of ``shape`` that shares no memory with the kernel's ``inputs``
    (kernels may return views of their inputs: those are copied, fresh results are not)."""
    a = np.asarray(a)
    if a.dtype == dtype and not any(np.may_share_memory(a, b) for b in inputs):
        return a.reshape(shape)
    return np.array(a, dtype=dtype).reshape(shape)

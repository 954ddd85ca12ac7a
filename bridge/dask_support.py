"""Dask arrays in, lazy Dask arrays out: :class:`~bridge.Compiled` kernels over chunks of points.

``Compiled.value/grad/value_and_grad/hessian`` given a ``dask.array.Array`` of points (shape
``(N, n)``, points on the leading axis, or one point of shape ``(n,)``) return a lazy
``dask.array.Array`` built with ``map_blocks``: chunked like the input along the points axis,
derivative axes in one chunk (a chunked trailing axis is rechunked first). Everything that can
be checked without data is checked at call time, with the same errors as for NumPy input: the
derivative kinds, the trailing shape, complex dtypes, the parameters.

What travels to the workers:

* the kernel object once per graph, as its pickle (the srepr request, never code; see
  :mod:`bridge.compiled`), embedded with ``dask.delayed`` under one key. A worker process
  unpickles it once (:func:`kernel_from_pickle` keeps it per process): from its authenticated
  cache, or by generating and compiling the kernel once; numba's on-disk cache serves later
  processes;
* the parameter vector ``p`` once per graph, embedded with ``dask.delayed`` (or scattered, see
  :data:`SCATTER_BYTES`), never once per chunk;
* the chunks themselves, as Dask moves them.

``target="cuda"``: a NumPy chunk is copied to the GPU of the worker that runs it, evaluated and
copied back (per chunk: the chunk's points host to device, ``p`` host to device, the outputs
device to host; the Hessian's index table once per process). A CuPy chunk (a Dask array whose
``_meta`` is a CuPy array) stays on the device: only ``p`` is copied, and the outputs are CuPy
arrays on the same device. CPU targets refuse CuPy chunks with the error they give for device
arrays. A worker process runs one CUDA (or ``parallel``) chunk at a time; ``target="cpu"``
kernels release the GIL, so Dask's threads run their chunks side by side.

Array mode (:class:`bridge.ArrayCompiled`) has no points axis (one ``x`` of a fixed shape per
call) and refuses Dask arrays: Dask applies to the batched-points API of scalar-mode kernels.

This module imports Dask only when a Dask array is passed (``import bridge`` never does).

Examples
--------
>>> import dask.array as da
>>> import sympy as sp
>>> import bridge
>>> x, y = sp.symbols("x y", real=True)
>>> c = bridge.compile(x**2 * y, wrt=[x, y])
>>> H = c.hessian(da.ones((10, 2), chunks=4))  # lazy: nothing has run yet
>>> H.chunks
((4, 4, 2), (2,), (2,))
>>> H.sum(axis=0).compute().tolist()
[[20.0, 20.0], [20.0, 0.0]]
"""

from __future__ import annotations

import pickle
import sys
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .compiled import Compiled

#: Parameter vectors at least this large are scattered to the workers (``Client.scatter``)
#: when a ``dask.distributed`` client is the default; smaller ones are embedded in the graph.
#: Dask's guidance: embed data in the graph once through ``dask.delayed`` instead of passing it
#: to every task ("Avoid repeatedly putting large inputs into delayed calls",
#: https://docs.dask.org/en/stable/delayed-best-practices.html), and for large objects scatter
#: them ahead of time (distributed warns "Sending large graph ... Consider ... using futures or
#: delayed objects to embed the data into the graph without repetition" above its
#: ``distributed.admin.large-graph-warning-threshold``, 10 MB by default;
#: https://distributed.dask.org/en/stable/locality.html#data-scatter). A scalar-mode parameter
#: vector holds one number per parameter symbol, so this threshold is rarely reached.
SCATTER_BYTES = 1 << 20

_KERNELS: dict[bytes, Compiled] = {}  # per process: pickle -> kernel object
_MAX_KERNELS = 64
_KERNELS_LOCK = threading.Lock()
_EXCLUSIVE_LOCK = threading.Lock()


def is_dask_array(x: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing Dask).

    If ``dask.array`` was never imported, ``x`` cannot be one of its arrays.
    """
    if isinstance(x, np.ndarray):
        return False
    da = sys.modules.get("dask.array")
    array_type = getattr(da, "Array", None)
    return array_type is not None and isinstance(x, array_type)


def kernel_from_pickle(blob: bytes) -> Compiled:
    """The kernel object pickled in ``blob``, unpickled once per process and then reused.

    Unpickling finds the kernel in the (authenticated) cache or compiles it: a worker that
    starts cold compiles once, not once per chunk.
    """
    compiled = _KERNELS.get(blob)
    if compiled is None:
        with _KERNELS_LOCK:  # two threads of one worker: one compiles, the other waits
            compiled = _KERNELS.get(blob)
            if compiled is None:
                compiled = pickle.loads(blob)  # noqa: S301 - payload names only _rebuild
                if type(compiled).__name__ != "Compiled":
                    raise TypeError("bridge: the embedded kernel is not a pickled Compiled")
                if len(_KERNELS) >= _MAX_KERNELS:  # a long-lived worker: drop the oldest
                    del _KERNELS[next(iter(_KERNELS))]
                _KERNELS[blob] = compiled
    return compiled


def _is_cupy(a: Any) -> bool:
    return type(a).__module__.split(".")[0] == "cupy"


def _meta(x, ndim: int, dtype: np.dtype):
    """An empty chunk of the output's array type (CuPy chunks give CuPy results)."""
    meta = getattr(x, "_meta", None)
    if meta is not None and _is_cupy(meta):
        import cupy

        return cupy.empty((0,) * ndim, dtype=dtype)
    return np.empty((0,) * ndim, dtype=dtype)


def _embed(value, prefix: str):
    """``value`` as one graph key: scattered when large under a distributed client, else
    ``dask.delayed`` (a key named by its content, so equal values share it)."""
    import dask
    from dask.base import tokenize

    nbytes = getattr(value, "nbytes", 0)
    distributed = sys.modules.get("distributed")
    if distributed is not None and nbytes >= SCATTER_BYTES:
        try:
            client = distributed.default_client()
        except ValueError:  # no client: a local scheduler runs the graph
            client = None
        if client is not None:
            return client.scatter(value, broadcast=True, hash=True)
    return dask.delayed(value, name=f"{prefix}-{tokenize(value)}", pure=True)


def _params(compiled: Compiled, p, who: str):
    """The parameter vector checked now (as for NumPy input), or a single-chunk Dask array."""
    if is_dask_array(p):
        from .compiled import _refuse_complex

        _refuse_complex(p, who, "p")
        size = int(np.prod(p.shape)) if not any(np.isnan(s) for s in p.shape) else -1
        if size != compiled.n_params:
            got = "an unknown number" if size < 0 else size
            raise compiled._param_count_error(who, got)
        flat = p.astype(compiled.dtype).reshape(-1).rechunk(-1)
        return flat.to_delayed()[0]
    return _embed(compiled._p(p, who), "hybriddiff-params")


def map_points(compiled: Compiled, kind: str, x, p, who: str, sparse: bool = False):
    """The lazy Dask array(s) of ``kind`` over the points of the Dask array ``x``.

    ``kind`` is ``value``, ``grad``, ``value_and_grad`` (a pair of Dask arrays sharing one
    kernel call per chunk) or ``hessian`` (dense ``(N, n, n)``, or ``(N, nnz)`` values with
    ``sparse``). Checks run now; the kernels run when the result is computed.
    """
    from .compiled import _refuse_complex

    _refuse_complex(x, who, "x")
    n = compiled.n
    point = x.ndim == 1 and x.shape[0] == n
    if not (point or x.ndim == 2 and x.shape[1] == n):
        raise compiled._shape_error(who, x.shape)
    meta = getattr(x, "_meta", None)
    if meta is not None and _is_cupy(meta):
        if compiled.target != "cuda":
            compiled._run.check_device(meta, who)  # raises: CPU kernels read host memory
        if x.dtype != compiled.dtype:
            raise TypeError(f"{who}: device array has dtype {x.dtype}, kernel is {compiled.dtype}")
    if sparse and point:
        raise ValueError(
            f"{who}: sparse=True with a Dask array gives the (N, nnz) values of a batch; pass a "
            f"batch of shape (N, {n}) (one point: hessian(x.compute(), sparse=True) is CSR)"
        )
    if x.dtype != compiled.dtype:
        x = x.astype(compiled.dtype)
    if point:
        x = x.rechunk(-1).reshape(1, n)
    elif len(x.chunks[1]) > 1:
        x = x.rechunk({1: -1})
    p_key = _params(compiled, p, who)
    kernel = _embed(pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL), "hybriddiff-kernel")
    dtype = compiled.dtype
    rows = x.chunks[0]

    def blocks(out_kind: str, chunks: tuple, ndim: int, **axes):
        return x.map_blocks(
            _block, kernel, p_key, kind=out_kind, sparse=sparse, who=who, dtype=dtype,
            chunks=chunks, meta=_meta(x, ndim, dtype), token=f"hybriddiff-{out_kind}", **axes,
        )  # fmt: skip

    if kind == "value":
        out = blocks("value", (rows,), 1, drop_axis=1)
    elif kind == "grad":
        out = blocks("grad", x.chunks, 2)
    elif kind == "value_and_grad":
        packed = blocks("value_and_grad", (rows, (n + 1,)), 2)
        v, g = packed[:, 0], packed[:, 1:]
        return (v[0], g[0]) if point else (v, g)
    elif sparse:
        out = blocks("hessian", (rows, (compiled.nnz,)), 2)
    else:
        out = blocks("hessian", (rows, (n,), (n,)), 3, new_axis=2)
    return out[0] if point else out


def _block(x, kernel_blob, p, *, kind: str, sparse: bool, who: str, block_info=None):
    """One chunk: unpickle the kernel (once per process), run it, return one array."""
    compiled = kernel_from_pickle(kernel_blob)
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        # a chunk deserialized by dask.distributed can be read-only: numba would compile (and
        # cache) a second specialization of every kernel for read-only arrays; a copy is cheap
        x = np.array(x)
    from .errors import GuardError

    try:
        if compiled.target != "cpu":
            # one chunk at a time per process: prange kernels use every core already (and
            # numba's default workqueue threading layer must not be entered from two threads
            # at once); CUDA chunks share the worker's GPU and its default stream anyway
            with _EXCLUSIVE_LOCK:
                result = _evaluate(compiled, kind, x, p, sparse)
        else:
            result = _evaluate(compiled, kind, x, p, sparse)
    except GuardError as err:
        start = 0
        if block_info and block_info.get(0):
            start = int(block_info[0]["array-location"][0][0])
        indices = tuple(start + i for i in err.indices)
        raise GuardError(
            f"{err} [in the Dask chunk of rows {start}..{start + x.shape[0] - 1}; the indices "
            "above count from the chunk's first row]",
            guard=err.guard,
            indices=indices,
        ) from None
    return result


def _evaluate(compiled: Compiled, kind: str, x, p, sparse: bool):
    device = _is_cupy(x)
    if kind == "value":
        out = compiled.value(x, p)
    elif kind == "grad":
        out = compiled.grad(x, p)
    elif kind == "hessian":
        out = compiled.hessian(x, p, sparse=sparse)
    else:
        v, g = compiled.value_and_grad(x, p)
        if device:
            import cupy

            v, g = cupy.asarray(v), cupy.asarray(g)
            return cupy.concatenate([v[:, None], g], axis=1)
        out = np.empty((x.shape[0], compiled.n + 1), dtype=compiled.dtype)
        out[:, 0] = v
        out[:, 1:] = g
        return out
    if device:
        import cupy

        return cupy.asarray(out)  # a numba device array viewed by CuPy, no copy
    return out

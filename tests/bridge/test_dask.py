"""Dask arrays of points through compiled kernels (``bridge.dask_support``).

Every result of a Dask array must equal the NumPy result exactly (same kernels, same points):
with the threaded scheduler, the processes scheduler and a ``LocalCluster`` of two worker
processes, whose cache starts cold. The clusters are module-scoped (a start costs seconds).
"""

from __future__ import annotations

import doctest
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
import sympy as sp

import bridge
from autodiff import ShapeError
from bridge import dask_support

x, y, z, a = sp.symbols("x y z a", real=True)
# the 3x3 Hessian benchmark function (benchmarks/bench_bridge.py), with a parameter ``a``
EXPR = (
    sp.exp(-(x**2 + y**2)) * sp.sin(3 * z) + sp.log(1 + x**2 * y**2 + z**2) + a * sp.tanh(x * y * z)
)
P = np.array([0.75])
N = 1003  # not a multiple of the chunk size
CHUNK = 97
KINDS = ("value", "grad", "value_and_grad", "hessian", "hessian_sparse")


def _points(dtype: str = "float64", n: int = N) -> np.ndarray:
    return np.random.default_rng(7).normal(size=(n, 3)).astype(dtype)


def _compile(dtype: str, target: str = "cpu") -> bridge.Compiled:
    return bridge.compile(EXPR, wrt=[x, y, z], params=[a], dtype=dtype, target=target)


def _numpy(c: bridge.Compiled, kind: str, X, p=P):
    if kind == "hessian_sparse":
        return c.hessian(X, p, sparse=True)
    return getattr(c, kind)(X, p)


def _lazy(c: bridge.Compiled, kind: str, dX, p=P):
    """The Dask result(s) of ``kind`` (a tuple for value_and_grad)."""
    return _numpy(c, kind, dX, p)


def _assert_same(got, want) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want), f"max difference {np.max(np.abs(got - want))}"


def _check_all(results: dict, kernels: dict, X: dict) -> None:
    for (dtype, kind), got in results.items():
        want = _numpy(kernels[dtype], kind, X[dtype])
        if kind == "value_and_grad":
            _assert_same(got[0], want[0])
            _assert_same(got[1], want[1])
        else:
            _assert_same(got, want)


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory):
    """The cache folder of the cluster's workers: empty, except for the float32 kernel."""
    return tmp_path_factory.mktemp("dask-workers") / "cache"


def _copy_kernel(c: bridge.Compiled, source: Path, target: Path) -> None:
    """Copy ``c``'s cache entries (module, numba files, index entries) from one cache folder to
    another, as a cache that compiled ``c`` before would hold them (same key file)."""
    name = c.module.__name__
    for sub in ("kernels/__pycache__", "index"):
        (target / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in (target, target / "kernels"):
        folder.chmod(0o700)
    files = [source / "kernels" / f"{name}.py"]
    files += (source / "kernels" / "__pycache__").glob(f"{name}.*")
    digest_prefix = name.rsplit("_", 1)[-1]
    files += [f for f in (source / "index").iterdir() if f.read_text().startswith(digest_prefix)]
    for f in files:
        shutil.copy2(f, target / f.relative_to(source))  # keeps the mtime numba stamps


@pytest.fixture(scope="module")
def kernels(worker_cache):
    """The float64 and float32 kernels. The float32 one is also put into ``worker_cache`` (warm
    for the cluster's workers there); the float64 one they compile cold."""
    c32 = _compile("float32")
    for kind in KINDS:
        _numpy(c32, kind, _points("float32", 4))
    pickle.dumps(c32)  # indexes it under its pickled request as well
    _copy_kernel(c32, bridge.cache_dir(), worker_cache)
    return {"float64": _compile("float64"), "float32": c32}


@pytest.fixture(scope="module")
def points():
    return {dtype: _points(dtype) for dtype in ("float64", "float32")}


def _dask_results(kernels, points, chunks=(CHUNK, 2)):
    return {
        (dtype, kind): _lazy(kernels[dtype], kind, da.from_array(points[dtype], chunks=chunks))
        for dtype in kernels
        for kind in KINDS
    }


# --- threaded scheduler and the lazy interface -------------------------------------------------
def test_threaded_results_equal_numpy_exactly(kernels, points):
    lazy = _dask_results(kernels, points)
    for (dtype, _kind), result in lazy.items():
        parts = result if isinstance(result, tuple) else (result,)
        for part in parts:
            assert isinstance(part, da.Array)
            assert part.dtype == np.dtype(dtype)
            assert part.chunks[0] == da.from_array(points[dtype], chunks=CHUNK).chunks[0]
            assert all(len(c) == 1 for c in part.chunks[1:])  # derivative axes: one chunk
    (computed,) = dask.compute(lazy, scheduler="threads")
    _check_all(computed, kernels, points)


def test_result_shapes_chunks_and_composition(kernels, points):
    c = kernels["float64"]
    dX = da.from_array(points["float64"], chunks=CHUNK)
    assert c.value(dX, P).chunks == (dX.chunks[0],)
    assert c.grad(dX, P).chunks == dX.chunks
    assert c.hessian(dX, P).chunks == (dX.chunks[0], (3,), (3,))
    assert c.hessian(dX, P, sparse=True).chunks == (dX.chunks[0], (c.nnz,))
    v, g = c.value_and_grad(dX, P)
    assert v.chunks == (dX.chunks[0],) and g.chunks == dX.chunks
    # results compose with the rest of a Dask pipeline
    mean = c.hessian(dX, P).mean(axis=0).compute(scheduler="threads")
    np.testing.assert_allclose(mean, c.hessian(points["float64"], P).mean(axis=0), rtol=1e-12)


def test_nothing_runs_until_compute(kernels, points):
    def explode(block):
        raise RuntimeError("computed too early")

    dX = da.from_array(points["float64"], chunks=CHUNK).map_blocks(explode, dtype="float64")
    lazy = [kernels["float64"].hessian(dX, P), kernels["float64"].value_and_grad(dX, P)]
    with pytest.raises(RuntimeError, match="computed too early"):
        dask.compute(lazy, scheduler="sync")


def test_parameters_and_kernel_are_embedded_once(kernels, points):
    c = kernels["float64"]
    dX = da.from_array(points["float64"], chunks=CHUNK)
    h = c.hessian(dX, P)
    graph = dict(h.__dask_graph__())
    params = [k for k in graph if str(k).startswith("hybriddiff-params-")]
    kernel = [k for k in graph if str(k).startswith("hybriddiff-kernel-")]
    assert len(params) == 1 and len(kernel) == 1
    assert len(dX.chunks[0]) > 10  # ... for eleven chunks
    blob = pickle.dumps(graph)
    assert blob.count(pickle.dumps(c, protocol=pickle.HIGHEST_PROTOCOL)) == 1
    # equal parameter values share their key; other values get another one
    assert params[0] in dict(c.value(dX, P.copy()).__dask_graph__())
    assert params[0] not in dict(c.value(dX, P + 1).__dask_graph__())


def test_parameters_as_a_dask_array_and_defaults(kernels, points):
    c = kernels["float64"]
    X = points["float64"]
    dX = da.from_array(X, chunks=CHUNK)
    got = c.value(dX, da.from_array(P, chunks=1)).compute(scheduler="threads")
    _assert_same(got, c.value(X, P))
    with pytest.raises(TypeError) as lazy_err:
        c.value(dX)  # no defaults: same error as NumPy, at call time
    with pytest.raises(TypeError) as eager_err:
        c.value(X)
    assert str(lazy_err.value) == str(eager_err.value)
    with pytest.raises(ShapeError, match=r"expected 1 parameter\(s\), got 2"):
        c.value(dX, da.ones(2))
    with pytest.raises(ShapeError, match=r"expected 1 parameter\(s\), got 2"):
        c.value(dX, np.ones(2))


def test_chunks_not_dividing_n_and_chunked_trailing_axis(kernels, points):
    c = kernels["float64"]
    X = points["float64"]
    dX = da.from_array(X, chunks=((1, 500, 2, 500), (1, 1, 1)))
    h = c.hessian(dX, P)
    assert h.chunks[0] == (1, 500, 2, 500)
    _assert_same(h.compute(scheduler="threads"), c.hessian(X, P))


def test_empty_array(kernels):
    c = kernels["float64"]
    dX = da.zeros((0, 3), chunks=5)
    assert c.value(dX, P).compute().shape == (0,)
    assert c.grad(dX, P).compute().shape == (0, 3)
    assert c.hessian(dX, P).compute().shape == (0, 3, 3)
    v, g = dask.compute(*c.value_and_grad(dX, P))
    assert v.shape == (0,) and g.shape == (0, 3)


def test_one_point_and_integer_input(kernels, points):
    c = kernels["float64"]
    point = points["float64"][5]
    dp = da.from_array(point, chunks=1)
    _assert_same(c.value(dp, P).compute(), np.asarray(c.value(point, P)))
    _assert_same(c.hessian(dp, P).compute(), c.hessian(point, P))
    v, g = dask.compute(*c.value_and_grad(dp, P))
    _assert_same(g, c.grad(point, P))
    with pytest.raises(ValueError, match="sparse=True with a Dask array"):
        c.hessian(dp, P, sparse=True)
    ints = np.arange(12).reshape(4, 3) % 3 - 1
    _assert_same(c.grad(da.from_array(ints, chunks=2), P).compute(), c.grad(ints, P))


@pytest.mark.parametrize("shape", [(5, 4), (5, 3, 1), (4,), (5, 1)])
@pytest.mark.parametrize("kind", ["value", "grad", "value_and_grad", "hessian"])
def test_wrong_trailing_shape_raises_the_numpy_error_at_call_time(kernels, shape, kind):
    c = kernels["float64"]
    with pytest.raises(ShapeError) as from_numpy:
        getattr(c, kind)(np.zeros(shape), P)
    with pytest.raises(ShapeError) as from_dask:
        getattr(c, kind)(da.zeros(shape, chunks=2), P)  # no compute: raised while building
    assert str(from_dask.value) == str(from_numpy.value)
    assert f"got shape {shape}" in str(from_dask.value)


def test_complex_and_missing_derivatives_raise_at_call_time(kernels):
    c = kernels["float64"]
    with pytest.raises(TypeError, match="complex input is not supported"):
        c.value(da.zeros((4, 3), dtype=complex), P)
    values_only = bridge.compile(sp.sin(x) * y, wrt=[x, y], derivatives=("value",))
    with pytest.raises(ValueError, match="add 'hessian'"):
        values_only.hessian(da.zeros((4, 2)))


def test_guard_errors_name_rows_of_the_whole_array():
    def f(v):
        if v[0] > 0:  # a traced branch, checked per point
            return (v**2).sum()
        return (v**3).sum()

    c = bridge.compile(f, np.array([1.0, 2.0]), guards=True)
    X = np.ones((40, 2))
    X[[23, 31]] = -1.0
    with pytest.raises(bridge.GuardError) as err:
        c.hessian(da.from_array(X, chunks=10), None).compute(scheduler="sync")
    row = err.value.indices[0]  # rows of the whole array, whichever failing chunk ran first
    assert err.value.indices in ((23,), (31,))
    assert f"rows {row // 10 * 10}..{row // 10 * 10 + 9}" in str(err.value)


def test_readonly_chunks_and_parallel_kernels_under_threads(points):
    c = bridge.compile(EXPR, wrt=[x, y, z], params=[a], target="parallel", derivatives="hessian")
    X = points["float64"]
    frozen = X.copy()
    frozen.flags.writeable = False
    got = c.hessian(da.from_array(frozen, chunks=CHUNK), P).compute(scheduler="threads")
    _assert_same(got, c.hessian(X, P))
    assert len(c.module.hess_batch.signatures) == 1  # no read-only specialization compiled


def test_kernel_from_pickle_is_once_per_process(kernels):
    blob = pickle.dumps(kernels["float64"])
    first = dask_support.kernel_from_pickle(blob)
    assert dask_support.kernel_from_pickle(blob) is first
    assert first.module is kernels["float64"].module
    with pytest.raises(TypeError, match="not a pickled Compiled"):
        dask_support.kernel_from_pickle(pickle.dumps([1, 2]))


def test_array_mode_refuses_dask_arrays_and_names_scalar_mode():
    c = bridge.compile(lambda v: (v**2).sum(), np.ones(3), mode="array", derivatives="value")
    with pytest.raises(TypeError, match="mode='scalar'"):
        c.value(da.ones(3))


def test_docstring_examples_run():
    result = doctest.testmod(dask_support, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_import_bridge_never_imports_dask(kernels):
    code = textwrap.dedent(
        """
        import pickle, sys, numpy as np, bridge
        from bridge import compiled, dask_support
        c = pickle.loads(bytes.fromhex(sys.argv[1]))
        c.hessian(np.ones((3, 3)), np.ones(1))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
        """
    )
    blob = pickle.dumps(kernels["float64"]).hex()
    done = subprocess.run(
        [sys.executable, "-c", code, blob], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


# --- processes scheduler -------------------------------------------------------------------------
def test_processes_scheduler_equals_numpy_exactly(kernels, points):
    lazy = _dask_results(kernels, points, chunks=(251, 3))
    (computed,) = dask.compute(lazy, scheduler="processes", num_workers=2)
    _check_all(computed, kernels, points)


# --- dask.distributed ---------------------------------------------------------------------------
def _count_generations():
    """On a worker: count the kernels this process generates from source (cold compiles)."""
    from bridge import api

    if not hasattr(api, "_dask_test_generated"):
        original = api._source

        def counting(*args, **kwargs):
            api._dask_test_generated += 1
            return original(*args, **kwargs)

        api._dask_test_generated = 0
        api._source = counting
    return os.getpid()


def _generations():
    from bridge import api

    return api._dask_test_generated


def _cluster(cache, workers: int):
    from distributed import Client, LocalCluster

    env = {"HYBRIDDIFF_CACHE_DIR": str(cache)}
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env=env,
        silence_logs=40,
    )
    return cluster, Client(cluster, set_as_default=False)


@pytest.fixture(scope="module")
def cluster(worker_cache, kernels):
    """Two worker processes on ``worker_cache`` (float64 kernel cold there)."""
    cluster, client = _cluster(worker_cache, 2)
    yield client
    client.close()
    cluster.close()


def test_cluster_with_a_cold_cache_equals_numpy_and_compiles_once_per_worker(
    cluster, kernels, points
):
    pids = set(cluster.run(_count_generations).values())
    assert len(pids) == 2 and os.getpid() not in pids
    lazy = _dask_results(kernels, points, chunks=(CHUNK, 3))
    computed = cluster.gather(cluster.compute(lazy))
    _check_all(computed, kernels, points)
    counts = cluster.run(_generations)
    # float64 was cold: compiled at most once per worker process although each ran many chunks
    # of several kinds; float32 was warm in that cache: never generated
    assert sum(counts.values()) >= 1 and all(n <= 1 for n in counts.values()), counts


def test_cluster_scatters_large_parameters(cluster, kernels, points, monkeypatch):
    monkeypatch.setattr(dask_support, "SCATTER_BYTES", 0)
    c, X = kernels["float64"], points["float64"]
    with cluster.as_current():
        h = c.hessian(da.from_array(X, chunks=CHUNK), P)
    assert not any(str(k).startswith("hybriddiff-params-") for k in dict(h.__dask_graph__()))
    _assert_same(cluster.compute(h).result(), c.hessian(X, P))


VERIFY = textwrap.dedent(
    """
    import json, pickle, sys, numpy as np
    c = pickle.loads(bytes.fromhex(sys.argv[1]))
    X = np.random.default_rng(3).normal(size=(50, 2))
    h = c.hessian(X)
    v = c.value(X)
    stats = [getattr(c.module, f).stats for f in ("hess_batch", "value_batch")]
    hits = sum(sum(s.cache_hits.values()) for s in stats)
    misses = sum(sum(s.cache_misses.values()) for s in stats)
    print(json.dumps({"h": h.tolist(), "hits": hits, "misses": misses}))
    """
)


def test_two_clusters_compiling_one_kernel_into_one_cache(cluster, worker_cache, kernels, tmp_path):
    """Three processes of two clusters compile a kernel new to their shared cache at once."""
    fresh = bridge.compile(
        sp.exp(x * y) * sp.cos(x) + y**4 * sp.sinh(x), wrt=[x, y], derivatives="hessian"
    )
    X = np.random.default_rng(3).normal(size=(50, 2))
    other_cluster, other = _cluster(worker_cache, 1)
    try:
        graphs = [
            fresh.hessian(da.from_array(X, chunks=7)),
            fresh.value(da.from_array(X, chunks=9)),
        ]
        runs = [client.compute(graphs) for client in (cluster, other)]
        results = [client.gather(run) for client, run in zip((cluster, other), runs)]
    finally:
        other.close()
        other_cluster.close()
    for hessian, value in results:
        _assert_same(hessian, fresh.hessian(X))
        _assert_same(value, fresh.value(X))
    # the shared cache is intact: a new process loads every kernel from it, no warning, no
    # recompilation, same numbers
    env = dict(os.environ, HYBRIDDIFF_CACHE_DIR=str(worker_cache))
    done = subprocess.run(
        [sys.executable, "-c", VERIFY, pickle.dumps(fresh).hex()],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "regenerated" not in done.stderr and "WARNING" not in done.stderr.upper(), done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["misses"] == 0 and report["hits"] >= 1, report
    _assert_same(np.array(report["h"]), fresh.hessian(X))

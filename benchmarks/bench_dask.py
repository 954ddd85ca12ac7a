"""Benchmark: the 3x3 Hessian at 10^7 points, NumPy input vs Dask threaded vs a LocalCluster.

The function is bench_bridge's ``hessian3``. Three ways to get its Hessian at every point:

* ``numpy parallel``: one ``ndarray`` of points, ``target="parallel"`` (a ``prange`` loop);
* ``dask threads``: the same points as a ``dask.array`` of ``--chunk`` rows, ``target="cpu"``
  kernels (compiled with ``nogil=True``) on the threaded scheduler, one chunk per thread;
* ``LocalCluster``: two worker processes (one thread each) holding the points (persisted
  before timing: the data lives on the cluster, as in production).

Two workloads: ``materialize`` (all N Hessians end up in memory: one NumPy array, or for the
cluster, persisted chunks on the workers) and ``reduce`` (the mean Hessian, the usual end of a
pipeline). Target: Dask overhead over the plain parallel kernel <= 1.3x at 10^7 points on one
machine (``dask threads``, materialize). Times are medians of ``--repeat`` runs, interleaved.

    python benchmarks/bench_dask.py [--points 1e7] [--chunk 1000000] [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import sympy as sp

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bridge  # noqa: E402
from benchmarks._common import (  # noqa: E402
    format_time,
    machine_info,
    print_table,
    timeit_interleaved,
)

TARGET = 1.3


def _expr():
    x, y, z = sp.symbols("x y z", real=True)
    f = sp.exp(-(x**2 + y**2)) * sp.sin(3 * z) + sp.log(1 + x**2 * y**2 + z**2) + sp.tanh(x * y * z)
    return f, [x, y, z]


def main(argv: list[str] | None = None) -> int:
    """Time the three ways, print points/s and ratios; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=float, default=1e7)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="10^6 points, 3 repeats")
    parser.add_argument("--no-cluster", action="store_true", help="skip the LocalCluster")
    args = parser.parse_args(argv)
    n = int(1e6 if args.quick else args.points)
    repeat = 3 if args.quick else args.repeat
    chunk = min(args.chunk, max(1, n // 4))

    import dask
    import dask.array as da

    print(machine_info())
    print(f"dask {dask.__version__}; {n:,} points, chunks of {chunk:,}; median of {repeat} runs")
    print(f"kernel cache: {bridge.cache_dir()}")
    expr, wrt = _expr()
    par = bridge.compile(expr, wrt=wrt, target="parallel", derivatives="hessian")
    cpu = bridge.compile(expr, wrt=wrt, target="cpu", derivatives="hessian")
    X = np.random.default_rng(0).normal(size=(n, 3))
    dX = da.from_array(X, chunks=(chunk, 3))
    reference = par.hessian(X)
    got = cpu.hessian(dX).compute(scheduler="threads")
    assert np.array_equal(got, reference), "dask threads differ from numpy parallel"
    del got
    threads = os.cpu_count() or 1

    fns = {
        ("materialize", "numpy parallel"): lambda: par.hessian(X),
        ("materialize", "dask threads"): lambda: cpu.hessian(dX).compute(scheduler="threads"),
        ("reduce", "numpy parallel"): lambda: par.hessian(X).mean(axis=0),
        ("reduce", "dask threads"): lambda: (
            cpu.hessian(dX).mean(axis=0).compute(scheduler="threads")
        ),
    }
    cluster = client = None
    if not args.no_cluster:
        from distributed import Client, LocalCluster, wait

        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               dashboard_address=":0", silence_logs=40)  # fmt: skip
        client = Client(cluster)
        # the points live on the workers (scattered chunk by chunk, Dask's advice for data
        # that starts in the client), as they would in production
        starts = range(0, n, chunk)
        parts = client.scatter([X[s : s + chunk] for s in starts])
        cX = da.concatenate(
            [da.from_delayed(f, shape=(min(chunk, n - s), 3), dtype=X.dtype)
             for f, s in zip(parts, starts)]
        )  # fmt: skip
        wait(parts)

        def cluster_materialize():
            h = client.persist(cpu.hessian(cX))
            wait(h)
            del h

        fns[("materialize", f"LocalCluster({args.workers})")] = cluster_materialize
        fns[("reduce", f"LocalCluster({args.workers})")] = lambda: client.compute(
            cpu.hessian(cX).mean(axis=0), sync=True
        )
        assert np.array_equal(
            client.compute(cpu.hessian(cX)[: min(n, 1000)], sync=True), reference[:1000]
        )
    try:
        times = timeit_interleaved(
            {f"{w}/{name}": fn for (w, name), fn in fns.items()}, repeat=repeat, warmup=1
        )
    finally:
        if client is not None:
            client.close()
            cluster.close()
    rows, summary = [], []
    for (work, name), _ in fns.items():
        t = times[f"{work}/{name}"]
        base = times[f"{work}/numpy parallel"]
        rows.append([work, name, format_time(t), f"{n / t:,.0f}", f"{t / base:.2f}x"])
    print_table(rows, ["workload", "how", "time", "points/s", "vs numpy parallel"],
                f"3x3 Hessian at {n:,} points ({threads} cores)")  # fmt: skip
    overhead = times["materialize/dask threads"] / times["materialize/numpy parallel"]
    status = "PASS" if overhead <= TARGET else "MISS"
    summary.append(["dask threads / numpy parallel (materialize)", f"{overhead:.2f}x",
                    f"<= {TARGET}x", status])  # fmt: skip
    reduce = times["reduce/dask threads"] / times["reduce/numpy parallel"]
    summary.append(["dask threads / numpy parallel (reduce)", f"{reduce:.2f}x", "-", "-"])
    print_table(summary, ["benchmark", "measured", "target", "status"], "summary")
    print("targets are informational; timings depend on the machine and its load.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""10⁸ Hessians on a Dask cluster, reduced to summary statistics.

The 3×3 Hessian of the benchmark function

    f(x, y, z) = exp(-(x² + y²)) sin(3z) + log(1 + x²y² + z²) + tanh(xyz)

is compiled once (``hybriddiff.compile``, through SymPy and numba) and evaluated at 10⁸ random
points that are generated on the workers, chunk by chunk; nothing of size N ever reaches the
client. Only summary statistics come back: the mean Hessian, the extreme eigenvalues, the share
of points where f is locally convex, and a histogram of all 3·10⁸ eigenvalues.

The change from NumPy is one line: pass a ``dask.array.Array`` of points instead of an
``ndarray`` and get a lazy Dask array back (``kernels.hessian(X)``); the compiled object travels
to the workers as its pickled request, and each worker process loads it from its kernel cache
(or compiles it once).

    python examples/dask_hessians.py                         # 10⁸ points, LocalCluster
    python examples/dask_hessians.py --fast                  # 2·10⁵ points (CI)
    python examples/dask_hessians.py --address tcp://host:8786   # an existing cluster
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import autodiff as ad
import hybriddiff as hd

EIGEN_RANGE = (-8.0, 8.0)


def f(v):
    """The 3x3 Hessian benchmark function of ``v = (x, y, z)``."""
    x, y, z = v[0], v[1], v[2]
    return (
        ad.exp(-(x**2 + y**2)) * ad.sin(3 * z) + ad.log(1 + x**2 * y**2 + z**2) + ad.tanh(x * y * z)
    )


def points(n: int, chunk: int, seed: int):
    """``n`` standard normal points in 3-D as a Dask array, generated where they are used."""
    import dask.array as da

    return da.random.default_rng(seed).standard_normal((n, 3), chunks=(chunk, 3))


def eigenvalues(H):
    """Eigenvalues (ascending) of every symmetric 3x3 matrix of the Dask array ``H``."""
    return H.map_blocks(np.linalg.eigvalsh, drop_axis=2, chunks=(H.chunks[0], (3,)))


def summary(kernels, n: int, chunk: int, seed: int, bins: int = 64):
    """Lazy summary statistics of the Hessians at ``n`` random points (compute them at once)."""
    import dask.array as da

    H = kernels.hessian(points(n, chunk, seed))  # the one-line change: a Dask array in
    lam = eigenvalues(H)
    counts, edges = da.histogram(lam, bins=bins, range=EIGEN_RANGE)
    return {
        "mean_hessian": H.mean(axis=0),
        "min_eigenvalue": lam.min(),
        "max_eigenvalue": lam.max(),
        "convex_share": (lam[:, 0] > 0).mean(),
        "histogram": counts,
        "edges": edges,
    }


def _bar_chart(counts: np.ndarray, edges: np.ndarray, rows: int = 16, width: int = 50) -> str:
    step = max(1, len(counts) // rows)
    merged = [int(counts[i : i + step].sum()) for i in range(0, len(counts), step)]
    top = max(max(merged), 1)
    lines = []
    for k, c in enumerate(merged):
        lo, hi = edges[k * step], edges[min((k + 1) * step, len(counts))]
        lines.append(f"  [{lo:+6.2f}, {hi:+6.2f})  {'#' * round(width * c / top)} {c:,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="2e5 points (CI)")
    parser.add_argument("--points", type=float, default=None, help="number of points (1e8)")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="points per chunk")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--address", default=None, help="scheduler of an existing cluster")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print the statistics as JSON")
    args = parser.parse_args(argv)
    n = int(args.points if args.points is not None else (2e5 if args.fast else 1e8))
    chunk = min(args.chunk, 50_000) if args.fast else args.chunk

    from dask.distributed import Client, LocalCluster

    # target="cpu": Dask runs one chunk per worker thread, and the kernels release the GIL
    kernels = hd.compile(f, np.zeros(3), target="cpu", derivatives="hessian")
    cluster = None
    if args.address:
        client = Client(args.address)
    else:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=":0", silence_logs=40
        )
        client = Client(cluster)
    try:
        start = time.perf_counter()
        stats = client.compute(summary(kernels, n, chunk, args.seed), sync=True)
        elapsed = time.perf_counter() - start
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    np.set_printoptions(precision=5, suppress=True)
    rate = f"{n / elapsed:,.0f} Hessians/s including start-up and reductions"
    print(f"{n:,} points in chunks of {chunk:,}: {elapsed:.1f} s, {rate}")
    print(f"mean Hessian:\n{stats['mean_hessian']}")
    lo, hi = stats["min_eigenvalue"], stats["max_eigenvalue"]
    convex = 100 * stats["convex_share"]
    print(f"eigenvalues in [{lo:.4f}, {hi:.4f}]; locally convex at {convex:.2f}% of the points")
    outside = 3 * n - int(stats["histogram"].sum())
    print(f"eigenvalue histogram on {EIGEN_RANGE} ({outside:,} eigenvalues outside):")
    print(_bar_chart(stats["histogram"], stats["edges"]))
    if args.json:  # last line: the statistics, for scripts
        print(json.dumps({k: np.asarray(v).tolist() for k, v in stats.items()} | {"n": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

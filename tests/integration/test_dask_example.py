"""examples/dask_hessians.py --fast runs end to end on a LocalCluster, and its statistics are
those of the same points evaluated without Dask (and, for the mean, without our kernels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import dask_hessians  # noqa: E402 - the example's own functions, to rebuild its points


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "examples/dask_hessians.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_dask_example_fast_mode_matches_sympy_on_the_same_points():
    n, chunk, seed = 30_000, 7_000, 5
    done = _run("--fast", "--points", str(n), "--chunk", str(chunk), "--seed", str(seed), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    for text in ("mean Hessian:", "locally convex at", "eigenvalue histogram on", "Hessians/s"):
        assert text in done.stdout
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["n"] == n

    # the same points, drawn by Dask's generator with the synchronous scheduler
    X = dask_hessians.points(n, chunk, seed).compute(scheduler="sync")
    x, y, z = sp.symbols("x y z", real=True)
    expr = (
        sp.exp(-(x**2 + y**2)) * sp.sin(3 * z) + sp.log(1 + x**2 * y**2 + z**2) + sp.tanh(x * y * z)
    )
    hess = sp.lambdify((x, y, z), sp.hessian(expr, (x, y, z)), "numpy")  # SymPy's own Hessian
    H = np.moveaxis(np.array(hess(X[:, 0], X[:, 1], X[:, 2]), dtype=float), -1, 0)
    np.testing.assert_allclose(stats["mean_hessian"], H.mean(axis=0), rtol=1e-9, atol=1e-12)
    lam = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(stats["min_eigenvalue"], lam.min(), rtol=1e-9)
    np.testing.assert_allclose(stats["max_eigenvalue"], lam.max(), rtol=1e-9)
    counts, _ = np.histogram(lam, bins=len(stats["histogram"]), range=dask_hessians.EIGEN_RANGE)
    # eigenvalues computed from independently rounded Hessians may cross a bin edge
    assert np.abs(np.array(stats["histogram"]) - counts).sum() <= 4
    assert abs(stats["convex_share"] - np.mean(lam[:, 0] > 0)) <= 4 / n

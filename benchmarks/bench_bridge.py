"""Benchmark bridge: SymPy derivatives compiled to numba kernels, against peers.

1. ``hessian3``: the 3x3 Hessian of ``exp(-(x^2+y^2)) sin(3z) + log(1+x^2y^2+z^2) + tanh(xyz)``
   at 200,000 points (20,000 with --quick), target="parallel" and "cpu", against a numba
   kernel written by hand from ``sympy.cse``, JAX ``jit(vmap(hessian))``, ``torch.func``,
   symengine ``Lambdify`` and casadi ``Function.map`` (target: parallel <= 0.5x JAX).
2. ``rosenbrock``: chained Rosenbrock ``sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2``. At
   n = 1000 one sparse Hessian per call (target <= 0.1x JAX's dense ``jit(hessian)``); at
   n = 10 the latency of one ``.hessian(x)`` call (target <= 5 us).
3. ``startup``: the first call in a new process, cold (empty cache: generate + numba compile)
   and warm (cached kernel; target <= 0.3 s from ``bridge.compile`` to the first result).

Peers are optional and skipped when missing (see benchmarks/README.md for the peers venv).
Run ``python benchmarks/bench_bridge.py [--quick] [--only hessian3|rosenbrock|startup]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sympy as sp

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autodiff as ad  # noqa: E402
import bridge  # noqa: E402
from benchmarks._common import (  # noqa: E402
    BenchRunner,
    format_time,
    machine_info,
    print_table,
    ratio,
    try_import,
)

ROOT = Path(__file__).resolve().parent.parent
NAN = float("nan")


# --- 1. 3x3 Hessians at many points -----------------------------------------------------------
def _f3(mod, x, y, z):
    return (
        mod.exp(-(x**2 + y**2)) * mod.sin(3 * z)
        + mod.log(1 + x**2 * y**2 + z**2)
        + mod.tanh(x * y * z)
    )


def _hand_numba(symbols, hess: sp.Matrix):
    """The kernel a user would write from ``sympy.cse`` output: one prange loop, math.*."""
    from numba import njit, prange

    replacements, (reduced,) = sp.cse([hess], order="none")
    loads = [f"        {s} = X[i, {k}]" for k, s in enumerate(symbols)]
    body = [f"        {s} = {sp.pycode(e)}" for s, e in replacements]
    stores = [
        f"        H[i, {r}, {c}] = {sp.pycode(reduced[r, c])}" for r in range(3) for c in range(3)
    ]
    lines = ["def hand(X, H):", "    for i in prange(X.shape[0]):", *loads, *body, *stores]
    namespace = {"math": math, "prange": prange}
    exec("\n".join(lines), namespace)  # noqa: S102 - a benchmark baseline built from our own text
    return njit(parallel=True, error_model="numpy")(namespace["hand"])


def _peer_hessian3(X: np.ndarray) -> dict:
    """Callables computing all N Hessians with each installed peer."""
    out = {}
    jax = try_import("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy
        hess = jax.jit(jax.vmap(jax.hessian(lambda v: _f3(jnp, v[0], v[1], v[2]))))
        Xj = jax.device_put(X)
        out["jax jit(vmap(hessian))"] = lambda: hess(Xj).block_until_ready()
    torch = try_import("torch")
    if torch is not None:
        Xt = torch.from_numpy(X)
        fn = torch.func.vmap(torch.func.hessian(lambda v: _f3(torch, v[0], v[1], v[2])))
        out["torch.func vmap(hessian)"] = lambda: fn(Xt)
    se = try_import("symengine")
    if se is not None:
        x, y, z = se.symbols("x y z")
        h = se.Matrix([_f3(se, x, y, z)]).jacobian(se.Matrix([x, y, z]))
        h = h.jacobian(se.Matrix([x, y, z]))
        lam = se.Lambdify([x, y, z], list(h), cse=True)
        out["symengine Lambdify"] = lambda: lam(X)
    ca = try_import("casadi")
    if ca is not None:
        v = ca.SX.sym("v", 3)
        H = ca.hessian(_f3(ca, v[0], v[1], v[2]), v)[0]
        mapped = ca.Function("H", [v], [H]).map(len(X), "thread", os.cpu_count() or 1)
        XT = ca.DM(X.T)
        out["casadi map(thread)"] = lambda: mapped(XT)
    return out


def bench_hessian3(run: BenchRunner) -> None:
    """3x3 Hessians at many points: bridge parallel/cpu, a hand numba kernel, peers."""
    n_points = 20_000 if run.quick else 200_000
    X = np.random.default_rng(0).normal(size=(n_points, 3))
    x, y, z = sp.symbols("x y z", real=True)
    expr = _f3(sp, x, y, z)
    kinds = ("value", "hessian")
    ours = {t: bridge.compile(expr, wrt=[x, y, z], target=t, derivatives=kinds) for t in
            ("parallel", "cpu")}  # fmt: skip
    hand = _hand_numba((x, y, z), sp.hessian(expr, (x, y, z)))
    H = np.empty((n_points, 3, 3))
    fns = {
        "bridge parallel": lambda: ours["parallel"].hessian(X),
        "bridge cpu": lambda: ours["cpu"].hessian(X),
        "hand numba (cse, prange)": lambda: hand(X, H),
    }
    reference = ours["parallel"].hessian(X)
    hand(X, H)
    assert np.allclose(H, reference, rtol=1e-12, atol=1e-12), "hand kernel disagrees"
    times = run.time_many(fns)
    for name, fn in _peer_hessian3(X).items():
        times[name] = run.time(fn, max_number=50)
    jax_t = times.get("jax jit(vmap(hessian))", NAN)
    rows = [[name, format_time(t), ratio(t, times["bridge parallel"])] for name, t in times.items()]
    print_table(rows, ["implementation", "time", "vs bridge parallel"],
                f"3x3 Hessian at {n_points:,} points")  # fmt: skip
    ok = None if math.isnan(jax_t) else times["bridge parallel"] <= 0.5 * jax_t
    run.record(f"hessian3 parallel N={n_points:,} / jax", ratio(times["bridge parallel"], jax_t),
               "<= 0.50x", ok)  # fmt: skip


# --- 2. Rosenbrock: sparse Hessian at n=1000, latency at n=10 -----------------------------------
def rosenbrock(x):
    """Chained Rosenbrock, vectorised with autodiff ops."""
    return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _jax_rosenbrock_hessian(n: int):
    jax = try_import("jax")
    if jax is None:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def f(x):
        """The same chained Rosenbrock in jax.numpy."""
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    hess = jax.jit(jax.hessian(f))
    x = jax.device_put(np.linspace(-1.0, 1.0, n))
    return lambda: hess(x).block_until_ready()


def _casadi_rosenbrock_hessian(n: int):
    ca = try_import("casadi")
    if ca is None:
        return None
    v = ca.SX.sym("v", n)
    f = ca.sum1(100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)
    fn = ca.Function("H", [v], [ca.hessian(f, v)[0]])
    x = ca.DM(np.linspace(-1.0, 1.0, n))
    return lambda: fn(x)


def bench_rosenbrock(run: BenchRunner) -> None:
    """Sparse Hessian at n=1000 against JAX's dense one; one-point latency at n=10."""
    n = 1000
    x0 = np.linspace(-1.0, 1.0, n)
    start = time.perf_counter()
    big = bridge.compile(rosenbrock, x0)
    big.hessian(x0, sparse=True)
    build = time.perf_counter() - start
    fns = {
        "bridge sparse .hessian(x, sparse=True)": lambda: big.hessian(x0, sparse=True),
        "bridge dense .hessian(x)": lambda: big.hessian(x0),
    }
    times = run.time_many(fns)
    for name, maker in (("jax jit(hessian) dense", _jax_rosenbrock_hessian),
                        ("casadi hessian (sparse)", _casadi_rosenbrock_hessian)):  # fmt: skip
        fn = maker(n)
        if fn is not None:
            times[name] = run.time(fn, max_number=1000)
    sparse_t = times["bridge sparse .hessian(x, sparse=True)"]
    rows = [[name, format_time(t), ratio(t, sparse_t)] for name, t in times.items()]
    rows.append(["bridge lift + derive + generate + compile", format_time(build), "-"])
    print_table(rows, ["implementation", "time per call", "vs bridge sparse"],
                f"chained Rosenbrock n={n}, nnz={big.nnz}")  # fmt: skip
    jax_t = times.get("jax jit(hessian) dense", NAN)
    ok = None if math.isnan(jax_t) else sparse_t <= 0.1 * jax_t
    run.record(f"rosenbrock n={n} sparse / jax dense", ratio(sparse_t, jax_t), "<= 0.10x", ok)

    small = bridge.compile(rosenbrock, np.linspace(-1.0, 1.0, 10))
    x10 = np.linspace(-1.0, 1.0, 10)
    latency = run.time_many({
        "dense": lambda: small.hessian(x10),
        "sparse": lambda: small.hessian(x10, sparse=True),
        "grad": lambda: small.grad(x10),
    })  # fmt: skip
    rows = [[f"n=10 .{k}", format_time(t)] for k, t in latency.items()]
    print_table(rows, ["call", "latency"], "single-point latency")
    run.record("rosenbrock n=10 .hessian(x)", format_time(latency["dense"]), "<= 5 us",
               latency["dense"] <= 5e-6)  # fmt: skip


# --- 3. start-up in a new process ----------------------------------------------------------------
_STARTUP = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np, sympy as sp, bridge
t1 = time.perf_counter()
x, y, z = sp.symbols("x y z", real=True)
f = sp.exp(-(x**2 + y**2)) * sp.sin(3 * z) + sp.log(1 + x**2 * y**2 + z**2) + sp.tanh(x * y * z)
c = bridge.compile(f, wrt=[x, y, z], target=sys.argv[1])
t2 = time.perf_counter()
c.hessian(np.ones((4, 3)))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "compile": t2 - t1, "first": t3 - t2}))
"""


_FLOOR = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import hd_floor_kernel
t2 = time.perf_counter()
hd_floor_kernel.f(np.ones(3))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "compile": t2 - t1, "first": t3 - t2}))
"""


def _numba_floor(cache: str) -> dict:
    """numba's own share: import numba + first call of a trivial cached ``njit`` function."""
    module = Path(cache) / "hd_floor_kernel.py"
    module.write_text("from numba import njit\n\n\n@njit(cache=True)\ndef f(x):\n    return x[0]\n")
    runs = []
    for _ in range(2):  # the first run writes numba's cache, the second reads it
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _FLOOR, cache], capture_output=True,
                             text=True, check=True)  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        runs[-1]["process"] = time.perf_counter() - start
    return runs[-1]


def _startup_once(target: str, cache: str) -> dict:
    env = dict(os.environ, HYBRIDDIFF_CACHE_DIR=cache)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _STARTUP, target], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


def bench_startup(run: BenchRunner) -> None:
    """Cold and warm first calls in fresh processes, for the cpu and parallel targets."""
    rows = []
    for target in ("cpu", "parallel"):
        with tempfile.TemporaryDirectory(prefix="hybriddiff-bench-") as cache:
            cold = _startup_once(target, cache)
            warm = [_startup_once(target, cache) for _ in range(1 if run.quick else 3)]
        w = sorted(warm, key=lambda r: r["compile"] + r["first"])[len(warm) // 2]
        for label, r in (("cold", cold), ("warm", w)):
            rows.append([target, label, format_time(r["import"]), format_time(r["compile"]),
                         format_time(r["first"]), format_time(r["compile"] + r["first"]),
                         format_time(r["process"])])  # fmt: skip
        first = w["compile"] + w["first"]
        run.record(f"startup {target} warm compile+first call", format_time(first), "<= 0.3 s",
                   first <= 0.3)  # fmt: skip
        run.record(f"startup {target} cold compile+first call",
                   format_time(cold["compile"] + cold["first"]), "-", None)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="hybriddiff-floor-") as cache:
        r = _numba_floor(cache)
    rows.append(["numba floor", "warm", format_time(r["import"]), format_time(r["compile"]),
                 format_time(r["first"]), format_time(r["compile"] + r["first"]),
                 format_time(r["process"])])  # fmt: skip
    print_table(rows, ["target", "cache", "import", "compile()", "first call", "compile+first",
                       "whole process"], "start-up in a new process")  # fmt: skip
    print("numba floor: 'compile()' is `import numba`, 'first call' a cached one-line njit kernel")


SECTIONS = {"hessian3": bench_hessian3, "rosenbrock": bench_rosenbrock, "startup": bench_startup}


def main(argv: list[str] | None = None) -> int:
    """Run the bridge benchmarks and print their tables and a summary; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and repeats")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these")
    args = parser.parse_args(argv)
    run = BenchRunner(args.quick)
    print(machine_info())
    print(f"mode: {'quick' if args.quick else 'full'} (median of {run.repeat} runs)")
    print(f"kernel cache: {bridge.cache_dir()}")
    run.run_sections(SECTIONS, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())

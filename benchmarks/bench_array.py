"""Benchmark bridge's array mode (``bridge.compile(..., mode="array")``) against JAX.

1. ``rosenbrock``: chained and separable extended Rosenbrock at n = 10^3 .. 10^6: cold
   trace+derive+compile and warm first call, each in a new process; gradient per call
   (target <= 1.5x ``jax.jit(grad)``); sparse Hessian per call (target <= 20 ms at 10^6);
   Newton ``hybriddiff.minimize`` from the standard start (report).
2. ``lse``: ``logsumexp(A @ x) + 0.5 sum(x^2)``, dense A a parameter, n = 200: compile
   (target <= 3 s), Hessian per call (target <= 1.0x ``jax.jit(hessian)``).
3. ``logistic``: logistic regression, X of 10^4 x 100 passed at call time: gradient and
   Hessian per call (targets <= 1.0x ``jax.jit``).
4. ``mlp``: a 2-layer MLP loss with 201 and ~10^4 parameters, data at call time: compile
   (target <= 5 s), hvp per call (target <= 1.5x ``jax.jit`` hvp), full Hessian at 201
   parameters (target <= 2x ``jax.jit(hessian)``).

Ratios are against JAX measured in the same run (skipped when JAX is missing). Run
``python benchmarks/bench_array.py [--quick] [--only rosenbrock|lse|logistic|mlp]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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

ROOT = str(Path(__file__).resolve().parent.parent)


def _jax():
    jax = try_import("jax")
    if jax is None:
        return None, None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def rosen_chained(x):
    return ad.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_separable(x):
    odd, even = x[0::2], x[1::2]
    return ad.sum(100.0 * (even - odd**2) ** 2 + (1.0 - odd) ** 2)


def _jax_rosen(jnp, kind):
    if kind == "chained":
        return lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return lambda x: jnp.sum(100.0 * (x[1::2] - x[0::2] ** 2) ** 2 + (1.0 - x[0::2]) ** 2)


def _start(n: int) -> np.ndarray:
    x = np.ones(n)
    x[0::2] = -1.2
    return x


_STARTUP = """
import sys, time, json
t0 = time.perf_counter()
import numpy as np
import autodiff as ad
import bridge
from benchmarks.bench_array import rosen_chained, rosen_separable, _start
f = rosen_chained if sys.argv[1] == "chained" else rosen_separable
x = _start(int(sys.argv[2]))
t1 = time.perf_counter()
c = bridge.compile(f, x, mode="array")
g = c.grad(x)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "sympy": "sympy" in sys.modules}))
"""


def _startup(kind: str, n: int, cache: str) -> dict:
    env = dict(os.environ, HYBRIDDIFF_CACHE_DIR=cache, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", _STARTUP, kind, str(n)], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_rosenbrock(run: BenchRunner) -> None:
    jax, jnp = _jax()
    import hybriddiff as hd

    sizes = (1000, 100_000, 1_000_000)
    rows = []
    for kind, f in (("chained", rosen_chained), ("separable", rosen_separable)):
        with tempfile.TemporaryDirectory() as cache:
            cold = _startup(kind, 1_000_000, cache)
            warm = _startup(kind, 1_000_000, cache)
        run.record(f"rosenbrock {kind} 1e6 cold compile+first grad", format_time(cold["first"]),
                   "<= 3 s", cold["first"] <= 3.0)  # fmt: skip
        run.record(f"rosenbrock {kind} 1e6 warm compile+first grad", format_time(warm["first"]),
                   "<= 0.5 s", warm["first"] <= 0.5 and not warm["sympy"])  # fmt: skip
        for n in sizes:
            x = _start(n)
            c = bridge.compile(f, x, mode="array")
            t_grad = run.time(lambda c=c, x=x: c.grad(x), max_number=1000)
            c.hessian(x, sparse=True)
            t_sparse = run.time(lambda c=c, x=x: c.hessian(x, sparse=True), max_number=100)
            t_jax = float("nan")
            if jax is not None:
                jg = jax.jit(jax.grad(_jax_rosen(jnp, kind)))
                xj = jnp.asarray(x)
                t_jax = run.time(lambda jg=jg, xj=xj: jg(xj).block_until_ready(), 1000)
            rows.append([kind, n, format_time(t_grad), format_time(t_jax), ratio(t_grad, t_jax),
                         format_time(t_sparse)])  # fmt: skip
            if n == 1_000_000:
                r = t_grad / t_jax if t_jax == t_jax else float("nan")
                run.record(f"rosenbrock {kind} 1e6 grad vs jax.jit(grad)", ratio(t_grad, t_jax),
                           "<= 1.5x", r <= 1.5 if r == r else None)  # fmt: skip
                run.record(f"rosenbrock {kind} 1e6 sparse Hessian", format_time(t_sparse),
                           "<= 20 ms", t_sparse <= 0.02)  # fmt: skip
        n = 100_000 if run.quick else 1_000_000
        start = time.perf_counter()
        res = hd.minimize(f, _start(n), tol=1e-10)
        spent = time.perf_counter() - start
        gnorm = float(np.max(np.abs(res.jac))) if hasattr(res, "jac") else float("nan")
        run.record(f"rosenbrock {kind} n={n} Newton to |g|<=1e-10",
                   f"{format_time(spent)}, nit={res.nit}, |g|={gnorm:.1e}", "report",
                   None)  # fmt: skip
    print_table(rows, ["kind", "n", "grad", "jax grad", "ratio", "sparse H"], "rosenbrock")


def lse(x, A):
    return ad.logsumexp(A @ x) + 0.5 * ad.sum(x**2)


def bench_lse(run: BenchRunner) -> None:
    jax, jnp = _jax()
    n = 200
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((n, n)), rng.standard_normal(n)
    start = time.perf_counter()
    c = bridge.compile(lse, x, A, params=1, mode="array")
    c.hessian(x, A)
    t_compile = time.perf_counter() - start
    run.record("lse(Ax) n=200 compile+first Hessian", format_time(t_compile), "<= 3 s",
               t_compile <= 3.0)  # fmt: skip
    t_h = run.time(lambda: c.hessian(x, A), max_number=100)
    t_jax = float("nan")
    if jax is not None:
        from jax.scipy.special import logsumexp

        jh = jax.jit(jax.hessian(lambda x, A: logsumexp(A @ x) + 0.5 * jnp.sum(x**2)))
        xj, Aj = jnp.asarray(x), jnp.asarray(A)
        t_jax = run.time(lambda: jh(xj, Aj).block_until_ready(), 100)
    r = t_h / t_jax
    run.record("lse(Ax) n=200 Hessian vs jax.jit(hessian)", ratio(t_h, t_jax), "<= 1.0x",
               r <= 1.0 if r == r else None)  # fmt: skip


def logistic(w, X, y):
    z = X @ w
    return ad.mean(ad.softplus(z) - y * z)


def bench_logistic(run: BenchRunner) -> None:
    jax, jnp = _jax()
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10_000, 100))
    y = (rng.uniform(size=10_000) < 0.5).astype(float)
    w = rng.standard_normal(100) * 0.1
    c = bridge.compile(logistic, w, X, y, params=(1, 2), mode="array")
    t_g = run.time(lambda: c.grad(w, X, y), 1000)
    t_h = run.time(lambda: c.hessian(w, X, y), 100)
    jg = jh = None
    t_jg = t_jh = float("nan")
    if jax is not None:

        def jl(w, X, y):
            z = X @ w
            return jnp.mean(jax.nn.softplus(z) - y * z)

        jg, jh = jax.jit(jax.grad(jl)), jax.jit(jax.hessian(jl))
        wj, Xj, yj = jnp.asarray(w), jnp.asarray(X), jnp.asarray(y)
        t_jg = run.time(lambda: jg(wj, Xj, yj).block_until_ready(), 1000)
        t_jh = run.time(lambda: jh(wj, Xj, yj).block_until_ready(), 100)
    for what, t, tj in (("gradient", t_g, t_jg), ("Hessian", t_h, t_jh)):
        r = t / tj
        run.record(f"logistic 1e4x100 {what} vs jax.jit", f"{format_time(t)} ({ratio(t, tj)})",
                   "<= 1.0x", r <= 1.0 if r == r else None)  # fmt: skip


def mlp(theta, X, y, hidden):
    d = X.shape[1]
    k = d * hidden
    W1 = ad.reshape(theta[:k], (d, hidden))
    b1 = theta[k : k + hidden]
    W2 = ad.reshape(theta[k + hidden : k + 2 * hidden], (hidden, 1))
    b2 = theta[k + 2 * hidden]
    h = ad.tanh(X @ W1 + b1)
    return ad.mean((ad.reshape(h @ W2, (-1,)) + b2 - y) ** 2)


def bench_mlp(run: BenchRunner) -> None:
    jax, jnp = _jax()
    rng = np.random.default_rng(2)
    for d, hidden in ((2, 50), (20, 476)):  # 201 and 10,473 parameters
        _mlp_case(run, jax, jnp, rng, d, hidden)


def _mlp_case(run: BenchRunner, jax, jnp, rng, d: int, hidden: int) -> None:
    if True:
        size = d * hidden + 2 * hidden + 1
        X = rng.standard_normal((1000, d))
        y = np.sin(X[:, 0])
        theta = rng.standard_normal(size) * 0.3
        f = lambda t, X, y, hidden=hidden: mlp(t, X, y, hidden)  # noqa: E731
        start = time.perf_counter()
        c = bridge.compile(f, theta, X, y, params=(1, 2), mode="array")
        c.hvp(theta, theta, X, y)
        t_compile = time.perf_counter() - start
        run.record(f"mlp {size} params compile+first hvp", format_time(t_compile), "<= 5 s",
                   t_compile <= 5.0)  # fmt: skip
        t_hvp = run.time(lambda c=c: c.hvp(theta, theta, X, y), 1000)
        t_jhvp = t_jh = float("nan")
        if jax is not None:

            def jl(t, X, y, d=d, hidden=hidden):
                k = d * hidden
                h = jnp.tanh(X @ t[:k].reshape(d, hidden) + t[k : k + hidden])
                out = h @ t[k + hidden : k + 2 * hidden] + t[k + 2 * hidden]
                return jnp.mean((out - y) ** 2)

            jhvp = jax.jit(
                lambda t, v, X, y: jax.jvp(lambda s: jax.grad(jl)(s, X, y), (t,), (v,))[1]
            )
            tj, Xj, yj = jnp.asarray(theta), jnp.asarray(X), jnp.asarray(y)
            t_jhvp = run.time(lambda: jhvp(tj, tj, Xj, yj).block_until_ready(), 1000)
            if size < 1000:
                jh = jax.jit(jax.hessian(jl))
                t_jh = run.time(lambda: jh(tj, Xj, yj).block_until_ready(), 100)
        r = t_hvp / t_jhvp
        shown = f"{format_time(t_hvp)} ({ratio(t_hvp, t_jhvp)})"
        run.record(f"mlp {size} params hvp vs jax.jit", shown, "<= 1.5x",
                   r <= 1.5 if r == r else None)  # fmt: skip
        if size < 1000:
            t_h = run.time(lambda c=c: c.hessian(theta, X, y), 100)
            r = t_h / t_jh
            run.record(f"mlp {size} params Hessian vs jax.jit", f"{format_time(t_h)} "
                       f"({ratio(t_h, t_jh)})", "<= 2x", r <= 2.0 if r == r else None)  # fmt: skip


SECTIONS = {"rosenbrock": bench_rosenbrock, "lse": bench_lse, "logistic": bench_logistic,
            "mlp": bench_mlp}  # fmt: skip


def main(argv=None) -> None:
    """Run the chosen sections and print the summary with PASS/MISS per target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS))
    args = parser.parse_args(argv)
    print(machine_info())
    print(f"load average: {os.getloadavg()}")
    run = BenchRunner(args.quick)
    run.run_sections(SECTIONS, args.only)


if __name__ == "__main__":
    main()

"""The one prepared GPU check (issue 14): CUDA kernels on real hardware, tested and timed.

Run it once on a machine with an NVIDIA GPU, from the repository root:

    python benchmarks/gpu_check.py [--out DIR] [--budget 480] [--points 1e6 1e7]

Three steps, each in its own process under its own time limit (a failing or hanging step is
reported and the next one still runs; the whole stays within ``--budget`` seconds):

1. ``environment``: the GPU numba sees (``numba.cuda.detect``), versions of numba, numpy,
   CuPy and JAX, and whether the simulator is off.
2. ``tests``: ``tests/bridge/cudasim`` on the device (``HYBRIDDIFF_TEST_CUDA=1``, simulator
   off): the op table's CUDA kernels against eager autodiff, CUDA against CPU kernels, device
   arrays, Dask chunks (and CuPy chunks when CuPy is installed).
3. ``benchmark``: the 3x3 Hessian of bench_bridge's ``hessian3`` function at 10^6 and 10^7
   points: ``cuda`` with host arrays (copies included) and with device arrays (kernel only),
   float64 and float32, against the CPU ``parallel`` target and JAX ``jit(vmap(hessian))`` on
   the same GPU when JAX sees one; agreement of CUDA and CPU kernels (max relative error).

Everything is printed and written to ``DIR/gpu_check.json`` (``DIR``: ``--out``, else
``$OUT``, else the current folder), with the pytest log in ``DIR/gpu_tests.log``. The kernel
cache goes to a fresh temporary folder unless ``HYBRIDDIFF_CACHE_DIR`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    path = [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


def _step(args: list[str], timeout: float, env: dict) -> dict:
    """Run ``python <args>`` with a time limit; its last stdout line is its JSON result."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=max(timeout, 1),
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return {"ok": False, "error": f"timed out after {timeout:.0f} s", "log": out[-4000:]}
    result: dict = {"ok": done.returncode == 0, "seconds": round(time.perf_counter() - start, 1)}
    lines = done.stdout.strip().splitlines()
    try:
        result.update(json.loads(lines[-1]))
    except (IndexError, json.JSONDecodeError):
        result["log"] = (done.stdout + done.stderr)[-4000:]
    if done.returncode != 0:
        result.setdefault("log", (done.stdout + done.stderr)[-4000:])
    return result


# --- step 1: environment ---------------------------------------------------------------------
def environment() -> dict:
    """What the machine offers: GPU, driver, library versions."""
    info: dict = {"python": sys.version.split()[0]}
    for name in ("numpy", "numba", "sympy", "dask", "cupy", "jax"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", "?")
        except Exception as exc:  # noqa: BLE001 - a missing or broken library is reported
            info[name] = f"missing ({type(exc).__name__})"
    from numba import config, cuda

    info["simulator"] = bool(config.ENABLE_CUDASIM)
    info["cuda_available"] = bool(cuda.is_available())
    if info["cuda_available"]:
        device = cuda.get_current_device()
        info["device"] = device.name.decode() if isinstance(device.name, bytes) else device.name
        info["compute_capability"] = list(device.compute_capability)
        free, total = cuda.current_context().get_memory_info()
        info["memory_gib"] = round(total / 2**30, 1)
    try:
        jax = __import__("jax")
        info["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception:  # noqa: BLE001
        pass
    return info


# --- step 3: benchmark ---------------------------------------------------------------------------
def _expr():
    import sympy as sp

    x, y, z = sp.symbols("x y z", real=True)
    f = sp.exp(-(x**2 + y**2)) * sp.sin(3 * z) + sp.log(1 + x**2 * y**2 + z**2) + sp.tanh(x * y * z)
    return f, [x, y, z]


def _median(fn, repeat: int) -> float:
    fn()  # warm-up: compilation, allocations
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _jax_hessian(dtype: str):
    """JAX's jit(vmap(hessian)) of the same function on its default (GPU) device, or None."""
    try:
        import jax
        import jax.numpy as jnp
    except Exception:  # noqa: BLE001
        return None
    if not any(d.platform == "gpu" for d in jax.devices()):
        return None
    jax.config.update("jax_enable_x64", True)

    def f(v):
        x, y, z = v[0], v[1], v[2]
        return (
            jnp.exp(-(x**2 + y**2)) * jnp.sin(3 * z)
            + jnp.log(1 + x**2 * y**2 + z**2)
            + jnp.tanh(x * y * z)
        )

    hess = jax.jit(jax.vmap(jax.hessian(f)))

    def run(X):
        return hess(X).block_until_ready()

    return run, jax.device_put


def benchmark(points: list[int], repeat: int) -> dict:
    """Times (median seconds) and points/s of each way, per N and dtype; CUDA-vs-CPU error."""
    import numpy as np
    from numba import cuda

    import bridge

    expr, wrt = _expr()
    out: dict = {"runs": [], "repeat": repeat}
    for dtype in ("float64", "float32"):
        gpu = bridge.compile(expr, wrt=wrt, target="cuda", dtype=dtype, derivatives="hessian")
        cpu = bridge.compile(expr, wrt=wrt, target="parallel", dtype=dtype, derivatives="hessian")
        jax_run = _jax_hessian(dtype) if dtype == "float64" else None
        for n in points:
            X = np.random.default_rng(0).normal(size=(n, 3)).astype(dtype)
            want = cpu.hessian(X)
            got = gpu.hessian(X)
            scale = np.maximum(np.abs(want), 1.0)
            row = {
                "dtype": dtype,
                "n": n,
                "max_rel_err_cuda_vs_cpu": float(np.max(np.abs(got - want) / scale)),
                "nan_mismatch": int(np.sum(np.isnan(got) != np.isnan(want))),
            }
            del got
            dX = cuda.to_device(X)

            def on_device(dX=dX, gpu=gpu):
                gpu.hessian(dX)
                cuda.synchronize()

            times = {
                "cpu parallel": _median(lambda X=X, c=cpu: c.hessian(X), repeat),
                "cuda host arrays": _median(lambda X=X, c=gpu: c.hessian(X), repeat),
                "cuda device arrays": _median(on_device, repeat),
            }
            if jax_run is not None:
                run, put = jax_run
                jX = put(X)
                times["jax jit(vmap(hessian)) gpu"] = _median(
                    lambda jX=jX, run=run: run(jX), repeat
                )
                row["max_rel_err_jax_vs_cpu"] = float(
                    np.max(np.abs(np.asarray(run(jX)) - want) / scale)
                )
            row["seconds"] = times
            row["points_per_s"] = {k: n / t for k, t in times.items()}
            row["cuda_device_vs_cpu_parallel"] = times["cpu parallel"] / times["cuda device arrays"]
            if "jax jit(vmap(hessian)) gpu" in times:
                row["cuda_device_time_vs_jax"] = (
                    times["cuda device arrays"] / times["jax jit(vmap(hessian)) gpu"]
                )
            out["runs"].append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)  # progress, if cut short
            del dX
    return out


# --- driver --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for gpu_check.json ($OUT)")
    parser.add_argument("--budget", type=float, default=480, help="seconds for all steps")
    parser.add_argument("--points", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--step", choices=["environment", "benchmark"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step == "environment":
        print(json.dumps(environment()))
        return 0
    if args.step == "benchmark":
        print(json.dumps(benchmark([int(n) for n in args.points], args.repeat)))
        return 0

    out = Path(args.out or os.environ.get("OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    env = _env()
    env.setdefault("HYBRIDDIFF_CACHE_DIR", tempfile.mkdtemp(prefix="hybriddiff-gpu-"))
    deadline = time.monotonic() + args.budget
    report: dict = {}

    def left(share: float) -> float:
        return (deadline - time.monotonic()) * share

    me = str(Path(__file__).resolve())
    report["environment"] = _step([me, "--step", "environment"], min(60, left(0.2)), env)
    print("environment:", json.dumps(report["environment"], indent=1), flush=True)
    if not report["environment"].get("cuda_available"):
        print("no usable CUDA device: tests and benchmark skipped", flush=True)
    else:
        log = out / "gpu_tests.log"
        tests = _step(
            ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/bridge/cudasim", "-rs",
             f"--junitxml={out / 'gpu_tests.xml'}"],
            left(0.55), dict(env, HYBRIDDIFF_TEST_CUDA="1"),
        )  # fmt: skip
        log.write_text(tests.get("log", ""))
        report["tests"] = tests
        print("tests:", "passed" if tests["ok"] else "FAILED", tests.get("seconds"), flush=True)
        points = [str(p) for p in args.points]
        bench = _step(
            [me, "--step", "benchmark", "--repeat", str(args.repeat), "--points", *points],
            left(0.95), env,
        )  # fmt: skip
        report["benchmark"] = bench
        for row in bench.get("runs", []):
            rates = ", ".join(f"{k} {v:,.0f}/s" for k, v in row["points_per_s"].items())
            print(f"{row['dtype']} N={row['n']:,}: {rates}; "
                  f"max rel err cuda vs cpu {row['max_rel_err_cuda_vs_cpu']:.2e}")  # fmt: skip
        if not bench.get("ok"):
            print("benchmark FAILED:", bench.get("error"), bench.get("log", "")[-2000:])
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    print(f"report: {out / 'gpu_check.json'}")
    ok = all(step.get("ok") for step in report.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

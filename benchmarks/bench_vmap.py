"""Eager dense Hessians with batched tangents, and vmap's per-example gradients, vs peers.

Section 1: the extended Rosenbrock function, ``ad.hessian`` (forward-over-reverse, all basis
tangents pushed through the gradient's graph at once by ``vmap``) against
``torch.func.hessian`` and ``jax.hessian`` without ``jit`` (eager), at n = 10, 100, 1000.
Target: autodiff / torch.func <= 1.0 at n = 100.

Section 2: per-example gradients of a small MLP loss (``vmap(grad(loss), in_axes=(None, 0,
0))``) against a Python loop of ``grad`` and against ``torch.func.vmap(torch.func.grad(...))``.

Peers are optional (run with the peers' environment to include them). Thread pools are
capped at one thread when the variables are unset, so that the peers do not fight over the
cores of a shared machine; ``--threads N`` changes that.

    python benchmarks/bench_vmap.py [--quick] [--threads N] [--tune-malloc]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_N, TARGET = 100, 1.0  # autodiff / torch.func.hessian at n = 100


def rosen(x):
    """The extended Rosenbrock function, for any array library with slicing and ``sum``."""
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def _rosen_hess(x: np.ndarray) -> np.ndarray:
    """The analytic Hessian (scipy's rosen_hess, written out): the oracle."""
    n = x.size
    h = np.zeros((n, n))
    d = np.zeros(n)
    d[0] = 1200 * x[0] ** 2 - 400 * x[1] + 2
    d[-1] = 200
    d[1:-1] = 202 + 1200 * x[1:-1] ** 2 - 400 * x[2:]
    h[np.arange(n), np.arange(n)] = d
    off = -400 * x[:-1]
    h[np.arange(n - 1), np.arange(1, n)] = off
    h[np.arange(1, n), np.arange(n - 1)] = off
    return h


def _mlp_loss_factory(lib):
    """``loss(params, x, y)`` of a 8-32-1 tanh MLP for one example, in ``lib``'s array ops."""

    def loss(params, x, y):
        w1, b1, w2, b2 = params
        h = lib.tanh(x @ w1 + b1)
        out = h @ w2 + b2
        return ((out - y) ** 2).sum()

    return loss


def bench_hessians(sizes, repeat, torch, jax, ad, timeit_interleaved, print_table):
    """Section 1: dense eager Hessians of the extended Rosenbrock function."""
    rows = []
    target_ratio = None
    for n in sizes:
        x0 = np.linspace(-1.2, 1.2, n)
        ours = ad.hessian(rosen)(x0)
        err = np.abs(ours - _rosen_hess(x0)).max()
        if err > 1e-9 * max(1.0, np.abs(_rosen_hess(x0)).max()):
            raise AssertionError(f"autodiff Hessian at n={n} is off by {err}")
        fns = {"autodiff": lambda x0=x0: ad.hessian(rosen)(x0)}
        if torch is not None:
            tx = torch.tensor(x0)
            fns["torch.func"] = lambda tx=tx: torch.func.hessian(rosen)(tx)
        if jax is not None:
            jx = jax.numpy.asarray(x0)
            fns["jax (no jit)"] = lambda jx=jx: jax.block_until_ready(jax.hessian(rosen)(jx))
        reps = repeat if n <= 100 else max(3, repeat // 4)
        times = timeit_interleaved(fns, repeat=reps, warmup=1)
        base = times["autodiff"]
        for name, t in times.items():
            rows.append((f"n={n}", name, f"{t * 1e3:.3f} ms", f"{base / t:.2f}"))
        if n == TARGET_N and "torch.func" in times:
            target_ratio = base / times["torch.func"]
    print_table(
        rows,
        ("size", "implementation", "median", "autodiff / this"),
        "Dense eager Hessian of the extended Rosenbrock function",
    )
    return target_ratio


def bench_per_example(batch, repeat, torch, ad, timeit_interleaved, print_table):
    """Section 2: per-example gradients of an MLP loss, vmap vs a loop vs torch.func."""
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(8, 32)) / 3, np.zeros(32), rng.normal(size=(32,)) / 6, 0.0]
    xs, ys = rng.normal(size=(batch, 8)), rng.normal(size=batch)
    loss = _mlp_loss_factory(ad)
    per_example = ad.vmap(ad.grad(loss), in_axes=(None, 0, 0))
    got = per_example(params, xs, ys)
    one = ad.grad(loss)(params, xs[3], ys[3])
    for a, b in zip(got, one):
        np.testing.assert_allclose(np.asarray(a)[3], b, rtol=1e-10, atol=1e-12)

    def loop():
        return [ad.grad(loss)(params, xs[i], ys[i]) for i in range(batch)]

    fns = {"autodiff vmap(grad)": lambda: per_example(params, xs, ys), "autodiff loop": loop}
    if torch is not None:
        tloss = _mlp_loss_factory(torch)
        tp = [torch.tensor(p) for p in params]
        tx, ty = torch.tensor(xs), torch.tensor(ys)
        tfn = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))
        fns["torch.func vmap(grad)"] = lambda: tfn(tp, tx, ty)
    times = timeit_interleaved(fns, repeat=repeat, warmup=1)
    base = times["autodiff vmap(grad)"]
    rows = [(name, f"{t * 1e3:.3f} ms", f"{base / t:.2f}") for name, t in times.items()]
    print_table(
        rows,
        ("implementation", "median", "vmap / this"),
        f"Per-example gradients, 8-32-1 tanh MLP, batch {batch}",
    )


def main(argv: list[str] | None = None) -> int:
    """Run both sections and print the target ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, n = 10 and 100")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads")
    parser.add_argument(
        "--tune-malloc", action="store_true", help="keep freed memory in the process (mallopt)"
    )
    args = parser.parse_args(argv)
    if args.tune_malloc:
        from benchmarks._common import tune_malloc

        print(f"malloc tuned: {tune_malloc()}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    import autodiff as ad
    from benchmarks._common import machine_info, print_table, timeit_interleaved, try_import

    print(machine_info())
    torch = try_import("torch")
    jax = try_import("jax")
    if torch is not None:
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(args.threads)
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    repeat = 5 if args.quick else 21
    sizes = (10, 100) if args.quick else (10, 100, 1000)
    target_ratio = bench_hessians(sizes, repeat, torch, jax, ad, timeit_interleaved, print_table)
    print()
    bench_per_example(64, repeat, torch, ad, timeit_interleaved, print_table)
    if target_ratio is None:
        print("\ntorch not installed: no target ratio")
    else:
        status = "PASS" if target_ratio <= TARGET else "MISS"
        print(
            f"\nautodiff / torch.func.hessian at n={TARGET_N}: {target_ratio:.2f} "
            f"(target <= {TARGET}): {status}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

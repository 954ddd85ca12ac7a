"""``hybriddiff demo``: one function through the eager, symbolic and compiled faces."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import autodiff as ad


def f(x, y):
    """The tour's function: softplus(x*y) * sin(x)^2 / (1 + y^2), written with autodiff ops."""
    return ad.log(1 + ad.exp(x * y)) * ad.sin(x) ** 2 / (1 + y**2)


def rosenbrock(x):
    """Extended (chained) Rosenbrock: sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


class _Steps:
    """Numbered step headers with the elapsed time of each step."""

    def __init__(self, total: int):
        self.total, self.n, self.start = total, 0, time.perf_counter()

    def __call__(self, title: str) -> None:
        self.n += 1
        self.t0 = time.perf_counter()
        print(f"\n[{self.n}/{self.total}] {title}", flush=True)

    def note(self, text: str) -> None:
        print(f"      {text}  ({time.perf_counter() - self.t0:.2f} s)", flush=True)


def _median_time(fn: Callable, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def eager_face(step: _Steps, point: tuple[float, float]) -> None:
    """Value, gradient and Hessian by reverse (and forward-over-reverse) autodiff."""
    step("eager: autodiff value, gradient and Hessian")
    g = ad.grad(f, argnums=(0, 1))(*point)
    h = ad.hessian(lambda v: f(v[0], v[1]))(np.array(point))
    print(f"      f{point} = {float(f(*point).data):.12f}")
    print(f"      gradient = {np.array(g)}")
    print(f"      Hessian  = {h.tolist()}")


def symbolic_face(step: _Steps, point: tuple[float, float]) -> None:
    """Lift into SymPy, print simplified derivatives, check agreement with the eager face."""
    import symdiff

    step("symbolic: lift into SymPy, simplified gradient and Hessian")
    lifted = symdiff.lift(f, *point)
    step.note(f"lifted: f = {lifted.expr}")
    print(symdiff.formula(lifted, order=1).pretty())
    for line in str(symdiff.formula(lifted, order=2)).splitlines():
        print(f"      {line}")
    check = symdiff.check_consistency(f, *point, order=2)
    print(
        f"      eager (rev, fwd) == symbolic == finite differences: max error {check.max_error:.1e}"
    )


def compiled_face(step: _Steps, n_points: int) -> None:
    """Compile the gradient to a parallel numba kernel; compare its speed with eager autodiff."""
    import bridge

    step(f"compiled: numba kernels (parallel), gradient at {n_points:,} points")
    kernels = bridge.compile(f, 0.5, 0.5, target="parallel")
    step.note("compiled (or loaded from the cache)")
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, size=(n_points, 2))
    grad_eager = ad.grad(lambda x, y: f(x, y).sum(), argnums=(0, 1))
    kernels.grad(points)  # first call: numba start-up
    t_kernel = _median_time(lambda: kernels.grad(points))
    t_eager = _median_time(lambda: grad_eager(points[:, 0], points[:, 1]))
    eager = np.stack(grad_eager(points[:, 0], points[:, 1]), axis=1)
    error = np.max(np.abs(kernels.grad(points) - eager) / (1 + np.abs(eager)))
    print(
        f"      compiled: {t_kernel * 1e3:7.2f} ms   eager (vectorised NumPy): "
        f"{t_eager * 1e3:7.2f} ms   speed-up {t_eager / t_kernel:5.1f}x"
    )
    print(f"      agreement compiled vs eager: max relative error {error:.1e}")


def newton_face(step: _Steps, n: int) -> None:
    """Newton with compiled sparse Hessians on Rosenbrock, against SciPy with our kernels."""
    from scipy.optimize import minimize as scipy_minimize

    import bridge

    from .optimize import minimize

    step(f"second order: Newton on extended Rosenbrock, n = {n:,} (compiled sparse Hessian)")
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], n)  # SciPy's tutorial start; minimum at all ones
    bridge.compile(rosenbrock, x0)
    step.note("Hessian kernel compiled (or loaded from the cache)")

    def progress(r):
        print(f"      it {r.nit:3d}  f = {r.fun:.6e}  |grad|inf = {r.grad_norm:.2e}", flush=True)

    rows = []
    for method in ("newton", "trust-region"):
        print(f"      hybriddiff.minimize(method={method!r})")
        t = time.perf_counter()
        res = minimize(rosenbrock, x0, method=method, callback=progress)
        rows.append((f"hybriddiff.minimize {method}", res.nit, time.perf_counter() - t, res))
    objective = bridge.scipy_objective(rosenbrock, x0, method="trust-exact")
    t = time.perf_counter()
    ref = scipy_minimize(**objective, method="trust-exact", options={"gtol": 1e-10})
    ref.grad_norm = float(np.max(np.abs(ref.jac)))
    rows.append(("scipy trust-exact (our kernels)", ref.nit, time.perf_counter() - t, ref))
    print(
        f"\n      {'method':34s} {'iters':>5s} {'time':>8s} {'|grad|inf':>10s} {'|x - 1|inf':>11s}"
    )
    for name, nit, seconds, res in rows:
        error = np.max(np.abs(res.x - 1.0))
        print(f"      {name:34s} {nit:5d} {seconds:7.3f}s {res.grad_norm:10.1e} {error:11.1e}")


def main(argv: list[str] | None = None) -> int:
    """Run the tour (``--quick``: fewer points and a smaller Newton problem)."""
    parser = argparse.ArgumentParser(prog="hybriddiff demo", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (used by the tests)")
    args = parser.parse_args(argv)
    step = _Steps(4)
    point = (0.7, -1.3)
    print("hybriddiff: one function, three faces — eager, symbolic, compiled")
    print("f(x, y) = log(1 + exp(x*y)) * sin(x)**2 / (1 + y**2)")
    eager_face(step, point)
    symbolic_face(step, point)
    compiled_face(step, 20_000 if args.quick else 200_000)
    newton_face(step, 100 if args.quick else 1000)
    print(f"\ndone in {time.perf_counter() - step.start:.1f} s")
    return 0

"""Benchmark symdiff: sparse symbolic Hessians, readable formulas, a small statistical model.

1. Extended Rosenbrock ``sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2``, written vectorised
   with autodiff ops: lift + sparse Hessian at n = 100, 1,000, 10,000 (targets: n=1000 within
   5 s, n=10000 within 60 s; exactly 3n - 2 structural non-zeros). ``--with-sympy`` adds
   ``sympy.hessian`` + ``cse`` at n = 100 (about 17 s); symengine and casadi are timed at
   n = 100 when installed.
2. Gradient and Hessian formulas of ``log(1 + exp(x*y)) * sin(x)^2 / (1 + y^2)`` with
   ``simplify="fast"`` (target 50 ms), and operation counts after CSE against SymPy's
   unsimplified ``diff`` / ``hessian`` (target: no more operations).
3. Gradient + Hessian of a 3-parameter logistic-regression NLL over 5 data points (target
   0.5 s), printed in sigma form.

Run ``python benchmarks/bench_symdiff.py [--quick] [--with-sympy]``. Timing never fails a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.cache import clear_cache

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autodiff as ad  # noqa: E402
import symdiff  # noqa: E402
from benchmarks._common import (  # noqa: E402
    format_time,
    machine_info,
    print_table,
    try_import,
)

FORMULA = "log(1 + exp(x*y))*sin(x)**2/(1 + y**2)"


def rosenbrock(x):
    """Extended Rosenbrock, vectorised with autodiff ops."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _once(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _median_runs(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median over ``repeat`` cold runs: SymPy's cache is cleared before each (not timed),
    so that repeats do not just hit expressions cached by the previous run."""
    runs = []
    for _ in range(repeat):
        clear_cache()
        runs.append(_once(fn))
    return float(np.median([t for t, _ in runs])), runs[-1][1]


def _cse_ops(exprs: list) -> int:
    replacements, reduced = sp.cse(exprs)
    return sum(sp.count_ops(v) for _, v in replacements) + sum(sp.count_ops(e) for e in reduced)


def bench_rosenbrock(sizes: list[int], repeat: int, summary: list) -> None:
    """Lift + sparse Hessian of extended Rosenbrock; optional peers at n = 100."""
    rows = []
    for n in sizes:
        reps = repeat if n <= 1000 else 1
        t_lift, lifted = _median_runs(lambda n=n: symdiff.lift(rosenbrock, np.zeros(n)), reps)
        t_hess, h = _median_runs(lambda lifted=lifted: lifted.hessian(), reps)
        total = t_lift + t_hess
        ok_nnz = h.nnz == 3 * n - 2
        rows.append([n, format_time(t_lift), format_time(t_hess), format_time(total), h.nnz,
                     "yes" if ok_nnz else "NO"])  # fmt: skip
        target = {1000: 5.0, 10000: 60.0}.get(n)
        if target is not None:
            summary.append([f"rosenbrock n={n} lift+hessian", format_time(total),
                            f"<= {target:g} s", "PASS" if total <= target else "MISS"])  # fmt: skip
        summary.append([f"rosenbrock n={n} nnz", h.nnz, f"== {3 * n - 2}",
                        "PASS" if ok_nnz else "MISS"])  # fmt: skip
    print_table(rows, ["n", "lift", "hessian", "total", "nnz", "3n-2"], "extended Rosenbrock")


def bench_rosenbrock_peers(with_sympy: bool) -> None:
    """SymPy (dense hessian + cse), symengine and casadi at n = 100, when available."""
    n = 100
    clear_cache()
    ours, _ = _once(lambda: symdiff.lift(rosenbrock, np.zeros(n)).hessian())
    rows = [["symdiff lift + sparse hessian", format_time(ours), "1.00x"]]
    x = sp.symbols(f"x0:{n}", real=True)
    f = sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(n - 1))
    if with_sympy:
        clear_cache()
        t, _ = _once(lambda: sp.cse(list(sp.hessian(f, x))))
        rows.append(["sympy.hessian + cse", format_time(t), f"{t / ours:.1f}x"])
    se = try_import("symengine")
    if se is not None:
        xs = se.symbols(f"x0:{n}")
        fe = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
        t, _ = _once(lambda: se.Matrix([fe]).jacobian(se.Matrix(xs)).jacobian(se.Matrix(xs)))
        rows.append(["symengine jacobian of jacobian", format_time(t), f"{t / ours:.1f}x"])
    ca = try_import("casadi")
    if ca is not None:
        xc = ca.SX.sym("x", n)
        fc = ca.sum1(100 * (xc[1:] - xc[:-1] ** 2) ** 2 + (1 - xc[:-1]) ** 2)
        t, _ = _once(lambda: ca.hessian(fc, xc))
        rows.append(["casadi SX hessian", format_time(t), f"{t / ours:.1f}x"])
    if len(rows) == 1:
        rows.append(["(peers skipped: --with-sympy not given, symengine/casadi missing)", "-", "-"])
    print_table(rows, ["Rosenbrock n=100", "time", "vs symdiff"], "symbolic peers")


def bench_formula(repeat: int, summary: list) -> None:
    """Gradient + Hessian formulas with simplify='fast', and their size after CSE."""

    def run():
        return symdiff.formula(FORMULA, order=1), symdiff.formula(FORMULA, order=2)

    run()  # first call imports the parser machinery
    t, (grad, hess) = _median_runs(run, repeat)
    ours = _cse_ops(grad.exprs + hess.exprs)
    expr, (x, y) = symdiff.parse_expression(FORMULA)
    ref = [sp.diff(expr, v) for v in (x, y)]
    h = sp.hessian(expr, (x, y))
    theirs = _cse_ops(ref + [h[0, 0], h[0, 1], h[1, 1]])
    print_table(
        [["symdiff (fast)", format_time(t), ours], ["sympy diff/hessian (raw)", "-", theirs]],
        ["gradient + Hessian formulas", "time", "count_ops after cse"],
        FORMULA,
    )
    print(grad)
    summary.append(["formula grad+hess (fast)", format_time(t), "<= 50 ms",
                    "PASS" if t <= 0.05 else "MISS"])  # fmt: skip
    summary.append(["formula ops after cse", f"{ours} vs sympy {theirs}", "<= sympy",
                    "PASS" if ours <= theirs else "MISS"])  # fmt: skip


def bench_logistic(repeat: int, summary: list) -> None:
    """Gradient + Hessian of a 3-parameter logistic-regression NLL over 5 points."""
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(5, 3)), 1)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])

    def nll(w):
        p = ad.sigmoid(X @ w)
        return -(y * ad.log(p) + (1 - y) * ad.log(1 - p)).sum()

    def run():
        lifted = symdiff.lift(nll, np.zeros(3))
        return lifted.gradient(simplify="fast"), lifted.hessian(simplify="fast")

    t, (grad, hess) = _median_runs(run, repeat)
    sigma_form = all(e.has(symdiff.sigmoid) and not e.has(sp.exp) for e in grad)
    print(f"\n== logistic-regression NLL (3 parameters, 5 points): {format_time(t)} ==")
    print(f"df/dw[0] = {grad[0]}")
    print(f"d2f/dw[0]2 = {hess[0, 0]}")
    summary.append(["logistic NLL grad+hess", format_time(t), "<= 0.5 s",
                    "PASS" if t <= 0.5 else "MISS"])  # fmt: skip
    summary.append(["logistic NLL sigma form", "yes" if sigma_form else "no", "yes",
                    "PASS" if sigma_form else "MISS"])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the symdiff benchmarks and print a summary table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n up to 1000, fewer repeats")
    parser.add_argument("--with-sympy", action="store_true", help="time sympy.hessian at n=100")
    args = parser.parse_args(argv)
    print(machine_info())
    repeat = 3 if args.quick else 7
    summary: list = []
    bench_rosenbrock([100, 1000] if args.quick else [100, 1000, 10000], repeat, summary)
    bench_rosenbrock_peers(args.with_sympy)
    bench_formula(repeat, summary)
    bench_logistic(repeat, summary)
    print_table(summary, ["benchmark", "measured", "target", "status"], "summary")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared subexpressions: ``y = sin(y) * y + x`` repeated N times, per stage, N = 10/100/1000.

The expression is a DAG of O(N) nodes whose tree has O(2**N): every stage (lift, gradient,
Hessian, formula, compile) must grow linearly in N. Prints the median seconds per stage.
Timing never goes into a pass/fail test.

    python benchmarks/bench_dag.py [--sizes 10 100 1000] [--repeat 3] [--no-compile]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff as ad  # noqa: E402
import symdiff  # noqa: E402
from benchmarks._common import timeit_median  # noqa: E402


def chain(n: int):
    """``f(x)``: ``y = sin(y) * y + x``, ``n`` times."""

    def f(x):
        y = x
        for _ in range(n):
            y = ad.sin(y) * y + x
        return y

    return f


def stages(n: int, compile_too: bool) -> dict:
    """Name -> zero-argument callable timing one stage at size ``n``."""
    f = chain(n)
    lifted = symdiff.lift(f, 0.3, mode="scalar")
    out = {
        "lift": lambda: symdiff.lift(f, 0.3, mode="scalar"),
        "gradient": lambda: lifted.gradient(),
        "hessian": lambda: lifted.hessian(),
        "formula": lambda: str(symdiff.formula(lifted)),
    }
    if compile_too:
        import os

        import bridge

        def compile_fresh():
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["HYBRIDDIFF_CACHE_DIR"] = tmp
                c = bridge.compile(f, 0.3)
                c.value([0.3]), c.grad([0.3]), c.hessian([0.3])

        out["compile+run"] = compile_fresh
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the stages at every size and print a table of medians."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-compile", action="store_true")
    args = p.parse_args(argv)
    rows = {}
    for n in args.sizes:
        for name, fn in stages(n, not args.no_compile).items():
            repeat = 1 if name == "compile+run" else args.repeat
            rows.setdefault(name, {})[n] = timeit_median(fn, repeat=repeat, warmup=0)
            print(f"N={n:>5} {name:<12} {rows[name][n]:9.3f} s", flush=True)
    print("\nmedian seconds per stage")
    print(f"{'stage':<12}" + "".join(f"{'N=' + str(n):>12}" for n in args.sizes))
    for name, by_n in rows.items():
        print(f"{name:<12}" + "".join(f"{by_n[n]:12.3f}" for n in args.sizes))


if __name__ == "__main__":
    main()

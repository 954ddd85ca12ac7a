"""The ``hybriddiff`` command: ``--version``, ``formula``, ``demo`` and ``bench``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ._version import __version__


def _formula(argv: list[str]) -> int:
    from symdiff import formula_cli

    return formula_cli(argv)


def _demo(argv: list[str]) -> int:
    from .demo import main

    return main(argv)


def _benchmarks_dir() -> Path:
    """``benchmarks/`` of the source checkout these packages run from (beside the packages)."""
    return Path(__file__).resolve().parent.parent / "benchmarks"


def _bench(argv: list[str]) -> int:
    """Run the benchmark scripts of a source checkout, one after the other."""
    parser = argparse.ArgumentParser(prog="hybriddiff bench")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    args = parser.parse_args(argv)
    root = _benchmarks_dir()
    scripts = sorted(root.glob("bench_*.py"))
    if not scripts:
        print("hybriddiff bench: the benchmarks/ folder of a source checkout is needed")
        return 2
    status, summaries = 0, []
    for script in scripts:
        cmd = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        print(f"\n=== {script.name} ===", flush=True)
        done = subprocess.run(cmd, cwd=root.parent, capture_output=True, text=True)
        print(done.stdout + done.stderr, flush=True)
        status |= done.returncode
        summaries.append((script.name, _summary(done.stdout)))
    print("\n=== all benchmarks: summary (medians and ratios from each script's run) ===")
    for name, lines in summaries:
        print(f"-- {name}")
        print("\n".join(lines) if lines else "   (no summary printed)")
    return status


def _summary(output: str) -> list[str]:
    """The lines after a script's last '== summary ==' heading (or its final ratio line)."""
    lines = output.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == "== summary =="]
    if marks:
        return lines[marks[-1] + 1 :]
    return [line for line in lines if "target" in line][-3:]


COMMANDS = {
    "formula": (_formula, "print simplified derivatives of an expression"),
    "demo": (_demo, "one function through the eager, symbolic and compiled faces"),
    "bench": (_bench, "run the benchmarks against installed peers"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hybriddiff`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]][0](argv[1:])
    parser = argparse.ArgumentParser(
        prog="hybriddiff",
        description="Eager autograd, exact SymPy derivatives and numba kernels from one code.",
        epilog="\n".join(f"  {name:8s} {text}" for name, (_, text) in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hybriddiff {__version__}")
    parser.add_argument("command", nargs="?", choices=sorted(COMMANDS), help="subcommand")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return 0  # pragma: no cover - handled above


if __name__ == "__main__":
    sys.exit(main())

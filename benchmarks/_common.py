"""Shared helpers for the benchmark scripts: a median timer, peer detection, tables, machine info.

Timing never goes into a pass/fail test (docs/architecture.md); these helpers only measure and
print. Peers (torch, jax, ...) are optional: :func:`try_import` returns ``None`` when one is
missing, and every script skips what it cannot import.
"""

from __future__ import annotations

import cProfile
import ctypes
import gc
import importlib
import importlib.metadata
import importlib.util
import io
import math
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

#: Peers a benchmark may compare against, in the order they are reported.
PEERS = ("torch", "jax", "autograd", "casadi", "symengine")
#: Libraries hybriddiff itself builds on.
CORE_LIBS = ("numpy", "scipy", "sympy", "numba")
#: Environment variables that cap the thread pools of BLAS, OpenMP (torch) and MKL.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def try_import(name: str) -> ModuleType | None:
    """Import module ``name`` and return it, or ``None`` when it is missing or fails to import."""
    try:
        return importlib.import_module(name)
    except Exception:  # a broken peer (ImportError, OSError from a bad wheel) is just skipped
        return None


def _version(name: str) -> str | None:
    """Installed version of ``name`` without importing it (imports of big peers spawn thread
    pools and change the allocator's state, which would skew the timings that follow)."""
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        module = try_import(name)
        return None if module is None else str(getattr(module, "__version__", "?"))


def timeit_median(
    fn: Callable[[], Any], repeat: int = 7, number: int = 1, warmup: int = 1
) -> float:
    """Seconds per call of ``fn()``: the median over ``repeat`` runs of ``number`` calls each.

    ``warmup`` calls run first and are not timed (JIT compilation, caches, allocator). The
    garbage collector is paused inside each timed run, like :mod:`timeit`, and collected in
    between so that one run's garbage is not charged to the next.

    Examples
    --------
    >>> t = timeit_median(lambda: sum(range(100)), repeat=3, number=10)
    >>> t > 0
    True
    """
    if repeat < 1 or number < 1 or warmup < 0:
        raise ValueError(
            f"timeit_median: need repeat >= 1, number >= 1, warmup >= 0; "
            f"got repeat={repeat}, number={number}, warmup={warmup}"
        )
    for _ in range(warmup):
        fn()
    times = []
    enabled = gc.isenabled()
    try:
        for _ in range(repeat):
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - start) / number)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return statistics.median(times)


def timeit_interleaved(
    fns: Mapping[str, Callable[[], Any]],
    repeat: int = 7,
    number: int | Mapping[str, int] = 1,
    warmup: int = 1,
) -> dict[str, float]:
    """Like :func:`timeit_median` for several callables, their runs taking turns.

    Round ``r`` times run ``r`` of every function before moving on, so that a slow phase of a
    shared, noisy machine (another process, a frequency change) hits all of them alike and
    their ratios stay meaningful. ``number`` may give a call count per name.
    """
    counts = {name: number if isinstance(number, int) else number[name] for name in fns}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in fns.items():
        times[name].append(timeit_median(fn, repeat=1, number=counts[name], warmup=warmup))
    for _ in range(repeat - 1):
        for name, fn in fns.items():
            times[name].append(timeit_median(fn, repeat=1, number=counts[name], warmup=0))
    return {name: statistics.median(ts) for name, ts in times.items()}


def tune_malloc(threshold: int = 256 << 20) -> bool:
    """Stop glibc from returning freed memory to the OS between steps; False if not glibc.

    By default glibc serves large arrays (over ~128 KiB, adjusted at run time) with fresh
    ``mmap`` pages and trims the heap top after frees, so a loop that allocates and frees a
    few MiB per iteration pays page faults on every pass. Raising ``M_MMAP_THRESHOLD`` and
    ``M_TRIM_THRESHOLD`` keeps that memory in the process. Process-wide and irreversible:
    benchmarks call it only when asked, after the default-allocator measurements.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_trim_threshold, threshold)) and bool(
        mallopt(m_mmap_threshold, min(threshold, 32 << 20))
    )


def autonumber(fn: Callable[[], Any], target_s: float = 0.05, max_number: int = 100_000) -> int:
    """Calls per timed run so that one run lasts about ``target_s`` seconds (at least 1)."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return int(min(max_number, max(1, target_s / once)))


def peers_found(names: Sequence[str] = PEERS) -> dict[str, str]:
    """Map each importable peer in ``names`` to its version string."""
    found = {}
    for name in names:
        version = _version(name)
        if version is not None:
            found[name] = version
    return found


def machine_info() -> str:
    """One block of text: cores, Python, core library versions and the peers found."""
    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    libs = ", ".join(f"{n} {_version(n) or 'missing'}" for n in CORE_LIBS)
    peers = peers_found()
    peer_text = ", ".join(f"{n} {v}" for n, v in peers.items()) or "none"
    missing = ", ".join(n for n in PEERS if n not in peers) or "none"
    threads = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in THREAD_VARS)
    return "\n".join(
        [
            f"machine: {platform.machine()} {platform.system()}, {usable} usable core(s) "
            f"of {cores}; {threads}",
            f"python:  {platform.python_version()} ({platform.python_implementation()})",
            f"libs:    {libs}",
            f"peers:   {peer_text} (missing: {missing})",
        ]
    )


def format_time(seconds: float) -> str:
    """Human-readable duration with a unit chosen for its size (ns, us, ms, s)."""
    if seconds != seconds:  # NaN: not measured
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], title: str = "") -> None:
    """Print ``rows`` as a left-aligned plain-text table under ``headers``."""
    text = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    bad = [i for i, row in enumerate(text) if len(row) != len(headers)]
    if bad:
        raise ValueError(f"print_table: rows {bad} do not have {len(headers)} cells")
    widths = [max(len(row[i]) for row in text) for i in range(len(headers))]
    if title:
        print(f"\n== {title} ==")
    line = "  ".join("-" * w for w in widths)
    for i, row in enumerate(text):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print(line)


class BenchRunner:
    """Times callables with the repeat budget of a mode (quick or full) and collects summary rows.

    Examples
    --------
    >>> run = BenchRunner(quick=True)
    >>> t = run.time(lambda: sum(range(100)))
    >>> run.record("sum of 100 ints", format_time(t), "-", None)
    >>> print_table(run.summary, ["benchmark", "measured", "target", "status"])  # doctest: +SKIP
    """

    def __init__(self, quick: bool):
        self.quick = quick
        self.repeat = 3 if quick else 9
        self.target_s = 0.02 if quick else 0.1
        self.summary: list[list[str]] = []

    def time(self, fn: Callable[[], Any], max_number: int = 100_000) -> float:
        """Median seconds per call of ``fn``, with a call count sized to the mode."""
        fn()  # warm-up (JIT compilation, caches) before sizing the run
        number = autonumber(fn, self.target_s, max_number)
        return timeit_median(fn, repeat=self.repeat, number=number, warmup=1)

    def time_many(self, fns: dict[str, Callable[[], Any]]) -> dict[str, float]:
        """Median seconds per call of each function, their timed runs interleaved."""
        numbers = {}
        for name, fn in fns.items():
            fn()
            numbers[name] = autonumber(fn, self.target_s)
        return timeit_interleaved(fns, repeat=self.repeat, number=numbers, warmup=1)

    def run_sections(self, sections: Mapping[str, Callable], only: Sequence[str] | None) -> None:
        """Run the chosen sections (all when ``only`` is None), then print the summary table."""
        for name, section in sections.items():
            if only is None or name in only:
                section(self)
        print_table(self.summary, ["benchmark", "measured", "target", "status"], "summary")
        print("targets are informational; timings depend on the machine and its load.")

    def record(self, what: str, value: str, target: str, ok: bool | None) -> None:
        """Add one row to the final summary (``ok=None``: no target, report only)."""
        status = "-" if ok is None else ("PASS" if ok else "MISS")
        self.summary.append([what, value, target, status])


def profile_top(fn: Callable[[], Any], calls: int = 20, limit: int = 15) -> str:
    """cProfile ``calls`` calls of ``fn`` (after one warm-up) and return the top ``limit``
    functions by own time, as pstats prints them."""
    fn()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def ratio(t: float, ref: float) -> str:
    """``t / ref`` formatted as ``1.23x``, or ``-`` when either was not measured (NaN)."""
    return "-" if math.isnan(t) or math.isnan(ref) else f"{t / ref:.2f}x"

"""The kernel cache: reuse across processes, tamper detection, atomic writes, pickling."""

from __future__ import annotations

import multiprocessing
import operator
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import bridge
from bridge import cache

x, y = sp.symbols("x y", real=True)
k = sp.Symbol("k", real=True)
EXPR = sp.exp(-(x**2)) * sp.sin(k * y) + sp.log(1 + x**2 * y**2)
POINT = np.array([0.3, -1.2])
BATCH = np.array([[0.3, -1.2], [1.1, 0.4], [-0.5, 2.0]])


@pytest.fixture(scope="module")
def compiled():
    """A small kernel with one parameter, compiled and called once (numba cache written)."""
    c = bridge.compile(EXPR, wrt=[x, y], params=[k])
    c.hessian(POINT, [2.0])
    c.hessian(BATCH, [2.0])
    return c


def _module_file(c: bridge.Compiled) -> Path:
    return Path(c.module.__file__)


def test_cache_dir_follows_the_environment(kernel_cache, compiled):
    assert bridge.cache_dir() == kernel_cache
    assert _module_file(compiled).parent == kernel_cache / "kernels"
    assert cache.read_verified(_module_file(compiled)) == compiled.source


def test_cache_second_process_reuses_the_compiled_kernel(compiled, kernel_cache):
    script = textwrap.dedent(
        """
        import sys, numpy as np, sympy as sp, bridge
        x, y, k = sp.symbols("x y k", real=True)
        expr = sp.exp(-(x**2)) * sp.sin(k * y) + sp.log(1 + x**2 * y**2)
        c = bridge.compile(expr, wrt=[x, y], params=[k])
        h = c.hessian(np.array([0.3, -1.2]), np.array([2.0]))
        d = c.module.hess_point
        print(sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values()))
        print(repr(h.tolist()))
        """
    )
    env = dict(os.environ, HYBRIDDIFF_CACHE_DIR=str(kernel_cache))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    hits, misses = map(int, out[0].split())
    assert hits >= 1 and misses == 0, f"numba recompiled in the second process: {out[0]}"
    np.testing.assert_array_equal(eval(out[1]), compiled.hessian(POINT, [2.0]))


def test_cache_tampered_file_is_rejected_and_regenerated(compiled):
    path = _module_file(compiled)
    digest = cache.digest(compiled.source)
    good = path.read_text()
    path.write_text(good.replace("math.exp", "math.cos", 1))
    assert cache.read_verified(path) is None
    sys.modules.pop(cache.module_name(digest))
    assert cache.load_digest(digest) is None  # never executed
    again = bridge.compile(EXPR, wrt=[x, y], params=[k])
    assert path.read_text() == good
    np.testing.assert_allclose(again.grad(POINT, [2.0]), compiled.grad(POINT, [2.0]), rtol=0)


def test_cache_header_mismatch_and_garbage_are_rejected(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(f"{cache.HEADER}{'0' * 64}\nx = 1\n")
    assert cache.read_verified(path) is None
    path.write_bytes(b"\xff\xfe garbage")
    assert cache.read_verified(path) is None
    assert cache.read_verified(tmp_path / "missing.py") is None


def _write_same_module(source: str) -> str:
    return cache.load_source(source).__name__


def test_cache_concurrent_processes_write_one_valid_file(kernel_cache):
    source = "VALUE = 42\n" + "\n".join(f"A{i} = {i}" for i in range(2000)) + "\n"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        names = pool.map(_write_same_module, [source] * 4)
    assert len(set(names)) == 1
    path = cache.module_path(cache.digest(source))
    assert cache.read_verified(path) == source
    assert not list(path.parent.glob("*.tmp"))


def test_compiled_pickle_round_trip(compiled):
    clone = pickle.loads(pickle.dumps(compiled))
    assert clone.source == compiled.source and clone.n == 2 and clone.n_params == 1
    np.testing.assert_array_equal(clone.hessian(BATCH, [2.0]), compiled.hessian(BATCH, [2.0]))


def test_compiled_pickle_rebuilds_a_missing_cache_file(compiled, tmp_path, monkeypatch):
    blob = pickle.dumps(compiled)
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path))
    monkeypatch.delitem(sys.modules, compiled.module.__name__)
    clone = pickle.loads(blob)
    assert Path(clone.module.__file__).parent == tmp_path / "kernels"
    np.testing.assert_array_equal(clone.grad(POINT, [2.0]), compiled.grad(POINT, [2.0]))


def test_compiled_runs_in_a_spawned_multiprocessing_pool(compiled):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        grads = pool.map(operator.methodcaller("grad", BATCH, np.array([2.0])), [compiled] * 2)
    for g in grads:
        np.testing.assert_array_equal(g, compiled.grad(BATCH, [2.0]))

"""Fixtures for the bridge tests: a private kernel cache and kernels shared across tests.

numba compiles are slow, so the op table is compiled once per dtype/target for the whole
session (one big function, see ``bridge_cases``). ``cudasim/`` needs NUMBA_ENABLE_CUDASIM=1
set before numba is imported, so it runs as its own pytest invocation:
``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/bridge/cudasim``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from bridge_cases import ROWS, Blocks, LiftedFaces

import bridge
import symdiff

# cudasim/ runs in its own process: under the simulator, or on a real GPU with
# HYBRIDDIFF_TEST_CUDA=1 (benchmarks/gpu_check.py)
_CUDA_TESTS = "1" in (
    os.environ.get("NUMBA_ENABLE_CUDASIM"),
    os.environ.get("HYBRIDDIFF_TEST_CUDA"),
)
collect_ignore = [] if _CUDA_TESTS else ["cudasim"]


@pytest.fixture(scope="session", autouse=True)
def kernel_cache(tmp_path_factory):
    """Point HYBRIDDIFF_CACHE_DIR (and the cache's key file) at fresh folders for the session."""
    path = tmp_path_factory.mktemp("hybriddiff-cache")
    key = tmp_path_factory.mktemp("hybriddiff-key") / "cache.key"
    names = ("HYBRIDDIFF_CACHE_DIR", "HYBRIDDIFF_CACHE_KEY_FILE")
    old = {name: os.environ.get(name) for name in names}
    os.environ.update(HYBRIDDIFF_CACHE_DIR=str(path), HYBRIDDIFF_CACHE_KEY_FILE=str(key))
    yield path
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def op_blocks() -> Blocks:
    """Every op row, side by side in one input vector."""
    return Blocks(ROWS)


@pytest.fixture(scope="session")
def op_lifted(op_blocks):
    """``F(x, w)`` lifted once, ``w`` (one weight per row) as parameters."""
    rng = np.random.default_rng(0)
    return symdiff.lift(op_blocks.function(), op_blocks.points(rng), np.ones(len(ROWS)), params=1)


@pytest.fixture(scope="session")
def op_faces(op_lifted) -> LiftedFaces:
    """The lifted face of ``F``, evaluated with lambdify."""
    return LiftedFaces(op_lifted)


@pytest.fixture(scope="session")
def op_kernels(op_lifted):
    """``op_kernels(target, dtype)``: ``F`` compiled once per session and combination."""
    built: dict[tuple[str, str], bridge.Compiled] = {}

    def get(target: str = "cpu", dtype: str = "float64") -> bridge.Compiled:
        if (target, dtype) not in built:
            built[target, dtype] = bridge.compile(op_lifted, target=target, dtype=dtype)
        return built[target, dtype]

    return get

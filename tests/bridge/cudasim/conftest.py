"""The CUDA tests run under numba's simulator, in their own pytest process."""

from __future__ import annotations

import os

assert "1" in (os.environ.get(v) for v in ("NUMBA_ENABLE_CUDASIM", "HYBRIDDIFF_TEST_CUDA")), (
    "tests/bridge/cudasim needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported: "
    "NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/bridge/cudasim (or, on a machine with a "
    "GPU, HYBRIDDIFF_TEST_CUDA=1 python -m pytest tests/bridge/cudasim)"
)

"""The CUDA tests run under numba's simulator, in their own pytest process."""

from __future__ import annotations

import os

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", (
    "tests/bridge/cudasim needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported: "
    "NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/bridge/cudasim"
)

"""The options ``bridge.compile`` takes, checked in one place (no SymPy or numba import)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CODEGEN_VERSION = "5"  # part of every cache key: bump when generated code changes
TARGETS = ("cpu", "parallel", "cuda")
DTYPES = ("float64", "float32")
DERIVATIVES = ("value", "grad", "hessian")


def check_options(
    target: str, dtype: Any, derivatives: Sequence[str] | str
) -> tuple[str, str, tuple[str, ...]]:
    """Validated ``(target, dtype name, derivative kinds)``; the value is always included."""
    if target not in TARGETS:
        raise ValueError(f"compile: unknown target {target!r}; choose one of {TARGETS}")
    try:
        dtype = np.dtype(dtype).name
    except TypeError:
        dtype = str(dtype)
    if dtype not in DTYPES:
        raise ValueError(f"compile: dtype {dtype!r} is not supported; choose one of {DTYPES}")
    if isinstance(derivatives, str):
        derivatives = (derivatives,)
    unknown = set(derivatives) - set(DERIVATIVES)
    if unknown:
        raise ValueError(f"compile: unknown derivatives {sorted(unknown)}; use {DERIVATIVES}")
    return target, dtype, tuple(k for k in DERIVATIVES if k in derivatives or k == "value")

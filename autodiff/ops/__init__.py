"""The op table. Importing this package declares every primitive exactly once."""

from __future__ import annotations

from . import elementwise, linalg, reductions, shape  # noqa: F401  (registration)
from .base import ALL_OPS, STRUCTURAL, Op, register

__all__ = ["ALL_OPS", "STRUCTURAL", "Op", "register"]

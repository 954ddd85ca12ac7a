"""The op table. Importing this package declares every primitive exactly once, together with its
public surface (wrapper, ``Tensor`` methods, NumPy dispatch): see :mod:`autodiff.ops.surface`."""

from __future__ import annotations

from . import contractions, elementwise, linalg, reductions, shape, special  # noqa: F401
from .base import ALL_OPS, STRUCTURAL, VARIADIC, Op, register, unregister
from .surface import SURFACES, Surface, composite, expose, retract, surface

__all__ = [
    "ALL_OPS",
    "STRUCTURAL",
    "SURFACES",
    "VARIADIC",
    "Op",
    "Surface",
    "composite",
    "expose",
    "register",
    "retract",
    "surface",
    "unregister",
]

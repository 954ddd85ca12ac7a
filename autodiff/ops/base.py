"""The op record: every primitive is declared exactly once, as one :class:`Op`.

An ``Op`` carries everything each interpreter needs:

* ``forward(*arrays, **params) -> ndarray`` — the NumPy evaluation;
* ``vjp(g, out, *inputs, **params) -> tuple`` — one cotangent (or None) per input, written only
  with Tensor operations so that the backward pass is itself differentiable;
* ``jvp(tangents, out, *inputs, **params) -> Tensor`` — forward mode; ``tangents`` holds one
  Tensor or None (a zero tangent) per input;
* ``sympy(ns, *inputs, **params) -> object ndarray`` — the symbolic rule, applied to NumPy object
  arrays of SymPy expressions. ``ns`` is a namespace that exposes the ``sympy`` module plus
  hybriddiff's named functions (``ns.sigmoid`` ...); ``autodiff`` itself never imports SymPy.
  ``STRUCTURAL`` means the NumPy forward already works on object arrays (reshape, indexing, ...).

``differentiable=False`` marks ops whose outputs never carry gradients (comparisons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STRUCTURAL = "structural"

ALL_OPS: list[Op] = []


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: its name, arity and the rule for each interpreter."""

    name: str
    arity: int  # -1: variadic (a single list of tensors, e.g. concatenate)
    forward: Callable[..., Any]
    vjp: Callable[..., tuple] | None
    jvp: Callable[..., Any] | None
    sympy: Callable[..., Any] | str | None
    differentiable: bool = True
    doc: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"Op({self.name})"


def register(op: Op) -> Op:
    """Add ``op`` to the one table of primitives and return it."""
    if any(existing.name == op.name for existing in ALL_OPS):
        raise ValueError(f"op {op.name!r} is declared twice")
    ALL_OPS.append(op)
    return op

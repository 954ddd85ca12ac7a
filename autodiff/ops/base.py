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
  The sentinel :data:`STRUCTURAL` instead of a rule means the NumPy forward already works on
  object arrays (reshape, indexing, ...): ``op.structural`` is then True.
* ``doc`` — one line saying what the op computes; it is the docstring of the generated public
  wrapper (:mod:`autodiff.ops.surface`).

``batch`` (optional) is the op's rule for ``vmap``: a callable or a kind (``"elementwise"``,
``"reduce"``, ``"axis"``); without one, ops with an elementwise SymPy rule are batched as
elementwise and the rest by a loop over the batch (see :mod:`autodiff.batching`).

``arity`` is the number of tensor inputs, or :data:`VARIADIC` for ops that take any number
(``concatenate``). ``differentiable=False`` marks ops whose outputs never carry gradients
(comparisons).

How an op is exposed (public function, ``Tensor`` method, NumPy dispatch, ``autodiff``
export) is declared next to it in the same statement; see :mod:`autodiff.ops.surface`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class _Structural:
    """The type of :data:`STRUCTURAL` (one instance)."""

    _instance: _Structural | None = None

    def __new__(cls) -> _Structural:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STRUCTURAL"

    def __reduce__(self) -> str:
        return "STRUCTURAL"  # pickles as the module attribute: stays the one instance


STRUCTURAL = _Structural()
"""``Op.sympy`` of a structural op: lift runs the NumPy forward on object arrays."""

VARIADIC = -1
"""``Op.arity`` of an op that takes any number of tensors (``concatenate``)."""

ALL_OPS: list[Op] = []


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: its name, arity, one-line doc and the rule for each interpreter."""

    name: str
    arity: int  # the number of tensor inputs, or VARIADIC
    forward: Callable[..., Any]
    vjp: Callable[..., tuple] | None
    jvp: Callable[..., Any] | None
    sympy: Callable[..., Any] | _Structural | None
    differentiable: bool = True
    doc: str = ""
    batch: Callable[..., Any] | str | None = None  # vmap's batch rule (autodiff.batching)

    @property
    def structural(self) -> bool:
        """True when lift runs the NumPy forward on object arrays instead of a SymPy rule."""
        return self.sympy is STRUCTURAL

    def __repr__(self) -> str:
        return f"Op({self.name})"


def register(op: Op) -> Op:
    """Add ``op`` to the one table of primitives and return it."""
    if op.arity < 0 and op.arity != VARIADIC:
        raise ValueError(f"op {op.name!r}: arity {op.arity} (use a count or VARIADIC)")
    if any(existing.name == op.name for existing in ALL_OPS):
        raise ValueError(f"op {op.name!r} is declared twice")
    ALL_OPS.append(op)
    return op


def unregister(op: Op) -> None:
    """Remove ``op`` from the table (for tests that declare a throwaway op)."""
    ALL_OPS.remove(op)

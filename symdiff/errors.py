"""Exceptions raised by symdiff."""

from __future__ import annotations


class LiftError(ValueError):
    """A computation that cannot be lifted into SymPy (no symbolic rule, unsupported input)."""


class LiftTooLarge(LiftError):
    """A lift over a tensor with more elements than the configured limit."""


class ConsistencyError(AssertionError):
    """Eager, symbolic and finite-difference derivatives disagree beyond tolerance."""

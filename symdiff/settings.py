"""Run-time settings of symdiff: size limits of a lift and the bounds of simplification."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Config:
    """Mutable settings, read at call time (``symdiff.config.max_elements = ...``).

    One instance, ``symdiff.config``, holds the limits every lift and formula reads when it
    runs: ``max_elements`` and ``max_terms`` bound the size of a lift (beyond them a clear
    ``LiftTooLarge``), ``fast_size``, ``full_size`` and ``budget`` bound simplification (how
    large an entry each level rewrites, and the wall time of ``simplify="full"``), and
    ``print_size`` decides when a formula names its shared subexpressions. Each field is
    described below.
    """

    max_elements: int = 100_000
    """Largest number of elements any one tensor of a lifted computation may have."""
    fast_size: int = 120
    """``simplify="fast"`` runs its rewrites only on entries with at most this many operations."""
    full_size: int = 400
    """``simplify="full"`` hands entries up to this many operations to ``sympy.simplify``."""
    budget: float = 5.0
    """Default time budget, in seconds, of ``simplify="full"`` over one result."""
    max_terms: int = 2_000_000
    """Largest estimated number of expression nodes a lift (or a lifted Hessian) may build."""
    print_size: int = 2_000
    """A formula whose entries expand to more tree nodes than this is printed with named
    shared subexpressions (``t0 = ...``) instead of expanded (which can be exponential)."""


config = Config()

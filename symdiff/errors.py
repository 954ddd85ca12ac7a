"""Exceptions raised by symdiff."""

from __future__ import annotations


class LiftError(ValueError):
    """A computation that cannot be lifted into SymPy (no symbolic rule, unsupported input)."""


class LiftTooLarge(LiftError):
    """A lift over a tensor with more elements than the configured limit."""


class TracerConversionError(LiftError, TypeError):
    """A traced value was turned into a Python number or NumPy array under ``lift``.

    ``float(x)``, ``math.atan(x)`` or ``np.asarray(x)`` on a lifted value would make the result
    a constant (its value at the example point), silently dropping the variable. Use the
    ``autodiff`` function of the same name (``ad.atan``...) or ``ad.stop_gradient`` instead.
    """


class TracerBoolConversionError(TracerConversionError):
    """Python control flow (``if``, ``while``, ``and``...) on a value that depends on a variable.

    Under ``lift`` the branch taken at the example point would be frozen into the result (as
    JAX's ``ConcretizationTypeError``): write the branch with ``ad.where`` (or ``ad.maximum``,
    ``ad.abs``...) so that it stays symbolic, or pass ``guards=True`` to record the branch
    taken as a guard that every evaluation checks.
    """


class GuardError(LiftError):
    """An evaluation point takes another branch than the one recorded by ``lift(guards=True)``."""


class ConsistencyError(AssertionError):
    """Eager, symbolic and finite-difference derivatives disagree beyond tolerance."""

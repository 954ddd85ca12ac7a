"""Exceptions raised by :mod:`bridge`."""

from __future__ import annotations


class UnsupportedExpressionError(ValueError):
    """An expression holds a function that the chosen target cannot run.

    The message names the offending function(s) and the target; nothing falls back silently
    to object mode or NumPy.
    """

    def __init__(self, names: list[str], target: str, detail: str = ""):
        self.names = sorted(set(names))
        self.target = target
        listed = ", ".join(self.names)
        extra = f" ({detail})" if detail else ""
        super().__init__(f"target {target!r} cannot run {listed}{extra}")


class GuardError(ValueError):
    """An input takes another Python branch than the one compiled with ``guards=True``.

    ``guard`` is the violated condition as printed (with the branch taken at trace time),
    ``indices`` the rows of a batch that violate it (``(0,)`` for a single point).
    """

    def __init__(self, message: str, guard: str = "", indices: tuple[int, ...] = ()):
        super().__init__(message)
        self.guard = guard
        self.indices = tuple(indices)

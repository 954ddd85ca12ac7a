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

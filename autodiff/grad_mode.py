"""Grad mode: whether Tensor operations record the graph, held in a ``contextvars`` variable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_GRAD_ENABLED: ContextVar[bool] = ContextVar("autodiff_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """Return True when operations on tensors that require grad are being recorded."""
    return _GRAD_ENABLED.get()


@contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Enable or disable graph recording inside a ``with`` block (thread- and task-local)."""
    token = _GRAD_ENABLED.set(bool(mode))
    try:
        yield
    finally:
        _GRAD_ENABLED.reset(token)


def no_grad():
    """Context in which no graph is recorded (optimizer updates, evaluation).

    Examples
    --------
    >>> import autodiff as ad
    >>> w = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> with ad.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    return set_grad_enabled(False)


def enable_grad():
    """Context that re-enables recording, e.g. inside a ``no_grad`` block."""
    return set_grad_enabled(True)


# --- transform tracing ------------------------------------------------------------------------
# The stack of transforms (``"grad"``, ``"jvp"``, ``"lift"`` ...) whose traced call of the user's
# function is running. Conversions that would silently drop a gradient (``__array__``,
# ``float``) and Python control flow on traced values (``bool`` under ``lift``) consult it.
_TRACING: ContextVar[tuple[str, ...]] = ContextVar("autodiff_tracing", default=())


@contextmanager
def tracing(who: str) -> Iterator[None]:
    """Mark the dynamic extent of one transform's traced call of a user function."""
    token = _TRACING.set(_TRACING.get() + (who,))
    try:
        yield
    finally:
        _TRACING.reset(token)


def active_transforms() -> tuple[str, ...]:
    """The transforms whose traced call is running, outermost first (empty outside any)."""
    return _TRACING.get()

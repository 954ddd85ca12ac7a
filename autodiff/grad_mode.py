"""Grad mode: whether Tensor operations record the graph, held in a ``contextvars`` variable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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


# --- Python control flow on traced values -----------------------------------------------------
# A transform that replays the graph (``symdiff.lift``) installs a hook that decides what
# ``bool(t)`` means for a recorded tensor ``t``: raise (a branch would be frozen) or record the
# branch taken as a guard. Outside such a transform ``bool`` reads the data, as in eager mode.
_BOOL_HOOK: ContextVar[Callable[[Any], bool] | None] = ContextVar(
    "autodiff_bool_hook", default=None
)


@contextmanager
def traced_bool_hook(hook: Callable[[Any], bool]) -> Iterator[None]:
    """Route ``bool()`` of recorded tensors to ``hook`` inside a ``with`` block."""
    token = _BOOL_HOOK.set(hook)
    try:
        yield
    finally:
        _BOOL_HOOK.reset(token)


def traced_bool(t: Any) -> bool:
    """``bool`` of a recorded (or requires-grad) one-element tensor, through the active hook."""
    hook = _BOOL_HOOK.get()
    return bool(t.data) if hook is None else hook(t)

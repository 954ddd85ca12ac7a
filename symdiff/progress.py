"""Progress of long symbolic (or compile) work: stages and elapsed time, reported when slow.

A task (``lift``, ``compile``...) opens a :func:`stage` and marks its steps. Every message goes
to the ``logging.getLogger("hybriddiff")`` logger (level INFO); it is also written to stderr
when ``verbose=True``, or - with ``verbose=None``, the default - when stderr is a terminal and
the task has been running longer than ``threshold`` seconds (2 s): a fast call prints nothing,
a slow one shows where its time goes.

Examples
--------
>>> import io
>>> ticks = iter([0.0, 0.5, 3.0, 3.5])
>>> out = io.StringIO()
>>> with stage("lift", verbose=True, clock=lambda: next(ticks), stream=out) as progress:
...     progress.step("trace")
...     progress.step("replay")
>>> print(out.getvalue(), end="")
lift: trace (0.5 s)
lift: replay (3.0 s)
lift: done in 3.5 s
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

__all__ = ["Progress", "stage", "verbosity"]

log = logging.getLogger("hybriddiff")
_now: Callable[[], float] = time.monotonic
"""The default clock (read at each :func:`stage`; tests replace it with a fake one)."""
_VERBOSE: ContextVar[bool | None] = ContextVar("hybriddiff_verbose", default=None)


@contextmanager
def verbosity(verbose: bool | None) -> Iterator[None]:
    """Make ``verbose`` the default of every :func:`stage` opened inside (``None``: no change).

    ``bridge.compile(..., verbose=True)`` uses it so that the stages of the lift, the
    differentiation and the numba build it runs are all shown (or all silenced).
    """
    if verbose is None:
        yield
        return
    token = _VERBOSE.set(bool(verbose))
    try:
        yield
    finally:
        _VERBOSE.reset(token)


class Progress:
    """The reporter of one task; see :func:`stage`."""

    def __init__(
        self,
        task: str,
        verbose: bool | None = None,
        clock: Callable[[], float] | None = None,
        stream: IO[str] | None = None,
        threshold: float = 2.0,
    ):
        self.task = task
        self.verbose = _VERBOSE.get() if verbose is None else verbose
        self.clock = clock or _now
        self.stream = stream
        self.threshold = float(threshold)
        self.start = self.clock()
        self.steps: list[tuple[str, float]] = []

    def elapsed(self) -> float:
        """Seconds since the task started (by the injected clock)."""
        return self.clock() - self.start

    def _stream(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def _show(self, elapsed: float) -> bool:
        if self.verbose is not None:
            return bool(self.verbose)
        isatty = getattr(self._stream(), "isatty", None)
        return bool(isatty and isatty()) and elapsed >= self.threshold

    def _emit(self, message: str, elapsed: float) -> None:
        log.info(message)
        if self._show(elapsed):
            stream = self._stream()
            stream.write(message + "\n")
            stream.flush()

    def step(self, name: str, detail: str = "") -> None:
        """Mark the start of step ``name`` (``detail``: sizes, counts...)."""
        elapsed = self.elapsed()
        self.steps.append((name, elapsed))
        extra = f": {detail}" if detail else ""
        self._emit(f"{self.task}: {name}{extra} ({elapsed:.1f} s)", elapsed)

    def done(self) -> None:
        """Report the total time (called by :func:`stage` on exit)."""
        elapsed = self.elapsed()
        self._emit(f"{self.task}: done in {elapsed:.1f} s", elapsed)


@contextmanager
def stage(
    task: str,
    verbose: bool | None = None,
    *,
    clock: Callable[[], float] | None = None,
    stream: IO[str] | None = None,
    threshold: float = 2.0,
) -> Iterator[Progress]:
    """A context manager reporting the steps of ``task`` and its total time.

    Parameters
    ----------
    task : str
        The prefix of every message (``"lift"``).
    verbose : bool or None
        True: always write to ``stream``; False: never (the logger still gets every message);
        None: the enclosing :func:`verbosity`, else write once the task runs longer than
        ``threshold`` seconds, if ``stream`` is a terminal.
    clock : callable
        Seconds as a float (default ``time.monotonic``); injectable for tests.
    stream : file, optional
        Where messages go (default ``sys.stderr``).
    threshold : float
        Seconds after which a non-verbose interactive task starts reporting.
    """
    progress = Progress(task, verbose, clock, stream, threshold)
    yield progress
    progress.done()

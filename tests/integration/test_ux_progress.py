"""Progress of slow lifts and compiles (issue 15): shown when slow and interactive (fake clock)."""

from __future__ import annotations

import io
import logging

import sympy as sp

import autodiff as ad
import bridge
import symdiff
from symdiff import progress


class _Clock:
    """Advances ``step`` seconds per reading: every stage looks slow (or instant)."""

    def __init__(self, step):
        self.now, self.step = 100.0, step

    def __call__(self):
        self.now += self.step
        return self.now


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _f(x, y):
    return ad.sin(x * y) + x**3


def _terminal(monkeypatch):
    """A terminal-like stderr (set inside the test: pytest re-captures between phases)."""
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    return stream


def test_a_slow_lift_shows_its_stages_on_a_terminal(monkeypatch):
    stderr = _terminal(monkeypatch)
    monkeypatch.setattr(progress, "_now", _Clock(1.5))
    symdiff.lift(_f, 0.3, 0.4)
    lines = stderr.getvalue().splitlines()
    assert lines, "a lift past 2 s on a terminal reports its stages"
    assert all(line.startswith("lift: ") for line in lines)
    assert any("scalar replay" in line for line in lines)
    assert lines[-1].startswith("lift: done in ") and lines[-1].endswith(" s")
    # the first stage (1.5 s < 2 s) is not shown; later ones carry the elapsed time
    assert "(1.5 s)" not in stderr.getvalue()


def test_fast_or_not_a_terminal_prints_nothing(monkeypatch):
    stderr = _terminal(monkeypatch)
    monkeypatch.setattr(progress, "_now", _Clock(0.0))
    symdiff.lift(_f, 0.3, 0.4)
    assert stderr.getvalue() == ""
    monkeypatch.setattr(progress, "_now", _Clock(5.0))
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a file or a pipe: no isatty
    symdiff.lift(_f, 0.3, 0.4)
    assert stderr.getvalue() == ""


def test_verbose_forces_or_silences_and_logging_always_gets_it(monkeypatch, caplog):
    stderr = _terminal(monkeypatch)
    monkeypatch.setattr(progress, "_now", _Clock(5.0))
    with caplog.at_level(logging.INFO, logger="hybriddiff"):
        symdiff.lift(_f, 0.3, 0.4, verbose=False)
    assert stderr.getvalue() == ""
    assert any(r.getMessage().startswith("lift: done in") for r in caplog.records)
    monkeypatch.setattr(progress, "_now", _Clock(0.0))
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    symdiff.lift(_f, 0.3, 0.4, verbose=True)
    assert "lift: done in 0.0 s" in out.getvalue()


def test_compile_verbose_shows_lift_and_build_stages(monkeypatch, tmp_path):
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HYBRIDDIFF_CACHE_KEY_FILE", str(tmp_path / "key" / "cache.key"))
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    x, y = sp.symbols("x y", real=True)
    c = bridge.compile(x**2 * sp.sin(y), wrt=[x, y], derivatives=("value",), verbose=True)
    text = out.getvalue()
    assert "compile: differentiate and generate numba source" in text
    assert "compile: load module" in text and "compile: done in" in text
    assert c.from_cache is False
    out.truncate(0)
    out.seek(0)
    again = bridge.compile(x**2 * sp.sin(y), wrt=[x, y], derivatives=("value",), verbose=True)
    assert again.from_cache is True and "compile:" not in out.getvalue()  # nothing to build
    out.truncate(0)
    out.seek(0)
    bridge.compile(lambda u: ad.exp(u) * u, 0.2, derivatives=("value",), verbose=False)
    assert out.getvalue() == ""


def test_verbosity_nests_and_restores():
    assert progress._VERBOSE.get() is None
    with progress.verbosity(True):
        assert progress.Progress("t").verbose is True
        with progress.verbosity(False):
            assert progress.Progress("t").verbose is False
        with progress.verbosity(None):
            assert progress.Progress("t").verbose is True
    assert progress.Progress("t").verbose is None

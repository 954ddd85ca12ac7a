"""A gradient checker for users and for the test suite: autodiff against central differences.

Modelled on HIPS autograd's ``test_util.check_grads``: rather than forming Jacobians, it checks
directional derivatives along random directions, which is cheap and catches every wrong rule
with probability one. Higher orders are checked by recursing on the JVP and VJP functions
themselves, which autodiff can differentiate again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .functional import jvp, vjp
from .ops.shape import concatenate, reshape
from .tensor import Tensor

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-6
_MODES = ("rev", "fwd")


def check_grads(
    f: Callable,
    *args: Any,
    order: int = 2,
    modes: Sequence[str] = ("rev", "fwd"),
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> None:
    """Check the derivatives of ``f`` at ``args`` against central finite differences.

    Every argument is differentiated, in float64. Forward mode compares ``J v`` with
    ``(f(x + eps v) - f(x - eps v)) / (2 eps)`` for a random direction ``v``; reverse mode
    compares ``<vjp(u), v>`` with ``<u, (f(x + eps v) - f(x - eps v)) / (2 eps)>`` for random
    ``u`` and ``v``. For ``order > 1`` the same checks run on ``(x, v) -> jvp(f, x, v)`` and
    ``(x, u) -> vjp(f, x)(u)``, recursively.

    Parameters
    ----------
    f : callable
        Function of the arguments returning a Tensor (or array) of any shape.
    *args : array_like
        Point at which to check; converted to float64 arrays.
    order : int
        Highest derivative order checked (1: first derivatives only).
    modes : sequence of {"rev", "fwd"}
        Which interpreters to check.
    eps, rtol, atol : float, optional
        Finite-difference step and tolerances (defaults 1e-6, 1e-5, 1e-6).
    seed : int
        Seed of the random directions, so that a failure reproduces.

    Raises
    ------
    AssertionError
        When a derivative disagrees; the message names the mode, the order, both values and
        the tolerance.

    Examples
    --------
    >>> import autodiff as ad, numpy as np
    >>> from autodiff.testing import check_grads
    >>> check_grads(lambda x, y: ad.sin(x) * y, np.array([0.5, 1.0]), np.array([2.0, 3.0]))
    >>> bad = lambda x: ad.exp(x).detach() * x  # hides part of the derivative
    >>> check_grads(bad, np.array([1.0]), order=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    AssertionError: check_grads: rev mode, order 1, ...
    """
    modes = tuple(modes)
    if not modes or any(m not in _MODES for m in modes):
        raise ValueError(f"check_grads: modes must be a non-empty subset of {_MODES}, got {modes}")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be a positive integer, got {order!r}")
    if not args:
        raise ValueError("check_grads: give at least one argument to differentiate")
    tol = (
        EPS if eps is None else eps,
        RTOL if rtol is None else rtol,
        ATOL if atol is None else atol,
    )
    primals = tuple(_as_float64(a, i) for i, a in enumerate(args))
    checker = _Checker(tol, np.random.default_rng(seed), order, modes)
    checker.run(f, primals, order, getattr(f, "__name__", "f"))


def _as_float64(value: Any, position: int) -> np.ndarray:
    data = value.data if isinstance(value, Tensor) else value
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"check_grads: argument {position} has dtype {arr.dtype}, not numeric")
    return arr.astype(np.float64)


def _values(out: Any) -> np.ndarray:
    return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def _flat_concat(parts: Sequence[Any]):
    """All cotangents as one vector, so a VJP has a single output to check."""
    return concatenate([reshape(p, (-1,)) for p in parts])


class _Checker:
    """The recursion over modes and orders, sharing tolerances and the random generator."""

    def __init__(self, tol: tuple[float, float, float], rng, top: int, modes: tuple[str, ...]):
        self.eps, self.rtol, self.atol = tol
        self.rng = rng
        self.top = top
        self.modes = modes

    def run(self, f: Callable, primals: tuple, order: int, label: str) -> None:
        """Check ``f`` in every mode, then recurse on its JVP and VJP while order allows."""
        for mode in self.modes:
            if mode == "fwd":
                self.check_fwd(f, primals, label, order)
            else:
                self.check_rev(f, primals, label, order)
            if order > 1:
                self._recurse(f, primals, order, label, mode)

    def _recurse(self, f: Callable, primals: tuple, order: int, label: str, mode: str) -> None:
        k = len(primals)
        if mode == "fwd":

            def jvp_f(*xs):
                return jvp(f, xs[:k], xs[k:])[1]

            extra = self.directions(primals)
            self.run(jvp_f, primals + extra, order - 1, f"jvp({label})")
        else:

            def vjp_f(*xs):
                return _flat_concat(vjp(f, *xs[:k])[1](xs[k]))

            u = self.rng.standard_normal(np.shape(_values(f(*primals))))
            self.run(vjp_f, primals + (u,), order - 1, f"vjp({label})")

    def directions(self, primals: tuple) -> tuple[np.ndarray, ...]:
        """One random direction per argument, with the argument's shape."""
        return tuple(self.rng.standard_normal(np.shape(x)) for x in primals)

    def central_difference(self, f: Callable, primals: tuple, v: tuple) -> np.ndarray:
        """``(f(x + eps v) - f(x - eps v)) / (2 eps)``: the directional derivative, O(eps^2)."""
        plus = _values(f(*[x + self.eps * d for x, d in zip(primals, v)]))
        minus = _values(f(*[x - self.eps * d for x, d in zip(primals, v)]))
        return (plus - minus) / (2 * self.eps)

    def where(self, mode: str, order: int, label: str) -> str:
        """The start of a failure message: mode, derivative order and the function checked."""
        return f"check_grads: {mode} mode, order {self.top - order + 1}, function {label}"

    def check_fwd(self, f: Callable, primals: tuple, label: str, order: int) -> None:
        """Compare ``J v`` from forward mode with central differences, elementwise."""
        v = self.directions(primals)
        exact = _values(jvp(f, primals, v)[1])
        numeric = self.central_difference(f, primals, v)
        where = self.where("fwd", order, label)
        if exact.shape != numeric.shape:
            raise AssertionError(f"{where}: JVP has shape {exact.shape}, f has {numeric.shape}")
        if not np.allclose(exact, numeric, rtol=self.rtol, atol=self.atol):
            diff = np.abs(exact - numeric)
            worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
            a, b = float(exact[worst]), float(numeric[worst])
            raise AssertionError(
                f"{where}: J v by autodiff differs from central differences (eps={self.eps}); "
                f"worst element {worst}: {a!r} vs {b!r}, |difference| {abs(a - b):.3g} > "
                f"tolerance {self.atol + self.rtol * abs(b):.3g} (rtol={self.rtol}, "
                f"atol={self.atol})\nautodiff: {exact}\nnumeric:  {numeric}"
            )

    def check_rev(self, f: Callable, primals: tuple, label: str, order: int) -> None:
        """Compare ``<vjp(u), v>`` from reverse mode with ``<u, J v>`` by central differences."""
        out, pullback = vjp(f, *primals)
        u = self.rng.standard_normal(np.shape(_values(out)))
        cotangents = [_values(c) for c in pullback(u)]
        where = self.where("rev", order, label)
        for i, (c, x) in enumerate(zip(cotangents, primals)):
            if c.shape != x.shape:
                raise AssertionError(
                    f"{where}: VJP for argument {i} has shape {c.shape}, not {x.shape}"
                )
        v = self.directions(primals)
        exact = float(sum(np.sum(c * d) for c, d in zip(cotangents, v)))
        numeric_jv = self.central_difference(f, primals, v)
        numeric = float(np.sum(u * numeric_jv))
        # Cancellation in the inner product: the rounding error scales with sum |u_i (Jv)_i|.
        tolerance = self.atol + self.rtol * float(np.sum(np.abs(u * numeric_jv)))
        if not abs(exact - numeric) <= tolerance:
            raise AssertionError(
                f"{where}: <u, J v> is {exact!r} by autodiff but {numeric!r} by central "
                f"differences (eps={self.eps}); |difference| {abs(exact - numeric):.3g} > "
                f"tolerance {tolerance:.3g} (rtol={self.rtol}, atol={self.atol})"
            )

"""Cross-check of the faces: eager reverse and forward mode, lifted symbolic derivatives and
central finite differences, at one point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import autodiff
from autodiff.tensor import Tensor

from .errors import ConsistencyError
from .lift import is_liftable, lift
from .numeric import evaluate


@dataclass
class Comparison:
    """One pairwise comparison of a derivative computed two ways."""

    quantity: str
    first: str
    second: str
    error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """True when ``error <= tolerance`` (NaN never passes)."""
        return bool(self.error <= self.tolerance)


@dataclass
class ConsistencyReport:
    """All comparisons made by :func:`check_consistency`; ``max_error`` is the worst ratio."""

    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every comparison is within its tolerance."""
        return all(c.ok for c in self.comparisons)

    @property
    def max_error(self) -> float:
        """The largest disagreement found (scaled: ``|a - b| / (1 + |b|)``)."""
        return max((c.error for c in self.comparisons), default=0.0)

    def __str__(self) -> str:
        head = f"{'quantity':<10} {'compared':<26} {'error':>10} {'tolerance':>10}  status"
        lines = [head, "-" * len(head)]
        for c in self.comparisons:
            pair = f"{c.first} vs {c.second}"
            status = "ok" if c.ok else "DISAGREE"
            lines.append(
                f"{c.quantity:<10} {pair:<26} {c.error:>10.2e} {c.tolerance:>10.1e}  {status}"
            )
        return "\n".join(lines)


def _scaled_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / (1.0 + np.abs(b))))


class _Flat:
    """``f`` as a function of one flat float vector (the lifted arguments, concatenated)."""

    def __init__(self, f: Callable, args: Sequence[Any]):
        self.f, self.args = f, list(args)
        self.slots = [i for i, a in enumerate(args) if is_liftable(a)]
        self.shapes = [np.shape(getattr(args[i], "data", args[i])) for i in self.slots]
        parts = [np.asarray(getattr(args[i], "data", args[i]), float).ravel() for i in self.slots]
        self.x0 = np.concatenate(parts) if parts else np.zeros(0)

    def __call__(self, v):
        call, start = list(self.args), 0
        for i, shape in zip(self.slots, self.shapes):
            n = int(np.prod(shape, dtype=np.int64))
            piece = v[start : start + n]
            call[i] = (
                autodiff.reshape(piece, shape) if isinstance(v, Tensor) else piece.reshape(shape)
            )
            start += n
        return self.f(*call)

    def numeric(self, v: np.ndarray) -> np.ndarray:
        with autodiff.no_grad():
            out = self(Tensor(v))
        return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=float)


def _central(fn: Callable, x: np.ndarray) -> np.ndarray:
    """Central differences of ``fn`` (array-valued) w.r.t. each entry of ``x``; shape out+in."""
    cols = []
    for i in range(x.size):
        h = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        cols.append((np.asarray(fn(up)) - np.asarray(fn(down))) / (2 * h))
    if not cols:
        return np.zeros(np.shape(fn(x)) + (0,))
    return np.stack(cols, axis=-1)


def _symbolic(lifted, flat: _Flat, order: int) -> dict[str, np.ndarray]:
    values = lifted.flat_values(*[flat.args[i] for i in flat.slots])
    syms = lifted.all_symbols
    n = len(lifted.variables)
    if not lifted.is_scalar:
        jac = lifted.jacobian()
        out = evaluate(list(jac), syms, values).reshape(lifted.output.shape + (n,))
        return {"jacobian": out}
    result = {"gradient": evaluate(lifted.gradient(), syms, values)}
    if order >= 2:
        h = lifted.hessian()
        dense = np.zeros((n, n))
        dense[h.rows, h.cols] = evaluate(h.values, syms, values)
        result["hessian"] = dense
    return result


def _eager(flat: _Flat, scalar: bool, order: int) -> dict[str, dict[str, np.ndarray]]:
    x0 = flat.x0
    if not scalar:
        return {
            "jacobian": {
                "reverse": np.asarray(autodiff.jacobian(flat)(x0)),
                "forward": np.asarray(autodiff.jacfwd(flat)(x0)),
                "finite-diff": _central(flat.numeric, x0),
            }
        }
    scalar_f = lambda v: autodiff.reshape(flat(v), ())  # noqa: E731 - one-line adapter
    grad = autodiff.grad(scalar_f)
    out = {
        "gradient": {
            "reverse": np.asarray(grad(x0)),
            "forward": np.asarray(autodiff.jacfwd(scalar_f)(x0)),
            "finite-diff": _central(flat.numeric, x0).reshape(-1),
        }
    }
    if order >= 2:
        out["hessian"] = {
            "reverse": np.asarray(autodiff.jacobian(grad)(x0)),
            "forward": np.asarray(autodiff.hessian(scalar_f)(x0)),
            "finite-diff": _central(lambda v: np.asarray(grad(v)), x0),
        }
    return out


def check_consistency(
    f: Callable,
    *args: Any,
    order: int = 2,
    rtol: float = 1e-8,
    fd_rtol: float = 1e-5,
    raise_on_error: bool = True,
) -> ConsistencyReport:
    """Compare eager (reverse, forward), lifted symbolic and finite-difference derivatives.

    Derivatives are taken w.r.t. every floating-point argument, flattened and concatenated.
    Exact methods must agree within ``rtol``, finite differences within ``fd_rtol`` (errors
    are scaled as ``|a - b| / (1 + |b|)``). On disagreement a :class:`ConsistencyError` with a
    table is raised, unless ``raise_on_error=False``.

    Examples
    --------
    >>> import autodiff as ad, numpy as np, symdiff
    >>> report = symdiff.check_consistency(lambda x: (ad.tanh(x) * x).sum(), np.array([0.3, -1.2]))
    >>> report.ok
    True
    """
    if order not in (1, 2):
        raise ValueError(f"check_consistency: order must be 1 or 2, got {order!r}")
    flat = _Flat(f, args)
    lifted = lift(f, *args, mode="scalar")  # compares element-wise formulas
    if not lifted.is_scalar and order == 2:
        raise ValueError(
            f"check_consistency: order 2 needs a scalar output, got shape {lifted.output.shape}"
        )
    symbolic = _symbolic(lifted, flat, order)
    report = ConsistencyReport()
    for quantity, methods in _eager(flat, lifted.is_scalar, order).items():
        sym = symbolic[quantity].reshape(methods["reverse"].shape)
        fd = methods.pop("finite-diff")
        for name, value in methods.items():
            report.comparisons.append(
                Comparison(quantity, "symbolic", name, _scaled_error(sym, value), rtol)
            )
        report.comparisons.append(
            Comparison(quantity, "symbolic", "finite-diff", _scaled_error(sym, fd), fd_rtol)
        )
    if raise_on_error and not report.ok:
        raise ConsistencyError(
            f"derivatives disagree (largest error {report.max_error:.2e}):\n{report}"
        )
    return report

"""``lift``: trace a function with autodiff Tensors, then replay the graph over SymPy values.

``lift`` is one more interpreter of autodiff's op table: each recorded node is evaluated with
its op's symbolic rule on NumPy object arrays (``op.sympy(NS, *arrays, **params)``, or the
NumPy forward itself for ``STRUCTURAL`` ops).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

import autodiff
from autodiff.engine import toposort
from autodiff.ops import STRUCTURAL
from autodiff.tensor import Tensor

from .dag import deep_recursion
from .errors import LiftError, LiftTooLarge
from .functions import NS
from .lifted import Lifted
from .settings import config


# --- constants --------------------------------------------------------------------------------
def sympy_number(v: Any) -> sp.Basic:
    """A clean SymPy number for ``v``: integral floats become Integers, 0.25 becomes 1/4."""
    if isinstance(v, bool | np.bool_):
        return sp.true if v else sp.false
    if isinstance(v, int | np.integer):
        return sp.Integer(int(v))
    if isinstance(v, complex | np.complexfloating):
        return sp.sympify(complex(v))
    v = float(v)
    if not np.isfinite(v):
        return sp.nan if np.isnan(v) else (sp.oo if v > 0 else -sp.oo)
    if v == int(v) and abs(v) < 2**53:
        return sp.Integer(int(v))
    frac = Fraction(v).limit_denominator(1000)
    if float(frac) == v:
        return sp.Rational(frac.numerator, frac.denominator)
    return sp.Float(v)


def constant_array(data: Any) -> np.ndarray:
    """An object array of SymPy numbers holding ``data``."""
    arr = np.asarray(data)
    cache: dict = {}
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        key = (type(v), v)
        if key not in cache:
            cache[key] = sympy_number(v)
        out[idx] = cache[key]
    return out


def _sympify_array(arr: Any) -> np.ndarray:
    arr = np.asarray(arr, dtype=object)
    if all(isinstance(v, sp.Basic) for v in arr.flat):
        return arr
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = v if isinstance(v, sp.Basic) else sympy_number(v)
    return out


# --- inputs -----------------------------------------------------------------------------------
def _arg_names(f: Callable, n: int, names: Sequence[str] | None) -> list[str]:
    if names is not None:
        names = [str(s) for s in names]
        if len(names) != n or len(set(names)) != n:
            raise ValueError(f"lift: names must be {n} distinct names, got {names}")
        return names
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = positional[:n] + [f"x{i}" for i in range(len(positional), n)]
    if len(set(names)) != len(names):
        raise ValueError(f"lift: argument names {names} are not unique; pass names=")
    return names


def _is_liftable(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.dtype.kind == "f"
    if isinstance(value, bool):
        return False
    if isinstance(value, float | np.floating):
        return True
    return isinstance(value, np.ndarray | list | tuple) and np.asarray(value).dtype.kind == "f"


def symbol_array(name: str, shape: tuple[int, ...]) -> np.ndarray | sp.Symbol:
    """Real element symbols ``name[i, j]`` for an array argument, or ``name`` for a scalar."""
    if shape == ():
        return sp.Symbol(name, real=True)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(f"{name}[{', '.join(str(i) for i in idx)}]", real=True)
    return out


def _param_set(params: Any, names: list[str]) -> set[int]:
    items = (params,) if isinstance(params, str | int) else tuple(params)
    out = set()
    for p in items:
        if isinstance(p, str):
            if p not in names:
                raise ValueError(f"lift: params names {p!r}, not one of the arguments {names}")
            out.add(names.index(p))
        elif -len(names) <= int(p) < len(names):
            out.add(int(p) % len(names))
        else:
            raise ValueError(f"lift: params index {p} is out of range for {len(names)} argument(s)")
    return out


# --- work estimate ----------------------------------------------------------------------------
def estimate_terms(t: Tensor) -> int:
    """Expression nodes the symbolic replay of ``t``'s op creates (an upper-bound estimate).

    An elementwise op makes one node per output element; a contraction makes one term per
    multiply-add: ``(m, k) @ (k, n)`` is ``m * n`` sums of ``k`` products, ``2 * m * n * k``;
    a reduction touches every input element once.
    """
    out = int(t.size)
    sizes = [int(np.size(getattr(p, "data", p))) for p in t._parents]
    if t._op.name == "matmul" and len(t._parents) == 2:
        a = np.shape(getattr(t._parents[0], "data", t._parents[0]))
        inner = int(a[-1]) if len(a) else 1
        return max(1, 2 * out * inner)
    return max(1, out, sum(sizes))


# --- the interpreter --------------------------------------------------------------------------
class _Replay:
    """Values of the traced tensors as SymPy object arrays, keyed by tensor id."""

    def __init__(self, limit: int, max_terms: int | None = None):
        self.values: dict[int, np.ndarray] = {}
        self.limit = limit
        self.max_terms = config.max_terms if max_terms is None else int(max_terms)
        self.terms = 0

    def precheck(self, roots: list[Tensor]) -> None:
        """Estimate the whole replay before any symbol is made: fail fast when too large."""
        for t in toposort(roots, recorded=True):
            if t._op is not None:
                self.check_terms(t)
        self.terms = 0

    def check_terms(self, t: Tensor) -> None:
        """Add the estimated expression nodes of ``t``'s op; raise past ``max_terms``."""
        estimate = estimate_terms(t)
        self.terms += estimate
        if self.terms > self.max_terms:
            raise LiftTooLarge(
                f"lift: op {t._op.name!r} (output shape {t.shape}) would build about {estimate} "
                f"expression terms, {self.terms} in all so far, more than the limit "
                f"symdiff.config.max_terms = {self.max_terms}; pass max_terms= to lift a larger "
                "computation"
            )

    def check_size(self, t: Tensor, what: str) -> None:
        if t.size > self.limit:
            raise LiftTooLarge(
                f"lift: {what} of shape {t.shape} has {t.size} elements, more than the limit "
                f"symdiff.config.max_elements = {self.limit}; pass max_elements= to lift "
                "a larger computation"
            )

    def value(self, t: Any) -> np.ndarray:
        if not isinstance(t, Tensor):
            return constant_array(t)
        found = self.values.get(id(t))
        return constant_array(t.data) if found is None else found

    def run(self, op, args: list, params: dict, traced: Tensor) -> np.ndarray:
        if op.sympy is None:
            raise LiftError(f"lift: op {op.name!r} has no symbolic rule")
        try:
            if op.sympy == STRUCTURAL:
                out = _sympify_array(op.forward(*args, **params))
            else:
                out = np.asarray(op.sympy(NS, *args, **params), dtype=object)
        except (TypeError, ValueError, AttributeError) as exc:
            raise LiftError(f"lift: the symbolic rule of op {op.name!r} failed: {exc}") from None
        if out.shape != traced.shape:
            raise LiftError(
                f"lift: op {op.name!r} gave a symbolic result of shape {out.shape}, "
                f"expected {traced.shape}"
            )
        return out

    @deep_recursion()
    def replay(self, roots: list[Tensor]) -> None:
        # recorded=True: conditions (comparisons, masks) are replayed, not frozen.
        for t in toposort(roots, recorded=True):
            if id(t) in self.values:
                continue
            if t._op is None:
                self.values[id(t)] = constant_array(t.data)
                continue
            self.check_size(t, f"tensor (output of op {t._op.name!r})")
            self.check_terms(t)
            args = [self.value(p) for p in t._parents]
            self.values[id(t)] = self.run(t._op, args, t._params, t)


def lift(
    f: Callable,
    *example_args: Any,
    names: Sequence[str] | None = None,
    params: Any = (),
    max_elements: int | None = None,
    max_terms: int | None = None,
) -> Lifted:
    """Trace ``f`` on example arguments and replay it over SymPy symbols.

    Floating-point arguments (numbers, arrays, Tensors) become real symbols: a scalar ``x``
    becomes ``x``, an array ``W`` becomes element symbols ``W[0, 0]``, ``W[0, 1]``, ...; other
    arguments (ints, strings, callables) are passed through unchanged. Symbol names come from
    ``f``'s parameter names unless ``names`` is given. Arguments named (or indexed) in
    ``params`` stay symbolic but are not differentiated (data, hyper-parameters).

    Python control flow is frozen at trace time, as in any tracer: an ``if`` on a tensor value
    or a loop whose length depends on one takes the branch of the example arguments. Use
    ``where`` / comparisons on tensors (lifted to ``Piecewise`` and relationals) for branches
    that must stay symbolic.

    Parameters
    ----------
    f : callable
        Written with autodiff operations.
    *example_args
        One value per argument of ``f``; they fix the shapes (and any frozen control flow).
    names : sequence of str, optional
        Symbol names, one per argument.
    params : str, int or sequence of them
        Arguments held symbolic but left out of ``variables``.
    max_elements : int, optional
        Largest tensor size allowed (default ``symdiff.config.max_elements``).
    max_terms : int, optional
        Largest estimated number of expression terms built in all (default
        ``symdiff.config.max_terms``); checked before each op is replayed, so a too large
        computation fails fast with :class:`symdiff.LiftTooLarge`.

    Returns
    -------
    Lifted

    Examples
    --------
    >>> import autodiff as ad, symdiff
    >>> lifted = symdiff.lift(lambda x, y: ad.sin(x) * y, 1.0, 2.0)
    >>> lifted.expr
    y*sin(x)
    >>> lifted.gradient()
    [y*cos(x), sin(x)]
    """
    limit = config.max_elements if max_elements is None else int(max_elements)
    arg_names = _arg_names(f, len(example_args), names)
    held = _param_set(params, arg_names)
    call, inputs, symbols = _inputs(example_args, arg_names, limit)
    with autodiff.enable_grad():
        out = f(*call)
    if not isinstance(out, Tensor):
        raise_if_not_array(out, f)
        out = Tensor(np.asarray(out))
    replay = _Replay(limit, max_terms)
    replay.precheck([out])
    symbols = {name: symbol_array(name, shape) for name, shape in symbols.items()}
    for name, t in inputs.items():
        replay.values[id(t)] = np.asarray(symbols[name], dtype=object)
    replay.replay([out])
    output = replay.value(out)
    lifted_names = list(inputs)
    return Lifted(
        output=output[()] if output.ndim == 0 else output,
        variables=_flat(symbols, [n for n in lifted_names if arg_names.index(n) not in held]),
        parameters=_flat(symbols, [n for n in lifted_names if arg_names.index(n) in held]),
        symbols=symbols,
        arg_shapes={n: t.shape for n, t in inputs.items()},
        arg_names=arg_names,
    )


def _inputs(example_args: tuple, arg_names: list[str], limit: int) -> tuple[list, dict, dict]:
    """Call arguments (liftable ones as fresh graph inputs), inputs and shapes by name."""
    call, inputs, symbols = list(example_args), {}, {}
    for i, (name, value) in enumerate(zip(arg_names, example_args)):
        if not _is_liftable(value):
            continue
        data = np.asarray(value.data if isinstance(value, Tensor) else value)
        if data.size > limit:
            raise LiftTooLarge(
                f"lift: argument {name!r} of shape {data.shape} has {data.size} elements, more "
                f"than the limit symdiff.config.max_elements = {limit}; pass max_elements="
            )
        call[i] = Tensor(data, requires_grad=True)
        inputs[name] = call[i]
        symbols[name] = data.shape  # symbols are made after the work estimate passes
    return call, inputs, symbols


def raise_if_not_array(out: Any, f: Callable) -> None:
    """Reject outputs that are neither Tensors nor numbers (tuples, dicts, None)."""
    if out is None or isinstance(out, tuple | dict | list | str):
        name = getattr(f, "__name__", type(f).__name__)
        raise LiftError(f"lift: {name} must return one Tensor, got {type(out).__name__}")


def _flat(symbols: dict, names: list[str]) -> tuple[sp.Symbol, ...]:
    out: list[sp.Symbol] = []
    for name in names:
        s = symbols[name]
        out.extend(s.ravel().tolist() if isinstance(s, np.ndarray) else [s])
    return tuple(out)

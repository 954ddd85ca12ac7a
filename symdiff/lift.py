"""``lift``: trace a function with autodiff Tensors, then replay the graph over SymPy values.

``lift`` is one more interpreter of autodiff's op table. It reads the recorded computation only
through the public graph IR (:func:`autodiff.graph.graph_of`): each op node is evaluated with
its op's symbolic rule on NumPy object arrays (``op.sympy(NS, *arrays, **params)``, or the
NumPy forward itself for ``STRUCTURAL`` ops), input nodes are the argument symbols and constant
nodes become exact SymPy numbers (:mod:`symdiff.numbers`).
"""

from __future__ import annotations

import inspect
import linecache
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

import autodiff
from autodiff.grad_mode import traced_bool_hook, tracing
from autodiff.graph import Graph, Node, graph_of, trace_graph
from autodiff.ops import STRUCTURAL
from autodiff.tensor import Tensor

from .array_lift import AUTO_SCALAR_TERMS, ArrayLifted, estimate_scalar_terms
from .dag import deep_recursion
from .errors import LiftError, LiftTooLarge, TracerBoolConversionError, TracerConversionError
from .functions import NS
from .lifted import Guard, Lifted
from .numbers import constant_array, sympy_number
from .numbers import sympify_array as _sympify_array
from .progress import stage
from .settings import config

__all__ = ["constant_array", "is_liftable", "lift", "symbol_array", "sympy_number"]


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


def is_liftable(value: Any) -> bool:
    """True when ``lift`` turns an argument like ``value`` into symbols.

    Floating-point Tensors, arrays and (nested) lists, and Python / NumPy real numbers
    (integers count as weakly typed floats, as in JAX); bools, integer arrays, strings and
    everything else are passed through unchanged.

    Examples
    --------
    >>> from symdiff.lift import is_liftable
    >>> is_liftable(1.5), is_liftable(3), is_liftable(True), is_liftable([1, 2])
    (True, True, False, False)
    """
    if isinstance(value, Tensor):
        return value.dtype.kind == "f"
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, float | np.floating | int | np.integer):
        return True  # a Python/NumPy integer scalar is a weakly typed float (as in JAX)
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
def estimate_terms(node: Node, graph: Graph) -> int:
    """Expression nodes the symbolic replay of ``node``'s op creates (an upper-bound estimate).

    An elementwise op makes one node per output element; a contraction makes one term per
    multiply-add: ``(m, k) @ (k, n)`` is ``m * n`` sums of ``k`` products, ``2 * m * n * k``;
    a reduction touches every input element once.
    """
    out = int(node.size)
    if node.op.name == "matmul" and len(node.inputs) == 2:
        a = graph.nodes[node.inputs[0]].shape
        inner = int(a[-1]) if len(a) else 1
        return max(1, 2 * out * inner)
    return max(1, out, sum(int(graph.nodes[i].size) for i in node.inputs))


# --- the interpreter --------------------------------------------------------------------------
class _Replay:
    """Symbolic values of the nodes of one growing graph, by node index.

    The graph starts with the lifted inputs (their values: the argument symbols) and is
    extended (``graph_of(..., extend=)``) each time a value is asked for - by a branch guard
    while ``f`` runs, then by the output - so every node is evaluated once.
    """

    def __init__(
        self,
        limit: int,
        inputs: Sequence[Tensor],
        symbols: Sequence[Any],
        max_terms: int | None = None,
    ):
        self.limit = limit
        self.max_terms = config.max_terms if max_terms is None else int(max_terms)
        self.terms = 0
        self.inputs = tuple(inputs)
        self.graph: Graph = graph_of([], self.inputs)
        self.values: list[np.ndarray] = [np.asarray(s, dtype=object) for s in symbols]

    def precheck(self, roots: list[Tensor]) -> None:
        """Estimate what replaying ``roots`` still needs: fail fast when it is too large."""
        self.graph = graph = graph_of(roots, self.inputs, extend=self.graph)
        total = self.terms
        for node in graph.nodes[len(self.values) :]:
            if node.op is not None:
                total += estimate_terms(node, graph)
                self._check_total(node, total)

    def check_terms(self, node: Node) -> None:
        """Add the estimated expression nodes of ``node``'s op; raise past ``max_terms``."""
        self.terms += estimate_terms(node, self.graph)
        self._check_total(node, self.terms)

    def _check_total(self, node: Node, total: int) -> None:
        if total > self.max_terms:
            raise LiftTooLarge(
                f"lift: op {node.op.name!r} (output shape {node.shape}) would build about "
                f"{estimate_terms(node, self.graph)} expression terms, {total} in all so far, "
                f"more than the limit symdiff.config.max_terms = {self.max_terms}; pass "
                "max_terms= to lift a larger computation"
            )

    def check_size(self, node: Node, what: str) -> None:
        if node.size > self.limit:
            raise LiftTooLarge(
                f"lift: {what} of shape {node.shape} has {node.size} elements, more than the "
                f"limit symdiff.config.max_elements = {self.limit}; pass max_elements= to lift "
                "a larger computation"
            )

    def run(self, node: Node, args: list) -> np.ndarray:
        op, params = node.op, node.params
        if op.sympy is None:
            raise LiftError(f"lift: op {op.name!r} has no symbolic rule")
        try:
            if op.sympy == STRUCTURAL:
                out = _sympify_array(op.forward(*args, **params))
            else:
                out = np.asarray(op.sympy(NS, *args, **params), dtype=object)
        except (TypeError, ValueError, AttributeError) as exc:
            raise LiftError(f"lift: the symbolic rule of op {op.name!r} failed: {exc}") from None
        if out.shape != node.shape:
            raise LiftError(
                f"lift: op {op.name!r} gave a symbolic result of shape {out.shape}, "
                f"expected {node.shape}"
            )
        return out

    @deep_recursion()
    def replay(self, roots: list[Tensor]) -> list[np.ndarray]:
        """Evaluate what ``roots`` need that is not known yet; return the roots' values."""
        # Every recorded op is a node, so conditions (comparisons, masks) are replayed, not
        # frozen. The graph is kept before evaluating: after a failure the next call resumes.
        self.graph = graph = graph_of(roots, self.inputs, extend=self.graph)
        for node in graph.nodes[len(self.values) :]:
            if node.op is None:
                self.values.append(constant_array(node.value))
                continue
            self.check_size(node, f"tensor (output of op {node.op.name!r})")
            self.check_terms(node)
            self.values.append(self.run(node, [self.values[i] for i in node.inputs]))
        return [self.values[i] for i in graph.outputs]

    def op_name(self, t: Tensor) -> str | None:
        """The name of the op that computed ``t`` (None for a leaf: an input or a constant)."""
        self.graph = graph = graph_of([t], self.inputs, extend=self.graph)
        node = graph.nodes[graph.outputs[0]]
        return None if node.op is None else node.op.name


def lift(
    f: Callable,
    *example_args: Any,
    mode: str = "auto",
    verbose: bool | None = None,
    **options: Any,
) -> Lifted | ArrayLifted:
    """Trace ``f`` on example arguments and lift it: scalar SymPy expressions or an array program.

    ``mode="scalar"`` replays the traced graph over SymPy symbols, one expression per array
    element (a :class:`~symdiff.Lifted`; see below). ``mode="array"`` keeps the program at the
    level of arrays (a :class:`~symdiff.ArrayLifted`: one entry per recorded op, elementwise
    chains fused into one formula of a generic element), whose size does not grow with the
    array sizes. ``mode="auto"`` (the default) estimates the scalar lift's size from the traced
    shapes before expanding anything (:func:`symdiff.array_lift.estimate_scalar_terms`: elements
    times per-element formula size, summed over the ops; a matmul counts ``m n k``) and takes
    the scalar lift up to ``symdiff.array_lift.AUTO_SCALAR_TERMS`` (100,000) estimated terms,
    the array program above.
    ``mode="scalar"`` on a computation estimated above ``symdiff.config.max_terms`` (2,000,000
    where unset) raises :class:`~symdiff.LiftTooLarge` at once, naming the estimate.

    A lift taking longer than 2 s reports its stages and elapsed time on stderr (when it is a
    terminal; ``verbose=True`` always, ``verbose=False`` never), and every stage goes to the
    ``logging.getLogger("hybriddiff")`` logger (:mod:`symdiff.progress`).

    Floating-point arguments (numbers, arrays, Tensors) become real symbols: a scalar ``x``
    becomes ``x``, an array ``W`` becomes element symbols ``W[0, 0]``, ``W[0, 1]``, ...; a
    Python or NumPy integer scalar counts as a float (JAX's weak typing: ``lift(f, 3)`` is
    ``lift(f, 3.0)``). Other arguments (bools, integer arrays, strings, callables) are passed
    through unchanged. Symbol names come from ``f``'s parameter names unless ``names`` is
    given. Arguments named (or indexed) in ``params`` stay symbolic but are not differentiated
    (data, hyper-parameters).

    Nothing is frozen silently. Turning a traced value into a Python number or NumPy array
    (``float(x)``, ``math.atan(x)``, ``np.asarray(x)``) raises
    :class:`~symdiff.TracerConversionError`; Python control flow on a value that depends on a
    variable (``if x > 0``, ``while``, ``max(x, 0)``) raises
    :class:`~symdiff.TracerBoolConversionError`: write such branches with ``ad.where``,
    ``ad.maximum``, ``ad.abs`` (lifted to ``Piecewise``, ``Max``...). With ``guards=True``
    (scalar mode only) each such branch is instead taken as at the example point and recorded
    as a :class:`~symdiff.Guard` (``Lifted.guards``).

    Parameters
    ----------
    f : callable
        Written with autodiff operations.
    *example_args
        One value per argument of ``f``; they fix the shapes.
    mode : {"auto", "scalar", "array"}
        Which lift (see above).
    verbose : bool or None
        Progress on stderr: always, never, or (None) when slow and interactive.
    names : sequence of str, optional
        Symbol names, one per argument.
    params : str, int or sequence of them
        Arguments held symbolic but left out of ``variables``.
    max_elements : int, optional
        Largest tensor size allowed in scalar mode (default ``symdiff.config.max_elements``).
    guards : bool
        Record Python branches on traced values as guards instead of raising (scalar mode).
    max_terms : int, optional
        Largest estimated number of expression terms of a scalar lift (default
        ``symdiff.config.max_terms``).

    Returns
    -------
    Lifted or ArrayLifted

    Examples
    --------
    >>> import numpy as np, autodiff as ad, symdiff
    >>> lifted = symdiff.lift(lambda x, y: ad.sin(x) * y, 1.0, 2.0)
    >>> lifted.expr
    y*sin(x)
    >>> lifted.gradient()
    [y*cos(x), sin(x)]
    >>> def f(x):
    ...     return x**2 if x > 0 else -x
    >>> branchy = symdiff.lift(f, 1.0, guards=True)
    >>> branchy.expr, branchy.guards
    (x**2, (Guard(x > 0, taken=True),))
    >>> big = symdiff.lift(lambda x: ad.sum(ad.exp(x) * x), np.ones(10**6))
    >>> print(big)
    def f(x):  # x: (1000000,)
        t2[i] = x[i]*exp(x[i])  # (1000000,)
        t3 = sum(t2)  # ()
        return t3
    """
    if mode not in ("auto", "scalar", "array"):
        raise ValueError(f"lift: mode must be 'auto', 'scalar' or 'array', got {mode!r}")
    with stage("lift", verbose) as progress:
        chosen = choose_lift(f, example_args, mode, options, progress)
        if chosen is not None:
            return chosen
        progress.step("scalar replay")
        if "max_terms" in options and "max_terms" not in _SCALAR_OPTIONS:
            options = {k: v for k, v in options.items() if k != "max_terms"}
        return _lift_scalar(f, *example_args, **options)


def scalar_terms_limit(options: dict | None = None) -> int:
    """The largest estimated size of a scalar lift (``max_terms=`` or ``config.max_terms``)."""
    given = (options or {}).get("max_terms")
    return int(given) if given is not None else int(getattr(config, "max_terms", 2_000_000))


def choose_lift(f, example_args, mode: str, options: dict, progress) -> ArrayLifted | None:
    """The array program when ``mode`` (or the size estimate) calls for one, else None."""
    names = options.get("names")
    arg_names = _arg_names(f, len(example_args), names)
    if mode == "array" and options.get("guards"):
        raise LiftError("lift: guards=True records branches of the scalar lift; use mode='scalar'")
    progress.step("trace")
    try:
        graph, input_names = trace_program(f, example_args, arg_names)
    except Exception:
        if mode == "array":
            raise
        return None  # the scalar lift reports the problem in its own words
    estimate = estimate_scalar_terms(graph)
    if mode == "scalar" or (mode == "auto" and estimate <= AUTO_SCALAR_TERMS):
        # the scalar replay's own work estimate (estimate_terms), checked before any expansion
        limit = scalar_terms_limit(options)
        terms = [(estimate_terms(n, graph), n.op.name) for n in graph.nodes if n.op is not None]
        work = sum(t for t, _ in terms)
        if work > limit:
            top = max(terms)
            raise LiftTooLarge(
                f"lift: the scalar (element-wise) lift would build about {work} expression "
                f"terms (the largest: op {top[1]!r}, about {top[0]}) "
                f"terms ({len(graph)} graph nodes), more than the limit symdiff.config.max_terms "
                f"= {limit}; use mode='array' (or mode='auto') for an array program whose size "
                "is the number of ops, or pass max_terms="
            )
        return None
    progress.step("array program", f"{len(graph)} graph nodes, scalar estimate {estimate}")
    held = _param_set(options.get("params", ()), arg_names)
    unknown = sorted(set(options) - _SCALAR_OPTIONS - {"max_terms"})
    if unknown:
        raise TypeError(f"lift: unexpected keyword argument(s) {unknown}")
    variables = [n for n in input_names if arg_names.index(n) not in held]
    title = getattr(f, "__name__", "f")
    title = title if title.isidentifier() else "f"
    return ArrayLifted(
        graph,
        input_names,
        variables,
        fn=f,
        example_args=example_args,
        arg_names=arg_names,
        title=title,
    )


def trace_program(f: Callable, example_args: tuple, arg_names: list[str]):
    """Trace ``f`` into a graph whose inputs are the liftable arguments (ints become floats).

    Returns ``(graph, input_names)``. Python control flow on a traced value raises
    :class:`~symdiff.TracerBoolConversionError`, a conversion to a number
    :class:`~symdiff.TracerConversionError`.
    """
    call, input_names = list(example_args), []
    for i, (name, value) in enumerate(zip(arg_names, example_args)):
        if is_liftable(value):
            data = np.asarray(value.data if isinstance(value, Tensor) else value)
            call[i] = data.astype(np.float64) if data.dtype.kind in "iu" else data
            input_names.append(name)

    def refuse(t: Tensor) -> bool:
        raise TracerBoolConversionError(
            "lift(mode='array'): bool() of a traced value: Python control flow (if / while / "
            "and / or / max(...)) on a value that depends on a lifted variable would freeze the "
            "branch taken at the example point; write it with ad.where(cond, a, b) (or "
            "ad.maximum / ad.abs), or use mode='scalar' with guards=True"
        )

    with traced_bool_hook(refuse):
        try:
            graph, out = trace_graph(f, *call)
        except TracerConversionError:
            raise
        except TypeError as exc:
            _reraise_conversion(exc)
            raise
    if len(graph.inputs) != len(input_names):
        raise LiftError(
            f"lift: traced {len(graph.inputs)} input(s) for the lifted arguments {input_names}"
        )
    return graph, input_names


def _lift_scalar(
    f: Callable,
    *example_args: Any,
    names: Sequence[str] | None = None,
    params: Any = (),
    max_elements: int | None = None,
    guards: bool = False,
    max_terms: int | None = None,
) -> Lifted:
    """The scalar lift behind :func:`lift` (``mode="scalar"``): one SymPy expression per element.

    Parameters, conversions, branches and guards are as documented on :func:`lift`.
    """
    limit = config.max_elements if max_elements is None else int(max_elements)
    arg_names = _arg_names(f, len(example_args), names)
    held = _param_set(params, arg_names)
    call, inputs, symbols = _inputs(example_args, arg_names, limit)
    replay = _Replay(limit, list(inputs.values()), [symbols[name] for name in inputs], max_terms)
    tracer = _BranchTracer(replay, symbols, record=bool(guards))
    with autodiff.enable_grad(), tracing("lift"), traced_bool_hook(tracer):
        try:
            out = f(*call)
        except TracerConversionError:
            raise
        except TypeError as exc:
            _reraise_conversion(exc)
            raise
    if not isinstance(out, Tensor):
        raise_if_not_array(out, f)
        out = Tensor(np.asarray(out))
    replay.precheck([out])
    (output,) = replay.replay([out])
    lifted_names = list(inputs)
    return Lifted(
        output=output[()] if output.ndim == 0 else output,
        variables=_flat(symbols, [n for n in lifted_names if arg_names.index(n) not in held]),
        parameters=_flat(symbols, [n for n in lifted_names if arg_names.index(n) in held]),
        symbols=symbols,
        arg_shapes={n: t.shape for n, t in inputs.items()},
        arg_names=arg_names,
        guards=tuple(tracer.guards),
    )


# --- conversions and control flow on traced values ----------------------------------------------
_CONVERSION_HINT = (
    "under symdiff.lift this would turn the traced value into a constant (its value at the "
    "example point) and silently drop the variable; use the autodiff function of the same name "
    "(ad.atan, ad.exp, ad.sqrt...) instead of math.* / float() / NumPy conversion, ad.stack to "
    "build arrays from tensors, or ad.stop_gradient(t) / t.detach() for an intended constant"
)


def _reraise_conversion(exc: TypeError) -> None:
    """Re-raise autodiff's conversion error (a traced tensor made a number) with lift context."""
    conversion = getattr(autodiff, "ConversionError", None)
    kind = type(exc)
    named = kind.__module__.split(".")[0] == "autodiff" and "Conversion" in kind.__name__
    if named or (conversion is not None and isinstance(exc, conversion)):
        raise TracerConversionError(f"lift: {exc}; {_CONVERSION_HINT}") from exc


class _LiftInput(Tensor):
    """A lifted argument: refuses conversion to a Python number or a NumPy array.

    Operations on it give plain Tensors; conversions of those are refused by autodiff itself
    while ``tracing("lift")`` is active.
    """

    __slots__ = ()

    def _refuse(self, what: str):
        raise TracerConversionError(
            f"lift: {what} of the lifted argument of shape {self.shape}: {_CONVERSION_HINT}"
        )

    def __float__(self) -> float:
        self._refuse("float() (or a math.* function)")

    def __int__(self) -> int:
        self._refuse("int()")

    def __index__(self) -> int:
        self._refuse("use as an index / int (__index__)")

    def __complex__(self) -> complex:
        self._refuse("complex()")

    def __array__(self, dtype=None, copy=None):
        self._refuse("conversion to a NumPy array (np.asarray / np.array)")

    def item(self) -> float:
        self._refuse(".item()")

    def tolist(self):
        self._refuse(".tolist()")

    def numpy(self) -> np.ndarray:
        self._refuse(".numpy()")


def _user_frame() -> tuple[str, str]:
    """``("file.py:12", "source line")`` of the innermost caller outside the library."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] not in ("autodiff", "symdiff", "bridge", "contextlib"):
            code = frame.f_code
            line = linecache.getline(code.co_filename, frame.f_lineno).strip()
            return f"{os.path.basename(code.co_filename)}:{frame.f_lineno}", line
        frame = frame.f_back
    return "", ""


class _BranchTracer:
    """The ``bool()`` hook of one lift: constants pass, traced conditions raise or guard."""

    def __init__(self, replay: _Replay, symbols: dict, record: bool):
        self.replay = replay
        self.record = record
        self.guards: list[Guard] = []
        self.symbols: set[sp.Symbol] = set()
        for s in symbols.values():
            self.symbols.update(s.ravel().tolist() if isinstance(s, np.ndarray) else [s])

    def condition(self, t: Tensor) -> sp.Basic:
        """The symbolic value of the one-element tensor ``t`` as a condition."""
        value = self.replay.replay([t])[0].ravel()[0]
        if isinstance(value, sp.logic.boolalg.Boolean):
            return value
        return sp.Ne(value, 0)

    def __call__(self, t: Tensor) -> bool:
        taken = bool(t.data)
        name = self.replay.op_name(t)
        op = f"op {name!r}" if name is not None else "a lifted argument"
        try:
            cond = self.condition(t)
        except LiftError as exc:
            if not self.record:
                raise TracerBoolConversionError(
                    f"lift: bool() of a traced value ({op}) freezes a Python branch; use "
                    f"ad.where(cond, a, b) instead ({exc})"
                ) from None
            raise LiftError(f"lift: cannot record a guard on {op}: {exc}") from None
        if not (cond.free_symbols & self.symbols):
            return taken  # does not depend on a variable: an ordinary constant comparison
        where, line = _user_frame()
        if not self.record:
            at = f" at {where}" if where else ""
            src = f" (`{line}`)" if line else ""
            raise TracerBoolConversionError(
                f"lift: bool() of the traced condition `{cond}` ({op}){at}{src}: Python "
                "control flow (if / while / and / or / max(...)) on a value that depends on a "
                "lifted variable would freeze the branch taken at the example point. Write the "
                "branch with ad.where(cond, a, b) (or ad.maximum / ad.minimum / ad.abs) so it "
                "stays symbolic, or pass guards=True to lift / bridge.compile to record the "
                "branch as a guard checked at every evaluation"
            )
        guard = Guard(cond, taken, where)
        if all(g.condition != guard.condition or g.taken != taken for g in self.guards):
            self.guards.append(guard)
        return taken


def _inputs(example_args: tuple, arg_names: list[str], limit: int) -> tuple[list, dict, dict]:
    """Call arguments (liftable ones as fresh graph inputs), inputs and symbols by name."""
    call, inputs, symbols = list(example_args), {}, {}
    for i, (name, value) in enumerate(zip(arg_names, example_args)):
        if not is_liftable(value):
            continue
        data = np.asarray(value.data if isinstance(value, Tensor) else value)
        if data.dtype.kind in "iu":
            data = data.astype(np.float64)
        if data.size > limit:
            raise LiftTooLarge(
                f"lift: argument {name!r} of shape {data.shape} has {data.size} elements, more "
                f"than the limit symdiff.config.max_elements = {limit}; pass max_elements="
            )
        call[i] = _LiftInput(data, requires_grad=True)
        inputs[name] = call[i]
        symbols[name] = symbol_array(name, data.shape)
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


_SCALAR_OPTIONS = set(inspect.signature(_lift_scalar).parameters) - {"f", "example_args"}

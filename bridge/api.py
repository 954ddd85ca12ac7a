"""``bridge.compile``: from a function, a lifted computation or a SymPy expression to kernels."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import autodiff

from . import cache
from .compiled import Compiled
from .options import CODEGEN_VERSION, DERIVATIVES, check_options

# symdiff and the code generator are imported on a cache miss only: a warm start skips both.
# SymPy itself is imported on first use, so that a warm array-mode start never loads it.


class _LazySympy:
    """``sp``: the sympy module, imported on first attribute access."""

    def __getattr__(self, name: str):
        import sympy

        return getattr(sympy, name)


sp = _LazySympy()


def _is_sympy(obj) -> bool:
    """Whether ``obj`` is a SymPy object (without importing SymPy when nothing could be)."""
    sympy = sys.modules.get("sympy")
    return sympy is not None and isinstance(obj, sympy.Basic)


@dataclass
class _Problem:
    """A scalar expression, its differentiated symbols and its parameter symbols."""

    expr: sp.Expr
    variables: tuple[sp.Symbol, ...]
    parameters: tuple[sp.Symbol, ...]
    defaults: np.ndarray | None = None
    lifted: Any = None
    # (condition, taken, where) per Python branch frozen by lift(..., guards=True)
    guards: tuple[tuple[sp.Basic, bool, str], ...] = ()

    def gradient(self) -> list[sp.Expr]:
        """First partials, by symdiff's reverse accumulation."""
        if self.lifted is not None:
            return list(self.lifted.gradient())
        from symdiff import gradient

        return list(gradient(self.expr, self.variables))

    def hessian(self):
        """symdiff's sparse Hessian (both triangles, row-major)."""
        if self.lifted is not None:
            return self.lifted.hessian()
        from symdiff import hessian

        return hessian(self.expr, self.variables)

    def key(self, target: str, dtype: str, kinds: tuple[str, ...]) -> str:
        """Hash of everything the generated source depends on."""
        # expression_key, not srepr: linear in the DAG (srepr is exponential on shared nodes)
        return request_key(
            target,
            dtype,
            kinds,
            expression_key(self.expr),
            sp.srepr(self.variables),
            sp.srepr(self.parameters),
            self.guard_request(),
        )

    def srepr(self) -> tuple[str, str, str]:
        """``(expr, variables, parameters)`` as ``sympy.srepr`` text: the request's identity."""
        return sp.srepr(self.expr), sp.srepr(self.variables), sp.srepr(self.parameters)

    def guard_request(self) -> tuple[tuple[str, bool, str], ...]:
        """The guards as plain data: ``(srepr of the condition, taken, where)`` each."""
        return tuple((sp.srepr(c), bool(taken), str(where)) for c, taken, where in self.guards)


def request_key(
    target: str,
    dtype: str,
    kinds: tuple[str, ...],
    expr: str,
    variables: str,
    parameters: str,
    guards: tuple[tuple[str, bool, str], ...] = (),
) -> str:
    """The cache index key of a request, from its options and srepr texts."""
    parts = [
        CODEGEN_VERSION,
        autodiff.__version__,
        target,
        dtype,
        ",".join(kinds),
        variables,
        parameters,
        expr,
    ]
    # the guard kernel is part of the source: guarded modules differ
    parts += [f"guard {taken} {where} {cond}" for cond, taken, where in guards]
    return cache.digest("\n".join(parts))


def expression_key(expr: sp.Basic) -> str:
    """A canonical text of ``expr`` for the request hash, linear in its DAG size.

    ``srepr`` walks the expression as a tree: exponential time (and a RecursionError) on a
    lifted computation with shared subexpressions. This serialises each unique node once, in
    post-order, as its function and the indices of its arguments.
    """
    from symdiff.dag import deep_recursion, serialize

    with deep_recursion():
        return "dag1\n" + serialize([expr])


def _is_lifted(obj) -> bool:
    return all(hasattr(obj, a) for a in ("expr", "variables", "parameters", "gradient", "hessian"))


def _symbols(items, what: str) -> tuple[sp.Symbol, ...]:
    items = tuple(items) if isinstance(items, Sequence | tuple | list) else (items,)
    for s in items:
        if not isinstance(s, sp.Symbol):
            raise TypeError(f"compile: {what} must be SymPy symbols, got {s!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"compile: {what} lists a symbol twice")
    return items


def _from_expr(expr, wrt, params) -> _Problem:
    expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"compile: expected a scalar SymPy expression, got {type(expr).__name__}")
    parameters = _symbols(params or (), "params")
    if wrt is None:
        free = expr.free_symbols - set(parameters)
        wrt = sorted(free, key=sp.default_sort_key)
    variables = _symbols(wrt, "wrt")
    both = set(variables) & set(parameters)
    if both:
        raise ValueError(f"compile: {sorted(map(str, both))} are listed in both wrt and params")
    if not variables:
        raise ValueError("compile: the expression has no variable to differentiate")
    return _Problem(expr, variables, parameters)


def _problem(f, example_args: tuple, wrt, params, names, guards: bool = False) -> _Problem:
    if isinstance(f, sp.Basic):
        if example_args:
            raise TypeError("compile: example arguments are only taken with a callable")
        if guards:
            raise TypeError("compile: guards=True is only taken with a callable (to lift)")
        return _from_expr(f, wrt, params)
    if wrt is not None:
        raise TypeError("compile: wrt is only taken with a SymPy expression")
    if _is_lifted(f):
        if guards:
            raise TypeError(
                "compile: guards=True applies when compile lifts a callable; a Lifted keeps "
                "the guards it was lifted with (symdiff.lift(..., guards=True))"
            )
        lifted, defaults = f, None
    elif callable(f):
        if not example_args:
            raise TypeError("compile: a callable needs example arguments to be lifted")
        from symdiff import lift

        lifted = lift(
            f, *example_args, names=names, params=params or (), guards=guards, mode="scalar"
        )
        # the example values of the parameter arguments are the default p
        defaults = np.asarray(lifted.flat_values(*example_args)[len(lifted.variables) :])
    else:
        raise TypeError(f"compile: cannot compile an object of type {type(f).__name__}")
    if isinstance(lifted.expr, np.ndarray):
        raise ValueError(
            f"compile: the function's output has shape {lifted.expr.shape}; compile needs a "
            "scalar output (sum it, or compile one element at a time)"
        )
    variables, parameters = tuple(lifted.variables), tuple(lifted.parameters)
    frozen = tuple((g.condition, g.taken, g.where) for g in getattr(lifted, "guards", ()) or ())
    return _Problem(lifted.expr, variables, parameters, defaults, lifted, frozen)


def _source(problem: _Problem, target: str, dtype: str, kinds: tuple[str, ...]) -> str:
    """Differentiate and generate the module source (the cold path)."""
    from symdiff.dag import deep_recursion

    with deep_recursion():
        return _generate(problem, target, dtype, kinds)


def _generate(problem: _Problem, target: str, dtype: str, kinds: tuple[str, ...]) -> str:
    from .codegen import KernelSpec, generate
    from .stable import stabilize

    # differentiate the stable forms (softplus, logsumexp, ...), not log(1 + exp(u)) & co.
    # (the lifted form is dropped: its gradient would differentiate the unstable expression)
    problem = replace(problem, expr=stabilize(problem.expr), lifted=None)
    spec = KernelSpec(problem.expr, problem.variables, problem.parameters, dtype=dtype)
    spec.target = target
    if problem.guards:
        spec.guards = list(problem.guards)
    if "grad" in kinds:
        spec.grad = problem.gradient()
    if "hessian" in kinds:
        h = problem.hessian()
        spec.hess_rows = np.asarray(h.rows, dtype=np.int64)
        spec.hess_cols = np.asarray(h.cols, dtype=np.int64)
        spec.hess_values = list(h.values)
    return generate(spec)


def compile(  # noqa: A001 - the verb users expect: bridge.compile(f)
    f: Callable | sp.Expr | Any,
    *example_args: Any,
    target: str = "cpu",
    dtype: Any = "float64",
    derivatives: Sequence[str] = DERIVATIVES,
    wrt: Sequence[sp.Symbol] | None = None,
    params: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    guards: bool = False,
    mode: str = "auto",
) -> Compiled | Any:
    """Compile the value, gradient and Hessian of a scalar function to numba kernels.

    Parameters
    ----------
    f : callable, Lifted or sympy.Expr
        A function of arrays (lifted with ``symdiff.lift(f, *example_args, params=params)``),
        an already lifted computation, or a SymPy expression.
    *example_args
        Example arguments for a callable: they fix shapes (and default parameter values).
    target : {"cpu", "parallel", "cuda"}
        Serial ``njit``, a ``prange`` loop over the points of a batch, or one CUDA thread per
        point.
    dtype : {"float64", "float32"}
        Kernel precision; float32 kernels keep literals and temporaries in float32.
    derivatives : sequence of {"value", "grad", "hessian"}
        What to generate; the value is always available.
    wrt, params : sequence of sympy.Symbol
        For an expression: the variables (default: its other free symbols, sorted) and the
        parameters passed at call time as ``p``. For a callable, ``params`` marks arguments
        (as in ``symdiff.lift``) whose values are passed at call time.
    guards : bool
        For a callable: Python branches on traced values (``if x > 0``) are recorded as
        guards (``symdiff.lift(..., guards=True)``) instead of raising
        ``symdiff.TracerBoolConversionError``. Every call then checks each point against the
        guards first and raises :class:`bridge.GuardError` (naming the guard and the offending
        points) when a point takes another branch. A ``Lifted`` passed in keeps its own guards.

    Returns
    -------
    Compiled
        ``.value(x, p)``, ``.grad``, ``.value_and_grad``, ``.hessian(x, p, sparse=False)``.

    Examples
    --------
    >>> import sympy as sp
    >>> import bridge
    >>> x, y = sp.symbols("x y", real=True)
    >>> c = bridge.compile(x**2 * y + sp.sin(y), wrt=[x, y])
    >>> c.grad([1.0, 0.0]).tolist()
    [0.0, 2.0]
    >>> c.hessian([[1.0, 0.0], [2.0, 0.0]]).shape
    (2, 2, 2)
    """
    target, dtype, kinds = check_options(target, dtype, derivatives)
    if mode not in ("auto", "scalar", "array"):
        raise ValueError(f"compile: unknown mode {mode!r}; choose 'auto', 'scalar' or 'array'")
    if (
        mode == "array"
        or mode == "auto"
        and not _is_sympy(f)
        and _array_mode_fits(f, example_args, target, wrt, names, guards, params)
    ):
        if guards or names is not None or wrt is not None:
            raise TypeError("compile: mode='array' takes neither guards=, names= nor wrt=")
        if _is_sympy(f) or _is_lifted(f) or not callable(f):
            raise TypeError("compile: mode='array' compiles a callable with example arguments")
        from .arrays.compiled import compile_array

        return compile_array(
            f, *example_args, target=target, dtype=dtype, kinds=kinds, params=params
        )
    problem = _problem(f, example_args, wrt, params, names, guards)
    guard_request = problem.guard_request()
    key = problem.key(target, dtype, kinds)
    module = _module(problem, target, dtype, kinds, key)
    return Compiled(
        module,
        expr=problem.expr,
        variables=problem.variables,
        parameters=problem.parameters,
        default_params=problem.defaults,
        guard_request=guard_request,  # the srepr request is made when pickled, if ever
    )


# mode="auto": a floating argument with more elements than this -> array mode. Scalar mode
# stays the default up to here, where its per-element formulas are still cheap to compile
# (and where existing callers use its batch and pickling features).
AUTO_ARRAY_ELEMENTS = 1000


def _array_mode_fits(f, example_args, target, wrt, names, guards, params) -> bool:
    """mode="auto": a callable with large floating arguments that array mode can compile."""
    if not callable(f) or _is_lifted(f) or not example_args:
        return False
    if guards or names is not None or wrt is not None or target not in ("cpu", "parallel"):
        return False
    from .arrays.compiled import _is_float, param_positions

    try:
        positions = param_positions(f, params, len(example_args))
    except ValueError:
        return False
    floats = [i for i, a in enumerate(example_args) if _is_float(a)]
    if 0 not in floats or any(i not in positions for i in floats if i):
        return False
    largest = max(int(np.size(getattr(example_args[i], "data", example_args[i]))) for i in floats)
    return largest > AUTO_ARRAY_ELEMENTS


def _module(
    problem: _Problem | Callable[[], _Problem], target: str, dtype: str, kinds: tuple, key: str
):
    """The kernel module of a request: from the authenticated cache, else generated and cached.

    ``problem`` may be a callable returning the :class:`_Problem`, built only on a miss.
    """
    known = cache.lookup(key)
    module = cache.load_digest(known) if known else None
    if module is None:
        if callable(problem):
            problem = problem()
        source = _source(problem, target, dtype, kinds)
        module = cache.load_source(source)
        cache.record(key, cache.digest(source))
    return module


def rebuild(
    request: tuple[str, str, str],
    target: str,
    dtype: str,
    kinds: tuple[str, ...],
    default_params: np.ndarray | None,
    guard_request: tuple[tuple[str, bool, str], ...] = (),
) -> Compiled:
    """A :class:`Compiled` from a pickled request (see ``Compiled.__reduce__``).

    The request names the expression, variables and parameters as srepr text. The kernel comes
    from the cache's authenticated index when this user compiled the same request before;
    otherwise the text is read with :func:`bridge.safe_srepr.parse_srepr` (never ``eval``) and
    differentiated and generated again. No code travels in the pickle.
    """
    parsed: list[_Problem] = []

    def problem() -> _Problem:
        if not parsed:
            parsed.append(_parse_request(request, guard_request))
        return parsed[0]

    key = request_key(target, dtype, kinds, *request, guard_request)
    module = _module(problem, target, dtype, kinds, key)
    c = Compiled(
        module, default_params=default_params, request=request, guard_request=guard_request
    )
    if (c.target, c.dtype.name, c.derivatives) != (target, dtype, kinds):  # pragma: no cover
        raise RuntimeError("bridge: the cached kernel does not match the pickled request")
    if parsed:
        c._symbolic = (parsed[0].expr, parsed[0].variables, parsed[0].parameters)
    return c


def _parse_request(
    request: tuple[str, str, str], guard_request: tuple[tuple[str, bool, str], ...] = ()
) -> _Problem:
    """The problem named by srepr texts, read without ``eval`` and checked."""
    from .safe_srepr import parse_srepr

    expr_text, variables_text, parameters_text = request
    expr = parse_srepr(expr_text)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"bridge: a pickled Compiled's expression is a {type(expr).__name__}")
    variables = _symbols(_tuple(parse_srepr(variables_text)), "wrt")
    parameters = _symbols(_tuple(parse_srepr(parameters_text)), "params")
    if not variables or set(variables) & set(parameters):
        raise ValueError("bridge: a pickled Compiled names invalid variables/parameters")
    guards = []
    for text, taken, where in guard_request:
        condition = parse_srepr(text)
        if not isinstance(condition, sp.Basic) or isinstance(condition, sp.Expr):
            raise TypeError("bridge: a pickled Compiled's guard is not a condition")
        guards.append((condition, taken, where))
    return _Problem(expr, variables, parameters, guards=tuple(guards))


def _tuple(value) -> tuple:
    if not isinstance(value, tuple):
        raise TypeError(f"bridge: expected a tuple of symbols, got {type(value).__name__}")
    return value

"""The result of :func:`symdiff.lift`: symbols, the output expression and its derivatives."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from . import calculus
from .errors import GuardError
from .hessian import SparseHessian


class Guard:
    """One Python branch frozen by ``lift(..., guards=True)``: a condition and the branch taken.

    Attributes
    ----------
    condition : sympy Boolean
        The traced condition, lifted symbolically (``x > 0``; ``Ne(e, 0)`` for ``bool(e)``).
    taken : bool
        Its value at the example point: the branch the lifted expression is valid for.
    where : str
        ``file.py:line`` of the Python statement that branched (empty when unknown).
    """

    __slots__ = ("condition", "taken", "where", "_fn")

    def __init__(self, condition: sp.Basic, taken: bool, where: str = ""):
        self.condition = condition
        self.taken = bool(taken)
        self.where = where
        self._fn = None

    @property
    def expr(self) -> sp.Basic:
        """The condition that must hold: ``condition`` or its negation."""
        return self.condition if self.taken else sp.Not(self.condition)

    def __repr__(self) -> str:
        return f"Guard({self.condition}, taken={self.taken})"

    def __str__(self) -> str:
        text = f"{self.condition}" if self.taken else f"not ({self.condition})"
        return text + (f" [{self.where}]" if self.where else "")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Guard):
            return NotImplemented
        return self.condition == other.condition and self.taken == other.taken

    def __hash__(self) -> int:
        return hash((self.condition, self.taken))

    def holds(self, symbols, values) -> bool:
        """Whether a point (``values`` of ``symbols``) takes the recorded branch.

        Evaluated in floating point like the eager function: a NaN comparison is False.
        """
        if self._fn is None:
            from .numeric import numpy_function

            self._fn = numpy_function(list(symbols), self.condition)
        with np.errstate(all="ignore"):
            return bool(self._fn(*[float(v) for v in values])) == self.taken


class Lifted:
    """A traced computation as SymPy expressions over named symbols.

    Attributes
    ----------
    variables : tuple of Symbol
        The differentiated symbols, flat: arguments in order, C order within an array.
    parameters : tuple of Symbol
        Symbols of the arguments named in ``params`` (symbolic, not differentiated).
    output : Expr or object ndarray
        The output: one expression for a scalar output, else an object array.
    symbols : dict
        Per argument name, its Symbol or object array of element symbols.
    arg_shapes : dict
        Per argument name, its shape (``()`` for scalars).
    guards : tuple of Guard
        Python branches recorded by ``lift(..., guards=True)``; the expressions hold only where
        every guard holds. Empty without ``guards=True`` (a traced branch raises instead).
    """

    def __init__(
        self, output, variables, parameters, symbols, arg_shapes, arg_names=None, guards=()
    ):
        self.output = output
        self.arg_names: tuple[str, ...] = tuple(arg_names or arg_shapes)
        self.variables: tuple[sp.Symbol, ...] = tuple(variables)
        self.parameters: tuple[sp.Symbol, ...] = tuple(parameters)
        self.symbols: dict[str, Any] = dict(symbols)
        self.arg_shapes: dict[str, tuple] = dict(arg_shapes)
        self.guards: tuple[Guard, ...] = tuple(guards)

    @property
    def expr(self):
        """The output expression (the same object as ``output``)."""
        return self.output

    @property
    def is_scalar(self) -> bool:
        """True when the traced function returned a scalar."""
        return not isinstance(self.output, np.ndarray)

    def __repr__(self) -> str:
        shape = "scalar" if self.is_scalar else f"shape {self.output.shape}"
        guards = f", {len(self.guards)} guard(s)" if self.guards else ""
        return (
            f"Lifted({shape} output, {len(self.variables)} variable(s), "
            f"{len(self.parameters)} parameter(s){guards})"
        )

    def _repr_latex_(self) -> str:
        from .display import latex_lifted

        return latex_lifted(self)

    def _scalar(self, who: str) -> sp.Expr:
        if not self.is_scalar:
            raise ValueError(
                f"Lifted.{who}: the output has shape {self.output.shape}; {who} needs a scalar "
                "output (use jacobian() for array outputs)"
            )
        return self.output

    def gradient(self, simplify: str = "none", budget: float | None = None) -> list[sp.Expr]:
        """First partials of the scalar output, in ``variables`` order."""
        return calculus.gradient(self._scalar("gradient"), self.variables, simplify, budget)

    def jacobian(self, simplify: str = "none", budget: float | None = None) -> sp.Matrix:
        """Jacobian: one row per output element (C order), one column per variable."""
        out = self.output if not self.is_scalar else [self.output]
        return calculus.jacobian(out, self.variables, simplify, budget)

    def hessian(self, simplify: str = "none", budget: float | None = None) -> SparseHessian:
        """Sparse Hessian of the scalar output over ``variables``."""
        return calculus.hessian(self._scalar("hessian"), self.variables, simplify, budget)

    def symbol(self, name: Any) -> sp.Symbol:
        """The variable or parameter called ``name`` (a Symbol passes through)."""
        if isinstance(name, sp.Symbol):
            return name
        for s in self.variables + self.parameters:
            if s.name == str(name):
                return s
        raise KeyError(f"Lifted: no symbol named {name!r}; variables are {self.variables[:8]}")

    def derivative(self, *wrt: Any, simplify: str = "none"):
        """Mixed partial of any order; ``wrt`` holds symbols or names, counts allowed."""
        items = [w if isinstance(w, int | tuple) else self.symbol(w) for w in wrt]
        if self.is_scalar:
            return calculus.derivative(self.output, *items, simplify=simplify)
        fn = np.frompyfunc(lambda e: calculus.derivative(e, *items, simplify=simplify), 1, 1)
        return np.asarray(fn(self.output), dtype=object)

    def cse(self, **kwargs):
        """Common subexpressions of the output: ``(replacements, reduced)``."""
        exprs = [self.output] if self.is_scalar else self.output.ravel().tolist()
        return sp.cse(exprs, **kwargs)

    def flat_values(self, *args: Any) -> list[float]:
        """Numeric values of ``all_symbols`` for the arguments ``args`` of the traced call.

        ``args`` holds either every argument of the call or only the lifted ones. Raises
        :class:`~symdiff.GuardError` when a recorded guard does not hold at the point.
        """
        lifted = list(self.arg_shapes)
        if len(args) == len(self.arg_names) and len(args) != len(lifted):
            args = tuple(a for n, a in zip(self.arg_names, args) if n in self.arg_shapes)
        if len(args) != len(lifted):
            raise ValueError(
                f"Lifted: expected values for the lifted argument(s) {lifted}, "
                f"got {len(args)} value(s)"
            )
        lookup: dict[sp.Symbol, float] = {}
        for name, value in zip(lifted, args):
            arr = np.asarray(getattr(value, "data", value), dtype=float)
            if arr.shape != self.arg_shapes[name]:
                raise ValueError(
                    f"Lifted: argument {name!r} has shape {arr.shape}, traced with "
                    f"{self.arg_shapes[name]}"
                )
            s = self.symbols[name]
            flat = s.ravel().tolist() if isinstance(s, np.ndarray) else [s]
            lookup.update(zip(flat, arr.ravel().tolist()))
        values = [lookup[s] for s in self.all_symbols]
        self._check_guards(values)
        return values

    def _check_guards(self, values: list[float]) -> None:
        for guard in self.guards:
            if not guard.holds(self.all_symbols, values):
                point = ", ".join(
                    f"{s}={v!r}"
                    for s, v in zip(self.all_symbols, values)
                    if s in guard.condition.free_symbols
                )
                raise GuardError(
                    f"Lifted: guard `{guard}` does not hold at {point}: the function was "
                    f"traced where `{guard.condition}` is {guard.taken}, so its lifted "
                    "expressions are not valid at this point (write the branch with ad.where "
                    "to lift both sides)"
                )

    def check_guards(self, *args: Any) -> None:
        """Raise :class:`~symdiff.GuardError` unless ``args`` take the traced branches.

        ``args`` are the arguments of the traced call, as for :meth:`flat_values`.
        """
        self.flat_values(*args)

    def evaluate(self, *args: Any):
        """The output's numeric value at ``args`` (guards checked), a float or an ndarray.

        Examples
        --------
        >>> import autodiff as ad, symdiff
        >>> symdiff.lift(lambda x, y: ad.sin(x) * y, 1.0, 2.0).evaluate(0.0, 3.0)
        0.0
        """
        from .numeric import evaluate

        values = self.flat_values(*args)
        exprs = [self.output] if self.is_scalar else self.output.ravel().tolist()
        out = evaluate(exprs, self.all_symbols, values)
        return float(out[0]) if self.is_scalar else out.reshape(self.output.shape)

    @property
    def all_symbols(self) -> tuple[sp.Symbol, ...]:
        """``variables + parameters``."""
        return self.variables + self.parameters

    def subs_values(self, *args: Any) -> dict[sp.Symbol, float]:
        """A substitution dict ``{symbol: value}`` for the lifted arguments ``args``.

        Raises :class:`~symdiff.GuardError` when the point takes another branch than the traced
        one (see ``guards``).
        """
        return dict(zip(self.all_symbols, self.flat_values(*args)))

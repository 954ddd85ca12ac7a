"""The result of :func:`symdiff.lift`: symbols, the output expression and its derivatives."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from . import calculus
from .hessian import SparseHessian


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
    """

    def __init__(self, output, variables, parameters, symbols, arg_shapes, arg_names=None):
        self.output = output
        self.arg_names: tuple[str, ...] = tuple(arg_names or arg_shapes)
        self.variables: tuple[sp.Symbol, ...] = tuple(variables)
        self.parameters: tuple[sp.Symbol, ...] = tuple(parameters)
        self.symbols: dict[str, Any] = dict(symbols)
        self.arg_shapes: dict[str, tuple] = dict(arg_shapes)

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
        return (
            f"Lifted({shape} output, {len(self.variables)} variable(s), "
            f"{len(self.parameters)} parameter(s))"
        )

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

        ``args`` holds either every argument of the call or only the lifted ones.
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
        return [lookup[s] for s in self.all_symbols]

    @property
    def all_symbols(self) -> tuple[sp.Symbol, ...]:
        """``variables + parameters``."""
        return self.variables + self.parameters

    def subs_values(self, *args: Any) -> dict[sp.Symbol, float]:
        """A substitution dict ``{symbol: value}`` for the lifted arguments ``args``."""
        return dict(zip(self.all_symbols, self.flat_values(*args)))

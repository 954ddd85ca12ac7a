"""``hybriddiff formula``: print simplified derivatives of an expression given as text."""

from __future__ import annotations

import argparse
import sys

import sympy as sp

from .formula import formula, label_latex, label_pretty, label_text
from .parse import parse_expression
from .simplify import LEVELS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hybriddiff formula",
        description="Derivatives of an expression, simplified and printed readably.",
        epilog='example: hybriddiff formula "log(1 + exp(x*y))*sin(x)**2/(1 + y**2)" '
        "--wrt x y --order 2",
    )
    p.add_argument("expression", help="e.g. 'sigmoid(w*x + b)' (SymPy syntax, ** for powers)")
    p.add_argument("--wrt", nargs="+", metavar="VAR", help="variables (default: all)")
    p.add_argument("--order", type=int, default=1, help="derivative order (default 1)")
    style = p.add_mutually_exclusive_group()
    style.add_argument("--latex", action="store_true", help="print LaTeX")
    style.add_argument("--pretty", action="store_true", help="print with SymPy's unicode art")
    p.add_argument("--simplify", choices=LEVELS, default="fast", help="default: fast")
    p.add_argument("--budget", type=float, default=None, help="seconds for --simplify full")
    return p


def formula_cli(argv: list[str] | None = None) -> int:
    """Entry point of ``hybriddiff formula``; returns the exit status.

    Examples
    --------
    >>> formula_cli(["x**3", "--order", "2"])
    d2f/dx2 = 6*x
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) > 1 and argv[0] == "formula":
        argv = argv[1:]
    args = _parser().parse_args(argv)
    try:
        expr, symbols = parse_expression(args.expression)
        result = formula(
            expr,
            wrt=args.wrt or symbols,
            order=args.order,
            simplify=args.simplify,
            budget=args.budget,
        )
    except ValueError as exc:
        print(f"hybriddiff formula: error: {exc}", file=sys.stderr)
        return 2
    for wrt, e in result.entries:
        if args.latex:
            print(f"{label_latex(wrt)} = {sp.latex(e)}")
        elif args.pretty:
            print(f"{label_pretty(wrt)} =")
            print(sp.pretty(e, use_unicode=True))
            print()
        else:
            print(f"{label_text(wrt)} = {e}")
    return 0

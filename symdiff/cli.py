"""``hybriddiff formula``: print simplified derivatives of an expression given as text."""

from __future__ import annotations

import argparse
import math
import shutil
import signal
import sys
from contextlib import contextmanager

from . import display
from .errors import LiftError
from .formula import formula, label_latex, label_pretty
from .parse import parse_expression
from .simplify import LEVELS

MAX_ORDER = 8
"""Default ``--max-order``: the highest derivative order computed without the override."""
MAX_ENTRIES = 5_000
"""Default ``--max-entries``: most distinct partials (``C(n + order - 1, order)``) printed."""
TIMEOUT = 20.0
"""Default ``--timeout``: seconds of wall-clock time for the whole command."""


class CommandTimeout(Exception):
    """The ``--timeout`` budget of ``hybriddiff formula`` ran out."""


@contextmanager
def _time_limit(seconds: float):
    """Raise :class:`CommandTimeout` in the main thread after ``seconds`` (Unix only)."""
    usable = seconds > 0 and hasattr(signal, "setitimer")
    if usable:
        try:
            old = signal.signal(signal.SIGALRM, _on_alarm)
        except ValueError:  # not the main thread: run without a wall-clock limit
            usable = False
    if usable:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _on_alarm(signum, frame):
    raise CommandTimeout()


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
    p.add_argument(
        "--shapes",
        nargs="+",
        metavar="NAME=DIMS",
        help="array expression in matrix notation: X=m,n w=n y=m (letters are size names, "
        "unlisted names scalars); prints the gradient/Hessian as matrix calculus (default "
        "--wrt: the arrays; the vectors for --order 2)",
    )
    style = p.add_mutually_exclusive_group()
    style.add_argument("--latex", action="store_true", help="print LaTeX")
    style.add_argument("--pretty", action="store_true", help="print with SymPy's unicode art")
    p.add_argument("--simplify", choices=LEVELS, default="fast", help="default: fast")
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="wall-time seconds for --simplify full; the best form found so far is printed",
    )
    p.add_argument(
        "--max-order", type=int, default=MAX_ORDER, help=f"largest --order (default {MAX_ORDER})"
    )
    p.add_argument(
        "--max-entries",
        type=int,
        default=MAX_ENTRIES,
        help=f"most distinct partials to compute (default {MAX_ENTRIES})",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help=f"seconds for the whole command, 0 for none (default {TIMEOUT:g})",
    )
    return p


def _check_work(args, n_vars: int) -> None:
    """Reject an order or a number of partials beyond the limits, naming the override flag."""
    if args.order < 0:
        raise ValueError(f"--order must be non-negative, got {args.order}")
    if args.order > args.max_order:
        raise ValueError(
            f"--order {args.order} is above the limit of {args.max_order}; pass --max-order "
            "to raise it"
        )
    entries = math.comb(n_vars + args.order - 1, args.order) if n_vars else 1
    if entries > args.max_entries:
        raise ValueError(
            f"order {args.order} in {n_vars} variables has {entries} distinct partials, above "
            f"the limit of {args.max_entries}; pass --max-entries to raise it"
        )


def formula_cli(argv: list[str] | None = None) -> int:
    """Entry point of ``hybriddiff formula``; returns the exit status.

    Examples
    --------
    >>> formula_cli(["x**3", "--order", "2"])
    d2f/dx2 = 6*x
    0
    >>> formula_cli(["sum((A @ x - b) ** 2)", "--wrt", "x", "--shapes", "A=m,n", "x=n", "b=m"])
    ∂f/∂x = 2Aᵀ(Ax − b)
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) > 1 and argv[0] == "formula":
        argv = argv[1:]
    args = _parser().parse_args(_expression_last(argv))
    try:
        with _time_limit(args.timeout):
            for line in _lines(args):
                print(line)
    except CommandTimeout:
        print(
            f"hybriddiff formula: error: the command took longer than --timeout "
            f"{args.timeout:g} s; pass a larger --timeout (0 for none) or a lower --order",
            file=sys.stderr,
        )
        return 2
    except (ValueError, LiftError, OverflowError, ZeroDivisionError) as exc:
        print(f"hybriddiff formula: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except RecursionError:
        print("hybriddiff formula: error: the expression is nested too deeply", file=sys.stderr)
        return 2
    except MemoryError:
        print("hybriddiff formula: error: out of memory for this expression", file=sys.stderr)
        return 2
    return 0


_VALUE_OPTIONS = {"--order", "--simplify", "--budget", "--max-order", "--max-entries", "--timeout"}


def _expression_last(argv: list[str]) -> list[str]:
    """Let an expression start with a minus: ``"-exp(-k*r)/r"`` is not an option.

    The first argument that starts with a single ``-``, is not ``-h`` and is not the value of
    an option is moved behind ``--``, where argparse reads it as the positional expression.
    """
    out, after_value_option = [], False
    for i, arg in enumerate(argv):
        if arg == "--":
            return argv
        is_expr = arg.startswith("-") and not arg.startswith("--") and arg not in ("-h",)
        if is_expr and not after_value_option:
            return out + argv[i + 1 :] + ["--", arg]
        out.append(arg)
        after_value_option = arg in _VALUE_OPTIONS
    return argv


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _lines(args, stream=None) -> list[str]:
    """Parse, differentiate and format; every line is built before any is printed.

    ``--pretty`` output that ``stream`` (default stdout) cannot encode is printed as plain
    text instead, with a note on stderr; on a terminal, an entry whose 2-D form is wider than
    the terminal is printed as text (which the terminal wraps readably). ``--shapes`` reads
    the expression as array code and prints matrix calculus.
    """
    if args.shapes:
        return _matrix_lines(args)
    stream = sys.stdout if stream is None else stream
    expr, symbols = parse_expression(args.expression)
    if not symbols and not args.wrt:
        raise ValueError(
            f"{args.expression.strip()!r} is the constant {expr} - it has no variables, so every "
            "derivative is 0; write an expression in at least one variable (e.g. 'pi*x')"
        )
    _check_work(args, len(args.wrt) if args.wrt else len(symbols))
    result = formula(
        expr,
        wrt=args.wrt or symbols,
        order=args.order,
        simplify=args.simplify,
        budget=args.budget,
    )
    if args.latex:
        return [result.latex()] if result.subexpressions else _each(result, "latex")
    if args.pretty:
        lines = _pretty_lines(result, stream)
        if lines is not None:
            return lines
    return result.lines()


def _terminal_columns() -> int:
    return shutil.get_terminal_size().columns


def _pretty_lines(result, stream) -> list[str] | None:
    """The ``--pretty`` lines, or None when ``stream`` cannot show them (then plain text)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    tty = bool(getattr(stream, "isatty", None) and stream.isatty())
    columns = _terminal_columns() if tty else None
    out: list[str] = []
    named = [(display.symbol_pretty(s), e) for s, e in result.subexpressions]
    labelled = named + [(label_pretty(w), e) for w, e in result.entries]
    for label, e in labelled:
        body = display.pretty(result._shown(e), wrap_line=False)
        if columns and max(len(line) for line in body.splitlines()) + 2 > columns:
            body = display.text(result._shown(e))  # one long line wraps readably
        out += [f"{label} =", body, ""] if "\n" in body else [f"{label} = {body}", ""]
    text = "\n".join(out)
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        print(
            f"hybriddiff formula: note: the output encoding ({encoding}) cannot show --pretty "
            "output; printing plain text",
            file=sys.stderr,
        )
        return None
    return out[:-1] if out and out[-1] == "" else out


def _each(result, style: str) -> list[str]:
    out = []
    for wrt, e in result.entries:
        if style == "latex":
            out.append(f"{label_latex(wrt)} = {display.latex(result._shown(e))}")
        else:
            out += [f"{label_pretty(wrt)} =", display.pretty(result._shown(e)), ""]
    return out


def _matrix_lines(args) -> list[str]:
    """``--shapes``: the expression as array code, derivatives printed as matrix calculus."""
    from .array_expr import array_function, example_arrays, parse_shapes
    from .lift import lift
    from .matrix_formula import matrix_formula

    fn, names = array_function(args.expression)
    sizes: dict[str, int] = {}
    shapes = parse_shapes(args.shapes, names, sizes)
    arrays = [n for n in names if shapes[n]]
    if args.order >= 2:  # a Hessian in matrix form is w.r.t. vectors (and scalars)
        arrays = [n for n in arrays if len(shapes[n]) == 1]
    wrt = args.wrt or arrays or names
    _check_work(args, len(wrt))
    program = lift(fn, *example_arrays(shapes), mode="array", names=names)
    dims = {n: letter for letter, n in sizes.items()}
    result = matrix_formula(program, wrt=wrt, order=args.order, dims=dims)
    if args.latex:
        return [result.latex()]
    return result.lines(labels=True)

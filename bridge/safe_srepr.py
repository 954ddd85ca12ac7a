"""Rebuild SymPy objects from ``sympy.srepr`` text without ``eval``.

``sympify``/``parse_expr`` evaluate Python code, so a pickled :class:`~bridge.Compiled` (which
carries its expression as srepr text) could run anything through them. :func:`parse_srepr`
reads the small grammar srepr writes instead: calls of SymPy classes (and the named functions
of :mod:`symdiff.functions`), bare SymPy singletons (``pi``, ``oo``, ``true``...), integers,
tuples and lists. Strings are accepted only where srepr writes them (the name of a ``Symbol``
or ``Dummy``, the digits of a ``Float``) and keyword arguments only on those classes, because
other SymPy constructors would hand a string to ``sympify``. The parser keeps its own stack,
so deep expressions do not hit Python's nesting limits.
"""

from __future__ import annotations

import ast
import functools
import re
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>[0-9]+)"
    r"|(?P<str>'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")|(?P<op>[()\[\],=-]))"
)
_NAMED_STRING = ("Symbol", "Dummy")  # srepr: Symbol('x', real=True), Dummy('x', dummy_index=3)
_KEYWORDS = {"Symbol": (bool,), "Dummy": (bool, int), "Float": (int,)}


class SreprError(ValueError):
    """Text that is not a SymPy srepr this parser accepts."""


@functools.cache
def _namespace() -> tuple[dict[str, type], dict[str, Any]]:
    """(classes that may be called, singletons that may be named)."""
    import sympy as sp
    from sympy.codegen import cfunctions
    from sympy.core import numbers, relational
    from sympy.functions.elementary import piecewise
    from sympy.logic import boolalg

    from symdiff import functions

    classes: dict[str, type] = {}
    singletons: dict[str, Any] = {}
    for module in (sp, numbers, relational, boolalg, piecewise, cfunctions, functions):
        space = vars(module)
        for name, obj in space.items():
            if isinstance(obj, type) and issubclass(obj, sp.Basic):
                classes.setdefault(name, obj)
            elif isinstance(obj, sp.Basic) and not name.startswith("_"):
                singletons.setdefault(name, obj)
    return classes, singletons


def _tokens(text: str):
    pos, end = 0, len(text)
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                return
            raise SreprError(f"unexpected text at offset {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        yield kind, m.group(kind)


def _construct(name: str, cls: type, args: list, kwargs: dict) -> Any:
    import sympy as sp

    allowed = _KEYWORDS.get(name, ())
    for key, value in kwargs.items():
        if type(value) not in allowed or (name == "Float" and key != "precision"):
            raise SreprError(f"{name}: keyword {key}={value!r} is not accepted")
    for i, arg in enumerate(args):
        if isinstance(arg, str):
            if not (i == 0 and (name in _NAMED_STRING or name == "Float")):
                raise SreprError(f"{name}: a string argument is accepted only as a symbol name")
        elif not _plain(arg, sp.Basic):
            raise SreprError(f"{name}: argument {arg!r} is not a SymPy object or an integer")
    if name in _NAMED_STRING and (len(args) != 1 or not isinstance(args[0], str)):
        raise SreprError(f"{name}: expected one name string")
    if name == "Float" and (len(args) != 1 or type(args[0]) not in (str, int)):
        raise SreprError("Float: expected its digits as one string")
    try:
        return cls(*args, **kwargs)
    except SreprError:
        raise
    except Exception as exc:
        raise SreprError(f"{name}{tuple(args)!r}: {type(exc).__name__}: {exc}") from None


def _plain(value, basic: type) -> bool:
    if isinstance(value, tuple | list):
        return all(_plain(v, basic) for v in value)
    return isinstance(value, basic) or type(value) is int


def parse_srepr(text: str) -> Any:
    """The SymPy object (or tuple of them) that ``sympy.srepr`` printed as ``text``.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x", positive=True)
    >>> e = sp.sin(x) ** 2 + sp.Rational(1, 3) * sp.pi
    >>> parse_srepr(sp.srepr(e)) == e
    True
    >>> parse_srepr("__import__('os')")
    Traceback (most recent call last):
    ...
    bridge.safe_srepr.SreprError: '__import__' is not a SymPy class
    """
    if not isinstance(text, str):
        raise SreprError(f"expected srepr text, got {type(text).__name__}")
    classes, singletons = _namespace()
    # frames: [kind, name, cls, args, kwargs, pending keyword, just had a value]
    stack: list[list] = []
    result: list = []
    toks = list(_tokens(text))
    i = 0

    def emit(value):
        if not stack:
            if result:
                raise SreprError("more than one top-level value")
            result.append(value)
            return
        frame = stack[-1]
        if frame[6]:
            raise SreprError("missing comma between arguments")
        if frame[5] is not None:
            if frame[5] in frame[4]:
                raise SreprError(f"keyword {frame[5]} given twice")
            frame[4][frame[5]] = value
            frame[5] = None
        elif frame[4]:
            raise SreprError("positional argument after a keyword argument")
        else:
            frame[3].append(value)
        frame[6] = True

    while i < len(toks):
        kind, tok = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        i += 1
        if kind == "name":
            if nxt == "(":
                if tok not in classes:
                    raise SreprError(f"{tok!r} is not a SymPy class")
                stack.append(["call", tok, classes[tok], [], {}, None, False])
                i += 1
            elif nxt == "=":
                if not stack or stack[-1][0] != "call" or stack[-1][6] or stack[-1][5]:
                    raise SreprError(f"unexpected keyword {tok}=")
                stack[-1][5] = tok
                i += 1
            elif tok in ("True", "False"):
                emit(tok == "True")
            elif tok in singletons:
                emit(singletons[tok])
            else:
                raise SreprError(f"unknown name {tok!r}")
        elif kind == "num":
            emit(int(tok))
        elif kind == "str":
            emit(ast.literal_eval(tok))
        elif tok == "-":
            if i >= len(toks) or toks[i][0] != "num":
                raise SreprError("'-' must precede an integer")
            emit(-int(toks[i][1]))
            i += 1
        elif tok in "([":
            stack.append(["tuple" if tok == "(" else "list", None, None, [], {}, None, False])
        elif tok == ",":
            if not stack or not stack[-1][6]:
                raise SreprError("unexpected comma")
            stack[-1][6] = False
        else:  # ")" or "]"
            if not stack or stack[-1][5] is not None:
                raise SreprError(f"unbalanced {tok!r}")
            frame = stack.pop()
            if (frame[0] == "list") != (tok == "]"):
                raise SreprError(f"mismatched {tok!r}")
            if frame[0] == "call":
                emit(_construct(frame[1], frame[2], frame[3], frame[4]))
            elif frame[0] == "tuple":
                if len(frame[3]) == 1 and not (i >= 2 and toks[i - 2][1] == ","):
                    raise SreprError("parenthesised value without a tuple comma")
                emit(tuple(frame[3]))
            else:
                emit(list(frame[3]))
    if stack or not result:
        raise SreprError("incomplete srepr text")
    return result[0]


_DAG_NODE = re.compile(r"(?P<module>[A-Za-z_][\w.]*)\.(?P<name>[A-Za-z_]\w*)\((?P<kids>[0-9,]*)\)")
DAG_HEADER = "dag1"
MAX_DAG_LINES = 10_000_000


def parse_dag(text: str) -> Any:
    """The SymPy expression that :func:`bridge.api.expression_key` wrote as ``text``.

    That text (``symdiff.dag.serialize`` after a ``dag1`` header) has one line per unique
    node in post-order: an atom as srepr (read by :func:`parse_srepr`), any other node as
    ``module.Class(i,j,...)`` over the indices of earlier lines, then ``roots k``. It is the
    linear form of an expression with shared subexpressions, where srepr text is
    exponential. Only the classes :func:`parse_srepr` may call are called, and only with
    already-built SymPy objects as arguments; each must live in the module the line names.

    Examples
    --------
    >>> import sympy as sp
    >>> from bridge.api import expression_key
    >>> x = sp.Symbol("x")
    >>> y = x
    >>> for _ in range(50):
    ...     y = sp.sin(y) * y + x
    >>> text = expression_key(y)
    >>> expression_key(parse_dag(text)) == text  # (y == ... would compare two DAGs as trees)
    True
    >>> parse_dag("dag1\\nos.system(0)\\nroots 0")
    Traceback (most recent call last):
    ...
    bridge.safe_srepr.SreprError: line 1: 'os.system' is not a SymPy class
    """
    if not isinstance(text, str):
        raise SreprError(f"expected DAG text, got {type(text).__name__}")
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != DAG_HEADER or not lines[-1].startswith("roots "):
        raise SreprError(f"not a {DAG_HEADER} expression text (header, nodes, roots)")
    if len(lines) > MAX_DAG_LINES:
        raise SreprError(f"DAG text of {len(lines)} lines exceeds {MAX_DAG_LINES}")
    from symdiff.dag import deep_recursion, fresh_constructor_cache

    classes, _ = _namespace()
    fresh_constructor_cache()  # see its docstring: equal copies in SymPy's cache compare as trees
    with deep_recursion():
        return _build_dag(lines, classes)


def _build_dag(lines: list[str], classes: dict[str, type]) -> Any:
    nodes: list = []
    for number, line in enumerate(lines[1:-1], start=1):
        m = _DAG_NODE.fullmatch(line)
        if m is None:
            nodes.append(parse_srepr(line))
            continue
        module, name = m.group("module"), m.group("name")
        cls = classes.get(name)
        if cls is None or cls.__module__ != module:
            raise SreprError(f"line {number}: {module + '.' + name!r} is not a SymPy class")
        try:
            args = [nodes[int(k)] for k in m.group("kids").split(",") if k]
        except (IndexError, ValueError):
            raise SreprError(f"line {number}: arguments must name earlier lines") from None
        try:
            nodes.append(cls(*args))
        except Exception as exc:  # no repr of args: they may be deep
            raise SreprError(f"line {number}: {name}: {type(exc).__name__}") from None
    roots = lines[-1][len("roots ") :].split(",")
    try:
        values = [nodes[int(k)] for k in roots]
    except (IndexError, ValueError):
        raise SreprError("roots must name node lines") from None
    if len(values) != 1:
        raise SreprError(f"expected one root, got {len(values)}")
    return values[0]

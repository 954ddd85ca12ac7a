"""Linear-time passes over SymPy expressions that are DAGs (shared subexpressions).

A lifted computation such as ``y = sin(y) * y + x`` repeated ``N`` times is a DAG of ``O(N)``
unique nodes whose *tree* has ``O(2**N)`` nodes. SymPy's own walks (``free_symbols``, ``has``,
``srepr``, ``xreplace``, ``count_ops``, printing) visit the tree: exponential time, and deep
Python recursion. The helpers here visit every unique node once (memoised by node, explicit
stacks instead of recursion), so their cost is linear in the DAG size.

Examples
--------
>>> import sympy as sp
>>> from symdiff.dag import dag_size, tree_size, free_symbols
>>> x = sp.Symbol("x")
>>> y = x
>>> for _ in range(40):
...     y = sp.sin(y) * y + x
>>> dag_size([y]) < 200, tree_size(y, limit=10**6) > 10**6
(True, True)
>>> free_symbols(y) == {x}
True
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager

import sympy as sp

_DEFAULT_FREE = sp.Basic.__dict__["free_symbols"]
_OWN_FREE: dict[type, bool] = {}


def _own_free_symbols(cls: type) -> bool:
    """True when ``cls`` defines its own ``free_symbols`` (bound variables, Symbol...)."""
    own = _OWN_FREE.get(cls)
    if own is None:
        found = next(
            (k.__dict__["free_symbols"] for k in cls.__mro__ if "free_symbols" in k.__dict__), None
        )
        own = _OWN_FREE[cls] = found is not _DEFAULT_FREE
    return own


DEEP_RECURSION = 50_000
"""Recursion limit inside :func:`deep_recursion`: SymPy's own constructors compare and hash
arguments recursively, about three Python frames per level of a deep expression."""


@contextmanager
def deep_recursion(limit: int = DEEP_RECURSION) -> Iterator[None]:
    """Raise Python's recursion limit to at least ``limit`` inside the block (then restore it).

    Our passes are iterative, but SymPy builds ``Add``/``Mul`` by sorting their arguments with
    a recursive ``compare``: a 1,000-step chain ``y = sin(y) * y + x`` is a few thousand levels
    deep. Usable as a decorator.
    """
    old = sys.getrecursionlimit()
    if old < limit:
        sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        if sys.getrecursionlimit() != old:
            sys.setrecursionlimit(old)


@deep_recursion()
def postorder(exprs: Iterable[sp.Basic], skip: Container = ()) -> list[sp.Basic]:
    """The unique nodes of ``exprs``, every node after its arguments (iterative).

    Nodes in ``skip`` (and everything below them) are left out.
    """
    seen: set = set()
    order: list[sp.Basic] = []
    for root in exprs:
        if not isinstance(root, sp.Basic) or root in seen or root in skip:
            continue
        stack: list[tuple[sp.Basic, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args) if a not in seen and a not in skip)
    return order


def dag_size(exprs: Iterable[sp.Basic]) -> int:
    """Number of unique nodes of ``exprs`` (the size a DAG-aware pass works on)."""
    return len(postorder(exprs))


@deep_recursion()
def tree_size(expr: sp.Basic, limit: int, memo: dict | None = None) -> int:
    """Number of nodes of ``expr`` as a tree (what printing visits), saturating at ``limit + 1``.

    Linear in the DAG size, where ``sympy.preorder_traversal`` would be linear in the tree.
    ``memo`` may be shared by calls with the same ``limit``.
    """
    if not isinstance(expr, sp.Basic):
        return 1
    cap = int(limit) + 1
    size = {} if memo is None else memo
    if expr not in size:
        for node in postorder([expr], size):
            size[node] = min(cap, 1 + sum(size[a] for a in node.args))
    return size[expr]


@deep_recursion()
def free_symbols(expr: sp.Basic, memo: dict | None = None) -> frozenset:
    """``expr.free_symbols`` in time linear in the DAG size; ``memo`` may be shared by calls.

    Nodes with their own notion of bound symbols (``Integral``, ``Derivative``, ``Lambda``...)
    ask SymPy for theirs.
    """
    if not isinstance(expr, sp.Basic):
        return frozenset()
    memo = {} if memo is None else memo
    if expr in memo:
        return memo[expr]
    empty: frozenset = frozenset()
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if _own_free_symbols(type(node)):
            memo[node] = frozenset(node.free_symbols)
            continue
        if not node.args:
            memo[node] = empty
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in memo)
            continue
        sets = [memo[a] for a in node.args]
        found = [s for s in sets if s]
        if not found:
            memo[node] = empty
        elif len(found) == 1:
            memo[node] = found[0]
        else:
            memo[node] = frozenset().union(*found)
    return memo[expr]


@deep_recursion()
def has_any(expr: sp.Basic, types: tuple, memo: dict | None = None) -> bool:
    """True when ``expr`` holds a node of one of ``types`` (``expr.has(*types)``, linear)."""
    if not isinstance(expr, sp.Basic):
        return False
    memo = {} if memo is None else memo
    for node in postorder([expr]) if expr not in memo else ():
        if node not in memo:
            memo[node] = isinstance(node, types) or any(memo[a] for a in node.args)
    return memo[expr]


@deep_recursion()
def rebuild(
    expr: sp.Basic, visit: Callable[[sp.Basic], sp.Basic], memo: dict | None = None
) -> sp.Basic:
    """Bottom-up rewrite: ``visit(node with rewritten args)`` for every unique node, once."""
    if not isinstance(expr, sp.Basic):
        return expr
    memo = {} if memo is None else memo
    for node in postorder([expr]) if expr not in memo else ():
        if node in memo:
            continue
        if node.args:
            args = [memo[a] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            node_now = node if same else node.func(*args)
        else:
            node_now = node
        memo[node] = visit(node_now)
    return memo[expr]


@deep_recursion()
def xreplace(expr: sp.Basic, mapping: dict, memo: dict | None = None) -> sp.Basic:
    """``expr.xreplace(mapping)`` in time linear in the DAG size (no recursion)."""
    if not mapping or not isinstance(expr, sp.Basic):
        return expr
    memo = {} if memo is None else memo
    for node in postorder([expr]) if expr not in memo else ():
        if node in memo:
            continue
        if node in mapping:
            memo[node] = mapping[node]
        elif node.args:
            args = [memo[a] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            memo[node] = node if same else node.func(*args)
        else:
            memo[node] = node
    return memo[expr]


def fresh_constructor_cache() -> None:
    """Empty SymPy's constructor cache before a pass that builds a large DAG.

    SymPy memoises constructors (``sin(u)``, ``u * v``...) in LRU caches keyed by their
    arguments. Once a DAG larger than the cache has been built, the cache holds some of its
    nodes while the DAG holds the rest; a later pass that rebuilds an equal node as a new
    object (a second ``lift`` of the same function, a derivative) then finds an equal but
    distinct key in the cache, and ``==`` compares the two by walking both as trees -
    exponential in the depth of the DAG. Passes that build whole DAGs (lift, gradients,
    Hessians, code generation) start from an empty cache, so every node they compare was
    built by themselves and shares its parts by identity.
    """
    sp.core.cache.clear_cache()


def _remake(node: sp.Basic, args: tuple) -> sp.Basic:
    """``node`` over ``args`` (equal to its own): unevaluated where the class allows it."""
    try:
        return node.func(*args, evaluate=False)
    except TypeError:
        return node.func(*args)


def intern(exprs: Iterable[sp.Basic]) -> list[sp.Basic]:
    """``exprs`` with every set of equal subexpressions made ONE object (hash-consing).

    SymPy compares two distinct but equal objects by walking both trees: on a DAG that is
    exponential, and every dict or set keyed by expressions (memo tables, ``sympy.cse``) pays
    it whenever an expression was rebuilt as a copy of one it already holds (a gradient and a
    Hessian entry built separately). After this pass equal nodes are identical, so those
    lookups stop at the identity test. Linear in the number of distinct node *objects*: it
    keys its tables by ``id`` and by the identities of interned arguments, never by ``==``.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> a, b = sp.sin(x + 1), sp.sin(x + 1)   # equal, may be two objects
    >>> a2, b2 = intern([a, b])
    >>> a2 is b2
    True
    """
    exprs = list(exprs)
    fresh_constructor_cache()
    done: dict[int, sp.Basic] = {}  # id(original node) -> its interned node
    table: dict[tuple, sp.Basic] = {}  # (func, ids of interned args) -> interned node
    atoms: dict = {}  # atoms compare cheaply: keyed by themselves
    keep: list = []  # the originals, alive while ids are keys
    for root in exprs:
        if not isinstance(root, sp.Basic) or id(root) in done:
            continue
        stack: list[tuple[sp.Basic, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if not node.args:
                done[id(node)] = atoms.setdefault(node, node)
                keep.append(node)
                continue
            if not expanded:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if id(a) not in done)
                continue
            args = tuple(done[id(a)] for a in node.args)
            key = (node.func, tuple(id(a) for a in args))
            found = table.get(key)
            if found is None:
                same = all(a is b for a, b in zip(args, node.args))
                found = node if same else _remake(node, args)
                table[key] = found
                keep.append(found)
            done[id(node)] = found
            keep.append(node)
    return [done[id(e)] if isinstance(e, sp.Basic) else e for e in exprs]


@deep_recursion()
def serialize(exprs: Iterable[sp.Basic]) -> str:
    """A canonical text of ``exprs`` linear in their DAG size (for hashing, not reading).

    One line per unique node in post-order: atoms as ``srepr``, other nodes as the name of
    their function and the indices of their arguments' lines; then one line naming the roots.
    Equal expressions give equal text; a tree walk such as ``srepr`` would be exponential.
    """
    exprs = list(exprs)
    index: dict = {}
    lines: list[str] = []
    for node in postorder(exprs):
        if node.args:
            func = node.func
            name = getattr(func, "__name__", None) or type(node).__name__
            module = getattr(func, "__module__", "") or ""
            kids = ",".join(str(index[a]) for a in node.args)
            lines.append(f"{module}.{name}({kids})")
        else:
            lines.append(sp.srepr(node))
        index[node] = len(lines) - 1
    roots = [str(index[e]) if isinstance(e, sp.Basic) else repr(e) for e in exprs]
    lines.append("roots " + ",".join(roots))
    return "\n".join(lines)


@deep_recursion()
def shared_form(
    exprs: Iterable[sp.Basic],
    prefix: str = "t",
    avoid: Iterable[str] = (),
    width: int = 0,
    evaluate: bool = True,
) -> tuple[list[tuple[sp.Symbol, sp.Basic]], list[sp.Basic]]:
    """``(definitions, reduced)``: every non-atomic node used more than once gets a name.

    Like ``sympy.cse`` but linear in the DAG size: a node is named when it has two or more
    parents in the DAG, so printing the definitions and the reduced expressions visits each
    unique node once. Names are ``t0, t1, ...`` (skipping ``avoid``), in dependency order;
    ``width`` pads the numbers with zeros (``t0007``), so that SymPy's name order of the
    names - which orders the factors of a product - is their numeric order. With
    ``evaluate=False`` nodes over named arguments are rebuilt unevaluated, keeping their
    argument order (SymPy's canonical re-sorting of a large sum compares its terms as trees).

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> defs, (e,) = shared_form([sp.sin(x + 1) * (x + 1)])
    >>> defs, e
    ([(t0, x + 1)], t0*sin(t0))
    """
    exprs = list(exprs)
    order = postorder(exprs)
    parents: dict = {}
    for node in order:
        for a in set(node.args):
            parents[a] = parents.get(a, 0) + 1
    taken = set(avoid)
    taken.update(s.name for s in order if isinstance(s, sp.Symbol))
    counter = 0
    memo: dict = {}
    definitions: list[tuple[sp.Symbol, sp.Basic]] = []
    for node in order:
        if not node.args:
            memo[node] = node
            continue
        args = [memo[a] for a in node.args]
        same = all(a is b for a, b in zip(args, node.args))
        if same:
            now = node
        elif evaluate:
            now = node.func(*args)
        else:
            if node.func in (sp.Add, sp.Mul):  # unevaluated: flatten nested sums/products
                flat: list = []
                for a in args:
                    flat.extend(a.args if a.func is node.func else (a,))
                args = flat
            now = _remake(node, tuple(args))
        if parents.get(node, 0) >= 2 and isinstance(node, sp.Expr) and not node.is_Number:
            while f"{prefix}{counter:0{width}d}" in taken:
                counter += 1
            name = sp.Symbol(f"{prefix}{counter:0{width}d}")
            counter += 1
            definitions.append((name, now))
            now = name
        memo[node] = now
    return definitions, [memo[e] if isinstance(e, sp.Basic) else e for e in exprs]

"""Loop rerolling: outputs that share one formula up to which inputs they read become a loop.

Symbolic derivatives of structured problems (a sum over ``i`` of a term in ``x[i]``,
``x[i+1]``) are long lists of the same formula on shifted inputs: the Rosenbrock gradient at
n = 1000 is ~1000 copies of one expression. Straight-line code for it takes numba minutes to
compile. Here every output is reduced to a *template* (its symbols replaced, in input order, by
placeholders carrying the same assumptions); outputs with the same template and the same store
kind form a :class:`Group`, printed once as a loop over an index table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

MIN_ITEMS = 32  # below this many outputs straight-line code compiles fast enough
MIN_GROUP = 8  # a shorter run of one template stays straight-line

# The output kinds an :class:`Item` is stored as.
VALUE_TERM = "acc"  # a term added to the value accumulator ``acc``
GRAD_ENTRY = "g"  # gradient entry ``g[slots[0]]``
HESS_ENTRY = "h"  # Hessian entry ``out[idx[slots[0]]]`` and its mirror ``out[idx[slots[1]]]``
OUTPUT_KINDS = (VALUE_TERM, GRAD_ENTRY, HESS_ENTRY)


@dataclass(frozen=True)
class Item:
    """One output: ``expr`` stored as ``kind`` (:data:`VALUE_TERM`: added to the value,
    :data:`GRAD_ENTRY`: gradient entry ``slots[0]``, :data:`HESS_ENTRY`: Hessian entry
    ``slots[0]`` and its mirror ``slots[1]``)."""

    expr: sp.Expr
    kind: str
    slots: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"Item: unknown output kind {self.kind!r}; use one of {OUTPUT_KINDS}")


@dataclass
class Group:
    """Items sharing one template: per instance its slots and the inputs it reads."""

    kind: str
    template: sp.Expr
    x_places: tuple[sp.Symbol, ...]
    p_places: tuple[sp.Symbol, ...]
    slots: list[tuple[int, ...]] = field(default_factory=list)
    x_index: list[list[int]] = field(default_factory=list)
    p_index: list[list[int]] = field(default_factory=list)


_PLACES: dict[tuple, sp.Symbol] = {}


def _place(prefix: str, j: int, symbol: sp.Symbol) -> sp.Symbol:
    assumptions = tuple(sorted(symbol.assumptions0.items()))
    key = (prefix, j, assumptions)
    if key not in _PLACES:
        _PLACES[key] = sp.Symbol(f"_{prefix}{j}", **dict(assumptions))
    return _PLACES[key]


def template(expr: sp.Expr, index: dict[sp.Symbol, tuple[int, int]]):
    """``(template, x placeholders, p placeholders, x positions, p positions)`` of ``expr``."""
    symbols = sorted(expr.free_symbols, key=index.__getitem__)
    xs = [s for s in symbols if index[s][0] == 0]
    ps = [s for s in symbols if index[s][0] == 1]
    x_places = tuple(_place("a", j, s) for j, s in enumerate(xs))
    p_places = tuple(_place("b", j, s) for j, s in enumerate(ps))
    mapping = dict(zip(xs, x_places)) | dict(zip(ps, p_places))
    tmpl = expr.xreplace(mapping)
    return tmpl, x_places, p_places, [index[s][1] for s in xs], [index[s][1] for s in ps]


def plan(
    items: Sequence[Item], index: dict[sp.Symbol, tuple[int, int]], enabled: bool = True
) -> tuple[list[Item], list[Group]]:
    """Split ``items`` into straight-line ones and loop groups, keeping their order."""
    if not enabled or len(items) < MIN_ITEMS:
        return list(items), []
    buckets: dict[tuple, list] = {}
    for item in items:
        if not item.expr.free_symbols:
            buckets.setdefault(("const", id(item)), []).append((item, None))
            continue
        found = template(item.expr, index)
        buckets.setdefault((item.kind, found[0], found[1], found[2]), []).append((item, found))
    straight, groups, grouped = [], [], set()
    for key, members in buckets.items():
        if key[0] == "const" or len(members) < MIN_GROUP:
            continue
        tmpl, x_places, p_places = key[1], key[2], key[3]
        group = Group(key[0], tmpl, x_places, p_places)
        # in input order: sums accumulate left to right and rows are read in memory order
        for item, found in sorted(members, key=lambda m: (m[1][3], m[1][4])):
            group.slots.append(item.slots)
            group.x_index.append(found[3])
            group.p_index.append(found[4])
            grouped.add(id(item))
        groups.append(group)
    straight = [item for item in items if id(item) not in grouped]
    return straight, groups

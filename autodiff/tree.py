"""Pytrees: nested lists, tuples (named tuples too) and dicts whose leaves are arrays.

JAX's conventions: lists, tuples and dicts are containers (a dict's children in sorted-key
order, an ``OrderedDict``'s in insertion order), ``None`` is an empty container, and anything
else is a leaf. :func:`flatten` gives the leaves and a :class:`TreeDef` that
:func:`unflatten` rebuilds the tree from; :func:`ravel` concatenates every leaf into one
vector (JAX's ``ravel_pytree``), differentiably when the leaves are tensors.

Examples
--------
>>> import numpy as np
>>> from autodiff import tree
>>> params = {"w": np.ones((2, 2)), "b": np.zeros(2)}
>>> leaves, treedef = tree.flatten(params)
>>> [leaf.shape for leaf in leaves]
[(2,), (2, 2)]
>>> flat, unravel = tree.ravel(params)
>>> flat.shape, sorted(unravel(flat))
((6,), ['b', 'w'])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["TreeDef", "broadcast_prefix", "flatten", "leaves", "map", "ravel", "unflatten"]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _children(x: Any, none_is_leaf: bool) -> tuple[str, Any, list] | None:
    """(kind, metadata, children) of a container, or None for a leaf."""
    if x is None:
        return None if none_is_leaf else ("none", None, [])
    if isinstance(x, dict):
        keys = list(x) if isinstance(x, OrderedDict) or not _sortable(x) else sorted(x)
        return ("dict", (type(x), tuple(keys)), [x[k] for k in keys])
    if _is_namedtuple(x):
        return ("namedtuple", type(x), list(x))
    if isinstance(x, tuple):
        return ("tuple", None, list(x))
    if isinstance(x, list):
        return ("list", None, list(x))
    return None


def _sortable(d: dict) -> bool:
    try:
        sorted(d)
    except TypeError:
        return False
    return True


class TreeDef:
    """The structure of a pytree without its leaves (compare with ``==``)."""

    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind: str, meta: Any, children: tuple[TreeDef, ...]):
        self.kind = kind
        self.meta = meta
        self.children = children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TreeDef)
            and self.kind == other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __hash__(self) -> int:
        return hash((self.kind, repr(self.meta), self.children))

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            keys = self.meta[1]
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(keys, self.children)) + "}"
        if self.kind == "list":
            return f"[{inner}]"
        if self.kind == "namedtuple":
            return f"{self.meta.__name__}({inner})"
        return f"({inner}{',' if len(self.children) == 1 else ''})"

    def unflatten(self, leaves: list) -> Any:
        """Rebuild the tree from ``leaves`` (in :func:`flatten` order)."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"tree.unflatten: {len(leaves)} leaves for a tree of {self.num_leaves} ({self})"
            )
        it = iter(leaves)
        return self._build(it)

    def _build(self, it) -> Any:
        if self.kind == "leaf":
            return next(it)
        items = [c._build(it) for c in self.children]
        if self.kind == "none":
            return None
        if self.kind == "list":
            return items
        if self.kind == "tuple":
            return tuple(items)
        if self.kind == "namedtuple":
            return self.meta(*items)
        cls, keys = self.meta
        built = dict(zip(keys, items))
        return built if cls is dict else cls(built)


_LEAF = TreeDef("leaf", None, ())


def flatten(tree: Any, *, none_is_leaf: bool = False) -> tuple[list, TreeDef]:
    """The leaves of ``tree`` (depth first) and its structure.

    Examples
    --------
    >>> from autodiff import tree
    >>> tree.flatten({"b": [1, 2], "a": (3,)})
    ([3, 1, 2], {'a': (*,), 'b': [*, *]})
    """
    out: list = []
    treedef = _flatten(tree, out, none_is_leaf)
    return out, treedef


def _flatten(x: Any, out: list, none_is_leaf: bool) -> TreeDef:
    found = _children(x, none_is_leaf)
    if found is None:
        out.append(x)
        return _LEAF
    kind, meta, children = found
    return TreeDef(kind, meta, tuple(_flatten(c, out, none_is_leaf) for c in children))


def unflatten(treedef: TreeDef, leaves: list) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves`` (the inverse of :func:`flatten`).

    Examples
    --------
    >>> from autodiff import tree
    >>> leaves, treedef = tree.flatten([1, {"x": 2}])
    >>> tree.unflatten(treedef, [10, 20])
    [10, {'x': 20}]
    """
    return treedef.unflatten(leaves)


def leaves(tree: Any, *, none_is_leaf: bool = False) -> list:
    """The leaves of ``tree``, depth first."""
    return flatten(tree, none_is_leaf=none_is_leaf)[0]


def map(f: Callable, tree: Any, *rest: Any) -> Any:  # noqa: A001 - mirrors jax.tree.map
    """Apply ``f`` to every leaf (to corresponding leaves of ``tree`` and ``rest``).

    Examples
    --------
    >>> from autodiff import tree
    >>> tree.map(lambda a, b: a + b, {"x": 1, "y": [2]}, {"x": 10, "y": [20]})
    {'x': 11, 'y': [22]}
    """
    items, treedef = flatten(tree)
    others = []
    for r in rest:
        r_items, r_def = flatten(r)
        if r_def != treedef:
            raise ValueError(f"tree.map: trees differ in structure: {treedef} and {r_def}")
        others.append(r_items)
    return treedef.unflatten([f(*args) for args in zip(items, *others)])


def broadcast_prefix(prefix: Any, tree: Any) -> list:
    """One entry of ``prefix`` per leaf of ``tree``: a leaf of ``prefix`` (an int, None...)
    applies to the whole subtree at its position (how ``vmap``'s ``in_axes`` work).

    Examples
    --------
    >>> from autodiff import tree
    >>> tree.broadcast_prefix({"w": None, "b": 0}, {"w": [1, 2], "b": 3})
    [0, None, None]
    """
    out: list = []
    _broadcast(prefix, tree, out, "")
    return out


def _broadcast(prefix: Any, tree: Any, out: list, path: str) -> None:
    found = _children(prefix, none_is_leaf=True)
    if found is None:
        out.extend([prefix] * flatten(tree)[1].num_leaves)
        return
    kind, meta, children = found
    tree_found = _children(tree, none_is_leaf=False)
    where = path or "the top"
    if tree_found is None:
        raise ValueError(f"the prefix has a {kind} at {where} where the tree has a leaf")
    t_kind, t_meta, t_children = tree_found
    if kind == "dict":
        if t_kind != "dict" or set(meta[1]) != set(t_meta[1]):
            raise ValueError(
                f"the prefix has a dict with keys {sorted(str(k) for k in meta[1])} at {where} "
                f"where the tree has {_describe(tree)}"
            )
        lookup = dict(zip(meta[1], children))
        for k, child in zip(t_meta[1], t_children):
            _broadcast(lookup[k], child, out, f"{path}[{k!r}]")
        return
    if t_kind not in ("list", "tuple", "namedtuple") or len(children) != len(t_children):
        raise ValueError(
            f"the prefix has a {kind} of {len(children)} at {where} where the tree has "
            f"{_describe(tree)}"
        )
    for k, (p, child) in enumerate(zip(children, t_children)):
        _broadcast(p, child, out, f"{path}[{k}]")


def _describe(x: Any) -> str:
    if isinstance(x, dict):
        return f"a dict with keys {sorted(str(k) for k in x)}"
    if isinstance(x, list | tuple):
        return f"a {type(x).__name__} of {len(x)}"
    return f"a {type(x).__name__}"


def ravel(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Concatenate the leaves of ``tree`` into one vector; return it and ``unravel``.

    JAX's ``ravel_pytree``. The vector is a Tensor (on the graph, so gradients flow back to
    the leaves) when a leaf is a Tensor, else a NumPy array; its dtype is the leaves' common
    one. ``unravel(vector)`` rebuilds a tree of the same structure and shapes (differentiably
    for a Tensor), so a function of a tree becomes a function of one vector.

    Examples
    --------
    >>> import numpy as np, autodiff as ad
    >>> params = {"w": np.ones((2, 3)), "b": np.arange(3.0)}
    >>> flat, unravel = ad.tree.ravel(params)
    >>> flat
    array([0., 1., 2., 1., 1., 1., 1., 1., 1.])
    >>> unravel(flat)["w"].shape
    (2, 3)
    >>> loss = lambda p: ad.sum(p["w"] ** 2) + ad.sum(p["b"])
    >>> ad.hessian(lambda v: loss(unravel(v)))(flat).shape
    (9, 9)
    """
    from .ops.shape import concatenate, reshape
    from .tensor import Tensor, as_array

    items, treedef = flatten(tree)
    on_graph = any(isinstance(x, Tensor) for x in items)
    arrays = [x if isinstance(x, Tensor) else as_array(x) for x in items]
    shapes = [tuple(a.shape) for a in arrays]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    dtypes = [a.dtype for a in arrays]
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if on_graph:
        from .ops.elementwise import cast

        parts = [reshape(a, (-1,)) for a in arrays]
        parts = [p if p.dtype == dtype else cast(p, dtype) for p in parts]
        flat = concatenate(parts) if parts else Tensor._wrap(np.zeros(0, dtype))
    else:
        flat = (
            np.concatenate([np.ravel(a).astype(dtype, copy=False) for a in arrays])
            if arrays
            else np.zeros(0, dtype)
        )
    total = sum(sizes)

    def unravel(vector: Any) -> Any:
        """Rebuild the tree from a vector of the length :func:`ravel` gave."""
        shape = tuple(vector.shape if isinstance(vector, Tensor) else np.shape(vector))
        if shape != (total,):
            raise ValueError(f"tree.ravel: unravel needs a vector of shape ({total},), got {shape}")
        pieces = []
        start = 0
        for s, n, d in zip(shapes, sizes, dtypes):
            piece = vector[start : start + n]
            if isinstance(piece, Tensor):
                from .ops.elementwise import cast

                piece = reshape(piece, s)
                if piece.dtype != d and d.kind == "f":
                    piece = cast(piece, d)
            else:
                piece = np.asarray(piece).reshape(s).astype(d, copy=False)
            pieces.append(piece)
            start += n
        return treedef.unflatten(pieces)

    return flat, unravel

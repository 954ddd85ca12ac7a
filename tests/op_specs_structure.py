"""Op specs of the structural ops and contractions (issue 13): ``einsum``, ``cumsum`` and the
two sorting primitives, and the composites built on the shape primitives (``roll``, ``pad``,
``diag``, ``take``, ``split``, the stacks, ``tril`` ...) and on ``matmul`` (``tensordot``,
``kron``, ``cross``...). Collected into ``op_specs.ALL_SPECS`` by ``op_specs._area_specs``."""

from __future__ import annotations

import numpy as np
from op_specs import Case, LiftRow, OpSpec, Row

import autodiff as ad
from autodiff.ops.reductions import sort_gather, sort_scatter

W3 = np.array([0.5, -1.25, 2.0])
W4 = np.array([1.5, -0.5, 0.75, 2.0])


def _w(shape) -> np.ndarray:
    """Fixed weights of ``shape`` (so that list results fold into one tensor)."""
    return np.linspace(-1.0, 2.0, int(np.prod(shape, dtype=np.int64))).reshape(shape) + 0.3


def _c(label, fn, ref, shapes, domains=("real",), **kw) -> Case:
    return Case(label, fn, ref, tuple(shapes), tuple(domains), **kw)


def _lift(fn, shapes, domains=None) -> LiftRow:
    shapes = tuple(shapes)
    return LiftRow(fn, shapes, tuple(domains or ("real",) * len(shapes)))


def _composite(name, *cases) -> OpSpec:
    return OpSpec(name, composite=True, eager=tuple(cases))


# --- einsum: forms against numpy.einsum ------------------------------------------------------
EINSUM_CASES = (
    ("ij,jk->ik", ((2, 3), (3, 4))),
    ("ij,jk", ((2, 3), (3, 2))),
    ("bij,bjk->bik", ((2, 2, 3), (2, 3, 2))),
    ("...ij,...jk", ((2, 2, 3), (3, 2))),
    ("ii", ((3, 3),)),
    ("ii->i", ((3, 3),)),
    ("i,i", ((4,), (4,))),
    ("i,j->ij", ((3,), (2,))),
    ("ij->ji", ((2, 3),)),
    ("ij->", ((2, 3),)),
    ("ijk,jl->kil", ((2, 3, 2), (3, 2))),
    ("ij,ij,ij->i", ((2, 3), (2, 3), (2, 3))),
)

SPECS: list[OpSpec] = [
    OpSpec(
        "einsum",
        eager=tuple(
            _c(
                f"einsum {subs!r}",
                lambda *xs, s=subs: ad.einsum(s, *xs),
                lambda *xs, s=subs: np.einsum(s, *xs),
                (shapes,),
            )
            for subs, shapes in EINSUM_CASES
        ),
        lift=_lift(lambda a, b: ad.sin(ad.einsum("ij,jk->ik", a, b)).sum(), [(2, 3), (3, 2)]),
        compile=(
            Row(
                "einsum",
                ("einsum",),
                lambda x: ad.einsum(
                    "ij,jk,ki->",
                    ad.reshape(x, (2, 2)),
                    ad.reshape(x, (2, 2)),
                    ad.transpose(ad.reshape(x[::-1], (2, 2))),
                ),
                4,
            ),
        ),
    ),
    OpSpec(
        "cumsum",
        eager=(
            _c("cumsum", ad.cumsum, np.cumsum, [((4,),), ((2, 3),)]),
            _c("cumsum axis=0", lambda x: ad.cumsum(x, 0), lambda x: np.cumsum(x, 0), [((3, 2),)]),
            _c(
                "cumsum axis=-2",
                lambda x: ad.cumsum(x, axis=-2),
                lambda x: np.cumsum(x, axis=-2),
                [((2, 3, 2),)],
            ),
            _c(
                "t.cumsum(1)",
                lambda x: x.cumsum(1) if isinstance(x, ad.Tensor) else ad.cumsum(x, 1),
                lambda x: np.cumsum(x, 1),
                [((2, 3),)],
            ),
        ),
        lift=_lift(lambda x: (ad.cumsum(x, 1) ** 2 * x).sum(), [(2, 3)]),
        compile=(Row("cumsum", ("cumsum",), lambda x: ad.sum(ad.sin(ad.cumsum(x)) * x), 4),),
    ),
    OpSpec(
        "sort_gather",
        eager=(
            _c(
                "sort_gather(v, keys)",
                lambda v, k: sort_gather(v, k),
                lambda v, k: np.take_along_axis(v, np.argsort(k, -1), -1),
                [((4,), (4,)), ((2, 3), (2, 3))],
                ("real", "distinct"),
            ),
            _c(
                "sort_gather axis=0",
                lambda v, k: sort_gather(v, k, 0),
                lambda v, k: np.take_along_axis(v, np.argsort(k, 0), 0),
                [((3, 2), (3, 2))],
                ("real", "distinct"),
            ),
        ),
        lift=_lift(
            lambda v, k: (sort_gather(v, k) * W3).sum() ** 2 + (sort_gather(k, k) ** 3).sum(),
            [(3,), (3,)],
            ["real", "distinct"],
        ),
        compile=(
            Row(
                "sort",
                ("sort_gather",),
                lambda x: ad.sum(ad.sort(x) ** 3 * W4) + ad.sum(ad.sort(x) * x),
                4,
                "distinct",
            ),
        ),
    ),
    OpSpec(
        "sort_scatter",
        eager=(
            _c(
                "sort_scatter(g, keys)",
                lambda g, k: sort_scatter(g, k),
                lambda g, k: (
                    np.put_along_axis(o := np.empty_like(g), np.argsort(k, -1), g, -1) or o
                ),
                [((4,), (4,)), ((2, 3), (2, 3))],
                ("real", "distinct"),
            ),
        ),
        lift=_lift(
            lambda g, k: (sort_scatter(g, k) * W3).sum() ** 2 + (sort_scatter(k * k, k)).sum(),
            [(3,), (3,)],
            ["real", "distinct"],
        ),
        compile=(
            Row(
                "sort_scatter",
                ("sort_scatter",),
                lambda x: ad.sum(sort_scatter(x**2, x) * x * W4),
                4,
                "distinct",
            ),
        ),
    ),
    # --- composites -----------------------------------------------------------------------
    _composite(
        "moveaxis",
        _c(
            "moveaxis 0 -1",
            lambda x: ad.moveaxis(x, 0, -1),
            lambda x: np.moveaxis(x, 0, -1),
            [((2, 3, 4),)],
        ),
        _c(
            "moveaxis pairs",
            lambda x: ad.moveaxis(x, (0, 2), (-1, 0)),
            lambda x: np.moveaxis(x, (0, 2), (-1, 0)),
            [((2, 3, 4),)],
        ),
    ),
    _composite(
        "ravel",
        _c("ravel", ad.ravel, np.ravel, [((2, 3),), ((),)]),
        _c("ravel F", lambda x: ad.ravel(x, "F"), lambda x: np.ravel(x, "F"), [((2, 3),)]),
    ),
    _composite(
        "atleast_1d",
        _c("atleast_1d", ad.atleast_1d, np.atleast_1d, [((),), ((3,),), ((2, 3),)]),
        _c(
            "atleast_1d two",
            lambda a, b: ad.atleast_1d(a, b)[0] * ad.atleast_1d(a, b)[1],
            lambda a, b: np.atleast_1d(a) * np.atleast_1d(b),
            [((), (3,))],
        ),
    ),
    _composite(
        "atleast_2d", _c("atleast_2d", ad.atleast_2d, np.atleast_2d, [((),), ((3,),), ((2, 3),)])
    ),
    _composite(
        "atleast_3d",
        _c("atleast_3d", ad.atleast_3d, np.atleast_3d, [((),), ((3,),), ((2, 3),), ((2, 1, 3),)]),
    ),
    _composite(
        "flip",
        _c("flip", ad.flip, np.flip, [((3,),), ((2, 3),)]),
        _c("flip axis=-1", lambda x: ad.flip(x, -1), lambda x: np.flip(x, -1), [((2, 3),)]),
        _c(
            "flip (0, 2)",
            lambda x: ad.flip(x, (0, 2)),
            lambda x: np.flip(x, (0, 2)),
            [((2, 3, 2),)],
        ),
    ),
    _composite("fliplr", _c("fliplr", ad.fliplr, np.fliplr, [((2, 3),), ((2, 3, 2),)])),
    _composite("flipud", _c("flipud", ad.flipud, np.flipud, [((3,),), ((2, 3),)])),
    _composite(
        "roll",
        _c("roll 1", lambda x: ad.roll(x, 1), lambda x: np.roll(x, 1), [((4,),), ((2, 3),)]),
        _c(
            "roll -2 axis=1",
            lambda x: ad.roll(x, -2, axis=1),
            lambda x: np.roll(x, -2, axis=1),
            [((2, 3),)],
        ),
        _c(
            "roll (1, 5) axes (0, -1)",
            lambda x: ad.roll(x, (1, 5), (0, -1)),
            lambda x: np.roll(x, (1, 5), (0, -1)),
            [((2, 3),)],
        ),
    ),
    _composite(
        "take",
        _c(
            "take flat",
            lambda x: ad.take(x, [0, 4, 4, -1]),
            lambda x: np.take(x, [0, 4, 4, -1]),
            [((2, 3),)],
        ),
        _c(
            "take axis=1 2-D indices",
            lambda x: ad.take(x, [[0, 2], [1, 1]], axis=1),
            lambda x: np.take(x, [[0, 2], [1, 1]], axis=1),
            [((2, 3),)],
        ),
        _c(
            "take wrap",
            lambda x: ad.take(x, [5, -4], 0, mode="wrap"),
            lambda x: np.take(x, [5, -4], 0, mode="wrap"),
            [((3,),)],
        ),
    ),
    _composite(
        "take_along_axis",
        _c(
            "take_along_axis -1",
            lambda x: ad.take_along_axis(x, np.array([[2, 0, 0], [1, 2, 0]]), -1),
            lambda x: np.take_along_axis(x, np.array([[2, 0, 0], [1, 2, 0]]), -1),
            [((2, 3),)],
        ),
        _c(
            "take_along_axis 0 broadcast",
            lambda x: ad.take_along_axis(x, np.array([[1, 0, 1]]), 0),
            lambda x: np.take_along_axis(x, np.array([[1, 0, 1]]), 0),
            [((2, 3),)],
        ),
    ),
    _composite(
        "repeat",
        _c("repeat 2", lambda x: ad.repeat(x, 2), lambda x: np.repeat(x, 2), [((3,),), ((2, 2),)]),
        _c(
            "repeat counts axis=0",
            lambda x: ad.repeat(x, [1, 0, 2], axis=0),
            lambda x: np.repeat(x, [1, 0, 2], axis=0),
            [((3, 2),)],
        ),
    ),
    _composite(
        "tile",
        _c("tile 2", lambda x: ad.tile(x, 2), lambda x: np.tile(x, 2), [((3,),), ((2, 2),)]),
        _c(
            "tile (2, 1, 2)",
            lambda x: ad.tile(x, (2, 1, 2)),
            lambda x: np.tile(x, (2, 1, 2)),
            [((2, 3),)],
        ),
    ),
    _composite(
        "pad",
        _c("pad 1", lambda x: ad.pad(x, 1), lambda x: np.pad(x, 1), [((3,),), ((2, 3),)]),
        _c(
            "pad constant values",
            lambda x: ad.pad(x, ((1, 0), (2, 1)), constant_values=((0.5, -1.0), (2.0, 3.0))),
            lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=((0.5, -1.0), (2.0, 3.0))),
            [((2, 3),)],
        ),
        *(
            _c(
                f"pad {mode}",
                lambda x, m=mode: ad.pad(x, ((2, 1), (1, 2)), mode=m),
                lambda x, m=mode: np.pad(x, ((2, 1), (1, 2)), mode=m),
                [((3, 3),)],
            )
            for mode in ("edge", "reflect", "symmetric", "wrap")
        ),
    ),
    _composite(
        "array_split",
        _c(
            "array_split 3",
            lambda x: ad.concatenate([p * (k + 1.0) for k, p in enumerate(ad.array_split(x, 3))]),
            lambda x: np.concatenate([p * (k + 1.0) for k, p in enumerate(np.array_split(x, 3))]),
            [((5,),), ((4, 2),)],
        ),
        _c(
            "array_split indices axis=1",
            lambda x: ad.array_split(x, [1, 2], axis=1)[2] * ad.array_split(x, [1, 2], axis=1)[0],
            lambda x: np.array_split(x, [1, 2], axis=1)[2] * np.array_split(x, [1, 2], axis=1)[0],
            [((2, 4),)],
        ),
    ),
    _composite(
        "split",
        _c(
            "split 2 axis=-1",
            lambda x: ad.split(x, 2, axis=-1)[0] * ad.split(x, 2, axis=-1)[1],
            lambda x: np.split(x, 2, axis=-1)[0] * np.split(x, 2, axis=-1)[1],
            [((3, 4),)],
        ),
    ),
    _composite(
        "vstack",
        _c(
            "vstack",
            lambda a, b: ad.vstack([a, b]),
            lambda a, b: np.vstack([a, b]),
            [((3,), (3,)), ((2, 3), (1, 3)), ((), ())],
        ),
    ),
    _composite(
        "hstack",
        _c(
            "hstack",
            lambda a, b: ad.hstack([a, b]),
            lambda a, b: np.hstack([a, b]),
            [((3,), (2,)), ((2, 3), (2, 1)), ((), ())],
        ),
    ),
    _composite(
        "dstack",
        _c(
            "dstack",
            lambda a, b: ad.dstack((a, b)),
            lambda a, b: np.dstack((a, b)),
            [((3,), (3,)), ((2, 3), (2, 3))],
        ),
    ),
    _composite(
        "column_stack",
        _c(
            "column_stack",
            lambda a, b: ad.column_stack([a, b]),
            lambda a, b: np.column_stack([a, b]),
            [((3,), (3, 2)), ((2,), (2,))],
        ),
    ),
    _composite(
        "append",
        _c("append flat", ad.append, np.append, [((2, 2), (3,))]),
        _c(
            "append axis=0",
            lambda a, b: ad.append(a, b, axis=0),
            lambda a, b: np.append(a, b, axis=0),
            [((2, 3), (1, 3))],
        ),
    ),
    _composite(
        "diagonal",
        _c("diagonal", ad.diagonal, np.diagonal, [((3, 3),), ((2, 4),)]),
        _c(
            "diagonal offset=-1 axes (2, 0)",
            lambda x: ad.diagonal(x, -1, 2, 0),
            lambda x: np.diagonal(x, -1, 2, 0),
            [((3, 2, 4),)],
        ),
        _c(
            "diagonal offset=1",
            lambda x: ad.diagonal(x, 1),
            lambda x: np.diagonal(x, 1),
            [((3, 4),)],
        ),
    ),
    _composite(
        "trace",
        _c("trace", ad.trace, np.trace, [((3, 3),), ((2, 3),)]),
        _c(
            "trace offset=1 axes (1, 2)",
            lambda x: ad.trace(x, 1, 1, 2),
            lambda x: np.trace(x, 1, 1, 2),
            [((2, 3, 3),)],
        ),
    ),
    _composite(
        "diag",
        _c("diag of 1-D", ad.diag, np.diag, [((3,),), ((2, 3),)]),
        _c("diag k=1", lambda x: ad.diag(x, 1), lambda x: np.diag(x, 1), [((2,),), ((3, 3),)]),
        _c("diag k=-2", lambda x: ad.diag(x, -2), lambda x: np.diag(x, -2), [((2,),), ((4, 3),)]),
    ),
    _composite(
        "tril",
        _c("tril", ad.tril, np.tril, [((3, 3),), ((2, 3, 4),), ((3,),)]),
        _c("tril k=-1", lambda x: ad.tril(x, -1), lambda x: np.tril(x, -1), [((3, 4),)]),
    ),
    _composite(
        "triu",
        _c("triu", ad.triu, np.triu, [((3, 3),), ((2, 4, 3),)]),
        _c("triu k=1", lambda x: ad.triu(x, 1), lambda x: np.triu(x, 1), [((4, 3),)]),
    ),
    _composite(
        "cumprod",
        _c("cumprod", ad.cumprod, np.cumprod, [((5,),), ((2, 3),)]),
        _c("cumprod axis=1", lambda x: ad.cumprod(x, 1), lambda x: np.cumprod(x, 1), [((2, 5),)]),
        _c(
            "cumprod axis=-3",
            lambda x: ad.cumprod(x, axis=-3),
            lambda x: np.cumprod(x, axis=-3),
            [((3, 2, 2),)],
        ),
    ),
    _composite(
        "diff",
        _c("diff", ad.diff, np.diff, [((4,),), ((2, 3),)]),
        _c("diff n=2 axis=0", lambda x: ad.diff(x, 2, 0), lambda x: np.diff(x, 2, 0), [((4, 2),)]),
        _c(
            "diff prepend/append",
            lambda x, p: ad.diff(x, prepend=0.5, append=p),
            lambda x, p: np.diff(x, prepend=0.5, append=p),
            [((2, 3), (2, 1))],
        ),
    ),
    _composite(
        "sort",
        _c("sort", ad.sort, np.sort, [((4,),), ((2, 3),)], ("distinct",)),
        _c(
            "sort axis=0",
            lambda x: ad.sort(x, 0),
            lambda x: np.sort(x, 0),
            [((3, 2),)],
            ("distinct",),
        ),
        _c(
            "sort axis=None",
            lambda x: ad.sort(x, None),
            lambda x: np.sort(x, None),
            [((2, 3),)],
            ("distinct",),
        ),
    ),
    _composite(
        "tensordot",
        _c("tensordot 2", ad.tensordot, np.tensordot, [((2, 3, 4), (3, 4, 2))]),
        _c(
            "tensordot pairs",
            lambda a, b: ad.tensordot(a, b, ([0, 2], [2, 0])),
            lambda a, b: np.tensordot(a, b, ([0, 2], [2, 0])),
            [((2, 3, 4), (4, 2, 2))],
        ),
        _c(
            "tensordot 0",
            lambda a, b: ad.tensordot(a, b, 0),
            lambda a, b: np.tensordot(a, b, 0),
            [((2,), (3,))],
        ),
    ),
    _composite(
        "inner",
        _c("inner", ad.inner, np.inner, [((3,), (3,)), ((2, 3), (4, 3)), ((), (2,))]),
    ),
    _composite("kron", _c("kron", ad.kron, np.kron, [((2, 2), (2, 3)), ((3,), (2, 2))])),
    _composite(
        "cross",
        _c("cross 3", ad.cross, np.cross, [((3,), (3,)), ((2, 3), (3,))]),
        _c(
            "cross axis=0",
            lambda a, b: ad.cross(a, b, axis=0),
            lambda a, b: np.cross(a, b, axis=0),
            [((3, 2), (3, 2))],
        ),
        _c(
            "cross 3 x 2",
            lambda a, b: ad.cross(a, b),
            lambda a, b: np.cross(a, np.concatenate([b, np.zeros(b.shape[:-1] + (1,))], -1)),
            [((2, 3), (2, 2))],
        ),
    ),
]

# One call per NumPy function these ops dispatch (tests/autodiff/test_op_surface.py): ``t`` is
# a (2, 3) tensor with entries in (0.5, 1.5).
ARRAY_FUNCTION_CALLS = {
    np.einsum: lambda t: (("ij,kj->ik", t, t), {"optimize": True}),
    np.tensordot: lambda t: ((t, t), {"axes": ([1], [1])}),
    np.inner: lambda t: ((t, t), {}),
    np.kron: lambda t: ((t, t[0]), {}),
    np.cross: lambda t: ((t, t[::-1]), {}),
    np.cumsum: lambda t: ((t,), {"axis": 1}),
    np.cumprod: lambda t: ((t,), {}),
    np.diff: lambda t: ((t,), {"axis": 0}),
    np.sort: lambda t: ((t,), {"axis": 0}),
    np.moveaxis: lambda t: ((t, 0, 1), {}),
    np.ravel: lambda t: ((t,), {}),
    np.atleast_1d: lambda t: ((t[0, 0], t), {}),
    np.atleast_2d: lambda t: ((t[0],), {}),
    np.atleast_3d: lambda t: ((t,), {}),
    np.flip: lambda t: ((t,), {"axis": 1}),
    np.fliplr: lambda t: ((t,), {}),
    np.flipud: lambda t: ((t,), {}),
    np.roll: lambda t: ((t, 2), {"axis": 1}),
    np.take: lambda t: ((t, [0, 5, 5]), {}),
    np.take_along_axis: lambda t: ((t, np.array([[2, 1, 0]])), {"axis": 1}),
    np.repeat: lambda t: ((t, 2), {"axis": 0}),
    np.tile: lambda t: ((t, (2, 1)), {}),
    np.pad: lambda t: ((t, 1), {"mode": "reflect"}),
    np.split: lambda t: ((t, 3), {"axis": 1}),
    np.array_split: lambda t: ((t, 2), {"axis": 1}),
    np.vstack: lambda t: (([t, t],), {}),
    np.hstack: lambda t: (([t, t],), {}),
    np.dstack: lambda t: (([t, t],), {}),
    np.column_stack: lambda t: (([t[0], t[1]],), {}),
    np.append: lambda t: ((t, t), {"axis": 0}),
    np.diagonal: lambda t: ((t,), {"offset": 1}),
    np.trace: lambda t: ((t,), {}),
    np.diag: lambda t: ((t[0],), {"k": -1}),
    np.tril: lambda t: ((t,), {}),
    np.triu: lambda t: ((t,), {"k": 1}),
}


# --- mpmath oracle entries (tests/oracle/test_oracle_ops.py) ---------------------------------
def _mp_sorted(*v):
    return sorted(v)


def _mp_scatter_sq(a, b, c):
    """sum_j w_j x_j * x[rank_j]**2: sort_scatter(x**2, x) puts x[i]**2 at the i-th smallest."""
    xs = [a, b, c]
    order = sorted(range(3), key=lambda j: xs[j])
    out = [None] * 3
    for i, j in enumerate(order):
        out[j] = xs[i] ** 2
    return sum(w * x * o for w, x, o in zip((1.0, 2.0, 3.0), xs, out))


ORACLE_ENTRIES = [
    (
        "einsum",
        lambda x: (
            ad.einsum("ij,jk,ki->", *([ad.reshape(x, (2, 2))] * 3))
            + ad.einsum("ii", ad.reshape(x, (2, 2))) ** 2
        ),
        lambda a, b, c, d: a**3 + d**3 + 3 * a * b * c + 3 * b * c * d + (a + d) ** 2,
        ((0.7, -1.3, 0.4, 1.1), (1.9, 0.4, -0.6, -1.2)),
    ),
    (
        "cumsum",
        lambda x: ad.sum(ad.cumsum(x) ** 3),
        lambda a, b, c: a**3 + (a + b) ** 3 + (a + b + c) ** 3,
        ((0.7, -1.3, 0.4), (1.9, 0.4, -0.6)),
    ),
    (
        "sort_gather",
        lambda x: ad.sum(ad.sort(x) ** 3 * np.array([1.0, 2.0, 3.0])),
        lambda a, b, c: sum(w * s**3 for w, s in zip((1, 2, 3), _mp_sorted(a, b, c))),
        ((0.7, -1.3, 0.4), (1.9, 0.4, -0.6)),
    ),
    (
        "sort_scatter",
        lambda x: ad.sum(sort_scatter(x**2, x) * x * np.array([1.0, 2.0, 3.0])),
        _mp_scatter_sq,
        ((0.7, -1.3, 0.4), (-0.6, 1.9, 0.4)),
    ),
]


# --- extreme inputs (tests/bridge/test_bridge_stability_extreme.py): the shared 4-block ---------
EXTREME_CASES = [
    ("cumsum", ("cumsum",), lambda x: ad.sum(ad.cumsum(x) * x[::-1])),
    (
        "einsum",
        ("einsum",),
        lambda x: ad.einsum("ij,jk->", ad.reshape(x, (2, 2)), ad.reshape(x[::-1], (2, 2))),
    ),
    ("sort_gather", ("sort_gather",), lambda x: ad.sum(ad.sort(x) * x)),
    ("sort_scatter", ("sort_scatter",), lambda x: ad.sum(sort_scatter(x, x) * x[::-1])),
]

"""The op surface is generated from the op table: every op's public function, ``Tensor``
methods, NumPy dispatch and ``autodiff`` export exist and route to the op; every op has one
spec in ``tests/op_specs.py``; and a new elementwise op is ONE declaration plus one spec row
(demonstrated with throwaway ops declared in a fixture, then removed)."""

from __future__ import annotations

import inspect
import sys

import numpy as np
import op_specs
import pytest

import autodiff as ad
from autodiff.engine import toposort
from autodiff.ops import ALL_OPS, STRUCTURAL, SURFACES, VARIADIC, Op, retract, unregister
from autodiff.ops.builders import unary
from autodiff.tensor import _ARRAY_FUNCTIONS, _UFUNCS, Tensor
from autodiff.testing import check_grads

SURFACE_LIST = list(SURFACES.values())
SURFACE_IDS = [s.name for s in SURFACE_LIST]


def _missing_specs() -> list[str]:
    """Ops and composite surfaces without a spec (or whose spec lacks a required face)."""
    table = op_specs.by_name()
    missing = [op.name for op in ALL_OPS if op.name not in table]
    missing += [
        f"{op.name} (no eager case / lift row)"
        for op in ALL_OPS
        if op.name in table and (not table[op.name].eager or table[op.name].lift is None)
    ]
    missing += [s.name for s in SURFACES.values() if s.composite and s.name not in table]
    return missing


def _is_generated(fn) -> bool:
    return fn.__code__.co_filename == "<string>"


# --- completeness ------------------------------------------------------------------------------
def test_every_op_and_composite_has_a_spec():
    assert not _missing_specs(), f"ops without a spec in tests/op_specs.py: {_missing_specs()}"


def test_no_spec_names_an_unknown_op_or_composite():
    ops = {op.name for op in ALL_OPS}
    composites = {s.name for s in SURFACES.values() if s.composite}
    for spec in op_specs.ALL_SPECS:
        assert spec.name in (composites if spec.composite else ops), spec.name
        assert set(spec.reasons) <= set(op_specs.FACES), spec.name


def test_every_op_spec_says_which_faces_apply():
    for spec in (s for s in op_specs.ALL_SPECS if not s.composite):
        op = next(op for op in ALL_OPS if op.name == spec.name)
        faces = op_specs.faces(spec)
        assert {"eager", "lift"} <= faces, spec.name
        assert "compile" in faces or "compile" in spec.reasons, spec.name
        if op.differentiable:
            assert {"reverse", "forward", "second_order", "float32"} <= faces, spec.name


def test_every_op_has_a_surface():
    exposed = {op.name for s in SURFACES.values() for op in s.ops}
    assert not sorted({op.name for op in ALL_OPS} - exposed)


def test_op_records_are_well_formed():
    for op in ALL_OPS:
        assert op.arity >= 1 or op.arity == VARIADIC, op
        assert op.doc and op.doc.strip(), f"{op.name}: needs a one-line doc"
        assert op.structural == (op.sympy is STRUCTURAL)
        assert op.structural or callable(op.sympy), op
    assert repr(STRUCTURAL) == "STRUCTURAL"
    assert {op.name for op in ALL_OPS if op.structural} >= {"reshape", "matmul", "concatenate"}


# --- every surface: function, export, methods, NumPy dispatch -------------------------------------
@pytest.mark.parametrize("s", SURFACE_LIST, ids=SURFACE_IDS)
def test_surface_function_export_and_methods_exist(s):
    module = sys.modules[s.module]
    assert getattr(module, s.name) is s.fn
    assert s.fn.__doc__ and s.fn.__doc__.strip(), f"{s.name} has no docstring"
    if s.export:
        for name in (s.name, *s.aliases):
            assert getattr(ad, name) is s.fn and name in ad.__all__, name
    else:
        assert s.name not in ad.__all__
    for method, impl in s.methods.items():
        assert getattr(Tensor, method) is impl, method
    for u in s.ufuncs:
        assert _UFUNCS[u] is s.fn
    for f in s.array_functions:
        assert _ARRAY_FUNCTIONS[f] is s.fn


@pytest.mark.parametrize("s", [s for s in SURFACE_LIST if s.ops], ids=lambda s: s.name)
def test_surface_routes_to_its_op(s, rng):
    """Generated wrappers record their op; hand-written ones do in the spec's eager cases."""
    if _is_generated(s.fn):
        (op,) = s.ops
        assert s.fn.__doc__ == op.doc
        params = list(inspect.signature(s.fn).parameters)
        assert len(params) == op.arity
        xs = [ad.tensor(rng.uniform(0.5, 1.5, 3), requires_grad=True) for _ in params]
        out = s.fn(*xs)
        assert out._op is op and out._parents == tuple(xs)
        return
    table = op_specs.by_name()
    recorded = set()
    for op in s.ops:
        for case in table[op.name].eager:
            xs = [
                ad.tensor(x, requires_grad=True)
                for x in _inputs(case, case.shapes[0], rng)
                if x.dtype.kind == "f"
            ]
            out = case.fn(*xs)
            recorded |= {t._op for t in toposort([out]) if t._op is not None}
            recorded.add(out._op)  # a result without gradient (casts) is not walked
    assert set(s.ops) <= recorded, f"{s.name}: {set(s.ops) - recorded} never recorded"


def _inputs(case, shapes, rng):
    return [op_specs.sample(case.domain(i), shape, rng) for i, shape in enumerate(shapes)]


@pytest.mark.parametrize("ufunc", list(_UFUNCS), ids=lambda u: u.__name__)
def test_numpy_ufunc_dispatches_to_the_surface(ufunc, rng):
    fn = _UFUNCS[ufunc]
    a = ad.tensor(rng.uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    b = rng.uniform(0.5, 1.5, (2, 3))
    args = (a,) if ufunc.nin == 1 else (a, b)
    if ufunc is np.matmul:
        args = (a, b.T)
    out = ufunc(*args)
    assert isinstance(out, Tensor)
    assert out._op is not None  # on the graph
    np.testing.assert_array_equal(out.data, fn(*args).data)
    np.testing.assert_array_equal(out.data, ufunc(*[np.asarray(_data(x)) for x in args]))


def _data(x):
    return x.data if isinstance(x, Tensor) else x


# One call per NumPy function that dispatches to autodiff: (args builder, reference).
ARRAY_FUNCTION_CALLS = {
    np.sum: lambda t: ((t,), {"axis": 0}),
    np.mean: lambda t: ((t,), {"axis": 1, "keepdims": True}),
    np.max: lambda t: ((t,), {}),
    np.min: lambda t: ((t,), {"axis": -1}),
    np.prod: lambda t: ((t,), {}),
    np.var: lambda t: ((t,), {"ddof": 1}),
    np.std: lambda t: ((t,), {"axis": 0}),
    np.reshape: lambda t: ((t, (3, 2)), {}),
    np.transpose: lambda t: ((t,), {}),
    np.swapaxes: lambda t: ((t, 0, 1), {}),
    np.broadcast_to: lambda t: ((t, (4, 2, 3)), {}),
    np.squeeze: lambda t: ((t[None],), {}),
    np.expand_dims: lambda t: ((t, 1), {}),
    np.concatenate: lambda t: (([t, t],), {"axis": 1}),
    np.stack: lambda t: (([t, t],), {}),
    np.where: lambda t: ((t > 1.0, t, 0.0), {}),
    np.clip: lambda t: ((t, 0.8, 1.2), {}),
    np.dot: lambda t: ((t, np.ones(3)), {}),
    np.outer: lambda t: ((t[0], t[1]), {}),
    # autodiff.ops.special (tests/op_specs_math.py)
    np.round: lambda t: ((t, 1), {}),
    np.around: lambda t: ((t,), {"decimals": 2}),
    np.nan_to_num: lambda t: ((t,), {"nan": 1.0}),
    np.select: lambda t: (([t > 1.0, t < 0.7], [t, t * 2.0]), {"default": -1.0}),
    np.zeros_like: lambda t: ((t,), {}),
    np.ones_like: lambda t: ((t,), {"dtype": np.float32}),
    np.full_like: lambda t: ((t, 3.0), {}),
}
# NumPy functions whose result is a constant (no gradient), as in PyTorch and JAX.
CONSTANT_RESULTS = {np.zeros_like, np.ones_like, np.full_like}


_AREA_CALLS, _AREA_RTOL = op_specs.area_array_functions()
ARRAY_FUNCTION_CALLS |= _AREA_CALLS  # examples of the area spec files (tests/op_specs_<area>.py)


def test_every_array_function_has_a_dispatch_example():
    assert set(_ARRAY_FUNCTIONS) == set(ARRAY_FUNCTION_CALLS)


@pytest.mark.parametrize("func", list(ARRAY_FUNCTION_CALLS), ids=lambda f: f.__name__)
def test_numpy_array_function_dispatches_to_the_surface(func, rng):
    x = rng.uniform(0.5, 1.5, (2, 3))
    t = ad.tensor(x, requires_grad=True)
    args, kwargs = ARRAY_FUNCTION_CALLS[func](t)
    out = func(*args, **kwargs)
    plain_args, _ = ARRAY_FUNCTION_CALLS[func](x)
    expected = func(*plain_args, **kwargs)
    # functions with several results (np.linalg.eigh, svd, lstsq...) return tuples;
    # np.split, np.atleast_1d(a, b) return lists of tensors
    if isinstance(out, tuple | list):
        outs, refs = out, expected
    else:
        outs, refs = (out,), (expected,)
    assert isinstance(outs[0], Tensor)
    assert outs[0].requires_grad == (func not in CONSTANT_RESULTS)
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        if isinstance(o, Tensor):
            np.testing.assert_allclose(o.data, r, rtol=_AREA_RTOL.get(func, 1e-15))
        else:
            assert o == r


# --- public signatures stay what they were -------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "signature"),
    [
        (ad.exp, "(x)"),
        (ad.maximum, "(a, b)"),
        (ad.power, "(a, b)"),
        (ad.where, "(cond, a, b)"),
        (ad.heaviside, "(x, at_zero: 'float' = 0.5)"),
        # PyTorch's and NumPy 2's spellings are keyword-only additions (issue 13)
        (ad.sum, "(x, axis=None, keepdims=False, *, dim=None, keepdim=None)"),
        (
            ad.var,
            "(x, axis=None, keepdims=False, ddof: 'int' = 0, *, dim=None, keepdim=None, "
            "correction=None, unbiased=None)",
        ),
        (
            ad.clip,
            "(x, lo=None, hi=None, out=None, *, a_min=None, a_max=None, min=None, max=None)",
        ),
        (ad.reshape, "(x, shape)"),
        (ad.concatenate, "(xs, axis: 'int' = 0)"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_public_signatures(fn, signature):
    text = str(inspect.signature(fn)).split(" -> ")[0]
    assert text == signature


def test_generated_wrappers_take_keywords_and_report_the_op_on_bad_shapes():
    np.testing.assert_array_equal(ad.maximum(a=np.ones(2), b=np.zeros(2)).data, [1.0, 1.0])
    with pytest.raises(ad.ShapeError, match="maximum: cannot apply to operands of shapes"):
        ad.maximum(np.ones(2), np.ones(3))


def test_methods_match_functions(rng):
    x = ad.tensor(rng.uniform(0.5, 1.5, (2, 3)))
    np.testing.assert_array_equal(x.exp().data, ad.exp(x).data)
    np.testing.assert_array_equal(x.log1p().data, ad.log1p(x).data)
    np.testing.assert_array_equal(x.sum(1, True).data, ad.sum(x, 1, True).data)
    assert x.reshape(3, 2).shape == x.reshape((3, 2)).shape == (3, 2)
    assert x.transpose().shape == x.permute(1, 0).shape == (3, 2)
    assert x.expand(4, 2, 3).shape == (4, 2, 3)
    assert x.astype(np.float32).dtype == np.float32
    np.testing.assert_array_equal(abs(-x).data, x.data)  # operators stay direct methods


def test_declaring_a_public_name_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        unary("exp", np.exp, lambda x, o: o, lambda ns, x: ns.exp(x), "Elementwise exp again.")
    with pytest.raises(ValueError, match=r"Tensor.exp is already defined"):
        unary("exp2_", np.exp2, lambda x, o: o, lambda ns, x: 2**x, "Doc.", methods="exp")
    with pytest.raises(ValueError, match=r"numpy.sin is already dispatched"):
        unary("sin2_", np.sin, lambda x, o: o, lambda ns, x: ns.sin(x), "Doc.", ufunc=np.sin)
    with pytest.raises(ValueError, match="arity"):
        from autodiff.ops import register

        register(Op("bad", -2, np.negative, None, None, None))
    assert not {"exp2_", "sin2_", "bad"} & {op.name for op in ALL_OPS}  # nothing left behind
    assert not {"exp2_", "sin2_"} & set(SURFACES)


# --- a new elementwise op: one declaration plus one spec row --------------------------------------
@pytest.fixture
def cube():
    """A throwaway op declared like a library op, then removed with everything generated."""
    op = unary(
        "cube",
        lambda x: x * x * x,
        lambda x, o: 3.0 * x * x,
        lambda ns, x: x**3,
        "Elementwise ``x ** 3`` (a throwaway test op).",
        methods=True,
    )
    spec = op_specs.OpSpec(
        "cube",
        eager=(op_specs.unary("cube", ad.cube, lambda x: x**3),),
        lift=op_specs.LiftRow(lambda x: (ad.cube(x) * x[::-1]).sum(), ((3,),), ("real",)),
        reasons={"compile": "a throwaway op: compiled kernels are covered by the bridge table"},
        tolerances={"float32_value": 2e-4},
    )
    op_specs.SPECS.append(spec)
    op_specs.ALL_SPECS.append(spec)
    try:
        yield op, spec
    finally:
        op_specs.SPECS.remove(spec)
        op_specs.ALL_SPECS.remove(spec)
        retract("cube")
        unregister(op)


@pytest.fixture
def cbrt():
    """A throwaway op that also declares the NumPy ufunc it implements (np.arcsinh, the
    ufunc used here before, is now the library's ``asinh``)."""
    if np.cbrt in _UFUNCS:  # a library op took np.cbrt: use that declaration instead
        pytest.fail("np.cbrt is declared by a library op: pick another ufunc for this test")
    op = unary(
        "test_cbrt",
        np.cbrt,
        lambda x, o: 1.0 / (3.0 * o * o),
        lambda ns, x: ns.cbrt(x),
        "Elementwise cube root (a throwaway test op).",
        ufunc=np.cbrt,
        aliases="test_cuberoot",
    )
    try:
        yield op
    finally:
        retract("test_cbrt")
        unregister(op)


def test_new_op_is_one_declaration_and_one_spec(cube, rng):
    op, spec = cube
    assert op in ALL_OPS and not _missing_specs()
    # the generated surface: function, export, method
    assert ad.cube is SURFACES["cube"].fn and "cube" in ad.__all__
    assert ad.cube.__doc__ == op.doc
    x = ad.tensor([1.0, -2.0, 0.5], requires_grad=True)
    assert x.cube()._op is op
    np.testing.assert_array_equal(x.cube().data, [1.0, -8.0, 0.125])
    # the spec-driven checks the op-table suites run
    _run_eager_spec(spec, rng)
    _run_lift_spec(spec, rng)


def test_spec_tolerances_override_the_defaults(cube):
    _, spec = cube
    (case,) = spec.eager
    assert op_specs.tolerance(case, "float32_value") == 2e-4
    assert op_specs.tolerance(spec.lift, "lift") == op_specs.DEFAULT_TOLERANCES["lift"]
    with pytest.raises(KeyError, match="unknown tolerance"):
        op_specs.tolerance(case, "float16")


def test_removing_a_spec_makes_completeness_fail(cube):
    op, spec = cube
    op_specs.SPECS.remove(spec)
    op_specs.ALL_SPECS.remove(spec)
    try:
        assert _missing_specs() == ["cube"]
    finally:
        op_specs.SPECS.append(spec)
        op_specs.ALL_SPECS.append(spec)


def test_retracted_op_leaves_no_trace(cube):
    op, _ = cube
    retract("cube")
    unregister(op)
    try:
        assert not hasattr(ad, "cube") and "cube" not in ad.__all__
        assert not hasattr(Tensor, "cube") and "cube" not in SURFACES
        assert op not in ALL_OPS
    finally:  # put it back for the fixture's teardown
        from autodiff.ops import expose, register

        register(op)
        expose(op, methods=True, namespace=vars(sys.modules[__name__]))


def test_new_op_numpy_dispatch(cbrt, rng):
    x = rng.uniform(0.5, 1.5, 4)
    t = ad.tensor(x, requires_grad=True)
    out = np.cbrt(t)
    assert isinstance(out, Tensor) and out._op is cbrt
    assert ad.test_cuberoot is ad.test_cbrt
    check_grads(ad.test_cbrt, x, order=2, modes=("rev", "fwd"))


def _run_eager_spec(spec, rng):
    for case in spec.eager:
        for shapes in case.shapes:
            xs = _inputs(case, shapes, rng)
            np.testing.assert_allclose(case.fn(*[ad.tensor(x) for x in xs]).data, case.ref(*xs))
            check_grads(case.fn, *xs, order=2, modes=("rev", "fwd"))
            x32 = [x.astype(np.float32) for x in xs]
            out32 = case.fn(*[ad.tensor(x) for x in x32])
            assert out32.dtype == np.float32
            rtol = op_specs.tolerance(case, "float32_value")
            np.testing.assert_allclose(out32.data, case.ref(*xs), rtol=rtol, atol=rtol / 10)


def _run_lift_spec(spec, rng):
    """Lifted value and gradient at a fresh point equal the eager ones (one argument rows)."""
    import symdiff
    from symdiff.numeric import evaluate

    row = spec.lift
    (shape,), (domain,) = row.shapes, row.domains
    lifted = symdiff.lift(row.fn, op_specs.sample(domain, shape, rng))
    point = op_specs.sample(domain, shape, rng)
    values = lifted.flat_values(point)
    value = evaluate([lifted.output], lifted.all_symbols, values)[0]
    grad = evaluate(lifted.gradient(), lifted.all_symbols, values)
    np.testing.assert_allclose(float(value), float(row.fn(ad.tensor(point)).data), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grad, float), ad.grad(row.fn)(point), rtol=1e-12)

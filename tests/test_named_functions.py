"""One definition per named function (symdiff.functions.REGISTRY), checked against mpmath.

Each named function has four faces: its NumPy kernel (the one autodiff runs), its SymPy class,
its numba code-printer rule and its derivative rule (``fdiff``, or 0 for a kink). Every face is
compared with an mpmath evaluation at 30+ digits, extreme arguments (|x| up to 700) included,
and a completeness check makes sure no named function lacks a face.
"""

from __future__ import annotations

import inspect
import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import autodiff as ad
import symdiff.functions as functions
from autodiff.ops import elementwise, kernels
from bridge.printer import HELPERS, SUPPORTED_MATH, NumbaPrinter, helper_source
from symdiff.functions import BY_CLASS, KINKS, NUMPY_FUNCTIONS, REGISTRY, drop_dirac
from symdiff.numeric import evaluate
from symdiff.reverse import gradient_raw

DPS = 40
EXTREME = [-700.0, -300.0, -40.0, -1.5, -1e-8, 0.0, 1e-8, 0.75, 2.5, 40.0, 300.0, 700.0]


def _mp_step(x, at_zero=0.5):
    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf(at_zero))


# name -> (mpmath reference taking mpf arguments, argument tuples to test)
REFERENCE = {
    "sigmoid": (lambda x: 1 / (1 + mpmath.exp(-x)), [(v,) for v in EXTREME]),
    "softplus": (lambda x: mpmath.log1p(mpmath.exp(x)), [(v,) for v in EXTREME]),
    "relu": (lambda x: max(x, mpmath.mpf(0)), [(v,) for v in EXTREME]),
    "log1p": (mpmath.log1p, [(v,) for v in (-0.999, -1e-8, 0.0, 1e-12, 0.5, 700.0, 1e300)]),
    "expm1": (mpmath.expm1, [(v,) for v in EXTREME[:-1]]),  # e^700 is finite, e^709.8 not
    "logsumexp": (
        lambda *a: mpmath.log(mpmath.fsum(mpmath.exp(v) for v in a)),
        [
            (700.0, 699.5),
            (-700.0, 700.0),
            (-700.0, -699.0),
            (0.0, 0.0),
            (1e-8, -1e-8),
            (3.0, -2.0, 700.0),
            (-700.0, -700.0, -700.0),
        ],
    ),
    "Heaviside": (_mp_step, [(v,) for v in EXTREME] + [(0.0, 0.0), (0.0, 1.0), (-3.0, 0.0)]),
    "sign": (lambda x: mpmath.sign(x), [(v,) for v in EXTREME]),
    "floor": (mpmath.floor, [(v,) for v in (-700.0, -2.5, -1e-8, 0.0, 0.3, 2.0, 700.0)]),
    "ceiling": (mpmath.ceil, [(v,) for v in (-700.0, -2.5, -1e-8, 0.0, 0.3, 2.0, 700.0)]),
    # issue 13 (autodiff.ops.special); mpmath.nint rounds half to even, as NumPy's rint
    "rint": (mpmath.nint, [(v,) for v in (-700.5, -2.5, -1.5, -0.5, 0.0, 0.3, 0.5, 1.5, 2.5)]),
    "log2": (lambda x: mpmath.log(x, 2), [(v,) for v in (1e-30, 0.3, 1.0, 2.0, 700.0, 1e300)]),
    "log10": (mpmath.log10, [(v,) for v in (1e-30, 0.3, 1.0, 10.0, 700.0, 1e300)]),
    "exp2": (lambda x: mpmath.power(2, x), [(v,) for v in EXTREME]),
    "hypot": (
        lambda a, b: mpmath.sqrt(a * a + b * b),
        [(3.0, 4.0), (1e200, -1e200), (-1e-20, 1e-20), (0.0, -2.5), (-700.0, 0.75)],
    ),
    "erf": (mpmath.erf, [(v,) for v in EXTREME]),
    "erfc": (mpmath.erfc, [(v,) for v in (-700.0, -1.5, -1e-8, 0.0, 0.75, 2.5, 9.0, 26.0)]),
}


def _cases():
    return [(name, args) for name, (_, points) in REFERENCE.items() for args in points]


def _mp(name: str, args) -> mpmath.mpf:
    with mpmath.workdps(DPS):
        return REFERENCE[name][0](*(mpmath.mpf(a) for a in args))


def _close(got: float, want: mpmath.mpf, ulps: float = 4.0) -> bool:
    want = float(want)
    if got == want:
        return True
    return abs(got - want) <= ulps * np.spacing(abs(want)) + 1e-300  # tiny: subnormal noise


def _call(spec, args) -> sp.Expr:
    return spec.sympy(*(sp.Float(a, DPS) for a in args))


# --- completeness -----------------------------------------------------------------------------
def test_reference_covers_the_registry():
    assert set(REFERENCE) == set(REGISTRY)


def test_every_sympy_function_defined_in_symdiff_functions_is_registered():
    defined = {
        obj
        for _, obj in inspect.getmembers(functions, inspect.isclass)
        if issubclass(obj, sp.Function)
        and obj.__module__ == functions.__name__
        and not obj.__name__.startswith("_")
    }
    assert defined, "symdiff.functions defines no named function?"
    assert defined <= set(BY_CLASS), f"not registered: {defined - set(BY_CLASS)}"
    for name, cls in functions.NAMED_FUNCTIONS.items():
        assert REGISTRY[name].sympy is cls


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_named_function_has_all_four_faces(name):
    spec = REGISTRY[name]
    assert spec.name == name == spec.sympy.__name__
    # 1. NumPy kernel
    assert callable(spec.numpy)
    assert NUMPY_FUNCTIONS[name] is spec.numpy
    # 2. SymPy class with numeric evaluation and a rewrite
    assert issubclass(spec.sympy, sp.Function)
    args = REFERENCE[name][1][0]
    assert _call(spec, args).evalf(DPS).is_Number
    # 3. numba rule, valid for every target
    rule = spec.numba
    if rule.math is not None:
        for target, names in SUPPORTED_MATH.items():
            assert rule.math in names, f"{name}: math.{rule.math} not on {target}"
    else:
        assert rule.helper in HELPERS
        src = helper_source(rule.helper, "", "float64")
        assert f"def {rule.helper}(" in src and "{" not in src
    # 4. derivative rule
    x = sp.Symbol("x", real=True)
    call = spec.sympy(*([x] * len(args)))
    d = spec.derivative(call, 0)
    if spec.kink:
        assert d == 0 and spec.sympy in KINKS
    else:
        assert d == call.fdiff(1) and spec.sympy not in KINKS
        assert not d.has(sp.Derivative)


def test_autodiff_ops_run_the_registered_kernels():
    assert elementwise.SIGMOID.forward is REGISTRY["sigmoid"].numpy is kernels.sigmoid
    assert elementwise.SOFTPLUS.forward is REGISTRY["softplus"].numpy is kernels.softplus
    assert elementwise.RELU.forward is REGISTRY["relu"].numpy is kernels.relu
    assert elementwise.HEAVISIDE.forward is REGISTRY["Heaviside"].numpy is kernels.heaviside
    assert elementwise.SIGN.forward is REGISTRY["sign"].numpy is kernels.sign


def test_numba_rule_and_derivative_reject_misuse():
    with pytest.raises(ValueError, match="exactly one of math= or helper="):
        functions.NumbaRule()
    with pytest.raises(ValueError, match="does not define it"):
        functions.NumbaRule(helper="_nope", source="def _other(x):\n    return x\n")
    with pytest.raises(TypeError, match="sigmoid.derivative"):
        REGISTRY["sigmoid"].derivative(sp.Symbol("x"))
    with pytest.raises(TypeError, match="logaddexp takes at least 2 arguments"):
        kernels.logaddexp(np.array(1.0))


# --- the NumPy kernels ------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "args"), _cases())
def test_numpy_kernel_matches_mpmath(name, args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid warning at |x| = 700
        got = REGISTRY[name].numpy(*(np.float64(a) for a in args))
    assert np.asarray(got).dtype == np.float64
    assert _close(float(got), _mp(name, args)), (name, args, float(got), _mp(name, args))


def test_numpy_kernels_work_on_arrays_and_keep_float32():
    x = np.array([-700.0, -1.0, 0.0, 1.0, 700.0], dtype=np.float32)
    for name in ("sigmoid", "softplus", "relu", "Heaviside", "sign"):
        out = REGISTRY[name].numpy(x)
        assert out.shape == x.shape and out.dtype == np.float32, name
        ref = [float(_mp(name, (float(v),))) for v in x]
        np.testing.assert_allclose(out, np.float32(ref), rtol=2e-7, atol=0, err_msg=name)


def test_integer_inputs_are_promoted_not_truncated():
    # sigmoid of an int tensor is a probability, not int(0)
    out = ad.sigmoid(ad.tensor(np.array([-1, 0, 2]))).numpy()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [1 / (1 + math.e), 0.5, 1 / (1 + math.exp(-2))], rtol=1e-15)
    np.testing.assert_array_equal(kernels.heaviside(np.array([-1, 0, 2])), [0.0, 0.5, 1.0])


# --- the SymPy classes ------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "args"), _cases())
def test_sympy_class_matches_mpmath_at_30_digits(name, args):
    value = _call(REGISTRY[name], args).evalf(DPS)
    want = _mp(name, args)
    with mpmath.workdps(DPS):
        err = abs(mpmath.mpf(str(value)) - want)
        assert err <= mpmath.mpf(10) ** -30 * max(abs(want), mpmath.mpf(10) ** -300), (
            name,
            args,
            value,
            want,
        )


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "relu", "logsumexp"])
def test_sympy_class_rewrites_to_elementary_form(name):
    spec = REGISTRY[name]
    xs = sp.symbols("a b", real=True)[: len(REFERENCE[name][1][0])]
    call = spec.sympy(*xs)
    elementary = call.rewrite(sp.exp)
    assert not elementary.has(spec.sympy)
    # the elementary form is exact, not stable: log(1 + e^-700) rounds to 0 at any sane precision
    # (that is why the named class exists), so compare it at moderate arguments
    for args in [a for a in REFERENCE[name][1] if max(map(abs, a)) <= 40]:
        at = dict(zip(xs, (sp.Rational(a) for a in args)))
        got = elementary.xreplace(at).evalf(DPS)
        want = _mp(name, args)
        with mpmath.workdps(DPS):
            assert abs(mpmath.mpf(str(got)) - want) <= mpmath.mpf(10) ** -28 * max(
                abs(want), mpmath.mpf(10) ** -300
            ), (name, args)


# --- the numba rule ---------------------------------------------------------------------------
def _numba_kernel():
    """One njit kernel evaluating every registered function on its argument slots."""
    numba = pytest.importorskip("numba")
    names: dict = {}
    printer = NumbaPrinter(names, "float64", "cpu")
    cuda_printer = NumbaPrinter(names, "float64", "cuda")
    lines, slots = [], {}
    width = max(len(args) for _, args in _cases())
    symbols = sp.symbols(f"a0:{width}", real=True)
    names.update({s: f"x[{i}]" for i, s in enumerate(symbols)})
    for name, spec in REGISTRY.items():
        for n in sorted({len(a) for a in REFERENCE[name][1]}):
            expr = spec.sympy(*symbols[:n])
            code = printer.print_expr(expr)
            assert cuda_printer.print_expr(expr) == code  # one rule for every target
            slots[(name, n)] = len(lines)
            lines.append(f"    out[{len(lines)}] = {code}")
    printer.check_target()
    source = "import math\nimport numpy as np\nfrom numba import njit\n"
    source += "".join(helper_source(h, "@njit\n", "float64") for h in sorted(printer.helpers_used))
    source += "\n\n@njit\ndef kernel(x, out):\n" + "\n".join(lines) + "\n"
    namespace: dict = {}
    exec(compile(source, "<named-functions>", "exec"), namespace)  # noqa: S102 - our source
    assert namespace["njit"] is numba.njit
    return namespace["kernel"], slots, len(lines), width


@pytest.fixture(scope="module")
def numba_kernel():
    return _numba_kernel()


def test_printed_numba_code_matches_mpmath(numba_kernel):
    kernel, slots, n_out, width = numba_kernel
    out = np.empty(n_out)
    for name, args in _cases():
        x = np.zeros(width)
        x[: len(args)] = args
        kernel(x, out)
        got = out[slots[(name, len(args))]]
        assert _close(float(got), _mp(name, args)), (name, args, got)


def test_dirac_delta_is_dropped_in_one_place():
    x = sp.Symbol("x", real=True)
    assert drop_dirac(sp.diff(sp.Heaviside(x), x)) == 0
    assert drop_dirac(x * sp.DiracDelta(x, 1) + 2) == 2
    assert drop_dirac(3) == 3
    assert NumbaPrinter({x: "x0"}).print_expr(x + sp.DiracDelta(x)) == "x0 + 0.0"


# --- the derivative rule ----------------------------------------------------------------------
SMOOTH = [name for name, spec in REGISTRY.items() if not spec.kink]


@pytest.mark.parametrize(
    ("name", "args"),
    [(n, a) for n, a in _cases() if n in SMOOTH and not (n == "relu" and a[0] == 0.0)],
)
def test_derivative_rule_matches_mpmath_diff(name, args):
    spec = REGISTRY[name]
    xs = sp.symbols(f"a0:{len(args)}", real=True)
    call = spec.sympy(*xs)
    # exact arguments: evalf raises its working precision where sigma (1 - sigma) cancels
    at = dict(zip(xs, (sp.Rational(a) for a in args)))
    for i in range(len(args)):
        rule = spec.derivative(call, i)
        got = sp.sympify(rule).xreplace(at).evalf(DPS, maxn=2000)

        def partial(t, i=i):
            moved = [mpmath.mpf(a) for a in args]
            moved[i] = t
            return REFERENCE[name][0](*moved)

        # central difference with a step relative to |x|; e^-700 next to 1 needs ~400 more
        # digits in the difference quotient
        with mpmath.workdps(DPS + 420):
            at_i = mpmath.mpf(args[i])
            step = max(mpmath.mpf(1), abs(at_i)) * mpmath.mpf(10) ** -60
            want = mpmath.diff(partial, at_i, h=step)
        with mpmath.workdps(DPS):
            tol = mpmath.mpf(10) ** -28 * max(abs(want), mpmath.mpf(10) ** -300)
            assert abs(mpmath.mpf(str(got)) - want) <= tol, (name, args, i, got, want)


@pytest.mark.parametrize(("name", "args"), [(n, a) for n, a in _cases() if n not in SMOOTH])
def test_kink_rule_is_zero_where_mpmath_diff_is(name, args):
    spec = REGISTRY[name]
    x = sp.Symbol("x", real=True)
    call = spec.sympy(x, *(sp.Float(a) for a in args[1:]))
    assert spec.derivative(call, 0) == 0
    assert gradient_raw(call * x, [x]) == [call]  # reverse mode reads the same rule
    if args[0] != 0.0 and float(args[0]) != round(float(args[0])):
        with mpmath.workdps(DPS):
            assert mpmath.diff(lambda t: _mp(name, (t, *args[1:])), mpmath.mpf(args[0])) == 0


def test_reverse_mode_uses_fdiff_of_registered_classes():
    x = sp.Symbol("x", real=True)
    for name in SMOOTH:
        spec = REGISTRY[name]
        if len(REFERENCE[name][1][0]) == 2:  # logsumexp, hypot
            call = spec.sympy(x, 2 * x)
            want = spec.derivative(call, 0) + 2 * spec.derivative(call, 1)
        else:
            call = spec.sympy(x)
            want = spec.derivative(call, 0)
        (got,) = gradient_raw(call, [x])
        assert sp.simplify(got - want) == 0, name


def test_lambdify_evaluates_named_functions_with_the_stable_kernels():
    x, y = sp.symbols("x y", real=True)
    exprs = [
        REGISTRY["sigmoid"].sympy(x),
        REGISTRY["softplus"].sympy(x),
        REGISTRY["logsumexp"].sympy(x, y),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = evaluate(exprs, [x, y], [-800.0, 800.0])
    np.testing.assert_array_equal(got, [0.0, 0.0, 800.0])
    got = evaluate(exprs, [x, y], [800.0, 799.0])
    np.testing.assert_allclose(got, [1.0, 800.0, 800.0 + math.log1p(math.exp(-1.0))])

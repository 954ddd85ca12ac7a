"""Lists of tensors on the graph, and conversions that would silently drop a gradient.

Every autodiff function stacks (nested) lists/tuples holding tensors on the graph; turning a
tensor that requires grad into a NumPy array or a Python number while a transform traces the
function raises ``ad.ConversionError``; implicit NumPy arrays (``np.asarray``, SciPy) of such
a tensor are refused outside transforms too, as in PyTorch. Under ``no_grad``, and for Python
numbers outside transforms, conversions work. Until every transform pushes ``tracing(...)``
itself, the tests that need the transform context wrap the traced call in ``tracing("grad")``
explicitly (see ``_traced``).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.special

import autodiff as ad
from autodiff.grad_mode import active_transforms, tracing
from autodiff.testing import check_grads


def _traced(f, who="grad"):
    """``f`` called inside ``tracing(who)``, as a transform runs it (idempotent when nested)."""

    def wrapper(*args):
        with tracing(who):
            return f(*args)

    return wrapper


def _mp_derivative(f, x: float) -> float:
    """d f / dx at x by mpmath's high-precision numerical differentiation (an outside oracle)."""
    with mpmath.workdps(40):
        return float(mpmath.diff(f, mpmath.mpf(x)))


# --- 1. lists / tuples of tensors are stacked on the graph ------------------------------------
def test_grad_of_mean_of_a_list_of_tensors_reproducer():
    assert float(ad.grad(lambda x: ad.mean([x, x + 2]))(0.0)) == 1.0


def test_grad_of_exp_of_a_list_of_tensors_reproducer():
    assert float(ad.grad(lambda x: ad.exp([x, x]).sum())(0.0)) == 2.0


@pytest.mark.parametrize("x0", [-0.7, 0.3, 1.9])
def test_list_operands_agree_with_mpmath(x0):
    def f(x):
        v = ad.sin([[x, x * x], (x, 2.0)])  # nested, with a constant
        return ad.logsumexp(v) + ad.var([x, ad.exp(x), 1.0]) + ad.prod((x, x + 1.0))

    def oracle(x):
        items = [mpmath.sin(x), mpmath.sin(x * x), mpmath.sin(x), mpmath.sin(2)]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in items))
        vals = [x, mpmath.exp(x), mpmath.mpf(1)]
        mean = mpmath.fsum(vals) / 3
        var = mpmath.fsum((v - mean) ** 2 for v in vals) / 3
        return lse + var + x * (x + 1)

    got = float(ad.grad(f)(x0))
    assert got == pytest.approx(_mp_derivative(oracle, x0), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "label, fn",
    [
        ("add", lambda x, y: ad.maximum([x, y], [y, x]).sum() + (ad.stack([x, y]) + [y, x]).sum()),
        ("unary", lambda x, y: ad.tanh([[x, y], [y * x, 1.0]]).sum()),
        ("sum axis", lambda x, y: ad.sum([[x, y], [y, x * x]], axis=0)[1]),
        ("max", lambda x, y: ad.max([x, 2 * y + 5.0])),
        ("softmax", lambda x, y: ad.softmax([x, y, x * y])[0]),
        ("log_softmax", lambda x, y: ad.log_softmax((x, y))[1]),
        ("std", lambda x, y: ad.std([x, y, x + y], ddof=1)),
        ("reshape", lambda x, y: ad.reshape([x, y, x, y], (2, 2))[1, 0] * y),
        (
            "transpose",
            lambda x, y: (ad.transpose([[x, y], [1.0, 2.0]]) * [[1.0, 2.0], [3, 4]]).sum(),
        ),
        ("concatenate", lambda x, y: (ad.concatenate([[x, y], [y]]) ** 2).sum()),
        ("stack nested", lambda x, y: (ad.stack([[x, y], (y, x)]) ** 3).sum()),
        ("squeeze", lambda x, y: ad.squeeze([[x * y]]) * x),
        ("matmul", lambda x, y: ad.matmul([[x, y], [y, 1.0]], [x, 2.0]).sum()),
        ("dot", lambda x, y: ad.dot([x, y], (y, x))),
        ("outer", lambda x, y: ad.outer([x, y], [1.0, x]).sum()),
        ("where", lambda x, y: ad.where([True, False], [x, y], [y * y, x * x]).sum()),
        ("clip", lambda x, y: ad.clip([x, y], -0.5, 0.5).sum() + x * y),
        ("power", lambda x, y: ad.power([x, y], [2.0, x]).sum()),
        ("operators", lambda x, y: (ad.as_tensor(x) * [y, x]).sum() + ([x, 2.0] / y).sum()),
    ],
)
def test_every_kind_of_function_accepts_lists_of_tensors(label, fn):
    # Finite differences (autodiff.testing.check_grads) as the oracle, first and second order.
    x0, y0 = np.array(0.8), np.array(1.3)
    check_grads(lambda x, y: fn(x, y), x0, y0, order=2)
    gx, gy = ad.grad(fn, argnums=(0, 1))(x0, y0)
    assert abs(gx) + abs(gy) > 0  # the list elements really are on the graph


def test_float32_elements_stay_float32_when_stacked():
    x = ad.tensor(np.float32(1.5), requires_grad=True)
    y = ad.exp([x, 2.0, (x * x)])
    assert y.dtype == np.float32 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, math.exp(1.5) + 2 * 1.5 * math.exp(2.25), rtol=1e-6)


def test_as_tensor_is_exported_and_ragged_lists_raise_clearly():
    x = ad.tensor(1.0, requires_grad=True)
    assert ad.as_tensor([x, x]).shape == (2,)
    assert ad.as_tensor(np.ones(3)).shape == (3,)
    with pytest.raises(ValueError, match="stack: all tensors need the same shape"):
        ad.exp([x, [x, x]])


def test_lists_of_plain_numbers_are_still_constants():
    out = ad.exp([0.0, 1.0])
    assert not out.requires_grad and out.dtype == np.float64
    np.testing.assert_allclose(out.data, np.exp([0.0, 1.0]))


# --- 1. conversions inside differentiated functions raise ---------------------------------------
def _np_array_of_tensors(x):
    return np.array([x, 2 * x]).sum()


def _np_r(x):
    return np.r_[x, x].sum()


def _scipy_logsumexp(x):
    return scipy.special.logsumexp(x)


CONVERSIONS = [
    ("np.array of a list", _np_array_of_tensors, 1.0, r"ad\.stack"),
    ("np.r_", _np_r, np.ones(2), r"__array__"),
    ("scipy", _scipy_logsumexp, np.zeros(3), r"ad\.logsumexp|autodiff function"),
    ("ufunc of a list", lambda x: np.multiply([x, x], 2.0).sum(), 1.0, r"ad\.stack"),
    ("np.asarray", lambda x: np.asarray(x).sum(), np.ones(2), r"np\.asarray"),
    ("float", lambda x: float(x), 1.0, r"float\(\)"),
    ("math", lambda x: math.atan(x), 1.0, r"math\.\*"),
    ("int", lambda x: int(x), 1.0, r"int\(\)"),
    ("complex", lambda x: complex(x), 1.0, r"complex\(\)"),
    ("item", lambda x: x.item(), 1.0, r"\.item\(\)"),
    ("tolist", lambda x: sum(x.tolist()), np.ones(2), r"\.tolist\(\)"),
    ("numpy", lambda x: x.numpy().sum(), np.ones(2), r"\.numpy\(\)"),
    ("ad.tensor", lambda x: ad.tensor(x).sum(), np.ones(2), r"Tensor\(t\)"),
    ("ad.tensor of a list", lambda x: ad.tensor([x, x]).sum(), 1.0, r"ad\.stack"),
]


@pytest.mark.parametrize("label, fn, arg, pattern", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_conversion_inside_grad_raises_a_clear_error(label, fn, arg, pattern):
    with pytest.raises(ad.ConversionError, match=pattern) as info:
        ad.grad(_traced(fn))(arg)
    message = str(info.value)
    assert "requires grad" in message and "stop_gradient" in message and "detach" in message
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("who", ["jvp", "lift", "hessian"])
def test_conversion_error_names_the_transform(who):
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with tracing(who), pytest.raises(ad.ConversionError, match=rf"\({who}\)"):
        float(x.sum())


@pytest.mark.parametrize("label, fn, arg, pattern", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_end_to_end_through_grad(label, fn, arg, pattern):
    # Passes once every transform pushes tracing(...) itself; until then _traced adds it (a
    # nested tracing("grad") is harmless).
    with pytest.raises(ad.ConversionError):
        ad.grad(_traced(fn))(arg)
    with pytest.raises(ad.ConversionError):
        ad.value_and_grad(_traced(fn))(arg)


@pytest.mark.parametrize(
    "fn, arg",
    [
        (_np_array_of_tensors, 1.0),
        (_np_r, np.ones(2)),
        (_scipy_logsumexp, np.zeros(3)),
        (lambda x: np.multiply([x, x], 2.0).sum(), 1.0),
    ],
    ids=["np.array", "np.r_", "scipy.special.logsumexp", "ufunc of a list"],
)
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacobian", "hessian"])
def test_issue_reproducers_raise_through_the_plain_transforms(fn, arg, transform):
    # No explicit tracing(): implicit NumPy arrays of a grad-carrying tensor are refused
    # whenever grad mode is on, so these hold on this branch alone.
    with pytest.raises(ad.ConversionError, match=r"ad\.stack"):
        getattr(ad, transform)(fn)(arg)


def test_stop_gradient_makes_a_deliberate_conversion_work():
    def f(x):
        scale = float(ad.stop_gradient(x).sum())  # a constant on purpose
        return (x * scale).sum() + scipy.special.logsumexp(x.detach()) * 0.0

    g = ad.grad(_traced(f))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [3.0, 3.0])
    assert ad.stop_gradient(2.0).requires_grad is False
    x = ad.tensor([1.0], requires_grad=True)
    assert ad.stop_gradient(x).data is x.data and not ad.stop_gradient(x).requires_grad


def test_conversions_under_no_grad_inside_a_transform_work():
    def f(x):
        with ad.no_grad():
            assert "grad" in active_transforms()
            shift = float(x.sum()) + np.asarray(x).max() + x.item() * 0
        return (x * x).sum() + shift

    np.testing.assert_allclose(ad.grad(_traced(f))(np.array([2.0])), [4.0])


def test_conversions_of_constants_inside_a_transform_work():
    c = ad.tensor([1.0, 2.0])

    def f(x):
        return (x * float(c.sum()) * np.asarray(c)).sum() + np.exp(c).sum()

    np.testing.assert_allclose(ad.grad(_traced(f))(np.zeros(2)), [3.0, 6.0])


def test_conversions_outside_transforms_work():
    x = ad.tensor([1.5, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    assert float(loss) == 6.25 and loss.item() == 6.25 and int(loss) == 6
    assert complex(loss) == 6.25 + 0j
    assert x.tolist() == [1.5, 2.0]
    assert math.isclose(math.sqrt(loss), 2.5)
    copied = ad.tensor(x)  # like torch.tensor(t): a copy cut from the graph
    assert not copied.requires_grad and copied.data is not x.data
    np.testing.assert_array_equal(ad.tensor([x, x]).data, [[1.5, 2.0], [1.5, 2.0]])
    # Arrays need detach() (or no_grad), as PyTorch's numpy() does.
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.5, 2.0])
    assert x.numpy() is x.data  # an explicit request for the raw array
    with ad.no_grad():
        np.testing.assert_array_equal(np.asarray(x), [1.5, 2.0])
        np.testing.assert_array_equal(np.array([x, x]), [[1.5, 2.0], [1.5, 2.0]])
        assert x.numpy() is x.data
    plain = ad.tensor([1.0, 2.0])  # no gradient at stake: always an array
    assert np.asarray(plain) is plain.data and plain.numpy() is plain.data


@pytest.mark.parametrize(
    "convert",
    [
        lambda x: np.asarray(x),
        lambda x: np.array([x[0], x[1]]),
        lambda x: scipy.special.logsumexp(x),
        lambda x: np.multiply([x, x], 2.0),
    ],
)
def test_arrays_from_tensors_requiring_grad_raise_outside_transforms_too(convert):
    x = ad.tensor([1.5, 2.0], requires_grad=True)
    with pytest.raises(ad.ConversionError, match="while grad mode is on.*detach"):
        convert(x)
    with pytest.raises(ad.ConversionError):
        convert(x * 2)  # non-leaf tensors too


def test_float_of_a_multi_element_tensor_raises():
    with pytest.raises(TypeError, match=r"float\(\): only a one-element tensor.*\(2,\)"):
        float(ad.tensor([1.0, 2.0]))


# --- 3. no aliasing of the caller's data --------------------------------------------------------
def test_tensor_copies_the_callers_array():
    a = np.array([1.0, 2.0, 3.0])
    x = ad.tensor(a, requires_grad=True)
    y = (x * x).sum()
    a[:] = 10.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda a: ad.tensor(a),
        lambda a: ad.Tensor(a),
        lambda a: ad.tensor(a[::2]),
        lambda a: ad.Tensor(a.reshape(-1, 1)),
        lambda a: ad.tensor(ad.Tensor(a)),
        lambda a: ad.tensor(a, dtype=np.float64),
    ],
)
def test_no_constructor_aliases(make):
    a = np.arange(4.0)
    t = make(a)
    assert not np.shares_memory(t.data, a)


def test_float32_array_is_kept_and_copied():
    a = np.ones(3, dtype=np.float32)
    t = ad.tensor(a)
    assert t.dtype == np.float32 and not np.shares_memory(t.data, a)


# --- 4. complex ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: ad.tensor([1 + 2j], requires_grad=True),
        lambda: ad.Tensor(np.ones(2, dtype=np.complex64), requires_grad=True),
        lambda: ad.tensor([1j]).requires_grad_(),
        lambda: ad.grad(lambda z: z.sum())(np.array([1 + 2j])),
        lambda: ad.grad(lambda z: z)(1j),
        lambda: ad.jvp(lambda z: z, (1.0,), (1j,)),
        lambda: ad.jacobian(lambda z: z)(ad.tensor([1j])),
        lambda: ad.grad(lambda x: (x * 1j).real if False else (x * 1j).sum())(1.0),
    ],
)
def test_complex_differentiation_is_refused(make):
    with pytest.raises(TypeError, match="complex differentiation is not supported"):
        make()


def test_complex_tensors_without_grad_still_work():
    z = ad.tensor([1 + 2j, 3j])
    assert z.dtype == np.complex128
    np.testing.assert_allclose((z * z).data, np.array([1 + 2j, 3j]) ** 2)

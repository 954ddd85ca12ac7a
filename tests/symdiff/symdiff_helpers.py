"""Shared helpers: eager derivatives of a function of several arrays, and lifted numerics."""

from __future__ import annotations

import numpy as np

import autodiff as ad
import symdiff
from symdiff.numeric import evaluate


def flat_function(f, shapes):
    """``f`` as a function of one flat vector holding all arguments, C order."""

    def g(v):
        args, start = [], 0
        for shape in shapes:
            n = int(np.prod(shape, dtype=np.int64))
            args.append(ad.reshape(v[start : start + n], shape))
            start += n
        return ad.reshape(f(*args), ())

    return g


def eager_all(f, args):
    """Eager value, gradient and Hessian of scalar ``f`` w.r.t. all args, flattened."""
    shapes = [np.shape(a) for a in args]
    g = flat_function(f, shapes)
    x = np.concatenate([np.asarray(a, float).ravel() for a in args])
    value = float(np.asarray(f(*[ad.tensor(a) for a in args]).data))
    return value, np.asarray(ad.grad(g)(x)), np.asarray(ad.hessian(g)(x))


def lifted_all(lifted, args):
    """Value, gradient and dense Hessian of a lifted scalar function, evaluated at ``args``."""
    syms = lifted.all_symbols
    values = lifted.flat_values(*args)
    value = evaluate([lifted.output], syms, values)[0]
    grad = evaluate(lifted.gradient(), syms, values)
    h = lifted.hessian()
    n = len(lifted.variables)
    dense = np.zeros((n, n))
    dense[h.rows, h.cols] = evaluate(h.values, syms, values)
    return value, grad, dense


def assert_close(actual, expected, rtol=1e-10, what=""):
    """``|a - b| <= rtol * max(1, |b|)`` entrywise."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    assert np.all(err <= rtol), f"{what}: max relative error {err.max():.3e}"


def lift_and_compare(f, args, points, rtol=1e-10):
    """Lift ``f`` at ``args``; compare value/gradient/Hessian with eager at each point."""
    lifted = symdiff.lift(f, *args)
    for point in points:
        v_e, g_e, h_e = eager_all(f, point)
        v_l, g_l, h_l = lifted_all(lifted, point)
        assert_close(v_l, v_e, rtol, "value")
        assert_close(g_l, g_e, rtol, "gradient")
        assert_close(h_l, h_e, rtol, "hessian")
    return lifted

"""Array mode and ops without an array emitter: ``mode="array"`` names the op;
``mode="auto"`` falls back to scalar formulas only when they are small, else names the op and
the way out. (Every op of the table has an emitter today: a throwaway op stands in.)"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import bridge
from autodiff.ops.base import Op
from autodiff.tensor import apply

MYSTERY = Op(
    "mystery",
    1,
    np.negative,
    lambda g, out, x: (-g,),
    lambda t, out, x: -t[0],
    None,
    doc="A throwaway op (never registered).",
)


def test_array_mode_names_the_op_without_emitter():
    x = np.linspace(-1.0, 1.0, 1200)
    with pytest.raises(bridge.UnsupportedExpressionError, match="mystery"):
        bridge.compile(lambda x: ad.sum(apply(MYSTERY, x) * x), x, mode="array")


def test_auto_mode_refuses_a_large_scalar_fallback_naming_the_op():
    x = np.linspace(-1.0, 1.0, 1200)

    def f(x):
        return ad.sum(apply(MYSTERY, ad.outer(x, x)))  # 1.44 million elements

    with pytest.raises(bridge.UnsupportedExpressionError, match="mystery.*mode='scalar'"):
        bridge.compile(f, x)

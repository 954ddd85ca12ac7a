"""Names that explain themselves: output kinds of generated stores, per-target math sets."""

from __future__ import annotations

import pytest
import sympy as sp

from bridge.errors import UnsupportedExpressionError
from bridge.options import TARGETS
from bridge.printer import SUPPORTED_MATH, NumbaPrinter
from bridge.reroll import GRAD_ENTRY, HESS_ENTRY, OUTPUT_KINDS, VALUE_TERM, Item


def test_output_kinds_are_named_and_checked():
    assert OUTPUT_KINDS == (VALUE_TERM, GRAD_ENTRY, HESS_ENTRY)
    x = sp.Symbol("x")
    assert Item(x, GRAD_ENTRY, (0,)).kind == GRAD_ENTRY
    with pytest.raises(ValueError, match="unknown output kind 'grad'"):
        Item(x, "grad", (0,))


def test_every_target_has_its_math_set():
    assert set(SUPPORTED_MATH) == set(TARGETS)
    for target in TARGETS:
        assert {"exp", "log1p", "expm1", "floor", "ceil"} <= SUPPORTED_MATH[target]


@pytest.mark.parametrize("target", TARGETS)
def test_math_function_missing_on_a_target_is_named(target):
    x = sp.Symbol("x")
    printer = NumbaPrinter({x: "x0"}, target=target)
    assert printer.print_expr(sp.factorial(x)) == "math.factorial(x0)"
    with pytest.raises(UnsupportedExpressionError, match=f"target '{target}' cannot run factorial"):
        printer.check_target()

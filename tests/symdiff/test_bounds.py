"""Bounded work: the parser and the formula CLI never hang or crash; lift fails fast."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import symdiff
from symdiff.cli import formula_cli
from symdiff.parse import MAX_DEPTH, MAX_DIGITS, parse_expression

BAD = [
    "9**9**9",
    "10**10**10",
    "2**100000*x",
    "1" + "0" * 4000,
    "+".join(["x"] * 4001),
    "*".join(["x"] * 2001),
    "(" + "-" * 9000 + "x)",
    "1e400*x",
]


@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_parser_rejects_with_a_value_error(text):
    with pytest.raises(ValueError, match="parse_expression: .*limit|float range"):
        parse_expression(text)


@pytest.mark.parametrize("text", BAD + ["sin(" * 150 + "x" + ")" * 150])
def test_cli_one_line_error_exit_2(text, capsys):
    assert formula_cli([text, "--order", "2"]) in (0, 2)
    err = capsys.readouterr().err
    if err:
        assert err.count("\n") == 1 and err.startswith("hybriddiff formula: error:")


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["x", "--order", "1000000000"], "--max-order"),
        (["exp(x*y)", "--order", "40"], "--max-order"),
        (["*".join(f"x{i}" for i in range(1, 13)), "--order", "8"], "--max-entries"),
    ],
)
def test_cli_limits_name_the_override(argv, flag, capsys):
    assert formula_cli(argv) == 2
    assert flag in capsys.readouterr().err


def test_cli_timeout(capsys):
    args = "Max(" + ",".join(f"x{i}" for i in range(1, 41)) + ")"
    code = formula_cli([args, "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert code == 0 or (code == 2 and "--timeout" in err)


def test_limits_are_documented_numbers():
    assert MAX_DEPTH >= 100 and MAX_DIGITS >= 100
    assert parse_expression("2**100*x")[0].args[0] == 2**100


def test_parser_keeps_rejecting_unsafe_input():
    for text in ["x.__class__", "__import__('os')", "lambda: 1", "f(x=1)"]:
        with pytest.raises(ValueError):
            parse_expression(text)


ALPHABET = list("0123456789+-*/^().,ex ") + ["**", "sin(", "exp(", "x", "y", "Max("]


@settings(max_examples=200, deadline=2000)
@given(st.lists(st.sampled_from(ALPHABET), max_size=60).map("".join))
def test_fuzz_parser_parses_or_raises_value_error(text):
    with contextlib.suppress(ValueError):  # anything else (or a hang) fails the test
        parse_expression(text)


def test_lift_matmul_too_large_fails_fast():
    a = np.ones((300, 300))
    with pytest.raises(symdiff.LiftTooLarge, match="matmul.*max_terms"):
        symdiff.lift(lambda a, b: (a @ b).sum(), a, a)


def test_lift_max_terms_override():
    a = np.ones((4, 4))
    with pytest.raises(symdiff.LiftTooLarge, match="max_terms = 10"):
        symdiff.lift(lambda a, b: (a @ b).sum(), a, a, max_terms=10)
    assert symdiff.lift(lambda a, b: (a @ b).sum(), a, a).expr is not None


def test_hessian_of_long_product_is_refused():
    lifted = symdiff.lift(ad.prod, np.ones(400))
    with pytest.raises(symdiff.LiftTooLarge, match="hessian.*max_terms"):
        lifted.hessian()

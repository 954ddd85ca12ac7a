"""A pickled Compiled carries its expression as linear DAG text, not srepr.

srepr walks an expression as a tree: on a lifted loop with shared subexpressions
(``y = sin(y) * y + x`` repeated) it is exponential. The pickle holds the same linear text
the compile-time cache key hashes, so a warm unpickle finds its kernel without reading it,
and a cold one reads it with a whitelist parser (never ``eval``).
"""

from __future__ import annotations

import pickle

import numpy as np
import sympy as sp

import autodiff as ad
import bridge
from bridge.api import expression_key
from bridge.safe_srepr import parse_dag

N = 120


def chain(x):
    y = x
    for _ in range(N):
        y = ad.sin(y) * y + x
    return y


def test_dag_text_round_trips_a_deep_shared_expression():
    x = sp.Symbol("x")
    y = x
    for _ in range(200):
        y = sp.sin(y) * y + sp.Rational(1, 3) * x
    text = expression_key(y)
    assert len(text) < 200 * 200  # linear: srepr of this would not fit in memory
    back = parse_dag(text)
    assert expression_key(back) == text


def test_pickled_deep_compiled_round_trips_and_agrees():
    compiled = bridge.compile(chain, 0.3)
    payload = pickle.dumps(compiled)
    assert len(payload) < 100 * N * 20
    request = compiled.__reduce__()[1][0]["request"]
    assert request[0].startswith("dag1\n")
    again = pickle.loads(payload)
    xs = np.array([[0.3], [-0.4]])
    np.testing.assert_array_equal(again.value(xs), compiled.value(xs))
    np.testing.assert_array_equal(again.hessian(xs), compiled.hessian(xs))

"""bridge.compile on a lifted DAG with shared subexpressions (linear cache key and codegen)."""

from __future__ import annotations

import numpy as np

import autodiff as ad
import bridge
from bridge.api import expression_key

N = 200


def chain(x):
    y = x
    for _ in range(N):
        y = ad.sin(y) * y + x
    return y


def test_compile_dag_value_and_grad(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path))
    c = bridge.compile(chain, 0.3, derivatives=("value", "grad"))
    eager_v = float(np.asarray(chain(ad.tensor(0.3)).data))
    eager_g = float(np.asarray(ad.grad(chain)(0.3)))
    np.testing.assert_allclose(c.value([0.3]), eager_v, rtol=1e-9)
    np.testing.assert_allclose(c.grad([0.3]), [eager_g], rtol=1e-9)
    assert expression_key(c.expr) == expression_key(c.expr)

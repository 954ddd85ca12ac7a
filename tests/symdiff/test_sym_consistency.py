"""check_consistency: eager reverse/forward vs lifted symbolic vs finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import symdiff


def test_check_consistency_agrees_on_smooth_function():
    def f(x, y):
        return (ad.tanh(x) * x * y + ad.softplus(x) * ad.sigmoid(y)).sum()

    report = symdiff.check_consistency(f, np.array([0.3, -1.2]), 0.7)
    assert report.ok
    assert report.max_error < 1e-6
    assert {c.quantity for c in report.comparisons} == {"gradient", "hessian"}
    assert {c.second for c in report.comparisons} == {"reverse", "forward", "finite-diff"}


def test_check_consistency_order_one_vector_output_uses_jacobian():
    report = symdiff.check_consistency(lambda x: ad.sin(x) * x, np.array([0.3, -1.2]), order=1)
    assert [c.quantity for c in report.comparisons] == ["jacobian"] * 3
    assert report.ok


def test_check_consistency_raises_with_a_table_on_disagreement():
    # At relu's kink the convention relu'(0) = 0 differs from the central difference 1/2.
    with pytest.raises(symdiff.ConsistencyError, match=r"finite-diff .*DISAGREE"):
        symdiff.check_consistency(lambda x: ad.relu(x).sum(), np.array([0.0, 1.0]))


def test_check_consistency_report_without_raising():
    report = symdiff.check_consistency(
        lambda x: ad.relu(x).sum(), np.array([0.0, 1.0]), raise_on_error=False
    )
    assert not report.ok
    assert report.max_error >= 0.5 / 1.5  # gradient: 0 against the central difference 1/2
    assert "DISAGREE" in str(report)


def test_check_consistency_rejects_bad_order():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        symdiff.check_consistency(lambda x: x, 1.0, order=3)

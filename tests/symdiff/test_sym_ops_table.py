"""Every op of ``autodiff.ops.ALL_OPS``: lifted value, gradient and Hessian equal the eager ones.

The rows come from the one op-spec table (``tests/op_specs.py``, the ``lift`` face): a small
scalar test function that exercises the op, the argument shapes and the input domain of each
argument. Lifting happens at one random point and the lifted formulas are evaluated at other
random points, so frozen trace-time values would show up.
"""

from __future__ import annotations

import numpy as np
import op_specs
import pytest
from symdiff_helpers import lift_and_compare

from autodiff.ops import ALL_OPS

ROWS = op_specs.lift_rows()


def _points(row: op_specs.LiftRow, seed: int, n: int = 3) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        [op_specs.sample(domain, shape, rng) for shape, domain in zip(row.shapes, row.domains)]
        for _ in range(n)
    ]


def test_op_table_covers_every_op():
    missing = sorted(op.name for op in ALL_OPS if op.name not in ROWS)
    assert not missing, f"ops without a lift row in tests/op_specs.py: {missing}"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_op_lifted_matches_eager(name):
    row = ROWS[name]
    seed = sorted(ROWS).index(name)
    trace, *points = _points(row, seed, n=4)
    lifted = lift_and_compare(row.fn, trace, points, rtol=op_specs.tolerance(row, "lift"))
    assert len(lifted.variables) == sum(int(np.prod(s)) for s in row.shapes)

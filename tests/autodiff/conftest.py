"""The autodiff op tests draw their cases from the one op-spec table, ``tests/op_specs.py``.

Every primitive in ``autodiff.ops.ALL_OPS`` (and every composite) has an :class:`OpSpec` whose
``eager`` cases give the function, its NumPy reference, the argument shapes and the input
domain of each argument. Tests receive the cases through the ``*_case`` parameters (see
``pytest_generate_tests``); ``op_table`` gives op name -> cases to the completeness test.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import op_specs
import pytest
from op_specs import Case

Shape = tuple[int, ...]


def _make_inputs(case: Case, shapes, rng, dtype=np.float64) -> list[np.ndarray]:
    """One input array per argument of ``case``."""
    return [op_specs.sample(case.domain(i), s, rng).astype(dtype) for i, s in enumerate(shapes)]


OP_CASES = op_specs.eager_cases(composite=False)
ALL_CASES = OP_CASES + op_specs.eager_cases(composite=True)
PARAMETERS = {
    "op_case": OP_CASES,  # every case of every primitive
    "any_case": ALL_CASES,  # the primitives and the composites
    "diff_case": [(n, c) for n, c in ALL_CASES if c.differentiable],
    "float32_case": [(n, c) for n, c in ALL_CASES if c.differentiable and "float32" in c.dtypes],
    "comparison_case": [
        (n, c)
        for n, c in OP_CASES
        if not c.differentiable and n not in ("stable_shift", "cast_discrete")
    ],
    "elementwise_case": [(n, c) for n, c in OP_CASES if c.broadcast and c.differentiable],
    "kink_case": op_specs.kinks(),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the ``*_case`` arguments of a test over the matching rows (see PARAMETERS)."""
    for argname, pairs in PARAMETERS.items():
        if argname in metafunc.fixturenames:
            ids = [f"{name}[{case.label}]" for name, case in pairs]
            metafunc.parametrize(argname, [case for _, case in pairs], ids=ids)


@pytest.fixture
def op_table() -> dict[str, list[Case]]:
    """Op name -> its eager cases (primitives only)."""
    return {s.name: list(s.eager) for s in op_specs.ALL_SPECS if not s.composite}


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so that every failure reproduces."""
    return np.random.default_rng(20261128)


@pytest.fixture(scope="session")
def sample() -> Callable[..., np.ndarray]:
    """The function ``sample(domain, shape, rng)`` (session-scoped: usable under hypothesis)."""
    return op_specs.sample


@pytest.fixture(scope="session")
def make_inputs() -> Callable[..., list[np.ndarray]]:
    """``make_inputs(case, shapes, rng, dtype=float64)``: one input array per argument."""
    return _make_inputs

"""Shared test setup: this directory holds ``op_specs.py``, the one op-spec table that the
``autodiff``, ``symdiff`` and ``bridge`` op-table tests draw from (pytest puts the directory of
this conftest on ``sys.path``, so ``import op_specs`` works from every suite)."""

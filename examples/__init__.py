"""Runnable examples (from a source checkout).

``python -m examples.maml_sinusoid`` and ``python -m examples.derivative_formulas``.
"""

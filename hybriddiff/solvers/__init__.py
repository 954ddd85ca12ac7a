"""Building blocks of :func:`hybriddiff.minimize` (whose entry point stays in
:mod:`hybriddiff.optimize`): :mod:`.linalg` (sparse factorisations, modified Cholesky,
Moré–Sorensen, preconditioned Steihaug CG), :mod:`.bounds` (SciPy-style bounds, projected
gradient) and :mod:`.result` (:class:`MinimizeResult`)."""

from .result import STATUS, MinimizeResult

__all__ = ["STATUS", "MinimizeResult"]

"""``hybriddiff.__version__``: the distribution's one version (see :mod:`autodiff._version`).

It is defined in the lowest layer, ``autodiff``, so that ``autodiff.__version__`` and bridge's
cache keys use the same string without importing this top-level package.
"""

from __future__ import annotations

from autodiff._version import __version__

__all__ = ["__version__"]

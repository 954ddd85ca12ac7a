"""Array mode: compile an autodiff graph to numba kernels whose size does not grow with n.

:mod:`.program` plans a graph (elementwise clusters, ops, extra arguments), :mod:`.emit`
writes the numba module, :mod:`.compiled` holds :class:`ArrayCompiled` and the warm-start path.
Reach it through ``bridge.compile(f, *example_args, mode="array")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compiled import ArrayCompiled, compile_array

__all__ = ["ArrayCompiled", "compile_array"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import compiled

        return getattr(compiled, name)
    raise AttributeError(f"module 'bridge.arrays' has no attribute {name!r}")

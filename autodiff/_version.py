"""The one version of the ``hybriddiff`` distribution, shared by all of its packages.

Read from the installed package metadata (``importlib.metadata.version("hybriddiff")``). In a
source tree without metadata (a checkout on ``sys.path`` that was never installed), it is read
from the ``pyproject.toml`` beside the packages, so there is still one source: its
``[project] version`` field (``0+unknown`` when neither exists). ``hybriddiff.__version__``,
``autodiff.__version__`` and, through it, ``bridge``'s cache keys all come from here; it lives
in the lowest layer so that no package imports one above it.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

__all__ = ["__version__"]

_UNKNOWN = "0+unknown"


def _from_pyproject(root: Path) -> str | None:
    """The ``[project] version`` of ``root/pyproject.toml`` when it describes hybriddiff."""
    import tomllib

    try:
        with open(root / "pyproject.toml", "rb") as fh:
            project = tomllib.load(fh).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if project.get("name") != "hybriddiff" or not isinstance(project.get("version"), str):
        return None
    return project["version"]


def _find_version() -> str:
    try:
        return metadata.version("hybriddiff")
    except metadata.PackageNotFoundError:
        return _from_pyproject(Path(__file__).resolve().parent.parent) or _UNKNOWN


__version__ = _find_version()

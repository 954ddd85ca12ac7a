"""The kernel cache: content-hashed module files that numba's on-disk cache can follow.

Functions made by ``exec`` cannot be cached by numba, so each generated source is written to
``<cache>/kernels/<name>.py`` and imported from there. Its first line embeds the SHA-256 of the
body; a file whose body no longer matches (edited, truncated, half written) is never executed
but rewritten. Files are written to a temporary name and moved into place with ``os.replace``,
so concurrent processes never see a partial file. ``<cache>/index/`` maps the hash of a request
(expressions, target, dtype...) to the module's hash, so a warm start skips differentiation and
code generation altogether.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

HEADER = "# hybriddiff-bridge sha256="
MODULE_PREFIX = "_hybriddiff_kernel_"


def cache_dir() -> Path:
    """The cache folder: ``$HYBRIDDIFF_CACHE_DIR`` or the user's cache dir + ``hybriddiff``."""
    override = os.environ.get("HYBRIDDIFF_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hybriddiff"


def digest(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def module_name(source_digest: str) -> str:
    """The importable name of the module holding the source with this digest."""
    return MODULE_PREFIX + source_digest[:32]


def module_path(source_digest: str) -> Path:
    """Where the module file for this digest lives in the current cache folder."""
    return cache_dir() / "kernels" / f"{module_name(source_digest)}.py"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_verified(path: Path, expected: str | None = None) -> str | None:
    """The body of a cached module file if its header hash matches it (and ``expected``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header, sep, body = text.partition("\n")
    if not sep or not header.startswith(HEADER):
        return None
    claimed = header[len(HEADER) :].strip()
    if expected is not None and claimed != expected:
        return None
    return body if digest(body) == claimed else None


def load_source(source: str) -> ModuleType:
    """Import ``source`` as a cached module, writing (or repairing) its file first if needed."""
    key = digest(source)
    name = module_name(key)
    if name in sys.modules:
        return sys.modules[name]
    path = module_path(key)
    if read_verified(path, key) != source:
        _atomic_write(path, f"{HEADER}{key}\n{source}")
    return _execute(name, path, source)


def load_digest(source_digest: str) -> ModuleType | None:
    """Import the cached module with this digest, or None when it is missing or corrupt."""
    name = module_name(source_digest)
    if name in sys.modules:
        return sys.modules[name]
    path = module_path(source_digest)
    body = read_verified(path, source_digest)
    return None if body is None else _execute(name, path, body)


def _execute(name: str, path: Path, body: str) -> ModuleType:
    """Run the verified ``body`` as the module in ``path`` (never the file re-read unchecked)."""
    key = digest(body)
    code = compile(f"{HEADER}{key}\n{body}", str(path), "exec")
    module = ModuleType(name)
    module.__file__ = str(path)
    module.__hybriddiff_source__ = body
    # numba's cache re-imports a function's module by name: register it before executing.
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def lookup(request_key: str) -> str | None:
    """The module digest recorded for a request hash, if any."""
    try:
        text = (cache_dir() / "index" / request_key).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None


def record(request_key: str, source_digest: str) -> None:
    """Remember that a request hash produced the module with this digest."""
    _atomic_write(cache_dir() / "index" / request_key, source_digest + "\n")

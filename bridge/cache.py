"""The kernel cache: authenticated module files that numba's on-disk cache can follow.

Functions made by ``exec`` cannot be cached by numba, so each generated source is written to
``<cache>/kernels/<name>.py`` (the name is the SHA-256 of the source) and imported from there.
``<cache>/index/`` maps the hash of a request (expressions, target, dtype...) to the module's
hash, so a warm start skips differentiation and code generation altogether.

Threat model: whoever can write the cache folder (a shared or CI cache, a network file system,
a copied folder) but cannot read the user's key must not be able to run code through it.

* The folder is refused (:class:`UnsafeCacheError`) when other users can write it or own it;
  the library creates its folders with mode 0700.
* Every entry is authenticated with HMAC-SHA256 under a per-user key kept OUTSIDE the cache
  folder (:func:`key_path`, created with mode 0600): generated modules (first line), index
  entries, and numba's own ``__pycache__/*.nbi``/``*.nbc`` files (which are pickles: the
  library replaces each kernel dispatcher's cache file object by one that writes a MAC in front
  of numba's bytes and checks it before anything is unpickled).
* An entry whose MAC does not match (tampered, truncated, written under another key, or left by
  an older version) is deleted and regenerated, with one logged warning, and never executed.

Files are written to a temporary name and moved into place with ``os.replace``, so concurrent
processes never see a partial file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import io
import logging
import os
import pickle
import secrets
import stat
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

HEADER = "# hybriddiff-bridge hmac-sha256="
MODULE_PREFIX = "_hybriddiff_kernel_"
KEY_ENV = "HYBRIDDIFF_CACHE_KEY_FILE"
NUMBA_MAGIC = b"hybriddiff-numba-cache hmac-sha256 1\n"

log = logging.getLogger(__name__)
_warned: set[str] = set()
_keys: dict[str, bytes] = {}


class UnsafeCacheError(PermissionError):
    """The cache folder or the key file could be changed (or read) by another user."""


# --- locations and their permissions ----------------------------------------------------------
def _user_dir(windows: tuple[str, str], macos: str, xdg: tuple[str, str]) -> Path:
    """A per-user base folder: ``(env var, default under home)`` on Windows and Linux."""
    if sys.platform == "win32":
        env, default = windows
        return Path(os.environ.get(env, Path.home() / "AppData" / default))
    if sys.platform == "darwin":
        return Path.home() / "Library" / macos
    env, default = xdg
    return Path(os.environ.get(env) or Path.home() / default)


def cache_dir() -> Path:
    """The cache folder: ``$HYBRIDDIFF_CACHE_DIR`` or the user's cache dir + ``hybriddiff``."""
    override = os.environ.get("HYBRIDDIFF_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = _user_dir(("LOCALAPPDATA", "Local"), "Caches", ("XDG_CACHE_HOME", ".cache"))
    return base / "hybriddiff"


def key_path() -> Path:
    """The cache key file: ``$HYBRIDDIFF_CACHE_KEY_FILE`` or ``<config dir>/hybriddiff/cache.key``.

    The config dir is ``$XDG_CONFIG_HOME`` (default ``~/.config``) on Linux,
    ``~/Library/Application Support`` on macOS and ``%APPDATA%`` on Windows. The key must live
    outside the cache folder: whoever can read it can forge cache entries.
    """
    override = os.environ.get(KEY_ENV)
    if override:
        return Path(override).expanduser()
    base = _user_dir(("APPDATA", "Roaming"), "Application Support", ("XDG_CONFIG_HOME", ".config"))
    return base / "hybriddiff" / "cache.key"


def _uid() -> int:
    return os.geteuid()


def _check_dir(path: Path) -> None:
    """Refuse a folder that another user owns or can write (POSIX; like ssh's StrictModes)."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCacheError(f"kernel cache: {path} is not a folder")
    if os.name != "posix":
        return
    me = _uid()
    mode = stat.S_IMODE(st.st_mode)
    fix = f"chmod 700 {path}, or point HYBRIDDIFF_CACHE_DIR at a private folder"
    if st.st_uid not in (me, 0):
        raise UnsafeCacheError(
            f"kernel cache: refusing {path}: it is owned by uid {st.st_uid}, not by you "
            f"(uid {me}); another user could plant code in it. Use a folder you own: "
            f"point HYBRIDDIFF_CACHE_DIR at a private folder"
        )
    if mode & 0o022 and not mode & stat.S_ISVTX:
        raise UnsafeCacheError(
            f"kernel cache: refusing {path}: mode {mode:04o} lets other users write it "
            f"(group/world-writable without the sticky bit); {fix}"
        )


def _secure_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and check it is private."""
    with contextlib.suppress(FileExistsError):  # not a folder: _check_dir says so
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_dir(path)
    return path


def _folder(*parts: str) -> Path:
    """A checked folder of the cache (the cache folder itself is checked first)."""
    path = _secure_dir(cache_dir())
    for part in parts:
        path = _secure_dir(path / part)
    return path


# --- the key -----------------------------------------------------------------------------------
def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if os.name == "posix":
            mode = stat.S_IMODE(st.st_mode)
            if st.st_uid != _uid():
                raise UnsafeCacheError(
                    f"kernel cache key {path} is owned by uid {st.st_uid}, not by you; delete "
                    f"it (a new key is made), or set {KEY_ENV} to a file of your own"
                )
            if mode & 0o077:
                raise UnsafeCacheError(
                    f"kernel cache key {path} has mode {mode:04o}: other users can read it and "
                    f"forge cache entries; run chmod 600 {path} (or delete it and the cache)"
                )
        text = fh.read(200).decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    return key if len(key) == 32 else b""


def _create_key(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def cache_key() -> bytes:
    """The 32-byte HMAC key of the kernel cache, created (mode 0600) on first use."""
    path = key_path()
    name = str(path)
    if name in _keys:
        return _keys[name]
    folder, inside = os.path.abspath(cache_dir()), False
    with contextlib.suppress(ValueError):  # ValueError: another drive
        inside = os.path.commonpath([os.path.abspath(path), folder]) == folder
    if inside:
        raise UnsafeCacheError(
            f"kernel cache key {path} lies inside the cache folder {folder}: anyone who can "
            f"write the cache could read it; set {KEY_ENV} to a file outside it"
        )
    key = _read_key(path)
    if key is None:
        _create_key(path)
        key = _read_key(path)
    for _ in range(50):  # another process may be writing it right now
        if key:
            break
        time.sleep(0.02)
        key = _read_key(path)
    if not key:
        raise UnsafeCacheError(
            f"kernel cache key {path} is not 64 hex digits; delete it to make a new one"
        )
    _keys[name] = key
    return key


def _mac(kind: bytes, *parts: bytes) -> str:
    """Hex HMAC-SHA256 of length-prefixed ``parts`` under the cache key, separated by kind."""
    mac = hmac.new(cache_key(), kind + b"\0", hashlib.sha256)
    for part in parts:
        mac.update(len(part).to_bytes(8, "little"))
        mac.update(part)
    return mac.hexdigest()


def _reject(path: Path | str, what: str, once_for: str | None = None) -> None:
    """Delete an unauthenticated cache entry; warn once per entry (or per ``once_for``)."""
    with contextlib.suppress(OSError):
        os.unlink(path)
    tag = once_for or str(path)
    level = logging.DEBUG if tag in _warned else logging.WARNING
    _warned.add(tag)
    log.log(
        level,
        "kernel cache: discarded %s %s: it failed authentication (tampered, corrupt, or "
        "written under another key); it is regenerated, never executed",
        what,
        path,
    )


# --- generated modules ---------------------------------------------------------------------------
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
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_verified(path: Path, expected: str | None = None) -> str | None:
    """The body of a cached module file if its MAC header matches it (and its digest is
    ``expected``); None when the file is missing, unauthenticated or not the expected one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header, sep, body = text.partition("\n")
    if not sep or not header.startswith(HEADER):
        return None
    claimed = header[len(HEADER) :].strip()
    if not hmac.compare_digest(claimed, _mac(b"module", body.encode("utf-8"))):
        return None
    if expected is not None and digest(body) != expected:
        return None
    return body


def load_source(source: str) -> ModuleType:
    """Import ``source`` (generated by this library) as a cached module, writing or repairing
    its file first if needed."""
    key = digest(source)
    name = module_name(key)
    if name in sys.modules:
        return sys.modules[name]
    path = _folder("kernels") / f"{name}.py"
    if read_verified(path, key) != source:
        _atomic_write(path, f"{HEADER}{_mac(b'module', source.encode('utf-8'))}\n{source}")
    return _execute(name, path, source)


def load_digest(source_digest: str) -> ModuleType | None:
    """Import the cached module with this digest, or None when it is missing or unauthenticated
    (an unauthenticated file is deleted)."""
    name = module_name(source_digest)
    if name in sys.modules:
        return sys.modules[name]
    path = _folder("kernels") / f"{name}.py"
    body = read_verified(path, source_digest)
    if body is None:
        if path.exists():
            _reject(path, "kernel module")
        return None
    return _execute(name, path, body)


def _execute(name: str, path: Path, body: str) -> ModuleType:
    """Run the verified ``body`` as the module in ``path`` (never the file re-read unchecked)."""
    # numba's locator creates this folder when the module runs: make it private first
    _secure_dir(path.parent / "__pycache__")
    code = compile(f"{HEADER}\n{body}", str(path), "exec")  # the header keeps line numbers
    module = ModuleType(name)
    module.__file__ = str(path)
    module.__hybriddiff_source__ = body
    # numba's cache re-imports a function's module by name: register it before executing.
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
        _authenticate_numba_caches(module, path)
    except BaseException:
        del sys.modules[name]
        raise
    return module


# --- the request index ---------------------------------------------------------------------------
def _index_mac(request_key: str, source_digest: str) -> str:
    return _mac(b"index", request_key.encode("utf-8"), source_digest.encode("utf-8"))


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def lookup(request_key: str) -> str | None:
    """The module digest recorded for a request hash, if its entry is authentic."""
    if not _is_hex64(request_key):
        raise ValueError(f"kernel cache: malformed request key {request_key!r}")
    path = _folder("index") / request_key
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        text = ""
    source_digest, _, mac = text.partition(" ")
    if _is_hex64(source_digest) and hmac.compare_digest(
        mac, _index_mac(request_key, source_digest)
    ):
        return source_digest
    _reject(path, "index entry")
    return None


def record(request_key: str, source_digest: str) -> None:
    """Remember (authenticated) that a request hash produced the module with this digest."""
    if not (_is_hex64(request_key) and _is_hex64(source_digest)):
        raise ValueError("kernel cache: request and module keys are 64 hex digits")
    mac = _index_mac(request_key, source_digest)
    _atomic_write(_folder("index") / request_key, f"{source_digest} {mac}\n")


# --- numba's cache files -------------------------------------------------------------------
def _authenticate_numba_caches(module: ModuleType, path: Path) -> None:
    """Give every caching dispatcher of ``module`` a cache file object that MACs numba's pickles.

    numba loads a dispatcher's ``.nbi``/``.nbc`` files at its first compile (the first call),
    never at decoration, so swapping the file object right after the module ran is in time.
    The files always go to ``kernels/__pycache__`` (also when ``NUMBA_CACHE_DIR`` is set).
    """
    caching = sys.modules.get("numba.core.caching")
    if caching is None:
        return
    pycache = None
    for obj in list(vars(module).values()):
        cache = getattr(obj, "_cache", None)
        if not isinstance(cache, caching.Cache) or isinstance(
            cache._cache_file, _authenticated_file_class()
        ):
            continue
        if pycache is None:
            pycache = _secure_dir(path.parent / "__pycache__")
        old = cache._cache_file
        cache._cache_path = str(pycache)
        cache._cache_file = _authenticated_file_class()(
            str(pycache), cache._impl.filename_base, old._source_stamp, str(path)
        )


@contextlib.contextmanager
def _file_lock(path: str):
    """An exclusive advisory lock on ``path`` (created 0600) across processes; a no-op where
    ``fcntl`` is missing (Windows) or the file system refuses locks."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):  # e.g. a network file system without locks
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@functools.cache
def _authenticated_file_class() -> type:
    """numba's ``IndexDataCacheFile`` with a MAC in front of every file, checked before loading.

    Built on first use so that importing this module does not import numba.
    """
    from numba.core.caching import IndexDataCacheFile

    class AuthenticatedCacheFile(IndexDataCacheFile):
        """Index (``.nbi``) and data (``.nbc``) files as ``magic + hex MAC + numba's bytes``.

        The index MAC covers its file name; a data file's covers its name and the index key it
        was saved under, so no authentic file can stand in for another. A file that fails is
        deleted (one warning per kernel module) and numba recompiles.
        """

        def __init__(self, cache_path, filename_base, source_stamp, owner: str):
            super().__init__(cache_path, filename_base, source_stamp)
            self._owner = owner

        def _sealed_read(self, path: str, kind: bytes, *bound: bytes) -> bytes | None:
            try:
                with open(path, "rb") as fh:
                    blob = fh.read()
            except FileNotFoundError:
                return None
            head = len(NUMBA_MAGIC)
            if blob.startswith(NUMBA_MAGIC) and len(blob) >= head + 64:
                claimed, payload = blob[head : head + 64], blob[head + 64 :]
                if hmac.compare_digest(
                    claimed.decode("ascii", "replace"), _mac(kind, *bound, payload)
                ):
                    return payload
            self._reject(path)
            return None

        def _sealed_write(self, path: str, kind: bytes, payload: bytes, *bound: bytes) -> None:
            os.makedirs(self._cache_path, mode=0o700, exist_ok=True)
            mac = _mac(kind, *bound, payload).encode("ascii")
            fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=self._cache_path)
            try:  # mkstemp: mode 0600; os.replace: readers never see a partial file
                with os.fdopen(fd, "wb") as fh:
                    fh.write(NUMBA_MAGIC + mac + payload)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

        def _reject(self, path: str) -> None:
            _reject(path, "numba cache file", once_for=self._owner)

        @staticmethod
        def _key_tag(key) -> bytes:
            return hashlib.sha256(repr(key).encode("utf-8")).digest()

        def _load_index(self):
            payload = self._sealed_read(self._index_path, b"nbi", self._index_name.encode())
            if payload is None:
                return {}
            try:
                stream = io.BytesIO(payload)
                if pickle.load(stream) != self._version:
                    return {}  # written by another numba version
                stamp, overloads = pickle.loads(stream.read())
            except Exception:  # authentic but unreadable here: start over
                self._reject(self._index_path)
                return {}
            return overloads if stamp == self._source_stamp else {}

        def _save_index(self, overloads):
            payload = pickle.dumps(self._version, protocol=-1) + self._dump(
                (self._source_stamp, overloads)
            )
            self._sealed_write(self._index_path, b"nbi", payload, self._index_name.encode())

        def save(self, key, data):
            # Several processes (Dask workers, two clusters on one cache) may compile the same
            # kernel module at once. numba numbers data files in index order, so two writers
            # adding different signatures would both pick "1" and overwrite each other. Here a
            # data file is named after its key (distinct keys never share a file), written
            # before the index names it, and the index's read-add-write runs under a lock.
            tag = self._key_tag(key)
            name = f"{self._index_name[: -len('.nbi')]}.{tag.hex()[:20]}.nbc"
            payload = self._dump(data)
            self._sealed_write(self._data_path(name), b"nbc", payload, name.encode(), tag)
            with _file_lock(self._index_path + ".lock"):
                overloads = self._load_index()
                if overloads.get(key) != name:
                    overloads[key] = name
                    self._save_index(overloads)

        def load(self, key):
            name = self._load_index().get(key)
            if name is None:
                return None
            path = self._data_path(name)
            try:
                payload = self._sealed_read(path, b"nbc", name.encode(), self._key_tag(key))
            except OSError:
                return None
            if payload is None:
                return None
            try:
                return pickle.loads(payload)
            except Exception:  # authentic but unreadable here: recompile
                self._reject(path)
                return None

    return AuthenticatedCacheFile

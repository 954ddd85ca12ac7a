"""The kernel cache runs nothing it did not generate: folder checks, HMAC'd entries, safe pickles.

Each attack writes a marker file path into its payload; the marker must never appear. Attacks
are replayed in a fresh process (a subprocess), where nothing is already imported or compiled.
The oracle for values and gradients is SymPy evaluated at 30 digits.
"""

from __future__ import annotations

import json
import os
import pickle
import pickletools
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import bridge
from bridge import cache
from bridge.compiled import _rebuild
from bridge.safe_srepr import SreprError

x, y = sp.symbols("x y", real=True)
k = sp.Symbol("k", real=True)
EXPR = sp.exp(-(x**2)) * sp.sin(k * y) + sp.log(1 + x**2 * y**2) + x * y**3
POINT = (0.3, -1.2)
K = 2.0
WARNING = "failed authentication"

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")

SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, sympy as sp, bridge
    x, y, k = sp.symbols("x y k", real=True)
    expr = sp.exp(-(x**2)) * sp.sin(k * y) + sp.log(1 + x**2 * y**2) + x * y**3
    c = bridge.compile(expr, wrt=[x, y], params=[k])
    v, g = c.value_and_grad(np.array([0.3, -1.2]), np.array([2.0]))
    c.value(np.array([0.3, -1.2]), np.array([2.0]))
    d = c.module.grad_point
    hits, misses = sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())
    print(json.dumps({"value": float(v), "grad": g.tolist(), "hits": hits, "misses": misses}))
    """
)


def oracle() -> tuple[float, list[float]]:
    """Value and gradient of EXPR at POINT by SymPy at 30 digits."""
    at = {x: sp.Float(POINT[0], 30), y: sp.Float(POINT[1], 30), k: sp.Float(K, 30)}
    value = float(EXPR.evalf(30, subs=at))
    return value, [float(sp.diff(EXPR, v).evalf(30, subs=at)) for v in (x, y)]


def check_numbers(value, grad) -> None:
    want_value, want_grad = oracle()
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-13)


def run_fresh(folder: Path, script: str = SCRIPT) -> tuple[dict, str]:
    """Run ``script`` in a new interpreter on cache ``folder``; (its JSON line, its stderr)."""
    env = dict(os.environ, HYBRIDDIFF_CACHE_DIR=str(folder))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """A cache folder where EXPR was compiled and called (module, index and numba files)."""
    folder = tmp_path_factory.mktemp("seed") / "cache"
    result, _ = run_fresh(folder)
    check_numbers(result["value"], result["grad"])
    return folder


@pytest.fixture
def folder(seed, tmp_path, monkeypatch):
    """A private copy of the seed cache, made the current cache folder."""
    path = tmp_path / "cache"
    shutil.copytree(seed, path)
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(path))
    return path


def numba_files(folder: Path, suffix: str) -> list[Path]:
    files = sorted((folder / "kernels" / "__pycache__").glob(f"*{suffix}"))
    assert files, f"no {suffix} files in the cache"
    return files


class _Payload:
    """Pickles as a call that creates ``marker`` when unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


# --- the key ----------------------------------------------------------------------------------
@posix_only
def test_key_file_is_created_private(tmp_path, monkeypatch):
    path = tmp_path / "config" / "hybriddiff" / "cache.key"
    monkeypatch.setenv(cache.KEY_ENV, str(path))
    key = cache.cache_key()
    assert len(key) == 32 and path.read_text().strip() == key.hex()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert cache.cache_key() == key


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
def test_key_file_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert cache.key_path() == tmp_path / "hybriddiff" / "cache.key"


@posix_only
def test_key_file_readable_by_others_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "loose.key"
    path.write_text("ab" * 32 + "\n")
    path.chmod(0o644)
    monkeypatch.setenv(cache.KEY_ENV, str(path))
    with pytest.raises(cache.UnsafeCacheError, match=r"0644.*chmod 600"):
        cache.cache_key()


def test_key_file_inside_the_cache_folder_is_refused(folder, monkeypatch):
    monkeypatch.setenv(cache.KEY_ENV, str(folder / "cache.key"))
    with pytest.raises(cache.UnsafeCacheError, match="inside the cache folder"):
        bridge.compile(EXPR, wrt=[x, y], params=[k])


def test_malformed_key_file_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "short.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"not hex\n")
    os.close(fd)
    monkeypatch.setenv(cache.KEY_ENV, str(path))
    monkeypatch.setattr(cache.time, "sleep", lambda s: None)
    with pytest.raises(cache.UnsafeCacheError, match="not 64 hex digits"):
        cache.cache_key()


# --- the folder -------------------------------------------------------------------------------
@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_cache_folder_writable_by_others_is_refused(tmp_path, monkeypatch, mode):
    path = tmp_path / "shared"
    path.mkdir()
    path.chmod(mode)
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(path))
    with pytest.raises(cache.UnsafeCacheError) as err:
        bridge.compile(EXPR, wrt=[x, y], params=[k])
    message = str(err.value)
    assert str(path) in message and f"{mode:04o}" in message and "chmod 700" in message
    assert not (path / "kernels").exists()


@posix_only
def test_cache_subfolder_writable_by_others_is_refused(folder):
    (folder / "kernels" / "__pycache__").chmod(0o777)
    sys.modules.pop(cache.module_name(next(iter(_index_digests(folder)))), None)
    with pytest.raises(cache.UnsafeCacheError, match=r"__pycache__.*0777"):
        bridge.compile(EXPR, wrt=[x, y], params=[k]).grad(np.array(POINT), [K])


@posix_only
def test_cache_folder_owned_by_another_user_is_refused(folder, monkeypatch):
    if os.geteuid() == 0:  # root-owned folders are trusted: give it to someone else
        os.chown(folder, 4242, -1)
    else:
        monkeypatch.setattr(cache, "_uid", lambda: os.geteuid() + 4242)
    with pytest.raises(cache.UnsafeCacheError, match=r"owned by uid \d+, not by you"):
        bridge.compile(EXPR, wrt=[x, y], params=[k])


@posix_only
def test_sticky_shared_parent_folder_is_accepted_and_subfolders_are_private(tmp_path, monkeypatch):
    path = tmp_path / "sticky"
    path.mkdir()
    path.chmod(0o1777)
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(path))
    c = bridge.compile(sp.cos(x) * y, wrt=[x, y])
    np.testing.assert_allclose(c.grad([0.5, 2.0]), [-2.0 * np.sin(0.5), np.cos(0.5)], rtol=1e-15)
    for sub in ("kernels", "index", "kernels/__pycache__"):
        assert stat.S_IMODE((path / sub).stat().st_mode) == 0o700, sub


@posix_only
def test_new_cache_folders_are_created_0700(tmp_path, monkeypatch):
    path = tmp_path / "new" / "cache"
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(path))
    c = bridge.compile(sp.sin(x) * y**2, wrt=[x, y])
    c.grad([0.1, 0.2])
    for sub in ("", "kernels", "index", "kernels/__pycache__"):
        assert stat.S_IMODE((path / sub).stat().st_mode) == 0o700, sub
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in path.rglob("*") if p.is_file())


# --- generated modules and the index ------------------------------------------------------------
def _index_digests(folder: Path) -> dict[str, Path]:
    entries = {p.read_text().split()[0]: p for p in (folder / "index").iterdir()}
    assert entries, "no index entry in the cache"
    return entries


def _plant_module(folder: Path, marker: Path) -> str:
    """A module that creates ``marker``, with a valid unkeyed header, and a forged MAC one."""
    body = f"open({str(marker)!r}, 'w').write('pwned')\nTARGET = 'cpu'\n"
    source_digest = cache.digest(body)
    path = folder / "kernels" / f"{cache.module_name(source_digest)}.py"
    path.write_text(f"# hybriddiff-bridge sha256={source_digest}\n{body}")
    forged = cache.digest("no key")  # right length, wrong key
    path.with_name(path.stem + "_b.py").write_text(f"{cache.HEADER}{forged}\n{body}")
    return source_digest


def test_index_redirect_is_not_executed_in_a_new_process(folder, tmp_path):
    marker = tmp_path / "index-redirect-ran"
    planted = _plant_module(folder, marker)
    (entry,) = _index_digests(folder).values()
    entry.write_text(planted + "\n")  # the old, unkeyed format
    result, stderr = run_fresh(folder)
    assert not marker.exists()
    check_numbers(result["value"], result["grad"])
    assert stderr.count(WARNING) == 1 and "index entry" in stderr
    assert planted not in entry.read_text()  # regenerated, authenticated again
    assert cache.lookup(entry.name) == entry.read_text().split()[0]
    result, stderr = run_fresh(folder)  # and the next process is clean
    assert not marker.exists() and WARNING not in stderr and result["misses"] == 0


def test_index_entry_with_a_forged_mac_is_not_executed(folder, tmp_path):
    marker = tmp_path / "forged-index-ran"
    planted = _plant_module(folder, marker)
    (entry,) = _index_digests(folder).values()
    entry.write_text(f"{planted} {cache.digest('guess')}\n")
    assert cache.lookup(entry.name) is None
    assert not entry.exists()  # deleted
    assert cache.load_digest(planted) is None
    assert not marker.exists()


def test_module_swapped_behind_a_valid_index_entry_is_not_executed(folder, tmp_path):
    marker = tmp_path / "swapped-module-ran"
    (source_digest,) = _index_digests(folder)
    path = folder / "kernels" / f"{cache.module_name(source_digest)}.py"
    good = path.read_text()
    header, _, body = good.partition("\n")
    path.write_text(f"{header}\nopen({str(marker)!r}, 'w').write('pwned')\n{body}")
    result, stderr = run_fresh(folder)
    assert not marker.exists() and stderr.count(WARNING) == 1 and "kernel module" in stderr
    check_numbers(result["value"], result["grad"])
    assert path.read_text() == good


# --- numba's cache files --------------------------------------------------------------------
def test_every_numba_cache_file_is_sealed(seed, tmp_path, monkeypatch):
    files = numba_files(seed, ".nbi") + numba_files(seed, ".nbc")
    assert all(p.read_bytes().startswith(cache.NUMBA_MAGIC) for p in files)
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path / "parallel"))
    c = bridge.compile(sp.sin(x) * y + x * y**2, wrt=[x, y], target="parallel")
    X = np.array([[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_allclose(
        c.grad(X),
        np.stack(
            [np.cos(X[:, 0]) * X[:, 1] + X[:, 1] ** 2, np.sin(X[:, 0]) + 2 * X[:, 0] * X[:, 1]],
            axis=1,
        ),
        rtol=1e-14,
    )
    files = numba_files(tmp_path / "parallel", ".nbi") + numba_files(tmp_path / "parallel", ".nbc")
    assert all(p.read_bytes().startswith(cache.NUMBA_MAGIC) for p in files)


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_malicious_numba_pickles_are_never_loaded(folder, tmp_path, suffix):
    marker = tmp_path / f"numba-pickle-{suffix.strip('.')}-ran"
    blob = pickle.dumps(_Payload(marker))
    for path in numba_files(folder, suffix):
        path.write_bytes(blob)
    result, stderr = run_fresh(folder)
    assert not marker.exists()
    check_numbers(result["value"], result["grad"])
    assert stderr.count(WARNING) == 1, stderr
    if suffix == ".nbc":  # the recompiled files are authentic again: a warm start
        result, stderr = run_fresh(folder)
        assert WARNING not in stderr and result["hits"] >= 1 and result["misses"] == 0
        assert not marker.exists()


def test_numba_file_from_another_kernel_cannot_stand_in(folder):
    nbc = numba_files(folder, ".nbc")
    first, second = nbc[0], nbc[1]
    first.write_bytes(second.read_bytes())  # authentic bytes, wrong file
    result, stderr = run_fresh(folder)
    check_numbers(result["value"], result["grad"])
    assert stderr.count(WARNING) == 1


@pytest.mark.parametrize(
    "damage",
    ["truncate-nbi", "truncate-nbc", "garbage-nbc", "empty-both", "numba-format"],
)
def test_corrupt_numba_cache_recovers_with_one_warning(folder, damage):
    how, _, which = damage.partition("-")
    suffixes = (".nbi", ".nbc") if which in ("both", "format") else (f".{which}",)
    for s in suffixes:
        for path in numba_files(folder, s):
            data = path.read_bytes()
            if how == "truncate":
                path.write_bytes(data[: len(data) // 2])
            elif how == "garbage":
                path.write_bytes(os.urandom(len(data)))
            elif how == "empty":
                path.write_bytes(b"")
            else:  # numba's own unauthenticated layout, as left by an older version
                path.write_bytes(pickle.dumps("0.68.1") + pickle.dumps((0, {})))
    result, stderr = run_fresh(folder)
    check_numbers(result["value"], result["grad"])
    assert stderr.count(WARNING) == 1, stderr
    assert "EOFError" not in stderr and "UnpicklingError" not in stderr
    if damage == "truncate-nbi":  # recovered for good: the next process starts warm
        result, stderr = run_fresh(folder)
        assert WARNING not in stderr and result["hits"] >= 1 and result["misses"] == 0


# --- pickles ------------------------------------------------------------------------------
def _globals_named(blob: bytes) -> list[str]:
    """Every callable a pickle names (GLOBAL / STACK_GLOBAL operands)."""
    names, strings = [], []
    for op, arg, _ in pickletools.genops(blob):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            names.append(".".join(strings[-2:]))
        elif op.name == "GLOBAL":
            names.append(arg.replace(" ", "."))
    return names


class _OnlyRebuild(pickle.Unpickler):
    """An unpickler that allows nothing but the project's rebuild function."""

    def find_class(self, module, name):
        if (module, name) == ("bridge.compiled", "_rebuild"):
            return _rebuild
        raise pickle.UnpicklingError(f"refused {module}.{name}")


@pytest.fixture(scope="module")
def compiled(seed):
    """EXPR compiled from the seed cache (the environment is restored right away)."""
    old = os.environ["HYBRIDDIFF_CACHE_DIR"]
    os.environ["HYBRIDDIFF_CACHE_DIR"] = str(seed)
    try:
        return bridge.compile(EXPR, wrt=[x, y], params=[k])
    finally:
        os.environ["HYBRIDDIFF_CACHE_DIR"] = old


def test_pickle_names_only_the_rebuild_function_and_plain_data(compiled):
    blob = pickle.dumps(compiled)
    assert _globals_named(blob) == ["bridge.compiled._rebuild"]
    assert b"njit" not in blob and b"def " not in blob  # no code inside
    clone = _OnlyRebuild(__import__("io").BytesIO(blob)).load()
    v, g = clone.value_and_grad(np.array(POINT), [K])
    check_numbers(v, g)
    assert clone.expr == EXPR and clone.variables == (x, y) and clone.parameters == (k,)


def test_pickle_round_trip_in_a_new_process_with_a_restricted_unpickler(compiled, seed):
    blob = pickle.dumps(compiled)
    script = textwrap.dedent(
        f"""
        import io, json, pickle, sys
        import numpy as np
        from bridge.compiled import _rebuild

        class OnlyRebuild(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("bridge.compiled", "_rebuild"):
                    return _rebuild
                raise pickle.UnpicklingError(module + "." + name)

        c = OnlyRebuild(io.BytesIO({blob!r})).load()
        v, g = c.value_and_grad(np.array([0.3, -1.2]), np.array([2.0]))
        d = c.module.grad_point
        hits, misses = sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())
        print(json.dumps({{"value": float(v), "grad": g.tolist(), "hits": hits, "misses": misses}}))
        """
    )
    result, stderr = run_fresh(seed, script)
    check_numbers(result["value"], result["grad"])
    assert result["misses"] == 0 and WARNING not in stderr


def test_unpickling_into_an_empty_cache_regenerates_from_the_request(compiled, tmp_path):
    blob = pickle.dumps(compiled)
    script = textwrap.dedent(
        f"""
        import json, pickle, numpy as np
        c = pickle.loads({blob!r})
        v, g = c.value_and_grad(np.array([0.3, -1.2]), np.array([2.0]))
        print(json.dumps({{"value": float(v), "grad": g.tolist(), "source": c.source}}))
        """
    )
    result, _ = run_fresh(tmp_path / "empty", script)
    check_numbers(result["value"], result["grad"])
    assert result["source"] == compiled.source


def test_unpickling_a_lifted_function_into_an_empty_cache(tmp_path, monkeypatch):
    import autodiff as ad

    def f(v, w):
        return ad.sum(ad.tanh(v * w) ** 2) + v[0] * v[1]

    c = bridge.compile(f, np.array([0.2, -0.4]), np.array([1.5, 0.5]), params=[1])
    blob = pickle.dumps(c)
    monkeypatch.setenv("HYBRIDDIFF_CACHE_DIR", str(tmp_path / "other"))
    monkeypatch.delitem(sys.modules, c.module.__name__)
    clone = pickle.loads(blob)
    assert Path(clone.module.__file__).parent == tmp_path / "other" / "kernels"
    X = np.array([[0.2, -0.4], [1.0, 0.3]])
    np.testing.assert_allclose(clone.hessian(X), c.hessian(X), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(clone.default_params, c.default_params)


def _crafted(state) -> bytes:
    """A pickle calling the rebuild function with ``state`` (what an attacker can write)."""

    class Crafted:
        def __reduce__(self):
            return _rebuild, (state,)

    return pickle.dumps(Crafted())


def _state(compiled, **changes) -> dict:
    state = compiled.__reduce__()[1][0]
    return {**state, **changes}


def test_unpickling_an_old_style_source_payload_runs_nothing(tmp_path):
    marker = tmp_path / "old-payload-ran"
    source = f"open({str(marker)!r}, 'w').write('pwned')\n"

    class Old:
        def __reduce__(self):
            return _rebuild, (source, None)

    with pytest.raises(TypeError, match="not a pickled Compiled"):
        pickle.loads(pickle.dumps(Old()))
    assert not marker.exists()


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system({cmd!r})",
        "sin({code!r})",
        "Add(Symbol('x'), sympify({code!r}))",
        "Symbol('x').__class__.__init__.__globals__['os'].system({cmd!r})",
        "Lambda((Symbol('x'),), {code!r})",
        "exec({code!r})",
        "Function({code!r})(Symbol('x'))",
        # the linear DAG form (pickle format 2): atoms are srepr, nodes name classes
        "dag1\n__import__('os').system({cmd!r})\nroots 0",
        "dag1\nSymbol('x')\nos.system(0)\nroots 1",
        "dag1\nSymbol('x')\nsympy.core.sympify.sympify(0)\nroots 1",
        "dag1\nSymbol('x')\nbuiltins.exec(0)\nroots 1",
        "dag1\nSymbol('x')\nsympy.core.add.Add(0,7)\nroots 1",
        "dag1\nSymbol('x')\nroots 5",
    ],
)
def test_unpickling_a_crafted_expression_runs_nothing(compiled, tmp_path, template):
    marker = tmp_path / "crafted-expression-ran"
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    text = template.format(cmd=f"touch {marker}", code=code)
    state = _state(compiled, request=(text, *compiled.__reduce__()[1][0]["request"][1:]))
    with pytest.raises((SreprError, TypeError)):
        pickle.loads(_crafted(state))
    assert not marker.exists()


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"target": "gpu"}, ValueError),
        ({"dtype": "int64"}, ValueError),
        ({"derivatives": ("hessian", "value")}, ValueError),
        ({"derivatives": "value"}, TypeError),
        ({"default_params": ("1.0",)}, TypeError),
        ({"default_params": (1.0, 2.0)}, Exception),
        ({"request": ("Integer(1)",)}, TypeError),
        ({"format": 99}, ValueError),
        ({"extra": 1}, TypeError),
    ],
)
def test_unpickling_validates_every_field(compiled, changes, error):
    with pytest.raises(error):
        pickle.loads(_crafted(_state(compiled, **changes)))


def test_compiled_from_a_bare_module_refuses_to_pickle(compiled):
    bare = bridge.Compiled(compiled.module)
    with pytest.raises(TypeError, match="cannot pickle an object built from a bare module"):
        pickle.dumps(bare)


def test_safe_srepr_docstring_examples_run():
    import doctest

    from bridge import safe_srepr

    result = doctest.testmod(safe_srepr, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_unsafe_cache_error_is_exported():
    assert bridge.UnsafeCacheError is cache.UnsafeCacheError
    assert issubclass(bridge.UnsafeCacheError, PermissionError)


def test_safe_srepr_reads_every_op_of_the_op_table(op_lifted):
    from bridge.safe_srepr import parse_srepr

    text = sp.srepr(op_lifted.expr)
    again = parse_srepr(text)
    assert again == op_lifted.expr and sp.srepr(again) == text
    assert parse_srepr(sp.srepr(tuple(op_lifted.variables))) == tuple(op_lifted.variables)

"""The product package ``hybriddiff``: names, lazy imports, one version, layering, packaging."""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
import tomllib
import warnings
from importlib import metadata
from pathlib import Path

import pytest

import autodiff
import hybriddiff as hd

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autodiff", "symdiff", "bridge", "hybriddiff")
HEAVY = ("sympy", "numba", "scipy", "symdiff", "bridge", "hybriddiff.optimize")


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _loaded_after(code: str) -> list[str]:
    out = _python(f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    return ast.literal_eval(out.strip().splitlines()[-1])


# --- names --------------------------------------------------------------------------------------
def test_everyday_names_are_the_faces_own_objects():
    import bridge
    import symdiff
    from hybriddiff import optimize

    for name in ("grad", "value_and_grad", "jvp", "vjp", "hessian", "hvp", "jacobian", "tensor"):
        assert getattr(hd, name) is getattr(autodiff, name), name
    assert hd.lift is symdiff.lift and hd.formula is symdiff.formula
    assert hd.compile is bridge.compile
    assert hd.minimize is optimize.minimize
    assert hd.autodiff is autodiff and hd.symdiff is symdiff and hd.bridge is bridge
    assert set(hd.__all__) <= set(dir(hd))


def test_unknown_attribute_is_a_clear_attribute_error():
    with pytest.raises(AttributeError, match="module 'hybriddiff' has no attribute 'gradd'"):
        hd.gradd  # noqa: B018


def test_everyday_names_compute_what_the_faces_compute():
    import numpy as np

    f = lambda v: (v[0] ** 2 * v[1]).sum()
    x = np.array([1.5, -2.0])
    np.testing.assert_allclose(hd.grad(f)(x), [2 * 1.5 * -2.0, 1.5**2])
    np.testing.assert_allclose(hd.hessian(f)(x), [[-4.0, 3.0], [3.0, 0.0]])
    assert str(hd.lift(lambda a, b: a * a * b, 1.5, -2.0).gradient()) == "[2*a*b, a**2]"


# --- lazy imports (PEP 562), checked in fresh processes -----------------------------------------
def test_import_hybriddiff_loads_neither_sympy_nor_numba_nor_scipy():
    assert _loaded_after("import hybriddiff as hd\nhd.grad, hd.tensor, hd.__version__") == []


def test_symbolic_names_load_sympy_only_when_used():
    loaded = _loaded_after("import hybriddiff as hd\nhd.lift")
    assert "sympy" in loaded and "symdiff" in loaded and "numba" not in loaded


def test_compiled_names_load_bridge_when_used():
    assert "bridge" in _loaded_after("import hybriddiff as hd\nhd.compile")


def test_eager_minimize_never_touches_bridge_sympy_or_numba():
    code = (
        "import numpy as np, hybriddiff as hd\n"
        "res = hd.minimize(lambda x: ((x - 2.0) ** 2).sum(), np.zeros(3), hessian='eager')\n"
        "assert res.success and np.allclose(res.x, 2.0), res"
    )
    loaded = _loaded_after(code)
    assert "hybriddiff.optimize" in loaded and "scipy" in loaded
    assert not {"bridge", "sympy", "numba", "symdiff"} & set(loaded), loaded


# --- one version --------------------------------------------------------------------------------
def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_one_version_from_package_metadata():
    try:
        expected = metadata.version("hybriddiff")
    except metadata.PackageNotFoundError:
        expected = _pyproject()["project"]["version"]
    assert hd.__version__ == expected
    assert autodiff.__version__ == hd.__version__


def test_version_falls_back_to_pyproject_without_metadata(monkeypatch):
    from autodiff import _version

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_version.metadata, "version", missing)
    assert _version._find_version() == _pyproject()["project"]["version"]
    assert _version._from_pyproject(ROOT / "tests") is None  # no pyproject.toml there


def test_no_module_defines_its_own_version_string():
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "_version.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    assert "__version__" not in names, f"{path} hard-codes __version__"


# --- command line -------------------------------------------------------------------------------
def test_module_cli_version_and_demo_help():
    done = subprocess.run(
        [sys.executable, "-m", "hybriddiff.cli", "--version"], cwd=ROOT, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hybriddiff {hd.__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "hybriddiff.cli", "demo", "--help"], cwd=ROOT,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "hybriddiff demo" in done.stdout


def test_console_script_entry_point_resolves_to_the_cli():
    target = _pyproject()["project"]["scripts"]["hybriddiff"]
    module_name, _, attribute = target.partition(":")
    from hybriddiff import cli

    assert getattr(importlib.import_module(module_name), attribute) is cli.main


def test_bench_finds_the_benchmarks_of_a_source_checkout():
    from hybriddiff import cli

    assert cli._benchmarks_dir() == ROOT / "benchmarks"
    assert sorted(p.name for p in cli._benchmarks_dir().glob("bench_*.py"))


# --- bridge is the compiler; its minimize is a deprecated alias ---------------------------------
def test_bridge_minimize_is_a_deprecated_alias():
    import bridge

    assert "minimize" not in bridge.__all__
    with pytest.warns(DeprecationWarning, match="use hybriddiff.minimize"):
        alias = bridge.minimize
    assert alias is hd.minimize
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bridge.compile  # noqa: B018  (no warning for the compiler's own names)


# --- layering: autodiff <- symdiff <- bridge <- hybriddiff --------------------------------------
def _imported_top_levels(path: Path, package: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(PACKAGES) - {package}


@pytest.mark.parametrize("level", range(3))
def test_no_package_imports_a_layer_above_it(level):
    package, above = PACKAGES[level], set(PACKAGES[level + 1 :])
    for path in sorted((ROOT / package).rglob("*.py")):
        upward = _imported_top_levels(path, package) & above
        if path == ROOT / "bridge" / "__init__.py":
            upward -= {"hybriddiff"}  # the lazy, deprecated bridge.minimize alias
        assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)} from above"


@pytest.mark.parametrize("module", ["base", "first_order", "line_search", "newton_cg"])
def test_optim_modules_import_alone_and_not_their_importer(module):
    _python(f"import autodiff.optim.{module}")
    source = (ROOT / "autodiff" / "optim" / f"{module}.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            assert node.module in {"base", "line_search"}, f"{module} imports .{node.module}"
    assert "autodiff.optim import" not in source.replace(">>> from autodiff.optim import", "")


def test_optim_public_names_are_unchanged():
    from autodiff import optim

    for name in ("SGD", "Adam", "AdamW", "NewtonCG", "Optimizer"):
        assert name in optim.__all__ and getattr(optim, name).__module__.startswith(
            "autodiff.optim."
        )


# --- packaging and docs -------------------------------------------------------------------------
def test_every_package_is_typed_and_packaged():
    config = _pyproject()["tool"]["setuptools"]
    include = config["packages"]["find"]["include"]
    assert config["package-data"]["*"] == ["py.typed"]
    for package in PACKAGES:
        assert (ROOT / package / "py.typed").is_file(), package
        assert package in include and f"{package}.*" in include


def test_license_changelog_and_architecture_guide():
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 The hybriddiff authors" in license_text
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "## [0.1.0]" in changelog
    guide = (ROOT / "docs" / "architecture.md").read_text()
    for heading in ("How to add an op", "Kernel cache", "Numerical conventions", "Layering"):
        assert heading in guide, heading


def test_nothing_cites_the_old_design_note():
    offenders = []
    for path in ROOT.rglob("*"):
        if ".git" in path.parts or not path.is_file() or path.suffix not in {".py", ".md", ".toml"}:
            continue
        if "DESIGN" + ".md" in path.read_text(errors="replace"):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


@pytest.mark.parametrize("name", ["hybriddiff", "hybriddiff.optimize", "hybriddiff.cli"])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0 or name == "hybriddiff.cli"

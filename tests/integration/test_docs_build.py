"""The API reference (``docs/``, Sphinx autodoc + napoleon) builds with no warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")

ROOT = Path(__file__).resolve().parents[2]


def test_api_reference_builds_without_warnings(tmp_path):
    out = tmp_path / "html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-q",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr
    for page in ("index", "api/autodiff", "api/symdiff", "api/bridge", "api/hybriddiff"):
        assert (out / f"{page}.html").stat().st_size > 2_000, page
    api = (out / "api" / "autodiff.html").read_text(encoding="utf-8")
    assert "functional_call" in api and "NewtonCG" in api and "damping" in api
    assert "task axis" in api  # functional_call's leading task axis is documented
    bridge = (out / "api" / "bridge.html").read_text(encoding="utf-8")
    assert "from_cache" in bridge and "pack" in bridge

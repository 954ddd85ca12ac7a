"""Every example and the command line run end to end (fast modes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hybriddiff import cli, demo

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_example_maml_fast_mode_checks_meta_gradient_and_progress():
    done = _run("examples/maml_sinusoid.py", "--fast")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "meta-gradient vs central differences" in done.stdout
    assert "held-out tasks" in done.stdout


def test_example_derivative_formulas_print_sigma_forms():
    done = _run("examples/derivative_formulas.py", "--fast")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "(1 - sigmoid(x))*sigmoid(x)" in out
    assert "1 - tanh(x)**2" in out
    assert "df/dw[0] = -x[0]*(y - sigmoid(w[0]*x[0] + w[1]*x[1]))" in out
    assert "LaTeX: \\left(1 - \\sigma\\left(x\\right)\\right) \\sigma\\left(x\\right)" in out
    assert "H[0, 1] =" in out


def test_demo_quick_runs_all_four_faces(capsys):
    assert demo.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for step in ("[1/4] eager", "[2/4] symbolic", "[3/4] compiled", "[4/4] second order"):
        assert step in out
    assert "max error" in out and "speed-up" in out
    assert "hybriddiff.minimize newton" in out


def test_cli_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert "hybriddiff 0.1.0" in capsys.readouterr().out
    assert cli.main([]) == 2


def test_cli_formula_subcommand_prints_second_derivatives():
    done = _run("-m", "hybriddiff.cli", "formula", "x**2*y", "--wrt", "x", "y", "--order", "2")
    assert done.returncode == 0, done.stderr
    assert "d2f/dxdy = 2*x" in done.stdout


def test_cli_bench_collects_each_scripts_summary():
    output = "== 1 ==\nrow\n== summary ==\nchain  3.7 us/op  <= 4 us/op  PASS\n"
    assert cli._summary(output) == ["chain  3.7 us/op  <= 4 us/op  PASS"]
    assert cli._summary("x\nautodiff / torch = 0.2 (target <= 1.0): PASS\n") == [
        "autodiff / torch = 0.2 (target <= 1.0): PASS"
    ]

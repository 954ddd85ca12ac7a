"""``hybriddiff demo`` output sections (structure, never timings) and ``--plot`` (issue 15)."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

import symdiff
from hybriddiff import demo

pytest.importorskip("matplotlib")


def _run_demo(argv, encoding):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True)
    with contextlib.redirect_stdout(stream):
        status = demo.main(argv)
    stream.flush()
    return status, raw.getvalue().decode(encoding)


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "tour.png"
    status, out = _run_demo(["--quick", "--plot", str(path)], "utf-8")
    assert status == 0
    return out, path


def _section(out: str, n: int) -> str:
    start = out.index(f"[{n}/4]")
    end = out.find(f"[{n + 1}/4]", start)
    return out[start : end if end > 0 else len(out)]


def test_sections_in_order(tour):
    out, _ = tour
    marks = [
        "hybriddiff: one function, three faces",
        "[1/4] eager",
        "[2/4] symbolic",
        "[3/4] compiled",
        "[4/4] second order",
        "figure saved to",
        "done in",
    ]
    positions = [out.index(m) for m in marks]
    assert positions == sorted(positions)


def test_eager_hessian_is_a_formatted_symmetric_matrix(tour):
    eager = _section(tour[0], 1)
    rows = re.findall(r"\[\[?\s*(-?\d+\.\d{6})\s+(-?\d+\.\d{6})\]", eager.split("Hessian  =")[1])
    assert len(rows) == 2
    h = np.array(rows, dtype=float)
    assert np.array_equal(h, h.T)
    assert not re.search(r"\d\.\d{10,}", eager.split("gradient =")[1])  # no 17-digit floats


def test_all_derivatives_are_shown_the_same_way(tour):
    symbolic = _section(tour[0], 2)
    assert "gradient:" in symbolic and "Hessian (upper triangle):" in symbolic
    # pretty labels for the gradient and the Hessian alike; no plain-text labels
    for label in ("∂f/∂x", "∂f/∂y", "∂²f/∂x²", "∂²f/∂x∂y", "∂²f/∂y²"):
        assert label in symbolic
    assert "df/dx" not in symbolic and "d2f/" not in symbolic
    assert "sigmoid" not in symbolic.split("lifted:")[1].split("\n", 1)[1]
    assert "↪" not in symbolic  # never wrapped into blocks
    assert "max error" in symbolic


def test_text_when_the_output_cannot_show_unicode():
    lifted = symdiff.lift(demo.f, 0.7, -1.3)
    text = demo.show_formula(symdiff.formula(lifted, order=2), pretty=False)
    assert "d2f/dx2 = " in text and "∂" not in text
    assert all(line.startswith(demo.INDENT) for line in text.splitlines())
    narrow = demo.show_formula(symdiff.formula(lifted, order=2), pretty=True, width=60)
    assert "∂²f/∂x∂y = (" in narrow  # too wide for 60 columns: one line of text
    assert not demo.unicode_ok(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert demo.unicode_ok(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))


def test_compile_notes_say_compiled_or_cached(tour):
    out = tour[0]
    notes = re.findall(
        r"(kernels|Hessian kernel) (compiled|loaded from the cache) in \d+\.\d\d s", out
    )
    assert [n[0] for n in notes] == ["kernels", "Hessian kernel"]
    assert "(or loaded from the cache)" not in out


def test_newton_log_is_compact_with_a_final_table(tour):
    newton = _section(tour[0], 4)
    logs = re.findall(r"^\s+(\d+)\s+\S+e[+-]\d+\s+\S+e[+-]\d+$", newton, flags=re.M)
    assert 4 <= len(logs) <= 20  # every k-th iteration, not one line per iteration
    assert "every" in newton
    table = newton[newton.index("method ") :]
    assert len(re.findall(r"^\s+(hybriddiff\.minimize|scipy)", table, flags=re.M)) == 3
    for column in ("iters", "time", "|grad|inf", "|x - 1|inf"):
        assert column in table


def test_plot_file_written(tour):
    _, path = tour
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_from_a_record(tmp_path):
    record = demo.Record(
        histories={"newton": [1e3, 1.0, 1e-8], "scipy trust-exact": [1e2, 1e-12]},
        timings={"compiled": 0.001, "eager": 0.004},
        n_points=10,
    )
    svg = tmp_path / "p.svg"
    assert demo.plot(record, str(svg)) == str(svg)
    assert svg.read_text().lstrip().startswith("<?xml") and svg.stat().st_size > 5_000

"""The examples as a user meets them (issue 15): importable, pluggable tasks, ``--plot``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autodiff import nn
from examples import maml_sinusoid as maml

ROOT = Path(__file__).resolve().parents[2]


def test_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "examples.maml_sinusoid", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--plot" in done.stdout and "--fast" in done.stdout


def test_the_task_sampler_is_a_parameter():
    seen = []

    def sampler(rng, n_tasks, k, n_query=None):
        seen.append((n_tasks, k))
        return maml.linear_tasks(rng, n_tasks, k, n_query)

    model = nn.MLP([1, 16, 1], activation="tanh", seed=0)
    rng = np.random.default_rng(0)
    history = maml.train_maml(model, rng, 60, 0.01, 8, 5, lr=1e-2, sampler=sampler)
    assert seen == [(8, 5)] * 60
    assert np.mean(history[-10:]) < np.mean(history[:10])  # it learns linear tasks
    before, after = maml.evaluate(model, np.random.default_rng(1), 10, 5, 0.01, sampler=sampler)
    assert np.isfinite(before) and np.isfinite(after)


def test_linear_tasks_shapes_and_law():
    xs, ys, xq, yq = maml.linear_tasks(np.random.default_rng(0), 3, 4, n_query=7)
    assert xs.shape == ys.shape == (3, 4, 1) and xq.shape == yq.shape == (3, 7, 1)
    slope = (ys[:, 1] - ys[:, 0]) / (xs[:, 1] - xs[:, 0])
    assert np.allclose(yq, slope[:, None] * xq + (ys[:, :1] - slope[:, None] * xs[:, :1]))


def test_plot_written(tmp_path):
    pytest.importorskip("matplotlib")
    model = nn.MLP([1, 8, 1], activation="relu", seed=0)
    fits = maml.adapted_fits(model, alpha=0.01, k=5, steps=(1, 3), n_tasks=2)
    assert set(fits[0]) >= {"x", "truth", "xs", "ys", "pre", 1, 3}
    assert not np.allclose(fits[0]["pre"], fits[0][3])  # the steps moved the fit
    path = tmp_path / "maml.png"
    history = list(np.linspace(3.0, 1.0, 40))
    maml.plot(str(path), history, history[::-1], fits, steps=(1, 3))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000

"""NewtonCG: Hessian-free Newton steps through hvp and conjugate gradient."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn
from autodiff.optim import NewtonCG


def test_newton_cg_solves_a_quadratic_in_one_step():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 5))
    a = m @ m.T + 5 * np.eye(5)
    b = rng.normal(size=5)
    x = ad.tensor(np.zeros(5), requires_grad=True)
    opt = NewtonCG([x], damping=0.0, cg_iters=10)
    opt.step(lambda: 0.5 * (x @ (a @ x)) - b @ x)
    np.testing.assert_allclose(x.data, np.linalg.solve(a, b), rtol=1e-9)


def test_newton_cg_leaves_the_gradient_of_the_step_point():
    x = ad.tensor([2.0, -1.0], requires_grad=True)
    opt = NewtonCG([x])
    opt.step(lambda: (x**4).sum())
    np.testing.assert_allclose(x.grad.data, 4 * np.array([2.0, -1.0]) ** 3)


def test_newton_cg_fits_a_small_mlp_better_than_its_start():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(32, 1))
    targets = np.sin(2 * inputs)
    model = nn.MLP([1, 8, 1], activation="tanh", seed=1)
    opt = NewtonCG(model.parameters(), damping=1e-3, cg_iters=20)

    def closure():
        return nn.functional.mse_loss(model(inputs), targets)

    start = float(closure().data)
    losses = [float(opt.step(closure).data) for _ in range(15)]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))  # line search: monotone
    assert float(closure().data) < 1e-2 * start


def test_newton_cg_handles_negative_curvature_without_nan():
    x = ad.tensor([0.1, 0.2], requires_grad=True)
    opt = NewtonCG([x])
    for _ in range(5):
        loss = opt.step(lambda: (x[0] ** 2 - x[1] ** 2 + 0.25 * x[1] ** 4).sum())
        assert np.isfinite(loss.data)
    assert np.all(np.isfinite(x.data))


def test_newton_cg_rejects_bad_use():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="needs a closure"):
        NewtonCG([x]).step()
    with pytest.raises(ValueError, match="invalid damping=-1"):
        NewtonCG([x], damping=-1)
    with pytest.raises(ValueError, match="invalid cg_iters=0"):
        NewtonCG([x], cg_iters=0)

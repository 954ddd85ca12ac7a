"""autodiff.optim: SGD / Adam / AdamW updates against hand-computed references, and validation."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim

A = np.array([1.0, -2.0, 0.5])  # f(w) = 0.5 * sum(A * w**2): grad = A * w, nonzero curvature
W0 = np.array([0.7, -0.3, 2.0])


def _run(opt_factory, steps: int = 4) -> list[np.ndarray]:
    """Iterates of ``w`` after each optimizer step on the quadratic."""
    w = ad.tensor(W0.copy(), requires_grad=True)
    opt = opt_factory([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (A * w * w)).sum().backward()
        opt.step()
        out.append(w.data.copy())
    return out


def _ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, steps=4):
    """torch.optim.SGD's documented algorithm, written out with NumPy."""
    w, buf, out = W0.copy(), None, []
    for _ in range(steps):
        g = A * w + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
        out.append(w)
    return out


def _ref_adam(lr, betas, eps, weight_decay=0.0, decoupled=False, steps=4):
    """Adam with bias-corrected moments (Kingma & Ba, Algorithm 1); AdamW decays w first."""
    (b1, b2), w, m, v, out = betas, W0.copy(), np.zeros(3), np.zeros(3), []
    for t in range(1, steps + 1):
        g = A * w
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


def _assert_iterates(got, expected):
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")


# --- SGD ----------------------------------------------------------------------------------------
def test_sgd_plain_first_step_by_hand():
    (w1,) = _run(lambda p: optim.SGD(p, lr=0.1), steps=1)
    # grad = A * W0 = [0.7, 0.6, 1.0]
    np.testing.assert_allclose(w1, [0.63, -0.36, 1.9])


@pytest.mark.parametrize(
    "hyper",
    [
        dict(lr=0.1),
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.05, momentum=0.8, dampening=0.3),
        dict(lr=0.1, momentum=0.9, nesterov=True),
        dict(lr=0.1, weight_decay=0.2),
        dict(lr=0.1, momentum=0.5, weight_decay=0.1, nesterov=True),
    ],
)
def test_sgd_matches_reference_updates(hyper):
    _assert_iterates(_run(lambda p: optim.SGD(p, **hyper)), _ref_sgd(**hyper))


def test_sgd_momentum_two_steps_by_hand():
    w = ad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    for expected in (0.8, 0.46):  # b=2 -> w=0.8; b=0.9*2+1.6=3.4 -> w=0.46
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        np.testing.assert_allclose(w.data, [expected])


# --- Adam / AdamW -------------------------------------------------------------------------------
def test_adam_first_step_moves_by_lr():
    (w1,) = _run(lambda p: optim.Adam(p, lr=0.01), steps=1)
    np.testing.assert_allclose(w1, W0 - 0.01 * np.sign(A * W0), rtol=1e-9)


@pytest.mark.parametrize(
    "hyper",
    [
        dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8),
        dict(lr=0.1, betas=(0.5, 0.9), eps=1e-3),
        dict(lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.3),
    ],
)
def test_adam_matches_reference_updates(hyper):
    _assert_iterates(_run(lambda p: optim.Adam(p, **hyper)), _ref_adam(**hyper))


def test_adamw_matches_reference_decoupled_decay():
    hyper = dict(lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.3)
    got = _run(lambda p: optim.AdamW(p, **hyper))
    _assert_iterates(got, _ref_adam(**hyper, decoupled=True))
    coupled = _ref_adam(**hyper)
    assert not np.allclose(got[-1], coupled[-1])


def test_adamw_default_weight_decay_is_torch_default():
    w = ad.tensor([1.0], requires_grad=True)
    assert optim.AdamW([w]).param_groups[0]["weight_decay"] == 1e-2
    assert optim.Adam([w]).param_groups[0]["weight_decay"] == 0.0


# --- Optimizer machinery ------------------------------------------------------------------------
def test_optimizer_skips_parameters_without_grad():
    a = ad.tensor([1.0], requires_grad=True)
    b = ad.tensor([1.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 3.0).sum().backward()
    opt.step()
    assert a.data[0] < 1.0 and b.data[0] == 1.0


def test_optimizer_zero_grad_clears_grads():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad()
    assert w.grad is None


def test_optimizer_param_groups_have_their_own_lr():
    a = ad.tensor([1.0], requires_grad=True)
    b = ad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a + b).sum().backward()
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    opt.param_groups[0]["lr"] = 0.0  # a schedule edits the group in place
    opt.step()
    np.testing.assert_allclose(a.data, [0.9])


def test_optimizer_step_closure_returns_loss():
    w = ad.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with ad.no_grad():  # step records the closure's graph even inside no_grad
        loss = opt.step(closure)
    assert float(loss) == 4.0
    np.testing.assert_allclose(w.data, [1.0])


def test_optimizer_state_dict_round_trip_continues_identically():
    hyper = dict(lr=0.05, betas=(0.8, 0.9))
    w1 = ad.tensor(W0.copy(), requires_grad=True)
    opt1 = optim.Adam([w1], **hyper)
    for _ in range(2):
        opt1.zero_grad()
        (0.5 * (A * w1 * w1)).sum().backward()
        opt1.step()
    state = opt1.state_dict()
    w2 = ad.tensor(w1.data.copy(), requires_grad=True)
    opt2 = optim.Adam([w2], lr=1.0)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == 0.05
    for w, opt in ((w1, opt1), (w2, opt2)):
        opt.zero_grad()
        (0.5 * (A * w * w)).sum().backward()
        opt.step()
    np.testing.assert_array_equal(w1.data, w2.data)
    state["state"][0]["exp_avg"][:] = 99.0  # a saved state is a copy
    assert not np.any(opt1.state[0]["exp_avg"] == 99.0)


def test_optimizer_load_state_dict_checks_shapes():
    w = ad.tensor(np.zeros(3), requires_grad=True)
    opt = optim.Adam([w])
    state = {"state": {0: {"step": 1, "exp_avg": np.zeros(2)}}, "param_groups": [opt.defaults]}
    state["param_groups"][0] = {**opt.defaults, "params": [0]}
    with pytest.raises(ValueError, match="'exp_avg' of parameter 0 has shape \\(2,\\)"):
        opt.load_state_dict(state)


def test_optimizer_keeps_float32_parameters_float32():
    w = ad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for opt in (optim.SGD([w], lr=0.1, momentum=0.9), optim.AdamW([w], lr=0.1)):
        (w * w).sum().backward()
        opt.step()
        opt.zero_grad()
    assert w.dtype == np.float32


def test_optimizer_accepts_module_parameters_generator():
    net = nn.MLP([2, 3, 1], seed=0)
    opt = optim.SGD(net.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 4


# --- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda w: optim.SGD(w, lr=-0.1), "SGD: invalid lr=-0.1"),
        (lambda w: optim.SGD(w, lr="fast"), "SGD: invalid lr='fast'"),
        (lambda w: optim.SGD(w, lr=0.1, momentum=-1.0), "invalid momentum=-1.0"),
        (lambda w: optim.SGD(w, lr=0.1, dampening=2.0), "invalid dampening=2.0"),
        (lambda w: optim.SGD(w, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda w: optim.SGD(w, lr=0.1, weight_decay=-1e-3), "invalid weight_decay=-0.001"),
        (lambda w: optim.Adam(w, lr=-1.0), "Adam: invalid lr=-1.0"),
        (lambda w: optim.Adam(w, betas=(0.9, 1.0)), "invalid betas=\\(0.9, 1.0\\)"),
        (lambda w: optim.Adam(w, eps=-1.0), "invalid eps=-1.0"),
        (lambda w: optim.AdamW(w, weight_decay=-0.1), "AdamW: invalid weight_decay=-0.1"),
    ],
)
def test_optimizer_rejects_bad_hyperparameters(make, match):
    w = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=match):
        make([w])


def test_optimizer_rejects_bad_parameter_lists():
    w = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="leaf tensors with requires_grad=True"):
        optim.SGD([ad.tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="leaf tensors"):
        optim.SGD([w * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(TypeError, match="parameters must be Tensors, got ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="unknown hyper-parameter\\(s\\) \\['momentun'\\]"):
        optim.SGD([{"params": [w], "momentun": 0.9}], lr=0.1)


# --- documentation ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["__init__", "base", "first_order", "newton_cg", "line_search"])
def test_optim_docstring_examples_run(name):
    module = optim if name == "__init__" else importlib.import_module(f"autodiff.optim.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module.__name__} failed"

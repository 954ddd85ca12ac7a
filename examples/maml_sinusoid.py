"""Second-order MAML on sinusoid regression (Finn, Abbeel & Levine, 2017), with autodiff.

Tasks are ``y = A sin(x - phase)`` with amplitude A in [0.1, 5], phase in [0, pi] and inputs
in [-5, 5]. The model is a 1-40-40-1 ReLU network; each task adapts with one SGD step
(alpha = 0.01) on K = 10 points, and the meta-update is Adam (beta = 0.001) over a meta-batch
of 25 tasks. The meta-gradient differentiates through the inner step (second order) unless
``--first-order`` is given.

All 25 tasks run at once: ``functional_call`` accepts parameters with an extra leading task
axis, so the inner gradient of the summed task losses with respect to per-task copies of the
weights is exactly each task's own gradient.

    python examples/maml_sinusoid.py                 # full run (about 4 minutes on 2 cores)
    python examples/maml_sinusoid.py --fast          # CI: a few iterations plus checks
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import autodiff as ad
from autodiff import nn
from autodiff.optim import Adam


def sample_tasks(rng: np.random.Generator, n_tasks: int, k: int, n_query: int | None = None):
    """Support and query sets ``(xs, ys, xq, yq)`` of shape (tasks, points, 1)."""
    amp = rng.uniform(0.1, 5.0, size=(n_tasks, 1, 1))
    phase = rng.uniform(0.0, np.pi, size=(n_tasks, 1, 1))
    xs = rng.uniform(-5.0, 5.0, size=(n_tasks, k, 1))
    xq = rng.uniform(-5.0, 5.0, size=(n_tasks, n_query or k, 1))
    return xs, amp * np.sin(xs - phase), xq, amp * np.sin(xq - phase)


def _task_copies(p: ad.Tensor, n_tasks: int) -> ad.Tensor:
    """Per-task copies (tasks, ...) of a parameter, shaped to broadcast over (tasks, points)."""
    shaped = ad.reshape(p, (1,) * (3 - p.ndim) + p.shape)
    return ad.broadcast_to(shaped, (n_tasks,) + shaped.shape[1:])


def _task_mse(pred: ad.Tensor, target: np.ndarray) -> ad.Tensor:
    return ad.mean(ad.square(pred - target), axis=(1, 2))


def adapt(model: nn.Module, params: dict, xs, ys, alpha: float, first_order: bool = False):
    """One inner SGD step per task; returns the adapted per-task parameters."""
    copies = {k: _task_copies(v, xs.shape[0]) for k, v in params.items()}
    inner = ad.sum(_task_mse(nn.functional_call(model, copies, xs), ys))
    grads = ad.gradients([inner], list(copies.values()), create_graph=not first_order)
    return {k: c - alpha * g for (k, c), g in zip(copies.items(), grads)}


def meta_loss(model, params: dict, tasks, alpha: float, first_order: bool = False) -> ad.Tensor:
    """Mean query loss after adaptation: the MAML objective for one meta-batch."""
    xs, ys, xq, yq = tasks
    adapted = adapt(model, params, xs, ys, alpha, first_order)
    return ad.mean(_task_mse(nn.functional_call(model, adapted, xq), yq))


def meta_gradient(model, tasks, alpha: float, first_order: bool = False):
    """``(meta_loss, [d meta_loss / d parameter])`` for the model's current parameters."""
    params = dict(model.named_parameters())
    loss = meta_loss(model, params, tasks, alpha, first_order)
    return loss, ad.gradients([loss], list(params.values()))


def train_maml(model, rng, iterations, alpha, meta_batch, k, first_order, lr, progress):
    """Meta-train ``model`` in place; returns the meta-loss of every iteration."""
    opt = Adam(model.parameters(), lr=lr)
    history = []
    for it in range(iterations):
        loss, grads = meta_gradient(model, sample_tasks(rng, meta_batch, k), alpha, first_order)
        for p, g in zip(model.parameters(), grads):
            p.grad = g
        opt.step()
        history.append(float(loss.data))
        progress("MAML", it, iterations, history)
    return history


def train_pretrained(model, rng, iterations, meta_batch, k, lr, progress):
    """The baseline: one network trained jointly on data from all tasks (no adaptation)."""
    opt = Adam(model.parameters(), lr=lr)
    history = []
    for it in range(iterations):
        xs, ys, _, _ = sample_tasks(rng, meta_batch, k)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        opt.step()
        history.append(float(loss.data))
        progress("pretrained", it, iterations, history)
    return history


def evaluate(model, rng, n_tasks: int, k: int, alpha: float) -> tuple[float, float]:
    """Held-out query MSE before and after one adaptation step (100 query points per task)."""
    tasks = sample_tasks(rng, n_tasks, k, n_query=100)
    params = {k_: p.detach() for k_, p in model.named_parameters()}
    before = ad.mean(_task_mse(model(tasks[2]), tasks[3]))
    after = meta_loss(model, {k_: v.requires_grad_() for k_, v in params.items()}, tasks, alpha)
    return float(before.data), float(after.data)


def _progress_printer(every: int):
    start = time.perf_counter()

    def show(label, it, total, history):
        if (it + 1) % every == 0 or it + 1 == total:
            recent = np.mean(history[-every:])
            rate = (it + 1) / (time.perf_counter() - start)
            print(f"  {label:10s} {it + 1:6d}/{total}  loss {recent:8.4f}  {rate:6.1f} it/s")
            sys.stdout.flush()

    return show


def check_meta_gradient(seed: int = 0, eps: float = 1e-6) -> float:
    """Largest relative error of the second-order meta-gradient against central differences."""
    rng = np.random.default_rng(seed)
    model = nn.MLP([1, 4, 4, 1], activation="tanh", seed=seed)
    tasks = sample_tasks(rng, 3, 5)
    _, grads = meta_gradient(model, tasks, alpha=0.1)
    worst = 0.0
    for p, g in zip(model.parameters(), grads):
        for idx in np.ndindex(*p.shape):
            old = p.data[idx]
            p.data[idx] = old + eps
            up = float(meta_loss(model, dict(model.named_parameters()), tasks, 0.1).data)
            p.data[idx] = old - eps
            down = float(meta_loss(model, dict(model.named_parameters()), tasks, 0.1).data)
            p.data[idx] = old
            fd = (up - down) / (2 * eps)
            worst = max(worst, abs(fd - g.data[idx]) / max(1e-6, abs(fd)))
    return worst


def main(argv: list[str] | None = None) -> int:
    """Train MAML and the pre-trained baseline, then compare them on held-out tasks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50000)
    parser.add_argument("--first-order", action="store_true", help="first-order MAML")
    parser.add_argument("--fast", action="store_true", help="a few iterations and the checks")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    iterations = 200 if args.fast else args.iterations
    alpha, meta_batch, k, lr = 0.01, 25, 10, 1e-3
    rng = np.random.default_rng(args.seed)
    every = max(1, iterations // 10)
    kind = "first-order" if args.first_order else "second-order"
    print(f"MAML ({kind}) on sinusoids: {iterations} iterations, meta-batch {meta_batch}, K={k}")
    maml = nn.MLP([1, 40, 40, 1], activation="relu", seed=args.seed)
    history = train_maml(
        maml, rng, iterations, alpha, meta_batch, k, args.first_order, lr, _progress_printer(every)
    )
    base = nn.MLP([1, 40, 40, 1], activation="relu", seed=args.seed)
    train_pretrained(base, rng, iterations, meta_batch, k, lr, _progress_printer(every))
    print("\nheld-out tasks (100 tasks, MSE on 100 query points):")
    print(f"  {'model':12s} {'before':>10s} {'1 step':>10s}")
    for name, model in (("MAML", maml), ("pretrained", base)):
        before, after = evaluate(model, np.random.default_rng(12345), 100, k, alpha)
        print(f"  {name:12s} {before:10.4f} {after:10.4f}")
    if args.fast:
        first, last = np.mean(history[:50]), np.mean(history[-50:])
        error = check_meta_gradient()
        print(
            f"\nmeta-loss {first:.4f} -> {last:.4f}; meta-gradient vs central differences: "
            f"max relative error {error:.2e}"
        )
        if not (last < first and error < 1e-5):
            print("FAILED: the meta-loss must decrease and the meta-gradient match")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Second-order MAML on sinusoid regression (Finn, Abbeel & Levine, 2017), with autodiff.

Tasks are ``y = A sin(x - phase)`` with amplitude A in [0.1, 5], phase in [0, pi] and inputs
in [-5, 5]. The model is a 1-40-40-1 ReLU network; each task adapts with one SGD step
(alpha = 0.01) on K = 10 points, and the meta-update is Adam (beta = 0.001) over a meta-batch
of 25 tasks. The meta-gradient differentiates through the inner step (second order) unless
``--first-order`` is given.

All 25 tasks run at once: ``functional_call`` accepts parameters with an extra leading task
axis, so the inner gradient of the summed task losses with respect to per-task copies of the
weights is exactly each task's own gradient.

The task distribution is a parameter: any ``sampler(rng, n_tasks, k, n_query=None)`` returning
``(xs, ys, xq, yq)`` of shape (tasks, points, 1) trains with the same loop (``linear_tasks`` is
a second example)::

    from examples.maml_sinusoid import linear_tasks, train_maml
    history = train_maml(model, rng, 500, 0.01, 25, 10, False, 1e-3, sampler=linear_tasks)

Run it from a source checkout::

    python -m examples.maml_sinusoid                 # full run (about 4 minutes on 2 cores)
    python -m examples.maml_sinusoid --fast          # CI: a few iterations plus checks
    python -m examples.maml_sinusoid --fast --plot maml.png   # meta-loss and adapted fits
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

import autodiff as ad
from autodiff import nn
from autodiff.optim import Adam

Sampler = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
"""``sampler(rng, n_tasks, k, n_query=None) -> (xs, ys, xq, yq)``, each (tasks, points, 1)."""


def sample_tasks(rng: np.random.Generator, n_tasks: int, k: int, n_query: int | None = None):
    """Sinusoid tasks: support and query sets ``(xs, ys, xq, yq)`` of shape (tasks, points, 1)."""
    amp = rng.uniform(0.1, 5.0, size=(n_tasks, 1, 1))
    phase = rng.uniform(0.0, np.pi, size=(n_tasks, 1, 1))
    xs = rng.uniform(-5.0, 5.0, size=(n_tasks, k, 1))
    xq = rng.uniform(-5.0, 5.0, size=(n_tasks, n_query or k, 1))
    return xs, amp * np.sin(xs - phase), xq, amp * np.sin(xq - phase)


def linear_tasks(rng: np.random.Generator, n_tasks: int, k: int, n_query: int | None = None):
    """Linear-regression tasks ``y = a x + b`` (a in [-2, 2], b in [-1, 1]): another sampler."""
    a = rng.uniform(-2.0, 2.0, size=(n_tasks, 1, 1))
    b = rng.uniform(-1.0, 1.0, size=(n_tasks, 1, 1))
    xs = rng.uniform(-5.0, 5.0, size=(n_tasks, k, 1))
    xq = rng.uniform(-5.0, 5.0, size=(n_tasks, n_query or k, 1))
    return xs, a * xs + b, xq, a * xq + b


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


def _silent(label, it, total, history):
    return None


def train_maml(
    model,
    rng,
    iterations,
    alpha,
    meta_batch,
    k,
    first_order=False,
    lr=1e-3,
    progress=_silent,
    sampler: Sampler = sample_tasks,
):
    """Meta-train ``model`` in place on tasks from ``sampler``; returns every meta-loss."""
    opt = Adam(model.parameters(), lr=lr)
    history = []
    for it in range(iterations):
        loss, grads = meta_gradient(model, sampler(rng, meta_batch, k), alpha, first_order)
        for p, g in zip(model.parameters(), grads):
            p.grad = g
        opt.step()
        history.append(float(loss.data))
        progress("MAML", it, iterations, history)
    return history


def train_pretrained(
    model, rng, iterations, meta_batch, k, lr=1e-3, progress=_silent, sampler=sample_tasks
):
    """The baseline: one network trained jointly on data from all tasks (no adaptation)."""
    opt = Adam(model.parameters(), lr=lr)
    history = []
    for it in range(iterations):
        xs, ys, _, _ = sampler(rng, meta_batch, k)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        opt.step()
        history.append(float(loss.data))
        progress("pretrained", it, iterations, history)
    return history


def evaluate(
    model, rng, n_tasks: int, k: int, alpha: float, sampler: Sampler = sample_tasks
) -> tuple[float, float]:
    """Held-out query MSE before and after one adaptation step (100 query points per task)."""
    tasks = sampler(rng, n_tasks, k, n_query=100)
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


def adapted_fits(model, alpha: float, k: int = 10, steps=(1, 10), seed: int = 7, n_tasks=2):
    """Finn et al.'s Figure 2: sine fits of ``model`` before and after gradient steps.

    For ``n_tasks`` sinusoids, returns dicts with the grid ``x``, the ``truth``, the ``k``
    support points and the predictions ``pre`` and ``steps[i]`` (after that many SGD steps
    of size ``alpha`` on the support points).
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(-5.0, 5.0, 200)[:, None]
    out = []
    for _ in range(n_tasks):
        amp, phase = rng.uniform(0.1, 5.0), rng.uniform(0.0, np.pi)
        xs = rng.uniform(-5.0, 5.0, size=(k, 1))
        ys = amp * np.sin(xs - phase)
        params = {name: p.detach() for name, p in model.named_parameters()}
        fit = {"x": grid[:, 0], "truth": amp * np.sin(grid[:, 0] - phase), "xs": xs, "ys": ys}
        fit["pre"] = np.asarray(nn.functional_call(model, params, grid).data)[:, 0]
        for step in range(1, max(steps) + 1):
            params = {name: v.detach().requires_grad_() for name, v in params.items()}
            loss = ad.mean(ad.square(nn.functional_call(model, params, xs) - ys))
            grads = ad.gradients([loss], list(params.values()))
            params = {name: v - alpha * g for (name, v), g in zip(params.items(), grads)}
            if step in steps:
                pred = nn.functional_call(model, params, grid)
                fit[step] = np.asarray(pred.data)[:, 0]
        out.append(fit)
    return out


def plot(path: str, maml_history, base_history, fits, steps=(1, 10)) -> str:
    """Save the figure: meta-training loss (both models) and adapted sine fits per task."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(fits), figsize=(5 * (1 + len(fits)), 4))
    window = max(1, len(maml_history) // 50)
    for name, history in (("MAML meta-loss", maml_history), ("pretrained loss", base_history)):
        smooth = np.convolve(history, np.ones(window) / window, mode="valid")
        axes[0].plot(np.arange(len(smooth)) + window, smooth, label=name)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel(f"loss (mean of {window})")
    axes[0].set_title("meta-training")
    axes[0].legend()
    for ax, fit in zip(axes[1:], fits):
        ax.plot(fit["x"], fit["truth"], "r-", label="ground truth")
        ax.plot(fit["x"], fit["pre"], ":", color="tab:green", label="pre-update")
        for step in steps:
            ax.plot(fit["x"], fit[step], "--", label=f"{step} grad step{'s' if step > 1 else ''}")
        ax.plot(fit["xs"][:, 0], fit["ys"][:, 0], "k^", label=f"K = {len(fit['xs'])} points")
        ax.set_title("MAML, adapted to a new task")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Train MAML and the pre-trained baseline, then compare them on held-out tasks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50000)
    parser.add_argument("--first-order", action="store_true", help="first-order MAML")
    parser.add_argument("--fast", action="store_true", help="a few iterations and the checks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--plot", metavar="PATH", help="save the meta-loss and adapted fits (needs matplotlib)"
    )
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
    base_history = train_pretrained(
        base, rng, iterations, meta_batch, k, lr, _progress_printer(every)
    )
    print("\nheld-out tasks (100 tasks, MSE on 100 query points):")
    print(f"  {'model':12s} {'before':>10s} {'1 step':>10s}")
    for name, model in (("MAML", maml), ("pretrained", base)):
        before, after = evaluate(model, np.random.default_rng(12345), 100, k, alpha)
        print(f"  {name:12s} {before:10.4f} {after:10.4f}")
    if args.plot:
        fits = adapted_fits(maml, alpha, k)
        print(f"\nfigure saved to {plot(args.plot, history, base_history, fits)}")
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

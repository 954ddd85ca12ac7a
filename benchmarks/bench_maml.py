"""Seconds per second-order MAML meta-gradient (25 sinusoid tasks, 1-40-40-1 ReLU, K = 10).

autodiff runs three forms of the same meta-gradient (checked equal before timing):

* the example's hand-batched one (all tasks through one ``functional_call`` with a leading
  task axis);
* the natural ``vmap`` form: one task's loss (an inner ``grad`` step, then the query loss)
  written for one task and mapped over tasks with ``ad.vmap``, no manual leading axes;
* the per-task loop form: the same one-task loss summed in a Python loop.

PyTorch, when installed, runs the usual per-task loop with
``torch.autograd.grad(create_graph=True)`` and the ``torch.func`` ``vmap`` form. Targets:
autodiff vmap / torch.func vmap <= 1.0 and autodiff loop / torch loop <= 1.0.

    python benchmarks/bench_maml.py [--quick] [--tune-malloc]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autodiff as ad  # noqa: E402
from autodiff import nn  # noqa: E402
from benchmarks._common import machine_info, print_table, timeit_interleaved, try_import  # noqa: E402
from examples.maml_sinusoid import meta_gradient, sample_tasks  # noqa: E402

TARGET = 1.0  # autodiff / PyTorch, for the vmap and the loop forms


def _autodiff_variants(model, tasks, alpha):
    """Closures computing the meta-gradient with autodiff: hand-batched, vmap, per-task loop."""

    def task_loss(params, xs, ys, xq, yq):
        """One task: an inner SGD step on the support set, then the loss on the query set."""
        inner = lambda p: ad.mean((nn.functional_call(model, p, xs) - ys) ** 2)  # noqa: E731
        g = inner_grad(inner)(params)
        adapted = {k: params[k] - alpha * g[k] for k in params}
        return ad.mean((nn.functional_call(model, adapted, xq) - yq) ** 2)

    inner_grad = ad.grad
    per_task = ad.vmap(task_loss, in_axes=(None, 0, 0, 0, 0))
    names = [name for name, _ in model.named_parameters()]

    def vmapped():
        params = dict(model.named_parameters())
        g = ad.grad(lambda p: ad.mean(per_task(p, *tasks)))(params)
        return [g[k] for k in names]

    def loop():
        params = dict(model.named_parameters())

        def total(p):
            losses = [task_loss(p, *(a[t] for a in tasks)) for t in range(tasks[0].shape[0])]
            return ad.sum(ad.stack(losses)) / len(losses)

        g = ad.grad(total)(params)
        return [g[k] for k in names]

    def batched():
        return meta_gradient(model, tasks, alpha)[1]

    return {
        "autodiff (hand-batched tasks)": batched,
        "autodiff vmap over tasks": vmapped,
        "autodiff per-task loop": loop,
    }


def _check_equal(variants) -> None:
    results = {name: [np.asarray(getattr(g, "data", g)) for g in fn()] for name, fn in variants}
    first = next(iter(results.values()))
    for name, grads in results.items():
        for a, b in zip(first, grads):
            if not np.allclose(a, b, rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{name}: meta-gradient differs from the other forms")


def _torch_variants(torch, model_np, tasks, alpha):
    """Closures computing the meta-gradient with PyTorch, per-task loop and vmap."""
    params = [torch.tensor(p.data.copy(), requires_grad=True) for p in model_np.parameters()]
    xs, ys, xq, yq = (torch.tensor(a) for a in tasks)

    def forward(ps, x):
        h = torch.relu(x @ ps[0] + ps[1])
        h = torch.relu(h @ ps[2] + ps[3])
        return h @ ps[4] + ps[5]

    def loop():
        total = 0.0
        for t in range(xs.shape[0]):
            inner = ((forward(params, xs[t]) - ys[t]) ** 2).mean()
            grads = torch.autograd.grad(inner, params, create_graph=True)
            adapted = [p - alpha * g for p, g in zip(params, grads)]
            total = total + ((forward(adapted, xq[t]) - yq[t]) ** 2).mean()
        loss = total / xs.shape[0]
        return torch.autograd.grad(loss, params)

    func = torch.func

    def task_loss(ps, x, y, xq_, yq_):
        inner = lambda q: ((forward(q, x) - y) ** 2).mean()  # noqa: E731
        grads = func.grad(inner)(ps)
        adapted = [p - alpha * g for p, g in zip(ps, grads)]
        return ((forward(adapted, xq_) - yq_) ** 2).mean()

    batched = func.vmap(task_loss, in_dims=(None, 0, 0, 0, 0))

    def vmapped():
        return torch.autograd.grad(batched(params, xs, ys, xq, yq).mean(), params)

    return {"torch loop (autograd.grad)": loop, "torch.func vmap": vmapped}


def main(argv: list[str] | None = None) -> int:
    """Time one meta-gradient with autodiff and the installed peers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--tune-malloc",
        action="store_true",
        help="keep freed memory in the process (glibc mallopt) for every implementation: "
        "without it, fresh page faults on the many 100 KiB - 1 MiB arrays dominate the gaps",
    )
    args = parser.parse_args(argv)
    if args.tune_malloc:
        from benchmarks._common import tune_malloc

        print(f"malloc tuned: {tune_malloc()}")
    repeat = 5 if args.quick else 21
    print(machine_info())
    model = nn.MLP([1, 40, 40, 1], activation="relu", seed=0)
    tasks = sample_tasks(np.random.default_rng(0), 25, 10)
    fns = _autodiff_variants(model, tasks, 0.01)
    torch = try_import("torch")
    if torch is not None:
        torch.set_default_dtype(torch.float64)
        fns.update(_torch_variants(torch, model, tasks, 0.01))
    _check_equal(fns.items())
    times = timeit_interleaved(fns, repeat=repeat, warmup=2)
    base = times["autodiff (hand-batched tasks)"]
    rows = [(name, f"{t * 1e3:.2f} ms", f"{t / base:.2f}x") for name, t in times.items()]
    print_table(rows, ("meta-gradient, 25 tasks", "median", "vs hand-batched"))
    if torch is None:
        print("\nPyTorch not installed: no ratio")
        return 0
    for ours, theirs in (
        ("autodiff vmap over tasks", "torch.func vmap"),
        ("autodiff per-task loop", "torch loop (autograd.grad)"),
    ):
        r = times[ours] / times[theirs]
        status = "PASS" if r <= TARGET else "MISS"
        print(f"{ours} / {theirs} = {r:.2f} (target <= {TARGET}): {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seconds per second-order MAML meta-gradient (25 sinusoid tasks, 1-40-40-1 ReLU, K = 10).

autodiff runs the example's batched meta-gradient (all tasks through one ``functional_call``
with a leading task axis). PyTorch, when installed, runs the usual per-task loop with
``torch.autograd.grad(create_graph=True)``, and a batched ``torch.func`` variant
(``vmap`` over tasks) so that both sides are compared on the same footing.

    python benchmarks/bench_maml.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autodiff import nn  # noqa: E402
from benchmarks._common import machine_info, print_table, timeit_median, try_import  # noqa: E402
from examples.maml_sinusoid import meta_gradient, sample_tasks  # noqa: E402

TARGET = 1.0  # autodiff / PyTorch (per-task loop)


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
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else 21
    print(machine_info())
    model = nn.MLP([1, 40, 40, 1], activation="relu", seed=0)
    tasks = sample_tasks(np.random.default_rng(0), 25, 10)
    ours = timeit_median(lambda: meta_gradient(model, tasks, 0.01), repeat=repeat, warmup=2)
    rows = [("autodiff (batched tasks)", f"{ours * 1e3:.2f} ms", "1.00x")]
    torch = try_import("torch")
    reference = None
    if torch is not None:
        torch.set_default_dtype(torch.float64)
        for name, fn in _torch_variants(torch, model, tasks, 0.01).items():
            t = timeit_median(fn, repeat=repeat, warmup=2)
            reference = t if reference is None else reference
            rows.append((name, f"{t * 1e3:.2f} ms", f"{t / ours:.2f}x"))
    print_table(rows, ("meta-gradient, 25 tasks", "median", "vs autodiff"))
    if reference is not None:
        status = "PASS" if ours / reference <= TARGET else "MISS"
        print(f"\nautodiff / torch loop = {ours / reference:.2f} (target <= {TARGET}): {status}")
    else:
        print("\nPyTorch not installed: no ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())

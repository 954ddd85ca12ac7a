"""Benchmark autodiff's eager engine against hand-written NumPy and installed peers.

Three workloads, all in float64 (the project default), each timed as a median of repeats:

1. one SGD step of an MLP 64-256-256-10 (tanh, batch 128, softmax cross-entropy): autodiff's
   public ops vs a hand-written NumPy forward+backward (the reference), PyTorch eager and JAX
   (jit), plus ``autodiff.nn``/``autodiff.optim`` when those exist;
2. a chain of 1,000 scalar steps alternating ``x*1.0001+0.001`` and ``sin``, forward+backward:
   the per-op overhead of the tape;
3. the Hessian of the (chained, scipy-style) Rosenbrock function at n=100.

Run ``python benchmarks/bench_autodiff.py [--quick]``; peers that are not installed are skipped.
Targets in the summary are informational: timing never fails a test.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autodiff as ad  # noqa: E402
from benchmarks._common import (  # noqa: E402
    BenchRunner,
    format_time,
    machine_info,
    print_table,
    profile_top,
    ratio,
    try_import,
    tune_malloc,
)

SIZES = (64, 256, 256, 10)
BATCH = 128
LR = 0.05
CHAIN_STEPS = 1000  # alternating: 500 steps x*1.0001+0.001 (2 ops) and 500 sin (1 op)
CHAIN_OPS = (CHAIN_STEPS + 1) // 2 * 2 + CHAIN_STEPS // 2
ROSEN_N = 100
NAN = float("nan")
NUMPY_REF = "numpy (hand-written, reference)"


# --- 1. MLP SGD step ----------------------------------------------------------------------------
def mlp_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Inputs, integer labels and [W1, b1, W2, b2, W3, b3] with 1/sqrt(fan_in) scaling."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], BATCH)
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        params.append(rng.standard_normal((n_in, n_out)) / np.sqrt(n_in))
        params.append(rng.standard_normal(n_out) * 0.1)
    return x, y, params


def numpy_sgd_step(x: np.ndarray, y: np.ndarray, params: list[np.ndarray], lr: float) -> float:
    """The reference: hand-written forward, softmax cross-entropy, backward and SGD update."""
    n_layers = len(params) // 2
    acts = [x]
    for i in range(n_layers):
        z = acts[-1] @ params[2 * i] + params[2 * i + 1]
        acts.append(np.tanh(z) if i < n_layers - 1 else z)
    shifted = acts[-1] - acts[-1].max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    loss = -logp[rows, y].mean()
    g = np.exp(logp)
    g[rows, y] -= 1.0
    g /= len(y)
    for i in reversed(range(n_layers)):
        w, b = params[2 * i], params[2 * i + 1]
        gw = acts[i].T @ g
        gb = g.sum(axis=0)
        if i > 0:
            g = (g @ w.T) * (1.0 - acts[i] * acts[i])
        w -= lr * gw
        b -= lr * gb
    return float(loss)


def autodiff_sgd_step(x: ad.Tensor, y: np.ndarray, params: list[ad.Tensor], lr: float) -> float:
    """The same step with autodiff's public ops, backward, and an in-place update on ``.data``."""
    n_layers = len(params) // 2
    h = x
    for i in range(n_layers):
        z = ad.matmul(h, params[2 * i]) + params[2 * i + 1]
        h = ad.tanh(z) if i < n_layers - 1 else z
    logp = ad.log_softmax(h, axis=-1)
    loss = -logp[np.arange(len(y)), y].mean()
    loss.backward()
    with ad.no_grad():
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None
    return float(loss.data)


def torch_sgd_step(torch: Any, x: Any, y: Any, params: list, lr: float) -> float:
    """The same step in PyTorch eager mode, with the same ops (log_softmax + indexing)."""
    n_layers = len(params) // 2
    h = x
    for i in range(n_layers):
        z = h @ params[2 * i] + params[2 * i + 1]
        h = torch.tanh(z) if i < n_layers - 1 else z
    logp = torch.log_softmax(h, dim=-1)
    loss = -logp[torch.arange(len(y)), y].mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss.item()


def jax_step_fn(jax: Any) -> Callable:
    """A jitted ``(params, x, y) -> new params`` SGD step."""
    jnp = jax.numpy

    def loss_fn(params, x, y):
        h = x
        n_layers = len(params) // 2
        for i in range(n_layers):
            z = h @ params[2 * i] + params[2 * i + 1]
            h = jnp.tanh(z) if i < n_layers - 1 else z
        logp = jax.nn.log_softmax(h, axis=-1)
        return -logp[jnp.arange(y.shape[0]), y].mean()

    def step(params, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        return [p - LR * g for p, g in zip(params, grads)]

    return jax.jit(step)


def _nn_model(nn: Any) -> Callable[[Any], Any]:
    """``nn.MLP(SIZES, activation="tanh")`` when it exists, else ``nn.Linear`` layers + tanh."""
    if hasattr(nn, "MLP"):
        return nn.MLP(SIZES, activation="tanh")
    layers = [nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:])]

    def model(h):
        for i, layer in enumerate(layers):
            h = layer(h) if i == len(layers) - 1 else ad.tanh(layer(h))
        return h

    model.parameters = lambda: [p for layer in layers for p in layer.parameters()]
    return model


def nn_variant(x: np.ndarray, y: np.ndarray) -> tuple[Callable | None, str]:
    """An SGD step with autodiff.nn + nn.functional.cross_entropy + optim.SGD, or why not."""
    nn, optim = try_import("autodiff.nn"), try_import("autodiff.optim")
    cross_entropy = getattr(try_import("autodiff.nn.functional"), "cross_entropy", None)
    if nn is None or optim is None or cross_entropy is None or not hasattr(nn, "Linear"):
        return None, "skipped: autodiff.nn.Linear / functional.cross_entropy / optim.SGD missing"
    try:
        model = _nn_model(nn)
        opt = optim.SGD(list(model.parameters()), lr=LR)
        xt = ad.tensor(x)

        def step():
            opt.zero_grad()
            cross_entropy(model(xt), y).backward()
            opt.step()

        step()
    except Exception as exc:  # an API that differs from the torch-like one assumed here
        return None, f"skipped: {type(exc).__name__}: {exc}"
    kind = "MLP" if hasattr(nn, "MLP") else "Linear"
    return step, f"nn.{kind} + nn.functional.cross_entropy + optim.SGD"


def check_mlp_step() -> float:
    """Max |difference| between the parameters after one autodiff step and one NumPy step."""
    x, y, params = mlp_data()
    ref = [p.copy() for p in params]
    numpy_sgd_step(x, y, ref, LR)
    ts = [ad.tensor(p, requires_grad=True) for p in params]
    autodiff_sgd_step(ad.tensor(x), y, ts, LR)
    return max(float(np.max(np.abs(t.data - r))) for t, r in zip(ts, ref))


def _own_impls(x, y, params) -> dict[str, tuple[Callable[[], Any], str]]:
    """name -> (one SGD step on its own copy of ``params``, note) for numpy and autodiff."""
    np_params = [p.copy() for p in params]
    ad_params = [ad.tensor(p, requires_grad=True) for p in params]
    xt = ad.tensor(x)
    impls = {
        NUMPY_REF: (lambda: numpy_sgd_step(x, y, np_params, LR), "reference"),
        "autodiff (raw ops)": (
            lambda: autodiff_sgd_step(xt, y, ad_params, LR),
            "tensor/matmul/tanh/log_softmax/indexing",
        ),
    }
    step, note = nn_variant(x, y)
    impls["autodiff (nn + optim)"] = (step, note)
    return impls


def _peer_impls(x, y, params) -> dict[str, tuple[Callable[[], Any], str]]:
    """The same step in each installed peer (imported only now, after our own timings)."""
    impls = {}
    torch = try_import("torch")
    if torch is not None:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tp = [torch.tensor(p, requires_grad=True) for p in params]
        impls["torch eager"] = (
            lambda: torch_sgd_step(torch, tx, ty, tp, LR),
            f"{torch.get_num_threads()} intra-op thread(s)",
        )
    jax = try_import("jax")
    if jax is not None:
        impls["jax (jit)"] = (_jax_call(jax, x, y, params), "whole step compiled by XLA")
    return impls


def _jax_call(jax: Any, x, y, params) -> Callable[[], None]:
    jax.config.update("jax_enable_x64", True)
    step = jax_step_fn(jax)
    state = {"p": [jax.numpy.asarray(p) for p in params]}
    jx, jy = jax.numpy.asarray(x), jax.numpy.asarray(y)

    def call():
        state["p"] = step(state["p"], jx, jy)
        jax.block_until_ready(state["p"])

    return call


def bench_mlp(run: BenchRunner, tune: bool) -> None:
    """Section 1: one SGD step of the MLP, autodiff vs NumPy (interleaved), then the peers."""
    x, y, params = mlp_data()
    own = _own_impls(x, y, params)
    ours = {n: fn for n, (fn, _) in own.items() if fn is not None}
    times = run.time_many(ours)
    # Peers run after ours, each alone: their imports and thread pools (torch's OpenMP, XLA)
    # change the allocator's state and compete with OpenBLAS's threads.
    peers = _peer_impls(x, y, params)
    times.update({n: run.time(fn) for n, (fn, _) in peers.items()})
    rows = [[n, times.get(n, NAN), note] for n, (_, note) in {**own, **peers}.items()]
    tuned: dict[str, float] = {}
    if tune and tune_malloc():
        tuned = run.time_many(ours)
        rows += [[f"{n} [malloc tuned]", t, "glibc: no trim, no mmap"] for n, t in tuned.items()]
    t_np = times[NUMPY_REF]
    print_table(
        [[n, format_time(t), ratio(t, t_np if "tuned" not in n else tuned[NUMPY_REF]), note]
         for n, t, note in rows],
        ["implementation", "median/step", "vs numpy", "notes"],
        f"1. MLP {'-'.join(map(str, SIZES))} tanh, batch {BATCH}, SGD step (fwd+bwd+update)",
    )  # fmt: skip
    print(f"check: params after one step, autodiff vs numpy: max |diff| = {check_mlp_step():.2e}")
    if tuned:
        print("[malloc tuned]: re-timed after tune_malloc(); later sections keep that allocator.")
    _record_mlp(run, times, tuned)


def _record_mlp(run: BenchRunner, times: dict[str, float], tuned: dict[str, float]) -> None:
    for label, ts in (("", times), (" [malloc tuned]", tuned)):
        for name in ("autodiff (raw ops)", "autodiff (nn + optim)"):
            if name in ts:
                rel = ts[name] / ts[NUMPY_REF]
                what = f"MLP step {name}/numpy{label}"
                run.record(what, f"{rel:.2f}x", "<= 1.25x", rel <= 1.25)
    for name in ("torch eager", "jax (jit)"):
        if name in times:
            rel = ratio(times["autodiff (raw ops)"], times[name])
            run.record(f"MLP step autodiff/{name}", rel, "-", None)


# --- 2. scalar chain ----------------------------------------------------------------------------
def chain_forward(x: Any, sin: Callable) -> Any:
    """Apply the alternating chain: even steps ``x*1.0001+0.001``, odd steps ``sin``."""
    for i in range(CHAIN_STEPS):
        x = x * 1.0001 + 0.001 if i % 2 == 0 else sin(x)
    return x


def chain_autodiff(x0: float, backward: bool = True) -> float:
    """Forward (and backward) of the chain through autodiff; returns d out / d x."""
    x = ad.tensor(x0, requires_grad=True)
    out = chain_forward(x, ad.sin)
    if not backward:
        return NAN
    out.backward()
    return float(x.grad.data)


def chain_python(x0: float) -> float:
    """Floor: plain Python floats, the derivative multiplied along by hand."""
    x, d = x0, 1.0
    for i in range(CHAIN_STEPS):
        if i % 2 == 0:
            x, d = x * 1.0001 + 0.001, d * 1.0001
        else:
            x, d = math.sin(x), d * math.cos(x)
    return d


def _chain_peers() -> list[tuple[str, Callable[[float], float]]]:
    peers = []
    torch = try_import("torch")
    if torch is not None:

        def chain_torch(x0: float) -> float:
            x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            chain_forward(x, torch.sin).backward()
            return float(x.grad)

        peers.append(("torch eager", chain_torch))
    autograd = try_import("autograd")
    if autograd is not None:
        sin = autograd.numpy.sin
        peers.append(("autograd (HIPS)", autograd.grad(lambda x: chain_forward(x, sin))))
    return peers


def bench_chain(run: BenchRunner) -> None:
    """Section 2: per-op overhead on a long chain of scalar ops, forward+backward."""
    x0 = 0.3
    impls = [
        ("python floats (floor)", chain_python),
        ("autodiff fwd only", lambda v: chain_autodiff(v, backward=False)),
        ("autodiff fwd+bwd", chain_autodiff),
        *_chain_peers(),
    ]
    ref = chain_python(x0)
    rows, per_op = [], {}
    for name, fn in impls:
        t = run.time(lambda fn=fn: fn(x0), max_number=1000)
        per_op[name] = t / CHAIN_OPS
        got = fn(x0)
        err = "-" if math.isnan(got) else f"{abs(got - ref):.1e}"
        rows.append([name, format_time(t), f"{per_op[name] * 1e6:.2f}", err])
    print_table(
        rows,
        ["implementation", "median/chain", "us per op", "|grad err|"],
        f"2. scalar chain: {CHAIN_STEPS} steps = {CHAIN_OPS} primitive ops forward",
    )
    print(
        f"ops counted: x*1.0001+0.001 = 2 ops (mul, add), sin = 1 op; {CHAIN_STEPS} alternating "
        f"steps = {CHAIN_OPS} ops. 'us per op' = whole fwd(+bwd) time / {CHAIN_OPS}."
    )
    us = per_op["autodiff fwd+bwd"] * 1e6
    run.record("scalar chain autodiff fwd+bwd", f"{us:.2f} us/op", "<= 4 us/op", us <= 4.0)
    if "torch eager" in per_op:
        rel = ratio(per_op["autodiff fwd+bwd"], per_op["torch eager"])
        run.record("scalar chain autodiff/torch", rel, "-", None)


# --- 3. Hessian of Rosenbrock -------------------------------------------------------------------
def rosen(x: Any) -> Any:
    """scipy's Rosenbrock, sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, for any array library."""
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def _hessian_impls(x0: np.ndarray) -> list[tuple[str, Callable[[], Any]]]:
    impls = [("autodiff.hessian", lambda: ad.hessian(rosen)(x0))]
    torch = try_import("torch")
    if torch is not None:
        tx = torch.from_numpy(x0)
        impls.append(("torch.func.hessian", lambda: torch.func.hessian(rosen)(tx).numpy()))
    jax = try_import("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jhess, jx = jax.jit(jax.hessian(rosen)), jax.numpy.asarray(x0)
        impls.append(("jax.hessian (jit)", lambda: np.asarray(jax.block_until_ready(jhess(jx)))))
    autograd = try_import("autograd")
    if autograd is not None:
        impls.append(("autograd.hessian", lambda: autograd.hessian(rosen)(x0)))
    return impls


def bench_hessian(run: BenchRunner) -> None:
    """Section 3: dense Hessian of Rosenbrock at n=100 vs scipy's analytic rosen_hess and peers."""
    scipy_opt = try_import("scipy.optimize")
    x0 = np.random.default_rng(1).uniform(-1.5, 1.5, ROSEN_N)
    ref = scipy_opt.rosen_hess(x0) if scipy_opt is not None else None
    rows, times = [], {}
    if scipy_opt is not None:
        times["scipy"] = run.time(lambda: scipy_opt.rosen_hess(x0))
        rows.append(["scipy.optimize.rosen_hess (analytic)", format_time(times["scipy"]), "-"])
    for name, fn in _hessian_impls(x0):
        times[name] = run.time(fn, max_number=200)
        err = "-" if ref is None else f"{float(np.max(np.abs(np.asarray(fn()) - ref))):.1e}"
        rows.append([name, format_time(times[name]), err])
    t_ad = times["autodiff.hessian"]
    print_table(
        [[*r, ratio(t_ad, times.get(_key(r[0]), NAN))] for r in rows],
        ["implementation", "median", "max |H - rosen_hess|", "autodiff / this"],
        f"3. Hessian of Rosenbrock, n={ROSEN_N} (dense {ROSEN_N}x{ROSEN_N})",
    )
    for name, t in times.items():
        if name != "autodiff.hessian":
            run.record(f"rosen hessian autodiff/{name}", ratio(t_ad, t), "-", None)
    run.record("rosen hessian autodiff", format_time(t_ad), "-", None)


def _key(label: str) -> str:
    return "scipy" if label.startswith("scipy") else label


def _profile_mlp() -> Callable[[], float]:
    x, y, params = mlp_data()
    xt, ps = ad.tensor(x), [ad.tensor(p, requires_grad=True) for p in params]
    return lambda: autodiff_sgd_step(xt, y, ps, LR)


PROFILE_TARGETS = {
    "mlp": _profile_mlp,
    "chain": lambda: lambda: chain_autodiff(0.3),
    "hessian": lambda: lambda: ad.hessian(rosen)(np.linspace(-1.0, 1.0, ROSEN_N)),
}


# --- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the three autodiff benchmarks and print their tables and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument(
        "--no-tune-malloc",
        action="store_true",
        help="skip the second MLP timing with glibc's trimming and mmap switched off",
    )
    parser.add_argument(
        "--profile",
        choices=("mlp", "chain", "hessian"),
        help="print a cProfile of autodiff on that workload instead of timing",
    )
    parser.add_argument(
        "--only", choices=("mlp", "chain", "hessian"), action="append", help="run only these"
    )
    args = parser.parse_args(argv)
    if args.profile:
        print(profile_top(PROFILE_TARGETS[args.profile](), calls=20, limit=25))
        return 0
    run = BenchRunner(args.quick)
    print(machine_info())
    print(f"mode: {'quick' if args.quick else 'full'} (median of {run.repeat} runs)")
    sections = {
        "mlp": lambda r: bench_mlp(r, tune=not args.no_tune_malloc),
        "chain": bench_chain,
        "hessian": bench_hessian,
    }
    run.run_sections(sections, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())

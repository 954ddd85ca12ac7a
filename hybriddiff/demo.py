"""hybriddiff demo: one function through the eager, symbolic and compiled faces.

The tour differentiates f(x, y) = log(1 + exp(x*y)) * sin(x)**2 / (1 + y**2) by reverse-mode
autodiff, prints its exact gradient and Hessian formulas, compiles them to numba kernels and
times them against eager NumPy, then runs Newton's method with compiled sparse Hessians on the
extended Rosenbrock function against SciPy. With --plot PATH it also saves a figure: the
gradient norm per iteration of each solver (log scale) and the compiled-vs-eager timings
(matplotlib, the optional 'plot' extra).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import autodiff as ad


def f(x, y):
    """The tour's function: softplus(x*y) * sin(x)^2 / (1 + y^2), written with autodiff ops."""
    return ad.log(1 + ad.exp(x * y)) * ad.sin(x) ** 2 / (1 + y**2)


def rosenbrock(x):
    """Extended (chained) Rosenbrock: sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


INDENT = "      "


@dataclass
class Record:
    """What the tour measured, for ``--plot`` and for tests."""

    histories: dict[str, list[float]] = field(default_factory=dict)
    """Gradient norm (max-norm) per iteration, per solver."""
    timings: dict[str, float] = field(default_factory=dict)
    """Median seconds of one batched gradient: ``compiled`` and ``eager``."""
    n_points: int = 0


class _Steps:
    """Numbered step headers with the elapsed time of each step."""

    def __init__(self, total: int, out=None):
        self.total, self.n, self.start = total, 0, time.perf_counter()
        self.out = out

    def __call__(self, title: str) -> None:
        self.n += 1
        self.t0 = time.perf_counter()
        print(f"\n[{self.n}/{self.total}] {title}", flush=True, file=self.out)

    def note(self, text: str) -> None:
        print(f"{INDENT}{text}  ({time.perf_counter() - self.t0:.2f} s)", flush=True, file=self.out)


def unicode_ok(stream=None) -> bool:
    """True when ``stream`` (default stdout) can encode the pretty formulas' symbols."""
    stream = sys.stdout if stream is None else stream
    try:
        "∂²σ⋅─│⎛".encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def show_formula(formula, pretty: bool, width: int | None = None) -> str:
    """A :class:`symdiff.Formula` indented for the tour, every entry the same way.

    ``pretty``: 2-D unicode, except an entry wider than ``width`` columns (default: the
    terminal's), which is printed as one line of text rather than wrapped into blocks.
    Otherwise plain text lines.
    """
    width = shutil.get_terminal_size().columns if width is None else width
    text = formula.rows("text")
    shown = formula.rows("pretty", wrap_line=False) if pretty else text
    out = []
    for (label, body), (_, plain) in zip(shown, text):
        lines = body.splitlines()
        if max(map(len, lines)) + len(INDENT) > width:
            lines = [plain]  # one long line wraps readably; 2-D art does not
        if len(lines) == 1:
            out.append(f"{INDENT}{label} = {lines[0]}")
        else:
            out += [f"{INDENT}{label} ="] + [INDENT + line for line in lines]
    return "\n".join(out)


def show_matrix(m: np.ndarray, precision: int = 6) -> str:
    """A small matrix as aligned rows of ``precision`` significant-looking decimals."""
    m = np.asarray(m, dtype=float)
    if m.ndim == 2 and m.shape[0] == m.shape[1] and np.allclose(m, m.T, rtol=1e-12, atol=0):
        m = (m + m.T) / 2  # a Hessian: rounding-level asymmetry is not shown
    return np.array2string(m, precision=precision, suppress_small=True, floatmode="fixed")


def _indent_block(label: str, text: str) -> str:
    pad = " " * len(label)
    lines = text.splitlines()
    return "\n".join([label + lines[0]] + [pad + line for line in lines[1:]])


def _median_time(fn: Callable, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def eager_face(step: _Steps, point: tuple[float, float]) -> None:
    """Value, gradient and Hessian by reverse (and forward-over-reverse) autodiff."""
    step("eager: autodiff value, gradient and Hessian")
    g = np.array(ad.grad(f, argnums=(0, 1))(*point))
    h = ad.hessian(lambda v: f(v[0], v[1]))(np.array(point))
    print(f"{INDENT}f{point} = {float(f(*point).data):.12f}")
    print(_indent_block(f"{INDENT}gradient = ", show_matrix(g)))
    print(_indent_block(f"{INDENT}Hessian  = ", show_matrix(h)))


def symbolic_face(step: _Steps, point: tuple[float, float], pretty: bool) -> None:
    """Lift into SymPy, print simplified derivatives, check agreement with the eager face."""
    import symdiff

    step("symbolic: lift into SymPy, simplified gradient and Hessian")
    lifted = symdiff.lift(f, *point)
    step.note(f"lifted: f = {lifted.expr}")
    print(f"{INDENT}gradient:")
    print(show_formula(symdiff.formula(lifted, order=1), pretty))
    print(f"{INDENT}Hessian (upper triangle):")
    print(show_formula(symdiff.formula(lifted, order=2), pretty))
    check = symdiff.check_consistency(f, *point, order=2)
    print(
        f"{INDENT}eager (rev, fwd) == symbolic == finite differences: "
        f"max error {check.max_error:.1e}"
    )


def _compile_note(kernels, seconds: float, what: str) -> str:
    cached = getattr(kernels, "from_cache", None)
    if cached is None:
        return f"{what} ready in {seconds:.2f} s"
    how = "loaded from the cache" if cached else "compiled"
    return f"{what} {how} in {seconds:.2f} s"


def compiled_face(step: _Steps, n_points: int, record: Record) -> None:
    """Compile the gradient to a parallel numba kernel; compare its speed with eager autodiff."""
    import bridge

    step(f"compiled: numba kernels (parallel), gradient at {n_points:,} points")
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, size=(n_points, 2))
    t = time.perf_counter()
    kernels = bridge.compile(f, 0.5, 0.5, target="parallel")
    kernels.grad(points[:2])  # numba compiles (or loads its cache) on the first call
    print(f"{INDENT}{_compile_note(kernels, time.perf_counter() - t, 'kernels')}")
    grad_eager = ad.grad(lambda x, y: f(x, y).sum(), argnums=(0, 1))
    t_kernel = _median_time(lambda: kernels.grad(points))
    t_eager = _median_time(lambda: grad_eager(points[:, 0], points[:, 1]))
    record.timings.update(compiled=t_kernel, eager=t_eager)
    record.n_points = n_points
    eager = np.stack(grad_eager(points[:, 0], points[:, 1]), axis=1)
    error = np.max(np.abs(kernels.grad(points) - eager) / (1 + np.abs(eager)))
    print(
        f"{INDENT}compiled: {t_kernel * 1e3:7.2f} ms   eager (vectorised NumPy): "
        f"{t_eager * 1e3:7.2f} ms   speed-up {t_eager / t_kernel:5.1f}x"
    )
    print(f"{INDENT}agreement compiled vs eager: max relative error {error:.1e}")


def _log_every(n_iterations: int, rows: int = 6) -> int:
    """Print every k-th iteration so that a log has about ``rows`` lines."""
    return max(1, -(-n_iterations // rows))


def _print_history(name: str, history: list[tuple[int, float, float]]) -> None:
    k = _log_every(len(history))
    print(f"{INDENT}{name}: " + ("every iteration" if k == 1 else f"every {k} iterations"))
    print(f"{INDENT}  {'it':>4s}  {'f':>12s}  {'|grad|inf':>10s}")
    shown = [row for i, row in enumerate(history) if i % k == 0 or i == len(history) - 1]
    for nit, fun, gnorm in shown:
        print(f"{INDENT}  {nit:4d}  {fun:12.6e}  {gnorm:10.2e}")


def newton_face(step: _Steps, n: int, record: Record) -> None:
    """Newton with compiled sparse Hessians on Rosenbrock, against SciPy with our kernels."""
    from scipy.optimize import minimize as scipy_minimize

    import bridge

    from .optimize import minimize

    step(f"second order: Newton on extended Rosenbrock, n = {n:,} (compiled sparse Hessian)")
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], n)  # SciPy's tutorial start; minimum at all ones
    t = time.perf_counter()
    kernels = bridge.compile(rosenbrock, x0)
    kernels.hessian(x0, sparse=True)  # numba compiles (or loads) on the first call
    print(f"{INDENT}{_compile_note(kernels, time.perf_counter() - t, 'Hessian kernel')}")

    rows = []
    for method in ("newton", "trust-region"):
        history: list[tuple[int, float, float]] = []
        t = time.perf_counter()
        res = minimize(
            rosenbrock,
            x0,
            method=method,
            callback=lambda r, h=history: h.append((r.nit, float(r.fun), float(r.grad_norm))),
        )
        rows.append((f"hybriddiff.minimize {method}", res.nit, time.perf_counter() - t, res))
        _print_history(f"hybriddiff.minimize(method={method!r})", history)
        record.histories[f"hybriddiff {method}"] = [g for _, _, g in history]
    objective = bridge.scipy_objective(rosenbrock, x0, method="trust-exact")
    scipy_history: list[float] = []

    def scipy_progress(intermediate_result):
        scipy_history.append(float(np.max(np.abs(objective["jac"](intermediate_result.x)))))

    t = time.perf_counter()
    ref = scipy_minimize(
        **objective, method="trust-exact", options={"gtol": 1e-10}, callback=scipy_progress
    )
    ref.grad_norm = float(np.max(np.abs(ref.jac)))
    rows.append(("scipy trust-exact (our kernels)", ref.nit, time.perf_counter() - t, ref))
    record.histories["scipy trust-exact"] = scipy_history
    header = f"{'method':34s} {'iters':>5s} {'time':>8s} {'|grad|inf':>10s} {'|x - 1|inf':>11s}"
    print(f"\n{INDENT}{header}")
    for name, nit, seconds, res in rows:
        error = np.max(np.abs(res.x - 1.0))
        print(f"{INDENT}{name:34s} {nit:5d} {seconds:7.3f}s {res.grad_norm:10.1e} {error:11.1e}")


def plot(record: Record, path: str) -> str:
    """Save the tour's figure to ``path``: convergence (log scale) and the timing bars.

    Needs matplotlib (``pip install "hybriddiff[plot]"``); drawn with the Agg backend, so it
    works without a display. Returns ``path``.
    """
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise SystemExit(
            'hybriddiff demo: --plot needs matplotlib: pip install "hybriddiff[plot]"'
        ) from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, norms in record.histories.items():
        norms = [max(g, 1e-300) for g in norms]
        ax1.semilogy(range(1, len(norms) + 1), norms, marker="o", markersize=3, label=name)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("‖∇f‖∞")
    ax1.set_title("Newton on extended Rosenbrock")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    names = list(record.timings)
    values = [record.timings[k] * 1e3 for k in names]
    bars = ax2.bar(names, values, color=["tab:green", "tab:gray"][: len(names)])
    ax2.bar_label(bars, fmt="%.2f ms")
    ax2.set_ylabel("milliseconds (median)")
    ax2.set_title(f"gradient at {record.n_points:,} points")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="hybriddiff demo",
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the tour (``--quick``: fewer points and a smaller Newton problem)."""
    parser = _parser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (used by the tests)")
    parser.add_argument(
        "--plot",
        metavar="PATH",
        help="save a figure (PNG, PDF or SVG by the suffix): convergence and timings",
    )
    args = parser.parse_args(argv)
    step = _Steps(4)
    point = (0.7, -1.3)
    record = Record()
    print("hybriddiff: one function, three faces - eager, symbolic, compiled")
    print("f(x, y) = log(1 + exp(x*y)) * sin(x)**2 / (1 + y**2)")
    eager_face(step, point)
    symbolic_face(step, point, pretty=unicode_ok())
    compiled_face(step, 20_000 if args.quick else 200_000, record)
    newton_face(step, 100 if args.quick else 1000, record)
    if args.plot:
        print(f"\nfigure saved to {plot(record, args.plot)}")
    print(f"\ndone in {time.perf_counter() - step.start:.1f} s")
    return 0

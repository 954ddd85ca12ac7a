"""Simplified first and second derivatives of common activations and losses, as text and LaTeX.

Each function is ordinary autodiff code; ``symdiff.formula`` lifts it into SymPy and prints
its derivatives with named functions kept (σ, softplus, relu), so the formulas read the way
they are written in papers.

    python examples/derivative_formulas.py            # text and LaTeX
    python examples/derivative_formulas.py --pretty   # SymPy's unicode layout instead of text
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import autodiff as ad
import symdiff
from autodiff.nn.functional import cross_entropy


def logistic_nll(w, x, y):
    """Negative log-likelihood of one observation under logistic regression."""
    z = w @ x
    return -(y * ad.log(ad.sigmoid(z)) + (1 - y) * ad.log(1 - ad.sigmoid(z)))


def softmax_cross_entropy(z):
    """Cross-entropy of 3-class logits ``z`` against class 0."""
    return cross_entropy(z, np.array(0))


def gaussian_nll(mu, log_sigma, y):
    """Negative log-likelihood of ``y`` under N(mu, exp(log_sigma)^2), constants dropped."""
    return log_sigma + 0.5 * ((y - mu) / ad.exp(log_sigma)) ** 2


def small_function(x, y):
    """A function of two variables whose Hessian is printed in full."""
    return ad.log(1 + ad.exp(x * y)) * ad.sin(x) ** 2 / (1 + y**2)


# (title, function, example arguments, arguments held as symbolic parameters)
CASES = [
    ("sigmoid", ad.sigmoid, [0.5], ()),
    ("tanh", ad.tanh, [0.5], ()),
    ("softplus", ad.softplus, [0.5], ()),
    ("relu", ad.relu, [0.5], ()),
    ("logistic NLL (w, x: 2-vectors)", logistic_nll, [np.ones(2), np.ones(2), 1.0], ("x", "y")),
    ("softmax cross-entropy, 3 classes", softmax_cross_entropy, [np.zeros(3)], ()),
    ("Gaussian NLL", gaussian_nll, [0.0, 0.0, 1.0], ("y",)),
]


def _show(title: str, result: symdiff.Formula, pretty: bool) -> None:
    print(f"--- {title}")
    print(result.pretty() if pretty else str(result))
    print("LaTeX:", result.latex().replace("\n", " "))


def main(argv: list[str] | None = None) -> int:
    """Print the derivative formulas of every case, then a Hessian."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretty", action="store_true", help="SymPy unicode layout")
    parser.add_argument("--fast", action="store_true", help="accepted for CI; the run is fast")
    args = parser.parse_args(argv)
    for name, fn, example, params in CASES:
        lifted = symdiff.lift(fn, *example, params=params)
        variables = lifted.variables
        print(f"\n===== {name}: f = {lifted.expr}")
        _show("first derivative(s)", symdiff.formula(lifted, wrt=variables, order=1), args.pretty)
        if len(variables) <= 3:
            _show(
                "second derivatives", symdiff.formula(lifted, wrt=variables, order=2), args.pretty
            )
    hess = symdiff.lift(small_function, 0.5, 0.5).hessian(simplify="fast")
    print("\n===== Hessian of log(1 + exp(x*y)) * sin(x)**2 / (1 + y**2)")
    for (i, j), entry in zip(zip(hess.rows, hess.cols), hess.values):
        if i <= j:
            print(f"H[{i}, {j}] = {entry}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

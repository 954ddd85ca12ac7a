"""Generate: module source with one assignment per common subexpression, for one target.

Each derivative becomes a *point* function that reads one point ``x`` (and the parameter
vector ``p``) and writes its outputs; thin *batch* wrappers map it over the rows of ``X`` —
a serial loop (``cpu``), a ``prange`` loop (``parallel``) or a CUDA kernel with one thread per
point (``cuda``). The Hessian point function computes each upper-triangle entry once and
stores it at ``out[idx[k]]`` for both triangles, so the same compiled body fills a dense
``n*n`` buffer (``idx = rows*n + cols``) or the CSR data array (``idx = arange(nnz)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .printer import HELPERS, NumbaPrinter, helper_source

CODEGEN_VERSION = "1"
TARGETS = ("cpu", "parallel", "cuda")
DTYPES = ("float64", "float32")
DERIVATIVES = ("value", "grad", "hessian")

_NJIT = '@njit(cache=True, error_model="numpy")\n'
_NJIT_PARALLEL = '@njit(cache=True, error_model="numpy", parallel=True)\n'
_DEVICE = "@cuda.jit(device=True)\n"
_KERNEL = "@cuda.jit(cache=True)\n"


@dataclass
class KernelSpec:
    """Everything code generation needs: expressions, symbol order, dtype and target."""

    value: sp.Expr
    variables: tuple[sp.Symbol, ...]
    parameters: tuple[sp.Symbol, ...]
    grad: list[sp.Expr] | None = None
    hess_rows: np.ndarray | None = None
    hess_cols: np.ndarray | None = None
    hess_values: list[sp.Expr] | None = None
    dtype: str = "float64"
    target: str = "cpu"


def _names(spec: KernelSpec) -> dict[sp.Symbol, str]:
    names = {s: f"x{i}" for i, s in enumerate(spec.variables)}
    names.update({s: f"p{i}" for i, s in enumerate(spec.parameters)})
    return names


def _drop_dirac(expr: sp.Expr) -> sp.Expr:
    # Kinks are differentiated as 0 everywhere (DESIGN.md): relu'' = sign' = 0.
    if expr.has(sp.DiracDelta):
        return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return expr


def _body(printer: NumbaPrinter, exprs: Sequence[sp.Expr]) -> tuple[list[str], list[str]]:
    """Statements (loads + one line per common subexpression) and the printed outputs."""
    exprs = [_drop_dirac(sp.sympify(e)) for e in exprs]
    temps = sp.numbered_symbols("_t", cls=sp.Dummy)
    replacements, reduced = sp.cse(list(exprs), symbols=temps, order="none")
    used = set().union(*(sp.sympify(e).free_symbols for e in exprs)) if exprs else set()
    lines = []
    for sym, name in list(printer.names.items()):
        if sym in used and name[0] in "xp":
            lines.append(f"{name} = {name[0]}[{name[1:]}]")
    for i, (sym, expr) in enumerate(replacements):
        printer.names[sym] = f"t{i}"
        lines.append(f"t{i} = {printer.print_expr(expr)}")
    outs = [printer.print_expr(e) for e in reduced]
    for sym, _ in replacements:
        del printer.names[sym]
    return lines, outs


def _function(decorator: str, signature: str, lines: list[str]) -> str:
    body = "\n".join("    " + line for line in lines) or "    pass"
    return f"\n\n{decorator}def {signature}:\n{body}\n"


def _value_point(printer: NumbaPrinter, spec: KernelSpec, deco: str) -> str:
    lines, (out,) = _body(printer, [spec.value])
    return _function(deco, "value_point(x, p)", lines + [f"return {out}"])


def _grad_point(printer: NumbaPrinter, spec: KernelSpec, deco: str) -> str:
    lines, outs = _body(printer, [spec.value, *spec.grad])
    stores = [f"g[{i}] = {out}" for i, out in enumerate(outs[1:])]
    return _function(deco, "grad_point(x, p, g)", lines + stores + [f"return {outs[0]}"])


def _hess_point(printer: NumbaPrinter, spec: KernelSpec, deco: str) -> str:
    rows, cols = spec.hess_rows.tolist(), spec.hess_cols.tolist()
    where = {(r, c): k for k, (r, c) in enumerate(zip(rows, cols))}
    upper = [k for k, (r, c) in enumerate(zip(rows, cols)) if r <= c]
    lines, outs = _body(printer, [spec.hess_values[k] for k in upper])
    for k, out in zip(upper, outs):
        mirror = where.get((cols[k], rows[k]), k)
        if mirror == k:
            lines.append(f"out[idx[{k}]] = {out}")
        else:
            lines += [f"h = {out}", f"out[idx[{k}]] = h", f"out[idx[{mirror}]] = h"]
    return _function(deco, "hess_point(x, p, out, idx)", lines)


_CPU_BATCH = {
    "value": ("value_batch(X, p, out)", "out[i] = value_point(X[i], p)"),
    "grad": ("grad_batch(X, p, v, G)", "v[i] = grad_point(X[i], p, G[i])"),
    "hessian": ("hess_batch(X, p, H, idx)", "hess_point(X[i], p, H[i], idx)"),
}
_CUDA_KERNEL = {
    "value": ("value_kernel(X, p, out)", "out[i] = value_point(X[i], p)"),
    "grad": ("grad_kernel(X, p, v, G)", "v[i] = grad_point(X[i], p, G[i])"),
    "hessian": ("hess_kernel(X, p, H, idx)", "hess_point(X[i], p, H[i], idx)"),
}


def _batch(kind: str, target: str) -> str:
    if target == "cuda":
        signature, call = _CUDA_KERNEL[kind]
        lines = ["i = cuda.grid(1)", "if i < X.shape[0]:"]
        if kind == "hessian":
            # device outputs are not zeroed: clear the row the point function fills sparsely
            lines += ["    for k in range(H.shape[1]):", "        H[i, k] = 0"]
        lines.append(f"    {call}")
        return _function(_KERNEL, signature, lines)
    signature, call = _CPU_BATCH[kind]
    loop = "prange" if target == "parallel" else "range"
    deco = _NJIT_PARALLEL if target == "parallel" else _NJIT
    return _function(deco, signature, [f"for i in {loop}(X.shape[0]):", f"    {call}"])


def _header(spec: KernelSpec, kinds: tuple[str, ...]) -> str:
    imports = (
        "from numba import cuda" if spec.target == "cuda" else "from numba import njit, prange"
    )
    rows = spec.hess_rows.tolist() if spec.hess_rows is not None else []
    cols = spec.hess_cols.tolist() if spec.hess_cols is not None else []
    return "\n".join(
        [
            '"""Kernels generated by hybriddiff.bridge; do not edit (the file is hash-checked)."""',
            "",
            "import math",
            "",
            "import numpy as np",
            imports,
            "",
            f"TARGET = {spec.target!r}",
            f"DTYPE = {spec.dtype!r}",
            f"DERIVATIVES = {kinds!r}",
            f"VARIABLES = {tuple(str(s) for s in spec.variables)!r}",
            f"PARAMETERS = {tuple(str(s) for s in spec.parameters)!r}",
            f"HESS_ROWS = np.array({rows!r}, dtype=np.int64)",
            f"HESS_COLS = np.array({cols!r}, dtype=np.int64)",
        ]
    )


def generate(spec: KernelSpec) -> str:
    """The full module source for ``spec``: helpers, point functions and batch wrappers."""
    kinds = ("value",) + ("grad",) * (spec.grad is not None)
    kinds += ("hessian",) * (spec.hess_values is not None)
    printer = NumbaPrinter(_names(spec), spec.dtype, spec.target)
    point_deco = _DEVICE if spec.target == "cuda" else _NJIT
    parts = [_value_point(printer, spec, point_deco)]
    if spec.grad is not None:
        parts.append(_grad_point(printer, spec, point_deco))
    if spec.hess_values is not None:
        parts.append(_hess_point(printer, spec, point_deco))
    printer.check_target()
    parts += [_batch(kind, spec.target) for kind in kinds]
    helpers = [
        helper_source(h, point_deco, spec.dtype) for h in HELPERS if h in printer.helpers_used
    ]
    return _header(spec, kinds) + "\n" + "".join(helpers) + "".join(parts)

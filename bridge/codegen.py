"""Generate: module source with one assignment per common subexpression, for one target.

Each derivative becomes a *point* function that reads one point ``x`` (and the parameter
vector ``p``) and writes its outputs; thin *batch* wrappers map it over the rows of ``X`` —
a serial loop (``cpu``), a ``prange`` loop (``parallel``) or a CUDA kernel with one thread per
point (``cuda``). The Hessian point function computes each upper-triangle entry once and
stores it at ``out[idx[k]]`` for both triangles, so the same compiled body fills a dense
``n*n`` buffer (``idx = rows*n + cols``) or the CSR data array (``idx = arange(nnz)``).
Every expression first goes through :func:`bridge.stable.stabilize` (``log(1 + exp(u))`` ->
``softplus(u)``, ``exp(u) - 1`` -> ``expm1(u)``, shifted ``logsumexp``, ...), on every target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from symdiff.dag import dag_size, free_symbols, intern, shared_form, tree_size
from symdiff.functions import drop_dirac

from .printer import HELPERS, NumbaPrinter, helper_source
from .recurrences import reroll_statements
from .reroll import GRAD_ENTRY, HESS_ENTRY, MIN_ITEMS, VALUE_TERM, Group, Item, plan
from .stable import stabilize

# nogil=True: a batch call releases the GIL, so Dask's threaded scheduler (or any thread pool)
# runs chunks of points on several cores at once (changing it changes every CPU module: the
# source digest, and CODEGEN_VERSION in the request key, see bridge.options).
_NJIT = '@njit(cache=True, error_model="numpy", nogil=True)\n'
_NJIT_PARALLEL = '@njit(cache=True, error_model="numpy", nogil=True, parallel=True)\n'
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
    guards: list[tuple[sp.Basic, bool, str]] | None = None  # (condition, taken, where)


def _names(spec: KernelSpec) -> dict[sp.Symbol, str]:
    names = {s: f"x{i}" for i, s in enumerate(spec.variables)}
    names.update({s: f"p{i}" for i, s in enumerate(spec.parameters)})
    return names


# Common subexpressions are the DAG's shared nodes (symdiff.dag.shared_form: a node with two
# or more parents gets a name), never sympy.cse. On the expressions lift and reverse
# accumulation build (unevaluated Add/Mul nodes among them) cse's sub-product search returned a
# WRONG expression - the gradient of MGH's trigonometric function, n = 10, compiled with its
# Hessian, was off by 4e9, while the same expressions re-read in a fresh process gave the
# right one - and it walks trees, exponential on DAGs. Naming shared nodes is exact by
# construction and linear; LLVM removes what common work remains.
# Above LARGE_DAG_NODES unique nodes (or a quarter of it when the trees are more than 8 times
# the unique nodes), nodes over named arguments are rebuilt unevaluated and sums print in
# stored order (SymPy's canonical re-sorting compares terms as trees), and temporaries get
# zero-padded names (_t0000123), so SymPy orders the factors of a product the same way in
# every iteration of a repeated computation, which lets its statements reroll.
LARGE_DAG_NODES = 1_000


def _common_subexpressions(exprs: list[sp.Expr]) -> tuple[list, list, bool]:
    size = dag_size(exprs)
    memo: dict = {}
    shared = sum(tree_size(e, 8 * size, memo) for e in exprs) > 8 * size
    large = size > LARGE_DAG_NODES or (shared and size >= LARGE_DAG_NODES // 4)
    definitions, reduced = shared_form(exprs, prefix="_t", width=7 if large else 0, evaluate=False)
    return definitions, reduced, large


def _body(
    printer: NumbaPrinter,
    exprs: Sequence[sp.Expr],
    temp: str = "t",
    load: bool = True,
    reroll: bool = False,
) -> tuple[list[str], list[str]]:
    """Statements (loads + one line per common subexpression) and the printed outputs.

    With ``reroll``, periodic runs of statements print as loops
    (:func:`bridge.recurrences.reroll_statements`).
    """
    replacements, reduced, large = _common_subexpressions(list(exprs))
    # a large DAG prints its sums in their stored order: sorting the terms of every sum for
    # display compares them as trees
    order = printer._settings.get("order")
    if large:
        printer._settings["order"] = "none"
    try:
        return _print_body(printer, replacements, reduced, exprs, temp, load, reroll)
    finally:
        printer._settings["order"] = order


def _print_body(printer, replacements, reduced, exprs, temp, load, reroll):
    lines = []
    if load:
        memo: dict = {}
        used = set().union(*(free_symbols(e, memo) for e in exprs)) if exprs else set()
        for sym, name in list(printer.names.items()):
            if sym in used and name[0] in "xp":
                lines.append(f"{name} = {name[0]}[{name[1:]}]")
    statements = []
    for i, (sym, expr) in enumerate(replacements):
        printer.names[sym] = f"{temp}{i}"
        statements.append((i, printer.print_expr(expr)))
    outs = [printer.print_expr(e) for e in reduced]
    for sym, _ in replacements:
        del printer.names[sym]
    if reroll:
        body, outs = reroll_statements(statements, outs, temp)
        return lines + body, outs
    return lines + [f"{temp}{i} = {rhs}" for i, rhs in statements], outs


def _pairwise(terms: Sequence[str]) -> str:
    """``terms`` summed as a balanced tree (NumPy's pairwise order; rounding error O(log n))."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({_pairwise(terms[:half])} + {_pairwise(terms[half:])})"


def _neumaier(value: str) -> list[str]:
    """Add ``value`` to ``acc`` with Neumaier's compensated summation (the lost low-order bits
    collect in ``acc_c``; the sum is ``acc + acc_c``): the error no longer grows with the
    number of terms or with the size of the partial sums."""
    return [
        f"acc_u = {value}",
        "acc_s = acc + acc_u",
        "if abs(acc) >= abs(acc_u):",
        "    acc_c += (acc - acc_s) + acc_u",
        "else:",
        "    acc_c += (acc_u - acc_s) + acc",
        "acc = acc_s",
    ]


def _store(item_kind: str, slots: Sequence[str], value: str, loop: bool) -> list[str]:
    """Lines storing ``value`` for one output; ``slots`` are printed indices."""
    if item_kind == VALUE_TERM:
        return _neumaier(value) if loop else [f"acc = {value}"]
    if item_kind == GRAD_ENTRY:
        return [f"g[{slots[0]}] = {value}"]
    if not loop and slots[0] == slots[1]:
        return [f"out[idx[{slots[0]}]] = {value}"]
    return [f"h = {value}", f"out[idx[{slots[0]}]] = h", f"out[idx[{slots[1]}]] = h"]


class _Emitter:
    """Point-function bodies: straight-line code with CSE, plus loops for rerolled groups."""

    def __init__(self, printer: NumbaPrinter, spec: KernelSpec):
        self.printer = printer
        self.index = {s: (0, i) for i, s in enumerate(spec.variables)}
        self.index.update({s: (1, i) for i, s in enumerate(spec.parameters)})
        self.reroll = spec.target != "cuda"  # index tables would land in constant memory
        self.tables: list[str] = []
        self.loops = 0

    def body(self, items: list[Item]) -> list[str]:
        """Lines computing and storing ``items``: straight-line CSE first, then the loops."""
        items = [Item(drop_dirac(sp.sympify(it.expr)), it.kind, it.slots) for it in items]
        straight, groups = plan(items, self.index, self.reroll)
        terms = [it.expr for it in straight if it.kind == VALUE_TERM]
        straight = [it for it in straight if it.kind != VALUE_TERM]
        looped = any(g.kind == VALUE_TERM for g in groups)
        # Accuracy of the value (at least NumPy's pairwise summation): the straight-line terms
        # are summed pairwise, loop terms with Neumaier compensation, and constants last (a
        # constant such as ARWHEAD's 3(n - 1) first would make every partial sum large).
        has_value = bool(terms) or looped
        if len(terms) > 1 or looped:
            const = sp.Add(*[t for t in terms if not t.free_symbols])
            terms = [t for t in terms if t.free_symbols]
        else:
            const = sp.S.Zero
        lines, outs = _body(self.printer, terms + [it.expr for it in straight], reroll=self.reroll)
        if has_value:
            zero = self.printer.print_expr(sp.Float(0.0))
            lines.append(f"acc = {_pairwise(outs[: len(terms)]) if terms else zero}")
            if looped:
                lines.append(f"acc_c = {zero}")
        for it, out in zip(straight, outs[len(terms) :]):
            lines += _store(it.kind, [str(s) for s in it.slots], out, loop=False)
        for group in groups:
            lines += self._loop(group)
        if looped:
            if const != 0:
                lines += _neumaier(self.printer.print_expr(const))
            lines.append("acc = acc + acc_c")
        elif const != 0:
            lines.append(f"acc = acc + {self.printer.print_expr(const)}")
        return lines

    def _table(self, name: str, rows: list) -> None:
        self.tables.append(f"{name} = np.array({rows!r}, dtype=np.int64)")

    def _loop(self, group: Group) -> list[str]:
        self.loops += 1
        name = f"R{self.loops}"
        names = self.printer.names
        lines = []
        if group.x_places:
            self._table(f"{name}_X", group.x_index)
            lines += [f"a{i} = x[{name}_X[j, {i}]]" for i in range(len(group.x_places))]
        if group.p_places:
            self._table(f"{name}_P", group.p_index)
            lines += [f"b{i} = p[{name}_P[j, {i}]]" for i in range(len(group.p_places))]
        slots = []
        if group.kind != VALUE_TERM:
            self._table(f"{name}_S", group.slots)
            slots = [f"{name}_S[j, {c}]" for c in range(len(group.slots[0]))]
        names.update({ph: f"a{i}" for i, ph in enumerate(group.x_places)})
        names.update({ph: f"b{i}" for i, ph in enumerate(group.p_places)})
        body, (out,) = _body(self.printer, [group.template], temp="u", load=False)
        for ph in group.x_places + group.p_places:
            del names[ph]
        body = lines + body + _store(group.kind, slots, out, loop=True)
        return [f"for j in range({len(group.slots)}):"] + ["    " + line for line in body]


def _function(decorator: str, signature: str, lines: list[str]) -> str:
    body = "\n".join("    " + line for line in lines) or "    pass"
    return f"\n\n{decorator}def {signature}:\n{body}\n"


def _value_items(value: sp.Expr) -> list[Item]:
    terms = sp.Add.make_args(sp.sympify(value))
    return (
        [Item(t, VALUE_TERM) for t in terms]
        if len(terms) >= MIN_ITEMS
        else [Item(value, VALUE_TERM)]
    )


def _value_point(emit: _Emitter, spec: KernelSpec, deco: str) -> str:
    lines = emit.body(_value_items(spec.value))
    return _function(deco, "value_point(x, p)", lines + ["return acc"])


def _grad_point(emit: _Emitter, spec: KernelSpec, deco: str) -> str:
    items = _value_items(spec.value) + [Item(e, GRAD_ENTRY, (i,)) for i, e in enumerate(spec.grad)]
    lines = emit.body(items)
    return _function(deco, "grad_point(x, p, g)", lines + ["return acc"])


def _hess_point(emit: _Emitter, spec: KernelSpec, deco: str) -> str:
    rows, cols = spec.hess_rows.tolist(), spec.hess_cols.tolist()
    where = {(r, c): k for k, (r, c) in enumerate(zip(rows, cols))}
    items = [
        Item(spec.hess_values[k], HESS_ENTRY, (k, where.get((c, r), k)))
        for k, (r, c) in enumerate(zip(rows, cols))
        if r <= c
    ]
    return _function(deco, "hess_point(x, p, out, idx)", emit.body(items))


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


def _guard_point(printer: NumbaPrinter, spec: KernelSpec, deco: str) -> str:
    """``guard_point(x, p)``: 0 when ``x`` takes every traced branch, else 1 + the first guard
    it violates. Conditions are compared like the eager Python ``if``: NaN compares False."""
    lines, outs = _body(printer, [cond for cond, _, _ in spec.guards])
    for k, (out, (_, taken, _)) in enumerate(zip(outs, spec.guards)):
        lines += [f"if {'not ' if taken else ''}{out}:", f"    return {k + 1}"]
    return _function(deco, "guard_point(x, p)", lines + ["return 0"])


def _guard_batch(target: str) -> str:
    """The guard codes of every row of ``X`` into ``out`` (a loop, or one CUDA thread each)."""
    if target == "cuda":
        lines = ["i = cuda.grid(1)", "if i < X.shape[0]:", "    out[i] = guard_point(X[i], p)"]
        return _function(_KERNEL, "guard_kernel(X, p, out)", lines)
    loop = "prange" if target == "parallel" else "range"
    deco = _NJIT_PARALLEL if target == "parallel" else _NJIT
    lines = [f"for i in {loop}(X.shape[0]):", "    out[i] = guard_point(X[i], p)"]
    return _function(deco, "guard_batch(X, p, out)", lines)


def _guard_header(spec: KernelSpec) -> str:
    """``GUARDS``: per guard its printed condition, the branch taken and where it was traced."""
    if not spec.guards:
        return ""
    rows = tuple((str(cond), bool(taken), where) for cond, taken, where in spec.guards)
    return f"\nGUARDS = {rows!r}"


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


def _stabilized(spec: KernelSpec) -> KernelSpec:
    """``spec`` with every expression rewritten into stable forms (one shared linear pass).

    The expressions are interned first (:func:`symdiff.dag.intern`): gradient and Hessian
    entries built separately hold equal subexpressions as distinct objects, and every memo
    table below (and ``sympy.cse``) would compare those by walking them as trees.
    """
    memo: dict = {}
    grad, hess = list(spec.grad or ()), list(spec.hess_values or ())
    value, *rest = intern([spec.value, *grad, *hess])
    grad_i, hess_i = rest[: len(grad)], rest[len(grad) :]

    def fix(exprs, original):
        return None if original is None else [stabilize(e, memo) for e in exprs]

    return replace(
        spec,
        value=stabilize(value, memo),
        grad=fix(grad_i, spec.grad),
        hess_values=fix(hess_i, spec.hess_values),
    )


def generate(spec: KernelSpec) -> str:
    """The full module source for ``spec``: helpers, point functions and batch wrappers."""
    spec = _stabilized(spec)
    kinds = ("value",) + ("grad",) * (spec.grad is not None)
    kinds += ("hessian",) * (spec.hess_values is not None)
    printer = NumbaPrinter(_names(spec), spec.dtype, spec.target)
    emit = _Emitter(printer, spec)
    point_deco = _DEVICE if spec.target == "cuda" else _NJIT
    parts = [_value_point(emit, spec, point_deco)]
    if spec.grad is not None:
        parts.append(_grad_point(emit, spec, point_deco))
    if spec.hess_values is not None:
        parts.append(_hess_point(emit, spec, point_deco))
    if spec.guards:
        parts.append(_guard_point(printer, spec, point_deco))
    printer.check_target()
    parts += [_batch(kind, spec.target) for kind in kinds]
    if spec.guards:
        parts.append(_guard_batch(spec.target))
    helpers = [
        helper_source(h, point_deco, spec.dtype) for h in HELPERS if h in printer.helpers_used
    ]
    tables = "\n" + "\n".join(emit.tables) + "\n" if emit.tables else ""
    header = _header(spec, kinds) + _guard_header(spec)
    return header + "\n" + tables + "".join(helpers) + "".join(parts)

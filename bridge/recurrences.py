"""Straight-line rerolling: periodic runs of generated statements become loops.

A computation repeated ``N`` times (``y = sin(y) * y + x`` in a Python loop, an unrolled
time-stepper, a chain of layers) is lifted to a DAG whose common-subexpression form is a
straight-line program of ``O(N)`` statements, and numba's compile time grows with the
number of statements (about a millisecond each: minutes at ``N = 1,000`` for the value,
gradient and Hessian kernels). Those statements repeat with a period: each iteration of the
forward sweep, and of every derivative sweep, prints the same formula over shifted
temporaries. This module finds such runs and prints each as one loop.

The statements are ``t{k} = <rhs>`` in order. Each is reduced to a *shape* (its right-hand
side with every reference to a temporary ``t{j}``, input ``x{j}`` or parameter ``p{j}``
replaced by a slot) and its list of referenced indices. A run of ``m`` blocks of ``p``
statements repeats when the shapes repeat with period ``p`` and every slot's index is an
affine function of the block number (a reverse sweep reads the forward sweep backwards:
stride ``-2`` while it writes with stride ``+3``). Temporaries then live in one local array
``T`` and the run prints as::

    for it in range(m):
        T[s + 3*it] = T[a + -2*it]*T[s - 1 + 3*it] + ...

Statements keep their original order (block ``i`` of a run executes where its statements
stood), so every value is computed before it is read, exactly as in the straight-line code.

Examples
--------
>>> lines = [(k, f"math.sin(t{k - 1}) + x0" if k else "math.sin(x0)") for k in range(40)]
>>> out, _ = reroll_statements(lines, ["t39"], "t", min_statements=10)
>>> len(out) < 6, out[-2].strip()
(True, 'for it in range(39):')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MIN_STATEMENTS = 64  # below this many statements straight-line code compiles fast enough
MIN_REPEATS = 8  # a run of fewer blocks stays straight-line
MAX_PERIOD = 24  # the longest block tried

_REF = re.compile(r"\b([txp])(\d+)\b")


def _shape(rhs: str, temp: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """``rhs`` with every reference replaced by a slot, and the references in order."""
    refs: list[tuple[str, int]] = []

    def slot(m: re.Match) -> str:
        kind = m.group(1)
        if kind == "t" and temp != "t":
            return m.group(0)
        refs.append((kind, int(m.group(2))))
        return f"\x00{kind}"

    return _REF.sub(slot, rhs), tuple(refs)


def _affine(refs: list, start: int, period: int) -> list:
    """Per statement of a run's block, per slot ``(kind, first index, stride)``: the strides
    are read off the first two blocks (:func:`_run_length` has checked that every further
    block continues them)."""
    return [
        [
            (kind, j0, j1 - j0)
            for (kind, j0), (_, j1) in zip(refs[start + r], refs[start + period + r])
        ]
        for r in range(period)
    ]


def _run_length(shapes: list, refs: list, start: int, period: int) -> int:
    """How many consecutive blocks of ``period`` statements from ``start`` repeat affinely."""
    n = len(shapes)
    count = 1
    while start + (count + 1) * period <= n:
        base = start + count * period
        if any(shapes[base + r] != shapes[start + r] for r in range(period)):
            break
        if count >= 2:
            # the new block must continue every slot's stride
            ok = True
            for r in range(period):
                a, b, c = refs[start + r], refs[start + period + r], refs[base + r]
                if any(jc[1] - ja[1] != count * (jb[1] - ja[1]) for ja, jb, jc in zip(a, b, c)):
                    ok = False
                    break
            if not ok:
                break
        count += 1
    return count


def _index(kind: str, first: int, stride: int) -> str:
    name = "T" if kind == "t" else kind
    if stride == 0:
        return f"{name}[{first}]"
    return f"{name}[{first} + {stride}*it]"


def _fill(shape: str, slots: Sequence[tuple[str, int, int]]) -> str:
    parts = shape.split("\x00")
    out = [parts[0]]
    for part, (kind, first, stride) in zip(parts[1:], slots):
        out.append(_index(kind, first, stride) + part[1:])  # part[0] is the slot's kind
    return "".join(out)


def _direct(text: str, temp: str) -> str:
    """A straight-line right-hand side with its temporaries read from ``T``."""
    return re.sub(rf"\b{temp}(\d+)\b", r"T[\1]", text)


# whole addends only: a run starts at the start, after ``(`` or after ``+ `` (never after a
# minus sign or inside a product) and no term of it is a factor (followed by ``*`` or ``/``)
_SUM_RUN = re.compile(r"(?:^|(?<=\()|(?<=\+ ))T\[\d+\](?![*/])(?: \+ T\[\d+\](?![*/]))+")
_TERM = re.compile(r"T\[(\d+)\]")


def _sum_loops(text: str, sums: list[int]) -> tuple[list[str], str]:
    """Long runs ``T[a] + T[a+b] + T[a+2b] + ...`` in ``text`` become partial sums ``S{n}``
    accumulated by a loop before the statement (the adjoint of an input used in every
    iteration is such a sum, ``N`` terms long). Only runs of whole addends are replaced
    (see ``_SUM_RUN``): never a factor of a product or a subtrahend."""
    pre: list[str] = []
    out: list[str] = []
    pos = 0
    for m in _SUM_RUN.finditer(text):
        idx = [int(t) for t in _TERM.findall(m.group(0))]
        pieces, k = [], 0
        while k < len(idx):
            stride = idx[k + 1] - idx[k] if k + 1 < len(idx) else 0
            end = k + 1
            while end < len(idx) and idx[end] - idx[end - 1] == stride and stride != 0:
                end += 1
            if end - k >= MIN_REPEATS:
                name = f"S{len(sums)}"
                sums.append(end - k)
                pre += [
                    f"{name} = 0.0",
                    f"for it in range({end - k}):",
                    f"    {name} += {_index('t', idx[k], stride)}",
                ]
                pieces.append(name)
            else:  # too short: keep one term and look for a run from the next
                pieces.append(f"T[{idx[k]}]")
                end = k + 1
            k = end
        out.append(text[pos : m.start()] + " + ".join(pieces))
        pos = m.end()
    out.append(text[pos:])
    return pre, "".join(out)


def reroll_statements(
    statements: Sequence[tuple[int, str]],
    outputs: Sequence[str],
    temp: str = "t",
    min_statements: int = MIN_STATEMENTS,
) -> tuple[list[str], list[str]]:
    """``(lines, outputs)`` computing ``temp{k} = rhs`` for each ``(k, rhs)`` in order, with
    periodic runs printed as loops over a local array ``T`` (see the module docstring).

    ``statements`` must be numbered ``0, 1, ...`` in order; ``outputs`` are printed
    expressions reading the temporaries (rewritten to read ``T``). Inputs ``x{j}`` and
    parameters ``p{j}`` that vary along a run are read from the arrays ``x`` and ``p``.
    """
    count = len(statements)
    if count < min_statements:
        return [f"{temp}{k} = {rhs}" for k, rhs in statements], list(outputs)
    assert all(k == i for i, (k, _) in enumerate(statements)), "statements out of order"
    shapes, refs = [], []
    for _, rhs in statements:
        shape, found = _shape(rhs, temp)
        shapes.append(shape)
        refs.append(found)
    lines = [f"T = np.empty({count}, dtype=x.dtype)"]
    looped = False
    sums: list[int] = []
    k = 0
    while k < count:
        best = (1, 1)  # (statements covered, period)
        for period in range(1, MAX_PERIOD + 1):
            if k + period * MIN_REPEATS > count:
                break
            blocks = _run_length(shapes, refs, k, period)
            if blocks >= MIN_REPEATS and blocks * period > best[0]:
                best = (blocks * period, period)
        covered, period = best
        if covered == 1:
            pre, rhs = _sum_loops(_direct(statements[k][1], temp), sums)
            lines += pre + [f"T[{k}] = {rhs}"]
            k += 1
            continue
        blocks = covered // period
        slots = _affine(refs, k, period)
        looped = True
        lines.append(f"for it in range({blocks}):")
        for r in range(period):
            target = _index("t", k + r, period)
            lines.append(f"    {target} = {_fill(shapes[k + r], slots[r])}")
        k += covered
    if not looped:  # nothing repeats: plain straight-line code (locals, not an array)
        return [f"{temp}{k} = {rhs}" for k, rhs in statements], list(outputs)
    outs = []
    for o in outputs:
        pre, o = _sum_loops(_direct(o, temp), sums)
        lines += pre
        outs.append(o)
    return lines, outs

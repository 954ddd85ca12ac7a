"""Generate one numba module from kernel :class:`~bridge.arrays.program.Program` s.

Every elementwise cluster becomes one loop nest over its output shape (``prange`` on the outer
loop for ``target="parallel"``) whose body has one scalar line per node: the line is the
node's op's own symbolic rule (``op.sympy``) applied to generic element symbols and printed by
:class:`bridge.printer.NumbaPrinter`, the printer of the scalar path (one source of truth for
formulas and for the stable named functions). Broadcast operands are read through index
arithmetic, never materialised. Reductions call pairwise-summation helpers (blocks of 128
summed with eight accumulators, then combined pairwise, as NumPy does); structural ops are
NumPy views and index maps inside numba; ``matmul`` is ``np.dot`` (BLAS). The source grows
with the number of ops, never with the array sizes.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..errors import UnsupportedExpressionError
from ..printer import HELPERS, NumbaPrinter, helper_source
from .program import ELEMENTWISE, Program

ARRAY_CODEGEN_VERSION = "2"

_NJIT = '@njit(cache=True, error_model="numpy")\n'
_NJIT_PARALLEL = '@njit(cache=True, error_model="numpy", parallel=True)\n'


_REDUCER = {"sum": "_rsum({})", "prod": "_rprod({})", "max": "_rmax({}, True)",
            "min": "_rmax({}, False)", "stable_shift": "_rshift({})"}  # fmt: skip


def _np_dtype(dtype) -> str:
    name = np.dtype(dtype).name
    return "np.bool_" if name == "bool" else f"np.{name}"


def _tuple(shape) -> str:
    shape = tuple(int(s) for s in shape)
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


def _index_code(index) -> str:
    items = index if isinstance(index, tuple) else (index,)
    parts = []
    for item in items:
        if isinstance(item, slice):
            start = "" if item.start is None else str(int(item.start))
            stop = "" if item.stop is None else str(int(item.stop))
            step = "" if item.step is None else f":{int(item.step)}"
            parts.append(f"{start}:{stop}{step}")
        else:
            parts.append(str(int(item)))
    return ", ".join(parts) if parts else "()"


def _literal(value, dtype: str) -> sp.Basic:
    """A size-1 constant as a SymPy number (exact: the printer writes ``repr(float)``)."""
    value = np.asarray(value).reshape(-1)[0]
    if value.dtype.kind == "b":
        return sp.true if value else sp.false
    if value.dtype.kind in "iu":
        return sp.Integer(int(value))
    v = float(value)
    if np.isnan(v):
        return sp.nan
    if np.isinf(v):
        return sp.oo if v > 0 else -sp.oo
    if v.is_integer() and abs(v) < 2**53:
        return sp.Integer(int(v))
    return sp.Float(v, 17)


class _Kernel:
    """The body of one kernel function for one program."""

    def __init__(self, program: Program, dtype: str, target: str, printer_names: dict):
        self.p = program
        self.nodes = program.graph.nodes
        self.dtype = dtype
        self.target = target
        self.lines: list[str] = []
        self.name: dict[int, str] = {}
        self.scalar: set[int] = set()  # nodes held as numba scalars (shape ())
        self.layout: dict[int, str] = {}  # "C", "F" or "A" for arrays
        self.symbols = printer_names  # shared with the module's printer
        self.printer = NumbaPrinter(self.symbols, dtype, target)
        self.printer.names = self.symbols
        self.unit_of: dict[int, object] = {}
        for unit in program.units:
            if unit.kind == "cluster":
                for k in unit.nodes:
                    self.unit_of[k] = unit
        self.virtual: dict[int, tuple[int, int, int, int]] = {}  # fused slice scatters
        self.fused: set[int] = set()  # full sums computed inside their source's loop
        self.accumulated: dict[int, tuple[int, int, int]] = {}  # g -> (root, first, step)
        self.absorbed: set[int] = set()  # virtual scatters summed by accumulation
        self.acc_roots: dict[int, object] = {}  # root of an accumulating cluster -> its unit
        self._plan_fusion()

    def _plan_fusion(self) -> None:
        """Find the reductions and scatters that fuse into elementwise loops.

        * a full ``sum`` (to shape ``()``) of a member of a 1-D floating cluster is
          accumulated inside the cluster's loop, block by block with the same pairwise
          summation as :func:`bridge.arrays.runtime._rsum` (the same bits), so the summed
          array is never stored;
        * a ``scatter_add`` of a 1-D array into a 1-D slice (a VJP of ``x[a:b:c]``) whose
          every consumer is a member of a cluster of its shape is never materialised: the
          consumers read ``g[(i - a) // c]`` on the slice and zero elsewhere.
        """
        nodes = self.nodes
        outputs = set(self.p.graph.outputs)
        consumers = self.p.graph.consumers()
        for unit in self.p.units:
            if unit.kind != "op":
                continue
            k = unit.nodes[0]
            node = nodes[k]
            name = node.op.name
            if k in outputs and name != "sum":
                continue
            if name == "sum" and tuple(node.shape) == ():
                src = node.inputs[0]
                owner = self.unit_of.get(src)
                if (
                    owner is not None
                    and len(owner.shape) == 1
                    and owner.shape[0] > 0
                    and np.dtype(nodes[src].dtype).kind == "f"
                    and np.dtype(node.dtype) == np.dtype(nodes[src].dtype)
                ):
                    self.fused.add(k)
            elif name == "scatter_add":
                self._virtual_scatter(k, consumers)
        if self.target != "parallel":  # accumulation writes neighbours: not across threads
            for unit in self.p.units:
                if unit.kind == "cluster":
                    self._accumulating(unit, consumers, outputs)

    def _accumulating(self, unit, consumers, outputs) -> None:
        """A 1-D cluster that only adds slice scatters (a gradient: the VJPs of ``x[1:]``,
        ``x[:-1]``... summed) is never looped over: its output starts at zero and each
        scattered array adds its element into it, inside its own loop, where it is computed
        (``g[i + 1] += t``). No scattered array is stored."""
        if len(unit.shape) != 1:
            return
        members = set(unit.nodes)
        exported = []
        pieces = []
        for k in unit.nodes:
            node = self.nodes[k]
            if node.op.name != "add" or tuple(node.shape) != tuple(unit.shape):
                return
            for o in node.inputs:
                if o in members:
                    continue
                if o not in self.virtual or any(c not in members for c in consumers[o]):
                    return
                pieces.append(o)
            if k in outputs or any(c not in members for c in consumers[k]):
                exported.append(k)
        if len(exported) != 1 or not pieces:
            return
        for v in pieces:
            g = self.virtual[v][0]
            owner = self.unit_of.get(g)
            if owner is None or len(owner.shape) != 1 or g in outputs or owner is unit:
                return
            inside = set(owner.nodes)
            if any(c != v and c not in inside for c in consumers[g]) or pieces.count(v) != 1:
                return
        root = exported[0]
        for v in pieces:
            g, first, _, step = self.virtual[v]
            self.accumulated[g] = (root, first, step)
            self.absorbed.add(v)
        self.acc_roots[root] = unit

    def _virtual_scatter(self, k: int, consumers) -> None:
        node = self.nodes[k]
        if any(w == "index" and j == k for w, j in self.p.extras):
            return
        shape = tuple(node.params["shape"])
        index = node.params["index"]
        items = index if isinstance(index, tuple) else (index,)
        g = node.inputs[0]
        if len(shape) != 1 or len(items) != 1 or not isinstance(items[0], slice):
            return
        if g in self.p.inline or len(self.nodes[g].shape) != 1:
            return
        start, stop, step = items[0].indices(shape[0])
        m = len(range(start, stop, step))
        if step <= 0 or m == 0 or m != self.nodes[g].shape[0]:
            return
        for c in consumers[k]:
            owner = self.unit_of.get(c)
            if owner is None or tuple(owner.shape) != shape:
                return
        self.virtual[k] = (g, start, start + (m - 1) * step, step)

    # --- values ---------------------------------------------------------------------------
    def lit(self, k: int) -> str:
        node = self.nodes[k]
        return self.printer.print_expr(_literal(node.value, self.dtype))

    def array(self, k: int) -> str:
        """Code for node ``k`` as an array of its shape."""
        node = self.nodes[k]
        if k in self.p.inline or k in self.scalar:
            value = self.lit(k) if k in self.p.inline else self.name[k]
            shape = _tuple(node.shape) if node.shape else "(1,)"
            return f"np.full({shape}, {value}, {_np_dtype(node.dtype)})"
        return self.name[k]

    def contiguous(self, k: int) -> str:
        code = self.array(k)
        if k in self.p.inline or k in self.scalar or self.layout.get(k) == "C":
            return code
        return f"np.ascontiguousarray({code})"

    def scalar_code(self, k: int) -> str:
        if k in self.p.inline:
            return self.lit(k)
        if k in self.scalar:
            return self.name[k]
        return f"{self.name[k]}.ravel()[0]"

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def set_array(self, k: int, code: str, layout: str = "C") -> None:
        name = f"a{k}"
        self.emit(f"{name} = {code}")
        self.name[k], self.layout[k] = name, layout

    def set_scalar(self, k: int, code: str) -> None:
        name = f"s{k}"
        self.emit(f"{name} = {code}")
        self.name[k] = name
        self.scalar.add(k)

    # --- the program ----------------------------------------------------------------------
    def build(self, fname: str) -> str:
        graph = self.p.graph
        args = []
        for pos, k in enumerate(graph.inputs):
            node = self.nodes[k]
            args.append(f"in{pos}")
            if node.shape == ():
                self.set_scalar(k, f"in{pos}[()]")
            else:
                self.name[k], self.layout[k] = f"in{pos}", "C"
        for j, (what, k) in enumerate(self.p.extras):
            args.append(f"e{j}")
            if what == "const":
                if self.nodes[k].shape == ():
                    self.set_scalar(k, f"e{j}[()]")
                else:
                    self.name[k], self.layout[k] = f"e{j}", "C"
            else:
                self.name[("index", k)] = f"e{j}"
        for root in self.acc_roots:
            node = self.nodes[root]
            self.set_array(root, f"np.zeros({_tuple(node.shape)}, {_np_dtype(node.dtype)})")
        for unit in self.p.units:
            if unit.kind == "cluster":
                self.cluster(unit)
            else:
                self.op(unit.nodes[0])
        outs = []
        for k in graph.outputs:
            if k in self.p.inline:
                outs.append(self.lit(k) if self.nodes[k].shape == () else self.array(k))
            else:
                outs.append(self.name[k])
        self.emit(f"return ({', '.join(outs)},)")
        deco = _NJIT_PARALLEL if self.target == "parallel" else _NJIT
        body = "\n".join("    " + line for line in self.lines)
        return f"\n\n{deco}def {fname}({', '.join(args)}):\n{body}\n"

    # --- elementwise clusters ---------------------------------------------------------------
    def cluster(self, unit) -> None:
        from symdiff.functions import NS

        if any(k in self.acc_roots for k in unit.nodes):
            return  # filled by the loops of its scattered arrays (see _accumulating)

        members = set(unit.nodes)
        consumers = self.p.graph.consumers()
        outputs = set(self.p.graph.outputs)
        shape = unit.shape
        rank = len(shape)
        loads: list[str] = []
        body: list[str] = []
        stores: list[str] = []
        local: dict[int, sp.Basic] = {}
        loaded: dict[int, sp.Basic] = {}
        idx = ", ".join(f"i{d}" for d in range(rank))

        def operand(o: int) -> sp.Basic:
            if o in local:
                return local[o]
            if o in self.p.inline:
                return _literal(self.nodes[o].value, self.dtype)
            if o in self.scalar:
                return self._symbol(self.name[o])
            if o in self.virtual and o not in loaded:
                g, first, last, step = self.virtual[o]
                pos = f"i0 - {first}" if step == 1 else f"(i0 - {first}) // {step}"
                cond = f"{first} <= i0 <= {last}"
                if step != 1:
                    cond += f" and (i0 - {first}) % {step} == 0"
                zero = f"{_np_dtype(self.nodes[o].dtype)}(0)"
                loads.append(f"u{o} = {self.name[g]}[{pos}] if {cond} else {zero}")
                loaded[o] = self._symbol(f"u{o}")
            if o not in loaded:
                oshape = self.nodes[o].shape
                lead = rank - len(oshape)
                at = ", ".join(f"i{lead + j}" if n != 1 else "0" for j, n in enumerate(oshape))
                name = f"u{o}"
                loads.append(f"{name} = {self.name[o]}[{at}]")
                loaded[o] = self._symbol(name)
            return loaded[o]

        for k in unit.nodes:
            node = self.nodes[k]
            ops = [operand(o) for o in node.inputs]
            name = f"t{k}" if rank else f"s{k}"
            op = node.op.name
            if op == "broadcast_to":
                code = self.printer.print_expr(ops[0])
            elif op == "cast":
                code = f"{_np_dtype(node.params['dtype'])}({self.printer.print_expr(ops[0])})"
            elif op == "cast_discrete":
                inner = self.printer.print_expr(ops[0])
                if np.dtype(node.params["dtype"]).kind == "b":
                    code = f"({inner} != 0)"
                else:
                    code = f"{_np_dtype(node.params['dtype'])}({inner})"
            else:
                cells = [np.array(e, dtype=object) for e in ops]
                expr = node.op.sympy(NS, *cells, **dict(node.params))
                expr = np.asarray(expr, dtype=object)[()]
                code = self.printer.print_expr(expr)
            body.append(f"{name} = {code}")
            local[k] = self._symbol(name)
            outside = [
                c
                for c in consumers[k]
                if c not in members and c not in self.fused and c not in self.absorbed
            ]
            if rank and (k in outputs or outside):
                stores.append(f"a{k}[{idx}] = {name}")
                self.emit(f"a{k} = np.empty({_tuple(shape)}, {_np_dtype(node.dtype)})")
                self.name[k], self.layout[k] = f"a{k}", "C"
            elif not rank:
                self.name[k] = name
                self.scalar.add(k)
            if k in self.accumulated:
                root, first, step = self.accumulated[k]
                at = f"{first} + i0" if step == 1 else f"{first} + {step} * i0"
                stores.append(f"a{root}[{at}] += {name}")
        if not rank:
            self.lines.extend(body)
            return
        sums = [c for k in unit.nodes for c in consumers[k] if c in self.fused]
        if sums:
            self._blocked_loop(unit, loads + body + stores, sums, local)
            return
        indent = ""
        for d in range(rank):
            loop = "prange" if d == 0 and self.target == "parallel" else "range"
            self.emit(f"{indent}for i{d} in {loop}({int(shape[d])}):")
            indent += "    "
        for line in loads + body + stores:
            self.emit(indent + line)

    def _blocked_loop(self, unit, lines: list[str], sums: list[int], local: dict) -> None:
        """A 1-D cluster loop that also sums some members: blocks of 128 elements go through
        a small buffer into :func:`_block`, the block sums are combined pairwise
        (:func:`_combine`), exactly as ``_rsum`` sums a stored array."""
        n = int(unit.shape[0])
        tag = unit.nodes[0]
        nb = (n + 127) // 128
        bufs = {}
        for r in sums:
            dt = _np_dtype(self.nodes[r].dtype)
            bufs[r] = (f"buf{r}", f"blk{r}", dt)
            self.emit(f"blk{r} = np.empty({nb}, {dt})")
            if self.target != "parallel":
                self.emit(f"buf{r} = np.empty(128, {dt})")
        loop = "prange" if self.target == "parallel" else "range"
        self.emit(f"for b{tag} in {loop}({nb}):")
        if self.target == "parallel":
            for r in sums:
                self.emit(f"    buf{r} = np.empty(128, {bufs[r][2]})")
        self.emit(f"    lo{tag} = b{tag} * 128")
        self.emit(f"    hi{tag} = min({n}, lo{tag} + 128)")
        self.emit(f"    for i0 in range(lo{tag}, hi{tag}):")
        for line in lines:
            self.emit("        " + line)
        for r in sums:
            src = self.nodes[r].inputs[0]
            self.emit(f"        buf{r}[i0 - lo{tag}] = {self.printer.print_expr(local[src])}")
        for r in sums:
            self.emit(f"    blk{r}[b{tag}] = _block(buf{r}, 0, hi{tag} - lo{tag})")
        for r in sums:
            self.set_scalar(r, f"_combine(blk{r})")

    def _symbol(self, name: str) -> sp.Symbol:
        sym = sp.Symbol(name, real=True)
        self.symbols[sym] = name
        return sym

    # --- other ops --------------------------------------------------------------------------
    def op(self, k: int) -> None:
        if k in self.fused or k in self.virtual:
            return  # computed inside an elementwise loop (see _plan_fusion)
        node = self.nodes[k]
        name = node.op.name
        ins = node.inputs
        shape = tuple(node.shape)
        if name == "reshape":
            if shape == ():
                self.set_scalar(k, self.scalar_code(ins[0]))
            elif ins[0] in self.scalar or ins[0] in self.p.inline:
                self.set_array(
                    k,
                    f"np.full({_tuple(shape)}, {self.scalar_code(ins[0])}, "
                    f"{_np_dtype(node.dtype)})",
                )
            else:
                self.set_array(k, f"{self.contiguous(ins[0])}.reshape({_tuple(shape)})")
        elif name == "transpose":
            axes = tuple(node.params["axes"])
            if shape == () or axes == tuple(range(len(axes))):
                self._alias(k, ins[0])
            else:
                layout = self.layout.get(ins[0], "A")
                flipped = {"C": "F", "F": "C"}.get(layout, "A") if len(axes) == 2 else "A"
                if axes == (1, 0):  # .T keeps numba's layout exact (C <-> F): BLAS reads it
                    self.set_array(k, f"{self.array(ins[0])}.T", flipped)
                else:
                    self.set_array(k, f"np.transpose({self.array(ins[0])}, {_tuple(axes)})", "A")
        elif name == "getitem":
            self._getitem(k)
        elif name == "scatter_add":
            self._scatter(k)
        elif name == "concatenate":
            parts = ", ".join(self.array(o) for o in ins)
            axis = int(node.params["axis"])
            self.set_array(k, f"np.concatenate(({parts},), axis={axis})")
        elif name == "matmul":
            self._matmul(k)
        elif name == "cumsum":
            self._cumsum(k)
        elif name in ("sort_gather", "sort_scatter"):
            self._sort(k)
        elif name == "einsum":
            self._einsum(k)
        else:
            self._reduce(k)

    def _alias(self, k: int, o: int) -> None:
        if o in self.scalar or o in self.p.inline:
            self.set_scalar(k, self.scalar_code(o))
        else:
            self.name[k], self.layout[k] = self.name[o], self.layout.get(o, "A")

    def _getitem(self, k: int) -> None:
        node = self.nodes[k]
        src = node.inputs[0]
        index = node.params["index"]
        shape = tuple(node.shape)
        if ("index", k) in self.name:
            flat = f"{self.contiguous(src)}.ravel()[{self.name[('index', k)]}]"
            if shape == ():
                self.set_scalar(k, f"{flat}[0]")
            else:
                self.set_array(k, f"{flat}.reshape({_tuple(shape)})")
            return
        if src in self.scalar or src in self.p.inline and self.nodes[src].shape == ():
            self._alias(k, src)
            return
        code = f"{self.array(src)}[{_index_code(index)}]"
        if shape == ():
            self.set_scalar(k, code)
        else:
            self.set_array(k, code, "A")

    def _scatter(self, k: int) -> None:
        node = self.nodes[k]
        g = node.inputs[0]
        shape = tuple(node.params["shape"])
        size = int(np.prod(shape, dtype=np.int64))
        dt = _np_dtype(node.dtype)
        if ("index", k) in self.name:
            flat = f"{self.contiguous(g)}.ravel()"
            if g in self.scalar or g in self.p.inline:
                count = max(1, int(self.nodes[g].size))
                flat = f"np.full({count}, {self.scalar_code(g)}, {dt})"
            self.set_array(
                k, f"_scatter({flat}, {self.name[('index', k)]}, {size}).reshape({_tuple(shape)})"
            )
            return
        self.set_array(k, f"np.zeros({_tuple(shape)}, {dt})")
        value = self.scalar_code(g) if g in self.scalar or g in self.p.inline else self.name[g]
        self.emit(f"a{k}[{_index_code(node.params['index'])}] = {value}")

    def _matmul(self, k: int) -> None:
        node = self.nodes[k]
        a, b = node.inputs
        if np.dtype(node.dtype).kind != "f":
            raise UnsupportedExpressionError(["matmul"], self.target, "non-floating matmul")

        def operand(o):
            if self.layout.get(o) in ("C", "F"):
                return self.array(o)
            return f"np.ascontiguousarray({self.array(o)})"

        if len(node.shape) == 2:
            self.set_array(k, f"np.dot({operand(a)}, {operand(b)})")
            return
        sa, sb, shape = self.nodes[a].shape, self.nodes[b].shape, tuple(node.shape)
        batch = shape[:-2]
        nb = int(np.prod(batch, dtype=np.int64))
        fa = _tuple(batch + tuple(sa[-2:]))
        fb = _tuple(batch + tuple(sb[-2:]))
        a3 = f"np.ascontiguousarray(np.broadcast_to({self.array(a)}, {fa}))"
        a3 += f".reshape(({nb}, {sa[-2]}, {sa[-1]}))"
        b3 = f"np.ascontiguousarray(np.broadcast_to({self.array(b)}, {fb}))"
        b3 += f".reshape(({nb}, {sb[-2]}, {sb[-1]}))"
        self.set_array(k, f"_bmm({a3}, {b3}).reshape({_tuple(shape)})")

    def _three(self, o: int, shape: tuple[int, ...], axis: int) -> str:
        """Node ``o`` (broadcast to ``shape``) as a contiguous (pre, n, post) array."""
        pre = int(np.prod(shape[:axis], dtype=np.int64))
        post = int(np.prod(shape[axis + 1 :], dtype=np.int64))
        if o in self.scalar or o in self.p.inline:
            dt = _np_dtype(self.nodes[o].dtype)
            code = f"np.full({_tuple(shape)}, {self.scalar_code(o)}, {dt})"
        elif tuple(self.nodes[o].shape) != shape:
            code = f"np.ascontiguousarray(np.broadcast_to({self.array(o)}, {_tuple(shape)}))"
        else:
            code = self.contiguous(o)
        return f"{code}.reshape(({pre}, {shape[axis]}, {post}))"

    def _cumsum(self, k: int) -> None:
        node = self.nodes[k]
        shape, axis = tuple(node.shape), int(node.params["axis"])
        self.set_array(
            k, f"_cumsum3({self._three(node.inputs[0], shape, axis)}).reshape({_tuple(shape)})"
        )

    def _sort(self, k: int) -> None:
        node = self.nodes[k]
        shape, axis = tuple(node.shape), int(node.params["axis"])
        v, x = (self._three(o, shape, axis) for o in node.inputs)
        scatter = node.op.name == "sort_scatter"
        self.set_array(k, f"_sort3({v}, {x}, {scatter}).reshape({_tuple(shape)})")

    def _einsum(self, k: int) -> None:
        """A loop nest over every letter: output letters outside (``prange`` on the first for
        ``target="parallel"``: each iteration writes its own elements), summed letters inside."""
        node = self.nodes[k]
        ins, out = node.params["subscripts"].split("->")
        terms = ins.split(",")
        sizes: dict[str, int] = {}
        for term, o in zip(terms, node.inputs):
            for c, n in zip(term, self.nodes[o].shape):
                sizes[c] = int(n)
        order = list(out) + sorted(c for c in sizes if c not in out)
        var = {c: f"j{k}_{p}" for p, c in enumerate(order)}
        factors = []
        for term, o in zip(terms, node.inputs):
            if not term or o in self.scalar or o in self.p.inline:  # one element
                factors.append(self.scalar_code(o))
            else:
                factors.append(f"{self.array(o)}[{', '.join(var[c] for c in term)}]")
        product = " * ".join(factors)
        dt = _np_dtype(node.dtype)
        acc = f"acc{k}"
        if out:
            self.set_array(k, f"np.zeros({_tuple(node.shape)}, {dt})")
            target = f"a{k}[{', '.join(var[c] for c in out)}]"
        else:
            self.emit(f"{acc} = {dt}(0)")
        indent = ""
        for p, c in enumerate(order):
            parallel = p == 0 and out and self.target == "parallel"
            self.emit(f"{indent}for {var[c]} in {'prange' if parallel else 'range'}({sizes[c]}):")
            indent += "    "
        if out:
            self.emit(f"{indent}{target} += {product}")
        else:
            self.emit(f"{indent}{acc} += {product}")
            self.set_scalar(k, acc)

    def _reduce(self, k: int) -> None:
        node = self.nodes[k]
        name = node.op.name
        src = node.inputs[0]
        sshape = tuple(self.nodes[src].shape)
        axis = node.params.get("axis")
        axes = tuple(range(len(sshape))) if axis is None else tuple(axis)
        keep = tuple(d for d in range(len(sshape)) if d not in axes)
        rows = int(np.prod([sshape[d] for d in keep], dtype=np.int64))
        cols = int(np.prod([sshape[d] for d in axes], dtype=np.int64))
        shape = tuple(node.shape)
        if src in self.scalar or src in self.p.inline and sshape == ():
            self._alias(k, src)  # a reduction over no axis of a scalar is the scalar
            return
        if cols == 0 and name in ("max", "min", "stable_shift"):
            raise ValueError(f"{name}: zero-size reduction has no identity")
        perm = keep + axes
        x = self.array(src)
        layout = self.layout.get(src, "A") if src not in self.p.inline else "C"
        if perm != tuple(range(len(sshape))):
            x, layout = f"np.transpose({x}, {_tuple(perm)})", "A"
        if layout != "C":
            x = f"np.ascontiguousarray({x})"
        call = _REDUCER[name].format(f"{x}.reshape(({rows}, {cols}))")
        if shape == ():
            self.set_scalar(k, f"{call}[0]")
        else:
            self.set_array(k, f"{call}.reshape({_tuple(shape)})")


def generate(
    programs: dict[str, Program],
    *,
    dtype: str,
    target: str,
    fingerprints: dict[str, str],
    hvp_shape: tuple[int, ...] | None = None,
) -> str:
    """The module source for the named programs (``value``, ``vg``, ``hvp``).

    With an ``hvp`` program the module also gets ``hvps(x, V, ...)``: the products with every
    row of ``V`` (shape ``(k, n)``) in one call, a ``prange`` loop for ``target="parallel"``.
    """
    if target not in ("cpu", "parallel"):
        raise UnsupportedExpressionError(
            ["array mode"], target, "array kernels run on 'cpu' and 'parallel'"
        )
    symbols: dict = {}
    parts = []
    helpers: set[str] = set()
    for kind, program in programs.items():
        kernel = _Kernel(program, dtype, target, symbols)
        parts.append(kernel.build(f"k_{kind}"))
        kernel.printer.check_target()
        helpers |= kernel.printer.helpers_used
    if "hvp" in programs:
        hvp = programs["hvp"]
        n_in = len(hvp.graph.inputs)
        n_extra = len(hvp.extras)
        rest = [f"in{i}" for i in range(2, n_in)] + [f"e{j}" for j in range(n_extra)]
        args = ", ".join(["x", "V", *rest])
        loop = "prange" if target == "parallel" else "range"
        deco = _NJIT_PARALLEL if target == "parallel" else _NJIT
        call = ", ".join(["x", f"V[j].reshape({_tuple(hvp_shape)})", *rest])
        parts.append(
            f"\n\n{deco}def hvps({args}):\n"
            f"    out = np.empty((V.shape[0], V.shape[1]), x.dtype)\n"
            f"    for j in {loop}(V.shape[0]):\n"
            f"        out[j] = np.ascontiguousarray(k_hvp({call})[0]).ravel()\n"
            f"    return out\n"
        )
    header = "\n".join(
        [
            '"""Array kernels generated by bridge.arrays (hash-checked: do not edit)."""',
            "",
            "import math",
            "",
            "import numpy as np",
            "from numba import njit, prange",
            "",
            "from bridge.arrays.runtime import (",
            "    _block, _bmm, _combine, _cumsum3, _rmax, _rprod, _rshift, _rsum, _scatter, _sort3",
            ")",
            "",
            "ARRAY_MODULE = True",
            f"TARGET = {target!r}",
            f"DTYPE = {dtype!r}",
            f"KERNELS = {tuple(programs)!r}",
            f"FINGERPRINTS = {dict(sorted(fingerprints.items()))!r}",
        ]
    )
    helper_text = "".join(helper_source(h, _NJIT, dtype) for h in HELPERS if h in helpers)
    return header + "\n" + helper_text + "".join(parts)


__all__ = ["ARRAY_CODEGEN_VERSION", "ELEMENTWISE", "generate"]

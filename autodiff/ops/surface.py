"""The public face of the op table: one :class:`Surface` per public function.

An op is declared once (``autodiff.ops.builders.unary(...)``, ``register(Op(...),
surface=...)``); its surface says how it is exposed, and everything else is generated from
this table, the way SymPy's printers build their ``_print_*`` methods from one table:

* the public wrapper ``exp(x) -> Tensor`` in the op's module (``apply(EXP, x)``, with the
  op's one-line doc as its docstring), unless a hand-written function is given (argument
  handling such as axis normalization) with :func:`surface` / :func:`composite`;
* the ``Tensor`` methods (``t.exp()``);
* the NumPy dispatch tables: ``np.exp(t)`` (``__array_ufunc__``, :data:`UFUNCS`) and
  ``np.sum(t)`` (``__array_function__``, :data:`ARRAY_FUNCTIONS`);
* the exports and ``__all__`` of :mod:`autodiff`.

Composites (``mean``, ``softmax``, ``clip``, ``dot``...) are not primitives - their
derivatives, lift and compile come from the primitives they call - but they register their
surface the same way (:func:`composite`), so they appear in the same tables.

Operators (``t + u``, ``t @ u``...) are not generated: they are the hot path and stay direct
``Tensor`` methods calling ``apply``.
"""

from __future__ import annotations

import keyword
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import Op

SURFACES: dict[str, Surface] = {}
"""Public function name -> its surface, in declaration order (aliases are not keys)."""

UFUNCS: dict[Any, Callable] = {}
"""NumPy ufunc -> the autodiff function ``Tensor.__array_ufunc__`` calls for it."""

ARRAY_FUNCTIONS: dict[Any, Callable] = {}
"""NumPy function -> the autodiff function ``Tensor.__array_function__`` calls for it."""

_INTERNAL_MODULES = {__name__, "autodiff.ops.base", "autodiff.ops.builders"}
_DEFAULT_PARAMS = {1: ("x",), 2: ("a", "b"), 3: ("cond", "a", "b")}


@dataclass(frozen=True, eq=False)
class Surface:
    """How one public function is exposed.

    ``name`` is the function's name in its module (and in :mod:`autodiff` when ``export``);
    ``ops`` the primitive(s) it applies (``cast`` picks one of two by dtype; empty for a
    composite); ``aliases`` further names in
    :mod:`autodiff` (NumPy spellings such as ``absolute``); ``methods`` maps a ``Tensor``
    method name to the function installed under it (the public function itself unless the
    method takes its arguments differently, as ``t.reshape(2, 3)`` does); ``ufuncs`` and
    ``array_functions`` are the NumPy callables that dispatch to ``fn``.
    """

    name: str
    fn: Callable[..., Any]
    ops: tuple[Op, ...]
    module: str
    aliases: tuple[str, ...] = ()
    methods: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    ufuncs: tuple[Any, ...] = ()
    array_functions: tuple[Any, ...] = ()
    export: bool = True

    @property
    def composite(self) -> bool:
        """True for a function built from other ops, not a primitive of its own."""
        return not self.ops

    def __repr__(self) -> str:
        kind = "composite" if not self.ops else "ops=" + ",".join(op.name for op in self.ops)
        return f"Surface({self.name}, {kind})"


def _caller_namespace() -> dict[str, Any]:
    """The globals of the first frame outside the op machinery: the declaring module."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _INTERNAL_MODULES:
        frame = frame.f_back
    if frame is None:  # pragma: no cover - always called from a module
        raise RuntimeError("op surface: cannot find the declaring module")
    return frame.f_globals


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


def _methods(spec: Any, fn: Callable, name: str) -> dict[str, Callable]:
    """``True`` (a method of the function's own name), names, or a name -> callable mapping."""
    if spec is True:
        return {name: fn}
    if not spec:
        return {}
    if isinstance(spec, Mapping):
        return {m: (fn if impl is None else impl) for m, impl in spec.items()}
    return {m: fn for m in _as_tuple(spec)}


def generate_wrapper(op: Op, name: str, params: tuple[str, ...], doc: str, module: str):
    """The public function ``name(*params) -> apply(op, *params)``, with real parameter names.

    Built from source text (as ``dataclasses`` builds ``__init__``) so that ``inspect`` shows
    the parameters, keyword calls work, and a call costs no more than a hand-written wrapper.
    """
    for p in (name, *params):
        if not p.isidentifier() or keyword.iskeyword(p):
            raise ValueError(f"op surface {name!r}: {p!r} is not a valid Python name")
    if op.arity >= 0 and len(params) != op.arity:
        raise ValueError(
            f"op surface {name!r}: {len(params)} parameter(s) {params} for op {op.name!r} "
            f"of arity {op.arity}"
        )
    from ..tensor import apply

    args = ", ".join(params)
    source = f"def {name}({args}):\n    return apply(op, {args})\n"
    scope: dict[str, Any] = {"apply": apply, "op": op}
    exec(source, scope)  # noqa: S102 - fixed template, names checked above
    fn = scope[name]
    fn.__module__ = module
    fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _install(s: Surface, namespace: dict[str, Any] | None) -> Surface:
    taken = [n for n in (s.name, *s.aliases) if n in SURFACES or _alias_owner(n) is not None]
    if taken:
        raise ValueError(f"op surface: the public name {taken[0]!r} is declared twice")
    from ..tensor import Tensor

    for method in s.methods:
        if method in vars(Tensor):
            raise ValueError(f"op surface {s.name!r}: Tensor.{method} is already defined")
    for u in s.ufuncs:
        if u in UFUNCS:
            raise ValueError(f"op surface {s.name!r}: numpy.{u.__name__} is already dispatched")
    for f in s.array_functions:
        if f in ARRAY_FUNCTIONS:
            raise ValueError(f"op surface {s.name!r}: numpy.{f.__name__} is already dispatched")
    SURFACES[s.name] = s
    if namespace is not None:
        namespace.setdefault(s.name, s.fn)
    for method, impl in s.methods.items():
        setattr(Tensor, method, impl)
    for u in s.ufuncs:
        UFUNCS[u] = s.fn
    for f in s.array_functions:
        ARRAY_FUNCTIONS[f] = s.fn
    _publish(s)
    return s


def _alias_owner(name: str) -> Surface | None:
    for s in SURFACES.values():
        if name in s.aliases:
            return s
    return None


def _publish(s: Surface) -> None:
    """Export into an already imported :mod:`autodiff` (ops declared after its import)."""
    package = sys.modules.get("autodiff")
    if not s.export or package is None or not hasattr(package, "__all__"):
        return
    for n in (s.name, *s.aliases):
        setattr(package, n, s.fn)
        if n not in package.__all__:
            package.__all__.append(n)


def expose(
    op: Op,
    public: str | None = None,
    *,
    params: Iterable[str] | None = None,
    doc: str | None = None,
    aliases: Iterable[str] | str = (),
    methods: Any = (),
    ufunc: Any = None,
    array_function: Any = None,
    export: bool = True,
    namespace: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    """Generate and register the public wrapper of ``op``; return it.

    ``public`` (the function's name) defaults to the op's name and ``params`` to ``x`` /
    ``a, b`` / ``cond, a, b`` by arity; the docstring is ``doc`` or the op's own ``doc``. The
    wrapper is placed in ``namespace`` (default: the module that declares the op).
    """
    name = public or op.name
    if params is None:
        if op.arity not in _DEFAULT_PARAMS:
            raise ValueError(f"op surface {name!r}: give params= for an op of arity {op.arity}")
        params = _DEFAULT_PARAMS[op.arity]
    namespace = _caller_namespace() if namespace is None else namespace
    module = namespace.get("__name__", __name__)
    text = doc or op.doc
    if not text:
        raise ValueError(f"op surface {name!r}: op {op.name!r} needs a one-line doc")
    fn = generate_wrapper(op, name, tuple(params), text, module)
    _install(
        Surface(
            name,
            fn,
            (op,),
            module,
            _as_tuple(aliases),
            _methods(methods, fn, name),
            _as_tuple(ufunc),
            _as_tuple(array_function),
            export,
        ),
        namespace,
    )
    return fn


def surface(
    ops: Op | Iterable[Op] | None,
    *,
    public: str | None = None,
    aliases: Iterable[str] | str = (),
    methods: Any = (),
    ufunc: Any = None,
    array_function: Any = None,
    export: bool = True,
) -> Callable[[Callable], Callable]:
    """Decorator: register a hand-written public function as the surface of ``ops``.

    For wrappers that handle their arguments (``sum`` normalizes ``axis``, ``cast`` picks
    one of two ops by dtype); ``ops=None`` declares a composite (see :func:`composite`).
    A function without a docstring gets its op's one-line doc.
    """
    ops = _as_tuple(ops)

    def register_fn(fn: Callable) -> Callable:
        if not fn.__doc__:
            if len(ops) != 1 or not ops[0].doc:
                raise ValueError(f"op surface {fn.__name__!r}: a public function needs a docstring")
            fn.__doc__ = ops[0].doc
        name = public or fn.__name__
        _install(
            Surface(
                name,
                fn,
                ops,
                fn.__module__,
                _as_tuple(aliases),
                _methods(methods, fn, name),
                _as_tuple(ufunc),
                _as_tuple(array_function),
                export,
            ),
            None,
        )
        return fn

    return register_fn


def composite(**kwargs: Any) -> Callable[[Callable], Callable]:
    """Decorator: register a composite function (built from other ops) in the surface table.

    Takes the keywords of :func:`surface` (``aliases``, ``methods``, ``ufunc``,
    ``array_function``, ``export``).
    """
    return surface(None, **kwargs)


def retract(name: str) -> Surface:
    """Remove the surface ``name`` (and its methods, dispatch and exports); return it.

    For tests and experiments that declare a throwaway op; library ops are never removed.
    """
    s = SURFACES.pop(name)
    from ..tensor import Tensor

    for method in s.methods:
        if method in vars(Tensor):
            delattr(Tensor, method)
    for u in s.ufuncs:
        UFUNCS.pop(u, None)
    for f in s.array_functions:
        ARRAY_FUNCTIONS.pop(f, None)
    module = sys.modules.get(s.module)
    if module is not None and getattr(module, s.name, None) is s.fn:
        delattr(module, s.name)
    package = sys.modules.get("autodiff")
    if package is not None and s.export:
        for n in (s.name, *s.aliases):
            if getattr(package, n, None) is s.fn:
                delattr(package, n)
            if n in getattr(package, "__all__", ()):
                package.__all__.remove(n)
    return s


def exports() -> dict[str, Callable[..., Any]]:
    """Public name (aliases included) -> function, for ``autodiff``'s namespace and ``__all__``."""
    out: dict[str, Callable[..., Any]] = {}
    for s in SURFACES.values():
        if s.export:
            for n in (s.name, *s.aliases):
                out[n] = s.fn
    return out

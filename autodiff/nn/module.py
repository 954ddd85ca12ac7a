"""``Parameter`` and ``Module``: a tree of layers whose trainable tensors are found automatically.

A ``Module`` registers every ``Parameter`` and sub-``Module`` assigned to one of its attributes,
in assignment order, so ``named_parameters()`` yields dotted names such as ``"0.weight"``.
Registered values are also kept as plain instance attributes, so ``self.weight`` inside
``forward`` costs an ordinary attribute lookup (no ``__getattr__`` indirection).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..tensor import ShapeError, Tensor, as_array


class Parameter(Tensor):
    """A leaf Tensor that a ``Module`` registers as trainable (``requires_grad=True``).

    The data is copied (so in-place optimizer updates never write into the caller's array) and
    stored as float64 unless ``data`` is float32 or ``dtype`` says otherwise.

    Examples
    --------
    >>> from autodiff.nn import Parameter
    >>> p = Parameter([1, 2])
    >>> p.dtype, p.requires_grad
    (dtype('float64'), True)
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None):
        arr = np.array(as_array(data, dtype), copy=True)
        if dtype is None and arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
        if arr.dtype.kind != "f":
            raise TypeError(
                f"Parameter: data must be floating point, got dtype {arr.dtype} "
                "(pass dtype=np.float64 or a float array)"
            )
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__`` and define
    ``forward``.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff.nn import Module, Parameter
    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.alpha = Parameter([2.0])
    ...
    ...     def forward(self, x):
    ...         return self.alpha * x
    >>> m = Scale()
    >>> [name for name, _ in m.named_parameters()]
    ['alpha']
    >>> m(ad.tensor([1.0, 3.0]))
    tensor([2., 6.], grad_fn=mul)
    """

    training: bool
    _parameters: dict[str, Parameter]
    _modules: dict[str, Module]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})

    # --- registration ---------------------------------------------------------------------------
    def _registry(self) -> tuple[dict, dict]:
        try:
            return self.__dict__["_parameters"], self.__dict__["_modules"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning "
                "parameters or sub-modules"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter | Module):
            params, modules = self._registry()
            params.pop(name, None)
            modules.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in self.__dict__.get("_parameters", ()):
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name} is a Parameter; assign a Parameter or None, "
                    f"not {type(value).__name__} (use nn.functional_call to run with other "
                    "tensors)"
                )
            del self._parameters[name]
        elif name in self.__dict__.get("_modules", ()):
            del self._modules[name]
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_parameters", {}).pop(name, None)
        self.__dict__.get("_modules", {}).pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (the same as assigning the attribute)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: expected a Parameter, got {type(param).__name__}")
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (the same as assigning the attribute)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: expected a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # --- calling --------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- traversal ------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct sub-modules, in registration order."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules."""
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted name, module)`` for this module and every descendant, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            subs = [(f"{name}.{k}" if name else k, m) for k, m in module._modules.items()]
            stack.extend(reversed(subs))

    def modules(self) -> Iterator[Module]:
        """Yield this module and every descendant."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted name, parameter)`` depth first; a shared parameter appears once."""
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{mod_name}.{name}" if mod_name else name), param

    def parameters(self) -> Iterator[Parameter]:
        """Yield every parameter of the tree once, in ``named_parameters`` order."""
        for _, param in self.named_parameters():
            yield param

    def zero_grad(self) -> None:
        """Forget the accumulated gradients of all parameters (set ``.grad`` to None)."""
        for param in self.parameters():
            param.grad = None

    # --- modes ----------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set the ``training`` flag of this module and all descendants; return self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (``train(False)``); return self."""
        return self.train(False)

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Map each dotted parameter name to a copy of its array."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(
        self, state: Mapping[str, Any], strict: bool = True
    ) -> tuple[list[str], list[str]]:
        """Copy arrays from ``state`` into the parameters, in place; return (missing, unexpected).

        With ``strict`` (the default) any missing or unexpected key raises ``KeyError``; a shape
        mismatch always raises ``ShapeError``. Nothing is written unless every check passes.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping, got {type(state).__name__}")
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        updates = []
        for name, param in own.items():
            if name in state:
                value = as_array(state[name])
                if value.shape != param.shape:
                    raise ShapeError(
                        f"load_state_dict: {name!r} has shape {value.shape} in the state, "
                        f"but the parameter has shape {param.shape}"
                    )
                updates.append((param, value))
        for param, value in updates:
            np.copyto(param.data, value, casting="unsafe")
        return missing, unexpected

    # --- all parameters as one vector ------------------------------------------------------------
    def parameters_vector(self) -> Tensor:
        """Every parameter, flattened and concatenated in ``parameters()`` order (PyTorch's
        ``parameters_to_vector``).

        The vector is on the graph (gradients flow back to the parameters) unless grad mode is
        off. With :meth:`unravel_parameters` it turns the model into a function of one vector,
        so the Hessian over all parameters is one line:

        Examples
        --------
        >>> import numpy as np, autodiff as ad
        >>> from autodiff import nn
        >>> net = nn.MLP([2, 3, 1], activation="tanh", seed=0)
        >>> x, y = np.ones((4, 2)), np.zeros((4, 1))
        >>> H = ad.hessian(lambda v: nn.functional.mse_loss(
        ...     nn.functional_call(net, net.unravel_parameters(v), x), y))(net.parameters_vector())
        >>> H.shape, net.parameters_vector().shape
        ((13, 13), (13,))
        """
        from ..ops.shape import concatenate, reshape

        params = list(self.parameters())
        if not params:
            return Tensor._wrap(np.zeros(0))
        return concatenate([reshape(p, (-1,)) for p in params])

    def unravel_parameters(self, vector: Any) -> OrderedDict[str, Tensor]:
        """Split a vector laid out like :meth:`parameters_vector` into ``name -> tensor``
        (differentiable slices, in the parameters' shapes) for :func:`functional_call`."""
        from ..ops.shape import reshape

        named = list(self.named_parameters())
        vec = vector if isinstance(vector, Tensor) else Tensor._wrap(as_array(vector))
        total = sum(p.size for _, p in named)
        if vec.shape != (total,):
            raise ShapeError(
                f"unravel_parameters: {type(self).__name__} has {total} parameter entries, "
                f"got a vector of shape {vec.shape}"
            )
        out: OrderedDict[str, Tensor] = OrderedDict()
        start = 0
        for name, p in named:
            out[name] = reshape(vec[start : start + p.size], p.shape)
            start += p.size
        return out

    def vector_to_parameters(self, vector: Any) -> None:
        """Write the entries of ``vector`` (laid out like :meth:`parameters_vector`) into the
        parameters, in place (PyTorch's ``vector_to_parameters``; not recorded)."""
        from ..grad_mode import no_grad

        with no_grad():
            parts = self.unravel_parameters(
                vector.detach() if isinstance(vector, Tensor) else vector
            )
            own = dict(self.named_parameters())
            for name, value in parts.items():
                np.copyto(own[name].data, value.data, casting="same_kind")
                own[name]._version += 1

    # --- printing -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (sub-modules come after)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}({extra}" + ("," if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _slots(module: Module) -> dict[int, list[tuple[Module, str]]]:
    """id(parameter) -> every (owner module, attribute) holding it (tied weights included)."""
    where: dict[int, list[tuple[Module, str]]] = {}
    for owner in module.modules():
        for attr, param in owner._parameters.items():
            where.setdefault(id(param), []).append((owner, attr))
    return where


def _as_substitute(name: str, value: Any, param: Parameter) -> Tensor:
    tensor = value if isinstance(value, Tensor) else Tensor(value, dtype=param.dtype)
    # Extra leading axes are a batch of parameter sets (e.g. one per MAML task) that broadcast
    # against the input's leading axes; the trailing axes must be the parameter's own.
    lead = tensor.ndim - param.ndim
    if lead < 0 or tensor.shape[lead:] != param.shape:
        raise ShapeError(
            f"functional_call: {name!r} has shape {tensor.shape}, but the module's parameter has "
            f"shape {param.shape} (extra leading batch axes are allowed)"
        )
    return tensor


def functional_call(
    module: Module,
    params: Mapping[str, Any],
    *args: Any,
    strict: bool = True,
    **kwargs: Any,
) -> Any:
    """Call ``module(*args, **kwargs)`` with its parameters replaced by the tensors in ``params``.

    The values may be any Tensors, including non-leaf ones (``w - lr * g`` computed with
    ``create_graph=True``), so the output is differentiable with respect to whatever produced
    them: this is how MAML-style meta-gradients flow through an inner optimisation step. The
    module's own parameters are put back when the call returns or raises. Tied parameters (one
    Parameter registered in several places) are replaced everywhere. The module is modified
    during the call, so do not share it between threads while a call runs.

    Parameters
    ----------
    module : Module
        The model to run.
    params : mapping of str to Tensor or array
        Dotted names as given by ``module.named_parameters()``. A value may carry extra
        *leading* axes, such as a task axis: ``weight`` of shape ``(tasks, in, out)`` and
        ``bias`` of shape ``(tasks, 1, out)`` with ``x`` of shape ``(tasks, points, in)``
        run every task with its own weights in one call, because the layers broadcast
        (``x @ weight + bias`` is a batched matmul). The MAML example adapts all tasks of a
        meta-batch at once this way; the gradient of the summed task losses with respect to
        such per-task copies is each task's own gradient.
    *args, **kwargs
        Passed to ``module``.
    strict : bool
        If True (default) every parameter must be given; if False, missing ones keep the
        module's values. Unknown names always raise ``KeyError``.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> lin = nn.Linear(2, 1, seed=0)
    >>> w = {"weight": ad.tensor([[1.0], [2.0]]), "bias": ad.tensor([0.5])}
    >>> nn.functional_call(lin, w, ad.tensor([[1.0, 1.0]]))
    tensor([[3.5]])

    Two tasks at once, each with its own weights (a leading task axis):

    >>> per_task = {"weight": ad.tensor([[[1.0], [2.0]], [[0.0], [1.0]]]),
    ...             "bias": ad.tensor([[[0.5]], [[0.0]]])}
    >>> nn.functional_call(lin, per_task, ad.tensor([[[1.0, 1.0]], [[1.0, 1.0]]])).shape
    (2, 1, 1)
    """
    own = dict(module.named_parameters())
    unknown = [k for k in params if k not in own]
    missing = [k for k in own if k not in params]
    if unknown or (strict and missing):
        raise KeyError(
            f"functional_call on {type(module).__name__}: unknown parameter names {unknown}, "
            f"missing names {missing if strict else []} (expected {list(own)})"
        )
    slots = _slots(module)
    saved: list[tuple[Module, str, Parameter]] = []
    try:
        for name, value in params.items():
            param = own[name]
            substitute = _as_substitute(name, value, param)
            for owner, attr in slots[id(param)]:
                saved.append((owner, attr, param))
                # Bypass Module.__setattr__: the registry keeps the real Parameter, only the
                # attribute read by forward() changes.
                object.__setattr__(owner, attr, substitute)
        return module(*args, **kwargs)
    finally:
        for owner, attr, param in reversed(saved):
            object.__setattr__(owner, attr, param)

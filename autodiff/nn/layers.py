"""Layers: ``Linear``, ``Sequential``, activation modules and the ``MLP`` helper."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..ops.elementwise import relu, sigmoid, softplus, tanh
from ..ops.linalg import matmul
from ..tensor import ShapeError, Tensor
from .module import Module, Parameter


def make_rng(rng: np.random.Generator | None, seed: int | None, who: str) -> np.random.Generator:
    """The generator to initialise with: ``rng`` itself, or a new one seeded by ``seed``."""
    if rng is not None and seed is not None:
        raise ValueError(f"{who}: pass either rng= or seed=, not both")
    if rng is None:
        return np.random.default_rng(seed)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


class Linear(Module):
    """Affine map ``y = x @ weight + bias``, with ``weight`` of shape (in_features, out_features).

    The weight is stored input-major (the transpose of PyTorch's layout) so that the forward
    pass is one matmul and one add, with no transpose op on the tape. Both tensors start
    uniform in ``(-1/sqrt(in_features), 1/sqrt(in_features))``, as in PyTorch.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the last axis of the input and of the output.
    bias : bool
        Whether to add a learned bias (default True).
    rng : numpy.random.Generator, optional
        Generator to draw the initial values from (advanced in place).
    seed : int, optional
        Seed for a fresh generator; give ``rng`` or ``seed`` for reproducible initialisation.
    dtype : dtype
        Parameter dtype, float64 by default.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> layer = nn.Linear(3, 2, seed=0)
    >>> layer.weight.shape, layer.bias.shape
    ((3, 2), (2,))
    >>> layer(ad.tensor([[1.0, 2.0, 3.0]])).shape
    (1, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        dtype: Any = np.float64,
    ):
        super().__init__()
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int | np.integer) or n <= 0:
                raise ValueError(f"Linear: {label} must be a positive integer, got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        gen = make_rng(rng, seed, "Linear")
        bound = 1.0 / math.sqrt(self.in_features)
        shape = (self.in_features, self.out_features)
        self.weight = Parameter(gen.uniform(-bound, bound, shape), dtype=dtype)
        if bias:
            self.bias = Parameter(gen.uniform(-bound, bound, self.out_features), dtype=dtype)
        else:
            self.bias = None

    def forward(self, x: Any) -> Tensor:
        """Apply the affine map to the last axis of ``x``."""
        shape = getattr(x, "shape", None)
        if shape is None:
            x = Tensor(x)
            shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear(in_features={self.in_features}): expected an input whose last axis has "
                f"length {self.in_features}, got shape {shape}"
            )
        out = matmul(x, self.weight)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Sequential(Module):
    """Chain modules: the output of each is the input of the next; children are named 0, 1, ...

    Examples
    --------
    >>> from autodiff import nn
    >>> net = nn.Sequential(nn.Linear(2, 4, seed=0), nn.Tanh(), nn.Linear(4, 1, seed=1))
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; return self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def forward(self, x: Any) -> Any:
        """Run the children in order."""
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        try:
            return items[index]
        except IndexError:
            raise IndexError(f"Sequential: index {index} out of range for {len(items)}") from None


class _Activation(Module):
    """A parameter-free module applying one elementwise function."""

    fn: Callable[[Any], Tensor]

    def forward(self, x: Any) -> Tensor:
        """Apply the activation elementwise."""
        return type(self).fn(x)


class ReLU(_Activation):
    """Elementwise ``max(x, 0)`` (derivative 0 at 0)."""

    fn = staticmethod(relu)


class Tanh(_Activation):
    """Elementwise hyperbolic tangent."""

    fn = staticmethod(tanh)


class Sigmoid(_Activation):
    """Elementwise logistic function."""

    fn = staticmethod(sigmoid)


class Softplus(_Activation):
    """Elementwise ``log(1 + exp(x))``, computed without overflow."""

    fn = staticmethod(softplus)


class Identity(Module):
    """Return the input unchanged."""

    def forward(self, x: Any) -> Any:
        """Return ``x``."""
        return x


ACTIVATIONS: dict[str, type[Module]] = {
    "tanh": Tanh,
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "softplus": Softplus,
    "identity": Identity,
}


class MLP(Sequential):
    """A multilayer perceptron: ``Linear`` layers with an activation between consecutive ones.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, at least two (``(2, 16, 1)``: one hidden layer).
    activation : {"tanh", "relu", "sigmoid", "softplus", "identity"} or Module subclass
        Activation after every layer but the last (a class is instantiated once per layer).
    seed : int
        Seed of the generator shared, in order, by all layers (reproducible initialisation).
    bias : bool
        Whether the layers have biases.
    dtype : dtype
        Parameter dtype, float64 by default.

    Examples
    --------
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> net = nn.MLP([2, 8, 1], activation="relu", seed=0)
    >>> net
    MLP(
      (0): Linear(in_features=2, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=1, bias=True)
    )
    >>> net(ad.tensor([[0.5, -1.0]])).shape
    (1, 1)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | type[Module] = "tanh",
        seed: int | None = 0,
        bias: bool = True,
        dtype: Any = np.float64,
    ):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got {sizes}")
        make = _activation_factory(activation)
        super().__init__()
        gen = np.random.default_rng(seed)
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                self.append(make())
            self.append(Linear(n_in, n_out, bias=bias, rng=gen, dtype=dtype))
        self.sizes = tuple(sizes)


def _activation_factory(activation: str | type[Module]) -> type[Module]:
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"MLP: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)} "
        "or pass a Module subclass"
    )

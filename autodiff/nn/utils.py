"""PyTorch's ``torch.nn.utils`` vector helpers: parameters to one vector and back."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..grad_mode import no_grad
from ..ops.shape import concatenate, reshape
from ..tensor import ShapeError, Tensor, as_array

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Flatten and concatenate ``parameters`` into one vector (on the graph).

    Examples
    --------
    >>> from autodiff import nn
    >>> from autodiff.nn.utils import parameters_to_vector
    >>> parameters_to_vector(nn.Linear(3, 2, seed=0).parameters()).shape
    (8,)
    """
    params = list(parameters)
    if not params:
        return Tensor._wrap(np.zeros(0))
    return concatenate([reshape(p, (-1,)) for p in params])


def vector_to_parameters(vector, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vector`` into ``parameters``, in place (not recorded).

    Examples
    --------
    >>> import numpy as np
    >>> from autodiff import nn
    >>> from autodiff.nn.utils import parameters_to_vector, vector_to_parameters
    >>> lin = nn.Linear(3, 2, seed=0)
    >>> vector_to_parameters(np.arange(8.0), lin.parameters())
    >>> parameters_to_vector(lin.parameters()).detach().numpy()
    array([0., 1., 2., 3., 4., 5., 6., 7.])
    """
    params = list(parameters)
    data = vector.detach().numpy() if isinstance(vector, Tensor) else as_array(vector)
    total = sum(p.size for p in params)
    if data.shape != (total,):
        raise ShapeError(
            f"vector_to_parameters: the parameters have {total} entries, got a vector of shape "
            f"{data.shape}"
        )
    with no_grad():
        start = 0
        for p in params:
            np.copyto(p.data, data[start : start + p.size].reshape(p.shape), casting="same_kind")
            p._version += 1
            start += p.size

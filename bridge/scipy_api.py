"""``scipy_objective``: compiled callables in the form ``scipy.optimize.minimize`` expects."""

from __future__ import annotations

from typing import Any

import numpy as np

from .compiled import Compiled

_USES_HESS = {"newton-cg", "dogleg", "trust-ncg", "trust-krylov", "trust-exact", "trust-constr"}


def scipy_objective(
    f: Any,
    x0: Any,
    *args: Any,
    params: Any = None,
    p: Any = None,
    sparse: bool = False,
    method: str | None = None,
    **compile_options: Any,
) -> dict[str, Any]:
    """Keyword arguments for ``scipy.optimize.minimize`` built from compiled kernels.

    Parameters
    ----------
    f : callable, Lifted, sympy.Expr or Compiled
        The objective. A callable is lifted at ``(x0, *args)``; ``params`` marks which of
        those arguments are parameters (passed to the kernels at call time, never
        recompiled); an expression needs ``wrt=`` in ``compile_options``.
    x0 : array_like
        Starting point (also the example argument of a callable).
    p : array_like, optional
        Parameter values; defaults to the values found in the example arguments.
    sparse : bool
        Return the Hessian as a ``scipy.sparse.csr_matrix`` (for ``trust-constr``).
    method : str, optional
        Keep only the keys this method uses (avoids SciPy's "does not use" warnings).

    Returns
    -------
    dict
        ``fun``, ``jac``, ``hess``, ``hessp`` and ``x0`` (and ``args`` with parameters).

    Examples
    --------
    >>> import numpy as np, sympy as sp
    >>> from scipy.optimize import minimize
    >>> import bridge
    >>> x, y = sp.symbols("x y", real=True)
    >>> f = (x - 1) ** 2 + 10 * (y - x**2) ** 2
    >>> obj = bridge.scipy_objective(f, [0.0, 0.0], wrt=[x, y], method="trust-exact")
    >>> res = minimize(**obj, method="trust-exact", tol=1e-10)
    >>> np.allclose(res.x, [1.0, 1.0])
    True
    """
    x0 = np.asarray(x0, dtype=float)
    if isinstance(f, Compiled):
        compiled = f
    else:
        from .api import compile

        example = (x0, *args) if callable(f) and not hasattr(f, "free_symbols") else ()
        compiled = compile(f, *example, params=params, **compile_options)
    if "hessian" not in compiled.derivatives or "grad" not in compiled.derivatives:
        raise ValueError("scipy_objective: the objective must be compiled with grad and hessian")
    if x0.shape != (compiled.n,):
        raise ValueError(f"scipy_objective: x0 has shape {x0.shape}, expected ({compiled.n},)")
    obj = _callables(compiled, sparse)
    obj["x0"] = x0
    if compiled.n_params:
        pvec = compiled.default_params if p is None else np.asarray(p, dtype=compiled.dtype)
        if pvec is None:
            raise TypeError("scipy_objective: pass the parameter values as p=")
        obj["args"] = (pvec,)
    if method is not None:
        # every method that takes hessp also takes hess, the cheaper of the two here
        obj.pop("hessp")
        if method.lower() not in _USES_HESS:
            obj.pop("hess")
    return obj


def _callables(compiled: Compiled, sparse: bool) -> dict[str, Any]:
    def fun(x, p=None):
        """The objective's value as a Python float."""
        return float(compiled.value(x, p))

    def jac(x, p=None):
        """The gradient."""
        return compiled.grad(x, p)

    def hess(x, p=None):
        """The Hessian: dense, or CSR with ``sparse=True``."""
        return compiled.hessian(x, p, sparse=sparse)

    def hessp(x, v, p=None):
        """The Hessian-vector product."""
        return compiled.hessp(x, v, p)

    return {"fun": fun, "jac": jac, "hess": hess, "hessp": hessp}

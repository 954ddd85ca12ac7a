"""The result of :func:`hybriddiff.minimize`: SciPy's ``OptimizeResult`` with set-up time."""

from __future__ import annotations

from scipy.optimize import OptimizeResult

__all__ = ["STATUS", "MinimizeResult"]

STATUS = {
    0: "converged",
    1: "maximum number of iterations reached",
    2: "no further progress possible (rounding level reached before the tolerance)",
    3: "non-finite objective or gradient",
    4: "stopped at a saddle point or maximum / objective unbounded below",
    5: "stopped by callback",
}
"""``status`` codes of :class:`MinimizeResult` (0 is the only success)."""


class MinimizeResult(OptimizeResult):
    """What :func:`hybriddiff.minimize` returns: a ``scipy.optimize.OptimizeResult``.

    SciPy's fields ``x``, ``fun``, ``jac``, ``hess`` (the Hessian at ``x``: SciPy sparse for
    compiled kernels, dense for eager ones), ``nit``, ``nfev``, ``njev``, ``nhev``,
    ``success``, ``status`` (see :data:`STATUS`) and ``message``; plus ``setup_time`` (seconds
    spent obtaining the kernels: lifting, code generation and compiling, or loading them from
    a cache), ``solve_time`` (seconds in the iterations), ``method`` (the method that ran,
    ``"auto"`` resolved), ``grad_norm`` (infinity norm of the gradient at ``x``; the projected
    gradient with bounds), and ``min_curvature`` (the lowest Hessian eigenvalue found by the
    second-order check, or None).

    Examples
    --------
    >>> import numpy as np, hybriddiff as hd
    >>> res = hd.minimize(lambda x: ((x - 1.0) ** 2).sum(), np.zeros(2), hessian="eager")
    >>> isinstance(res, OptimizeResult), res.status, res.njev >= 1, res.hess.shape
    (True, 0, True, (2, 2))
    """

"""symdiff — lift autodiff computations into SymPy for exact derivatives of any order.

Examples
--------
>>> import autodiff as ad, symdiff
>>> lifted = symdiff.lift(lambda x: ad.sigmoid(x), 0.5)
>>> lifted.gradient()
[(1 - sigmoid(x))*sigmoid(x)]
"""

from __future__ import annotations

from .array_lift import ArrayLifted, ArrayNode
from .calculus import derivative, gradient, hessian, jacobian
from .cli import formula_cli
from .consistency import ConsistencyReport, check_consistency
from .errors import (
    ConsistencyError,
    GuardError,
    LiftError,
    LiftTooLarge,
    TracerBoolConversionError,
    TracerConversionError,
)
from .formula import Formula, formula
from .functions import NS, relu, sigmoid, softplus
from .hessian import SparseHessian
from .lift import lift
from .lifted import Guard, Lifted
from .matrix_expr import MatrixFormError
from .matrix_formula import MatrixFormula
from .numeric import numpy_function
from .parse import parse_expression
from .settings import Config, config
from .simplify import collapse_named, simplify_expr, simplify_exprs
from .sparsity import color_columns, hessian_sparsity, recover_from_products

__all__ = [
    "ArrayLifted", "ArrayNode", "color_columns", "hessian_sparsity", "recover_from_products",
    "Config", "ConsistencyError", "ConsistencyReport", "Formula", "Guard", "GuardError",
    "LiftError", "LiftTooLarge", "TracerBoolConversionError", "TracerConversionError",
    "Lifted", "MatrixFormError", "MatrixFormula", "NS", "SparseHessian", "check_consistency",
    "collapse_named", "config",
    "derivative", "formula", "formula_cli", "gradient", "hessian", "jacobian", "lift",
    "numpy_function", "parse_expression", "relu", "sigmoid", "simplify_expr", "simplify_exprs",
    "softplus",
]  # fmt: skip

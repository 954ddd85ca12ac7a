"""Fast simplification keeps logistic losses in textbook σ form."""

from __future__ import annotations

import numpy as np
import sympy as sp

import autodiff as ad
import symdiff
from symdiff.functions import sigmoid, softplus


def _nll(w, x, y):
    z = w @ x
    return -(y * ad.log(ad.sigmoid(z)) + (1 - y) * ad.log(1 - ad.sigmoid(z)))


def test_rewrite_logistic_nll_gradient_is_x_times_sigma_minus_y():
    lifted = symdiff.lift(_nll, np.ones(2), np.ones(2), 1.0, params=("x", "y"))
    text = str(symdiff.formula(lifted, wrt=lifted.variables))
    assert "df/dw[0] = -x[0]*(y - sigmoid(w[0]*x[0] + w[1]*x[1]))" in text
    hess = str(symdiff.formula(lifted, wrt=lifted.variables, order=2))
    assert "d2f/dw[0]dw[1] = x[0]*x[1]*(1 - sigmoid(w[0]*x[0] + w[1]*x[1]))*sigmoid(" in hess


def test_rewrite_log_sigmoid_becomes_softplus_and_sigmoid_of_negative_folds():
    u = sp.Symbol("u")
    assert symdiff.simplify_expr(sp.log(sigmoid(u)), "fast") == -softplus(-u)
    assert symdiff.simplify_expr(sp.log(1 - sigmoid(u)), "fast") == -softplus(u)
    assert symdiff.simplify_expr(sigmoid(-u) + sigmoid(u), "fast") == 1

"""``minimize(..., verbose=True)``: an iteration table on stderr and through ``logging``."""

from __future__ import annotations

import logging

import numpy as np

import hybriddiff as hd
from hybriddiff.optimize import IterationTable


def rosen(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def test_verbose_prints_one_row_per_iteration_and_a_summary(capsys):
    res = hd.minimize(rosen, np.array([-1.2, 1.0]), hessian="eager", verbose=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].split() == IterationTable.HEADER.split()
    rows = lines[1:-1]
    assert len(rows) == res.nit
    assert [int(r.split()[0]) for r in rows] == list(range(1, res.nit + 1))
    assert float(rows[-1].split()[1]) == res.fun
    assert lines[-1].startswith(f"converged after {res.nit} iterations")


def test_quiet_by_default_but_logged_at_debug(capsys, caplog):
    with caplog.at_level(logging.DEBUG, logger="hybriddiff"):
        res = hd.minimize(rosen, np.array([-1.2, 1.0]), hessian="eager")
    assert capsys.readouterr().err == ""
    rows = [r for r in caplog.records if r.getMessage().startswith("minimize: ")]
    assert len(rows) == res.nit + 2  # header, one per iteration, summary
    assert all(r.levelno == logging.DEBUG for r in rows)


def test_user_callback_still_stops_the_solve(capsys):
    res = hd.minimize(
        rosen, np.array([-1.2, 1.0]), hessian="eager", verbose=True, callback=lambda r: r.nit >= 3
    )
    assert res.status == 5 and res.nit == 3
    assert "FAILED after 3 iterations" in capsys.readouterr().err

"""``hybriddiff formula`` as a new user meets it (issue 15): minus signs, constants, encodings."""

from __future__ import annotations

import io

import pytest
import sympy as sp

import symdiff
from hybriddiff.cli import main
from symdiff import cli as formula_cli_module
from symdiff.parse import parse_expression


def run(capsys, *argv):
    status = main(["formula", *argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_an_expression_may_start_with_a_minus(capsys):
    status, out, err = run(capsys, "-exp(-k*r)/r", "--wrt", "r")
    assert status == 0 and err == ""
    assert out.strip() == "df/dr = (k + 1/r)*exp(-k*r)/r"
    # after options, and with an option value that is itself negative-looking
    status, out, _ = run(capsys, "--order", "2", "-x**3")
    assert status == 0 and out.strip() == "d2f/dx2 = -6*x"
    status, _, err = run(capsys, "--order", "-1", "x")
    assert status == 2 and "--order must be non-negative" in err


@pytest.mark.parametrize("text", ["3", "pi", " 2*E "])
def test_a_constant_says_so(capsys, text):
    status, out, err = run(capsys, text)
    assert status == 2 and out == ""
    assert "no variables" in err and "every derivative is 0" in err


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1/0", "not finite"),
        ("x/0", "not finite"),
        ("oo*x", "'oo' is reserved"),
        ("nan + x", "'nan' is reserved"),
        ("zoo*x", "'zoo' is reserved"),
        ("1e400*x", "beyond the float range"),
        ("x > 1", "only as conditions of where"),
        ("where(x, 1, 2)", "must be a comparison"),
        ("where(x > 0, 1)", "three arguments"),
    ],
)
def test_bad_input_is_a_clear_error(capsys, text, why):
    status, out, err = run(capsys, text)
    assert status == 2 and out == ""
    assert err.startswith("hybriddiff formula: error:") and why in err
    assert "Traceback" not in err


def test_where_and_piecewise_conditionals_huber(capsys):
    status, out, _ = run(capsys, "where(Abs(x) <= d, x**2/2, d*(Abs(x) - d/2))", "--wrt", "x")
    assert status == 0
    expr, (x, d) = parse_expression("where(Abs(x) <= d, x**2/2, d*(Abs(x) - d/2))")
    assert isinstance(expr, sp.Piecewise)
    got = symdiff.formula(expr, wrt=x).expr
    for xv, dv in [(0.3, 1.0), (-2.5, 1.0), (4.0, 1.5), (-0.2, 0.5)]:
        want = xv if abs(xv) <= dv else dv * (1 if xv > 0 else -1)  # Huber's derivative
        assert float(got.subs({x: xv, d: dv})) == pytest.approx(want)
    assert "Piecewise" in out
    status, out, _ = run(capsys, "Piecewise((x**2, x > 0), (0, True))")
    assert status == 0 and out.strip() == "df/dx = Piecewise((2*x, x > 0), (0, True))"


class _Stream(io.StringIO):
    def __init__(self, encoding, tty=False):
        super().__init__()
        self._encoding, self._tty = encoding, tty

    @property
    def encoding(self):
        return self._encoding

    def isatty(self):
        return self._tty


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_pretty_falls_back_to_text_when_the_output_cannot_encode_it(monkeypatch, capsys, encoding):
    stream = _Stream(encoding)
    monkeypatch.setattr("sys.stdout", stream)
    status = main(["formula", "sigmoid(x)*mu", "--pretty"])
    err = capsys.readouterr().err
    assert status == 0
    assert stream.getvalue().splitlines() == [
        "df/dx = mu*(1 - sigmoid(x))*sigmoid(x)",
        "df/dmu = sigmoid(x)",
    ]
    assert "cannot show --pretty output; printing plain text" in err
    stream.getvalue().encode(encoding)


def test_pretty_wider_than_the_terminal_prints_text(monkeypatch):
    monkeypatch.setattr(formula_cli_module, "_terminal_columns", lambda: 40)
    stream = _Stream("utf-8", tty=True)
    expr = "exp(a*x)/(1 + b*x**2 + c*x**3 + d*x**4 + e*x**5 + g*x**6)"
    args = formula_cli_module._parser().parse_args([expr, "--pretty", "--wrt", "x"])
    lines = formula_cli_module._lines(args, stream)
    (entry,) = [line for line in lines if line.startswith("∂f/∂x")]
    assert entry.startswith("∂f/∂x = ") and "\n" not in entry  # one line of text
    wide = formula_cli_module._lines(args, _Stream("utf-8", tty=False))
    assert len(wide) > 1  # not a terminal: the 2-D form, unwrapped
    assert not any("↪" in line for line in wide)


def test_pretty_labels_and_bodies_match(capsys):
    status, out, _ = run(capsys, "(x - mu)**2/(2*sigma**2)", "--pretty")
    assert status == 0 and "∂f/∂μ" in out and "∂f/∂mu" not in out and "x - μ" in out
    status, out, _ = run(capsys, "log_sigma**2", "--latex")
    assert r"\partial \mathrm{log\_sigma}" in out and r"2 \mathrm{log\_sigma}" in out


def test_demo_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and ":func:" not in out and ".. " not in out
    assert "--plot" in out and "--quick" in out

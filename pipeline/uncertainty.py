"""Uncertainties of fitted constants, and numbers printed to the digits their uncertainty supports.

A selected equation's numeric constants were fitted by symbolic regression to a
neuron (or to the network's answers).  :func:`equation_constants` refits them
by least squares to the same kind of data the verify stage holds out (the
neuron on held-out rows, the answers on the probe) and gives each a standard
error from the covariance of that fit (:func:`pipeline.geometry.standard_errors`,
scaled by the residual variance).  A bootstrap would cost one refit per
resample and, with independent residuals, estimate the same quantity; neither
includes what differs between trainings, which the seeds' spread measures.

:func:`rounded` writes a value to the decimal place of its standard error's
leading digit (two digits where that digit is 1 or 2, as the Particle Data
Group does): ``1.52714 +- 0.00432`` is ``1.527 +- 0.004``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import sympy as sp

from pipeline.geometry import fit_constants

FALLBACK_DIGITS = 4
"""significant digits of a number without a usable standard error"""


def numeric_constants(expr: sp.Expr) -> list[sp.Float]:
    """The fitted numbers of an expression (floats; integers and rationals are exact), in a fixed order."""
    return sorted({a for a in expr.atoms(sp.Float)}, key=lambda f: (float(f), str(f)))


def equation_constants(
    expr: sp.Expr, names: list[str], frame: pd.DataFrame, target: np.ndarray, *, circle: bool = False
) -> dict[str, list[float]]:
    """The numeric constants of ``expr`` refitted to ``target`` on ``frame``, with their standard errors:
    ``{"constants": [...], "refitted": [...], "standard_errors": [...], "rows": n}`` (in the order of
    :func:`numeric_constants`)."""
    floats = numeric_constants(expr)
    if not floats:
        return {"constants": [], "refitted": [], "standard_errors": [], "rows": len(frame)}
    slots = [sp.Symbol(f"_c{i}", real=True) for i in range(len(floats))]
    with_slots = expr.xreplace(dict(zip(floats, slots, strict=True)))
    fitted, _, se = fit_constants(
        with_slots,
        names,
        frame,
        np.asarray(target, dtype=float),
        slots,
        {s: float(f) for s, f in zip(slots, floats, strict=True)},
        kind="circle" if circle else "real",
        affine=False,
    )
    return {
        "constants": [float(f) for f in floats],
        "refitted": [fitted[s.name] for s in slots],
        "standard_errors": [se[s.name] for s in slots],
        "rows": len(frame),
    }


def decimals(error: float | None) -> int | None:
    """Decimal places that ``error`` supports (negative: tens, hundreds), or None without a usable error."""
    if error is None or not np.isfinite(error) or error <= 0:
        return None
    exponent = math.floor(math.log10(error))
    leading = int(error / 10**exponent)
    return -exponent + (1 if leading <= 2 else 0)


def rounded(value: float, error: float | None = None) -> str:
    """``value`` to the digits ``error`` supports; without one, :data:`FALLBACK_DIGITS` significant digits."""
    places = decimals(error)
    if places is None:
        return f"{value:.{FALLBACK_DIGITS}g}"
    return f"{round(value, places):.{max(places, 0)}f}"


def with_error(value: float, error: float | None) -> str:
    """``1.527 +- 0.004`` (plain text); the value alone where there is no usable error."""
    places = decimals(error)
    if places is None:
        return rounded(value)
    return f"{rounded(value, error)} ± {round(error, places):.{max(places, 0)}f}"


def latex_with_error(value: float, error: float | None) -> str:
    r"""``1.527 \pm 0.004`` for LaTeX math mode."""
    return with_error(value, error).replace("±", r"\pm")


def round_expression(expr: sp.Expr, errors: dict[float, float] | None = None) -> sp.Expr:
    """``expr`` with every float rounded to the digits its standard error supports (``errors``: value ->
    error, matched by value), or to :data:`FALLBACK_DIGITS` significant digits."""
    errors = errors or {}
    out = {}
    for f in numeric_constants(expr):
        out[f] = sp.Float(rounded(float(f), errors.get(float(f))))
    return expr.xreplace(out)

"""From a close fit to the law's form: constant recognition and refitting.

Each floating-point constant of an expression is tried, largest change last, as
``0`` and as the nearest integer; a replacement is kept when the loss on the
given rows stays within ``tolerance`` (the larger of 10 % above the original
loss and the target's noise variance).  The constants that remain are then
refitted by least squares (on the circle for angles) with the form fixed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

from symreg.base import evaluate, loss, round_floats


def _floats(expr: sp.Expr) -> list[sp.Float]:
    return sorted(expr.atoms(sp.Float), key=lambda f: abs(float(f)))


def refit_constants(expr: sp.Expr, symbols: Sequence[sp.Symbol], X: np.ndarray, y: np.ndarray, *, circular: bool) -> sp.Expr:
    """Least-squares refit of every Float in ``expr`` with its form fixed."""
    floats = _floats(expr)
    if not floats:
        return expr
    params = sp.symbols(f"_k0:{len(floats)}")
    template = expr.xreplace(dict(zip(floats, params, strict=True)))
    func = sp.lambdify([*symbols, *params], template, modules="numpy")
    cols = [X[:, i] for i in range(X.shape[1])]

    def residual(k: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            pred = np.asarray(func(*cols, *k), dtype=float) * np.ones(len(y))
        r = np.angle(np.exp(1j * (pred - y))) if circular else pred - y
        return np.where(np.isfinite(r), r, 1e3)

    x0 = np.array([float(f) for f in floats])
    try:
        fit = least_squares(residual, x0, method="lm" if len(y) >= len(x0) else "trf", max_nfev=200 * (len(x0) + 1))
    except (ValueError, FloatingPointError):
        return expr
    if np.sum(residual(fit.x) ** 2) > np.sum(residual(x0) ** 2):
        return expr
    return template.xreplace({p: sp.Float(v, 15) for p, v in zip(params, fit.x, strict=True)})


def recognise_constants(
    expr: sp.Expr,
    symbols: Sequence[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    *,
    circular: bool,
    noise_variance: float = 0.0,
) -> sp.Expr:
    """Replace constants by 0 or integers where the loss allows it, then refit the rest."""
    start = loss(evaluate(expr, symbols, X), y, circular=circular)
    if not np.isfinite(start):
        return expr
    tolerance = max(1.1 * start, noise_variance)
    current = expr
    for f in _floats(expr):
        value = float(f)
        for candidate in (0, round(value)):
            if candidate == value or (candidate != 0 and abs(candidate - value) > 0.1 * abs(value)):
                continue
            trial = current.xreplace({f: sp.Integer(candidate)})
            if trial.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                continue
            trial_fit = refit_constants(trial, symbols, X, y, circular=circular)
            if loss(evaluate(trial_fit, symbols, X), y, circular=circular) <= tolerance:
                current = trial
                break
    current = refit_constants(current, symbols, X, y, circular=circular)
    return round_floats(current, 6)

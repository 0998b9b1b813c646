"""Power laws found by linear algebra, before any search.

Many laws are a constant times a product of powers of the variables
(``q1 q2 / (4 pi epsilon r^2)``).  On positive inputs such a law is linear in
logarithms, ``log|y| = log C + sum_i a_i log x_i``, so one least-squares solve
finds it.  Exponents are rounded to the nearest multiple of 1/2 (roots and
powers), variables with exponent 0 dropped, and ``C`` refitted.  The result is
one more candidate for the front: whether it is a law is decided, like every
other candidate's, by its held-out loss.

Rates and frequencies are often the root of a short polynomial (a damped
oscillator's ``sqrt(kappa - b^2/4)``): :func:`roots_of_polynomials` fits
``y^2`` as a sum of one or two monomials of degree at most 2, by least
squares, and returns the roots that follow ``y`` most closely.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import sympy as sp


def power_law(X: np.ndarray, y: np.ndarray, symbols: Sequence[sp.Symbol], *, step: float = 0.5) -> sp.Expr | None:
    """``C * prod x_i^a_i`` fitted to ``y`` (``a_i`` multiples of ``step``), or None where it cannot apply.

    It applies when every input is positive and ``y`` keeps one sign and never vanishes.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if len(y) < X.shape[1] + 2 or not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)) or np.any(X <= 0):
        return None
    sign = np.sign(y[0])
    if sign == 0 or np.any(np.sign(y) != sign):
        return None
    logs = np.log(X)
    A = np.column_stack([np.ones(len(y)), logs])
    coef, *_ = np.linalg.lstsq(A, np.log(np.abs(y)), rcond=None)
    exponents = np.round(coef[1:] / step) * step
    log_c = float(np.mean(np.log(np.abs(y)) - logs @ exponents))
    expr = sp.Float(sign * np.exp(log_c), 15)
    for s, a in zip(symbols, exponents, strict=True):
        if a != 0:
            expr *= s ** sp.Rational(a).limit_denominator(int(round(1 / step)))
    return expr


def roots_of_polynomials(
    X: np.ndarray, y: np.ndarray, symbols: Sequence[sp.Symbol], *, keep: int = 3, max_terms: int = 2, degree: int = 2
) -> list[sp.Expr]:
    """``s sqrt(sum_k a_k m_k)``: every set of at most ``max_terms`` monomials ``m_k`` of the inputs of degree at
    most ``degree`` (the constant 1 included), the ``a_k`` fitted to ``y^2`` by least squares, ``s`` the sign of
    ``y``; the ``keep`` whose roots lie closest to ``y`` (mean squared error), where the polynomial is positive on
    every row.  Empty where ``y`` changes sign or vanishes, or the data are not finite."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if len(y) < max_terms + 2 or not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        return []
    sign = 1 if y[0] > 0 else -1
    if y[0] == 0 or np.any(np.sign(y) != sign):
        return []
    powers = [p for d in range(degree + 1) for p in itertools.product(range(d + 1), repeat=X.shape[1]) if sum(p) == d]
    columns = {p: np.prod([X[:, i] ** e for i, e in enumerate(p)], axis=0) * np.ones(len(y)) for p in powers}
    found = []
    for chosen in (c for k in range(1, max_terms + 1) for c in itertools.combinations(powers, k)):
        A = np.column_stack([columns[p] for p in chosen])
        coef, *_ = np.linalg.lstsq(A, y**2, rcond=None)
        square = A @ coef
        if not np.all(square > 0) or not np.all(np.isfinite(coef)):
            continue
        mse = float(np.mean((sign * np.sqrt(square) - y) ** 2))
        poly = sp.Add(*[sp.Float(a, 15) * sp.Mul(*[s**e for s, e in zip(symbols, p, strict=True)]) for a, p in zip(coef, chosen, strict=True)])
        found.append((mse, len(chosen), sign * sp.sqrt(poly)))
    found.sort(key=lambda f: (f[0], f[1]))
    return [expr for _, _, expr in found[:keep]]

"""Power laws found by linear algebra, before any search.

Many laws are a constant times a product of powers of the variables
(``q1 q2 / (4 pi epsilon r^2)``).  On positive inputs such a law is linear in
logarithms, ``log|y| = log C + sum_i a_i log x_i``, so one least-squares solve
finds it.  Exponents are rounded to the nearest multiple of 1/2 (roots and
powers), variables with exponent 0 dropped, and ``C`` refitted.  The result is
one more candidate for the front: whether it is a law is decided, like every
other candidate's, by its held-out loss.
"""

from __future__ import annotations

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

"""Whether two expressions are the same law on the ranges where the variables live.

SymPy alone often cannot tell: ``log(1 + b)/2 - log(1 - b)/2`` and
``log((1 + b)/(1 - b))/2`` are equal only where ``1 - b > 0``, which no SymPy
assumption on ``b`` states, and its simplifications can also be wrong where a
variable is negative (``sqrt(x) sqrt(y)`` is not ``sqrt(x y)`` for ``x, y < 0``).
So :func:`same_law` compares the two as functions: both are evaluated in
``digits``-digit arithmetic (mpmath) at ``points`` points drawn uniformly from the
ranges, and they are the same law when they agree there to ``digits - 10``
significant digits, relative to the largest value either takes on those points.
SymPy (told which variables the ranges make positive or negative) is asked only
where too few points could be compared.

Two analytic expressions that differ somewhere on an interval differ at almost
every point of it (their difference is analytic, so its zeros are isolated), and
a difference that ``digits``-digit arithmetic resolves is far above rounding: the
test is an identity test in the sense of polynomial identity testing, applied on the
ranges the data came from.  A number is taken as the decimal it prints as
(``repr``): ``0.5 x`` and ``0.1 x`` are ``x/2`` and ``x/10``; a fitted
``0.333333333333333 x`` (or ``0.3333333333333333 x``) is not ``x/3``.

Points where the true law is undefined (a pole, a root of a negative number, a
complex value) are drawn again; a point where the true law is defined and the
selected one is not decides against it.  At least half of ``points`` must be
compared, from at most twice as many draws; otherwise SymPy decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

DIGITS = 50
"""working precision of the numerical comparison (decimal digits)"""
POINTS = 12
"""points at which the two expressions are compared"""


def with_signs(
    expr: sp.Expr, symbols: Sequence[sp.Symbol], ranges: Sequence[tuple[float, float]]
) -> tuple[sp.Expr, list[sp.Symbol]]:
    """``expr`` with each variable of a positive (negative) range replaced by a positive (negative) symbol."""
    out, subs = [], {}
    for s, (lo, hi) in zip(symbols, ranges, strict=True):
        if lo > 0:
            new = sp.Symbol(s.name, positive=True)
        elif hi < 0:
            new = sp.Symbol(s.name, negative=True)
        else:
            new = sp.Symbol(s.name, real=True)
        subs[s] = new
        out.append(new)
    return expr.xreplace(subs), out


def sympy_says_equal(a: sp.Expr, b: sp.Expr) -> bool:
    """SymPy simplifies ``a - b`` (or ``a / b - 1``, or the difference written in exponentials) to zero."""
    diff = sp.simplify(a - b)
    if diff == 0:
        return True
    if sp.simplify(sp.expand(sp.powsimp(diff))) == 0:
        return True
    if b != 0 and sp.simplify(a / b) == 1:
        return True
    return sp.simplify(diff.rewrite(sp.exp)) == 0  # hyperbolic and trigonometric identities


def exact_numbers(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every float replaced by the rational number its decimal ``repr`` writes (``0.1`` is 1/10)."""
    return expr.xreplace({f: sp.Rational(repr(float(f))) for f in expr.atoms(sp.Float)})


def agree_on_ranges(
    a: sp.Expr,
    b: sp.Expr,
    symbols: Sequence[sp.Symbol],
    ranges: Sequence[tuple[float, float]],
    *,
    points: int = POINTS,
    digits: int = DIGITS,
    seed: int = 0,
) -> bool | None:
    """``a`` (selected) agrees with ``b`` (true) to ``digits - 10`` significant digits at ``points`` random points
    of the ranges, relative to the largest value on them; None where fewer than ``points // 2`` points
    (of at most ``2 points`` draws) have ``b`` defined and real."""
    try:
        fa = sp.lambdify(list(symbols), a, modules="mpmath")
        fb = sp.lambdify(list(symbols), b, modules="mpmath")
    except (KeyError, TypeError, NameError, SyntaxError):  # an expression with no value (zoo, nan)
        return False
    rng = np.random.default_rng(seed)
    pairs: list[tuple[Any, Any]] = []
    with mpmath.workdps(digits):
        tolerance = mpmath.mpf(10) ** (-(digits - 10))
        for _ in range(2 * points):
            if len(pairs) == points:
                break
            # each coordinate drawn as an exact binary fraction, then read at full precision
            u = rng.uniform(size=len(ranges))
            point = [mpmath.mpf(float(lo + (hi - lo) * v)) for (lo, hi), v in zip(ranges, u, strict=True)]
            vb = _real_value(fb, point, tolerance)
            if vb is None:
                continue  # the true law is undefined here: another point
            va = _real_value(fa, point, tolerance)
            if va is None:
                return False  # the selected law is undefined where the true one is not
            pairs.append((va, vb))
        if len(pairs) < points // 2:
            return None
        scale = max(max(abs(va), abs(vb)) for va, vb in pairs)
        return all(abs(va - vb) <= tolerance * scale for va, vb in pairs)


def _real_value(f, point, tolerance):
    """``f(point)`` as a real mpf, or None where it is undefined, infinite or not real."""
    try:
        value = mpmath.mpmathify(f(*point))
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    if not mpmath.isfinite(value):
        return None
    if isinstance(value, mpmath.mpc):
        if abs(mpmath.im(value)) > tolerance * max(abs(value), 1):
            return None
        value = mpmath.re(value)
    return value


def same_law(
    selected: sp.Expr,
    true: sp.Expr,
    symbols: Sequence[sp.Symbol],
    ranges: Sequence[tuple[float, float]],
    *,
    seed: int = 0,
) -> bool:
    """``selected`` is ``true`` as a function on the box ``ranges`` (one ``(low, high)`` per symbol): the two
    compared at high precision on points of the ranges; SymPy, told the signs the ranges fix, only where
    too few points could be compared (see the module's text)."""
    a, new = with_signs(exact_numbers(selected), symbols, ranges)
    b, _ = with_signs(exact_numbers(true), symbols, ranges)
    verdict = agree_on_ranges(a, b, new, ranges, seed=seed)
    if verdict is not None:
        return verdict
    try:
        return bool(sympy_says_equal(a, b))
    except (TypeError, ValueError, ZeroDivisionError, RecursionError, NotImplementedError):
        return False

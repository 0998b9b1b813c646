"""Whether two expressions are the same law on the ranges where the variables live.

SymPy alone often cannot tell: ``log(1 + b)/2 - log(1 - b)/2`` and
``log((1 + b)/(1 - b))/2`` are equal only where ``1 - b > 0``, which no SymPy
assumption on ``b`` states.  :func:`same_law` first asks SymPy, with every
variable whose range is positive (negative) declared so, and then, where SymPy
does not simplify the difference to zero, compares the two as functions:
both are evaluated in ``digits``-digit arithmetic (mpmath) at ``points``
points drawn uniformly from the ranges, and they are the same law when they
agree there to ``digits - 10`` significant digits.

Two analytic expressions that differ somewhere on an interval differ at almost
every point of it (their difference is analytic, so its zeros are isolated), and
a difference that ``digits``-digit arithmetic resolves is far above rounding: the
test is an identity test in the sense of polynomial identity testing, applied on the
ranges the data came from.  A fitted number is taken as it is written:
``0.333333333333333 x`` is not ``x/3`` (it differs in the sixteenth digit), ``0.5 x``
is ``x/2``.  Points where either side is undefined (a pole, a root of a negative
number) are drawn again; where fewer than half of the draws are defined on
both sides, the answer is False.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np
import sympy as sp

DIGITS = 50
"""working precision of the numerical comparison (decimal digits)"""
POINTS = 12
"""points at which the two expressions are compared"""


def _assumed(
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
    if sp.simplify(sp.expand(sp.powsimp(diff, force=True))) == 0:
        return True
    if b != 0 and sp.simplify(a / b) == 1:
        return True
    return sp.simplify(diff.rewrite(sp.exp)) == 0  # hyperbolic and trigonometric identities


def agree_on_ranges(
    a: sp.Expr,
    b: sp.Expr,
    symbols: Sequence[sp.Symbol],
    ranges: Sequence[tuple[float, float]],
    *,
    points: int = POINTS,
    digits: int = DIGITS,
    seed: int = 0,
) -> bool:
    """``a`` and ``b`` agree to ``digits - 10`` significant digits at ``points`` random points of the ranges."""
    try:
        fa = sp.lambdify(list(symbols), a, modules="mpmath")
        fb = sp.lambdify(list(symbols), b, modules="mpmath")
    except (KeyError, TypeError, NameError, SyntaxError):  # an expression with no value (zoo, nan)
        return False
    rng = np.random.default_rng(seed)
    tolerance = mpmath.mpf(10) ** (-(digits - 10))
    compared = tries = 0
    with mpmath.workdps(digits):
        while compared < points and tries < 2 * points:
            tries += 1
            # each coordinate drawn as an exact binary fraction, then read at full precision
            x = [mpmath.mpf(float(lo + (hi - lo) * u)) for (lo, hi), u in zip(ranges, rng.uniform(size=len(ranges)), strict=True)]
            try:
                va, vb = mpmath.mpmathify(fa(*x)), mpmath.mpmathify(fb(*x))
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                continue
            if not (mpmath.isfinite(va) and mpmath.isfinite(vb)):
                continue
            if isinstance(va, mpmath.mpc) or isinstance(vb, mpmath.mpc):
                if abs(mpmath.im(va)) > tolerance * abs(va) or abs(mpmath.im(vb)) > tolerance * abs(vb):
                    continue  # outside the real domain of one side
                va, vb = mpmath.re(va), mpmath.re(vb)
            if abs(va - vb) > tolerance * max(abs(va), abs(vb), mpmath.mpf(10) ** (-digits // 2)):
                return False
            compared += 1
    return compared >= points // 2


def same_law(
    selected: sp.Expr,
    true: sp.Expr,
    symbols: Sequence[sp.Symbol],
    ranges: Sequence[tuple[float, float]],
    *,
    seed: int = 0,
) -> bool:
    """``selected`` is ``true`` as a function on the box ``ranges`` (one ``(low, high)`` per symbol).

    SymPy first, told the signs the ranges fix; then the two compared at high precision on points
    of the ranges (see the module's text)."""
    a, new = _assumed(selected, symbols, ranges)
    b, _ = _assumed(true, symbols, ranges)
    try:
        if sympy_says_equal(a, b):
            return True
    except (TypeError, ValueError, ZeroDivisionError, RecursionError, NotImplementedError):
        pass
    return agree_on_ranges(a, b, new, ranges, seed=seed)

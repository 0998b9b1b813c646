"""Exact values a fitted constant may stand for.

A fitted ``0.0795775`` is ``1/(4 pi)``; a fitted ``1.5`` is ``3/2``.  The
candidates for a value ``v`` are ``(p/q) * b`` with a small rational ``p/q`` and
a base ``b`` from :data:`BASES` (1, pi, e and simple roots and powers of them)
or ``b = K`` or ``1/K`` for a named constant ``K`` of the problem.  A candidate
is offered only when it lies within ``rtol`` of ``v``; whether it is *accepted*
is decided elsewhere, on held-out data (:func:`symreg.polish.recognise_constants`).
Candidates come simplest first: smallest ``|p| * q``, then the order of the
bases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

import sympy as sp

from symreg.base import complexity

BASES: tuple[sp.Expr, ...] = (
    sp.Integer(1),
    sp.pi,
    1 / sp.pi,
    sp.pi**2,
    1 / sp.pi**2,
    sp.sqrt(sp.pi),
    1 / sp.sqrt(sp.pi),
    sp.sqrt(2),
    sp.sqrt(3),
    sp.sqrt(2 * sp.pi),
    1 / sp.sqrt(2 * sp.pi),
    sp.E,
    1 / sp.E,
)
MAX_DENOMINATOR = 64
MAX_NUMERATOR = 64


def candidates(
    value: float,
    *,
    rtol: float = 1e-3,
    named: Mapping[str, float] | None = None,
    max_denominator: int = MAX_DENOMINATOR,
    max_numerator: int = MAX_NUMERATOR,
    bases: tuple[sp.Expr, ...] = BASES,
) -> list[sp.Expr]:
    """Exact expressions within ``rtol`` (relative) of ``value``, simplest first.

    ``bases``, ``max_numerator`` and ``max_denominator`` bound the set; a
    smaller set suits a constant known only to a few digits.

    ``named`` maps names of the problem's own constants to their values; a
    candidate may then be a rational times ``K`` or ``1/K`` (``K`` a positive
    SymPy symbol of that name).  ``0`` is never offered: dropping a term is a
    separate decision.
    """
    if not math.isfinite(value) or value == 0:
        return []
    values: list[tuple[sp.Expr, float]] = [(b, float(b)) for b in bases]
    for name, k in (named or {}).items():
        if k and math.isfinite(k):
            sym = sp.Symbol(name, positive=True)
            values += [(sym, float(k)), (1 / sym, 1 / float(k))]
    found: dict[sp.Expr, tuple[int, int, int]] = {}
    for order, (base, bval) in enumerate(values):
        ratio = Fraction(value / bval).limit_denominator(max_denominator)
        if ratio == 0 or abs(ratio.numerator) > max_numerator:
            continue
        exact = sp.Rational(ratio.numerator, ratio.denominator) * base
        if abs(float(ratio) * bval - value) <= rtol * abs(value):
            key = (abs(ratio.numerator) * ratio.denominator, order, complexity(exact))
            found.setdefault(exact, key)
    return sorted(found, key=found.__getitem__)

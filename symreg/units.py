"""Dimensional analysis of expressions: is a candidate law dimensionally homogeneous?

Unit strings (``"1/s^2"``, ``"kg*m^2/s^2"``, ``"rad"``, ``"1"``) are read by pint into
dimensions (exponents of length, time, mass, ...).  :func:`dimension_of` walks a
SymPy expression with every number taken as dimensionless, the convention of a
law written in the system's own variables (AI Feynman's as well): terms of a sum
must share a dimension, the argument of ``exp``, ``log``, ``sin``, ... must be
dimensionless, a power's exponent a number.  It returns the expression's
dimension, or None where the expression mixes dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from functools import lru_cache

import sympy as sp

Dimension = tuple[tuple[str, Fraction], ...]
"""sorted (base dimension, exponent) pairs; () is dimensionless"""


@lru_cache(maxsize=256)
def parse_unit(text: str) -> Dimension:
    """The dimension of a unit string; ``""``, ``"1"`` and angles are dimensionless."""
    import pint

    text = (text or "1").strip()
    try:
        dims = _registry().parse_expression(text).dimensionality
    except (pint.errors.PintError, AttributeError, TypeError, SyntaxError, ValueError) as exc:
        raise ValueError(
            f"Cannot read the unit {text!r} ({exc}). Write units as pint reads them, e.g. '1/s^2' or 'kg*m/s^2'."
        ) from exc
    return tuple(sorted((k, Fraction(v).limit_denominator(12)) for k, v in dict(dims).items() if v))


@lru_cache(maxsize=1)
def _registry():
    import pint

    return pint.UnitRegistry()


def _combine(a: Dimension, b: Dimension, scale: Fraction = Fraction(1)) -> Dimension:
    out: dict[str, Fraction] = dict(a)
    for k, v in b:
        out[k] = out.get(k, Fraction(0)) + scale * v
    return tuple(sorted((k, v) for k, v in out.items() if v))


def dimension_of(expr: sp.Expr, dims: Mapping[sp.Symbol | str, Dimension]) -> Dimension | None:
    """The dimension of ``expr`` (symbols' dimensions from ``dims``, numbers dimensionless), or None if inhomogeneous."""
    by_name = {str(k): v for k, v in dims.items()}

    def walk(e: sp.Expr) -> Dimension | None:
        if e.is_Symbol:
            return by_name.get(e.name, ())
        if e.is_Number or e in (sp.pi, sp.E):
            return ()
        if e.is_Add:
            parts = [walk(a) for a in e.args]
            return parts[0] if all(p is not None and p == parts[0] for p in parts) else None
        if e.is_Mul:
            out: Dimension = ()
            for a in e.args:
                d = walk(a)
                if d is None:
                    return None
                out = _combine(out, d)
            return out
        if e.is_Pow:
            base, exponent = e.args
            d = walk(base)
            if d is None:
                return None
            if exponent.is_Rational:
                return _combine((), d, Fraction(int(exponent.p), int(exponent.q)))
            if exponent.is_Number and d == ():
                return ()
            return () if d == () and walk(exponent) == () else None
        if isinstance(e, sp.Function):
            return () if all(walk(a) == () for a in e.args) else None
        return None

    return walk(sp.sympify(expr))

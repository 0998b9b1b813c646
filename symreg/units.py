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


def combine(a: Dimension, b: Dimension, scale: Fraction | int = 1) -> Dimension:
    """``a + scale b``: the dimension of ``A B^scale``."""
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
                out = combine(out, d)
            return out
        if e.is_Pow:
            base, exponent = e.args
            d = walk(base)
            if d is None:
                return None
            if exponent.is_Rational:
                return combine((), d, Fraction(int(exponent.p), int(exponent.q)))
            if exponent.is_Number and d == ():
                return ()
            return () if d == () and walk(exponent) == () else None
        if isinstance(e, sp.Function):
            return () if all(walk(a) == () for a in e.args) else None
        return None

    return walk(sp.sympify(expr))


def dimension_matrix(dims: list[Dimension]) -> tuple[list[str], sp.Matrix]:
    """The base dimensions that occur, and the matrix (bases x quantities) of exponents."""
    bases = sorted({k for d in dims for k, _ in d})
    return bases, sp.Matrix([[dict(d).get(b, 0) for d in dims] for b in bases]) if bases else sp.zeros(0, len(dims))


def _integer(vec: sp.Matrix) -> sp.Matrix:
    """The smallest integer multiple of a rational vector, first non-zero entry positive."""
    import math

    den = math.lcm(*[int(sp.Rational(v).q) for v in vec]) if len(vec) else 1
    ints = [int(sp.Rational(v) * den) for v in vec]
    g = math.gcd(*ints) if ints else 0
    ints = [v // g for v in ints] if g else ints
    first = next((v for v in ints if v), 1)
    return sp.Matrix([v if first > 0 else -v for v in ints])


def dimensionless_groups(input_dims: list[Dimension]) -> list[list[int]]:
    """A basis of dimensionless products of the inputs (Buckingham pi), as integer exponent vectors.

    Ratios of like quantities come first (``v/c``, ``theta/theta_1``); the rest of the basis comes
    from the null space of the dimension matrix (SymPy's reduced row echelon form: each group has one
    variable of its own), each scaled to the smallest integers.
    """
    n = len(input_dims)
    groups: list[list[int]] = []
    # ratios of like quantities: each variable over the first of its dimension
    first: dict[Dimension, int] = {}
    for i, d in enumerate(input_dims):
        if d in first:
            vec = [0] * n
            vec[i], vec[first[d]] = 1, -1
            groups.append(vec)
        else:
            first[d] = i
    reps = sorted(first.values())
    if len(reps) > 0:
        _, M = dimension_matrix([input_dims[i] for i in reps])
        null = M.nullspace() if M.rows else [sp.eye(len(reps))[:, k] for k in range(len(reps))]
        for v in null:
            iv = _integer(v)
            vec = [0] * n
            for j, i in enumerate(reps):
                vec[i] = int(iv[j])
            groups.append(vec)
    return groups


def prefactors(input_dims: list[Dimension], target: Dimension) -> list[list[sp.Rational]]:
    """Every simplest exponent vector ``p`` with ``prod x_i^p_i`` of the target's dimension: the fewest
    variables, then the smallest exponents (``m c^2`` and ``m v^2`` for an energy from ``m, v, c``).
    Empty if the inputs cannot make the target's dimension."""
    _, M = dimension_matrix([*input_dims, target])
    if M.rows == 0:
        return [[sp.Integer(0)] * len(input_dims)]
    A, b = M[:, : len(input_dims)], M[:, len(input_dims)]
    from itertools import combinations

    for size in range(0, min(len(input_dims), A.rows) + 1):
        found: list[tuple[int, list[sp.Rational]]] = []
        for subset in combinations(range(len(input_dims)), size):
            sub = A[:, list(subset)]
            try:
                sol, params = sub.gauss_jordan_solve(b)
            except ValueError:
                continue
            if params.shape[0]:
                sol = sol.subs({p: 0 for p in params})
            exps = [sp.Integer(0)] * len(input_dims)
            for j, i in enumerate(subset):
                exps[i] = sp.nsimplify(sol[j])
            found.append((sum(abs(e.p) + e.q for e in exps if e != 0), exps))
        if found:
            least = min(cost for cost, _ in found)
            return [exps for cost, exps in found if cost == least]
    return []


def prefactor(input_dims: list[Dimension], target: Dimension) -> list[sp.Rational] | None:
    """The first of :func:`prefactors`, or None."""
    options = prefactors(input_dims, target)
    return options[0] if options else None


def as_dimension(unit) -> Dimension:
    """A unit string (pint's notation) or an already parsed :data:`Dimension`, as a Dimension."""
    if isinstance(unit, str):
        return parse_unit(unit)
    return tuple(sorted((str(k), Fraction(v)) for k, v in (unit.items() if isinstance(unit, Mapping) else unit) if v))

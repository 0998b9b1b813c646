"""Functions of one dimensionless group, tried as whole families.

Where dimensional analysis has written a target as ``y = P(x) f(pi_1, ..., pi_k)``
(:func:`symreg.search.dimensionless_problem`), physics very often gives ``f`` as
one of a handful of functions of one group, each with a scale inside and a
number or two outside: the occupation of a state, ``1/(exp(x) +- 1)``; Planck's
``x/(exp(x) - 1)``; a Boltzmann or Gaussian weight times a power,
``x^p exp(-a x)``, ``x^p exp(-a x^2)``; a stretched exponential (a tunnelling or
barrier factor) ``exp(-a x^p)``; a binomial, ``(1 + a x)^p`` or ``(1 + a x^2)^p``
(a Lorentz factor ``(1 - x^2)^(-1/2)``, a field on an axis ``(1 + x^2)^(-3/2)``,
a weak-field correction ``(1 - 2 x)^(1/2)``); an angle whose tangent is the group,
``atan(a x)``; a diffraction pattern ``(sin(a x)/(a x))^2``; a power ``x^p``.
A genetic search has to assemble such a form from its parts, a needle it often
misses, and ends with a dozen fitted constants around the group instead.  Here
each family is fitted whole, as ``A f(a x; p) + C`` (and, for the families that
are sums in physics, ``+ B x``), to each group and to its reciprocal, by least
squares (an analytic Jacobian) from a few starting values, on at most
:data:`FIT_ROWS` rows.

A group is tried only where the target is a function of it alone
(:func:`one_group_share`, the variance left between neighbours when the rows are
sorted by the group, at most ``1 - MIN_R2``): a cheap test of "a variable that
enters only through a group", which also keeps the families from costing time
where they cannot hold.

The fits are candidates, nothing more: :func:`symreg.search.search` scores them
on held-out rows beside the engine's equations, and constant recognition gives
``A``, ``a``, ``p``, ``C`` exact values (``a = 1``, ``p = -1/2``, ``C = -1``) only
where the held-out rows allow, so a family that does not hold stays a fit with
many constants and loses to a simpler equation.  Only fits with an R^2 of at
least :data:`MIN_R2` are returned, at most :data:`MAX_FORMS` of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

x = sp.Symbol("x", real=True)
A, B, C, a, p = sp.symbols("A B C a p", real=True)


@dataclass(frozen=True)
class Family:
    name: str
    expression: sp.Expr
    """in ``x`` and the constants ``A, B, C, a, p`` (those it uses are fitted)"""
    starts: dict[sp.Symbol, tuple[float, ...]]
    """starting values to try for the inner constants (``A``, ``B``, ``C`` start from a linear fit); ``a``'s
    are in units of the group's typical size: ``a = s / m^k`` for a start ``s``"""
    power: int = 1
    """``k``: the power of ``x`` that ``a`` multiplies"""
    typical: str = "median"
    """``m``: the median of ``|x|`` (an exponential's scale), or its maximum (a binomial's ``1 + a x`` must stay
    positive over the data for ``s > -1``)"""


FAMILIES: tuple[Family, ...] = (
    Family("occupation (+)", A / (sp.exp(a * x) + 1) + C, {a: (1.0, -1.0, 0.3, 3.0)}),
    Family("occupation (-)", A / (sp.exp(a * x) - 1) + C, {a: (1.0, 0.3, 3.0)}),
    Family("Planck", A * x / (sp.exp(a * x) - 1) + B * x, {a: (1.0, 0.3, 3.0)}),
    Family("Boltzmann", A * x**p * sp.exp(-a * x), {a: (1.0, 0.3, 3.0), p: (0.0, 1.0, 2.0)}),
    Family("Gaussian", A * x**p * sp.exp(-a * x**2), {a: (1.0, 0.3, 3.0), p: (0.0, 1.0, 2.0)}, power=2),
    Family("stretched exponential", A * sp.exp(-a * x**p) + C, {a: (1.0, 0.3, 3.0), p: (0.5, 1.0, 2.0)}),
    Family("binomial", A * (1 + a * x) ** p + C, {a: (1.0, -0.9, -0.5), p: (-1.0, -0.5, 0.5)}, typical="max"),
    Family(
        "binomial of the square",
        A * (1 + a * x**2) ** p + C,
        {a: (1.0, -0.9, -0.5), p: (-1.5, -0.5, 0.5)},
        power=2,
        typical="max",
    ),
    Family("arctangent", A * sp.atan(a * x) + C, {a: (1.0, 0.3, 3.0)}),
    Family("diffraction", A * (sp.sin(a * x) / (a * x)) ** 2, {a: (1.0, 0.5, 2.0)}),
    Family("power", A * x**p + C, {p: (-2.0, -1.0, -0.5, 0.5, 2.0)}),
)
MIN_R2 = 0.99
"""a family's fit must explain this share of the target's variance to be a candidate"""
MAX_FORMS = 6
"""fits returned per target (the best by residual), so that the constant recognition's budget goes far"""
MAX_STEPS = 100
"""least-squares evaluations per start: a start that has not converged by then is in the wrong basin"""
FIT_ROWS = 300
"""rows the families are fitted on (the search refits the candidates' constants on all its rows)"""


_COMPILED: dict[str, tuple] = {}


def _compiled(family: Family) -> tuple:
    """``family``'s constants (all, inner, outer) and its function, linear basis and gradient as NumPy
    functions, made once per family and kept."""
    key = f"{family.name}: {family.expression}"
    if key not in _COMPILED:
        free = [s for s in (A, B, C, a, p) if family.expression.has(s)]
        inner = [s for s in free if s in family.starts]
        outer = [s for s in free if s not in family.starts]
        func = sp.lambdify([x, *free], family.expression, modules="numpy")
        # the outer constants enter linearly: for each start of the inner ones, they are solved for first
        basis = {s: sp.lambdify([x, *inner], sp.diff(family.expression, s), modules="numpy") for s in outer}
        grads = [sp.lambdify([x, *free], sp.diff(family.expression, s), modules="numpy") for s in free]
        _COMPILED[key] = (free, inner, outer, func, basis, grads)
    return _COMPILED[key]


def _fit(family: Family, g: np.ndarray, y: np.ndarray) -> tuple[float, dict[sp.Symbol, float]] | None:
    """Least-squares constants of ``family`` for ``y ~ f(g)``: (sum of squared residuals, constants)."""
    free, inner, outer, func, basis, grads = _compiled(family)

    def residual(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            r = np.asarray(func(g, *values), dtype=float) * np.ones(len(y)) - y
        return np.where(np.isfinite(r), r, 1e6)

    def jacobian(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            J = np.column_stack([np.asarray(d(g, *values), dtype=float) * np.ones(len(y)) for d in grads])
        return np.where(np.isfinite(J), J, 0.0)

    m = float(np.median(np.abs(g)) if family.typical == "median" else np.max(np.abs(g)))
    unit = m**family.power if np.isfinite(m) and m > 0 else 1.0
    # a's starts in units of the group's size, and a = +-1 itself (a group is often the law's own variable)
    starts = [
        tuple(dict.fromkeys([*(v / unit for v in family.starts[s]), 1.0, -1.0])) if s is a else family.starts[s] for s in inner
    ]
    best: tuple[float, dict[sp.Symbol, float]] | None = None
    for start in itertools.product(*starts):
        with np.errstate(all="ignore"):
            columns = [np.asarray(basis[s](g, *start), dtype=float) * np.ones(len(y)) for s in outer]
        M = np.column_stack(columns) if columns else np.zeros((len(y), 0))
        if not np.isfinite(M).all():
            continue
        lin = np.linalg.lstsq(M, y, rcond=None)[0] if columns else np.zeros(0)
        guess = dict(zip(outer, lin, strict=True)) | dict(zip(inner, start, strict=True))
        x0 = np.array([guess[s] for s in free], dtype=float)
        try:
            with np.errstate(all="ignore"):
                sol = least_squares(residual, x0, jac=jacobian, method="lm" if len(y) > len(free) else "trf", max_nfev=MAX_STEPS)
        except (ValueError, FloatingPointError, ZeroDivisionError):
            continue
        with np.errstate(all="ignore"):
            predicted = np.asarray(func(g, *sol.x), dtype=float) * np.ones(len(y))
        if not np.isfinite(predicted).all():
            continue  # undefined on some rows (a root of a negative number): no law of these data
        sse = float(np.sum((predicted - y) ** 2))
        if np.isfinite(sse) and (best is None or sse < best[0]):
            best = (sse, dict(zip(free, (float(v) for v in sol.x), strict=True)))
    return best


def one_group_share(g: np.ndarray, y: np.ndarray) -> float:
    """How much of ``y``'s variance a function of ``g`` alone can explain, read without fitting one: with the
    rows sorted by ``g``, ``1 - mean((y_{i+1} - y_i)^2) / (2 var(y))`` (a smooth function of ``g`` changes little
    between neighbours; a target that also depends on other variables jumps between them, and then the
    share is near 0)."""
    variance = float(np.var(y))
    if variance <= 0 or len(y) < 3:
        return 0.0
    step = np.diff(y[np.argsort(g, kind="stable")])
    return 1.0 - float(np.mean(step**2)) / (2 * variance)


def group_forms(
    G: np.ndarray, y: np.ndarray, group_names: Sequence[str], *, families: Sequence[Family] = FAMILIES
) -> list[sp.Expr]:
    """Fits of every family to every group (and its reciprocal) that reach :data:`MIN_R2`, best first,
    at most :data:`MAX_FORMS`; each an expression in the group symbols ``group_names`` with float constants."""
    y = np.asarray(y, dtype=float)[:FIT_ROWS]
    G = np.asarray(G, dtype=float)[:FIT_ROWS]
    total = float(np.sum((y - y.mean()) ** 2))
    if total <= 0 or len(y) < 8:
        return []
    fits: list[tuple[float, sp.Expr]] = []
    for j, name in enumerate(group_names):
        symbol = sp.Symbol(name, real=True)
        for reciprocal in (False, True):
            with np.errstate(all="ignore"):
                g = 1 / G[:, j] if reciprocal else G[:, j]
            if not np.isfinite(g).all() or np.ptp(g) == 0:
                continue
            if not reciprocal and one_group_share(g, y) < MIN_R2:
                break  # the target is no function of this group alone (nor of its reciprocal: the same order)
            argument = 1 / symbol if reciprocal else symbol
            for family in families:
                fit = _fit(family, g, y)
                if fit is None or 1 - fit[0] / total < MIN_R2:
                    continue
                numbers = {s: sp.Float(v, 15) for s, v in fit[1].items()}
                fits.append((fit[0], family.expression.xreplace(numbers).xreplace({x: argument})))
    fits.sort(key=lambda f: f[0])
    out: list[sp.Expr] = []
    for _, expr in fits:
        if expr not in out:
            out.append(expr)
    return out[:MAX_FORMS]

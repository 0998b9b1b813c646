"""From a close fit to the law's form: constant recognition and refitting.

:func:`recognise_constants` first refits every floating-point constant of an
expression by least squares (float64, on the circle for angles) and lets SymPy
merge the ones that multiply each other.  Then, one constant at a time, it tries
to replace a fitted value by ``0`` (drop the term) or by an exact value from
:func:`symreg.constants.candidates` (integers, simple rationals, pi, e, roots,
the problem's named constants), refits the constants that remain, and keeps the
replacement when the loss on *held-out* rows stays within the tolerance::

    loss_new <= loss_fitted + max(rtol * loss_fitted, NOISE_SHARE * noise_variance, 1e-12 * var(y))

with ``rtol = 0.1`` by default: an exact constant may cost at most 10 % of the
held-out loss of the fitted one or, for a target with noise, half its noise
variance, whichever is more (the last term only absorbs floating-point
round-off on noise-free data).  Passes repeat until no constant changes.

A target with noise (``noise_variance > 0``, such as a latent neuron) knows its
constants to a few digits only, and among the many exact values near a fitted
one some would fit by coincidence; for it the candidates are only fractions
``p/q`` and ``p pi/q`` with ``|p| <= 12``, ``q <= 4`` (phases such as
``5 pi/2``), and the named constants, looked for within the range over which
the held-out test could accept a value (from the least-squares covariance,
``sigma sqrt(n allowed / loss)``; at least 0.1 %, at most 5 %) rather than
within 0.1 %.

For a noisy target, an additive term of the expression, or a constant added
inside a function (the ``c`` of ``asin(a sin x + c)``), whose removal (the
other constants refitted) raises the held-out loss by at most half the noise
variance is dropped first: its contribution is within the target's own noise,
where the network's small systematic errors also lie.  Why half the noise
variance for one change: a network's systematic error is of the order of its
noise, and one extra constant can absorb a good part of it (on Copernicus seed
3, ``+0.027`` inside the arcsine takes 13 % off the held-out loss), while a
wrong exact value such as ``R_E/R_M = 2/3`` for ``0.655`` costs more than the
whole noise variance.

A target's ``scale`` says which of its constants physics can fix at all.  A
latent neuron is the network's own coordinate: a real neuron is a monotone map
of the quantities it holds, with a scale and offset of the network's choosing
(``scale="free"``: no constant is replaced by an exact value; terms within the
noise are still dropped), and a circle neuron winds once with the angle it holds
but from an offset of its own (``scale="offset"``: the additive constant of
the top-level sum keeps its fitted value, whatever lies inside a function may
still be exact, such as the radius ratio of ``asin(sin(a - b)/rho)``).  Only an
observed quantity (``scale="physical"``, the default) has exact constants
everywhere.  A ``4/3 pi`` printed in a neuron's equation would be read as
physics; it is the network's choice of units.

Exact values are tried only for an expression that fits to the noise
(held-out loss, before terms within the noise are dropped, at most
``max(1e-10 var(y), (1 + rtol) noise_variance)``: a
noise variance is itself an estimate, from other rows); an approximate
form is only refitted: its constants have no exact values to find, and giving
them some would make an approximation look like a law.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import least_squares
from sympy.functions.elementary.hyperbolic import HyperbolicFunction
from sympy.functions.elementary.trigonometric import TrigonometricFunction

from symreg.base import complexity, evaluate, loss, round_floats
from symreg.constants import candidates

MAX_TRIALS = 6
"""exact candidates tried per constant (besides 0 and +-1)"""
NOISY_MAX_NUMERATOR = 12
NOISY_MAX_DENOMINATOR = 4
NOISY_SIGMAS = 3.0
NOISY_MAX_WINDOW = 0.05
NOISE_SHARE = 0.5
"""a simplification of a noisy target's law (an exact value, a term dropped) may cost this share of
its noise variance in held-out loss"""
"""a noisy target's constant is compared with exact values within the range the held-out test could
accept (at least 3 standard errors, at most 5 %)"""
FITS = 1e-10
"""held-out loss, relative to the target's variance, below which a form fits noise-free data"""


@dataclass
class RefitBudget:
    """How many least-squares refits constant recognition may still make.  A count, not a clock:
    the same inputs give the same law on any machine and under any load."""

    refits: int

    @property
    def spent(self) -> bool:
        return self.refits <= 0


def _floats(expr: sp.Expr) -> list[sp.Float]:
    return sorted(expr.atoms(sp.Float), key=lambda f: abs(float(f)))


SIMPLIFY_OPS = 40
"""SymPy's ``simplify`` is tried only on expressions of at most this many operations"""


def _simplified(expr: sp.Expr) -> sp.Expr:
    """``sp.simplify(expr)`` without trigonometric identities: each outermost trigonometric or hyperbolic function
    stands for a symbol while the rest is simplified, and its argument is simplified on its own.  (SymPy's
    ``trigsimp`` on a sum of products of sines can expand without end: a pendulum seed spent over 15 minutes in one
    call.)  ``expr`` itself where it is longer than :data:`SIMPLIFY_OPS` operations."""
    if sp.count_ops(expr) > SIMPLIFY_OPS:
        return expr
    outer: dict[sp.Expr, sp.Dummy] = {}

    def walk(e: sp.Expr) -> None:
        if isinstance(e, TrigonometricFunction | HyperbolicFunction):
            outer.setdefault(e, sp.Dummy())
            return
        for a in e.args:
            walk(a)

    walk(expr)
    masked = sp.simplify(expr.xreplace(outer))
    return masked.xreplace({d: f.func(*(_simplified(a) for a in f.args)) for f, d in outer.items()})


def _defined(expr: sp.Expr) -> bool:
    return not expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo)


def _cost(exact: sp.Expr) -> int:
    coeff = exact.as_coeff_Mul()[0]
    return abs(coeff.p) * coeff.q if isinstance(coeff, sp.Rational) else 1


SCALES = ("physical", "offset", "free")
"""what of a target's scale physics fixes: all of it (an observed quantity), all but its offset (a circle
neuron), none (a real neuron); see the module's text"""


def _offset(expr: sp.Expr) -> sp.Float | None:
    """The fitted constant added at the top level of ``expr`` (``c`` in ``f(x) + c``), if any."""
    if isinstance(expr, sp.Float):
        return expr
    found = [t for t in expr.args if isinstance(t, sp.Float)] if expr.is_Add else []
    return found[0] if found else None


def _trials(
    expr: sp.Expr,
    named: Mapping[str, float] | None,
    *,
    noisy: bool,
    windows: Mapping[sp.Float, float] | None = None,
    scale: str = "physical",
) -> list[tuple[sp.Float, sp.Expr]]:
    """(constant, exact value) pairs to try, for all constants together: every constant as 0,
    then as +-1 (a scale the other constants can take over), then the candidates, simplest first.
    For a noisy target the candidates are only simple fractions of 1 and pi (and named constants),
    searched within each constant's window (``windows``: relative, from its standard error).
    ``scale="free"``: only 0 (a term or factor that is not needed); ``scale="offset"``: the top-level
    additive constant is not tried at all."""
    floats = _floats(expr)
    if scale == "offset":
        floats = [f for f in floats if f != _offset(expr)]
    if scale == "free":
        return [(f, sp.Integer(0)) for f in floats]
    zeros = [(f, sp.Integer(0)) for f in floats]
    units = [(f, sp.Integer(1 if f > 0 else -1)) for f in floats]
    bounds: dict[str, Any] = (
        {"bases": (sp.Integer(1), sp.pi), "max_numerator": NOISY_MAX_NUMERATOR, "max_denominator": NOISY_MAX_DENOMINATOR}
        if noisy
        else {}
    )
    windows = windows or {}
    rest = [
        (f, e)
        for f in floats
        for e in candidates(float(f), named=named, rtol=windows.get(f, 1e-3), **bounds)[:MAX_TRIALS]
        if abs(e) != 1
    ]
    return zeros + units + sorted(rest, key=lambda t: _cost(t[1]))


def _residual_function(expr, floats, symbols, X, y, *, circular: bool, fixed=None):
    """``expr`` with its ``floats`` as parameters: the parameter symbols, the template and the residual
    ``pred(k) - y`` (wrapped for angles; undefined or complex predictions count as large residuals)."""
    fixed = dict(fixed or {})
    params = sp.symbols(f"_k0:{len(floats)}")
    template = expr.xreplace(dict(zip(floats, params, strict=True)))
    func = sp.lambdify([*symbols, *fixed, *params], template, modules="numpy")
    cols = [X[:, i] for i in range(X.shape[1])] + list(fixed.values())

    def residual(k: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            pred = np.asarray(func(*cols, *k)) * np.ones(len(y))
        if np.iscomplexobj(pred):
            pred = np.where(np.abs(pred.imag) > 1e-9, np.nan, pred.real)
        r = np.angle(np.exp(1j * (pred - y))) if circular else pred - y
        return np.where(np.isfinite(r), r, 1e3)

    return params, template, residual


def refit_constants(
    expr: sp.Expr,
    symbols: Sequence[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    *,
    circular: bool,
    fixed: Mapping[sp.Symbol, float] | None = None,
) -> sp.Expr:
    """Least-squares refit of every Float in ``expr`` with its form fixed.

    ``fixed`` gives the values of symbols that are known constants, not data.
    """
    floats = _floats(expr)
    if not floats:
        return expr
    params, template, residual = _residual_function(expr, floats, symbols, X, y, circular=circular, fixed=fixed)

    x0 = np.array([float(f) for f in floats])
    try:
        with np.errstate(all="ignore"):
            fit = least_squares(residual, x0, method="lm" if len(y) >= len(x0) else "trf", max_nfev=100 * (len(x0) + 1))
    except (ValueError, FloatingPointError, ZeroDivisionError, TypeError):
        return expr
    with np.errstate(all="ignore"):  # an overflowing fit is refused, not warned of
        worse = not np.all(np.isfinite(fit.x)) or np.sum(residual(fit.x) ** 2) > np.sum(residual(x0) ** 2)
    if worse:
        return expr
    return template.xreplace({p: sp.Float(v, 15) for p, v in zip(params, fit.x, strict=True)})


def constant_windows(
    expr: sp.Expr,
    symbols: Sequence[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    *,
    circular: bool,
    fixed: Mapping[sp.Symbol, float] | None = None,
    rtol: float = 0.1,
) -> dict[sp.Float, float]:
    """Relative search window per constant of a noisy target: how far the constant can move, the
    others refitted, before the loss rises by the acceptance tolerance ``rtol``: ``sigma sqrt(rtol n)``
    with ``sigma`` its standard error (least-squares covariance ``s^2 (J^T J)^-1``), at least
    ``NOISY_SIGMAS`` standard errors, between 0.1 % and ``NOISY_MAX_WINDOW``.  Only candidates in the
    window are tried; whether one is accepted is the held-out test's decision."""
    floats = _floats(expr)
    if not floats or len(y) <= len(floats):
        return {}
    _, _, residual = _residual_function(expr, floats, symbols, X, y, circular=circular, fixed=fixed)
    x0 = np.array([float(f) for f in floats])

    r0 = residual(x0)
    J = np.empty((len(y), len(x0)))
    for j in range(len(x0)):
        h = 1e-6 * max(abs(x0[j]), 1e-3)
        step = x0.copy()
        step[j] += h
        J[:, j] = (residual(step) - r0) / h
    try:
        cov = np.linalg.pinv(J.T @ J) * float(r0 @ r0) / (len(y) - len(x0))
    except np.linalg.LinAlgError:
        return {}
    se = np.sqrt(np.abs(np.diag(cov))) * max(NOISY_SIGMAS, float(np.sqrt(rtol * len(y))))
    return {
        f: float(np.clip(s / abs(float(f)), 1e-3, NOISY_MAX_WINDOW)) for f, s in zip(floats, se, strict=True) if np.isfinite(s)
    }


def _nested_offsets(expr: sp.Expr) -> list[sp.Float]:
    """Fitted constants that are additive terms of a sum *inside* a function or power (the ``c`` of
    ``asin(a sin(x) + c)``), largest first; constants of the top-level sum are not among them."""
    found: set[sp.Float] = set()
    for node in sp.preorder_traversal(expr):
        if node is not expr and node.is_Add:
            found.update(t for t in node.args if isinstance(t, sp.Float))
    return sorted(found, key=lambda f: -abs(float(f)))


def _drop_terms_within_noise(expr: sp.Expr, refit, val_loss, noise_variance: float, late, max_loss: float = np.inf) -> sp.Expr:
    """Drop what a noisy target's expression holds within the target's own noise: additive terms of
    the top-level sum, and fitted constants added inside a function (``asin(a sin x + c)``), whose
    removal, the other constants refitted, raises the held-out loss by at most ``NOISE_SHARE`` of the
    noise variance.
    A contribution that small cannot be told from the noise or from the network's own small
    systematic error (of the same order as its posterior spread), so it is not part of the law.
    The limit is set once, from the expression as found: removals do not accumulate past it, nor past
    ``max_loss``."""
    current = expr
    limit = min(val_loss(current) + NOISE_SHARE * noise_variance, max_loss)
    changed = True
    while changed and not late():
        changed = False
        terms = [t for t in sorted(current.args, key=complexity, reverse=True) if t.free_symbols] if current.is_Add else []
        trials = [current - t for t in terms] + [current.xreplace({f: sp.Integer(0)}) for f in _nested_offsets(current)]
        for trial in trials:
            if not _defined(trial):
                continue
            trial = refit(trial)
            if _defined(trial) and val_loss(trial) <= limit:
                current, changed = trial, True
                break
    return current


def recognise_constants(
    expr: sp.Expr,
    symbols: Sequence[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    *,
    circular: bool,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    noise_variance: float = 0.0,
    rtol: float = 0.1,
    named: Mapping[str, float] | None = None,
    budget: RefitBudget | None = None,
    scale: str = "physical",
    max_loss: float = np.inf,
) -> sp.Expr:
    """Replace fitted constants by exact values where held-out data allow it; refit the rest.

    Constants are refitted on ``(X, y)`` and replacements judged on
    ``(X_val, y_val)`` (the same rows when those are not given).  ``named``
    holds the problem's own constants (name -> value) that a constant may be a
    rational multiple of.  ``budget``, where given, ends the search for exact
    values when its refits are spent.  ``max_loss`` bounds the held-out loss of
    every simplification (an exact value, a term dropped within the noise), over
    the tolerances below.  Returns the expression with the remaining fitted
    constants rounded to 6 significant digits.
    """

    if scale not in SCALES:
        raise ValueError(f"`scale` must be one of {', '.join(SCALES)}. Received: {scale!r}.")

    def late() -> bool:
        return budget is not None and budget.spent

    if X_val is None or y_val is None:
        X_val, y_val = X, y
    fixed = {sp.Symbol(n, positive=True): float(v) for n, v in (named or {}).items()}
    val_symbols = [*symbols, *fixed]
    val_cols = np.column_stack([X_val, *(np.full(len(X_val), v) for v in fixed.values())])

    def val_loss(e: sp.Expr) -> float:
        if not _defined(e):
            return np.inf
        return loss(evaluate(e, val_symbols, val_cols), y_val, circular=circular)

    def refit(e: sp.Expr) -> sp.Expr:
        if budget is not None:
            budget.refits -= 1
        return refit_constants(e, symbols, X, y, circular=circular, fixed=fixed)

    current = reduce_phases(refit(expr))
    fitted = val_loss(current)  # whether the form fits to the noise is judged before anything is dropped
    if noise_variance > 0:
        current = _drop_terms_within_noise(current, refit, val_loss, noise_variance, late, max_loss)
    start = val_loss(current)
    spread = float(np.var(y_val))
    if not np.isfinite(start) or fitted > max(FITS * spread, (1 + rtol) * noise_variance) or late():
        return round_floats(current, 6)  # an approximate form: nothing exact to find
    merged = _simplified(current)
    if _defined(merged) and len(_floats(merged)) < len(_floats(current)):
        merged = refit(merged)
        if val_loss(merged) <= start * (1 + rtol) + 1e-12 * spread:
            current, start = merged, val_loss(merged)
    allowed = max(rtol * start, NOISE_SHARE * noise_variance, 1e-12 * spread)
    tolerance = max(min(start + allowed, max_loss), start)
    noisy = noise_variance > 0
    while True:
        share = allowed / max(val_loss(current), 1e-300)
        windows = constant_windows(current, symbols, X, y, circular=circular, fixed=fixed, rtol=share) if noisy else None
        for f, exact in _trials(current, named, noisy=noisy, windows=windows, scale=scale):
            if late():
                break
            trial = current.xreplace({f: exact})
            if not _defined(trial):
                continue
            trial = refit(trial)
            if val_loss(trial) <= tolerance:
                current = trial
                break
        else:
            break
        if late():
            break
    simpler = _simplified(current)
    if _defined(simpler) and val_loss(simpler) <= tolerance:
        current = simpler
    return round_floats(current, 6)


def reduce_phases(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each number added inside a sine or cosine taken into ``[-pi, pi]`` by whole turns
    (``cos(x + 20.4216)`` is ``cos(x + 1.5720)``: 20.4216 less 6 pi): the same function, written with the phase the
    exact values tried for a noisy target (``p pi/q``, ``|p| <= 12``) can reach."""

    def reduced(f: sp.Expr) -> sp.Expr:
        arg = f.args[0]
        phases = [t for t in sp.Add.make_args(arg) if isinstance(t, sp.Float)] if arg.is_Add else []
        if len(phases) != 1 or abs(float(phases[0])) <= math.pi:
            return f
        phase = float(phases[0])
        return f.func(arg - phases[0] + sp.Float(phase - 2 * math.pi * round(phase / (2 * math.pi))))

    return expr.replace(lambda e: isinstance(e, sp.sin | sp.cos), reduced)


def integer_frequencies(expr: sp.Expr, angles, rtol: float) -> sp.Expr:
    """``expr`` with each number that multiplies an angle read as the nearest nonzero integer where it lies within
    ``rtol`` of it (``sin(0.9856 nu)`` -> ``sin(nu)``).  An equation between angles is 2 pi-periodic in each, so
    these numbers are integers that physics fixes; a regression over angles cut at +-pi leaves them a little off."""
    swap = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Mul) and len(node.args) == 2:
            number, other = node.args
            if number.is_Float and other in angles:
                n = round(float(number))
                if n and abs(float(number) - n) <= rtol * abs(n):
                    swap[node] = n * other
    return expr.xreplace(swap)

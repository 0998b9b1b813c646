"""Uncertainties of fitted constants, and numbers printed to the digits their uncertainty supports.

A selected equation's numeric constants were fitted by symbolic regression to a
neuron (or to the network's answers).  :func:`equation_constants` refits them
by least squares to the same kind of data the verify stage holds out (the
neuron on held-out rows, the answers on the probe) and gives each a standard
error from the covariance of that fit (:func:`systems.laws.geometry.standard_errors`,
scaled by the residual variance).  A bootstrap would cost one refit per
resample and, with independent residuals, estimate the same quantity; neither
includes what differs between trainings, which the seeds' spread measures.

That difference is the network's own systematic error: a trained neuron is the
law plus a smooth distortion of the network's making, different on every seed,
and least squares reads the part of it that resembles the law as a change of
the constant.  Residuals that are smooth in the inputs are not independent, and
the statistical error is then 10 to 50 times too small (Copernicus: rho 15 to 49
standard errors from the truth).  :func:`systematic_errors` estimates that part
by a *grouped jackknife over regions of the inputs*: the rows are cut into
:data:`REGIONS` regions by k-means on the law's inputs (angles as cosine and
sine, every input standardised), the constants refitted with each region left
out, and the jackknife variance ``(K - 1)/K sum (c_k - mean c)^2`` is the
variance of a constant whose errors are correlated within a region; less the
statistical variance, it is the systematic variance.  A constant is then quoted
``value ± stat ± sys``, and its deviation from a true value counts in the
total ``sqrt(stat^2 + sys^2)``.  A distortion that all seeds share (a bias of
the method) shows in no single run; a seed ensemble (``scinet run --seeds``)
tests the mean against the truth.

:func:`rounded` writes a value to the decimal place of its standard error's
leading digit (two digits where that digit is 1 or 2, as the Particle Data
Group does): ``1.52714 +- 0.00432`` is ``1.527 +- 0.004``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import sympy as sp

from systems.laws.geometry import fit_constants, values

FALLBACK_DIGITS = 4
"""significant digits of a number without a usable standard error"""
REGIONS = 10
"""regions of the inputs left out one at a time by :func:`systematic_errors`"""
NOISE_DRAWS = 4
"""noise draws averaged by :func:`input_noise_bias`"""
JACKNIFE_ROWS = 5000
"""rows (a seeded sample) on which :func:`systematic_errors` refits; its statistical part is scaled to them"""


def regions(frame: pd.DataFrame, names: list[str], angles: list[str], *, k: int = REGIONS, seed: int = 0) -> np.ndarray:
    """A region label per row: k-means (``k`` clusters) on the columns ``names``, each angle as its cosine and sine,
    every column standardised."""
    from scipy.cluster.vq import kmeans2

    cols = []
    for n in names:
        x = frame[n].to_numpy(dtype=float)
        cols += [np.cos(x), np.sin(x)] if n in angles else [x]
    X = np.column_stack(cols) if cols else np.zeros((len(frame), 1))
    spread = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    _, labels = kmeans2(X, min(k, len(frame)), seed=seed, minit="++")
    return labels


def systematic_errors(
    expr: sp.Expr,
    names: list[str],
    frame: pd.DataFrame,
    target: np.ndarray,
    free: list[sp.Symbol],
    initial: dict,
    statistical: dict[str, float],
    *,
    kind: str,
    affine: bool = True,
    region_names: list[str] | None = None,
    angles: list[str] = (),
    seed: int = 0,
    sign: int | None = None,
) -> dict[str, float]:
    """The systematic error of each constant fitted by :func:`systems.laws.geometry.fit_constants` (the same
    arguments), by the grouped jackknife over :func:`regions` of ``region_names`` (default ``names``) of the
    module's text; NaN where a refit fails or too few regions are left.  ``sign``: a circular neuron's
    orientation found by the fit on every row, kept by each refit (None: each tries both)."""
    if not free or len(frame) < 4 * REGIONS:
        return {k.name: float("nan") for k in free}
    target = np.asarray(target, dtype=float)
    n = len(frame)
    if n > JACKNIFE_ROWS:  # the regions' differences are the point, not the last digit of each refit
        rows = np.sort(np.random.default_rng(seed).choice(n, JACKNIFE_ROWS, replace=False))
        frame, target = frame.iloc[rows], target[rows]
    inflate = n / len(frame)  # the statistical variance on the rows used
    labels = regions(frame, list(region_names or names), list(angles), seed=seed)
    fits = []
    for g in np.unique(labels):
        keep = labels != g
        fitted, _, _ = fit_constants(expr, names, frame[keep], target[keep], free, initial, kind=kind, affine=affine, sign=sign)
        fits.append([fitted[k.name] for k in free])
    values = np.array(fits, dtype=float)
    k = len(values)
    if k < 3 or not np.isfinite(values).all():
        return {c.name: float("nan") for c in free}
    jack = jackknife_variance(values)
    out = {}
    for c, v in zip(free, jack, strict=True):
        stat = statistical.get(c.name, 0.0)
        stat = stat if np.isfinite(stat) else 0.0
        out[c.name] = float(np.sqrt(max(float(v) - inflate * stat**2, 0.0)))
    return out


def input_noise_bias(
    expr: sp.Expr,
    names: list[str],
    frame: pd.DataFrame,
    free: list[sp.Symbol],
    fitted: dict,
    widths: dict[str, float],
    *,
    kind: str,
    draws: int = NOISE_DRAWS,
    seed: int = 0,
) -> dict[str, float]:
    """How far least squares moves each constant of ``expr`` when its inputs ``names`` carry Gaussian noise of
    RMS ``widths`` (per input; a missing or zero width: none): the model with the constants ``fitted`` (by
    name) is evaluated on ``frame`` without noise and refitted on the inputs with noise, ``draws`` times, and
    the mean shift is returned (NaN where a refit fails).  Each draw is used with both signs, so that the shift
    linear in the noise, as large as the statistical error, cancels and the bias, quadratic in it, remains.

    This is the errors-in-variables bias of a decoder that learned the model from noisy inputs (the module's
    text of :mod:`systems.laws.observation_model`): a least-squares fit of a nonlinear model on inputs with
    errors does not return the constants the model was made with.  For ``y = a x`` the shift is the
    attenuation ``-a s^2 / (var x + s^2)``."""
    sigma = {n: float(widths.get(n, 0.0) or 0.0) for n in names}
    if not free or not any(s > 0 for s in sigma.values()):
        return {k.name: 0.0 for k in free}
    at = {k: float(fitted[k.name]) for k in free}
    clean = values(expr.xreplace(at), names, frame)
    usable = np.isfinite(clean)
    rng = np.random.default_rng(seed)
    shifts = []
    for _ in range(draws):
        noise = {n: sigma[n] * rng.standard_normal(int(usable.sum())) for n in names}
        for sign in (1, -1):  # antithetic pairs: the shift linear in the noise cancels, the bias (its square) stays
            noisy = pd.DataFrame({n: frame[n].to_numpy(dtype=float)[usable] + sign * noise[n] for n in names})
            refit, _, _ = fit_constants(expr, names, noisy, clean[usable], free, at, kind=kind, affine=False)
            shifts.append([refit[k.name] - at[k] for k in free])
    moved = np.array(shifts, dtype=float)
    if not np.isfinite(moved).all():
        return {k.name: float("nan") for k in free}
    return {k.name: float(v) for k, v in zip(free, moved.mean(axis=0), strict=True)}


def jackknife_variance(values: np.ndarray) -> np.ndarray:
    """The grouped jackknife variance ``(K - 1)/K sum (c_k - mean c)^2`` of leave-one-group-out estimates
    ``values`` (one row per group left out; per column)."""
    values = np.asarray(values, dtype=float)
    k = len(values)
    return (k - 1) / k * np.sum((values - values.mean(axis=0)) ** 2, axis=0)


def total_error(statistical: float | None, systematic: float | None) -> float | None:
    """``sqrt(stat^2 + sys^2)`` of the finite parts; None where neither is usable."""
    parts = [e for e in (statistical, systematic) if e is not None and np.isfinite(e) and e >= 0]
    return float(np.sqrt(sum(e * e for e in parts))) if parts else None


def numeric_constants(expr: sp.Expr) -> list[sp.Float]:
    """The fitted numbers of an expression (floats; integers and rationals are exact), in a fixed order."""
    return sorted({a for a in expr.atoms(sp.Float)}, key=lambda f: (float(f), str(f)))


def equation_constants(
    expr: sp.Expr, names: list[str], frame: pd.DataFrame, target: np.ndarray, *, circle: bool = False
) -> dict[str, list[float]]:
    """The numeric constants of ``expr`` refitted to ``target`` on ``frame``, with their standard errors:
    ``{"constants": [...], "refitted": [...], "standard_errors": [...], "rows": n}`` (in the order of
    :func:`numeric_constants`)."""
    floats = numeric_constants(expr)
    if not floats:
        return {"constants": [], "refitted": [], "standard_errors": [], "rows": len(frame)}
    slots = [sp.Symbol(f"_c{i}", real=True) for i in range(len(floats))]
    with_slots = expr.xreplace(dict(zip(floats, slots, strict=True)))
    fitted, _, se = fit_constants(
        with_slots,
        names,
        frame,
        np.asarray(target, dtype=float),
        slots,
        {s: float(f) for s, f in zip(slots, floats, strict=True)},
        kind="circle" if circle else "real",
        affine=False,
    )
    return {
        "constants": [float(f) for f in floats],
        "refitted": [fitted[s.name] for s in slots],
        "standard_errors": [se[s.name] for s in slots],
        "rows": len(frame),
    }


def decimals(error: float | None) -> int | None:
    """Decimal places that ``error`` supports (negative: tens, hundreds), or None without a usable error."""
    if error is None or not np.isfinite(error) or error <= 0:
        return None
    exponent = math.floor(math.log10(error))
    leading = int(error / 10**exponent)
    return -exponent + (1 if leading <= 2 else 0)


def rounded(value: float, error: float | None = None) -> str:
    """``value`` to the digits ``error`` supports; without one, :data:`FALLBACK_DIGITS` significant digits."""
    places = decimals(error)
    if places is None:
        return f"{value:.{FALLBACK_DIGITS}g}"
    return f"{round(value, places):.{max(places, 0)}f}"


def with_error(value: float, error: float | None, systematic: float | None = None) -> str:
    """``1.527 +- 0.004`` (plain text); with a ``systematic`` error, ``1.527 +- 0.0001 (stat) +- 0.004 (sys)``,
    to the digits of the total; the value alone where there is no usable error."""
    total = total_error(error, systematic)
    places = decimals(total)
    if places is None:
        return rounded(value)
    if systematic is None or not np.isfinite(systematic):
        return f"{rounded(value, total)} ± {round(error, places):.{max(places, 0)}f}"
    stat = _part(error, places) if error is not None and np.isfinite(error) else "?"
    return f"{rounded(value, total)} ± {stat} (stat) ± {_part(systematic, places)} (sys)"


def _part(error: float, places: int) -> str:
    """One part of a total error written to the total's ``places``, or to its own leading digit where it is smaller
    (``0.00004`` beside a total of ``0.0005``, not ``0.0000``); a part that is zero is ``0``."""
    if error <= 0:
        return "0"
    own = max(places, decimals(error) or places)
    return f"{round(error, own):.{max(own, 0)}f}"


def latex_with_error(value: float, error: float | None, systematic: float | None = None) -> str:
    r"""``1.527 \pm 0.004`` for LaTeX math mode (with a systematic error: ``\pm 0.0001_\text{stat} \pm 0.004_\text{sys}``)."""
    text = with_error(value, error, systematic).replace("±", r"\pm")
    return text.replace(" (stat)", r"_\text{stat}").replace(" (sys)", r"_\text{sys}")


def round_expression(expr: sp.Expr, errors: dict[float, float] | None = None) -> sp.Expr:
    """``expr`` with every float rounded to the digits its standard error supports (``errors``: value ->
    error, matched by value), or to :data:`FALLBACK_DIGITS` significant digits."""
    errors = errors or {}
    out = {}
    for f in numeric_constants(expr):
        out[f] = sp.Float(rounded(float(f), errors.get(float(f))))
    return expr.xreplace(out)

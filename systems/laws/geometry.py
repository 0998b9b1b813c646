"""Geometry that depends on the latent kind: how a neuron is compared with a quantity.

A circular neuron holds an angle ``phi`` when ``z = s phi + c (mod 2 pi)``: the
score is the circular correlation ``max_s |mean exp(i (z - s phi))|`` (1 for a
perfect match, about 0 for none).  A real neuron holds a quantity ``q`` when
``z = a q + c``: the score is the coefficient of determination R^2 of that
affine fit.  Law checks ask this module and never branch on the kind themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

from symreg.base import evaluate
from symreg.search import circular_correlation

MIN_ROWS = 20
"""fewer rows than this give no verdict ('not checked')"""


def wrap(angle):
    return np.angle(np.exp(1j * np.asarray(angle, dtype=float)))


@dataclass(frozen=True)
class Match:
    """``z ~ scale * q + offset``; for a circle ``scale`` is the sign +-1."""

    score: float
    scale: float
    offset: float

    @property
    def sign(self) -> int:
        return 1 if self.scale >= 0 else -1


def affine_fit(z: np.ndarray, q: np.ndarray) -> Match:
    """Least squares ``z = a q + c`` with its R^2 (0 when q or z is constant)."""
    z, q = np.asarray(z, dtype=float), np.asarray(q, dtype=float)
    if len(z) < 2 or np.var(q) == 0 or np.var(z) == 0 or not (np.isfinite(z).all() and np.isfinite(q).all()):
        return Match(0.0, 0.0, float(np.mean(z)) if len(z) else 0.0)
    a, c = np.polyfit(q, z, 1)
    r = z - (a * q + c)
    return Match(float(1 - np.var(r) / np.var(z)), float(a), float(c))


def match(z: np.ndarray, q: np.ndarray, kind: str) -> Match:
    """How well neuron values ``z`` hold quantity ``q`` (see the module docstring)."""
    if kind == "circle":
        if not np.isfinite(q).all():
            return Match(0.0, 1.0, 0.0)
        corr, sign, offset = circular_correlation(np.asarray(z, dtype=float), np.asarray(q, dtype=float))
        return Match(corr, float(sign), offset)
    return affine_fit(z, q)


def residual(pred: np.ndarray, target: np.ndarray, kind: str) -> np.ndarray:
    if kind == "circle":
        return np.concatenate([np.cos(pred) - np.cos(target), np.sin(pred) - np.sin(target)])
    return pred - target


def symbols(names: Sequence[str]) -> list[sp.Symbol]:
    return [sp.Symbol(n, real=True) for n in names]


def values(expr: sp.Expr, names: Sequence[str], frame) -> np.ndarray:
    return evaluate(expr, symbols(names), frame[list(names)].to_numpy(dtype=float))


def fit_constants(
    expr: sp.Expr,
    names: Sequence[str],
    frame,
    target: np.ndarray,
    free: Sequence[sp.Symbol],
    initial: Mapping[sp.Symbol, float],
    *,
    kind: str,
    affine: bool = True,
    sign: int | None = None,
) -> tuple[dict[str, float], Match, dict[str, float]]:
    """Fit the free constants of ``expr`` (and, if ``affine``, a scale and offset) so that
    ``scale * expr + offset`` matches ``target`` (on the circle for ``kind="circle"``, where
    the scale is a sign: both are tried, or only ``sign`` where the caller knows it, as a refit
    of the same law on part of the rows does: the other sign runs the optimiser to its limit for
    nothing).  Returns the constants, the match of the fitted expression, and the constants'
    standard errors (:func:`standard_errors`)."""
    func = sp.lambdify([*symbols(names), *free], expr, modules="numpy")
    cols = [frame[n].to_numpy(dtype=float) for n in names]
    target = np.asarray(target, dtype=float)

    def pred_of(p):
        with np.errstate(all="ignore"):
            return np.asarray(func(*cols, *p), dtype=float) * np.ones(len(target))

    jac = _jacobian(expr, tuple(names), tuple(free), cols, pred_of, kind) if not affine and len(free) else "2-point"

    best: tuple[float, np.ndarray] | None = None
    signs = ((1, -1) if sign is None else (sign,)) if kind == "circle" and affine else (1,)
    for trial in signs:
        x0 = np.array([initial.get(k, 1.0) for k in free], dtype=float)

        def res(p, sign=trial):
            pred = sign * pred_of(p)
            if affine and kind == "circle":
                pred = pred + float(np.angle(np.nanmean(np.exp(1j * (target - pred)))))
            elif affine:
                m = affine_fit(target, pred)
                pred = m.scale * pred + m.offset
            r = residual(pred, target, kind)
            return np.where(np.isfinite(r), r, 2.0 * (np.nanstd(target) + 1.0))

        fit = least_squares(res, x0, jac=jac, method="trf") if len(free) else None
        p = fit.x if fit is not None else x0
        cost = float(np.sum(res(p) ** 2))
        if best is None or cost < best[0]:
            best = (cost, p * 1.0, trial, None if fit is None else fit.jac)  # type: ignore[assignment]
    assert best is not None  # noqa: S101 (at least one sign is tried)
    cost, p, sign, jac = best  # type: ignore[misc]
    profiled = (1 if kind == "circle" else 2) if affine else 0  # the offset (and scale) solved inside the residual
    errors = standard_errors(jac, cost, len(target), profiled)
    se = {k.name: float(v) for k, v in zip(free, errors, strict=True)}
    pred = sign * pred_of(p)
    if not np.isfinite(pred).all():
        return {k.name: float(v) for k, v in zip(free, p, strict=True)}, Match(0.0, 1.0, 0.0), se
    if not affine:
        m = (
            Match(_r2(target, pred), 1.0, 0.0)
            if kind != "circle"
            else Match(float(abs(np.mean(np.exp(1j * (target - pred))))), 1.0, 0.0)
        )
    else:
        inner = match(target, pred, kind)
        m = Match(inner.score, sign * inner.scale, inner.offset) if kind == "circle" else inner
    return {k.name: float(v) for k, v in zip(free, p, strict=True)}, m, se


@functools.lru_cache(maxsize=64)
def _gradient(expr: sp.Expr, names: tuple[str, ...], free: tuple[sp.Symbol, ...]):
    """SymPy's derivatives of ``expr`` in the free constants, as one NumPy function (common subexpressions shared),
    or None where NumPy cannot evaluate them; kept, since a law refits one model many times (starts, jackknife)."""
    try:
        return sp.lambdify([*symbols(names), *free], [sp.diff(expr, k) for k in free], modules="numpy", cse=True)
    except (TypeError, NameError, SyntaxError):
        return None


def _jacobian(expr, names, free, cols: list, pred_of, kind: str):
    """The Jacobian of :func:`residual` for a model with no profiled scale or offset, or ``"2-point"`` (finite
    differences).  Measured on the elliptic orbits' verify: 7.4 to 8.4 s against 9.3 to 10.4 s with differences,
    every constant and error within 3e-8 (relative).  A row whose residual cannot be evaluated (a constant in the fit) is zero."""
    grad = _gradient(expr, names, free)
    if grad is None:
        return "2-point"

    def jac(p):
        pred = pred_of(p)
        with np.errstate(all="ignore"):
            g = np.column_stack([np.asarray(d, dtype=float) * np.ones(len(pred)) for d in grad(*cols, *p)])
            if kind == "circle":  # the residual is (cos pred - cos target, sin pred - sin target)
                g = np.vstack([-np.sin(pred)[:, None] * g, np.cos(pred)[:, None] * g])
                pred = np.concatenate([pred, pred])
        ok = np.isfinite(g).all(axis=1) & np.isfinite(pred)
        return np.where(ok[:, None], g, 0.0)

    return jac


def standard_errors(jac, cost: float, n: int, profiled: int = 0) -> np.ndarray:
    """Standard errors of least-squares constants: the square roots of the diagonal of
    ``s^2 (J^T J)^-1``, with ``J`` the Jacobian of the residuals at the solution and
    ``s^2 = cost / (n - p - profiled)`` the residual variance per sample (``cost`` the sum of squared
    residuals, ``n`` samples, ``p`` constants, ``profiled`` more solved inside the residual, as a
    scale and offset).  Independent residuals are assumed.  NaN for a constant the data do not
    determine (a singular ``J^T J``) or when no degrees of freedom are left."""
    if jac is None:
        return np.zeros(0)
    jac = np.asarray(jac.toarray() if hasattr(jac, "toarray") else jac, dtype=float)
    p = jac.shape[1]
    dof = n - p - profiled
    if dof <= 0 or not np.isfinite(jac).all():
        return np.full(p, np.nan)
    jtj = jac.T @ jac
    if np.linalg.matrix_rank(jtj) < p:
        return np.full(p, np.nan)
    cov = np.linalg.inv(jtj) * (cost / dof)
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def _r2(target: np.ndarray, pred: np.ndarray) -> float:
    var = np.var(target)
    return float(1 - np.mean((target - pred) ** 2) / var) if var > 0 else 0.0


def span_r2(latents: np.ndarray, quantity: np.ndarray, *, degree: int = 3, seed: int = 0) -> float:
    """R^2 of ``quantity`` regressed on the columns of ``latents`` by a polynomial of ``degree``
    (least squares on a random half of the rows, R^2 on the other half)."""
    from itertools import combinations_with_replacement

    latents = np.asarray(latents, dtype=float)
    n, k = latents.shape
    if n < MIN_ROWS or k == 0:
        return 0.0
    scaled = (latents - latents.mean(0)) / np.where(latents.std(0) > 0, latents.std(0), 1.0)
    features = [np.ones(n)]
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(range(k), d):
            features.append(np.prod(scaled[:, list(combo)], axis=1))
    A = np.stack(features, axis=1)
    order = np.random.default_rng(seed).permutation(n)
    fit, test = order[: n // 2], order[n // 2 :]
    coef, *_ = np.linalg.lstsq(A[fit], quantity[fit], rcond=None)
    return _r2(quantity[test], A[test] @ coef)

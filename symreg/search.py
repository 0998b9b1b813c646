"""One target, one variable set: engine search, target transforms, angles on the circle.

For a target that is an angle, a 2 pi jump is no error.  A real-valued engine
cannot see that, so the angle is first written relative to an *anchor*: the
input angle ``a`` and sign ``s`` with the largest circular correlation
``|mean exp(i (z - s a))|``, with the mean offset ``c``.  What is left,
``r = wrap(z - s a - c)``, is a continuous function of the inputs, and the engine
fits it.  Besides ``r`` itself the engine also fits ``sin r`` (a transformed
target, as AI Feynman transforms ``y``): an angle given by an inverse sine,
such as a law-of-sines angle, becomes a plain sum of sines.  Both fronts are
turned into expressions for ``z`` (``s a + c + f`` and ``s a + c + asin(g)``),
scored on held-out rows by the circular loss and merged into one front.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sympy as sp

from symreg.base import describe, evaluate, loss, pareto_front, round_floats, wrap
from symreg.polish import recognise_constants


@dataclass(frozen=True)
class Anchor:
    variable: str
    sign: int
    offset: float
    correlation: float


def circular_correlation(z: np.ndarray, phi: np.ndarray) -> tuple[float, int, float]:
    """``max_s |mean exp(i (z - s phi))|`` with the best sign ``s`` and the mean offset ``arg mean exp(i(z - s phi))``."""
    best = (-1.0, 1, 0.0)
    for s in (1, -1):
        m = np.mean(np.exp(1j * (z - s * phi)))
        if abs(m) > best[0]:
            best = (float(abs(m)), s, float(np.angle(m)))
    return best


def find_anchor(X: np.ndarray, y: np.ndarray, names: Sequence[str], angle_names: Sequence[str]) -> Anchor | None:
    best: Anchor | None = None
    for j, name in enumerate(names):
        if name not in angle_names:
            continue
        corr, sign, offset = circular_correlation(y, X[:, j])
        if best is None or corr > best.correlation:
            best = Anchor(name, sign, offset, corr)
    return best


def search(
    make_engine: Callable[[], object],
    X: np.ndarray,
    y: np.ndarray,
    *,
    variable_names: Sequence[str],
    angle_names: Sequence[str] = (),
    circular: bool = False,
    validation_fraction: float = 0.3,
    noise_variance: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Pareto front (see :mod:`symreg.base`) for ``y`` as a function of the columns of ``X``."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_val = max(1, int(validation_fraction * len(y)))
    val, fit = order[:n_val], order[n_val:]
    symbols = [sp.Symbol(n, real=True) for n in variable_names]
    base: sp.Expr = sp.Integer(0)
    target = y
    transforms: list[tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[sp.Expr], sp.Expr]]] = [
        ("identity", lambda r: r, lambda g: g)
    ]
    anchor = find_anchor(X, y, variable_names, angle_names) if circular else None
    if circular:
        if anchor is not None:
            base = anchor.sign * sp.Symbol(anchor.variable, real=True) + sp.Float(anchor.offset, 15)
            target = wrap(y - anchor.sign * X[:, list(variable_names).index(anchor.variable)] - anchor.offset)
        else:
            mean = float(np.angle(np.mean(np.exp(1j * y))))
            base = sp.Float(mean, 15)
            target = wrap(y - mean)
        transforms.append(("sine", np.sin, sp.asin))

    rows = []
    if circular:  # the anchor alone (s a + c, or the mean angle) is the simplest candidate
        rows.append(
            {
                **describe(base, str(base)),
                "loss": loss(evaluate(base, symbols, X[val]), y[val], circular=True),
                "transform": "anchor",
                "expr": base,
            }
        )
    for name, forward, inverse in transforms:
        engine = make_engine()
        engine.fit(X[fit], forward(target[fit]), variable_names=variable_names)
        for raw, g in engine.equations_:
            expr = base + inverse(g)
            pred = evaluate(expr, symbols, X[val])
            rows.append({**describe(expr, raw), "loss": loss(pred, y[val], circular=circular), "transform": name, "expr": expr})
    raw_front = pareto_front(pd.DataFrame(rows).drop_duplicates("sympy_format"), noise_variance=noise_variance)
    polished = []
    for _, row in raw_front.iterrows():
        expr = sp.simplify(
            recognise_constants(row["expr"], symbols, X[fit], y[fit], circular=circular, noise_variance=noise_variance)
        )
        expr = round_floats(expr, 6)
        pred = evaluate(expr, symbols, X[val])
        polished.append(
            {**describe(expr, row["equation"]), "loss": loss(pred, y[val], circular=circular), "transform": row["transform"]}
        )
    front = pareto_front(pd.DataFrame(polished).drop_duplicates("sympy_format"), noise_variance=noise_variance)
    if anchor is not None:
        front["anchor"] = f"{'+' if anchor.sign > 0 else '-'}{anchor.variable}"
    return front

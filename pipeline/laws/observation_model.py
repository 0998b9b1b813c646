"""``observation_model``: an observation follows, by a known model, from the quantities the neurons hold.

Where earlier laws found which neuron holds which quantity (``z = s q + c``,
:class:`pipeline.laws.base.Holder`), this law puts the neurons themselves, as
``q = s z + d_q`` with a free offset ``d_q`` per quantity, into a model of one
observed column and fits the model's constants to the observations on the
held-out rows.  So the constants come from what the network learned (its
neurons) and from the sky, not from the ground truth: for Kepler's orbits, the
two neurons holding the mean anomalies and the observed direction of Mars give
the ratio of the semi-major axes that Kepler's third law relates to the ratio
of the learned steps.

The law holds when the fitted model reproduces the observation with a score of
at least ``verify.circular_correlation`` (a circle: ``|mean exp(i (obs - model))|``)
or ``verify.r2`` (a real column: R^2), and every constant with a true value lies
within its tolerance (``tolerances``, else ``verify.constant_rtol``).
``definitions`` name parts of the model (a radius, a true longitude) so that it
prints as a physicist writes it; they are substituted, last first, before the fit.
Angles in a model have many local minima: ``starts`` gives each such constant a
few starting values, and every combination is tried.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sympy as sp

from pipeline.catalog import Verdict
from pipeline.geometry import fit_constants, wrap
from pipeline.laws.base import Evidence, Law, too_few
from pipeline.uncertainty import systematic_errors

SEARCH_ROWS = 2000
"""rows on which the starting values are compared; the best is then refitted on every row"""


@dataclass(frozen=True)
class ObservationModel(Law):
    kind = "observation_model"
    order = 2  # after the laws that assign neurons (0)
    observation: str = ""
    expression: sp.Expr = sp.Integer(0)
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    """``(symbol, expression)`` pairs; an expression may use the symbols defined before it"""
    quantities: tuple[str, ...] = ()
    """the quantities (held by neurons) the model takes"""
    constants: Mapping[sp.Symbol, float | None] = field(default_factory=dict)
    """the model's constants, with their true values (None: fitted and reported, not judged)"""
    initial: Mapping[sp.Symbol, float] = field(default_factory=dict)
    starts: Mapping[sp.Symbol, Sequence[float]] = field(default_factory=dict)
    tolerances: Mapping[sp.Symbol, float] = field(default_factory=dict)
    angles: tuple[sp.Symbol, ...] = ()
    """constants that are angles, reported in (-pi, pi]"""

    def printed(self, system) -> tuple[sp.Expr, sp.Expr]:
        return sp.Symbol(self.observation, real=True), self.expression

    def full_expression(self) -> sp.Expr:
        """The model in the quantities and constants alone (the definitions substituted)."""
        expr = self.expression
        for symbol, value in reversed(self.definitions):
            expr = expr.xreplace({symbol: value})
        return expr

    def check(self, evidence: Evidence) -> Verdict:
        true = {k.name: v for k, v in self.constants.items()}
        reason = too_few(evidence.latents, "held-out rows")
        if reason:
            return self.not_checked(reason, true_constants=true)
        holders = {}
        for q in self.quantities:
            holders[q] = evidence.holders.get(q)
            if holders[q] is None:
                return self.not_checked(
                    f"no neuron was found to hold {q} (the check that assigns it did not pass)", true_constants=true
                )
        circle = next((c.angle for c in evidence.system.answers if c.name == self.observation), False)
        # the neurons as the quantities, up to an offset each that the fit finds: q = s z + d_q
        smoothed = evidence.steps is not None and {"series", "step"} <= set(evidence.latents.columns)
        frame = pd.DataFrame({q: h.match.sign * _neuron(evidence, h.latent, smoothed) for q, h in holders.items()})
        offsets = {q: sp.Symbol(f"d_{q}", real=True) for q in self.quantities}
        model = self.full_expression().xreplace(
            {sp.Symbol(q, real=True): sp.Symbol(q, real=True) + d for q, d in offsets.items()}
        )
        free = [*self.constants, *offsets.values()]
        # the fit starts from the law's own guesses, never from the true constants it is judged against
        initial = {**self.initial, **{d: -holders[q].match.sign * holders[q].match.offset for q, d in offsets.items()}}
        target = evidence.latents[self.observation].to_numpy(dtype=float)
        names = list(self.quantities)
        kind = "circle" if circle else "real"
        best = None
        grid = [dict(zip(self.starts, combo, strict=True)) for combo in itertools.product(*self.starts.values())] or [{}]
        every = max(1, len(target) // SEARCH_ROWS)  # the starts are compared on a sample of the rows
        for start in grid:
            fitted, m, _ = fit_constants(
                model, names, frame.iloc[::every], target[::every], free, {**initial, **start}, kind=kind, affine=False
            )
            # of equally good fits (an eccentricity's sign flipped with its perihelion turned by pi), the one whose
            # constants declared positive are positive
            rank = (round(m.score, 9), all(fitted[k.name] > 0 for k in free if k.is_positive))
            if best is None or rank > best[0]:
                best = (rank, fitted)
        start = {k: best[1][k.name] for k in free}  # type: ignore[index]
        fitted, m, se = fit_constants(model, names, frame, target, free, start, kind=kind, affine=False)
        n_series = evidence.latents["series"].nunique() if smoothed else len(target)
        # the rows of one series share its line: the errors count the series, not the rows, as independent
        se = {k: v * np.sqrt(len(target) / n_series) for k, v in se.items()}
        # the network's own distortion of its neurons, smooth in the quantities: regions of them left out in turn
        sys_errors = systematic_errors(
            model, names, frame, target, free, {k: fitted[k.name] for k in free}, se,
            kind=kind, affine=False, angles=[q for q in names if getattr(evidence.system.columns.get(q), "angle", False)],
        )  # fmt: skip
        constants = {k.name: float(wrap(fitted[k.name])) if k in self.angles else fitted[k.name] for k in self.constants}
        errors = {k.name: se[k.name] for k in self.constants}
        rel = {k.name: abs(fitted[k.name] - v) / abs(v) for k, v in self.constants.items() if v}
        tol = {k.name: self.tolerances.get(k, evidence.rtol) for k, v in self.constants.items() if v}
        threshold = evidence.threshold if circle else evidence.r2
        ok = m.score >= threshold and all(rel[k] <= tol[k] for k in rel)
        return self.verdict(
            ok,
            latent=[holders[q].latent for q in self.quantities],
            expression=f"{self.observation} = {self.expression}",
            latex=f"{sp.latex(sp.Symbol(self.observation))} = {sp.latex(self.expression)}",
            fitted_constants=constants,
            true_constants=true,
            relative_errors=rel,
            standard_errors=errors,
            systematic_errors={k.name: sys_errors[k.name] for k in self.constants},
            checks={
                "score": m.score,
                "score_threshold": threshold,
                "on_circle": bool(circle),
                "tolerances": tol,
                "neuron_offsets": {f"d_{q}": fitted[d.name] for q, d in offsets.items()},
                "starts_tried": len(grid),
                "rows": len(target),
                "standard_errors_from": f"the model least-squares fitted to {len(target)} held-out observations"
                + (f" in {n_series} series, each series counted as one independent sample" if smoothed else ""),
                "definitions": {str(k): str(v) for k, v in self.definitions},
            },
        )


def _neuron(evidence: Evidence, latent: str, smoothed: bool) -> np.ndarray:
    """A neuron's values on the held-out rows; for a latent that advances by a learned step, the network's own line
    through each series' readings, ``z_t = mean(z_s - omega s) + omega t`` (averaging out the encoder's reading
    noise, which would otherwise bias the fitted constants as errors in a regressor do)."""
    z = evidence.latents[latent].to_numpy(dtype=float)
    if not smoothed:
        return z
    omega = float(evidence.steps[evidence.latent_names.index(latent)])
    step = evidence.latents["step"].to_numpy(dtype=float)
    start = np.exp(1j * (z - omega * step))
    series = evidence.latents["series"].to_numpy()
    mean = pd.Series(start).groupby(series).transform("mean").to_numpy()
    return np.angle(mean) + omega * step

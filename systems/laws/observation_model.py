"""``observation_model``: an observation follows, by a known model, from the quantities the neurons hold.

Where earlier laws found which neuron holds which quantity (``z = s q + c``,
:class:`systems.laws.base.Holder`), this law puts the neurons themselves, as
``q = s z + d_q`` with a free offset ``d_q`` per quantity, into a model of one
observed column and fits the model's constants on the held-out rows.  So the
constants come from what the network learned, not from the ground truth: for
Kepler's orbits, the two neurons holding the mean anomalies give the ratio of
the semi-major axes that Kepler's third law relates to the ratio of the
learned steps.

What the model is fitted to (``source``):

* ``"decoder"`` (the default): the network's own prediction of the observation
  (the ``{observation}_pred`` column) against the neuron states its decoder was
  given, the encoder's reading of a series' first row advanced by the learned
  step (for a latent without evolution, each row's reading).  This reads the
  constant from the decoder, the part of the network trained directly against
  the observations, as a function of its own inputs: no reading error enters
  the regressors.
* ``"observations"``: the observed column against the encoder's readings of
  every row (smoothed along each series by the learned step).  The encoder
  computes the quantity from the observations by the inverse of the model,
  which is steep where the model is (Mars near opposition); a finite network
  flattens it there, and least squares reads the flattening as a change of the
  constant.  Measured on ten Copernicus seeds: rho 0.07 % high with the
  smoothed readings, 0.18 % with the raw ones, 0.02 % from the decoder.

``network_shift`` in the record is the constant fitted from the other source
less this one (before the correction below): a figure of how far the encoder
and the decoder disagree.

**The decoder's inputs were noisy** (``"decoder"`` only).  The decoder learned
the model from states that were not exact: each was sampled about the
encoder's reading with the posterior width (``{z}_log_sigma``), and the reading
itself scatters about the neuron's line through its series.  A least-squares
fit of a nonlinear model on inputs with errors does not return the constants
that made the targets (errors in the variables): for Mars' direction a longer
Mars vector makes the predicted direction less sensitive to that noise, so the
decoder learns a rho slightly too large.  :func:`systems.laws.uncertainty.input_noise_bias`
measures that shift at the network's own input noise
(:meth:`systems.laws.base.Evidence.input_noise`): the fitted model's
predictions refitted on the states with noise added, four draws each used
with both signs.  The shift is removed from the constant, and the removed
amount joins its systematic error (the simulation assumes Gaussian errors
independent of the state, which the network's are not quite).  The record
keeps ``input_noise``, ``input_noise_bias`` and the ``uncorrected`` constant.
Over ten untuned Copernicus seeds (80-89) the shift was +0.011 to +0.016 %
of rho, of the +0.03 % mean bias the decoder's rho had without it.

**An approximate model** (``exact``).  Where the model is a series (Kepler's
ellipses to second order in the eccentricities), fitting it even to an exact
observation shifts the constants by the series' error.  With ``exact`` given,
the observation is computed exactly at the fitted constants (Kepler's equation
solved), the model refitted to it, and that shift (``model_bias``) removed as
well.  It is computed, not estimated, so it does not add to the error.  On the
elliptic orbits it raises Mars' eccentricity by 0.15 to 0.23 % (the sky: 0.09
to 0.12 %), which had put the mean over five seeds 3 of its errors low, and
moves rho by at most 0.014 %.

**Nuisance constants** (``nuisance``).  A model may need constants its
observation fixes poorly: Mars' direction depends on the Earth's small
ellipse, but the decoder's prediction of it pins the Earth's eccentricity
and perihelion only weakly (over ten elliptic seeds that fit put ``e_E`` up
to 16 % low, outside its own 2-sigma interval on 4 of 10).  Such constants
are fitted like the others and kept in the record's ``nuisance``, and not
reported: no error bar a reader could cite, and :func:`cross_check` and the
laws after it never take them.  The system measures them with a law whose
observation fixes them (the Sun's direction, for the Earth's ellipse).

:func:`cross_check`: where another law reads the same constant from the
encoder's neuron (a ``latent_formula``: Mars' angle computed from the sky by
the law of sines), the two halves of one network give two measurements, and
that law's systematic error includes their difference.  The decoder's reading
keeps its own errors: it spread eight times less over thirty Copernicus seeds
(rho: 0.016 % against 0.125 %), since the decoder is trained directly against the
observations, while the encoder inverts a model that is steep near opposition.

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

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sympy as sp

from systems.laws.base import Evidence, Law, Order, deviations, too_few
from systems.laws.geometry import fit_constants, wrap
from systems.laws.uncertainty import input_noise_bias, systematic_errors
from systems.laws.verdict import DISCOVERED, Verdict

SEARCH_ROWS = 2000
"""rows on which the starting values are compared; the best is then refitted on every row"""


@dataclass(frozen=True)
class ObservationModel(Law):
    kind = "observation_model"
    order = Order.COMBINES  # after the laws that assign neurons and fit on them
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
    source: str = "decoder"
    """``"decoder"`` or ``"observations"``: what the model is fitted to (the module's text)"""
    nuisance: tuple[sp.Symbol, ...] = ()
    """constants of :attr:`constants` that the model needs but the observation does not measure well enough to
    report (the module's text): fitted like the others and kept in the record's ``nuisance``, not reported as
    results, so that another law may measure them"""
    exact: Callable | None = None
    """where :attr:`expression` approximates the observation (a series), the observation computed exactly:
    ``exact(quantities, constants)``, each a dict by name (the quantities as arrays, the constants of
    :attr:`constants` as numbers); the shift the approximation gives the fitted constants is removed (the module's
    text)"""

    def __post_init__(self) -> None:
        if any(self.constants.get(k) is not None for k in self.nuisance) or not set(self.nuisance) <= set(self.constants):
            raise ValueError(f"{self.name}: a nuisance constant must be one of the constants, without a true value")

    def printed(self, system) -> tuple[sp.Expr, sp.Expr]:
        return sp.Symbol(self.observation, real=True), self.expression

    def full_expression(self) -> sp.Expr:
        """The model in the quantities and constants alone (the definitions substituted)."""
        expr = self.expression
        for symbol, value in reversed(self.definitions):
            expr = expr.xreplace({symbol: value})
        return expr

    def check(self, evidence: Evidence) -> Verdict:
        reported = [k for k in self.constants if k not in self.nuisance]
        true = {k.name: self.constants[k] for k in reported}
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
        if self.source not in SOURCES:
            raise ValueError(f"{self.name}: source must be one of {SOURCES}, not {self.source!r}")
        source = self.source
        if source == "decoder" and f"{self.observation}_pred" not in evidence.latents:
            source = "observations"  # latents written without the network's predictions
        main = self._fit(evidence, holders, source, jackknife=True)
        other = "observations" if source == "decoder" else "decoder"
        shift = {}
        if other == "observations" or f"{self.observation}_pred" in evidence.latents:
            # from the main fit's constants: the same model on the other source, a local shift, no grid of starts
            cross = self._fit(evidence, holders, other, jackknife=False, start=main.constants)
            shift = {
                k.name: _difference(cross.constants[k.name], main.uncorrected[k.name], k in self.angles)
                for k in self.constants
            }
        fitted, m = main.constants, main.match
        rel = {k.name: abs(_difference(fitted[k.name], v, k in self.angles)) / abs(v) for k, v in self.constants.items() if v}
        tol = {k.name: self.tolerances.get(k, evidence.rtol) for k, v in self.constants.items() if v}
        threshold = evidence.threshold if main.circle else evidence.r2
        ok = m.score >= threshold and all(rel[k] <= tol[k] for k in rel)
        return self.verdict(
            ok,
            latent=[holders[q].latent for q in self.quantities],
            expression=f"{self.observation} = {self.expression}",
            latex=f"{sp.latex(sp.Symbol(self.observation))} = {sp.latex(self.expression)}",
            fitted_constants={k.name: fitted[k.name] for k in reported},
            true_constants=true,
            relative_errors=rel,
            standard_errors={k.name: main.standard_errors[k.name] for k in reported},
            systematic_errors={k.name: main.systematic_errors[k.name] for k in reported},
            checks={
                "score": m.score,
                "score_threshold": threshold,
                "on_circle": bool(main.circle),
                "tolerances": tol,
                "source": source,
                "nuisance": {k.name: fitted[k.name] for k in self.nuisance},
                "network_shift": shift,
                "input_noise_bias": {k.name: main.input_noise_bias[k.name] for k in self.constants if main.input_noise_bias},
                "uncorrected": {
                    k.name: main.uncorrected[k.name] for k in self.constants if main.input_noise_bias or main.model_bias
                },
                "input_noise": main.input_noise,
                "model_bias": {k.name: main.model_bias[k.name] for k in self.constants if main.model_bias},
                "neuron_offsets": {f"d_{q}": fitted[f"d_{q}"] for q in self.quantities},
                "starts_tried": main.starts,
                "rows": main.rows,
                "standard_errors_from": f"the model least-squares fitted to {main.rows} held-out "
                + ("predictions of the network" if source == "decoder" else "observations")
                + (f" in {main.series} series, each series counted as one independent sample" if main.series else ""),
                "definitions": {str(k): str(v) for k, v in self.definitions},
            },
        )

    def _fit(self, evidence: Evidence, holders: dict, source: str, *, jackknife: bool, start: dict | None = None) -> _Fit:
        """The model fitted to ``source`` (the module's text), with standard and (``jackknife``) systematic errors;
        from the best of the law's starting values (:attr:`starts`), or from the constants ``start`` (by name)."""
        circle = next((c.angle for c in evidence.system.answers if c.name == self.observation), False)
        series = evidence.stepping
        # the neurons as the quantities, up to an offset each that the fit finds: q = s z + d_q
        state = evidence.decoder_state if source == "decoder" else evidence.series_line
        frame = pd.DataFrame({q: h.match.sign * state(h.latent) for q, h in holders.items()})
        column = f"{self.observation}_pred" if source == "decoder" else self.observation
        target = evidence.latents[column].to_numpy(dtype=float)
        offsets = {q: sp.Symbol(f"d_{q}", real=True) for q in self.quantities}
        model = self.full_expression().xreplace(
            {sp.Symbol(q, real=True): sp.Symbol(q, real=True) + d for q, d in offsets.items()}
        )
        free = [*self.constants, *offsets.values()]
        # the fit starts from the law's own guesses, never from the true constants it is judged against
        initial = {**self.initial, **{d: -holders[q].match.sign * holders[q].match.offset for q, d in offsets.items()}}
        names = list(self.quantities)
        kind = "circle" if circle else "real"
        grid = [dict(zip(self.starts, combo, strict=True)) for combo in itertools.product(*self.starts.values())] or [{}]
        if start is not None:
            first = {k: start[k.name] for k in free}
        else:
            best = None
            every = max(1, len(target) // SEARCH_ROWS)  # the starts are compared on a sample of the rows
            for guess in grid:
                fitted, m, _ = fit_constants(
                    model, names, frame.iloc[::every], target[::every], free, {**initial, **guess}, kind=kind, affine=False
                )
                # of equally good fits (an eccentricity's sign flipped with its perihelion turned by pi), the one whose
                # constants declared positive are positive
                rank = (round(m.score, 9), all(fitted[k.name] > 0 for k in free if k.is_positive))
                if best is None or rank > best[0]:
                    best = (rank, fitted)
            first = {k: best[1][k.name] for k in free}  # type: ignore[index]
        fitted, m, se = fit_constants(model, names, frame, target, free, first, kind=kind, affine=False)
        n_series = evidence.latents["series"].nunique() if series else 0
        # the rows of one series share its first reading: the errors count the series, not the rows, as independent
        se = {k: v * np.sqrt(len(target) / n_series) for k, v in se.items()} if n_series else se
        # the network's own distortion, smooth in the quantities: regions of them left out in turn
        angles = [q for q in names if getattr(evidence.system.columns.get(q), "angle", False)]
        sys_errors, bias, raw, truncation, widths = {}, {}, dict(fitted), {}, {}
        if jackknife and self.exact is not None:
            truncation = self._model_bias(model, names, frame, free, fitted, kind)
        if jackknife:
            at = {k: fitted[k.name] for k in free}
            sys_errors = systematic_errors(model, names, frame, target, free, at, se, kind=kind, affine=False, angles=angles)
            if source == "decoder":
                # the decoder learned from noisy states: remove the bias that noise gives a fit of the model, and
                # count the removed amount as systematic error (the module's text)
                widths = {q: evidence.input_noise(h.latent) for q, h in holders.items()}
                bias = input_noise_bias(model, names, frame, free, fitted, widths, kind=kind)
                fitted = {k: v - bias[k] if np.isfinite(bias.get(k, np.nan)) else v for k, v in fitted.items()}
                sys_errors = {k: float(np.hypot(e, np.nan_to_num(bias.get(k, 0.0)))) for k, e in sys_errors.items()}
        fitted = {k: v - truncation[k] if np.isfinite(truncation.get(k, np.nan)) else v for k, v in fitted.items()}
        constants = {k.name: float(wrap(fitted[k.name])) if k in self.angles else fitted[k.name] for k in free}
        raw = {k.name: float(wrap(raw[k.name])) if k in self.angles else raw[k.name] for k in free}
        return _Fit(constants, m, se, sys_errors, len(grid), len(target), n_series, bool(circle), bias, raw, truncation, widths)

    def _model_bias(self, model, names, frame, free, fitted, kind) -> dict[str, float]:
        """How far the approximate model's constants, fitted to the :attr:`exact` observation at the fitted
        constants, lie from those constants (per constant; NaN where the exact observation cannot be computed)."""
        quantities = {q: frame[q].to_numpy(dtype=float) + fitted[f"d_{q}"] for q in names}
        exact = np.asarray(self.exact(quantities, {k.name: fitted[k.name] for k in self.constants}), dtype=float)
        if not np.isfinite(exact).all():
            return {k.name: float("nan") for k in free}
        at = {k: fitted[k.name] for k in free}
        refit, _, _ = fit_constants(model, names, frame, exact, free, at, kind=kind, affine=False)
        return {k.name: float(refit[k.name] - at[k]) for k in free}


SOURCES = ("decoder", "observations")


def _difference(a: float, b: float, angle: bool) -> float:
    """``a - b``, for an angle wrapped into (-pi, pi]."""
    return float(wrap(a - b)) if angle else float(a - b)


def cross_check(verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts, with each constant that a discovered decoder-read ``observation_model`` law also fitted
    carrying the difference to it in its systematic error (the module's text); the decoder's own unchanged."""
    decoder = {}
    for v in verdicts:
        if v.kind == ObservationModel.kind and v.verdict == DISCOVERED and v.checks.get("source") == "decoder":
            for k, value in v.fitted_constants.items():
                if v.true_constants.get(k) is not None:
                    decoder.setdefault(k, (value, v.name))
    out = []
    for v in verdicts:
        shared = {k: decoder[k] for k in v.fitted_constants if k in decoder and v.kind != ObservationModel.kind}
        shared = {k: d for k, d in shared.items() if v.fitted_constants[k] is not None and k in v.standard_errors}
        if not shared:
            out.append(v)
            continue
        difference = {k: float(v.fitted_constants[k] - value) for k, (value, _) in shared.items()}
        systematic = dict(v.systematic_errors)
        for k, d in difference.items():
            systematic[k] = float(np.hypot(np.nan_to_num(systematic.get(k, 0.0)), d))
        checks = {**v.checks, "decoder_difference": difference, "decoder_law": sorted({law for _, law in shared.values()})}
        out.append(
            dataclasses.replace(
                v,
                systematic_errors=systematic,
                deviations=deviations(v.fitted_constants, v.true_constants, v.standard_errors, systematic),
                checks=checks,
            )
        )
    return out


@dataclass(frozen=True)
class _Fit:
    constants: dict[str, float]
    match: object
    standard_errors: dict[str, float]
    systematic_errors: dict[str, float]
    starts: int
    rows: int
    series: int
    circle: bool
    input_noise_bias: dict[str, float] = field(default_factory=dict)
    """per constant: the shift that noise in the decoder's inputs gives the fit, removed from ``constants``"""
    uncorrected: dict[str, float] = field(default_factory=dict)
    """per constant: the fit before that removal (and the model's, below)"""
    model_bias: dict[str, float] = field(default_factory=dict)
    """per constant: the shift the approximate model gives the fit of the exact observation, removed from ``constants``"""
    input_noise: dict[str, float] = field(default_factory=dict)
    """per quantity: the RMS noise of the decoder's inputs that :attr:`input_noise_bias` was computed at"""

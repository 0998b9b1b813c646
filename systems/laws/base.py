"""The law-check plug-in interface: a law kind is one class in one module of this package.

A law is declared by a system (``systems/NAME.py``) as an instance of a law
class, and checked by :meth:`Law.check` on the :class:`Evidence` the verify
stage gathers.  Every check returns a :class:`systems.laws.verdict.Verdict`.
Subclasses register themselves under their ``kind``; :func:`make_law` builds
one by kind name (with a did-you-mean on a miss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import sympy as sp

from pipeline.errors import ConfigError
from symreg.errors import did_you_mean
from systems.laws.geometry import MIN_ROWS, Match, match, values
from systems.laws.verdict import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED, Verdict

LAW_KINDS: dict[str, type[Law]] = {}


@dataclass
class Holder:
    """Which neuron holds a quantity, and how (``z ~ scale * q + offset``)."""

    latent: str
    match: Match


@dataclass
class Evidence:
    """What the verify stage knows, for the law checks.

    ``latents``: held-out rows of ``latents.parquet``; ``fresh``: newly simulated
    samples; ``equations``: every front with parsed ``expr``; ``active``: the latent
    neurons whose posterior differs from the prior (the others are unused);
    ``probe``: the trained network's answers on fresh samples (or None);
    ``holders``: filled by the checks, quantity name -> :class:`Holder`.
    """

    system: Any
    latents: pd.DataFrame
    equations: pd.DataFrame
    fresh: pd.DataFrame
    latent_names: list[str]
    active: list[str]
    kl: dict[str, float]
    steps: list[float] | None = None
    probe: pd.DataFrame | None = None
    prediction_rms: dict[str, float] = field(default_factory=dict)
    """the network's held-out RMS error per answer column and ``"all"`` (``history.json``)"""
    answer_noise: float = 0.0
    """how far the network's answers lie from the truth (a variance of the answer law's target)"""
    threshold: float = 0.999
    r2: float = 0.99
    rtol: float = 0.01
    holders: dict[str, Holder] = field(default_factory=dict)
    fitted: dict[str, tuple[float, str, str]] = field(default_factory=dict)
    """filled as laws are checked: constant name -> (fitted value, the law that fitted it, its verdict)"""
    errors: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """filled as laws are checked: fitted constant name -> its (statistical, systematic) errors, where stated"""
    _assignment: dict[str, Holder] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.system.latent.kind

    def selected(self, target: str | None, variables: str) -> sp.Expr | None:
        if target is None or self.equations.empty:
            return None
        eq = self.equations
        rows = eq[(eq["target"] == target) & (eq["variables"] == variables) & eq["selected"]]
        return None if rows.empty else rows["expr"].iloc[0]

    def signed_step(self, holder: Holder) -> float:
        """The learned step of the neuron ``holder`` names, with the sign it holds its quantity by."""
        return holder.match.sign * float(self.steps[self.latent_names.index(holder.latent)])

    @property
    def stepping(self) -> bool:
        """The latent advances by learned steps and the held-out rows are series (``series`` and ``step`` columns)."""
        return self.steps is not None and {"series", "step"} <= set(self.latents.columns)

    def series_line(self, latent: str) -> np.ndarray:
        """A neuron's values on the held-out rows; for a stepping latent, the network's own line through each
        series' readings, ``z_t = mean(z_s - omega s) + omega t`` (averaging out the encoder's reading noise and
        the distortion that varies along the series, which bias a constant fitted to the neuron as errors in a
        regressor do)."""
        z = self.latents[latent].to_numpy(dtype=float)
        if not self.stepping:
            return z
        omega = float(self.steps[self.latent_names.index(latent)])
        step = self.latents["step"].to_numpy(dtype=float)
        start = np.exp(1j * (z - omega * step)) if self.kind == "circle" else z - omega * step
        mean = pd.Series(start).groupby(self.latents["series"].to_numpy()).transform("mean").to_numpy()
        return (np.angle(mean) if self.kind == "circle" else mean) + omega * step

    def input_noise(self, latent: str) -> float:
        """How far, in the RMS, the state the decoder was trained on lies from the neuron's own line through a
        series: the posterior width it was sampled with (the ``{latent}_log_sigma`` column) and, for a stepping
        latent, the encoder's reading scatter about :meth:`series_line` (a series' first reading, which the decoder
        states start from, errs as much as any); 0 where neither is known."""
        variance = 0.0
        column = f"{latent}_log_sigma"
        if column in self.latents:
            variance += float(np.mean(np.exp(2 * self.latents[column].to_numpy(dtype=float))))
        if self.stepping:
            scatter = self.latents[latent].to_numpy(dtype=float) - self.series_line(latent)
            if self.kind == "circle":
                scatter = np.angle(np.exp(1j * scatter))
            variance += float(np.mean(scatter**2))
        return float(np.sqrt(variance))

    def decoder_state(self, latent: str) -> np.ndarray:
        """The neuron's state the decoder was given for each held-out row (its ``*_pred`` answers): for a stepping
        latent, the encoder's reading of the series' first row plus ``omega`` per step since that row (the export
        predicts every row of a series from its first); otherwise the row's own reading."""
        z = self.latents[latent].to_numpy(dtype=float)
        if not self.stepping:
            return z
        omega = float(self.steps[self.latent_names.index(latent)])
        frame = pd.DataFrame({"series": self.latents["series"].to_numpy(), "step": self.latents["step"].to_numpy(), "z": z})
        first_step = frame.groupby("series")["step"].transform("min").to_numpy()
        at_first = frame["step"].to_numpy() == first_step
        first = pd.Series(np.where(at_first, z, np.nan)).groupby(frame["series"].to_numpy()).transform("first").to_numpy()
        return first + omega * (frame["step"].to_numpy(dtype=float) - first_step)

    def variable_set_with(self, names: set[str]) -> str | None:
        """The first regression variable set that holds every name in ``names``."""
        for key, cols in self.system.regress.items():
            if names <= set(cols):
                return key
        return None


def deviations(fitted: dict, true: dict, statistical: dict, systematic: dict) -> dict[str, float]:
    """``(fitted - true) / total error`` per constant with a statistical error, a true value and a total error."""
    from systems.laws.uncertainty import total_error

    out = {}
    for k in statistical:
        total = total_error(statistical[k], systematic.get(k))
        if fitted.get(k) is not None and true.get(k) is not None and total is not None and total > 0:
            out[k] = (fitted[k] - true[k]) / total
    return out


class Order(IntEnum):
    """When a law is checked: every law of one order before any of the next; results keep declaration order."""

    ASSIGNS = 0
    """laws that assign a neuron to a quantity (``Law.assigns``), and laws that need no assignment"""
    FITS = 1
    """laws that read the assigned neurons and fit constants on them"""
    COMBINES = 2
    """laws that combine assigned neurons: their learned steps, or the decoder's answers from them"""
    RELATES = 3
    """relations between constants that laws of the orders before fitted (Kepler's third law)"""


@dataclass(frozen=True)
class Law:
    """A known law: a name, a plain-language description, and a check.

    A law kind is a subclass that sets ``kind`` (its name in a declaration), ``order`` (when it is checked) and
    ``assigns``, and implements :meth:`check`; :meth:`printed` and :meth:`true_expression` are for the report.
    """

    kind: ClassVar[str] = ""
    order: ClassVar[Order] = Order.FITS
    """when the law is checked (:class:`Order`)"""
    assigns: ClassVar[bool] = False
    """the law says one neuron holds one quantity, its ``expression``: the neurons are assigned to those
    quantities one to one before any law is checked (:func:`assignment`), and later laws read the assignment"""
    name: str
    description: str
    title: str = ""
    """a short plain-language name for tables in a paper (default: the name, in words)"""

    @property
    def heading(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()

    def printed(self, system) -> tuple[sp.Expr, sp.Expr] | None:
        """The law as an equation ``(left, right)`` in the system's symbols, its constants as symbols (the report
        prints the fitted values beside it); None for a law that is no equation (a neuron holds a quantity)."""
        return None

    def true_expression(self) -> sp.Expr | None:
        """The law with its true constants, where it is one expression of the system's variables the report can
        draw beside the network's answers (a law of motion); None otherwise."""
        return None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            LAW_KINDS[cls.kind] = cls

    def check(self, evidence: Evidence) -> Verdict:  # pragma: no cover - interface
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------------------
    def verdict(self, ok: bool | None, **fields: Any) -> Verdict:
        """The verdict; one computed from an undefined statistic (NaN or infinite) is `not checked`."""
        numbers = {**fields.get("fitted_constants", {}), **fields.get("relative_errors", {})}
        undefined = sorted(k for k, v in numbers.items() if isinstance(v, float) and not np.isfinite(v))
        if ok is not None and undefined:
            reason = MissingEvidence(f"undefined statistic ({', '.join(undefined)} is not a finite number)")
            return self.not_checked(reason, **{k: v for k, v in fields.items() if k != "checks"})
        fitted, true, se = fields.get("fitted_constants", {}), fields.get("true_constants", {}), fields.get("standard_errors", {})
        sys_ = fields.get("systematic_errors", {})
        if se and "deviations" not in fields:
            fields["deviations"] = deviations(fitted, true, se, sys_)
        word = NOT_CHECKED if ok is None else DISCOVERED if ok else NOT_DISCOVERED
        return Verdict(name=self.name, kind=self.kind, description=self.description, verdict=word, **fields)

    def not_checked(self, reason: str, **fields: Any) -> Verdict:
        """`not checked`, with the reason; where the reason is missing evidence (too few rows, an
        undefined statistic) the record says so (``checks.evidence = "insufficient"``) and the command
        that made it exits non-zero."""
        checks = {"reason": str(reason)}
        if isinstance(reason, MissingEvidence):
            checks["evidence"] = INSUFFICIENT
        return self.verdict(None, checks=checks, **fields)

    def assigned_neuron(self, evidence: Evidence) -> Holder | Verdict:
        """The neuron assigned to this law's quantity (``self.expression``), or the verdict that says why
        there is none: too few rows to judge, no active neuron, more quantities than active neurons."""
        reason = too_few(evidence.latents, "held-out rows") or too_few(evidence.fresh, "fresh samples")
        if reason:
            return self.not_checked(reason)
        if not evidence.active:
            return self.verdict(False, checks={"reason": "every neuron is unused"})
        holder = assignment(evidence).get(str(self.expression))  # type: ignore[attr-defined]
        if holder is None:
            return self.verdict(False, checks={"reason": "more quantities than active neurons"})
        return holder


INSUFFICIENT = "insufficient"


class MissingEvidence(str):
    """A reason for `not checked` that is a lack of evidence, not a law that does not apply."""


def too_few(frame: pd.DataFrame | None, what: str) -> MissingEvidence | None:
    n = 0 if frame is None else len(frame)
    if n < MIN_ROWS:
        return MissingEvidence(f"only {n} {what} (at least {MIN_ROWS} are needed for a verdict)")
    return None


def assignment(evidence: Evidence) -> dict[str, Holder]:
    """One-to-one assignment of active neurons to the quantities of every law that says one neuron holds
    one quantity (``assigns = True``), best match first; computed once per verification."""
    if evidence._assignment is None:
        quantities = {
            str(law.expression): law.expression for law in evidence.system.known_laws() if law.assigns
        }
        evidence._assignment = assign_quantities(evidence, quantities)
    return evidence._assignment


def assign_quantities(evidence: Evidence, quantities: dict[str, sp.Expr]) -> dict[str, Holder]:
    """One-to-one assignment of active neurons to quantities (expressions of ground truth), best match first."""
    gt = evidence.system.ground_truth_names
    scores = []
    for qname, expr in quantities.items():
        q = values(expr, gt, evidence.latents)
        for t in evidence.active:
            m = match(evidence.latents[t].to_numpy(dtype=float), q, evidence.kind)
            scores.append((m.score, qname, t, m))
    out: dict[str, Holder] = {}
    used: set[str] = set()
    for _, qname, t, m in sorted(scores, key=lambda s: (-s[0], s[1], s[2])):
        if qname in out or t in used:
            continue
        out[qname] = Holder(t, m)
        used.add(t)
    return out


def law_kinds() -> dict[str, type[Law]]:
    """Every law kind by name, each module of :mod:`systems.laws` imported (a kind registers itself)."""
    from systems.laws import load_kinds

    load_kinds()
    return LAW_KINDS


def make_law(kind: str, **fields: Any) -> Law:
    law_kinds()
    if kind not in LAW_KINDS:
        raise ConfigError(f"Unknown law kind {kind!r}.{did_you_mean(kind, LAW_KINDS)} Law kinds: {', '.join(sorted(LAW_KINDS))}.")
    return LAW_KINDS[kind](**fields)


def finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _numbers_inside_roots(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every product ``c sqrt(X)`` (``c`` a positive number) written ``sqrt(c^2 X)``, ``c^2 X``
    expanded: ``t sqrt(4 kappa - b^2)/2`` becomes ``t sqrt(kappa - b^2/4)``."""

    def inside(m: sp.Expr) -> sp.Expr:
        c, rest = m.as_coeff_Mul()
        roots = [f for f in sp.Mul.make_args(rest) if f.is_Pow and f.exp == sp.S.Half]
        if len(roots) != 1 or not (c.is_number and c.is_positive) or c == 1:
            return m
        others = [f for f in sp.Mul.make_args(rest) if f is not roots[0]]
        return sp.Mul(*others) * sp.sqrt(sp.expand(c**2 * roots[0].base))

    return expr.replace(lambda e: e.is_Mul, inside)


def symbolic_match(expr: sp.Expr | None, pattern, variables, wild_names, signs=(1, -1)) -> dict[str, float] | None:
    """SymPy pattern match of ``expr`` against ``pattern(sign, wilds)``: the law's form with the
    named constants as unknowns, tried as written, then with both sides expanded
    (``0.8 w - 0.8 v_x`` is ``a (w - v_x)``), then with cosines written as sines
    (``0.19 cos(x - 1.16)`` is ``2 e sin(x - varpi)``), then with a positive number that multiplies a square root
    taken inside it (``sqrt(4 kappa - b^2)/2`` is ``sqrt(kappa - h b^2)``).  Returns the matched constants (and the
    sign), or None."""
    if expr is None:
        return None
    prepares = (lambda e: e, sp.expand, lambda e: sp.expand(e.rewrite(sp.sin)), _numbers_inside_roots)  # cos(x) as sin(x + pi/2)
    for prepare in prepares:
        for sign in signs:
            wilds = {n: sp.Wild(n, exclude=list(variables)) for n in wild_names}
            try:
                found = prepare(expr).match(prepare(pattern(sign, wilds)))
            except (TypeError, ValueError, RecursionError):
                found = None
            if found is not None and all(v.is_number and v.is_real for v in found.values()):
                return {"sign": sign, **{k.name: float(v) for k, v in found.items()}}
    return None

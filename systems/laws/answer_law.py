"""``answer_law``: the trained network's answer, as a function of the physical parameters and
the question, is a known law (for the damped pendulum: its law of motion).

The export stage encodes fresh recordings and asks the decoder many questions
about each (``probe.parquet``); the regress stage finds the answer as a closed
form in the parameters and the question (``law_of_motion`` in
``equations.parquet``).  The law holds when

* numerically, the law (with its true constants) reproduces the network's
  answers with R^2 of at least ``verify.r2`` (for an angle, ``AnswerLawSpec.angle_of``:
  on the circle, errors wrapped to (-pi, pi] and R^2 taken against the spread about
  the circular mean), and its true constants are as
  good as any: with the constants fitted by least squares to the answers the
  mean squared error is lower by at most ``loss_rtol`` (10 %) of itself or half
  the variance of the network's own error (``Evidence.answer_noise``, from its
  held-out RMS in ``history.json``), whichever is more: the rule by which
  symbolic regression accepts an exact constant (:mod:`symreg.polish`).  (A constant the answers
  barely determine, such as the ``b^2/4`` in the pendulum's frequency, may
  fit a few per cent off; its fitted value and relative error are reported.)
* symbolically, the selected equation is the law (a difference SymPy
  simplifies to 0), or has the law's form with the constants as unknowns (a
  SymPy pattern match) and it and the law with the true constants fit the
  answers equally well, by the same rule either way.  The matched
  constants and their relative errors are recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symreg.polish import NOISE_SHARE
from systems.laws.base import Evidence, Law, symbolic_match, too_few
from systems.laws.geometry import fit_constants, symbols, values, wrap
from systems.laws.uncertainty import systematic_errors
from systems.laws.verdict import Verdict

VARIABLE_SET = "law_of_motion"


@dataclass(frozen=True)
class AnswerLaw(Law):
    kind = "answer_law"
    expression: sp.Expr = sp.Integer(0)
    constants: Mapping[sp.Symbol, float | sp.Expr] = field(default_factory=dict)
    """the true constants: a float, or a SymPy number where physics fixes it exactly (``pi/2``)"""
    initial: Mapping[sp.Symbol, float] = field(default_factory=dict)
    loss_rtol: float = 0.1

    def true_expression(self) -> sp.Expr:
        """The law with its true constants, exact: a SymPy number as given (``pi/2``), a float as a rational."""
        return self.expression.xreplace(
            {k: v if isinstance(v, sp.Basic) else sp.nsimplify(v, rational=True) for k, v in self.constants.items()}
        )

    def printed(self, system) -> tuple[sp.Expr, sp.Expr] | None:
        spec = system.answer_law
        return None if spec is None else (sp.Symbol(spec.answer, real=True), self.expression)

    def check(self, evidence: Evidence) -> Verdict:
        true = {k.name: float(v) for k, v in self.constants.items()}
        spec = evidence.system.answer_law
        if spec is None:
            return self.not_checked("the system declares no answer law (PhysicalSystem.answer_law)", true_constants=true)
        reason = too_few(evidence.probe, "probe answers")
        if reason:
            return self.not_checked(reason, true_constants=true)
        names = spec.variables
        circle = spec.angle_of is not None
        answers = evidence.probe[spec.answer].to_numpy(dtype=float)

        def mse(pred: np.ndarray) -> float:
            if not np.isfinite(pred).all():
                return float("inf")
            err = wrap(answers - pred) if circle else answers - pred
            return float(np.mean(err**2))

        law_true = self.true_expression()
        mse_true = mse(values(law_true, names, evidence.probe))
        spread = mse(np.full(len(answers), _mean(answers, circle)))
        r2 = 1 - mse_true / spread if spread > 0 and np.isfinite(mse_true) else 0.0
        free = list(self.constants)
        fitted, m, se = fit_constants(
            self.expression,
            names,
            evidence.probe,
            answers,
            free,
            {**{k: float(v) for k, v in self.constants.items()}, **self.initial},
            kind="circle" if circle else "real",
            affine=False,
        )
        # the network's error is smooth in the physical parameters: regions of them are left out in turn
        start = {**{k: float(v) for k, v in self.constants.items()}, **self.initial, **{k: fitted[k.name] for k in free}}
        sys_errors = systematic_errors(
            self.expression,
            names,
            evidence.probe,
            answers,
            free,
            start,
            se,
            kind="circle" if circle else "real",
            affine=False,
            region_names=[*spec.parameters, *spec.question_parameters],
        )
        # the network's error carried to the constants: the law fitted to its answers and to the observed answers
        shift, shift_rows = network_shift(self.expression, evidence, spec, free, start)
        sys_errors = {k: _larger(e, abs(shift[k]) if k in shift else None) for k, e in sys_errors.items()}
        rel = {k: abs(fitted[k] - v) / abs(v) for k, v in true.items() if v}
        expr = evidence.selected(spec.answer, VARIABLE_SET)
        syms = symbols(names)
        found = symbolic_match(
            expr, lambda s, w: self.expression.xreplace({k: w[k.name] for k in free}), syms, [k.name for k in free], signs=(1,)
        )
        exact = expr is not None and _simplifies_to_zero(expr - law_true)
        matched_rel = {k: abs(found[k] - v) / abs(v) for k, v in true.items() if v and found and k in found}
        mse_fitted = mse(_evaluate_fitted(self.expression, free, fitted, names, evidence.probe))
        mse_selected = mse(values(expr, names, evidence.probe)) if expr is not None else float("inf")
        # the rule by which symbolic regression accepts an exact constant (symreg.polish): the loss may rise by
        # rtol of itself, or by a share of the noise variance where the answers have noise (a network's error)
        slack = NOISE_SHARE * evidence.answer_noise + 1e-12 * spread
        constants_ok = mse_true <= mse_fitted + max(self.loss_rtol * mse_fitted, slack)
        both_ways = mse_true <= mse_selected + max(self.loss_rtol * mse_selected, slack) and mse_selected <= mse_true + max(
            self.loss_rtol * mse_true, slack
        )
        symbolic = exact or (found is not None and both_ways)
        ok = r2 >= evidence.r2 and constants_ok and symbolic
        rms = float(np.sqrt(mse_true)) if np.isfinite(mse_true) else None
        return self.verdict(
            ok,
            expression=None if expr is None else str(expr),
            latex=None if expr is None else sp.latex(expr),
            fitted_constants=fitted,
            true_constants=true,
            relative_errors=rel,
            standard_errors=se,
            systematic_errors=sys_errors,
            checks={
                "standard_errors_from": f"the law least-squares fitted to the network's {len(answers)} probe answers",
                "systematic_errors_from": "the larger of a grouped jackknife over regions of the parameters and the "
                + (
                    f"network's shift: the law fitted to the network's answers less the law fitted to the observed "
                    f"answers, on {shift_rows} held-out rows"
                    if shift
                    else "network's shift (not measured: the held-out rows lack the observed or the predicted answers)"
                ),
                "network_shift": shift,
                "on_circle": circle,
                "law_r2_on_answers": r2,
                "law_rms_on_answers": rms,
                "fitted_r2": m.score,
                "mse_true_constants": mse_true,
                "mse_fitted_constants": mse_fitted,
                "true_constants_accepted": constants_ok,
                "loss_rtol": self.loss_rtol,
                "answer_noise_variance": evidence.answer_noise,
                "symbolic_match": symbolic,
                "exact": exact,
                "symbolic_constants": found,
                "symbolic_relative_errors": matched_rel,
                "mse_selected_equation": mse_selected,
                "r2_threshold": evidence.r2,
                "rtol": evidence.rtol,
                "probe_rows": len(evidence.probe),
            },
        )


def _answer(frame, spec, suffix: str) -> np.ndarray:
    """The answer law's target on held-out rows, observed (``suffix=""``) or predicted (``"_pred"``)."""
    if spec.angle_of is None:
        return frame[spec.answer + suffix].to_numpy(dtype=float)
    x, y = (frame[c + suffix].to_numpy(dtype=float) for c in spec.angle_of)
    return np.arctan2(y, x)


def network_shift(expr, evidence: Evidence, spec, free, start) -> tuple[dict[str, float], int]:
    """How far the network's error moves each constant: the law fitted to the network's answers on the held-out
    rows, less the law fitted to the observed answers on the same rows (both from ``start``).  That difference is
    the network's systematic error, read through the law; the observations' own noise enters only the second fit,
    whose statistical error is small beside it on thousands of rows.  Returns ({} , 0) where the held-out rows lack
    the law's variables, the observed or the predicted answers."""
    frame = evidence.latents
    columns = spec.angle_of if spec.angle_of is not None else (spec.answer,)
    needed = [*spec.variables, *columns, *(c + "_pred" for c in columns)]
    if frame is None or not set(needed) <= set(frame.columns) or too_few(frame, "held-out rows"):
        return {}, 0
    kind = "real" if spec.angle_of is None else "circle"
    on_net, _, _ = fit_constants(expr, spec.variables, frame, _answer(frame, spec, "_pred"), free, start, kind=kind, affine=False)
    on_obs, _, _ = fit_constants(expr, spec.variables, frame, _answer(frame, spec, ""), free, start, kind=kind, affine=False)
    shift = {k.name: float(on_net[k.name] - on_obs[k.name]) for k in free}
    return ({k: v for k, v in shift.items() if np.isfinite(v)}, len(frame))


def _larger(a: float | None, b: float | None) -> float | None:
    finite = [x for x in (a, b) if x is not None and np.isfinite(x)]
    return max(finite) if finite else a


def _mean(answers: np.ndarray, circle: bool) -> float:
    return float(np.angle(np.mean(np.exp(1j * answers)))) if circle else float(np.mean(answers))


def _evaluate_fitted(expr, free, fitted, names, frame) -> np.ndarray:
    with_values = expr.xreplace({k: sp.Float(fitted[k.name]) for k in free})
    out = values(with_values, names, frame)
    return np.where(np.isfinite(out), out, np.inf)


def _simplifies_to_zero(diff: sp.Expr) -> bool:
    try:
        return sp.simplify(diff) == 0
    except (TypeError, ValueError, RecursionError):
        return False

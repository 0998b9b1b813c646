"""``step_ratio``: the ratio of the learned steps of the neurons holding two quantities.

For a latent that evolves by a constant step per neuron (``z_{t+1} = z_t +
omega``), the steps of the neurons holding ``quantities[0]`` and
``quantities[1]`` (signs taken from how they hold them) must have the ratio
``true_value`` within ``verify.constant_rtol``.

The steps are trained weights, without a statistical error of their own.  The
encoder measures the same rates a second, independent way: its reading of each
held-out row, unwrapped along each series, advances by a rate that a straight
line through the readings gives (:func:`reading_rates`).  The ratio of those
rates has a statistical error (a jackknife over :data:`GROUPS` groups of
series), which the learned ratio is quoted with too; the difference between
the two measurements, less that statistical part in quadrature, is the
network's systematic error: ``± stat ± sys``.  The readings lie close to the
truth, so the systematic part is about the learned ratio's own error, and the
coverage it gives is no independent test of it.  Over thirty Copernicus seeds
the learned ratio lay 0.05 % below the truth on average (-0.09 to +0.005 %),
the readings' ratio 0.001 % above it (-0.02 to +0.03 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from systems.laws.base import Evidence, Law, Order
from systems.laws.uncertainty import jackknife_variance
from systems.laws.verdict import Verdict

GROUPS = 20
"""groups of held-out series left out in turn for the readings' jackknife error"""


@dataclass(frozen=True)
class StepRatio(Law):
    kind = "step_ratio"
    order = Order.COMBINES
    expression: sp.Expr = sp.Integer(0)
    quantities: tuple[str, str] = ("", "")
    true_value: float = 1.0

    def check(self, evidence: Evidence) -> Verdict:
        true = {"ratio": self.true_value}
        if evidence.steps is None:
            return self.not_checked("the latent has no learned steps (evolution 'none')", true_constants=true)
        a, b = (evidence.holders.get(q) for q in self.quantities)
        if a is None or b is None:
            return self.not_checked(
                f"no neuron was found to hold each of {list(self.quantities)} (the checks that assign them did not pass)",
                true_constants=true,
            )
        omega_a, omega_b = evidence.signed_step(a), evidence.signed_step(b)
        ratio = omega_a / omega_b if omega_b else float("inf")
        rel = abs(ratio - self.true_value) / abs(self.true_value)
        learned = {"ratio": ratio, f"omega_{self.quantities[0]}": omega_a, f"omega_{self.quantities[1]}": omega_b}
        stat, sys_, checks = {}, {}, {}
        rates = {q: reading_rates(evidence, h) for q, h in zip(self.quantities, (a, b), strict=True)}
        if all(r is not None for r in rates.values()):
            (rate_a, groups), (rate_b, _) = rates[self.quantities[0]], rates[self.quantities[1]]
            read = {
                "ratio": ratio_of(rate_a, rate_b),
                f"omega_{self.quantities[0]}": rate_a.mean(),
                f"omega_{self.quantities[1]}": rate_b.mean(),
            }
            jack = {
                "ratio": _jackknife(lambda keep: ratio_of(rate_a[keep], rate_b[keep]), groups),
                f"omega_{self.quantities[0]}": _jackknife(lambda keep: rate_a[keep].mean(), groups),
                f"omega_{self.quantities[1]}": _jackknife(lambda keep: rate_b[keep].mean(), groups),
            }
            stat = {k: float(jack[k]) for k in learned}
            # the difference holds the readings' own noise too: the systematic part is what exceeds it
            sys_ = {k: float(np.sqrt(max((learned[k] - read[k]) ** 2 - stat[k] ** 2, 0.0))) for k in learned}
            checks = {
                "readings": {k: float(v) for k, v in read.items()},
                "series": int(len(rate_a)),
                "errors_from": f"the rates at which the encoder's readings advance along {len(rate_a)} held-out series "
                f"(statistical: a jackknife over {GROUPS} groups of series; systematic: the learned steps less those rates, "
                "less the statistical part in quadrature)",
            }
        return self.verdict(
            rel <= evidence.rtol,
            latent=[a.latent, b.latent],
            expression=f"{self.expression} = {ratio:.6g}",
            latex=sp.latex(self.expression) + f" = {ratio:.4f}",
            fitted_constants=learned,
            true_constants=true,
            relative_errors={"ratio": rel},
            standard_errors=stat,
            systematic_errors=sys_,
            checks={"rtol": evidence.rtol, **checks},
        )


def ratio_of(a: np.ndarray, b: np.ndarray) -> float:
    mean_b = float(np.mean(b))
    return float(np.mean(a)) / mean_b if mean_b else float("inf")


def reading_rates(evidence: Evidence, holder) -> tuple[np.ndarray, np.ndarray] | None:
    """Per held-out series, the rate (per step, signed as ``holder`` holds its quantity) at which the encoder's
    readings of the neuron advance: the least-squares slope of the readings against the step, a circle neuron's
    unwrapped along the series first.  Returns ``(rates, group)`` with each series' jackknife group, or None where
    there are fewer than ``2 GROUPS`` series of at least three steps."""
    frame = evidence.latents
    if not {"series", "step"} <= set(frame.columns) or holder.latent not in frame:
        return None
    omega = float(evidence.steps[evidence.latent_names.index(holder.latent)])
    rates = []
    for _, rows in frame[["series", "step", holder.latent]].groupby("series", sort=True):
        rows = rows.sort_values("step")
        if len(rows) < 3:
            continue
        t = rows["step"].to_numpy(dtype=float)
        z = rows[holder.latent].to_numpy(dtype=float)
        if evidence.kind == "circle":  # unwrapped about the learned step, so a step near pi does not alias
            z = np.unwrap(z - omega * t) + omega * t
        t = t - t.mean()
        rates.append(float(np.dot(t, z - z.mean()) / np.dot(t, t)))
    if len(rates) < 2 * GROUPS:
        return None
    return holder.match.sign * np.array(rates), np.arange(len(rates)) % GROUPS


def _jackknife(stat, groups: np.ndarray) -> float:
    """The grouped jackknife standard error of ``stat(keep)`` (``keep``: a row mask)."""
    return float(np.sqrt(jackknife_variance([stat(groups != g) for g in np.unique(groups)])))

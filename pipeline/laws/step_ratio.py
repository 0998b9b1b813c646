"""``step_ratio``: the ratio of the learned steps of the neurons holding two quantities.

For a latent that evolves by a constant step per neuron (``z_{t+1} = z_t +
omega``), the steps of the neurons holding ``quantities[0]`` and
``quantities[1]`` (signs taken from how they hold them) must have the ratio
``true_value`` within ``verify.constant_rtol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from pipeline.catalog import Verdict
from pipeline.laws.base import Evidence, Law


@dataclass(frozen=True)
class StepRatio(Law):
    kind = "step_ratio"
    order = 2
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
        return self.verdict(
            rel <= evidence.rtol,
            latent=[a.latent, b.latent],
            expression=f"{self.expression} = {ratio:.6g}",
            latex=sp.latex(self.expression) + f" = {ratio:.4f}",
            fitted_constants={"ratio": ratio, f"omega_{self.quantities[0]}": omega_a, f"omega_{self.quantities[1]}": omega_b},
            true_constants=true,
            relative_errors={"ratio": rel},
            checks={"rtol": evidence.rtol},
        )

"""``latents_span``: the active neurons together determine the listed quantities.

Each quantity is regressed on the active neurons by a cubic polynomial (least
squares on half the held-out rows, R^2 on the other half), so a neuron that is
a smooth, not necessarily linear, mixture of the quantities counts.  The law
holds when every quantity reaches ``verify.r2`` and there are exactly as many
active neurons as quantities (the representation is minimal).  The record also
lists, per active neuron, the quantity it follows best (R^2 of an affine fit)
and its selected equation on the quantities, from symbolic regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.catalog import Verdict
from pipeline.geometry import affine_fit, span_r2
from pipeline.laws.base import Evidence, Law, too_few


@dataclass(frozen=True)
class LatentsSpan(Law):
    kind = "latents_span"
    quantities: tuple[str, ...] = ()

    def check(self, evidence: Evidence) -> Verdict:
        reason = too_few(evidence.latents, "held-out rows")
        if reason:
            return self.not_checked(reason)
        if not evidence.active:
            return self.verdict(False, checks={"reason": "every neuron is unused"})
        z = evidence.latents[evidence.active].to_numpy(dtype=float)
        if evidence.kind == "circle":
            z = np.concatenate([np.cos(z), np.sin(z)], axis=1)
        r2 = {q: span_r2(z, evidence.latents[q].to_numpy(dtype=float)) for q in self.quantities}
        varset = evidence.variable_set_with(set(self.quantities))
        neurons = {}
        for t in evidence.active:
            zt = evidence.latents[t].to_numpy(dtype=float)
            fits = {q: affine_fit(zt, evidence.latents[q].to_numpy(dtype=float)).score for q in self.quantities}
            best = max(fits, key=fits.get)
            expr = evidence.selected(t, varset) if varset else None
            neurons[t] = {"follows": best, "affine_r2": fits, "equation": None if expr is None else str(expr)}
        ok = all(v >= evidence.r2 for v in r2.values()) and len(evidence.active) == len(self.quantities)
        return self.verdict(
            ok,
            latent=list(evidence.active),
            expression="; ".join(f"{t} = {n['equation']}" for t, n in neurons.items() if n["equation"]) or None,
            fitted_constants={f"r2_{q}": v for q, v in r2.items()},
            checks={
                "r2_threshold": evidence.r2,
                "active": len(evidence.active),
                "expected_active": len(self.quantities),
                "neurons": neurons,
            },
        )

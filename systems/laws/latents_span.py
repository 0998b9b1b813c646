"""``latents_span``: the active neurons together determine the listed quantities.

A quantity is a ground-truth column (``"b"``) or an expression of them (``w - v_x``,
a SymPy expression or its string).

Each quantity is regressed on the active neurons by a cubic polynomial (least
squares on half the held-out rows, R^2 on the other half), so a neuron that is
a smooth, not necessarily linear, mixture of the quantities counts.  The law
holds when every quantity reaches ``verify.r2`` (or the law's own ``r2``) and
there are exactly as many active neurons as quantities, or as the law's
``active`` says (the representation is minimal).  The record also
lists, per active neuron, the quantity it follows best (R^2 of an affine fit)
and its selected equation on the quantities, from symbolic regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from systems.laws.base import Evidence, Law, too_few
from systems.laws.geometry import affine_fit, span_r2, values
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class LatentsSpan(Law):
    kind = "latents_span"
    quantities: tuple[str | sp.Expr, ...] = ()
    active: int | None = None
    """how many neurons should be active (default: one per quantity)"""
    count_active: bool = True
    """False: any number of active neurons will do (a qubit's network may hold its Bloch vector in three)"""
    r2: float | None = None
    """the R^2 each quantity must reach (default ``verify.r2``)"""

    def check(self, evidence: Evidence) -> Verdict:
        reason = too_few(evidence.latents, "held-out rows")
        if reason:
            return self.not_checked(reason)
        if not evidence.active:
            return self.verdict(False, checks={"reason": "every neuron is unused"})
        z = evidence.latents[evidence.active].to_numpy(dtype=float)
        if evidence.kind == "circle":
            z = np.concatenate([np.cos(z), np.sin(z)], axis=1)
        gt = [n for n in evidence.system.ground_truth_names if evidence.system.columns[n].size == 1]
        exprs = {str(q): sp.sympify(q, locals={n: sp.Symbol(n, real=True) for n in gt}) for q in self.quantities}
        q_values = {name: values(e, gt, evidence.latents) for name, e in exprs.items()}
        r2 = {q: span_r2(z, v) for q, v in q_values.items()}
        varset = evidence.variable_set_with({s.name for e in exprs.values() for s in e.free_symbols})
        neurons = {}
        for t in evidence.active:
            zt = evidence.latents[t].to_numpy(dtype=float)
            fits = {q: affine_fit(zt, v).score for q, v in q_values.items()}
            best = max(fits, key=fits.get)
            expr = evidence.selected(t, varset) if varset else None
            neurons[t] = {"follows": best, "affine_r2": fits, "equation": None if expr is None else str(expr)}
        threshold = evidence.r2 if self.r2 is None else self.r2
        expected = len(self.quantities) if self.active is None else self.active
        ok = all(v >= threshold for v in r2.values()) and (len(evidence.active) == expected or not self.count_active)
        return self.verdict(
            ok,
            latent=list(evidence.active),
            expression="; ".join(f"{t} = {n['equation']}" for t, n in neurons.items() if n["equation"]) or None,
            fitted_constants={f"r2_{q}": v for q, v in r2.items()},
            checks={
                "r2_threshold": threshold,
                "active": len(evidence.active),
                "expected_active": expected if self.count_active else None,
                "neurons": neurons,
            },
        )

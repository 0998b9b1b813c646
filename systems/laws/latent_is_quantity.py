"""``latent_is_quantity``: one neuron holds a quantity, ``z = +-q + c`` (mod 2 pi for a circular latent).

Judged three ways: the neuron (held-out rows) matches ``q`` with a score of at
least ``verify.circular_correlation`` (:mod:`systems.laws.geometry`: circular
correlation for a circle, R^2 of the affine fit for a real neuron); its selected
equation on the ground truth matches ``q`` as well on fresh samples; and that
equation has the form ``a q + c`` (SymPy pattern match) with the slope ``a``
within ``verify.constant_rtol`` of +-1.  Physics fixes the slope at +-1 (for an
angle it is a winding number), but a regression on angles cut at +-pi may leave
it a little off (``1.00035 M_M``), as it leaves any constant.  Neurons are assigned
one-to-one to the quantities of every law of this kind and of ``latent_affine``,
best match first.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from systems.laws.base import Evidence, Law, Order, symbolic_match
from systems.laws.geometry import match, symbols, values
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class LatentIsQuantity(Law):
    kind = "latent_is_quantity"
    order = Order.ASSIGNS
    assigns = True
    expression: sp.Expr = sp.Integer(0)
    """the quantity, in ground-truth symbols"""

    def check(self, evidence: Evidence) -> Verdict:
        holder = self.assigned_neuron(evidence)
        if isinstance(holder, Verdict):
            return holder
        gt = evidence.system.ground_truth_names
        varset = evidence.variable_set_with({s.name for s in self.expression.free_symbols})
        expr = evidence.selected(holder.latent, varset) if varset else None
        q_fresh = values(self.expression, gt, evidence.fresh)
        e_score = match(values(expr, gt, evidence.fresh), q_fresh, evidence.kind).score if expr is not None else 0.0
        found = symbolic_match(expr, lambda s, w: w["a"] * self.expression + w["c"], symbols(gt), ("a", "c"), signs=(1,))
        slope = None if found is None else found["a"]
        # the slope is a constant physics fixes at +-1 (for an angle, a winding number): within verify.constant_rtol
        form = slope is not None and abs(abs(slope) - 1) <= evidence.rtol
        ok = holder.match.score >= evidence.threshold and e_score >= evidence.threshold and form
        if ok:
            evidence.holders[str(self.expression)] = holder
        return self.verdict(
            ok,
            latent=holder.latent,
            sign=holder.match.sign,
            expression=None if expr is None else str(expr),
            latex=None if expr is None else sp.latex(expr),
            fitted_constants={"scale": holder.match.scale, "offset": holder.match.offset},
            checks={
                "latent_score": holder.match.score,
                "expression_score": e_score,
                "score": "circular correlation" if evidence.kind == "circle" else "R^2 of an affine fit",
                "symbolic_match": form,
                "slope": slope,
                "slope_rtol": evidence.rtol,
                "threshold": evidence.threshold,
            },
        )

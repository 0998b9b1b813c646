"""``latent_affine``: one neuron is an affine function of a quantity, ``z = a q + c``.

Judged by the R^2 of the affine fit of the neuron on ``q`` (held-out rows, at
least ``verify.r2``), by the same R^2 for its selected ground-truth equation on
fresh samples, and by the form of that equation (``a q + c``, any real ``a``,
``c``: a SymPy pattern match).  Neurons are assigned to quantities one-to-one,
best match first, together with ``latent_is_quantity`` laws.  The record also
gives ``cubic_r2``: ``q`` regressed on a cubic polynomial of the neuron (how
well the neuron determines ``q`` through any smooth map, where it is not affine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from systems.laws.base import Evidence, Law, Order, symbolic_match
from systems.laws.geometry import affine_fit, span_r2, symbols, values
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class LatentAffine(Law):
    kind = "latent_affine"
    order = Order.ASSIGNS
    assigns = True
    expression: sp.Expr = sp.Integer(0)
    """the quantity, in ground-truth symbols"""

    def check(self, evidence: Evidence) -> Verdict:
        holder = self.assigned_neuron(evidence)
        if isinstance(holder, Verdict):
            return holder
        gt = evidence.system.ground_truth_names
        q = values(self.expression, gt, evidence.latents)
        z = evidence.latents[holder.latent].to_numpy(dtype=float)
        fit = affine_fit(z, q)
        varset = evidence.variable_set_with({s.name for s in self.expression.free_symbols})
        expr = evidence.selected(holder.latent, varset) if varset else None
        e_fit = (
            affine_fit(values(expr, gt, evidence.fresh), values(self.expression, gt, evidence.fresh))
            if expr is not None
            else None
        )
        found = symbolic_match(expr, lambda s, w: w["a"] * self.expression + w["c"], symbols(gt), ("a", "c"), signs=(1,))
        ok = fit.score >= evidence.r2 and e_fit is not None and e_fit.score >= evidence.r2 and found is not None
        if ok:
            evidence.holders[str(self.expression)] = holder
        return self.verdict(
            ok,
            latent=holder.latent,
            sign=fit.sign,
            expression=None if expr is None else str(expr),
            latex=None if expr is None else sp.latex(expr),
            fitted_constants={"a": fit.scale, "c": fit.offset},
            checks={
                "latent_r2": fit.score,
                # how well the neuron determines q at all, through any smooth map (a cubic in the neuron)
                "cubic_r2": span_r2(z[:, None], q) if np.isfinite(q).all() else 0.0,
                "expression_r2": None if e_fit is None else e_fit.score,
                "symbolic_match": found is not None,
                "symbolic_constants": found,
                "r2_threshold": evidence.r2,
            },
        )

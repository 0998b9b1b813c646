"""``latent_formula``: the neuron holding a quantity computes it from the observations by a law.

The selected equation of the neuron that holds ``quantity`` (found by a
``latent_is_quantity`` or ``latent_affine`` law), on the variable set that holds
the law's variables, must equal ``s law(constants) + c``: numerically on fresh
samples after least-squares fitting of the free constants (score at least the
threshold, :mod:`systems.laws.geometry`), symbolically by a SymPy pattern match,
and every constant whose true value physics fixes within ``verify.constant_rtol``.
A constant listed in ``fixed`` is not fitted: the law asserts its value.

The constants quoted are the law fitted to the neuron itself on the held-out
rows, with their errors from that fit: statistical (least squares) and
systematic (the grouped jackknife over regions of the inputs,
:mod:`systems.laws.uncertainty`).  The selected equation's own constants (fitted
by symbolic regression) decide its form and must lie within the tolerance
too.  Where the decoder reads the same constant (an ``observation_model``),
the difference of the two readings joins the systematic error
(:func:`systems.laws.observation_model.cross_check`): over thirty Copernicus
seeds the neuron's rho lay 0.15 % high on average (-0.03 to +0.46 %), the
decoder's 0.03 % (-0.003 to +0.06 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symreg.polish import integer_frequencies
from systems.laws.base import Evidence, Law, symbolic_match, too_few
from systems.laws.geometry import fit_constants, symbols, values
from systems.laws.uncertainty import systematic_errors
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class LatentFormula(Law):
    kind = "latent_formula"
    expression: sp.Expr = sp.Integer(0)
    quantity: str = ""
    constants: Mapping[sp.Symbol, float | None] = field(default_factory=dict)
    initial: Mapping[sp.Symbol, float] = field(default_factory=dict)
    fixed: Mapping[sp.Symbol, float] = field(default_factory=dict)
    rtol: float | None = None
    """the constants' relative tolerance (default: ``verify.constant_rtol``), for a law true only to some order"""
    first_order: bool = False
    """the law holds to first order in a small constant (an eccentricity): the selected equation counts in its
    first-order form, each odd function with unit slope at 0 of a small argument (``asin(u)``, ``tanh(u)``, ...,
    ``|u| <= SMALL`` on the fresh samples) read as its argument, an error of order ``u^3``"""

    def printed(self, system) -> tuple[sp.Expr, sp.Expr]:
        return sp.Symbol(self.quantity, real=True), self.expression

    def check(self, evidence: Evidence) -> Verdict:
        true = {k.name: v for k, v in self.constants.items() if k not in self.fixed}
        true_all = {**true, **{k.name: v for k, v in self.fixed.items()}}
        reason = too_few(evidence.fresh, "fresh samples")
        if reason:
            return self.not_checked(reason, true_constants=true_all)
        holder = evidence.holders.get(self.quantity)
        if holder is None:
            return self.not_checked(
                f"no neuron was found to hold {self.quantity} (the check that assigns it did not pass)", true_constants=true_all
            )
        constants = set(self.constants)
        names_needed = {s.name for s in self.expression.free_symbols if s not in constants}
        varset = evidence.variable_set_with(names_needed)
        expr = evidence.selected(holder.latent, varset) if varset else None
        if expr is None:
            return self.verdict(
                False,
                latent=holder.latent,
                true_constants=true_all,
                checks={"reason": f"no equation of {holder.latent} on {sorted(names_needed)}"},
            )
        names = list(evidence.system.regress[varset])
        e = values(expr, names, evidence.fresh)
        law = self.expression.xreplace({k: sp.Float(v) for k, v in self.fixed.items()})
        free = [k for k in self.constants if k not in self.fixed]
        fitted, m, _ = fit_constants(law, names, evidence.fresh, e, free, self.initial, kind=evidence.kind)
        # the constants quoted: the same law fitted to the neuron itself on the held-out rows, with their errors
        # from that fit; the selected equation's own constants decide its form and score
        z = evidence.latents[holder.latent].to_numpy(dtype=float)
        start = {**self.initial, **{k: fitted[k.name] for k in free}}
        on_neuron, on_match, se = fit_constants(law, names, evidence.latents, z, free, start, kind=evidence.kind)
        # the network's own distortion of the neuron, smooth in the inputs: regions of them left out in turn
        angles = [n for n in names if evidence.system.columns[n].angle]
        sys_errors = systematic_errors(
            law, names, evidence.latents, z, free, {**start, **{k: on_neuron[k.name] for k in free}}, se,
            kind=evidence.kind, angles=angles, sign=on_match.sign,
        )  # fmt: skip
        quoted = {k.name: on_neuron[k.name] for k in free}
        rel = {k: abs(quoted[k] - v) / abs(v) for k, v in true.items() if v is not None}
        equation_rel = {k: abs(fitted[k] - v) / abs(v) for k, v in true.items() if v is not None}
        free_names = [k.name for k in free]
        form = first_order_form(expr, names, evidence.fresh) if self.first_order else expr
        rtol = evidence.rtol if self.rtol is None else self.rtol
        angles = [sp.Symbol(n, real=True) for n in names if evidence.system.columns[n].angle]
        if evidence.kind == "circle":
            form = integer_frequencies(form, angles, rtol)
            pattern = lambda s, w: s * law.xreplace({k: w[k.name] for k in free}) + w["c"]  # noqa: E731
            found = symbolic_match(form, pattern, symbols(names), [*free_names, "c"])
        else:
            pattern = lambda s, w: w["a"] * law.xreplace({k: w[k.name] for k in free}) + w["c"]  # noqa: E731
            found = symbolic_match(form, pattern, symbols(names), [*free_names, "a", "c"], signs=(1,))
        # the printed equation's constants and the quoted ones must both lie within the tolerance
        ok = (
            m.score >= evidence.threshold
            and found is not None
            and all(r <= rtol for r in [*rel.values(), *equation_rel.values()])
        )
        return self.verdict(
            ok,
            latent=holder.latent,
            sign=m.sign,
            expression=str(expr),
            latex=sp.latex(expr),
            fitted_constants={**quoted, "scale": m.scale, "offset": m.offset},
            true_constants=true_all,
            relative_errors=rel,
            standard_errors=se,
            systematic_errors=sys_errors,
            checks={
                "standard_errors_from": f"the law least-squares fitted to neuron {holder.latent} on {len(z)} held-out rows",
                "equation_constants": {k.name: fitted[k.name] for k in free},
                "equation_relative_errors": equation_rel,
                "expression_score": m.score,
                "symbolic_match": found is not None,
                "compared_form": str(form),
                "symbolic_constants": found,
                "threshold": evidence.threshold,
                "rtol": rtol,
            },
        )


SMALL = 0.3
"""an argument this small (in absolute value, everywhere on the fresh samples) counts as first order"""
_ODD_UNIT_SLOPE = (sp.sin, sp.tan, sp.asin, sp.atan, sp.sinh, sp.tanh, sp.asinh, sp.atanh)


def first_order_form(expr: sp.Expr, names, frame) -> sp.Expr:
    """``expr`` with every odd function of unit slope at 0 whose argument stays within ``SMALL`` on ``frame``
    replaced by its argument (``asin(0.18 cos x)`` -> ``0.18 cos x``): equal to ``expr`` to second order."""
    while True:
        small = {}
        for node in sp.preorder_traversal(expr):
            if isinstance(node, _ODD_UNIT_SLOPE) and node.args[0].free_symbols:
                u = values(node.args[0], names, frame)
                if np.isfinite(u).all() and np.abs(u).max() <= SMALL:
                    small[node] = node.args[0]
        if not small:
            return expr
        expr = expr.xreplace(small)

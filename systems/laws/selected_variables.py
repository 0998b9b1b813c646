"""``selected_variables``: regressed on a set of variables, a neuron's selected equation uses exactly
those of a quantity, as ``a q + c``.

Symbolic regression has to *choose* the variables: the neuron that holds ``q``
(assigned by ``latent_affine`` or ``latent_is_quantity``) is regressed on every
column of ``variable_set`` (for a collision, all eight ground-truth variables),
and the law holds when the selected equation's free symbols are exactly those
of ``q`` and the equation is ``a q + c`` (a SymPy pattern match, ``a`` and ``c``
real numbers).  How well the neuron follows ``q`` numerically is
``latent_affine``'s question, not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from systems.laws.base import Evidence, Law, symbolic_match
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class SelectedVariables(Law):
    kind = "selected_variables"
    expression: sp.Expr = sp.Integer(0)
    """the quantity, in ground-truth symbols"""
    variable_set: str = "ground_truth"
    """the regression variable set (``PhysicalSystem.regress``) the equation is selected from"""

    def check(self, evidence: Evidence) -> Verdict:
        columns = evidence.system.regress.get(self.variable_set)
        wanted = sorted(s.name for s in self.expression.free_symbols)
        if columns is None or not set(wanted) <= set(columns):
            return self.not_checked(
                f"the system declares no variable set {self.variable_set!r} holding {', '.join(wanted)} (PhysicalSystem.regress)"
            )
        holder = self.assigned_neuron(evidence)
        if isinstance(holder, Verdict):
            return holder
        expr = evidence.selected(holder.latent, self.variable_set)
        used = sorted(s.name for s in expr.free_symbols) if expr is not None else []
        variables = [sp.Symbol(n, real=True) for n in columns]
        found = symbolic_match(expr, lambda s, w: w["a"] * self.expression + w["c"], variables, ("a", "c"), signs=(1,))
        nonzero = found is not None and found.get("a", 0.0) != 0.0
        ok = expr is not None and used == wanted and nonzero
        return self.verdict(
            ok,
            latent=holder.latent,
            expression=None if expr is None else str(expr),
            latex=None if expr is None else sp.latex(expr),
            checks={
                "variable_set": self.variable_set,
                "candidates": list(columns),
                "variables_used": used,
                "variables_expected": wanted,
                "symbolic_match": nonzero,
                "symbolic_constants": found,
                **({} if expr is not None else {"reason": f"no selected equation of {holder.latent} on {self.variable_set}"}),
            },
        )

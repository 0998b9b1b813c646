"""``function_of``: regressed on many variables, a neuron's equation uses exactly those of a quantity ``q`` and
is a function of ``q`` alone.

The statement does not depend on how the neuron encodes ``q``: a network that holds the angular momentum
``L = w - v_x`` through a monotone, non-linear map (as a beta-VAE's KL term tends to make it) holds it as
well as one that holds it linearly, and its equation ``f(w, v_x)`` is then some function of ``w - v_x``,
not ``a (w - v_x) + c``.  The test is differential.  ``f`` is a function of ``q`` alone exactly where its
gradient is parallel to the gradient of ``q``; on the held-out rows the law measures the *transverse
share*

    mean |grad f - (grad f . grad q / |grad q|^2) grad q|^2  /  mean |grad f|^2

(for ``q = w - v_x``: the square of ``f``'s derivative along ``w + v_x`` against its whole gradient), and
holds when the equation uses exactly the variables of ``q``, changes at all, follows the neuron (R^2 of an
affine fit of the neuron on the equation, held-out rows, at least ``verify.r2``), and its transverse share is
at most ``1 - verify.r2`` (1 %: what R^2 leaves unexplained elsewhere), or the law's own ``tolerance``.  The
gradient is taken in the variables' own units, so the share is meaningful where they share a unit (the
collision's velocities).  The neuron is the one assigned to ``q`` (best match first, with the other
assigning laws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from systems.laws.base import Evidence, Law, Order
from systems.laws.geometry import affine_fit, values
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class FunctionOf(Law):
    kind = "function_of"
    order = Order.ASSIGNS
    assigns = True
    expression: sp.Expr = sp.Integer(0)
    """the quantity, in ground-truth symbols"""
    variable_set: str = "ground_truth"
    """the regression variable set (``PhysicalSystem.regress``) the equation is selected from"""
    tolerance: float | None = None
    """the largest transverse share (default ``1 - verify.r2``)"""

    def check(self, evidence: Evidence) -> Verdict:
        columns = evidence.system.regress.get(self.variable_set)
        wanted = sorted(s.name for s in self.expression.free_symbols)
        if columns is None or not set(wanted) <= set(columns):
            return self.not_checked(
                f"the system declares no variable set {self.variable_set!r} holding {', '.join(wanted)} "
                "(PhysicalSystem.regress)"
            )
        holder = self.assigned_neuron(evidence)
        if isinstance(holder, Verdict):
            return holder
        expr = evidence.selected(holder.latent, self.variable_set)
        tolerance = 1 - evidence.r2 if self.tolerance is None else self.tolerance
        if expr is None:
            return self.verdict(
                False, latent=holder.latent, checks={"reason": f"no selected equation of {holder.latent} on {self.variable_set}"}
            )
        used = sorted(s.name for s in expr.free_symbols)
        share, gradient = transverse_share(expr, self.expression, wanted, evidence.latents)
        on_neuron = values(expr, list(columns), evidence.latents) if used == wanted else None
        follows = (
            affine_fit(evidence.latents[holder.latent].to_numpy(dtype=float), on_neuron).score
            if on_neuron is not None and np.isfinite(on_neuron).all()
            else 0.0
        )
        ok = used == wanted and gradient > 0 and follows >= evidence.r2 and share is not None and share <= tolerance
        return self.verdict(
            ok,
            latent=holder.latent,
            expression=str(expr),
            latex=sp.latex(expr),
            checks={
                "variable_set": self.variable_set,
                "variables_used": used,
                "variables_expected": wanted,
                "equation_r2": follows,
                "r2_threshold": evidence.r2,
                "transverse_share": share,
                "tolerance": tolerance,
                "gradient_rms": gradient,
                "rows": len(evidence.latents),
            },
        )


def transverse_share(f: sp.Expr, q: sp.Expr, names: list[str], frame) -> tuple[float | None, float]:
    """The share of ``f``'s squared gradient (in ``names``) that is not along ``q``'s gradient, over the rows of
    ``frame``, and the RMS of ``f``'s gradient; (None, 0) where ``f`` uses other variables or is undefined."""
    symbols = [sp.Symbol(n, real=True) for n in names]
    if not f.free_symbols <= set(symbols):
        return None, 0.0
    grad_f = np.column_stack([np.broadcast_to(values(sp.diff(f, s), names, frame), len(frame)) for s in symbols])
    grad_q = np.column_stack([np.broadcast_to(values(sp.diff(q, s), names, frame), len(frame)) for s in symbols])
    ok = np.isfinite(grad_f).all(axis=1) & np.isfinite(grad_q).all(axis=1) & (np.sum(grad_q**2, axis=1) > 0)
    if not ok.any():
        return None, 0.0
    grad_f, grad_q = grad_f[ok], grad_q[ok]
    along = np.sum(grad_f * grad_q, axis=1) / np.sum(grad_q**2, axis=1)
    transverse = grad_f - along[:, None] * grad_q
    total = float(np.mean(np.sum(grad_f**2, axis=1)))
    if total <= 0:
        return None, 0.0
    return float(np.mean(np.sum(transverse**2, axis=1)) / total), float(np.sqrt(total))

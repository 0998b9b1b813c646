"""``constant_relation``: a relation between learned steps and constants that earlier laws fitted.

``left = right`` within ``tolerance`` (relative), where the expressions may use

* ``omega_Q``: the learned step of the neuron holding quantity ``Q`` (sign taken
  from how it holds it), for a latent that evolves by constant steps;
* any constant another law of the system fitted (``rho`` of the Mars law), by name.

Kepler's third law for circular orbits, ``(omega_E / omega_M)^2 = rho^3``:
the periods come from the network's learned steps, the radius ratio from the
law the Mars neuron computes, and nothing else connects the two.  A constant
fitted by a law that was not discovered leaves this law `not checked`.

Each side carries the errors of what it is made of (the statistical and the
systematic parts apart, where the laws that fitted them stated them, and the
learned steps' from :mod:`systems.laws.step_ratio`), propagated to first order
as independent errors: ``sigma_f^2 = sum (df/dx sigma_x)^2``.  The two learned
steps' errors come from the same series and are positively correlated, so for
a ratio of them this overstates the error (the median stated error of
``(omega_E/omega_M)^2`` was 0.8 to 2.4 times the spread between seeds over five
Copernicus, sky and elliptic ensembles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from systems.laws.base import Evidence, Law, Order
from systems.laws.verdict import DISCOVERED, Verdict


@dataclass(frozen=True)
class ConstantRelation(Law):
    kind = "constant_relation"
    order = Order.RELATES  # after the laws that fit the constants and the step ratio
    left: sp.Expr = sp.Integer(0)
    right: sp.Expr = sp.Integer(0)
    tolerance: float = 0.02
    true_value: float | None = None
    """the value of both sides that physics gives (reported, not used by the check)"""

    def check(self, evidence: Evidence) -> Verdict:
        true = {"left": self.true_value, "right": self.true_value}
        values: dict[sp.Symbol, float] = {}
        neurons: list[str] = []
        for symbol in sorted((self.left - self.right).free_symbols, key=str):
            name = symbol.name
            if name.startswith("omega_"):
                if evidence.steps is None:
                    return self.not_checked("the latent has no learned steps (evolution 'none')", true_constants=true)
                holder = evidence.holders.get(name[len("omega_") :])
                if holder is None:
                    return self.not_checked(
                        f"no neuron was found to hold {name[len('omega_') :]} (the check that assigns it did not pass)",
                        true_constants=true,
                    )
                values[symbol] = evidence.signed_step(holder)
                neurons.append(holder.latent)
            elif name in evidence.fitted:
                value, law, word = evidence.fitted[name]
                if word != DISCOVERED:
                    return self.not_checked(f"{name} comes from the law {law}, which was {word}", true_constants=true)
                values[symbol] = value
            else:
                return self.not_checked(f"no law of this system fitted a constant {name}", true_constants=true)
        left = float(self.left.xreplace({k: sp.Float(v) for k, v in values.items()}))
        right = float(self.right.xreplace({k: sp.Float(v) for k, v in values.items()}))
        rel = abs(left - right) / abs(right) if right else float("inf")
        stat, sys_ = {}, {}
        for side, expr in (("left", self.left), ("right", self.right)):
            stat[side], sys_[side] = (propagated(expr, values, evidence.errors, part) for part in (0, 1))
        return self.verdict(
            bool(np.isfinite(rel) and rel <= self.tolerance),
            latent=neurons or None,
            expression=f"{self.left} = {self.right}",
            latex=f"{sp.latex(self.left)} = {sp.latex(self.right)}",
            fitted_constants={"left": left, "right": right, **{k.name: v for k, v in values.items()}},
            true_constants=true,
            relative_errors={"left_vs_right": rel},
            standard_errors={k: v for k, v in stat.items() if v is not None},
            systematic_errors={k: v for k, v in sys_.items() if v is not None},
            checks={"tolerance": self.tolerance},
        )


def propagated(expr: sp.Expr, values: dict[sp.Symbol, float], errors: dict, part: int) -> float | None:
    """The error of ``expr`` at ``values`` from part ``part`` (0: statistical, 1: systematic) of the errors of its
    symbols (``errors``: name -> (stat, sys)), to first order; None where no symbol has that part stated."""
    at = {k: sp.Float(v) for k, v in values.items()}
    terms = []
    for symbol in expr.free_symbols:
        error = errors.get(symbol.name, (None, None))[part]
        if error is None or not np.isfinite(error):
            continue
        slope = float(sp.diff(expr, symbol).xreplace(at))
        terms.append((slope * error) ** 2)
    return float(np.sqrt(sum(terms))) if terms else None

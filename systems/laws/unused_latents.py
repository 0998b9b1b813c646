"""``unused_latents``: how many neurons the network leaves unused.

A neuron is unused when its posterior stays at the prior: its KL divergence
from the prior, averaged over the held-out rows, is below ``export.unused_kl``
nats or below ``export.unused_fraction`` of the largest neuron's; or when the
answers do not need it, because it tells the decoder nothing the neurons kept do
not (a second copy of a quantity another neuron holds; ``export.needed_share``,
:func:`stages.export.needed`).  The export stage decides this once and records
it; unused neurons are left out of regression and of the other checks.  The law
holds when exactly ``count`` neurons are unused.
"""

from __future__ import annotations

from dataclasses import dataclass

from systems.laws.base import Evidence, Law, Order, too_few
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class UnusedLatents(Law):
    kind = "unused_latents"
    order = Order.ASSIGNS
    count: int = 1

    def check(self, evidence: Evidence) -> Verdict:
        reason = too_few(evidence.latents, "held-out rows")
        if reason:
            return self.not_checked(reason, true_constants={"unused": self.count})
        unused = [t for t in evidence.latent_names if t not in evidence.active]
        return self.verdict(
            len(unused) == self.count,
            latent=unused,
            expression=f"unused: {', '.join(unused) or 'none'}",
            fitted_constants={"unused": len(unused)},
            true_constants={"unused": self.count},
            checks={"kl_per_neuron": evidence.kl, "active": evidence.active},
        )

"""``prediction_rms``: the trained network answers held-out questions to within a given RMS error.

Read from ``history.json`` (the RMS over held-out samples of every answer column,
predicted from the latent means).  The law is stated for a network with at least
``min_latent_size`` latent neurons (as many as the system has degrees of freedom);
a smaller network gets `not checked`, with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from systems.laws.base import Evidence, Law, MissingEvidence
from systems.laws.verdict import Verdict


@dataclass(frozen=True)
class PredictionRms(Law):
    kind = "prediction_rms"
    max_rms: float = 0.01
    min_latent_size: int = 1

    def check(self, evidence: Evidence) -> Verdict:
        size = len(evidence.latent_names)
        if size < self.min_latent_size:
            return self.not_checked(
                f"the law is for at least {self.min_latent_size} latent neurons; this network has {size}",
                true_constants={"max_rms": self.max_rms},
            )
        rms = evidence.prediction_rms.get("all")
        if rms is None:
            return self.not_checked(MissingEvidence("history.json records no held-out prediction error"))
        return self.verdict(
            rms <= self.max_rms,
            fitted_constants={"rms": float(rms)},
            true_constants={"max_rms": self.max_rms},
            checks={"prediction_rms": dict(evidence.prediction_rms), "latent_size": size},
        )

"""Evidence as the verify stage builds it from held-out rows, for the law tests: the rows serve as both the
held-out latents and the fresh samples, with no equations and no KL."""

import pandas as pd

from systems.laws import Evidence, Holder


def evidence(system, frame: pd.DataFrame, latents: list[str], *, steps=None, holders: dict[str, Holder] | None = None):
    out = Evidence(
        system=system,
        latents=frame,
        equations=pd.DataFrame(),
        fresh=frame,
        latent_names=list(latents),
        active=list(latents),
        kl={},
        steps=steps,
    )
    out.holders = dict(holders or {})
    return out

"""Stage 1: simulate observation series with their ground truth, seeded, to Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import ScinetError
from pipeline.orchestrate import StageContext
from pipeline.rundir import write_parquet


def simulate_frame(system, *, n_series: int, series_length: int, seed: int, test_fraction: float = 0.2) -> pd.DataFrame:
    """Simulate ``n_series`` series and mark a seeded ``test_fraction`` of them as held out."""
    rng = np.random.default_rng(seed)
    columns = system.simulator(n_series=n_series, series_length=series_length, rng=rng)
    frame = pd.DataFrame(dict(columns))
    expected = ["series", "step", system.time.name, *system.observation_names, *system.ground_truth_names]
    missing = [c for c in expected if c not in frame]
    if missing:
        raise ScinetError(
            f"The simulator of system {system.name!r} did not return columns {missing}. Fix systems/{system.name}.py."
        )
    values = frame[expected[2:]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ScinetError(f"The simulator of system {system.name!r} returned NaN or infinite values. Check its parameters.")
    n_test = max(1, round(test_fraction * n_series))
    test = rng.permutation(n_series)[:n_test]
    frame["split"] = np.where(np.isin(frame["series"], test), "test", "train")
    return frame[["series", "step", "split", *expected[2:]]]


def run(ctx: StageContext) -> None:
    cfg = ctx.config.simulate
    frame = simulate_frame(
        ctx.system, n_series=cfg.n_series, series_length=cfg.series_length, seed=ctx.config.seed, test_fraction=cfg.test_fraction
    )
    units = {name: col.unit for name, col in ctx.system.columns.items()}
    write_parquet(
        ctx.path("observations.parquet"),
        frame,
        {"kind": "observations", "system": ctx.system.name, "seed": ctx.config.seed, "run": str(ctx.run_dir), "units": units},
    )

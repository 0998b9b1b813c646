"""Stage 1: simulate samples (or series) with their ground truth, seeded, to Parquet."""

from __future__ import annotations

from pipeline.catalog import write_observations
from pipeline.context import StageContext
from pipeline.simulation import simulate_frame


def run(ctx: StageContext) -> None:
    cfg = ctx.config.simulate
    frame = simulate_frame(
        ctx.system,
        n_samples=cfg.n_samples,
        series_length=cfg.series_length,
        seed=ctx.config.seed,
        test_fraction=cfg.test_fraction,
        noise=cfg.noise,
    )
    write_observations(ctx, frame)

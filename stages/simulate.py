"""Stage 1: simulate samples (or series) with their ground truth, seeded, to Parquet."""

from __future__ import annotations

from pipeline.catalog import write_observations
from pipeline.context import StageContext
from pipeline.simulation import simulate_frame
from pipeline.stage import Output, Stage


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


STAGE = Stage(
    name="simulate",
    help="Simulate samples and their ground truth (observations.parquet); for a system declared over data, cut them from the data.",
    doc="simulate samples and their ground truth",
    inputs=(),
    outputs=(Output("observations.parquet", "observations", "simulated samples with their ground truth and split"),),
    run=run,
)

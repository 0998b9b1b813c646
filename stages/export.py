"""Stage 3: latent means and log-sigmas for every observation, with inputs and ground truth."""

from __future__ import annotations

import numpy as np

from pipeline.errors import ArtifactError
from pipeline.orchestrate import StageContext
from pipeline.rundir import read_parquet, write_parquet
from stages.train import load_model, load_observations


def latent_columns(size: int) -> tuple[list[str], list[str]]:
    return [f"z{i}" for i in range(size)], [f"z{i}_log_sigma" for i in range(size)]


def run(ctx: StageContext) -> None:
    system = ctx.system
    frame, _ = load_observations(ctx)
    model = load_model(ctx)
    if model.latent_size != system.latent.size or len(model.angle_mask) != len(system.observations):
        raise ArtifactError(
            f"{ctx.path('model.keras')} does not fit system {system.name!r} (latent size {model.latent_size}). "
            f"Re-train with `scinet train {system.name} --force`."
        )
    x = frame[system.observation_names].to_numpy(dtype="float32")
    means, log_sigmas = [], []
    for start in range(0, len(x), ctx.config.export.batch_size):
        mean, log_sigma = model.encode(x[start : start + ctx.config.export.batch_size])
        means.append(np.asarray(mean))
        log_sigmas.append(np.asarray(log_sigma))
    mean = np.concatenate(means)
    log_sigma = np.concatenate(log_sigmas)
    mean_cols, sigma_cols = latent_columns(system.latent.size)
    out = frame.copy()
    for i in range(system.latent.size):
        out[mean_cols[i]] = mean[:, i].astype(float)
        out[sigma_cols[i]] = log_sigma[:, i].astype(float)
    units = {name: col.unit for name, col in system.columns.items()}
    units.update({c: "rad" if system.latent.kind == "circle" else "1" for c in mean_cols})
    units.update({c: "1" for c in sigma_cols})
    write_parquet(
        ctx.path("latents.parquet"),
        out,
        {
            "kind": "latents",
            "system": system.name,
            "seed": ctx.config.seed,
            "run": str(ctx.run_dir),
            "units": units,
            "latent_kind": system.latent.kind,
            "latent_columns": mean_cols,
            "latent_steps": [float(w) for w in np.asarray(model.omega)],
            "time_step": float(frame.loc[frame["step"] == 1, system.time.name].iloc[0]) if (frame["step"] == 1).any() else None,
        },
    )


def load_latents(ctx: StageContext):
    system = ctx.system
    mean_cols, _ = latent_columns(system.latent.size)
    frame, meta = read_parquet(
        ctx.path("latents.parquet"),
        producer="export",
        kind="latents",
        system=system.name,
        columns=["split", *system.observation_names, *system.ground_truth_names, *mean_cols],
    )
    values = frame[[*system.observation_names, *system.ground_truth_names, *mean_cols]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ArtifactError(
            f"{ctx.path('latents.parquet')} holds NaN or infinite values. Re-create it with `scinet export {system.name} --force`."
        )
    steps = meta.get("latent_steps")
    if not isinstance(steps, list) or len(steps) != system.latent.size:
        raise ArtifactError(
            f"{ctx.path('latents.parquet')} lacks the latent steps in its metadata. Re-run `scinet export --force`."
        )
    return frame, meta

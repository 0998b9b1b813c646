"""Stage 4: symbolic regression of every latent neuron.

Each latent is fitted twice: as a function of the observations (how the network
computes it: for Copernicus the heliocentric-angle formula) and as a function of
the ground truth (which physical quantity the neuron holds).
"""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
import pandas as pd

from pipeline.orchestrate import StageContext
from pipeline.rundir import write_parquet
from stages.export import latent_columns, load_latents
from symreg.base import FRONT_COLUMNS
from symreg.engines import make_engine
from symreg.search import search

log = logging.getLogger("scinet")

VARIABLE_SETS = ("observations", "ground_truth")


def run(ctx: StageContext) -> None:
    system, cfg = ctx.system, ctx.config.regress
    engine = partial(
        make_engine,
        cfg.backend,
        time_budget=cfg.time_budget,
        max_length=cfg.max_length,
        operators=cfg.operators,
        seed=ctx.config.seed,
        threads=cfg.threads,
    )
    engine()  # fail now, not after the first target, if the backend cannot run
    frame, meta = load_latents(ctx)
    train = frame[frame["split"] == "train"]
    rng = np.random.default_rng(ctx.config.seed)
    rows = rng.choice(len(train), size=min(cfg.n_rows, len(train)), replace=False)
    sample = train.iloc[np.sort(rows)]
    columns = {name: system.columns[name] for name in (*system.observation_names, *system.ground_truth_names)}
    fronts = []
    for target in latent_columns(system.latent.size)[0]:
        for varset in VARIABLE_SETS:
            names = system.observation_names if varset == "observations" else system.ground_truth_names
            log.info("regress: %s as a function of the %s %s", target, varset.replace("_", " "), names)
            front = search(
                engine,
                sample[names].to_numpy(dtype=float),
                sample[target].to_numpy(dtype=float),
                variable_names=names,
                angle_names=[n for n in names if columns[n].angle],
                circular=system.latent.kind == "circle",
                noise_variance=float(np.mean(np.exp(2 * sample[f"{target}_log_sigma"].to_numpy(dtype=float)))),
                seed=ctx.config.seed,
            )
            front.insert(0, "variables", varset)
            front.insert(0, "target", target)
            fronts.append(front)
            best = front[front["selected"]].iloc[0]
            log.info("regress:   %s = %s   (loss %.2e)", target, best["sympy_format"], best["loss"])
    table = pd.concat(fronts, ignore_index=True)
    extra = [c for c in table.columns if c not in ("target", "variables", *FRONT_COLUMNS)]
    table = table[["target", "variables", *FRONT_COLUMNS, *extra]]
    write_parquet(
        ctx.path("equations.parquet"),
        table,
        {
            "kind": "equations",
            "system": system.name,
            "seed": ctx.config.seed,
            "run": str(ctx.run_dir),
            "backend": cfg.backend,
            "variables": {"observations": system.observation_names, "ground_truth": system.ground_truth_names},
            "latents_run": meta.get("run"),
        },
    )

"""Stage 4: symbolic regression of every latent neuron.

Each latent is fitted twice: as a function of the observations (how the network
computes it: for Copernicus the heliocentric-angle formula) and as a function of
the ground truth (which physical quantity the neuron holds).

The targets (latent x variable set) are independent searches; they run in
parallel, one process each, on up to ``regress.workers`` cores (0: all), every
search with its own time budget and the run's seed.  The engine's budget is
counted in evaluations per engine thread (see :mod:`symreg.operon`), and each
search has ``regress.threads`` threads (1 by default), so the equations do not
depend on how many searches run at once, on the machine's core count or on
its load.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

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


def search_task(task: dict[str, Any]) -> pd.DataFrame:
    """One target's search; a plain function of plain data, so it can run in a worker process."""
    engine = partial(make_engine, task["backend"], **task["engine"])
    return search(engine, task["X"], task["y"], **task["search"])


def run_tasks(tasks: list[dict[str, Any]], *, workers: int) -> list[pd.DataFrame]:
    """Run searches, in ``workers`` processes where that is more than one (results in task order)."""
    if workers <= 1 or len(tasks) <= 1:
        return [search_task(t) for t in tasks]
    # spawn, not fork: the parent may hold TensorFlow's threads from the train stage
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(search_task, tasks))


def run(ctx: StageContext) -> None:
    system, cfg = ctx.system, ctx.config.regress
    make_engine(cfg.backend)  # fail now, before any work, if the backend cannot run
    frame, meta = load_latents(ctx)
    train = frame[frame["split"] == "train"]
    rng = np.random.default_rng(ctx.config.seed)
    rows = rng.choice(len(train), size=min(cfg.n_rows, len(train)), replace=False)
    sample = train.iloc[np.sort(rows)]
    columns = {name: system.columns[name] for name in (*system.observation_names, *system.ground_truth_names)}
    targets = [(t, v) for t in latent_columns(system.latent.size)[0] for v in VARIABLE_SETS]
    cores = os.cpu_count() or 1
    workers = min(cfg.workers or cores, len(targets))
    threads = cfg.threads
    tasks = []
    for target, varset in targets:
        names = system.observation_names if varset == "observations" else system.ground_truth_names
        tasks.append(
            {
                "backend": cfg.backend,
                "engine": {
                    "time_budget": cfg.time_budget,
                    "max_length": cfg.max_length,
                    "operators": cfg.operators,
                    "seed": ctx.config.seed,
                    "threads": threads,
                },
                "X": sample[names].to_numpy(dtype=float),
                "y": sample[target].to_numpy(dtype=float),
                "search": {
                    "variable_names": names,
                    "angle_names": [n for n in names if columns[n].angle],
                    "circular": system.latent.kind == "circle",
                    "noise_variance": float(np.mean(np.exp(2 * sample[f"{target}_log_sigma"].to_numpy(dtype=float)))),
                    "rtol": cfg.constant_rtol,
                    "seed": ctx.config.seed,
                },
            }
        )
    log.info(
        "regress: %d searches (%s), %d at a time, %d engine thread(s) each, %.0f s budget per search and target transform",
        len(tasks),
        ", ".join(f"{t} ~ {v.replace('_', ' ')}" for t, v in targets),
        workers,
        threads,
        cfg.time_budget,
    )
    fronts = []
    for (target, varset), front in zip(targets, run_tasks(tasks, workers=workers), strict=True):
        front.insert(0, "variables", varset)
        front.insert(0, "target", target)
        fronts.append(front)
        best = front[front["selected"]].iloc[0]
        log.info("regress:   %s ~ %s: %s   (held-out loss %.2e)", target, varset.replace("_", " "), best["sympy_format"], best["loss"])
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

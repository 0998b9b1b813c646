"""Stage 4: symbolic regression of every active latent neuron, and of the network's answer.

Each active neuron is fitted on every variable set the system declares
(``PhysicalSystem.regress``: for Copernicus the observations, how the network
computes the neuron, and the ground truth, which quantity it holds).  Unused
neurons (``latents.parquet`` metadata) are left out.  The columns' units go
with them: the search also tries the neuron as a function of dimensionless
groups of the inputs (a neuron has no unit of its own, so its equations are
not filtered for homogeneity; see :func:`symreg.search.search`).  Where the system declares
an answer law, the network's answers on fresh samples (``probe.parquet``) are
fitted as a family of curves in the question (:mod:`symreg.family`), the
variable set ``law_of_motion``, with the network's held-out mean squared error
(``history.json``) as the noise floor: a law that fits the answers more
closely than the network fits the truth is fitting the network's errors.  For
the angle of an answered point (``AnswerLawSpec.angle_of``) the search is on the
circle and the noise floor is the sum of the two coordinates' errors.

The searches are independent; they run in parallel, one process each, on up
to ``regress.workers`` cores (0: all), every search with its own time budget
and the run's seed.  The engine's budget is counted in evaluations per engine
thread (see :mod:`symreg.operon`), so the equations do not depend on how many
searches run at once, on the machine's core count or on its load.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from pipeline import progress
from pipeline.catalog import artifact_hash, read_history, read_latents, read_probe, write_equations
from pipeline.context import StageContext
from pipeline.executors import get_executor
from symreg.base import FRONT_COLUMNS
from symreg.engines import make_engine
from symreg.family import search_family
from symreg.search import search

log = logging.getLogger("scinet")

LAW_OF_MOTION = "law_of_motion"


def search_task(task: dict[str, Any]) -> pd.DataFrame:
    """One search; a plain function of plain data, so it can run in a worker process."""
    engine = partial(make_engine, task["backend"], **task["engine"])
    if task["kind"] == "family":
        front, record = search_family(engine, task["P"], task["t"], task["y"], task["groups"], **task["search"])
        front["family"] = str(record)
        return front
    return search(engine, task["X"], task["y"], **task["search"])


def run(ctx: StageContext) -> None:
    system, cfg = ctx.system, ctx.config.regress
    make_engine(cfg.backend)  # fail now, before any work, if the backend cannot run
    frame, meta = read_latents(ctx)
    train = frame[frame["split"] == "train"]
    rng = np.random.default_rng(ctx.config.seed)
    rows = rng.choice(len(train), size=min(cfg.n_rows, len(train)), replace=False)
    sample = train.iloc[np.sort(rows)]
    engine = {"max_length": cfg.max_length, "operators": cfg.operators, "seed": ctx.config.seed, "threads": cfg.threads}
    tasks, labels = [], []
    for target in meta["active"]:
        for varset, names in system.regress.items():
            names = list(names)
            tasks.append(
                {
                    "kind": "search",
                    "backend": cfg.backend,
                    "engine": {**engine, "time_budget": cfg.time_budget},
                    "X": sample[names].to_numpy(dtype=float),
                    "y": sample[target].to_numpy(dtype=float),
                    "search": {
                        "variable_names": names,
                        "angle_names": [n for n in names if system.columns[n].angle],
                        "circular": system.latent.kind == "circle",
                        "noise_variance": float(np.mean(np.exp(2 * sample[f"{target}_log_sigma"].to_numpy(dtype=float)))),
                        # the inputs' units; a neuron has none of its own (target_unit unset)
                        "units": {n: system.columns[n].unit for n in names},
                        "rtol": cfg.constant_rtol,
                        "seed": ctx.config.seed,
                    },
                }
            )
            labels.append((target, varset))
    variables = {k: list(v) for k, v in system.regress.items()}
    spec = system.answer_law
    probe = read_probe(ctx) if spec is not None else None
    if spec is not None and probe is not None:
        # the network's answers lie this far from the truth (held-out mean squared error): the noise floor
        noise = spec.noise_variance(read_history(ctx).prediction_rms)
        parameters = [*spec.parameters, *spec.question_parameters]
        tasks.append(
            {
                "kind": "family",
                "backend": cfg.backend,
                "engine": {**engine, "time_budget": cfg.law_time_budget},
                "P": probe[parameters].to_numpy(dtype=float),
                "t": probe[spec.question].to_numpy(dtype=float),
                "y": probe[spec.answer].to_numpy(dtype=float),
                "groups": probe["sample"].to_numpy(),
                "search": {
                    "parameter_names": parameters,
                    "question_name": spec.question,
                    "noise_variance": noise,
                    "units": {n: system.columns[n].unit for n in spec.variables},
                    "circular": spec.angle_of is not None,
                    "rtol": cfg.constant_rtol,
                    "seed": ctx.config.seed,
                },
            }
        )
        labels.append((spec.answer, LAW_OF_MOTION))
        variables[LAW_OF_MOTION] = spec.variables
    workers = min(cfg.workers or os.cpu_count() or 1, max(len(tasks), 1))
    log.info(
        "regress: %d searches (%s), %d at a time, %.0f s budget per search and target transform",
        len(tasks),
        ", ".join(f"{t} ~ {v.replace('_', ' ')}" for t, v in labels) or "none: no active neuron",
        workers,
        cfg.time_budget,
    )
    fronts = []
    with progress.bar(len(tasks), "regress", "search") as pbar:
        executor = get_executor(ctx.config.executor.name, address=ctx.config.executor.address or None)
        results = executor.map(
            search_task, tasks, workers=workers, on_result=None if pbar is None else lambda i, r: pbar.update(1)
        )
    for (target, varset), front in zip(labels, results, strict=True):
        front.insert(0, "variables", varset)
        front.insert(0, "target", target)
        fronts.append(front)
        best = front[front["selected"]]
        if not best.empty:
            log.info(
                "regress:   %s ~ %s: %s   (held-out loss %.2e)",
                target,
                varset.replace("_", " "),
                best["sympy_format"].iloc[0],
                best["loss"].iloc[0],
            )
    table = pd.concat(fronts, ignore_index=True) if fronts else pd.DataFrame(columns=["target", "variables", *FRONT_COLUMNS])
    extra = [c for c in table.columns if c not in ("target", "variables", *FRONT_COLUMNS)]
    table = table[["target", "variables", *FRONT_COLUMNS, *extra]]
    write_equations(ctx, table, variables=variables, backend=cfg.backend, latents_sha256=artifact_hash(ctx, "latents.parquet"))

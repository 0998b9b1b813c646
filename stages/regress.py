"""Stage 4: symbolic regression of every active latent neuron, and of the network's answer.

Each active neuron is fitted on every variable set the system declares
(``PhysicalSystem.regress``: for Copernicus the observations, how the network
computes the neuron, and the ground truth, which quantity it holds).  Unused
neurons (``latents.parquet`` metadata) are left out.  The columns' units go
with them: the search also tries the neuron as a function of dimensionless
groups of the inputs (a neuron has no unit of its own, so its equations are
not filtered for homogeneity; see :func:`symreg.search.search`), and its
scale and offset, the network's own, keep their fitted values (a real neuron's
constants are never snapped to ``4/3 pi``, a circle neuron's offset never to
``1/3``; :data:`symreg.polish.SCALES`).  Where the system declares
an answer law, the network's answers on fresh samples (``probe.parquet``) are
fitted as a family of curves in the question (:mod:`symreg.family`), the
variable set ``law_of_motion``, with the network's held-out mean squared error
(``history.json``) as the noise floor: a law that fits the answers more
closely than the network fits the truth is fitting the network's errors.  For
the angle of an answered point (``AnswerLawSpec.angle_of``) the search is on the
circle and the noise floor is the sum of the two coordinates' errors.

The searches are independent; they run in parallel, one process each, on up
to ``regress.workers`` cores (0: all) or on a Ray cluster (``executor.name``),
every search with its own time budget and the run's seed.  Each finished search
is kept in ``.regress-searches/`` in the run directory, named by the hash of
everything that determines it, so that a regress stage killed midway redoes
only the searches it had not finished; the folder goes when the stage ends.
The engine's budget is counted in evaluations per engine
thread (see :mod:`symreg.operon`), so the equations do not depend on how many
searches run at once, on the machine's core count or on its load.

The searches are of very different lengths (the pendulum's law of motion takes
most of a minute, its neurons seconds), so a core that has finished its share
would sit idle.  With the local executor the stage shares one *engine slot* per
core with its worker processes (:mod:`symreg.slots`): the independent engine
runs inside a search (its target transforms; a family's curves and constants)
then run at once in threads, no more of them at any moment than the stage has
cores, and with the same equations as one after another.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline import progress
from pipeline.catalog import LAW_OF_MOTION, artifact_hash, read_history, read_latents, read_probe, write_equations
from pipeline.context import StageContext
from pipeline.executors import configured
from pipeline.rundir import META_KEY, write_parquet
from pipeline.stage import Output, Stage
from symreg import slots
from symreg.base import FRONT_COLUMNS, FRONT_TYPES
from symreg.engines import make_engine
from symreg.family import search_family
from symreg.search import search

log = logging.getLogger("scinet")


def search_task(task: dict[str, Any]) -> pd.DataFrame:
    """One search; a plain function of plain data, so it can run in a worker process."""
    engine = partial(make_engine, task["backend"], **task["engine"])
    if task["kind"] == "family":
        front, record = search_family(engine, task["P"], task["t"], task["y"], task["groups"], **task["search"])
        front["family"] = str(record)
        return front
    return search(engine, task["X"], task["y"], **task["search"])


SEARCHES = ".regress-searches"
"""folder in the run directory holding the searches a regress stage finished (removed when it ends)"""


def task_key(task: dict[str, Any]) -> str:
    """A hash of everything that determines a search's result: its data, settings and engine."""
    digest = hashlib.sha256()

    def feed(value: Any) -> None:
        if isinstance(value, dict):
            for k in sorted(value):
                digest.update(str(k).encode())
                feed(value[k])
        elif isinstance(value, np.ndarray):
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(json.dumps(value, sort_keys=True, default=str).encode())

    feed(task)
    return digest.hexdigest()


def _finished(path) -> pd.DataFrame | None:
    """A search an interrupted run finished, or None: absent, or anything but a front this stage wrote (a file
    cut short, not Parquet, another kind, a folder, columns missing or of another type, not one selected
    equation on a front that has any) is discarded with a warning and searched again, never trusted and never fatal."""
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        if not path.is_file() or path.is_symlink():
            raise ValueError("not a plain file")
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
        if not isinstance(meta, dict) or meta.get("kind") != "search":
            raise ValueError("not written by scinet regress")
        front = table.to_pandas()
        wrong = [
            c for c, kind in FRONT_TYPES.items() if c not in front or (len(front) and pd.api.types.infer_dtype(front[c]) != kind)
        ]
        if wrong or (len(front) and int(front["selected"].sum()) != 1):
            raise ValueError(f"columns {wrong} missing or of another type" if wrong else "no one selected equation")
        return front
    except Exception as exc:  # noqa: BLE001 - whatever a file that is not ours raises
        log.warning("regress: %s is no finished search (%s): discarded, searched again", path.name, exc)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return None


def run(ctx: StageContext) -> None:
    cfg = ctx.config.regress
    make_engine(cfg.backend)  # fail now, before any work, if the backend cannot run
    frame, meta = read_latents(ctx)
    tasks, labels = _latent_searches(ctx, frame, meta["active"])
    variables = {k: list(v) for k, v in ctx.system.regress.items()}
    law = _law_search(ctx)
    if law is not None:
        tasks.append(law)
        labels.append((ctx.system.answer_law.answer, LAW_OF_MOTION))
        variables[LAW_OF_MOTION] = ctx.system.answer_law.variables
    results = _searched(ctx, tasks, labels)
    _write(ctx, labels, results, variables)


def _engine_settings(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.config.regress
    return {
        "max_length": cfg.max_length,
        "operators": cfg.operators,
        "seed": ctx.config.seed,
        "threads": cfg.threads,
        "patience": cfg.patience,
    }


def _latent_searches(ctx: StageContext, frame: pd.DataFrame, active: list[str]) -> tuple[list[dict], list[tuple[str, str]]]:
    """One search per active neuron and variable set, on ``regress.n_rows`` rows of the training split, with the
    labels ``(neuron, variable set)``."""
    system, cfg = ctx.system, ctx.config.regress
    train = frame[frame["split"] == "train"]
    rng = np.random.default_rng(ctx.config.seed)
    rows = rng.choice(len(train), size=min(cfg.n_rows, len(train)), replace=False)
    sample = train.iloc[np.sort(rows)]
    tasks, labels = [], []
    for target in active:
        for varset, names in system.regress.items():
            names = list(names)
            tasks.append(
                {
                    "kind": "search",
                    "backend": cfg.backend,
                    "engine": {**_engine_settings(ctx), "time_budget": cfg.time_budget},
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
                        # the neuron's scale and offset are the network's own: never given exact values
                        "scale": "offset" if system.latent.kind == "circle" else "free",
                        "seed": ctx.config.seed,
                    },
                }
            )
            labels.append((target, varset))
    return tasks, labels


def _law_search(ctx: StageContext) -> dict[str, Any] | None:
    """The search for the law of motion in the network's answers (``probe.parquet``), where the system declares one."""
    system, cfg = ctx.system, ctx.config.regress
    spec = system.answer_law
    probe = read_probe(ctx) if spec is not None else None
    if spec is None or probe is None:
        return None
    # the network's answers lie this far from the truth (held-out mean squared error): the noise floor
    noise = spec.noise_variance(read_history(ctx).prediction_rms)
    parameters = [*spec.parameters, *spec.question_parameters]
    return {
        "kind": "family",
        "backend": cfg.backend,
        "engine": {**_engine_settings(ctx), "time_budget": cfg.law_time_budget},
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


def _searched(ctx: StageContext, tasks: list[dict], labels: list[tuple[str, str]]) -> list[pd.DataFrame]:
    """Every search's front: those an interrupted run finished read back from ``.regress-searches/``, the rest run
    on the configured executor, each kept there as it finishes."""
    cfg = ctx.config.regress
    cores = cfg.workers or os.cpu_count() or 1  # the cores the stage may use (regress.workers, 0: all)
    workers = min(cores, max(len(tasks), 1))
    log.info(
        "regress: %d searches (%s), %d at a time, %.0f s budget per search and target transform",
        len(tasks),
        ", ".join(f"{t} ~ {v.replace('_', ' ')}" for t, v in labels) or "none: no active neuron",
        workers,
        cfg.time_budget,
    )
    cache = ctx.path(SEARCHES)
    cache.mkdir(exist_ok=True)
    paths = [cache / f"{task_key(task)}.parquet" for task in tasks]
    results = [_finished(path) for path in paths]
    todo = [i for i, r in enumerate(results) if r is None]
    if len(todo) < len(tasks):
        log.info("regress: %d of %d searches were finished by an interrupted run: kept", len(tasks) - len(todo), len(tasks))
    with progress.bar(len(tasks), "regress", "search") as pbar:
        if pbar is not None:
            pbar.update(len(tasks) - len(todo))

        def keep(j: int, front: pd.DataFrame) -> None:
            results[todo[j]] = front
            write_parquet(paths[todo[j]], front, {"kind": "search"})
            if pbar is not None:
                pbar.update(1)

        executor, items = configured(ctx.config.executor), [tasks[i] for i in todo]
        if ctx.config.executor.name == "local":
            # one engine slot per core, shared by this process and its workers (symreg.slots)
            semaphore = multiprocessing.get_context("spawn").BoundedSemaphore(max(1, cores // cfg.threads))
            with slots.shared(semaphore):
                executor.map(search_task, items, workers=workers, setup=slots.share, setup_args=(semaphore,), on_result=keep)
        else:  # a Ray cluster's workers are not this machine's processes: one engine run at a time in each
            executor.map(search_task, items, workers=workers, on_result=keep)
    return results  # type: ignore[return-value]  # every None was replaced by keep


def _write(ctx: StageContext, labels: list[tuple[str, str]], results: list[pd.DataFrame], variables: dict) -> None:
    """``equations.parquet``: every front labelled by its target and variable set, each selected equation logged."""
    fronts = []
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
    cfg = ctx.config.regress
    write_equations(ctx, table, variables=variables, backend=cfg.backend, latents_sha256=artifact_hash(ctx, "latents.parquet"))
    shutil.rmtree(ctx.path(SEARCHES), ignore_errors=True)


STAGE = Stage(
    name="regress",
    help="Symbolic regression of every active latent and of the answer law (equations.parquet).",
    doc="symbolic regression of latents and answers",
    inputs=("latents.parquet", "probe.parquet", "history.json"),
    outputs=(Output("equations.parquet", "equations", "Pareto fronts of every regression target (PySR's equations_ schema)"),),
    run=run,
    scratch=(SEARCHES,),
    options=("engine", "executor"),
)

"""``scinet sweep``: how many numbers does a system need?  The error against the latent size.

One run per latent size and seed, each in its own run directory under the sweep's
(``size{L}-seed{S}``), through the stages ``simulate``, ``train`` and ``export`` (the
held-out prediction error and the active neurons are what a sweep compares; the
regression of every run would cost more than the sweep).  A run whose stages are up
to date is skipped by the ordinary cache, so a sweep that was killed resumes where
it stopped.  Runs go in parallel, ``jobs`` at a time, each with ``cores / jobs``
threads (by default one job per core on JAX, whose CPU compiler runs these networks on
about one core, and one per two cores on TensorFlow and PyTorch, whose thread pools use
two: :func:`pipeline.executors.runs.default_workers`).

The verdict, by a stated rule: per latent size, the *typical* held-out error of the
answer (:func:`typical_error`: the median over held-out samples of each sample's RMS
error), as the *median over seeds*; the number of degrees of freedom is the smallest
size whose median error lies within ``tolerance`` (default 5 %) of the way from the
worst size's median to the best one's, or of the best error itself where that is
larger (a flat curve: no neuron helps, 0 degrees of freedom):
``err(L) <= best + tolerance max(worst - best, best)``.  Adding a neuron beyond that
buys less than 5 % of what the first ones bought.

Why the typical error and not the RMS: a degree of freedom that is missing leaves
the answer unknown for almost every sample, and raises the error of the typical
one.  A state space that is not a piece of R^n (the Bloch sphere of ``qubit1``,
two numbers; the two-qubit states, six) cannot be charted by n neurons without a
seam, and near the seam the network errs; that error sits on a set of samples that
training keeps shrinking (measured: 300 to 900 epochs take one qubit's two-neuron
RMS from 0.018 to 0.010, against 0.0035 with three neurons), and it decides an RMS
rule by how long the network trained.  The median over samples does not see a set
that small: over twelve one-qubit seeds, two neurons leave a typical error of 0.0044
to 0.0057 and three 0.0019 to 0.0029, against 0.25 with none.  The RMS is kept in the
table and the figure.  The
verdict compares the number with the system's known one
(``PhysicalSystem.degrees_of_freedom``) in the ``degrees_of_freedom`` record of the
sweep's ``verification.json``.

Outputs in the sweep directory: ``sweep.parquet`` (latent size, seed, typical and RMS held-out error,
active neurons, wall time, run directory; its metadata say how it was made),
``sweep.png`` and ``sweep.pdf`` (error against latent size, every seed and the median), ``sweep.md``,
``sweep.tex`` (a LaTeX table for ``\\input``) and ``verification.json``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.catalog import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED, Verdict
from pipeline.config import RANGES
from pipeline.ensemble import MAX_SEEDS, parse_seeds
from pipeline.errors import ConfigError
from pipeline.executors import Executor
from pipeline.executors.runs import map_runs
from pipeline.rundir import write_json, write_parquet, write_text

log = logging.getLogger("scinet")

STAGES = ("simulate", "train", "export")
TOLERANCE = 0.05


def parse_sizes(text: str) -> list[int]:
    """``"0..4"`` (inclusive) or ``"0,1,3"``."""
    text = text.strip()
    m = re.fullmatch(r"(\d+)\s*\.\.\s*(\d+)", text)
    if m:
        lo, hi = int(m[1]), int(m[2])
        if lo > hi:
            raise ConfigError(f"--latent-sizes {text!r} runs backwards. Write it low..high, e.g. 0..4.")
        _check_largest(text, hi)  # before the list is built
        return list(range(lo, hi + 1))
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 0:
        raise ConfigError(f"--latent-sizes {text!r} is not a range 0..K or a list such as 0,1,2 of sizes >= 0.")
    _check_largest(text, sizes[-1])
    return sizes


def _check_largest(text: str, largest: int) -> None:
    high = int(RANGES["train.latent_size"][1])
    if largest > high:
        raise ConfigError(f"--latent-sizes {text!r} asks for {largest} neurons; at most {high} are allowed. Write e.g. 0..4.")


def parse_seed_set(text: str) -> list[int]:
    """``--seeds`` of a sweep: a count ``"3"`` (seeds 0, 1, 2), a range ``"3..5"`` or a list ``"6,7,8"``
    (:func:`pipeline.ensemble.parse_seeds`)."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        if len(text) > 5 or not 1 <= int(text) <= MAX_SEEDS:  # the length first: no huge integer is built
            raise ConfigError(f"--seeds {text} asks for {text} seeds per latent size: give 1 to {MAX_SEEDS}.")
        return list(range(int(text)))
    return parse_seeds(text)


def default_sizes(system) -> list[int]:
    """0 to one more than the system's own latent size; from 1 for a time series, which evolves its latents."""
    return list(range(1 if system.is_series else 0, system.latent.size + 2))


@dataclass(frozen=True)
class Job:
    system: str
    run_dir: Path
    size: int
    seed: int
    overrides: tuple[str, ...]
    config_file: Path | None


def run_job(job: Job) -> dict:
    """One run of the sweep (the stages skip what is up to date); returns its row of ``sweep.parquet``."""
    from pipeline.catalog import read_history, read_latents
    from pipeline.config import load_config
    from pipeline.orchestrate import StageContext, load_manifest, run_stage
    from pipeline.registry import get_system

    log.info("sweep: latent size %d, seed %d (%s)", job.size, job.seed, job.run_dir)
    system = get_system(job.system)
    overrides = (*job.overrides, f"train.latent_size={job.size}")
    ctx = StageContext(
        system=system, config=load_config(job.config_file, overrides, seed=job.seed, system=system), run_dir=job.run_dir
    )
    for stage in STAGES:
        run_stage(ctx, stage)
    frame, meta = read_latents(ctx)
    records = load_manifest(ctx.run_dir).get("stages", {})
    return {
        "latent_size": job.size,
        "seed": job.seed,
        "typical": typical_error(frame, system),
        "rms": float(read_history(ctx).prediction_rms.get("all", np.nan)),
        "active": len(meta.get("active", [])),
        "wall_s": float(sum(records.get(s, {}).get("wall_s", 0.0) for s in STAGES)),
        "run_dir": str(job.run_dir),
    }


def typical_error(latents: pd.DataFrame, system) -> float:
    """The median over held-out samples of each sample's RMS error of the answer (angles wrapped), from the
    export's predictions (``{answer}_pred``); a time series is one sample, its steps pooled."""
    from pipeline.arrays import answer_errors
    from pipeline.errors import ArtifactError

    test = latents[latents["split"] == "test"]
    missing = [f"{c.name}_pred" for c in system.answers if f"{c.name}_pred" not in test]
    if missing or test.empty:
        raise ArtifactError(
            f"The latents file has no held-out predictions ({', '.join(missing) or 'no test rows'}). "
            f"Re-create it with `scinet export {system.name} --force` in the sweep's run directory."
        )
    names = system.answer_names
    err = answer_errors(test[[f"{n}_pred" for n in names]].to_numpy(dtype=float), test[names].to_numpy(dtype=float), system)
    squares = pd.Series(np.mean(err**2, axis=1), index=test.index)
    if system.is_series:
        squares = squares.groupby(test["series"].to_numpy()).mean()
    return float(np.median(np.sqrt(squares.to_numpy())))


def run_sweep(jobs: list[Job], *, workers: int, executor: Executor | None = None, gpus_per_job: float = 0) -> pd.DataFrame:
    """Every job, ``workers`` at a time (in this process where that is one) on the local executor; on Ray, as many as
    the cluster holds, each job asking for one CPU (and ``gpus_per_job`` GPUs)."""
    done = 0

    def progress(i: int, row: dict) -> None:
        nonlocal done
        done += 1
        log.info(
            "sweep: %d of %d runs done: latent size %d, seed %d, typical held-out error %.4g (RMS %.4g), %d active (%.0f s)",
            done,
            len(jobs),
            row["latent_size"],
            row["seed"],
            row["typical"],
            row["rms"],
            row["active"],
            row["wall_s"],
        )

    rows = map_runs(
        run_job, jobs, label="sweep", workers=workers, executor=executor, gpus_per_job=gpus_per_job, on_result=progress
    )
    return pd.DataFrame(rows).sort_values(["latent_size", "seed"], ignore_index=True)


def degrees_of_freedom(table: pd.DataFrame, tolerance: float = TOLERANCE) -> tuple[int | None, pd.Series]:
    """The rule of the module docstring: (the number, or None with fewer than two sizes; median error per size)."""
    median = table.groupby("latent_size")["typical"].median()
    if len(median) < 2 or not np.isfinite(median).all():
        return None, median
    threshold = _threshold(median, tolerance)
    return int(min(size for size, err in median.items() if err <= threshold)), median


def _threshold(median: pd.Series, tolerance: float) -> float:
    best, worst = float(median.min()), float(median.max())
    return best + tolerance * max(worst - best, best)


def verdict(system, table: pd.DataFrame, tolerance: float = TOLERANCE) -> Verdict:
    found, median = degrees_of_freedom(table, tolerance)
    known = getattr(system, "degrees_of_freedom", None)
    checks = {
        "rule": "smallest latent size whose typical held-out error (median over samples), as the median over seeds, "
        "is <= best + tolerance * max(worst - best, best)",
        "tolerance": tolerance,
        "median_typical_error": {str(k): float(v) for k, v in median.items()},
        "median_rms": {str(k): float(v) for k, v in table.groupby("latent_size")["rms"].median().items()},
        "threshold": _threshold(median, tolerance) if len(median) and np.isfinite(median).all() else None,
        "seeds": sorted(int(s) for s in table["seed"].unique()),
    }
    if found is None:
        checks["reason"] = "fewer than two latent sizes: nothing to compare"
        word = NOT_CHECKED
    elif known is None:
        checks["reason"] = f"the system declares no known number of degrees of freedom (found {found})"
        word = NOT_CHECKED
    else:
        word = DISCOVERED if found == known else NOT_DISCOVERED
    return Verdict(
        name="degrees_of_freedom",
        kind="degrees_of_freedom",
        description="the number of latent neurons the answer needs: where the error against the latent size stops falling",
        verdict=word,
        fitted_constants={} if found is None else {"degrees_of_freedom": float(found)},
        true_constants={"degrees_of_freedom": None if known is None else float(known)},
        checks=checks,
    )


def write_outputs(sweep_dir: Path, system, table: pd.DataFrame, result: Verdict, tolerance: float) -> None:
    meta = {"kind": "sweep", "system": system.name, "stages": list(STAGES), "tolerance": tolerance, "rule": result.checks["rule"]}
    write_parquet(sweep_dir / "sweep.parquet", table, meta)
    write_json(sweep_dir / "verification.json", {"system": system.name, "laws": [dataclasses.asdict(result)]})
    summary = table.groupby("latent_size").agg(
        median=("typical", "median"),
        low=("typical", "min"),
        high=("typical", "max"),
        rms=("rms", "median"),
        active=("active", "median"),
        runs=("seed", "count"),
    )
    found = result.fitted_constants.get("degrees_of_freedom")
    known = result.true_constants.get("degrees_of_freedom")
    rows = [
        f"{size} & {r['median']:.4f} & {r['low']:.4f}--{r['high']:.4f} & {r['rms']:.4f} & {r['active']:.0f} & {int(r['runs'])} \\\\"
        for size, r in summary.iterrows()
    ]
    tex = "\n".join(
        [
            "% scinet sweep: held-out error of the answer against the number of latent neurons",
            "% typical error: the median over held-out samples of a sample's RMS error; median and range over seeds",
            "\\begin{tabular}{rrrrrr}",
            "\\hline",
            "latent neurons & typical error & range over seeds & RMS & active (median) & runs \\\\",
            "\\hline",
            *rows,
            "\\hline",
            "\\end{tabular}",
            "",
        ]
    )
    write_text(sweep_dir / "sweep.tex", tex)
    md = [
        f"# Sweep: {system.name}",
        "",
        f"{system.description}.",
        "",
        "Typical error: the median over held-out samples of one sample's RMS error of the answer (the rule's "
        "figure); RMS: the held-out RMS error.  Both are medians over seeds.",
        "",
        "| latent neurons | typical error | range over seeds | RMS | active (median) | runs |",
        "|---|---|---|---|---|---|",
        *[
            f"| {size} | {r['median']:.4g} | {r['low']:.4g} to {r['high']:.4g} | {r['rms']:.4g} | {r['active']:.0f} "
            f"| {int(r['runs'])} |"
            for size, r in summary.iterrows()
        ],
        "",
        f"**Degrees of freedom: {'none found' if found is None else int(found)}** "
        f"(known: {'not declared' if known is None else int(known)}; verdict: {result.verdict}).  Rule: "
        f"{result.checks['rule']}, tolerance {tolerance:g}.",
        "",
        "![error against latent size](sweep.png)",
        "",
    ]
    write_text(sweep_dir / "sweep.md", "\n".join(md))
    _figure(sweep_dir, system, table, summary, found, known, result.checks["threshold"])


def _figure(sweep_dir: Path, system, table: pd.DataFrame, summary: pd.DataFrame, found, known, threshold) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline import figures

    plt.rcParams.update(figures.STYLE)
    fig, ax = plt.subplots(figsize=(figures.COLUMN_INCHES, 2.6))
    ax.plot(table["latent_size"], table["typical"], "o", color="0.6", ms=4, label="typical error, one seed")
    ax.plot(summary.index, summary["median"], "-o", color="C0", label="typical error, median over seeds")
    ax.plot(summary.index, summary["rms"], "--", color="0.4", lw=0.8, label="RMS, median over seeds")
    if threshold is not None:
        ax.axhline(threshold, color="0.4", ls=":", lw=0.8, label="the rule's threshold")
    if found is not None:
        ax.axvline(found, color="C3", ls="--", lw=0.8, label=f"degrees of freedom: {int(found)}")
    if known is not None and known != found:
        ax.axvline(known, color="C2", ls="-.", lw=0.8, label=f"known: {int(known)}")
    ax.set_yscale("log")
    ax.set_xticks(list(summary.index))
    ax.set_xlabel("latent neurons")
    ax.set_ylabel("held-out error of the answer")
    ax.set_title(system.name)
    ax.legend()
    fig.tight_layout()
    figures.save(fig, sweep_dir / "sweep")

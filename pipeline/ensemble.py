"""``scinet run SYSTEM --seeds 0..9``: the same run on several seeds, and what holds across them.

A single run's constants carry its statistical error only; the network a seed
trains has a systematic error of its own, and only other seeds show it.  An
ensemble runs every stage for each seed in its own run directory under the
ensemble's (``seed{S}``), with the ordinary cache (a seed whose stages are up to
date is skipped, so an ensemble that was killed resumes where it stopped), on
the configured executor (``local`` processes, ``jobs`` at a time, or ``ray``).
Then it reads each seed's ``verification.json`` and ``equations.parquet`` and
writes, in the ensemble directory:

* ``ensemble.json``: per law, the seeds that discovered it (``k of N``, and of
  the seeds that checked it); per fitted physical constant, over the seeds that
  discovered its law: every seed's value and stated error, the mean, the spread
  between seeds (sample standard deviation), the standard error of the mean
  (spread / sqrt(n)), the mean's error (that and the median of the seeds'
  systematic errors), the true value, the mean's deviation from it in the mean's
  error, and the *coverage*: on how many seeds the truth lies within
  the seed's own 2-sigma interval (its statistical and systematic errors together); the selected equations that agree across
  seeds (the same form once every fitted number is a free constant and the
  neuron's sign is set aside), with the seeds that gave each;
* ``ensemble.md`` and ``ensemble.tex`` (the same tables), ``ensemble.png`` and
  ``ensemble.pdf`` (each seed's value of each constant with its error bar, the
  mean with its error, and the truth).

The spread between seeds is the honest error bar of one run's constant.  The
standard error of the mean would be that of the ensemble's mean if the seeds'
errors were independent; a bias every training shares does not average away, so
the mean's error adds the median of the seeds' own systematic errors (one run
cannot tell the shared part from the rest), and the deviation of the mean from
the truth is counted in that error (the statistical deviation is kept too).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.catalog import DISCOVERED, NOT_CHECKED
from pipeline.errors import ConfigError
from pipeline.executors import Executor
from pipeline.executors.runs import map_runs
from pipeline.latex import constant_latex, escape
from pipeline.rundir import write_json, write_text
from systems.laws.uncertainty import total_error

log = logging.getLogger("scinet")

MAX_SEEDS = 1000
"""seeds one ensemble may ask for"""
MAX_SEED = 2**31 - 1
"""the largest seed (NumPy and Keras take 32-bit seeds)"""


def parse_seeds(text: str) -> list[int]:
    """``"0..9"`` (inclusive) or ``"3,7,9"``: at most :data:`MAX_SEEDS` distinct seeds in 0..:data:`MAX_SEED`,
    checked before any list is built."""
    text = text.strip()
    hint = "Write a range such as 0..9 or a list such as 3,7,9."
    m = re.fullmatch(r"(\d{1,12})\s*\.\.\s*(\d{1,12})", text)
    if m:
        lo, hi = int(m[1]), int(m[2])
        if lo > hi:
            raise ConfigError(f"--seeds {text!r} runs backwards. {hint}")
        if hi > MAX_SEED or hi - lo + 1 > MAX_SEEDS:
            raise ConfigError(f"--seeds {text!r} asks for more than {MAX_SEEDS} seeds or a seed above {MAX_SEED}. {hint}")
        return list(range(lo, hi + 1))
    parts = [p.strip() for p in text.split(",")]
    if not text or len(parts) > MAX_SEEDS or not all(re.fullmatch(r"\d{1,12}", p) for p in parts):
        raise ConfigError(f"--seeds {text!r} is not a range or a list of seeds >= 0 (at most {MAX_SEEDS}). {hint}")
    seeds = sorted({int(p) for p in parts})
    if seeds[-1] > MAX_SEED:
        raise ConfigError(f"--seeds {text!r} holds a seed above {MAX_SEED}. {hint}")
    return seeds


@dataclass(frozen=True)
class Job:
    system: str
    run_dir: Path
    seed: int
    overrides: tuple[str, ...]
    config_file: Path | None
    force: bool = False


def seed_dir(ensemble_dir: Path, seed: int) -> Path:
    """Where an ensemble keeps the run of ``seed``."""
    return ensemble_dir / f"seed{seed}"


def seed_dirs(ensemble_dir: Path) -> dict[int, Path]:
    """The run directories an ensemble directory holds (``seed{S}``), by seed, in order of seed."""
    found = {int(m[1]): p for p in ensemble_dir.iterdir() if (m := re.fullmatch(r"seed(\d+)", p.name)) and p.is_dir()}
    return dict(sorted(found.items()))


def run_job(job: Job) -> dict[str, Any]:
    """Every stage of one seed (each skipped when up to date); returns what the ensemble needs of it."""
    from pipeline.config import load_config
    from pipeline.orchestrate import StageContext, load_manifest, run_all
    from pipeline.registry import get_system

    log.info("ensemble: seed %d (%s)", job.seed, job.run_dir)
    system = get_system(job.system)
    ctx = StageContext(
        system=system, config=load_config(job.config_file, job.overrides, seed=job.seed, system=system), run_dir=job.run_dir
    )
    run_all(ctx, force=job.force)
    return seed_record(ctx, load_manifest(ctx.run_dir))


def seed_record(ctx, manifest: dict[str, Any]) -> dict[str, Any]:
    """A finished run's verdicts (with fitted and true constants) and selected equations, as plain data."""
    from pipeline.catalog import read_equations, read_verification

    verdicts, _ = read_verification(ctx)
    equations = read_equations(ctx)
    selected = equations[equations["selected"]] if not equations.empty else equations
    stages = manifest.get("stages", {})
    return {
        "seed": ctx.config.seed,
        "run_dir": str(ctx.run_dir),
        "wall_s": float(sum(r.get("wall_s", 0.0) for r in stages.values() if isinstance(r, dict))),
        "laws": [dataclasses.asdict(v) for v in verdicts],
        "equations": [
            {
                "target": str(r["target"]),
                "variables": str(r["variables"]),
                "equation": str(r["sympy_format"]),
                "form": form(r["expr"]),
            }
            for _, r in selected.iterrows()
        ],
    }


def form(expr) -> str:
    """The form of an equation: every fitted number a free constant ``c``, the overall sign set aside (a
    neuron's sign is the network's choice), so that seeds whose equations differ only in their fitted
    numbers, or in the sign of the whole, give the same text."""
    import sympy as sp

    c = sp.Symbol("c")

    def free(e):
        return e.xreplace({f: c for f in e.atoms(sp.Float)})

    texts = [str(free(expr)), str(free(-expr))]
    return min(texts, key=lambda t: (len(t), t))


def run_ensemble(jobs: list[Job], *, workers: int, executor: Executor | None = None, gpus_per_job: float = 0) -> list[dict]:
    """Every seed, ``workers`` at a time on the local executor (in this process where that is one), or on Ray."""
    done = 0

    def progress(i: int, row: dict) -> None:
        nonlocal done
        done += 1
        found = sum(law["verdict"] == DISCOVERED for law in row["laws"])
        log.info(
            "ensemble: %d of %d seeds done: seed %d, %d of %d laws discovered",
            done,
            len(jobs),
            row["seed"],
            found,
            len(row["laws"]),
        )

    # a worker process may not start processes of its own: each seed's searches run one after another
    rows = map_runs(
        run_job,
        jobs,
        label="ensemble",
        workers=workers,
        executor=executor,
        gpus_per_job=gpus_per_job,
        on_result=progress,
        in_worker=("regress.workers=1",),
    )
    return sorted(rows, key=lambda r: r["seed"])


def _error(verdict: dict, key: str) -> float | None:
    """A seed's stated error of a constant: statistical and systematic together, where both were given."""
    stat = verdict.get("standard_errors", {}).get(key)
    sys_ = verdict.get("systematic_errors", {}).get(key)
    return total_error(stat if _finite(stat) else None, sys_ if _finite(sys_) else None)


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def summarise(rows: list[dict]) -> dict[str, Any]:
    """The ensemble's record (``ensemble.json``) from the seeds' records."""
    seeds = [r["seed"] for r in rows]
    laws: dict[str, dict] = {}
    constants: list[dict] = []
    for name in dict.fromkeys(law["name"] for r in rows for law in r["laws"]):
        verdicts = {r["seed"]: next((law for law in r["laws"] if law["name"] == name), None) for r in rows}
        found = [s for s, v in verdicts.items() if v is not None and v["verdict"] == DISCOVERED]
        checked = [s for s, v in verdicts.items() if v is not None and v["verdict"] != NOT_CHECKED]
        laws[name] = {"discovered": len(found), "checked": len(checked), "seeds": len(rows), "discovered_seeds": found}
        keys = dict.fromkeys(k for s in found for k, t in verdicts[s]["true_constants"].items() if _finite(t))
        for key in keys:
            values = [(s, verdicts[s]["fitted_constants"].get(key), _error(verdicts[s], key)) for s in found]
            values = [(s, v, e if _finite(e) else None) for s, v, e in values if _finite(v)]
            systematic = [verdicts[s].get("systematic_errors", {}).get(key) for s, _, _ in values]
            true = next(verdicts[s]["true_constants"][key] for s in found if _finite(verdicts[s]["true_constants"].get(key)))
            if float(true).is_integer() and all(float(v).is_integer() for _, v, _ in values):
                continue  # a count (unused neurons), not a fitted constant
            constants.append(constant_summary(name, key, values, float(true), [e for e in systematic if _finite(e)]))
    forms: dict[tuple[str, str], list[int]] = {}
    examples: dict[tuple[str, str], str] = {}
    for r in rows:
        for eq in r["equations"]:
            k = (eq["variables"], eq["form"])
            if r["seed"] not in forms.setdefault(k, []):
                forms[k].append(r["seed"])
            examples.setdefault(k, eq["equation"])
    agreeing = [
        {"variables": v, "form": f, "seeds": s, "count": len(s), "example": examples[(v, f)]}
        for (v, f), s in sorted(forms.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1]))
    ]
    return {
        "seeds": seeds,
        "laws": laws,
        "constants": constants,
        "equations": agreeing,
        "runs": [{"seed": r["seed"], "run_dir": r["run_dir"], "wall_s": r["wall_s"]} for r in rows],
    }


def constant_summary(
    law: str, name: str, values: list[tuple[int, float, float | None]], true: float, systematic: list[float] = ()
) -> dict[str, Any]:
    """Mean, spread, standard error of the mean, deviation from the truth and the seeds' 2-sigma coverage of one
    constant over ``values`` ((seed, value, stated standard error or None)).

    The mean's error adds to the standard error of the mean the median of the seeds' ``systematic`` errors: the
    part of the network's error that every training shares (a bias of the method) does not average away over
    seeds, and one run cannot tell that part from the rest, so the mean is not credited with it."""
    x = np.array([v for _, v, _ in values], dtype=float)
    n = len(x)
    mean = float(np.mean(x)) if n else None
    spread = float(np.std(x, ddof=1)) if n > 1 else None
    sem = spread / math.sqrt(n) if spread is not None else None
    shared = float(np.median(systematic)) if len(systematic) else None
    error = total_error(sem, shared) if sem is not None else None
    stated = [(v, e) for _, v, e in values if e is not None]
    return {
        "law": law,
        "constant": name,
        "true": true,
        "n": n,
        "values": [{"seed": s, "value": v, "error": e} for s, v, e in values],
        "mean": mean,
        "spread": spread,
        "standard_error_of_mean": sem,
        "systematic_error_of_mean": shared,
        "error_of_mean": error,
        "deviation_of_mean": (mean - true) / error if error else None,
        "deviation_of_mean_statistical": (mean - true) / sem if sem else None,
        "relative_error_of_mean": (mean - true) / abs(true) if mean is not None and true else None,
        "covered": sum(abs(v - true) <= 2 * e for v, e in stated),
        "with_error": len(stated),
        "median_error": float(np.median([e for _, e in stated])) if stated else None,
    }


def _g(x: Any, digits: int = 5) -> str:
    return f"{x:.{digits}g}" if _finite(x) else "--"


def write_outputs(ensemble_dir: Path, system, record: dict[str, Any]) -> None:
    n = len(record["seeds"])
    write_json(ensemble_dir / "ensemble.json", {"system": system.name, **record})
    md = [
        f"# Ensemble: {system.name}, {n} seeds ({', '.join(map(str, record['seeds']))})",
        "",
        f"{system.description}.",
        "",
        "## Laws",
        "",
        "| law | discovered | of seeds that checked it |",
        "|---|---|---|",
        *[f"| {name} | {v['discovered']} of {v['seeds']} | {v['checked']} |" for name, v in record["laws"].items()],
        "",
        "## Constants",
        "",
        "Over the seeds that discovered the law: the mean, the spread between seeds (standard deviation), the "
        "standard error of the mean (spread / sqrt(n)), the mean's error (the standard error of the mean and the "
        "median of the seeds' systematic errors, which a bias shared by every training does not average away), the "
        "mean's deviation from the truth in that error, and on how many seeds the truth lies within the seed's own "
        "stated 2-sigma interval.",
        "",
        "| law | constant | mean | spread | s.e. of mean | error of mean | true | deviation | truth within 2 sigma | median stated error |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {c['law']} | {c['constant']} | {_g(c['mean'], 6)} | {_g(c['spread'], 2)} | {_g(c['standard_error_of_mean'], 2)} | "
            f"{_g(c.get('error_of_mean'), 2)} | {_g(c['true'], 6)} | {_g(c['deviation_of_mean'], 2)} | "
            f"{c['covered']} of {c['with_error']} | {_g(c['median_error'], 2)} |"
            for c in record["constants"]
        ],
        "",
        "## Equations that agree across seeds",
        "",
        "Each selected equation's form (every fitted number a free constant c, the overall sign set aside).",
        "",
        "| variables | form | seeds | example |",
        "|---|---|---|---|",
        *[
            f"| {e['variables']} | `{e['form']}` | {e['count']} ({', '.join(map(str, e['seeds']))}) | `{e['example']}` |"
            for e in record["equations"]
        ],
        "",
    ]
    drawn = any(c["values"] for c in record["constants"])  # a figure only of constants some seed gave
    if drawn:
        md += ["![each seed's constants](ensemble.png)", ""]
    write_text(ensemble_dir / "ensemble.md", "\n".join(md))
    write_text(ensemble_dir / "ensemble.tex", _tex(system, record))
    if drawn:
        _figure(ensemble_dir, record)


def _tex(system, record: dict[str, Any]) -> str:
    rows = [f"{escape(name)} & {v['discovered']} of {v['seeds']} \\\\" for name, v in record["laws"].items()]
    consts = [
        f"{escape(c['law'])} & ${constant_latex(c['constant'])}$ & {_g(c['mean'], 6)} & {_g(c['spread'], 2)} & "
        f"{_g(c['standard_error_of_mean'], 2)} & {_g(c.get('error_of_mean'), 2)} & {_g(c['true'], 6)} & "
        f"{c['covered']} of {c['with_error']} \\\\"
        for c in record["constants"]
    ]
    return "\n".join(
        [
            f"% scinet ensemble of {system.name} over seeds {', '.join(map(str, record['seeds']))}; needs booktabs",
            "\\begin{tabular}{@{}lr@{}}",
            "\\toprule",
            "Law & Discovered \\\\",
            "\\midrule",
            *rows,
            "\\bottomrule",
            "\\end{tabular}",
            "",
            "\\begin{tabular}{@{}llrrrrrr@{}}",
            "\\toprule",
            "Law & Constant & Mean & Spread & S.e.\\ of mean & Error of mean & True & Truth within $2\\sigma$ \\\\",
            "\\midrule",
            *consts,
            "\\bottomrule",
            "\\end{tabular}",
            "",
        ]
    )


FIGURE_COLUMNS = 3
"""panels a row in the ensemble's figure, one per constant"""


def _figure(ensemble_dir: Path, record: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline import figures

    # a panel per constant some seed gave a value of (a bound, as qubit1's max_rms, has none): at least one, since
    # write_outputs draws no figure without
    consts = [c for c in record["constants"] if c["values"]]
    columns = min(len(consts), FIGURE_COLUMNS)
    rows = -(-len(consts) // columns)
    panel, legend = 1.9, 0.35  # inches: a row of panels, the legend below them
    with plt.rc_context(figures.STYLE):
        fig, axes = plt.subplots(
            rows,
            columns,
            figsize=(figures.COLUMN_INCHES if len(consts) == 1 else figures.PAGE_INCHES, panel * rows + legend),
            squeeze=False,
        )
        for ax in axes.flat[len(consts) :]:
            ax.set_visible(False)
        for ax, c in zip(axes.flat, consts, strict=False):
            seeds = [v["seed"] for v in c["values"]]
            ax.errorbar(
                range(len(seeds)),
                [v["value"] for v in c["values"]],
                yerr=[2 * v["error"] if v["error"] is not None else 0.0 for v in c["values"]],
                fmt="o",
                ms=3,
                capsize=2,
                label="seed (2 sigma)",
            )
            ax.axhline(c["true"], color="k", lw=0.8, label="true")
            if c["mean"] is not None:
                ax.axhline(c["mean"], color="C3", ls="--", lw=0.8, label="mean (2 sigma band)")
                band = c.get("error_of_mean") or c["standard_error_of_mean"]
                if band:
                    lo, hi = c["mean"] - 2 * band, c["mean"] + 2 * band
                    ax.axhspan(lo, hi, color="C3", alpha=0.15, lw=0)
            every = -(-len(seeds) // 5)  # at most five seed labels a panel, so that they do not run together
            ax.set_xticks(range(0, len(seeds), every), [str(s) for s in seeds[::every]])
            ax.set_xlabel("seed")
            ax.set_ylabel(c["constant"])
            ax.set_title(c["law"].replace("_", " "), fontsize="small")  # which law: a panel's label, not a caption
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
        fig.tight_layout(rect=(0, legend / (panel * rows + legend), 1, 1))
        figures.save(fig, ensemble_dir / "ensemble")


def run_seeds(
    system, ensemble_dir: Path, seeds: list[int], overrides: tuple[str, ...], config_file: Path | None, *, force: bool, jobs: int
) -> tuple[list[Job], dict[str, Any]]:
    """``scinet run SYSTEM --seeds`` and ``scinet.run(..., seeds=...)``: every setting checked, every seed's run
    (each in ``ensemble_dir/seed{S}``), then the ensemble's files; returns the jobs and the record."""
    from pipeline.config import load_config
    from pipeline.executors import configured
    from pipeline.rundir import check_kind

    check_kind(ensemble_dir, "ensemble")
    config = load_config(config_file, overrides, seed=seeds[0], system=system)  # every setting checked first
    job_list = [Job(system.name, seed_dir(ensemble_dir, s), s, tuple(overrides), config_file, force) for s in seeds]
    rows = run_ensemble(job_list, workers=jobs, executor=configured(config.executor), gpus_per_job=config.executor.gpus_per_job)
    record = summarise(rows)
    write_outputs(ensemble_dir, system, record)
    return job_list, record

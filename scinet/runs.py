"""Runs from Python: :func:`run` runs the stages as ``scinet run`` does (the same run directory, cache and
manifest), :func:`load` opens a finished run, and :class:`Run` reads what a run directory holds."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import ArtifactError, ConfigError
from systems.base import PhysicalSystem


def _system(system: str | PhysicalSystem) -> PhysicalSystem:
    from pipeline.registry import get_system, register

    if isinstance(system, PhysicalSystem):
        return register(system)  # known by its name here and in worker processes
    if not isinstance(system, str):
        raise ConfigError(f"scinet.run expects a system name or a PhysicalSystem. Received: {type(system).__name__}.")
    return get_system(system)  # a name, or the path of a TOML file that declares a system


def _toml(value: Any) -> str:
    """``value`` as a TOML value, for a ``--set`` override (the form the stages' worker processes are given)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise ConfigError(f"A setting's value must be a number, a boolean, a string or a list of them. Received: {value!r}.")


def _overrides(settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    if settings is None:
        return ()
    if not isinstance(settings, Mapping):
        raise ConfigError(
            f"settings must be a mapping of dotted keys to values, e.g. {{'train.beta': 1e-4}}. Received: {settings!r}."
        )
    return tuple(f"{key}={_toml(value)}" for key, value in settings.items())


@dataclass(frozen=True)
class Run:
    """A run directory and what it holds, read on demand through the same checked readers the stages use.

    Attributes are read from the files each time they are asked for, so a run redone elsewhere (on the command
    line, say) is seen as it now is.
    """

    run_dir: Path
    system: PhysicalSystem

    def _ctx(self) -> Any:
        from pipeline.config import load_config
        from pipeline.context import StageContext

        return StageContext(system=self.system, config=load_config(None, (), system=self.system), run_dir=self.run_dir)

    @property
    def equations(self) -> pd.DataFrame:
        """Every Pareto front, one row per equation: ``target``, ``variables`` and PySR's ``equations_`` columns
        (``complexity``, ``loss``, ``score``, ``equation``, ``sympy_format``, ``latex``), ``selected`` (one per
        front) and ``expr`` (the equation as SymPy, read back by the whitelist parser)."""
        from pipeline.catalog import read_equations

        return read_equations(self._ctx())

    @property
    def verdicts(self) -> pd.DataFrame:
        """One row per known law: its name, kind, verdict (``discovered``, ``not discovered``, ``not checked``),
        and the fitted and true constants with their errors (dicts)."""
        import dataclasses

        from pipeline.catalog import read_verification

        verdicts, _ = read_verification(self._ctx())
        return pd.DataFrame([dataclasses.asdict(v) for v in verdicts])

    @property
    def latents(self) -> pd.DataFrame:
        """The latent means and log-sigmas per sample (``z0``, ``z0_log_sigma``, ...), with the inputs, the ground
        truth and the split; ``latents.attrs["scinet"]`` holds the KL per neuron and the active neurons."""
        from pipeline.catalog import read_latents

        frame, meta = read_latents(self._ctx())
        frame.attrs["scinet"] = meta
        return frame

    @property
    def history(self) -> Any:
        """The training's losses per epoch, learned steps and held-out prediction error (a ``History``)."""
        from pipeline.catalog import read_history

        return read_history(self._ctx())

    @property
    def model(self) -> Any:
        """The trained SciNet, a Keras model (loaded in safe mode; imports Keras)."""
        from pipeline.catalog import read_model

        return read_model(self._ctx())

    @property
    def report_path(self) -> Path:
        """``report.md`` of the run."""
        return self._file("report.md")

    def latex(self) -> str:
        """``equations.tex``: the laws, selected equations and verdict table, to ``\\input`` into a paper."""
        return self._file("equations.tex").read_text()

    def figure(self, name: str) -> Path:
        """The PNG of the figure ``name`` (``latents``, ``kl``, ``pareto``, ...: see :attr:`figures`); in a notebook,
        ``IPython.display.Image(run.figure("latents"))`` shows it."""
        path = self.run_dir / "figures" / f"{name}.png"
        if not path.is_file():
            raise ArtifactError(
                f"{self.run_dir} has no figure {name!r}. It has: {', '.join(self.figures) or 'none'} "
                f"(the report stage makes them: scinet.run({self.system.name!r}, run_dir=..., stages=['report']))."
            )
        return path

    @property
    def figures(self) -> list[str]:
        """The names of the figures the run has."""
        folder = self.run_dir / "figures"
        return sorted(p.stem for p in folder.glob("*.png")) if folder.is_dir() else []

    def _file(self, name: str) -> Path:
        path = self.run_dir / name
        if not path.is_file():
            raise ArtifactError(f"{path} does not exist. Run the report stage first: scinet.run({self.system.name!r}, ...).")
        return path

    def __repr__(self) -> str:
        try:
            verdicts = self.verdicts
            found = int((verdicts["verdict"] == "discovered").sum()) if len(verdicts) else 0
            laws = f": {found} of {len(verdicts)} known laws discovered"
        except ArtifactError:
            laws = ""
        return f"Run({self.system.name!r}, {str(self.run_dir)!r}{laws})"


@dataclass(frozen=True)
class Ensemble:
    """Several seeds of one system: each seed's :class:`Run`, and what holds across them (``ensemble.json``)."""

    path: Path
    runs: tuple[Run, ...]
    record: dict[str, Any]

    @property
    def laws(self) -> pd.DataFrame:
        """Per law: on how many seeds it was discovered, of how many."""
        return pd.DataFrame.from_dict(self.record["laws"], orient="index")

    @property
    def constants(self) -> pd.DataFrame:
        """Per fitted physical constant: mean over the seeds that discovered its law, spread, standard error of
        the mean and the true value."""
        return pd.DataFrame(self.record["constants"])


def run(
    system: str | PhysicalSystem,
    *,
    run_dir: str | Path | None = None,
    seed: int = 0,
    seeds: Sequence[int] | str | None = None,
    settings: Mapping[str, Any] | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
    jobs: int = 0,
) -> Run | Ensemble:
    """Run the stages for ``system`` (a name from :func:`scinet.systems`, a ``PhysicalSystem``, or the path of a TOML
    file that declares one over a data file, docs/your-own-data.md), each skipped
    when it is up to date, exactly as ``scinet run`` does: the same run directory, cache and manifest.

    ``run_dir``: where (default ``data/runs/SYSTEM``, or ``data/runs/SYSTEM-seeds`` for an ensemble).
    ``settings``: dotted keys to values, as ``--set`` takes them (``{"train.epochs": [40], "regress.time_budget": 5}``).
    ``stages``: the stages to run, in the pipeline's order (default all: simulate, train, export, regress,
    verify, report).  ``force``: redo them even when up to date.
    ``seeds``: an ensemble (a list, or a range as ``"0..9"``), each seed in ``run_dir/seed{S}``, ``jobs`` at a
    time; returns an :class:`Ensemble`.  Otherwise returns the :class:`Run`.

    Bad input raises :class:`pipeline.errors.ScinetError` with the message the command line prints.
    """
    from pipeline.stage import stage_names

    found = _system(system)
    overrides = _overrides(settings)
    if seeds is not None:
        if stages is not None:
            raise ConfigError("An ensemble (seeds=...) runs every stage of every seed: leave stages out.")
        return _ensemble(found, run_dir, overrides, seeds, force, jobs)
    from pipeline.config import load_config
    from pipeline.context import StageContext
    from pipeline.orchestrate import run_stage
    from pipeline.rundir import check_kind, locked

    chosen = list(stage_names()) if stages is None else list(stages)
    unknown = [s for s in chosen if s not in stage_names()]
    if unknown or not chosen:
        raise ConfigError(f"Unknown stages {unknown}: choose among {', '.join(stage_names())}." if unknown else "stages is empty.")
    config = load_config(None, overrides, seed=seed, system=found)
    ctx = StageContext(system=found, config=config, run_dir=Path(run_dir) if run_dir else Path("data/runs") / found.name)
    check_kind(ctx.run_dir, "run")
    with locked(ctx.run_dir):
        for name in stage_names():
            if name in chosen:
                run_stage(ctx, name, force=force)
    return Run(ctx.run_dir, found)


def _ensemble(
    found: PhysicalSystem, run_dir: str | Path | None, overrides: tuple[str, ...], seeds: Sequence[int] | str, force: bool, jobs: int
) -> Ensemble:
    from pipeline import ensemble

    where = Path(run_dir) if run_dir else Path("data/runs") / f"{found.name}-seeds"
    chosen = ensemble.parse_seeds(seeds) if isinstance(seeds, str) else [int(s) for s in seeds]
    if not chosen:
        raise ConfigError("seeds is empty: give at least one seed, e.g. seeds=[0, 1, 2].")
    job_list, record = ensemble.run_seeds(found, where, chosen, overrides, None, force=force, jobs=jobs)
    return Ensemble(where, tuple(Run(job.run_dir, found) for job in job_list), record)


def load(run_dir: str | Path) -> Run:
    """A run directory made by ``scinet run`` or :func:`run` (its system is read from its manifest)."""
    from pipeline.orchestrate import load_manifest
    from pipeline.registry import get_system

    path = Path(run_dir)
    manifest = load_manifest(path)
    if not manifest:
        raise ArtifactError(f"{path} holds no scinet run (no manifest.json). Give the run directory `scinet run` wrote.")
    name = manifest.get("system")
    if not isinstance(name, str):
        raise ArtifactError(f"{path / 'manifest.json'} does not name its system. Give a run directory `scinet run` wrote.")
    declared = manifest.get("declared_in")
    if isinstance(declared, str) and declared.lower().endswith(".toml"):
        from pipeline.registry import available_systems

        if name not in available_systems():
            if not Path(declared).is_file():
                raise ArtifactError(
                    f"{path} is a run of {name!r}, declared in {declared}, which no longer exists. Put the TOML file "
                    "back, or load the run after registering the system (scinet.register)."
                )
            return Run(path, get_system(declared))
    return Run(path, get_system(name))

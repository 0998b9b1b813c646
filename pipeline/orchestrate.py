"""Wiring: which stage reads and writes which artifact, caching, and the manifest.

Stages are plain functions ``run(ctx)`` in ``stages/<name>.py``; they read their
inputs from the run directory and write their outputs there, through
:mod:`pipeline.catalog`.  This module is the one place that knows the order.  A
stage is skipped when its cache key (system name and the fingerprint of its
definition, seed, its settings, the hashes of its inputs, the project version)
is what the manifest recorded and its outputs exist.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.catalog import outputs_of, producer_of
from pipeline.config import Config
from pipeline.context import StageContext
from pipeline.errors import ArtifactError, MissingInputError, ScinetError
from pipeline.rundir import file_hash, read_json, text_hash, write_json

log = logging.getLogger("scinet")

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Stage:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    doc: str


STAGES: tuple[Stage, ...] = (
    Stage("simulate", (), outputs_of("simulate"), "simulate samples and their ground truth"),
    Stage("train", ("observations.parquet",), outputs_of("train"), "train the beta-VAE SciNet"),
    Stage("export", ("observations.parquet", "model.keras"), outputs_of("export"), "export latents, KL per neuron and the probe"),
    Stage(
        "regress",
        ("latents.parquet", "probe.parquet", "history.json"),
        outputs_of("regress"),
        "symbolic regression of latents and answers",
    ),
    Stage("verify", ("latents.parquet", "equations.parquet", "probe.parquet"), outputs_of("verify"), "check known laws"),
    Stage(
        "report",
        ("latents.parquet", "equations.parquet", "verification.json", "history.json", "probe.parquet"),
        outputs_of("report"),
        "write report, LaTeX and figures",
    ),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def get_stage(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    close = difflib.get_close_matches(name, STAGE_NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ScinetError(f"Unknown stage {name!r}.{hint} Stages: {', '.join(STAGE_NAMES)}.")


def project_version() -> str:
    try:
        return metadata.version("scinet")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "scinet": project_version()}
    for pkg in ("numpy", "pandas", "pyarrow", "sympy", "keras", "tensorflow", "tensorflow-cpu", "jax", "pyoperon", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _stage_settings(config: Config, stage: str) -> dict[str, Any]:
    section = getattr(config, stage, None)
    settings = dataclasses.asdict(section) if dataclasses.is_dataclass(section) else {}
    if stage == "export":  # the export checks the model against the latent size
        settings["latent_size"] = config.train.latent_size
    if stage == "verify":  # fresh series are simulated with the run's length
        settings["series_length"] = config.simulate.series_length
    return settings


def _cache_key(ctx: StageContext, stage: Stage) -> str:
    inputs = {name: file_hash(ctx.path(name)) for name in stage.inputs}
    payload = {
        "stage": stage.name,
        "system": ctx.system.name,
        "definition": ctx.system.fingerprint(),
        "seed": ctx.config.seed,
        "settings": _stage_settings(ctx.config, stage.name),
        "inputs": inputs,
        "version": project_version(),
    }
    return text_hash(json.dumps(payload, sort_keys=True))


def load_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.exists():
        return {}
    data = read_json(path, producer="run")
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} is not a scinet manifest. Remove it or choose another --run-dir.")
    return data


def _check_inputs(ctx: StageContext, stage: Stage) -> None:
    for name in stage.inputs:
        if not ctx.path(name).exists():
            first = next(s for s in STAGES if any(not ctx.path(o).exists() for o in s.outputs))
            raise MissingInputError(
                f"Stage `{stage.name}` needs {ctx.path(name)} (made by `{producer_of(name)}`), which does not exist yet. "
                f"Run `scinet {first.name} {ctx.system.name} --run-dir {ctx.run_dir}` first, and the stages after it, "
                f"or all at once with `scinet run {ctx.system.name} --run-dir {ctx.run_dir}`."
            )


def _up_to_date(ctx: StageContext, stage: Stage, record: dict[str, Any] | None, key: str) -> bool:
    """Make's rule: up to date when the key (settings and input hashes) is unchanged and every output exists.

    An output edited since the stage wrote it is kept (and said so): the stages downstream see
    the change through their own keys, and --force recomputes it.
    """
    if not record or record.get("key") != key:
        return False
    if not all(ctx.path(name).exists() for name in stage.outputs):
        return False
    recorded = record.get("outputs", {})
    for name in stage.outputs:
        if recorded.get(name) != file_hash(ctx.path(name)):
            log.warning("%s: %s changed since this stage wrote it; keeping it (--force recomputes it)", stage.name, name)
    return True


def run_stage(ctx: StageContext, name: str, *, force: bool = False) -> str:
    """Run one stage unless it is up to date; return 'ran' or 'skipped'."""
    stage = get_stage(name)
    _check_inputs(ctx, stage)
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(ctx.run_dir)
    if manifest.get("system", ctx.system.name) != ctx.system.name:
        raise ArtifactError(
            f"{ctx.run_dir} holds a run of system {manifest['system']!r}, not {ctx.system.name!r}. "
            "Use a different --run-dir for each system."
        )
    key = _cache_key(ctx, stage)
    records = manifest.get("stages", {})
    if not force and _up_to_date(ctx, stage, records.get(name), key):
        log.info("%s: up to date, skipped (inputs and settings unchanged; --force redoes it)", name)
        return "skipped"
    log.info("%s: %s", name, stage.doc)
    module = importlib.import_module(f"stages.{name}")
    start = time.perf_counter()
    module.run(ctx)
    wall = time.perf_counter() - start
    log.info("%s: done in %.1f s", name, wall)
    manifest = load_manifest(ctx.run_dir)
    manifest.update(
        {
            "system": ctx.system.name,
            "seed": ctx.config.seed,
            "config": ctx.config.to_dict(),
            "versions": _versions(),
            "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv)),
        }
    )
    if "keras" in sys.modules:
        manifest["backend"] = sys.modules["keras"].backend.backend()
    manifest.setdefault("stages", {})[name] = {
        "key": key,
        "wall_s": round(wall, 3),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "outputs": {o: file_hash(ctx.path(o)) for o in stage.outputs},
    }
    write_json(ctx.run_dir / MANIFEST, manifest)
    return "ran"


def run_all(ctx: StageContext, *, force: bool = False) -> dict[str, str]:
    return {stage.name: run_stage(ctx, stage.name, force=force) for stage in STAGES}

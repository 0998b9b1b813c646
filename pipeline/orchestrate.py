"""Wiring: which stage reads and writes which artifact, caching, and the manifest.

Stages are plain functions ``run(ctx)`` in ``stages/<name>.py``, each declared
there with its inputs and outputs (:mod:`pipeline.stage`, which orders them);
they read their inputs from the run directory and write their outputs there,
through :mod:`pipeline.catalog`.  A
stage is skipped when its cache key (system name and the fingerprint of its
definition, seed, its settings, the hashes of its inputs, the project version)
is what the manifest recorded for its last completed run and its outputs are the
files that run wrote (by hash); anything else is redone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.config import Config, result_settings
from pipeline.context import StageContext
from pipeline.errors import ArtifactError, MissingInputError
from pipeline.rundir import check_kind, file_hash, locked, remove_partials, text_hash, write_json
from pipeline.stage import Stage, get_stage, producer_of, stages

log = logging.getLogger("scinet")

MANIFEST = "manifest.json"


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


def stage_settings(config: Config, stage: str, key: bool = False) -> dict[str, Any]:
    """A stage's settings as the manifest records them; with ``key``, only those that decide what it makes."""
    section = getattr(config, stage, None)
    if not dataclasses.is_dataclass(section):
        settings = {}
    else:
        settings = result_settings(section) if key else dataclasses.asdict(section)
    if stage == "export":  # the export checks the model against the latent size
        settings["latent_size"] = config.train.latent_size
    if stage == "verify":  # fresh series are simulated with the run's length
        settings["series_length"] = config.simulate.series_length
    if stage == "regress" and key:  # an operator set's name stays when its operators change
        from symreg.engines import allowed_operators
        from symreg.operators import expand_operators

        allowed = allowed_operators(config.regress.backend)
        settings["operators"] = ",".join(expand_operators(config.regress.operators, allowed=allowed))
    return settings


def _cache_key(ctx: StageContext, stage: Stage) -> str:
    inputs = {name: file_hash(ctx.path(name)) for name in stage.inputs}
    payload = {
        "stage": stage.name,
        "system": ctx.system.name,
        "definition": ctx.system.fingerprint(laws=stage.reads_laws),
        "seed": ctx.config.seed,
        "settings": stage_settings(ctx.config, stage.name, key=True),
        "inputs": inputs,
        "version": project_version(),
    }
    if stage.reads_laws:  # a new closure states new errors (systems.laws.closure); without one, the key is as it was
        from systems.laws.closure import fingerprint

        closure = fingerprint(ctx.system.name)
        if closure is not None:
            payload["closure"] = closure
    return text_hash(json.dumps(payload, sort_keys=True))


def load_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.exists():
        return {}
    advice = (
        f"Move it aside (or delete it) and run again: every stage is then redone, since without a manifest "
        f"no output in {run_dir} can be trusted; or choose another --run-dir."
    )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path} is not a readable scinet manifest ({type(exc).__name__}: {exc}). {advice}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
        raise ArtifactError(f"{path} is not a scinet manifest. {advice}")
    return data


def recorded_seed(run_dir: Path) -> int | None:
    """The seed every stage recorded in ``run_dir``'s manifest was run with, or None (no stage recorded, or
    stages run with different seeds)."""
    try:
        stages_ = load_manifest(run_dir).get("stages", {})
    except ArtifactError:
        return None  # the command that uses the directory reports it
    seeds = {r.get("seed") for r in stages_.values() if isinstance(r, dict)}
    seed = seeds.pop() if len(seeds) == 1 else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _check_inputs(ctx: StageContext, stage: Stage) -> None:
    for name in stage.inputs:
        if not ctx.path(name).exists():
            first = next(s for s in stages() if any(not ctx.path(o.file).exists() for o in s.outputs))
            raise MissingInputError(
                f"Stage `{stage.name}` needs {ctx.path(name)} (made by `{producer_of(name)}`), which does not exist yet. "
                f"Run `scinet {first.name} {ctx.system.name} --run-dir {ctx.run_dir}` first, and the stages after it, "
                f"or all at once with `scinet run {ctx.system.name} --run-dir {ctx.run_dir}`."
            )


def _up_to_date(ctx: StageContext, stage: Stage, record: dict[str, Any] | None, key: str) -> bool:
    """Make's rule, made crash-safe: up to date when the key (settings and input hashes) is what the
    stage's completed record holds and every output is the file that record lists (by hash).

    An output that differs from its record was not written by a completed run of this stage (a run
    killed between writing it and recording it, or an edit): it is redone.  An edit made on purpose
    is kept by recording it first, with ``scinet accept`` (:func:`accept_stage`).
    """
    if not isinstance(record, dict) or record.get("key") != key:  # a record of another shape: not ours, redone
        return False
    if not all(ctx.path(o.file).exists() for o in stage.outputs):
        return False
    recorded = record.get("outputs")
    recorded = recorded if isinstance(recorded, dict) else {}
    files = stage.files(ctx.run_dir)
    changed = [name for name in files if recorded.get(name) != file_hash(ctx.path(name))]
    changed += sorted(set(recorded) - set(files))  # a file of a folder output that is gone
    if changed:
        log.warning(
            "%s: %s is not what a completed run of this stage wrote (an interrupted run, or an edit); redoing it. "
            "To keep an edit instead, run `scinet accept %s %s --run-dir %s` before this command.",
            stage.name,
            ", ".join(changed),
            stage.name,
            ctx.system.name,
            ctx.run_dir,
        )
        return False
    return True


def _check_system(ctx: StageContext, manifest: dict[str, Any]) -> None:
    if manifest.get("system", ctx.system.name) != ctx.system.name:
        raise ArtifactError(
            f"{ctx.run_dir} holds a run of system {manifest['system']!r}, not {ctx.system.name!r}. "
            "Use a different --run-dir for each system."
        )


def _record(ctx: StageContext, stage: Stage, key: str, **extra: Any) -> None:
    """Commit a stage: its outputs are on disk (written atomically and flushed); now the manifest
    records their hashes with the key, seed and settings they were made with.  Only this stage's
    record changes: the manifest describes the artifacts, not the last command."""
    manifest = load_manifest(ctx.run_dir)
    manifest["system"] = ctx.system.name
    if ctx.system.origin:  # a system declared in a TOML file: where to find it again (scinet.load)
        manifest["declared_in"] = ctx.system.origin
    record = {
        "key": key,
        "seed": ctx.config.seed,
        "settings": stage_settings(ctx.config, stage.name),
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv)),
        "versions": _versions(),
        **extra,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "outputs": {o: file_hash(ctx.path(o)) for o in stage.files(ctx.run_dir)},
    }
    if "keras" in sys.modules:
        record["backend"] = sys.modules["keras"].backend.backend()
        record["devices"] = _devices(sys.modules["keras"])
    manifest.setdefault("stages", {})[stage.name] = record
    write_json(ctx.run_dir / MANIFEST, manifest)


def _devices(keras) -> list[str]:
    """The devices Keras' backend computes on (``cpu:0``, ``gpu:0``, ...)."""
    if keras.backend.backend() == "torch":  # Keras lists no devices on PyTorch; it computes on the GPUs if any
        import torch

        return [f"gpu:{i}" for i in range(torch.cuda.device_count())] or ["cpu:0"]
    try:
        return [str(d) for d in keras.distribution.list_devices()]
    except Exception:  # noqa: BLE001 - a backend without the listing: the record says nothing rather than fail
        return []


def run_stage(ctx: StageContext, name: str, *, force: bool = False) -> str:
    """Run one stage unless it is up to date; return 'ran' or 'skipped'.  The run directory is held
    (:func:`pipeline.rundir.locked`) while it runs."""
    stage = get_stage(name)
    check_kind(ctx.run_dir, "run")
    _check_inputs(ctx, stage)
    with locked(ctx.run_dir):
        return _run_stage(ctx, stage, force=force)


def _run_stage(ctx: StageContext, stage: Stage, *, force: bool) -> str:
    name = stage.name
    manifest = load_manifest(ctx.run_dir)
    _check_system(ctx, manifest)
    key = _cache_key(ctx, stage)
    records = manifest.get("stages", {})
    if not force and _up_to_date(ctx, stage, records.get(name), key):
        log.info("%s: up to date, skipped (inputs and settings unchanged; --force redoes it)", name)
        _remove_scratch(ctx, stage)
        return "skipped"
    _name_changed_inputs(ctx, stage, records)
    log.info("%s: %s", name, stage.summary)
    start = time.perf_counter()
    stage.run(ctx)
    wall = time.perf_counter() - start
    log.info("%s: done in %.1f s", name, wall)
    _record(ctx, stage, key, wall_s=round(wall, 3))
    _remove_scratch(ctx, stage)
    return "ran"


def _name_changed_inputs(ctx: StageContext, stage: Stage, records: dict[str, Any]) -> None:
    """Say in the log which inputs are not what their producer's completed run wrote (edited, or written by
    a run killed before it recorded them): the stage reads them as they are."""
    for name in stage.inputs:
        record = records.get(producer_of(name))
        outputs = record.get("outputs") if isinstance(record, dict) else None
        if isinstance(outputs, dict) and outputs.get(name) != file_hash(ctx.path(name)):
            log.warning(
                "%s: %s is not what `%s` recorded writing (an edit, or a run killed before it recorded it); "
                "it is read as it is. `scinet accept %s %s --run-dir %s` records it as it is; "
                "`scinet %s %s --run-dir %s --force` makes it again.",
                stage.name,
                name,
                producer_of(name),
                producer_of(name),
                ctx.system.name,
                ctx.run_dir,
                producer_of(name),
                ctx.system.name,
                ctx.run_dir,
            )


def _remove_scratch(ctx: StageContext, stage: Stage) -> None:
    """Remove what an interrupted run of an up-to-date stage left (a ``--force`` killed midway, a file cut
    short mid-write): its state belongs to no output, and a run directory holds nothing that nothing reads."""
    remove_partials(ctx.run_dir)
    for name in stage.scratch:
        path = ctx.path(name)
        if path.exists() or path.is_symlink():
            log.info("%s: removing %s, left by an interrupted run", stage.name, name)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def accept_stage(ctx: StageContext, name: str) -> list[str]:
    """Record the current outputs of stage ``name`` as its results, as they are (an edit made on
    purpose, such as noise added to the observations): the next run keeps them and redoes the
    stages after it.  Returns the outputs recorded."""
    stage = get_stage(name)
    missing = [o.file for o in stage.outputs if not ctx.path(o.file).exists()]
    if missing:
        raise MissingInputError(
            f"Cannot accept `{name}`: {', '.join(str(ctx.path(o)) for o in missing)} does not exist. "
            f"`scinet accept` records files that are there; run `scinet {name} {ctx.system.name} --run-dir {ctx.run_dir}` "
            "to make them."
        )
    _check_inputs(ctx, stage)
    with locked(ctx.run_dir):
        manifest = load_manifest(ctx.run_dir)
        _check_system(ctx, manifest)
        _record(ctx, stage, _cache_key(ctx, stage), accepted=True)
    return stage.files(ctx.run_dir)


def run_all(ctx: StageContext, *, force: bool = False) -> dict[str, str]:
    check_kind(ctx.run_dir, "run")
    with locked(ctx.run_dir):
        return {stage.name: run_stage(ctx, stage.name, force=force) for stage in stages()}

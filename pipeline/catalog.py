"""The catalog: every artifact of a run, who makes it, and how it is read and written.

Stages ask this module for their inputs and hand it their outputs; they never
import each other.  Each artifact is declared by the stage that writes it (its
file, kind and what it holds: ``STAGE.outputs``, :mod:`pipeline.stage`) and has
one reader and one writer here.  What
crosses a stage boundary as a record is typed: :class:`History` (train) and
:class:`Verdict` (verify, one per law).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.context import StageContext
from pipeline.errors import ArtifactError
from pipeline.rundir import atomic_path, file_hash, read_json, read_parquet, write_json, write_parquet
from systems.laws.verdict import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED, Verdict  # noqa: F401 - re-exported


def producer_of(file: str) -> str:
    """The stage that writes ``file`` (each stage declares its outputs: :mod:`pipeline.stage`)."""
    from pipeline.stage import producer_of as producer

    return producer(file)


def _meta(ctx: StageContext, kind: str, **extra: Any) -> dict[str, Any]:
    units = {name: col.unit for name, col in ctx.system.columns.items()}
    # no path of the run directory: the same seed and settings give the same bytes wherever the run is
    return {"kind": kind, "system": ctx.system.name, "seed": ctx.config.seed, "units": units, **extra}


def artifact_hash(ctx: StageContext, file: str) -> str:
    """SHA-256 of an artifact: what a later artifact records of the one it was made from."""
    return file_hash(ctx.path(file))


def _read(ctx: StageContext, file: str, columns=()) -> tuple[pd.DataFrame, dict[str, Any]]:
    from pipeline.stage import output

    producer, declared = output(file)
    return read_parquet(ctx.path(file), producer=producer, kind=declared.kind, system=ctx.system.name, columns=list(columns))


def _finite(ctx: StageContext, file: str, frame: pd.DataFrame, names: list[str]) -> None:
    for name in names:
        if frame[name].dtype.kind not in "biuf":
            raise ArtifactError(
                f"{ctx.path(file)} column {name!r} holds {frame[name].dtype} values, not numbers. "
                f"Re-create it with `scinet {producer_of(file)} {ctx.system.name} --force` or fix the column."
            )
    values = frame[names].to_numpy(dtype=float) if names else np.zeros((0, 0))
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        raise ArtifactError(
            f"{ctx.path(file)} has {bad} rows with NaN or infinite values. "
            f"Re-create it with `scinet {producer_of(file)} {ctx.system.name} --force` or clean the data."
        )


def vector(frame: pd.DataFrame, names: list[str], system) -> np.ndarray:
    """The named columns as one float32 array (n, width): a vector column contributes its ``size`` values."""
    parts = []
    for n in names:
        col = system.columns[n]
        if col.size > 1:
            arr = np.stack(frame[n].to_numpy()).astype("float32")
            if arr.shape[1:] != (col.size,):
                raise ArtifactError(f"Column {n!r} should hold vectors of {col.size} values; found shape {arr.shape[1:]}.")
            parts.append(arr)
        else:
            parts.append(frame[n].to_numpy(dtype="float32")[:, None])
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0), dtype="float32")


# -- observations ---------------------------------------------------------------------------
def write_observations(ctx: StageContext, frame: pd.DataFrame) -> None:
    write_parquet(ctx.path("observations.parquet"), frame, _meta(ctx, "observations"))


def read_observations(ctx: StageContext) -> pd.DataFrame:
    s = ctx.system
    names = [n for n in (*[c.name for c in s.observed], *s.ground_truth_names)]
    frame, _ = _read(ctx, "observations.parquet", ["split", *(["series", "step"] if s.is_series else []), *names])
    scalars = [n for n in names if s.columns[n].size == 1]
    _finite(ctx, "observations.parquet", frame, scalars)
    for n in names:
        if s.columns[n].size > 1:
            if not np.isfinite(vector(frame, [n], s)).all():
                raise ArtifactError(
                    f"{ctx.path('observations.parquet')} has NaN or infinite values in column {n!r}. "
                    f"Re-create it with `scinet simulate {s.name} --force`."
                )
    counts = frame["split"].value_counts()
    for part in ("train", "test"):
        if counts.get(part, 0) == 0:
            raise ArtifactError(
                f"{ctx.path('observations.parquet')} has no rows in its '{part}' split ({len(frame)} rows in all): "
                f"the network needs samples to train on and held-out samples to judge it. Re-create it with "
                f"`scinet simulate {s.name} --force` (simulate.n_samples, simulate.test_fraction set the split)."
            )
    return frame


# -- model and history ----------------------------------------------------------------------
@dataclass
class History:
    """What training reports: per-epoch losses, learned steps, held-out prediction error."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    """held-out loss, at every ``train.validate_every`` epochs and null between"""
    phase: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    """the epoch (counted over the whole training) at which each loss was recorded (once per ``train.epoch_group``)"""
    steps: list[float] | None = None
    prediction_rms: dict[str, float] = field(default_factory=dict)
    latent_size: int = 0
    backend: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any, path, system: str) -> History:
        """The history a ``history.json`` holds, each field checked for its type."""
        if not isinstance(data, dict):
            raise ArtifactError(f"{path} is not a training history. Re-create it with `scinet train {system} --force`.")
        known = {f.name for f in dataclasses.fields(cls)}
        history = cls(**{k: v for k, v in data.items() if k in known})

        def numbers(x, none: bool = False) -> bool:
            return isinstance(x, list) and all(_is_number(v, none) for v in x)

        checks = {
            "loss": numbers(history.loss),
            "val_loss": numbers(history.val_loss, none=True),
            "phase": numbers(history.phase) and all(isinstance(v, int) for v in history.phase),
            "epoch": numbers(history.epoch) and all(isinstance(v, int) for v in history.epoch),
            "steps": history.steps is None or numbers(history.steps),
            "prediction_rms": isinstance(history.prediction_rms, dict)
            and all(isinstance(k, str) and _is_number(v) for k, v in history.prediction_rms.items()),
            "latent_size": isinstance(history.latent_size, int) and not isinstance(history.latent_size, bool),
            "backend": isinstance(history.backend, str),
            "seconds": _is_number(history.seconds),
        }
        wrong = [k for k, ok in checks.items() if not ok]
        if wrong:
            raise ArtifactError(
                f"{path} is not a training history: its field {wrong[0]!r} holds {str(getattr(history, wrong[0]))[:60]!r}, "
                f"which scinet train never writes. Re-create it with `scinet train {system} --force`."
            )
        return history


def write_model(ctx: StageContext, model, history: History) -> None:
    with atomic_path(ctx.path("model.keras")) as tmp:
        model.save(tmp)
    write_json(ctx.path("history.json"), history.to_json())


def read_history(ctx: StageContext) -> History:
    path = ctx.path("history.json")
    return History.from_json(read_json(path, producer="train", system=ctx.system.name), path, ctx.system.name)


def read_model(ctx: StageContext):
    """The trained model, loaded with Keras safe mode on (no code from the file runs)."""
    import keras

    from pipeline.model import SciNet

    path = ctx.path("model.keras")
    if not path.exists():
        raise ArtifactError(f"{path} does not exist. Run `scinet train {ctx.system.name}` first.")
    try:
        model = keras.saving.load_model(path, safe_mode=True, custom_objects={"SciNet": SciNet})
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ArtifactError(
            f"{path} could not be loaded as a SciNet model ({type(exc).__name__}: {exc}). "
            f"Re-create it with `scinet train {ctx.system.name} --force`."
        ) from exc
    if not isinstance(model, SciNet):
        raise ArtifactError(f"{path} is not a SciNet model. Re-create it with `scinet train {ctx.system.name} --force`.")
    return model


# -- latents and probe ----------------------------------------------------------------------
def latent_names(size: int) -> list[str]:
    return [f"z{i}" for i in range(size)]


def write_latents(ctx: StageContext, frame: pd.DataFrame, *, latent_units: dict[str, str], **meta: Any) -> None:
    full = _meta(ctx, "latents", **meta)
    full["units"].update(latent_units)
    full["units"].update({f"{n}_log_sigma": "1" for n in latent_units})
    write_parquet(ctx.path("latents.parquet"), frame, full)


def read_latents(ctx: StageContext) -> tuple[pd.DataFrame, dict[str, Any]]:
    s = ctx.system
    frame, meta = _read(ctx, "latents.parquet", ["split"])
    names = meta.get("latent_columns")
    active = meta.get("active")
    kl = meta.get("kl")
    if (
        not isinstance(names, list)
        or not isinstance(active, list)
        or not isinstance(kl, dict)
        or not set(active) <= set(names)
        or any(n not in frame for n in names)
    ):
        raise ArtifactError(
            f"{ctx.path('latents.parquet')} lacks its latent columns, KL per neuron or active neurons. "
            f"Re-create it with `scinet export {s.name} --force`."
        )
    if s.is_series and not (isinstance(meta.get("latent_steps"), list) and len(meta["latent_steps"]) == len(names)):
        raise ArtifactError(
            f"{ctx.path('latents.parquet')} lacks the learned latent steps. Re-create it with `scinet export {s.name} --force`."
        )
    if frame.empty:
        raise ArtifactError(f"{ctx.path('latents.parquet')} has no rows. Re-create it with `scinet export {s.name} --force`.")
    scalars = [n for n in s.scalar_names if n in frame and n != (s.time.name if s.time else None)]
    sigmas = [f"{n}_log_sigma" for n in names if f"{n}_log_sigma" in frame]
    _finite(ctx, "latents.parquet", frame, [*scalars, *names, *sigmas])
    return frame, meta


def write_probe(ctx: StageContext, frame: pd.DataFrame, **meta: Any) -> None:
    write_parquet(ctx.path("probe.parquet"), frame, _meta(ctx, "probe", **meta))


def read_probe(ctx: StageContext) -> pd.DataFrame | None:
    """The network's answers on fresh samples; None where the system declares no answer law."""
    spec = ctx.system.answer_law
    needed = [] if spec is None else ["sample", *spec.parameters, *spec.question_parameters, spec.question, spec.answer]
    frame, meta = _read(ctx, "probe.parquet")
    if frame.empty:
        return None
    missing = [c for c in dict.fromkeys(needed) if c not in frame]
    if missing:
        raise ArtifactError(
            f"{ctx.path('probe.parquet')} lacks the columns {missing}, which the law of motion is read from. "
            f"Re-create it with `scinet export {ctx.system.name} --force`."
        )
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "fi"]
    _finite(ctx, "probe.parquet", frame, list(dict.fromkeys([*needed, *numeric])))  # the needed ones numbers too
    return frame


# -- equations ------------------------------------------------------------------------------
LAW_OF_MOTION = "law_of_motion"
"""the variable set of the law-of-motion search (the answer law's parameters and question)"""


def variable_sets(system) -> dict[str, list[str]]:
    """The variable sets a regression of ``system`` may search over, by name: its own (``system.regress``) and,
    where it declares an answer law, the law of motion's."""
    sets = {k: list(v) for k, v in system.regress.items()}
    if system.answer_law is not None:
        sets[LAW_OF_MOTION] = list(system.answer_law.variables)
    return sets


def write_equations(ctx: StageContext, table: pd.DataFrame, *, variables: dict[str, list[str]], **meta: Any) -> None:
    write_parquet(ctx.path("equations.parquet"), table, _meta(ctx, "equations", variables=variables, **meta))


def read_equations(ctx: StageContext) -> pd.DataFrame:
    """The fronts, with every ``sympy_format`` read back by the whitelist parser into ``expr``."""
    from symreg.base import FRONT_TYPES
    from symreg.parse import ExpressionError, parse_expression

    cols = ["target", "variables", "complexity", "loss", "score", "equation", "sympy_format", "latex", "selected"]
    frame, meta = _read(ctx, "equations.parquet", cols)
    variables = meta.get("variables", {})
    targets = set(ctx.system.columns) | set(latent_names(64))
    if ctx.system.answer_law is not None:  # the answer law's target (an angle of two answer columns has its own name)
        targets.add(ctx.system.answer_law.answer)
    unknown = sorted({str(t) for t in frame["target"]} - targets)
    if unknown:
        raise ArtifactError(
            f"{ctx.path('equations.parquet')} has equations for {unknown[:3]}, which is no target of this system "
            f"(latent neurons z0, z1, ... or its answer columns). Re-create it with `scinet regress {ctx.system.name} --force`."
        )
    redo = f"Re-create it with `scinet regress {ctx.system.name} --force`."
    kinds = {"target": "string", "variables": "string", **FRONT_TYPES}
    wrong = [c for c, kind in kinds.items() if len(frame) and pd.api.types.infer_dtype(frame[c]) != kind]
    if wrong:
        raise ArtifactError(
            f"{ctx.path('equations.parquet')} column {wrong[0]!r} holds {pd.api.types.infer_dtype(frame[wrong[0]])} values, "
            f"not {kinds[wrong[0]]} ones. {redo}"
        )
    known = variable_sets(ctx.system)
    for varset in dict.fromkeys(frame["variables"]):
        names = variables.get(varset) if isinstance(variables, dict) else None
        if varset not in known or names != known[varset]:
            raise ArtifactError(
                f"{ctx.path('equations.parquet')} names the variable set {varset!r} with variables {names}, "
                f"which this system does not have (it has {', '.join(f'{k}: {v}' for k, v in known.items())}). {redo}"
            )
    counts = frame.groupby(["target", "variables"])["selected"].sum() if len(frame) else pd.Series(dtype=int)
    if (counts != 1).any():
        (target, varset), n = next((k, n) for k, n in counts.items() if n != 1)
        raise ArtifactError(
            f"{ctx.path('equations.parquet')} selects {int(n)} equations for {target} over {varset}, not one. {redo}"
        )
    exprs = []
    for _, row in frame.iterrows():
        names = variables[row["variables"]]
        try:
            exprs.append(parse_expression(row["sympy_format"], names))
        except ExpressionError as exc:
            raise ArtifactError(f"{ctx.path('equations.parquet')}: {exc} {redo}") from exc
    frame["expr"] = exprs
    return frame


# -- verification ---------------------------------------------------------------------------
def write_verification(ctx: StageContext, verdicts: list[Verdict], **extra: Any) -> None:
    write_json(
        ctx.path("verification.json"),
        {"system": ctx.system.name, **extra, "laws": [dataclasses.asdict(v) for v in verdicts]},
    )


def read_verification(ctx: StageContext) -> tuple[list[Verdict], dict[str, Any]]:
    """The verdicts, each field checked for its type (names are identifiers, verdicts one of the three, constants
    numbers) before anything downstream, LaTeX included, sees it."""
    path = ctx.path("verification.json")
    data = read_json(path, producer="verify", system=ctx.system.name)
    laws = data.get("laws") if isinstance(data, dict) else None
    if not isinstance(laws, list):
        raise ArtifactError(
            f"{path} is not a verification record: it has no list of laws. "
            f"Re-create it with `scinet verify {ctx.system.name} --force`."
        )
    return [_verdict(law, i, path, ctx.system.name) for i, law in enumerate(laws)], data


def _is_number(x: Any, none: bool = False) -> bool:
    return (x is None and none) or (isinstance(x, int | float) and not isinstance(x, bool))


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_CONSTANT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ +\-*/().,=<>']{0,119}")
"""a constant's name: a name, or a check's figure named after an expression (``r2_-v_x + w``); never a LaTeX
special (backslash, braces, $, &, %, #, ^, ~)"""
_CONSTANTS = ("fitted_constants", "true_constants", "relative_errors", "standard_errors", "systematic_errors", "deviations")


def _verdict(law: Any, index: int, path, system: str) -> Verdict:
    """One law of ``verification.json`` as a :class:`Verdict`, or an error naming the law and the field."""

    def wrong(what: str) -> ArtifactError:
        return ArtifactError(
            f"{path}: law {index + 1} {what}, which scinet verify never writes. "
            f"Re-create the file with `scinet verify {system} --force`."
        )

    if not isinstance(law, dict):
        raise wrong("is not a record")
    fields = {f.name for f in dataclasses.fields(Verdict)}
    law = {k: v for k, v in law.items() if k in fields}
    for key in ("name", "kind", "description", "verdict"):
        if not isinstance(law.get(key), str):
            raise wrong(f"has no text field {key!r}")
    if not _NAME.fullmatch(law["name"]):
        raise wrong(f"is named {law['name'][:40]!r}, not a name of letters, digits and underscores")
    if law["verdict"] not in (DISCOVERED, NOT_DISCOVERED, NOT_CHECKED):
        raise wrong(f"has the verdict {law['verdict'][:40]!r}, not {DISCOVERED!r}, {NOT_DISCOVERED!r} or {NOT_CHECKED!r}")
    latent = law.get("latent")
    latents = [latent] if isinstance(latent, str) else latent if isinstance(latent, list) else [] if latent is None else None
    if latents is None or not all(isinstance(z, str) and _NAME.fullmatch(z) for z in latents):
        raise wrong("names a latent neuron that is not one (z0, z1, ...)")
    if not (law.get("sign") is None or (_is_number(law["sign"]) and law["sign"] in (-1, 1))):
        raise wrong("has a sign that is not +1 or -1")
    for key in ("expression", "latex"):
        if not (law.get(key) is None or isinstance(law[key], str)):
            raise wrong(f"has a {key!r} that is not text")
    for key in _CONSTANTS:
        values = law.get(key, {})
        if not isinstance(values, dict):
            raise wrong(f"has {key!r} that is not a record of constants")
        for name, x in values.items():
            if not _CONSTANT.fullmatch(name):
                raise wrong(f"has a constant named {name[:40]!r} in {key!r}, with a character no constant's name holds")
            if not _is_number(x, none=key == "true_constants"):
                raise wrong(f"has {key!r}[{name!r}] = {str(x)[:40]!r}, not a number")
    checks = law.get("checks", {})
    if not isinstance(checks, dict) or not isinstance(checks.get("reason", ""), str):
        raise wrong("has checks that are not a record (with a text reason)")
    return Verdict(**law)


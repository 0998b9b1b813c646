"""Closure: how far a method's error bars fall short on simulated data of known truth, stated in every run's error.

A run estimates the network's systematic error from its own data (:mod:`systems.laws.uncertainty`): a
distortion that differs from region to region of the inputs, a second reading of the same constant.  A bias
that every training shares shows in none of these, and no single run can see it: the seeds' values then scatter
about a point beside the truth (the elliptic ``rho`` lay above it on 22 of 25 seeds, by 0.04 % on average), and
the truth falls outside a seed's 2-sigma interval more often than it should.

A *closure test* measures it, as experiments do with simulated events: the system is simulated, so a seed
ensemble at the default settings (``scinet run SYSTEM --seeds``) gives each constant's pulls, the deviations
from the truth in units of each seed's stated error, ``p_i = d_i / e_i``.  Honest errors give pulls of RMS 1.
``benchmarks/closure.py`` turns such an ensemble into ``systems/closure/SYSTEM.BACKEND.json``: per law and constant, the
*extra* error ``t`` that brings the pulls' RMS to 1, ``mean(d_i^2 / (e_i^2 + t^2)) = 1`` (zero where their RMS
is 1 or less already: nothing is added where the run's own errors cover the truth), with the mean deviation
``b`` and its standard error for the record.  The verify stage adds ``t`` in quadrature to that constant's
systematic error (:func:`apply`), and the verdict keeps it (``closure`` in its checks); the value itself is not
moved.  So a bias the run's own errors already account for (the learned step ratio's, which its second reading
sees) adds nothing, and one they miss (the elliptic ``rho``'s) adds what it takes.

A closure holds for the settings it was measured at.  It is applied only where the run's simulation and
training settings (those that decide what the stages make) and its Keras backend are those of the closure's
seeds; otherwise the record says why it was not (:func:`mismatch`).  Each Keras backend trains networks of its
own, so each has its own closure file, measured on its own ensemble; a run trained on a backend without one
states none.  The seeds a closure was measured on are
not the seeds it is judged on: each file names its seeds, and ``docs/results-for-a-paper.md`` gives the
coverage it gives on others.
"""

from __future__ import annotations

import dataclasses
import glob
import json
from pathlib import Path
from typing import Any

import numpy as np

from systems.laws.base import deviations
from systems.laws.geometry import wrap
from systems.laws.verdict import Verdict

DIRECTORY = Path(__file__).resolve().parent.parent / "closure"
"""where a system's closures are kept: ``systems/closure/{name}.{backend}.json``, one per Keras backend"""
STAGES = ("simulate", "train")
"""the stages whose settings a closure must share with a run"""


@dataclasses.dataclass(frozen=True)
class Closure:
    system: str
    seeds: tuple[int, ...]
    settings: dict[str, dict[str, Any]]
    """per stage of :data:`STAGES`, the settings the closure's seeds were run with (as their manifests record)"""
    backend: str | None
    constants: dict[tuple[str, str], tuple[float, float, float]]
    """(law, constant) -> (extra error t, mean deviation b, its standard error)"""
    source: str = ""
    definition: str | None = None
    """the system's fingerprint (with its laws) when the closure was measured: another one means the system has
    changed since, and the closure may no longer hold (the record says so)"""

    def term(self, law: str, constant: str) -> float | None:
        """The extra error ``t`` of the constant (the module's text), or None where the closure did not measure it."""
        got = self.constants.get((law, constant))
        return None if got is None else got[0]


STALE = (
    "the system's definition has changed since the closure was measured: measure it again "
    "(python benchmarks/closure.py ENSEMBLE_DIR)"
)


def path(system: str, backend: str, directory: Path | None = None) -> Path:
    """Where the system's closure for runs trained on the Keras ``backend`` is kept: ``{system}.{backend}.json`` in
    ``directory`` (default :data:`DIRECTORY`).  Each backend trains its own networks, so each has its own closure."""
    return (directory or DIRECTORY) / f"{system}.{backend}.json"


def files(system: str, directory: Path | None = None) -> list[Path]:
    """The system's closure files, one per backend it was measured on (and ``{system}.json``, as an earlier
    version named the only one), in the order of their names."""
    folder = directory or DIRECTORY
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{glob.escape(system)}.*json") if p.is_file()]
    return sorted(p for p in found if p.name == f"{system}.json" or p.name[len(system) + 1 :].count(".") == 1)


def fingerprint(system: str, directory: Path | None = None) -> str | None:
    """A hash of the system's closure files (None without one): part of the cache key of the stages that read the
    laws, so that a new closure re-runs verify and report."""
    import hashlib

    found = files(system, directory)
    if not found:
        return None
    digest = hashlib.sha256()
    for file in found:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load(system: str, backend: str | None = None, directory: Path | None = None) -> Closure | None:
    """The system's closure for runs trained on ``backend``, or None where it has none.  Where only other backends'
    closures exist, one of them: :func:`mismatch` then says that the backend differs, and the run states none.  A
    file that cannot be read is an error that says so."""
    own = path(system, backend, directory) if backend is not None else None
    if own is not None and own.is_file():  # the backend's own file alone: another backend's cannot stop this run
        return _read(system, own)
    closures = [c for c in (_read(system, file) for file in files(system, directory)) if c.system == system]
    if not closures:
        return None
    return next((c for c in closures if backend is not None and c.backend == backend), closures[0])


def _read(system: str, file: Path) -> Closure:
    try:
        data = json.loads(file.read_text())
        return Closure(
            system=str(data["system"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            settings={stage: dict(data["settings"][stage]) for stage in STAGES},
            backend=data.get("backend"),
            constants={
                (c["law"], c["constant"]): (float(c["extra"]), float(c["bias"]), float(c["bias_error"]))
                for c in data["constants"]
            },
            source=str(file),
            definition=data.get("definition"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{file} is not a readable closure ({type(exc).__name__}: {exc}). Make it again with "
            f"`python benchmarks/closure.py ENSEMBLE_DIR` from a seed ensemble of {system}, or delete it: runs then "
            "state no closure."
        ) from exc


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def mismatch(closure: Closure, settings: dict[str, dict[str, Any]], backend: str | None) -> str | None:
    """Why the closure does not hold for a run with these ``settings`` (per stage of :data:`STAGES`, those that
    decide what the stage makes) and Keras ``backend``; None where it does."""
    differ = []
    for stage in STAGES:
        for key, value in settings.get(stage, {}).items():
            if key in closure.settings[stage] and _plain(closure.settings[stage][key]) != _plain(value):
                differ.append(f"{stage}.{key} = {_plain(value)!r} (closure: {closure.settings[stage][key]!r})")
            elif key not in closure.settings[stage]:
                differ.append(f"{stage}.{key} (not recorded by the closure)")
    if backend is not None and closure.backend is not None and backend != closure.backend:
        differ.append(f"the {backend} backend (closure: {closure.backend})")
    if not differ:
        return None
    return "the closure was measured at other settings: " + "; ".join(differ)


def apply(
    verdicts: list[Verdict], closure: Closure | None, reason: str | None = None, *, definition: str | None = None
) -> list[Verdict]:
    """The verdicts with each constant the closure measured carrying its term in the systematic error (the
    module's text), and the deviations recomputed; with a ``reason`` (from :func:`mismatch`), unchanged but for
    a record of why not.  A system ``definition`` other than the closure's is recorded as a warning."""
    if closure is None:
        return verdicts
    out = []
    for v in verdicts:
        terms = {k: closure.term(v.name, k) for k in v.fitted_constants if k in v.standard_errors}
        terms = {k: t for k, t in terms.items() if t is not None and v.fitted_constants[k] is not None}
        if not terms:
            out.append(v)
            continue
        if reason is not None:
            out.append(dataclasses.replace(v, checks={**v.checks, "closure": {"applied": False, "reason": reason}}))
            continue
        systematic = dict(v.systematic_errors)
        for k, t in terms.items():
            systematic[k] = float(np.hypot(np.nan_to_num(systematic.get(k, 0.0)), t))
        record = {
            "applied": True,
            "source": Path(closure.source).name,
            "seeds": list(closure.seeds),
            "extra": terms,
            "bias": {k: closure.constants[(v.name, k)][1] for k in terms},
            "bias_error": {k: closure.constants[(v.name, k)][2] for k in terms},
        }
        if definition is not None and closure.definition is not None and definition != closure.definition:
            record["warning"] = STALE
        out.append(
            dataclasses.replace(
                v,
                systematic_errors=systematic,
                deviations=deviations(v.fitted_constants, v.true_constants, v.standard_errors, systematic),
                checks={**v.checks, "closure": record},
            )
        )
    return out


def extra_error(deviations: np.ndarray, errors: np.ndarray) -> float:
    """The smallest ``t >= 0`` with ``mean(d^2 / (e^2 + t^2)) <= 1``: the error to add in quadrature so that the
    pulls ``d / e`` have RMS 1 (0 where they have it already)."""
    from scipy.optimize import brentq

    d2, e2 = np.asarray(deviations, dtype=float) ** 2, np.asarray(errors, dtype=float) ** 2
    excess = lambda t: float(np.mean(d2 / (e2 + t * t))) - 1.0  # noqa: E731 - decreasing in t
    if excess(0.0) <= 0:
        return 0.0
    return float(brentq(excess, 0.0, float(np.sqrt(d2.max())) * 2 + 1e-300))


def without(law: dict[str, Any]) -> dict[str, Any]:
    """A verdict (as ``verification.json`` holds it) with a closure it states taken out of its systematic errors:
    a closure is measured on the run's own errors."""
    record = law.get("checks", {}).get("closure")
    if not isinstance(record, dict) or not record.get("applied"):
        return law
    systematic = dict(law.get("systematic_errors", {}))
    for k, t in record.get("extra", {}).items():
        if k in systematic and systematic[k] is not None and np.isfinite(systematic[k]):
            systematic[k] = float(np.sqrt(max(systematic[k] ** 2 - t**2, 0.0)))
    return {**law, "systematic_errors": systematic}


def from_ensemble(ensemble: dict[str, Any], manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """A closure file's contents from an ``ensemble.json`` (made from verdicts without a closure, :func:`without`)
    and its seeds' manifests (which must share the settings of :data:`STAGES` and the backend): per constant with a
    true value, over the seeds that discovered its law and stated an error, the pulls' RMS, the extra error that
    brings it to 1 (:func:`extra_error`), and the mean deviation with its standard error (an angle's deviation
    wrapped into (-pi, pi])."""
    if not manifests:
        raise ValueError("no seed's manifest was found: a closure needs the settings its seeds were run with")
    settings = {stage: _plain(manifests[0]["stages"][stage]["settings"]) for stage in STAGES}
    backend = manifests[0]["stages"]["train"].get("backend")
    for m in manifests[1:]:
        if {stage: _plain(m["stages"][stage]["settings"]) for stage in STAGES} != settings or m["stages"]["train"].get(
            "backend"
        ) != backend:
            raise ValueError("the ensemble's seeds were run with different settings: a closure needs one setting")
    constants = []
    for c in ensemble["constants"]:
        rows = [v for v in c["values"] if v.get("error") is not None and np.isfinite(v["error"]) and v["error"] > 0]
        if c.get("true") is None or len(rows) < 2:
            continue
        diff = np.array([v["value"] for v in rows], dtype=float) - float(c["true"])
        diff = np.where(np.abs(diff) > np.pi, wrap(diff), diff)
        errors = np.array([v["error"] for v in rows], dtype=float)
        constants.append(
            {
                "law": c["law"],
                "constant": c["constant"],
                "true": float(c["true"]),
                "pull_rms": float(np.sqrt(np.mean((diff / errors) ** 2))),
                "extra": extra_error(diff, errors),
                "bias": float(diff.mean()),
                "bias_error": float(diff.std(ddof=1) / np.sqrt(len(diff))),
                "n": len(diff),
            }
        )
    return {
        "system": ensemble["system"],
        "seeds": [int(s) for s in ensemble["seeds"]],
        "settings": settings,
        "backend": backend,
        "constants": constants,
    }

"""A system is one file: an undamped oscillator defined here runs through the registry end to end,
and editing a system's module re-runs the stages that depend on it."""

import importlib
import json
import sys
import textwrap

import numpy as np
import sympy as sp
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.registry import get_system, register
from systems.base import AnswerLawSpec, Column, LatentSpec, PhysicalSystem
from systems.laws import AnswerLaw, LatentAffine, UnusedLatents

T_RECORD = np.linspace(0, 3, 10)


def simulate(*, n_samples, rng):
    w = rng.uniform(1.0, 2.0, n_samples)
    t = rng.uniform(0.0, 6.0, n_samples)
    return {"x_seen": np.cos(w[:, None] * T_RECORD), "t": t, "x": np.cos(w * t), "w": w}


def laws():
    w, t = sp.symbols("w t", real=True)
    c = sp.Symbol("c", real=True)
    return (
        LatentAffine(name="latent_is_w", description="one neuron is affine in the frequency w", expression=w),
        UnusedLatents(name="none_unused", description="no neuron is unused", count=0),
        AnswerLaw(name="motion", description="x = cos(c w t), c = 1", expression=sp.cos(c * w * t), constants={c: 1.0}),
    )


OSCILLATOR = PhysicalSystem(
    name="oscillator",
    description="An undamped oscillator: from ten positions, predict the position at a later time",
    encoder=(Column("x_seen", "m", size=len(T_RECORD), doc="positions at ten times in [0, 3]"),),
    questions=(Column("t", "s", doc="time asked about"),),
    answers=(Column("x", "m", doc="position at that time"),),
    ground_truth=(Column("w", "1/s", doc="angular frequency", symbol=r"\omega"),),
    latent=LatentSpec(size=1, kind="real", evolution="none"),
    simulator=simulate,
    laws=laws,
    regress={"ground_truth": ("w",)},
    answer_law=AnswerLawSpec(answer="x", parameters=("w",), question="t", n_samples=30, questions_per_sample=20),
    defaults={"simulate.n_samples": 200, "train.epochs": [2], "train.encoder_units": [8], "train.decoder_units": [8]},
)

TINY = [
    "--set",
    "regress.time_budget=1",
    "--set",
    "regress.law_time_budget=1",
    "--set",
    "regress.n_rows=100",
    "--set",
    "verify.n_fresh=30",
]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_a_system_defined_in_one_file_runs_end_to_end(tmp_path):
    register(OSCILLATOR)
    assert get_system("oscillator") is OSCILLATOR
    assert "oscillator" in invoke("systems").output
    result = invoke(
        "run",
        "oscillator",
        "--run-dir",
        tmp_path / "o",
        "--set",
        "export.unused_kl=0",
        "--set",
        "export.unused_fraction=0",
        *TINY,
    )
    assert result.exit_code == 0, result.output
    verification = json.loads((tmp_path / "o" / "verification.json").read_text())
    assert [law["name"] for law in verification["laws"]] == ["latent_is_w", "none_unused", "motion"]
    assert all(law["verdict"] in ("discovered", "not discovered", "not checked") for law in verification["laws"])
    assert verification["active"] == ["z0"]
    assert "undamped oscillator" in (tmp_path / "o" / "report.md").read_text()
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["stages"]["train"]["settings"]["epochs"] == [2]  # the system's default


SOURCE = """
import numpy as np
from systems.base import Column, LatentSpec, PhysicalSystem

SCALE = {scale}

def simulate(*, n_samples, rng):
    a = rng.uniform(1, 2, n_samples)
    return {{"seen": np.stack([a, 2 * a], 1) * SCALE, "q": rng.uniform(0, 1, n_samples), "y": a, "a": a}}

SYSTEM = PhysicalSystem(
    name="edited", description="edited", encoder=(Column("seen", "1", size=2),), questions=(Column("q", "1"),),
    answers=(Column("y", "1"),), ground_truth=(Column("a", "1"),), latent=LatentSpec(size=1), simulator=simulate,
    laws=lambda: (), defaults={{"simulate.n_samples": 50, "train.epochs": [1], "train.encoder_units": [4]}},
)
"""


def test_editing_the_system_module_reruns_its_stages(tmp_path, monkeypatch):
    (tmp_path / "edited_system.py").write_text(textwrap.dedent(SOURCE.format(scale=1.0)))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_system")
    register(module.SYSTEM)
    run_dir = tmp_path / "run"
    assert invoke("simulate", "edited", "--run-dir", run_dir).exit_code == 0
    assert "up to date" in invoke("simulate", "edited", "--run-dir", run_dir).output
    (tmp_path / "edited_system.py").write_text(textwrap.dedent(SOURCE.format(scale=3.0)))
    module = importlib.reload(module)
    register(module.SYSTEM)
    again = invoke("simulate", "edited", "--run-dir", run_dir)
    assert again.exit_code == 0 and "simulate: done" in again.output
    sys.modules.pop("edited_system", None)


LAWS_SOURCE = """
import numpy as np
from systems.base import Column, LatentSpec, PhysicalSystem

def simulate(*, n_samples, rng):
    a = rng.uniform(1, 2, n_samples) * {scale}
    return {{"seen": np.stack([a, 2 * a], 1), "q": rng.uniform(0, 1, n_samples), "y": a, "a": a}}

def laws():
    from systems.laws import UnusedLatents
    return (UnusedLatents(name="unused", description="unused", count={count}),)

SYSTEM = PhysicalSystem(
    name="edited-laws", description="edited", encoder=(Column("seen", "1", size=2),), questions=(Column("q", "1"),),
    answers=(Column("y", "1"),), ground_truth=(Column("a", "1"),), latent=LatentSpec(size=1), simulator=simulate,
    laws=laws,
)
"""


def test_editing_only_a_systems_laws_changes_only_what_verify_and_report_depend_on(tmp_path, monkeypatch):
    from pipeline.stage import stages

    path = tmp_path / "edited_laws_system.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    fingerprints = {}
    for scale, count in ((1, 0), (1, 1), (2, 1)):  # as written, its law edited, then its simulator edited
        path.write_text(textwrap.dedent(LAWS_SOURCE.format(scale=scale, count=count)))
        importlib.invalidate_caches()
        sys.modules.pop("edited_laws_system", None)
        system = importlib.import_module("edited_laws_system").SYSTEM
        fingerprints[scale, count] = (system.fingerprint(), system.fingerprint(laws=True))
    sys.modules.pop("edited_laws_system", None)
    assert fingerprints[1, 0][0] == fingerprints[1, 1][0]  # the data and the training stand
    assert fingerprints[1, 0][1] != fingerprints[1, 1][1]  # verify and report are redone
    assert fingerprints[1, 1][0] != fingerprints[2, 1][0] and fingerprints[1, 1][1] != fingerprints[2, 1][1]
    assert {stage.name for stage in stages() if stage.reads_laws} == {"verify", "report"}

"""A system's closure (the method's bias over a seed ensemble of simulated data) in each run's systematic error."""

import dataclasses
import json
import math

import numpy as np
import pytest

from systems.laws import closure
from systems.laws.verdict import Verdict

SETTINGS = {"simulate": {"n_samples": 2000, "noise": 0.01}, "train": {"epochs": [40, 40, 140], "beta": 1e-4}}


def _ensemble(values: dict[str, list[float]], true: dict[str, float]) -> dict:
    return {
        "system": "copernicus-elliptic",
        "seeds": [20, 21, 22, 23],
        "constants": [
            {
                "law": "orbits_from_the_sky",
                "constant": k,
                "true": true[k],
                "values": [{"seed": 20 + i, "value": x, "error": 1e-3} for i, x in enumerate(v)],
            }
            for k, v in values.items()
        ],
    }


def _manifest(settings=SETTINGS, backend="tensorflow") -> dict:
    return {
        "system": "copernicus-elliptic",
        "stages": {"simulate": {"settings": settings["simulate"]}, "train": {"settings": settings["train"], "backend": backend}},
    }


def _closure(extra=5e-4, bias=6e-4, error=2e-4) -> closure.Closure:
    return closure.Closure(
        system="copernicus-elliptic",
        seeds=(20, 21),
        settings=SETTINGS,
        backend="tensorflow",
        constants={("orbits_from_the_sky", "rho"): (extra, bias, error)},
        source="systems/closure/copernicus-elliptic.tensorflow.json",
    )


def _verdict() -> Verdict:
    return Verdict(
        name="orbits_from_the_sky",
        kind="observation_model",
        description="",
        verdict="discovered",
        fitted_constants={"rho": 1.5246, "e_M": 0.0935},
        true_constants={"rho": 1.5237, "e_M": 0.0934},
        standard_errors={"rho": 1e-4, "e_M": 1e-4},
        systematic_errors={"rho": 3e-4, "e_M": 2e-4},
        deviations={"rho": 0.9 / math.hypot(0.1, 0.3), "e_M": 0.1 / math.hypot(0.1, 0.2)},
    )


def test_a_closure_is_the_error_that_gives_the_pulls_rms_one_and_the_mean_deviation():
    values = [1.5243, 1.5245, 1.5240, 1.5248]  # 0.3 to 1.1 of the stated 0.001 from the truth: pulls' RMS 0.76
    far = [1.5267, 1.5262, 1.5270, 1.5259]  # 2.2 to 3.3 of it
    # an angle's deviation is wrapped: 3.14 and -3.13 lie 0.0016 and 0.0132 from pi
    angles = [3.14, -3.13, 3.1416, 3.1416]
    ens = _ensemble({"rho": values, "e_M": far, "varpi_M": angles}, {"rho": 1.5237, "e_M": 1.5237, "varpi_M": math.pi})
    data = closure.from_ensemble(ens, [_manifest()] * 4)
    rho, e_m, varpi = data["constants"]
    dev = np.array(values) - 1.5237
    assert rho["bias"] == pytest.approx(dev.mean()) and rho["bias_error"] == pytest.approx(dev.std(ddof=1) / 2)
    assert rho["pull_rms"] == pytest.approx(np.sqrt(np.mean((dev / 1e-3) ** 2))) and rho["extra"] == 0.0
    d = np.array(far) - 1.5237
    assert e_m["extra"] > 0 and np.mean(d**2 / (1e-6 + e_m["extra"] ** 2)) == pytest.approx(1.0)
    assert rho["n"] == 4 and data["seeds"] == [20, 21, 22, 23] and data["backend"] == "tensorflow"
    wrapped = np.angle(np.exp(1j * (np.array(angles) - math.pi)))
    assert abs(varpi["bias"]) < 0.01 and varpi["bias"] == pytest.approx(wrapped.mean())
    assert data["settings"] == SETTINGS


def test_a_closure_is_measured_on_the_runs_own_errors():
    law = {"systematic_errors": {"rho": 5e-4, "e_M": 1e-4}, "checks": {"closure": {"applied": True, "extra": {"rho": 4e-4}}}}
    assert closure.without(law)["systematic_errors"] == {"rho": pytest.approx(3e-4), "e_M": 1e-4}
    assert closure.without({"systematic_errors": {"rho": 5e-4}}) == {"systematic_errors": {"rho": 5e-4}}


def test_a_closure_needs_one_setting_for_every_seed():
    other = {**SETTINGS, "train": {**SETTINGS["train"], "beta": 1e-3}}
    with pytest.raises(ValueError, match="different settings"):
        closure.from_ensemble(_ensemble({"rho": [1.5, 1.6]}, {"rho": 1.5}), [_manifest(), _manifest(other)])
    with pytest.raises(ValueError, match="different settings"):
        closure.from_ensemble(_ensemble({"rho": [1.5, 1.6]}, {"rho": 1.5}), [_manifest(), _manifest(backend="jax")])


def test_the_closure_joins_the_systematic_error_in_quadrature_and_the_value_stays():
    (v,) = closure.apply([_verdict()], _closure())
    assert v.fitted_constants == _verdict().fitted_constants  # not moved: the record states the bias
    assert v.systematic_errors["rho"] == pytest.approx(math.hypot(3e-4, 5e-4))
    assert v.systematic_errors["e_M"] == 2e-4  # a constant the closure did not measure keeps its error
    total = math.hypot(1e-4, v.systematic_errors["rho"])
    assert v.deviations["rho"] == pytest.approx((1.5246 - 1.5237) / total)
    assert v.checks["closure"] == {
        "applied": True,
        "source": "copernicus-elliptic.tensorflow.json",
        "seeds": [20, 21],
        "extra": {"rho": 5e-4},
        "bias": {"rho": 6e-4},
        "bias_error": {"rho": 2e-4},
    }
    (stale,) = closure.apply([_verdict()], dataclasses.replace(_closure(), definition="abc"), definition="abd")
    assert "measure it again" in stale.checks["closure"]["warning"]
    assert stale.systematic_errors == v.systematic_errors  # still stated: the record warns
    other = Verdict(name="step_ratio", kind="step_ratio", description="", verdict="discovered", fitted_constants={"ratio": 0.53})
    assert closure.apply([other], _closure()) == [other]
    assert closure.apply([_verdict()], None) == [_verdict()]


def test_a_closure_measured_at_other_settings_is_not_applied_and_the_record_says_why():
    assert closure.mismatch(_closure(), SETTINGS, "tensorflow") is None
    run = {"simulate": SETTINGS["simulate"], "train": {"epochs": [3, 40], "beta": 1e-4}}
    reason = closure.mismatch(_closure(), run, "jax")
    assert "train.epochs = [3, 40] (closure: [40, 40, 140])" in reason and "the jax backend (closure: tensorflow)" in reason
    assert "simulate" not in reason
    new_key = {**SETTINGS, "train": {**SETTINGS["train"], "harmonics": 3}}
    assert "train.harmonics (not recorded by the closure)" in closure.mismatch(_closure(), new_key, "tensorflow")
    (v,) = closure.apply([_verdict()], _closure(), reason)
    assert v.systematic_errors == _verdict().systematic_errors and v.deviations == _verdict().deviations
    assert v.checks["closure"] == {"applied": False, "reason": reason}


def test_a_closure_file_is_read_back_and_a_broken_one_names_the_fix(tmp_path):
    assert closure.load("copernicus-elliptic", "tensorflow", tmp_path) is None
    assert closure.fingerprint("copernicus-elliptic", tmp_path) is None
    data = closure.from_ensemble(_ensemble({"rho": [1.5263, 1.5265]}, {"rho": 1.5237}), [_manifest()] * 2)
    closure.path("copernicus-elliptic", "tensorflow", tmp_path).write_text(json.dumps(data))
    got = closure.load("copernicus-elliptic", "tensorflow", tmp_path)
    assert got.seeds == (20, 21, 22, 23) and got.settings == SETTINGS and got.backend == "tensorflow"
    assert data["constants"][0]["extra"] > 0
    assert got.term("orbits_from_the_sky", "rho") == pytest.approx(data["constants"][0]["extra"])
    assert got.term("orbits_from_the_sky", "e_M") is None
    assert closure.fingerprint("copernicus-elliptic", tmp_path) is not None
    closure.path("copernicus-elliptic", "tensorflow", tmp_path).write_text('{"system": "copernicus-elliptic"}')
    with pytest.raises(ValueError, match="benchmarks/closure.py"):
        closure.load("copernicus-elliptic", "tensorflow", tmp_path)


def test_each_backend_has_its_own_closure_and_a_run_on_another_states_none(tmp_path):
    data = closure.from_ensemble(_ensemble({"rho": [1.5263, 1.5265]}, {"rho": 1.5237}), [_manifest()] * 2)
    closure.path("copernicus-elliptic", "tensorflow", tmp_path).write_text(json.dumps(data))
    # another system's closure beside it is not this one's
    closure.path("copernicus", "jax", tmp_path).write_text(json.dumps({**data, "system": "copernicus", "backend": "jax"}))
    only_tf = closure.fingerprint("copernicus-elliptic", tmp_path)
    assert closure.load("copernicus-elliptic", "jax", tmp_path).backend == "tensorflow"  # the only one there...
    assert "the jax backend (closure: tensorflow)" in closure.mismatch(
        closure.load("copernicus-elliptic", "jax", tmp_path), SETTINGS, "jax"
    )  # ...which says why a JAX run states none
    on_jax = {**data, "backend": "jax", "constants": [{**data["constants"][0], "extra": 0.123}]}
    closure.path("copernicus-elliptic", "jax", tmp_path).write_text(json.dumps(on_jax))
    assert closure.fingerprint("copernicus-elliptic", tmp_path) != only_tf  # a new closure re-runs verify
    for backend, extra in (("jax", 0.123), ("tensorflow", data["constants"][0]["extra"])):
        got = closure.load("copernicus-elliptic", backend, tmp_path)
        assert got.backend == backend and got.term("orbits_from_the_sky", "rho") == pytest.approx(extra)
        assert closure.mismatch(got, SETTINGS, backend) is None
    assert closure.load("copernicus", "jax", tmp_path).system == "copernicus"
    closure.path("copernicus-elliptic", "jax", tmp_path).write_text("{}")  # broken: only JAX runs are stopped by it
    assert closure.load("copernicus-elliptic", "tensorflow", tmp_path).backend == "tensorflow"
    with pytest.raises(ValueError, match="benchmarks/closure.py"):
        closure.load("copernicus-elliptic", "jax", tmp_path)


def test_a_closure_file_named_as_before_backends_is_still_read(tmp_path):
    data = closure.from_ensemble(_ensemble({"rho": [1.5263, 1.5265]}, {"rho": 1.5237}), [_manifest()] * 2)
    (tmp_path / "copernicus-elliptic.json").write_text(json.dumps(data))
    assert closure.load("copernicus-elliptic", "tensorflow", tmp_path).backend == "tensorflow"
    assert closure.fingerprint("copernicus-elliptic", tmp_path) is not None
    assert closure.load("copernicus", "tensorflow", tmp_path) is None


def test_every_shipped_closure_is_named_by_its_system_and_backend():
    shipped = sorted(closure.DIRECTORY.glob("*.json"))
    assert shipped
    for file in shipped:
        data = json.loads(file.read_text())
        assert file.name == f"{data['system']}.{data['backend']}.json"
        assert closure.load(data["system"], data["backend"]).source == str(file)


def test_a_new_closure_reruns_verify_and_report_and_no_closure_keeps_the_cache_key(tmp_path, monkeypatch):
    from pipeline.config import Config
    from pipeline.context import StageContext
    from pipeline.orchestrate import _cache_key
    from pipeline.registry import get_system
    from pipeline.stage import get_stage

    ctx = StageContext(system=get_system("copernicus-elliptic"), config=Config(), run_dir=tmp_path)
    for name in ("train", "verify", "report"):
        for file in get_stage(name).inputs:
            (tmp_path / file).write_text(file)  # the inputs' hashes are part of the key
    monkeypatch.setattr(closure, "DIRECTORY", tmp_path / "none")
    before = {name: _cache_key(ctx, get_stage(name)) for name in ("train", "verify", "report")}
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "copernicus-elliptic.tensorflow.json").write_text("{}")
    after = {name: _cache_key(ctx, get_stage(name)) for name in ("train", "verify", "report")}
    assert after["train"] == before["train"]
    assert after["verify"] != before["verify"] and after["report"] != before["report"]


def test_verify_states_the_closure_of_the_runs_own_settings_and_not_of_others(tmp_path, monkeypatch):
    """End to end: a tiny pendulum run; a closure measured at its settings joins the errors of the law of motion's
    gamma (and the report says over which seeds); one measured at the default settings is not applied, and says why."""
    from click.testing import CliRunner

    from pipeline.cli import main
    from tests.test_cli import PENDULUM_TINY as TINY

    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "pendulum", "--run-dir", str(run_dir), *TINY], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    before = {v["name"]: v for v in json.loads((run_dir / "verification.json").read_text())["laws"]}
    assert "gamma" in before["law_of_motion"]["standard_errors"]  # fitted even where not discovered
    manifest = json.loads((run_dir / "manifest.json").read_text())
    here = tmp_path / "closures"
    here.mkdir()
    monkeypatch.setattr(closure, "DIRECTORY", here)
    data = {
        "system": "pendulum",
        "seeds": [7, 8],
        "settings": {s: manifest["stages"][s]["settings"] for s in closure.STAGES},
        "backend": manifest["stages"]["train"]["backend"],
        "constants": [
            {"law": "law_of_motion", "constant": "gamma", "true": 0.5, "extra": 0.01, "bias": 0.01, "bias_error": 0.002}
        ],
    }
    (here / f"pendulum.{data['backend']}.json").write_text(json.dumps(data))
    trained = manifest["stages"]["train"]["finished"]
    CliRunner().invoke(main, ["run", "pendulum", "--run-dir", str(run_dir), *TINY], catch_exceptions=False)
    stages = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert stages["train"]["finished"] == trained  # a new closure re-runs verify and report, not training
    assert stages["verify"]["key"] != manifest["stages"]["verify"]["key"]
    after = {v["name"]: v for v in json.loads((run_dir / "verification.json").read_text())["laws"]}
    was, now = before["law_of_motion"]["systematic_errors"]["gamma"], after["law_of_motion"]["systematic_errors"]["gamma"]
    assert now == pytest.approx(math.hypot(was if math.isfinite(was) else 0.0, 0.01))
    assert after["law_of_motion"]["checks"]["closure"]["applied"] is True
    assert "measured over seeds 7-8" in (run_dir / "report.md").read_text()
    data["settings"]["train"] = {**data["settings"]["train"], "epochs": [600]}
    (here / f"pendulum.{data['backend']}.json").write_text(json.dumps(data))
    CliRunner().invoke(main, ["run", "pendulum", "--run-dir", str(run_dir), *TINY], catch_exceptions=False)
    last = {v["name"]: v for v in json.loads((run_dir / "verification.json").read_text())["laws"]}
    assert last["law_of_motion"]["systematic_errors"] == before["law_of_motion"]["systematic_errors"]
    assert "train.epochs = [3] (closure: [600])" in last["law_of_motion"]["checks"]["closure"]["reason"]
    assert "No closure is stated: the closure was measured at other settings" in (run_dir / "report.md").read_text()

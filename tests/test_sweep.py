"""`scinet sweep`: the rule, the outputs, and a sweep that resumes."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.catalog import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED
from pipeline.cli import main
from pipeline.errors import ArtifactError, ConfigError
from pipeline.registry import get_system
from pipeline.sweep import default_sizes, degrees_of_freedom, parse_sizes, verdict


def test_latent_sizes_are_a_range_or_a_list():
    assert parse_sizes("0..4") == [0, 1, 2, 3, 4]
    assert parse_sizes("3, 1,1") == [1, 3]
    for bad in ("4..0", "a", "-1,2", ""):
        with pytest.raises(ConfigError):
            parse_sizes(bad)


def _table(errors):
    rows = [
        {"latent_size": size, "seed": seed, "typical": e * (1 + 0.01 * seed), "rms": 2 * e}
        for size, e in errors.items()
        for seed in range(3)
    ]
    return pd.DataFrame(rows)


def test_the_rule_finds_where_the_error_stops_falling():
    found, median = degrees_of_freedom(_table({0: 0.3, 1: 0.1, 2: 0.004, 3: 0.0041, 4: 0.0039}))
    assert found == 2 and median[2] == pytest.approx(0.00404)
    assert degrees_of_freedom(_table({0: 0.30, 1: 0.29, 2: 0.295}))[0] == 0  # flat: no neuron helps
    assert degrees_of_freedom(_table({2: 0.1}))[0] is None  # one size: nothing to compare
    qubit1 = get_system("qubit1")
    assert verdict(qubit1, _table({0: 0.3, 1: 0.1, 2: 0.004, 3: 0.004})).verdict == DISCOVERED
    assert verdict(qubit1, _table({0: 0.3, 1: 0.004, 2: 0.004})).verdict == NOT_DISCOVERED
    undeclared = dataclasses.replace(qubit1, degrees_of_freedom=None)
    assert verdict(undeclared, _table({0: 0.3, 1: 0.004})).verdict == NOT_CHECKED
    assert verdict(get_system("qubit1_incomplete1"), _table({0: 0.3, 1: 0.2, 2: 0.2})).verdict == DISCOVERED


def _held_out(system, errors: np.ndarray, steps: int = 1) -> pd.DataFrame:
    """Held-out rows whose answers the network missed by ``errors`` (one per sample, on every step)."""
    frame = pd.DataFrame({"split": "test", "series": np.repeat(np.arange(len(errors)), steps)})
    for c in system.answers:
        frame[c.name] = 3.0
        frame[f"{c.name}_pred"] = 3.0 + np.repeat(errors, steps)
    return pd.concat([frame, frame.assign(split="train", **{f"{c.name}_pred": 99.0 for c in system.answers})])


def test_the_typical_error_does_not_see_a_seam_but_sees_a_missing_degree_of_freedom():
    from pipeline.sweep import typical_error

    qubit1 = get_system("qubit1")
    rng = np.random.default_rng(0)
    floor = rng.normal(0, 0.002, 4000)
    seam = floor.copy()
    seam[:80] = rng.normal(0, 0.1, 80)  # two neurons: a fold where 2 % of the states are answered badly
    missing = rng.normal(0, 0.05, 4000)  # a quantity the neurons do not hold: every state answered badly
    rms = {k: float(np.sqrt(np.mean(v**2))) for k, v in {"floor": floor, "seam": seam, "missing": missing}.items()}
    assert rms["seam"] > 5 * rms["floor"]  # the RMS counts the seam as a missing neuron would
    typical = {k: typical_error(_held_out(qubit1, v), qubit1) for k, v in {"floor": floor, "seam": seam}.items()}
    assert typical["floor"] == pytest.approx(0.002 * 0.6745, rel=0.1)  # the median of |N(0, 0.002)|
    assert typical["seam"] < 1.1 * typical["floor"]
    assert typical_error(_held_out(qubit1, missing), qubit1) > 10 * typical["floor"]
    # angles are wrapped, and a series is one sample: its steps pooled, not counted apart
    copernicus = get_system("copernicus")
    turned = _held_out(copernicus, np.array([0.01, -0.01, 0.02]) + 2 * np.pi, steps=5)
    assert typical_error(turned, copernicus) == pytest.approx(0.01)
    with pytest.raises(ArtifactError, match="scinet export copernicus --force"):
        typical_error(turned.drop(columns="theta_M_pred"), copernicus)


def test_a_sweep_writes_its_table_and_resumes_with_only_the_missing_runs(tmp_path):
    tiny = ["--set", "simulate.n_samples=300", "--set", "train.epochs=[1]", "--set", "train.encoder_units=[4]"]
    tiny += ["--set", "train.decoder_units=[4]"]

    def sweep(sizes):
        args = ["sweep", "qubit1", "--run-dir", str(tmp_path), "--latent-sizes", sizes, "--seeds", "2", "--jobs", "1", *tiny]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    sweep("0..1")
    finished = {p.parent.name: json.loads(p.read_text())["stages"]["train"]["finished"] for p in tmp_path.glob("*/manifest.json")}
    assert sorted(finished) == ["size0-seed0", "size0-seed1", "size1-seed0", "size1-seed1"]
    result = sweep("0..2")  # as after a sweep killed before its last size
    again = {p.parent.name: json.loads(p.read_text())["stages"]["train"]["finished"] for p in tmp_path.glob("*/manifest.json")}
    assert {k: again[k] for k in finished} == finished  # the runs that were done are not redone
    assert "size2-seed1" in again
    table = pd.read_parquet(tmp_path / "sweep.parquet")
    assert list(table["latent_size"]) == [0, 0, 1, 1, 2, 2] and np.isfinite(table[["typical", "rms"]]).all().all()
    assert list(table["active"][:2]) == [0, 0]
    record = json.loads((tmp_path / "verification.json").read_text())["laws"][0]
    assert record["name"] == "degrees_of_freedom" and record["true_constants"]["degrees_of_freedom"] == 2
    assert "degrees of freedom" in result.output
    assert (tmp_path / "sweep.png").exists() and "\\begin{tabular}" in (tmp_path / "sweep.tex").read_text()


def test_a_sweeps_seeds_are_a_count_a_range_or_a_list(tmp_path):
    from pipeline.errors import ConfigError
    from pipeline.sweep import parse_seed_set

    assert parse_seed_set("3") == [0, 1, 2] and parse_seed_set("3..5") == [3, 4, 5] and parse_seed_set("8,6,7") == [6, 7, 8]
    for bad in ("0", "1001", "5..3", "three"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seed_set(bad)
    tiny = ["--latent-sizes", "0", "--set", "simulate.n_samples=300", "--set", "train.epochs=[1]"]
    result = CliRunner().invoke(main, ["sweep", "qubit1", "--run-dir", str(tmp_path), "--seeds", "7,9", *tiny])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("size0-seed*")) == ["size0-seed7", "size0-seed9"]
    assert json.loads((tmp_path / "verification.json").read_text())["laws"][0]["checks"]["seeds"] == [7, 9]
    bad = CliRunner().invoke(main, ["sweep", "qubit1", "--run-dir", str(tmp_path / "b"), "--seeds", "9..7"])
    assert bad.exit_code != 0 and "runs backwards" in bad.output and "Traceback" not in bad.output


def test_a_time_series_cannot_sweep_from_zero(tmp_path):
    result = CliRunner().invoke(main, ["sweep", "copernicus", "--run-dir", str(tmp_path), "--latent-sizes", "0..2"])
    assert result.exit_code == 1 and "is a time series" in result.output and "Traceback" not in result.output
    assert not any(tmp_path.iterdir()) if tmp_path.exists() else True  # checked before the first run


def test_by_default_a_sweep_starts_from_no_neuron_or_from_one_for_a_time_series():
    assert default_sizes(get_system("qubit1")) == [0, 1, 2, 3, 4]
    copernicus = get_system("copernicus")
    assert default_sizes(copernicus) == list(range(1, copernicus.latent.size + 2))


def tiny_sweeps(tmp_path, **variants: list[str]) -> dict[str, pd.DataFrame]:
    """A tiny qubit1 sweep (sizes 0 and 1, one seed) for each named variant of the command line: the tables."""
    tiny = ["--latent-sizes", "0..1", "--seeds", "1", "--set", "simulate.n_samples=300", "--set", "train.epochs=[1]"]
    for name, extra in variants.items():
        args = ["sweep", "qubit1", "--run-dir", str(tmp_path / name), *extra, *tiny]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return {name: pd.read_parquet(tmp_path / name / "sweep.parquet") for name in variants}


def test_runs_in_parallel_give_the_same_table(tmp_path):
    tables = tiny_sweeps(tmp_path, one=["--jobs", "1"], two=["--jobs", "2"])
    pd.testing.assert_series_equal(tables["one"]["rms"], tables["two"]["rms"], rtol=1e-4)


def test_a_registered_system_is_sent_to_the_workers_or_swept_one_run_at_a_time(tmp_path, monkeypatch, caplog):
    from pipeline import registry
    from pipeline.sweep import Job, run_sweep

    monkeypatch.setattr(registry, "_REGISTERED", {})
    tiny = ("simulate.n_samples=300", "train.epochs=[1]")
    mine = registry.register(dataclasses.replace(get_system("qubit1"), name="qubit1_mine"))
    jobs = [Job(mine.name, tmp_path / "a" / f"size{size}", size, 0, tiny, None) for size in (0, 1)]
    table = run_sweep(jobs, workers=2)  # spawned workers know it only because the sweep sends it
    assert list(table["latent_size"]) == [0, 1] and table["rms"].notna().all()

    original = mine.simulator
    registry.register(dataclasses.replace(mine, simulator=lambda **kw: original(**kw)))  # pickle refuses a lambda
    jobs = [dataclasses.replace(job, run_dir=tmp_path / "b" / job.run_dir.name) for job in jobs]
    with caplog.at_level("WARNING", logger="scinet"):
        table = run_sweep(jobs, workers=2)
    assert "one at a time" in caplog.text and len(table) == 2

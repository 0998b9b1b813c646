"""benchmarks/targets.py: each run on each Keras backend asked for, and their wall times side by side."""

import importlib.util
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("targets_benchmark", ROOT / "benchmarks" / "targets.py")
targets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(targets)


def test_each_run_goes_on_each_backend_in_turn_with_its_environment(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_run(command, capture_output, text, env=None):
        run_dir = Path(command[command.index("--run-dir") + 1])
        backend = (env or {}).get("KERAS_BACKEND")
        calls.append((command[command.index("run") + 1], backend, run_dir.name))
        run_dir.mkdir(parents=True)
        stages = {s: {"wall_s": 1.0} for s in targets.STAGES}
        stages["train"]["backend"] = backend
        (run_dir / "manifest.json").write_text(json.dumps({"stages": stages}))
        (run_dir / "history.json").write_text(json.dumps({"prediction_rms": {"all": 0.01}}))
        (run_dir / "verification.json").write_text(json.dumps({"laws": [{"name": "law", "verdict": "discovered"}]}))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(targets.subprocess, "run", fake_run)
    out = tmp_path / "records.json"
    argv = ["--systems", "copernicus", "pendulum", "--backends", "tensorflow", "jax", "--no-sweep", "--no-ensemble"]
    assert targets.main([*argv, "--keep", str(tmp_path / "runs"), "--json", str(out)]) == 0
    assert [(s, b) for s, b, _ in calls] == [
        ("copernicus", "tensorflow"),
        ("copernicus", "jax"),
        ("pendulum", "tensorflow"),
        ("pendulum", "jax"),
    ]
    assert len({d for _, _, d in calls}) == 4  # a run directory each
    records = json.loads(out.read_text())
    assert [(r["requested"], r["backend"]) for r in records] == [("tensorflow", "tensorflow"), ("jax", "jax")] * 2
    printed = capsys.readouterr().out
    assert "backend tensorflow and jax" in printed
    assert "all of them" in printed.splitlines()[-1]


def test_side_by_side_averages_seeds_and_sums_only_systems_run_on_every_backend():
    records = [
        {"system": "copernicus", "requested": "tensorflow", "wall_s": 28.0},
        {"system": "copernicus", "requested": "tensorflow", "wall_s": 30.0},
        {"system": "copernicus", "requested": "jax", "wall_s": 31.0},
        {"system": "pendulum", "requested": "tensorflow", "wall_s": 120.0},  # not run on JAX: left out
    ]
    table = targets.side_by_side(records, ["tensorflow", "jax"]).splitlines()
    assert table[1].split() == ["copernicus", "29.0", "s", "31.0", "s"]
    assert table[-1].split() == ["all", "of", "them", "29.0", "s", "31.0", "s"]
    assert len(table) == 3


def test_the_ensemble_is_timed_as_a_user_runs_it_and_each_seed_is_read_from_its_directory(tmp_path, monkeypatch, capsys):
    commands = []

    def fake_run(command, capture_output, text, env=None):
        commands.append(command)
        root = Path(command[command.index("--run-dir") + 1])
        for seed in range(3):
            run_dir = root / f"seed{seed}"
            run_dir.mkdir(parents=True)
            (run_dir / "manifest.json").write_text(json.dumps({"stages": {"train": {"wall_s": 2.0, "backend": "jax"}}}))
            (run_dir / "history.json").write_text(json.dumps({"prediction_rms": {"all": 0.01}}))
            verdict = "not discovered" if seed == 1 else "discovered"
            (run_dir / "verification.json").write_text(json.dumps({"laws": [{"name": "law", "verdict": verdict}]}))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(targets.subprocess, "run", fake_run)
    out = tmp_path / "records.json"
    argv = ["--systems", "--no-sweep", "--ensemble-seeds", "3", "--jobs", "2", "--keep", str(tmp_path), "--json", str(out)]
    assert targets.main(argv) == 0
    (command,) = commands
    assert command[command.index("run") : command.index("run") + 6] == ["run", "pendulum", "--seeds", "0..2", "--jobs", "2"]
    (record,) = json.loads(out.read_text())
    assert [r["seed"] for r in record["runs"]] == [0, 1, 2]
    assert record["runs"][0]["stages_s"] == {"train": 2.0}
    assert "every law discovered on 2 of 3" in capsys.readouterr().out


def test_cold_gives_each_measurement_an_empty_cache_and_warm_times_the_second_of_two_runs(tmp_path, monkeypatch):
    calls = []

    def fake_run(command, capture_output, text, env=None):
        calls.append((command[command.index("--run-dir") + 1], dict(env) if env else None))
        if env and "JAX_COMPILATION_CACHE_DIR" in env:
            cache = Path(env["JAX_COMPILATION_CACHE_DIR"])
            assert cache.is_dir() and not any(cache.iterdir())  # empty when the run starts
            (cache / "entry").write_text("compiled")
        run_dir = Path(command[command.index("--run-dir") + 1])
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "manifest.json").write_text(json.dumps({"stages": {"train": {"wall_s": 1.0, "backend": "jax"}}}))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(targets.subprocess, "run", fake_run)
    common = ["--systems", "copernicus", "pendulum", "--no-sweep", "--no-ensemble", "--keep", str(tmp_path)]
    out = tmp_path / "cold.json"
    assert targets.main([*common, "--cache", "cold", "--json", str(out)]) == 0
    caches = [env["JAX_COMPILATION_CACHE_DIR"] for _, env in calls]
    assert len(calls) == 2 and len(set(caches)) == 2  # one run each, each with its own cache
    assert all(float(env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) == 0 for _, env in calls)  # as scinet sets it
    assert [r["cache"] for r in json.loads(out.read_text())] == ["cold", "cold"]

    calls.clear()
    assert targets.main([*common, "--cache", "warm"]) == 0
    assert [d for d, _ in calls] == [calls[0][0]] * 2 + [calls[2][0]] * 2  # each command twice, the second timed
    assert all(env is None for _, env in calls)  # the user's cache, as scinet sets it

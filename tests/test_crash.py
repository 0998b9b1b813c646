"""Crash consistency: a stage's outputs count only once the manifest records them; edits are kept only when accepted."""

import json

import numpy as np
import pandas as pd

from pipeline import orchestrate
from pipeline.rundir import file_hash
from tests.test_cli import TINY, invoke


def _simulate(run_dir, *extra):
    result = invoke("simulate", "copernicus", "--run-dir", run_dir, *TINY, *extra)
    assert result.exit_code == 0, result.output
    return result


def _noisy_copy(run_dir):
    frame = pd.read_parquet(run_dir / "observations.parquet")
    frame["theta_M"] = np.angle(np.exp(1j * (frame["theta_M"] + 0.01)))
    frame.to_parquet(run_dir / "observations.parquet")
    return file_hash(run_dir / "observations.parquet")


def test_an_output_the_manifest_does_not_record_is_redone(tmp_path):
    run_dir = tmp_path / "r"
    _simulate(run_dir)
    written = file_hash(run_dir / "observations.parquet")
    _noisy_copy(run_dir)  # as left by a run killed after writing, before recording
    result = _simulate(run_dir)
    assert "done" in result.output
    assert "not what a completed run of this stage wrote" in result.output and "scinet accept simulate" in result.output
    assert file_hash(run_dir / "observations.parquet") == written


def test_an_accepted_edit_is_kept_and_the_stages_after_it_see_it(tmp_path):
    run_dir = tmp_path / "r"
    _simulate(run_dir)
    edited = _noisy_copy(run_dir)
    result = invoke("accept", "simulate", "copernicus", "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0, result.output
    assert "accepted observations.parquet" in result.output
    assert "up to date" in _simulate(run_dir).output
    assert file_hash(run_dir / "observations.parquet") == edited
    record = json.loads((run_dir / "manifest.json").read_text())["stages"]["simulate"]
    assert record["accepted"] is True and record["outputs"]["observations.parquet"] == edited


def test_accepting_what_is_not_there_is_a_clear_error(tmp_path):
    result = invoke("accept", "train", "copernicus", "--run-dir", tmp_path / "r", *TINY)
    assert result.exit_code != 0
    assert "does not exist" in result.output and "scinet train copernicus" in result.output
    assert "Traceback" not in result.output


def test_a_crash_between_writing_and_recording_leaves_the_stage_unfinished(tmp_path, monkeypatch):
    run_dir = tmp_path / "r"
    _simulate(run_dir, "--seed", "1")
    before = json.loads((run_dir / "manifest.json").read_text())

    def killed(*args, **kwargs):
        raise RuntimeError("killed")  # the process dies after the outputs, before the record

    monkeypatch.setattr(orchestrate, "_record", killed)
    result = invoke("simulate", "copernicus", "--run-dir", run_dir, *TINY, "--seed", "2")
    assert result.exit_code == 1 and "Unexpected error: RuntimeError: killed" in result.output
    assert "Traceback" not in result.output
    assert "Traceback" in (run_dir / "scinet-error.log").read_text()
    assert json.loads((run_dir / "manifest.json").read_text()) == before
    monkeypatch.undo()
    # the seed-2 file is on disk but unrecorded: a seed-1 run must not take it for its own
    result = _simulate(run_dir, "--seed", "1")
    assert "done" in result.output
    assert file_hash(run_dir / "observations.parquet") == before["stages"]["simulate"]["outputs"]["observations.parquet"]


def test_each_stage_record_keeps_the_settings_it_ran_with(tmp_path):
    run_dir = tmp_path / "r"
    _simulate(run_dir, "--set", "simulate.noise=0.02")
    simulate_record = json.loads((run_dir / "manifest.json").read_text())["stages"]["simulate"]
    assert simulate_record["settings"]["noise"] == 0.02 and simulate_record["seed"] == 0
    # a later command with other settings for its own stage leaves the simulate record alone
    result = invoke(
        "train", "copernicus", "--run-dir", run_dir, *TINY, "--set", "train.beta=0.01", "--set", "simulate.noise=0.02"
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["simulate"] == simulate_record
    assert manifest["stages"]["train"]["settings"]["beta"] == 0.01


def test_same_seed_gives_byte_identical_artifacts_wherever_the_run_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for run_dir in ("a", tmp_path / "deeper" / "b"):  # one relative, one absolute
        result = invoke("run", "copernicus", "--run-dir", run_dir, *TINY)
        assert result.exit_code == 0, result.output
    for name in ("observations.parquet", "latents.parquet", "probe.parquet", "equations.parquet", "verification.json",
                 "equations.tex", "paper.tex", "figures/latents.png", "figures/latents.pdf", "figures/kl.pdf"):  # fmt: skip
        assert file_hash(tmp_path / "a" / name) == file_hash(tmp_path / "deeper" / "b" / name), name


def test_a_verdict_without_evidence_is_not_checked_and_the_command_fails(tmp_path):
    run_dir = tmp_path / "r"
    assert invoke("run", "copernicus", "--run-dir", run_dir, *TINY).exit_code == 0
    result = invoke("verify", "copernicus", "--run-dir", run_dir, *TINY, "--set", "verify.n_fresh=0")
    assert result.exit_code == 1
    assert "could not be checked for lack of evidence" in result.output and "only 0 fresh samples" in result.output
    assert f"scinet verify copernicus --run-dir {run_dir}" in result.output and "--set verify.n_fresh=0" in result.output
    assert "Traceback" not in result.output
    laws = json.loads((run_dir / "verification.json").read_text())["laws"]
    assert {law["verdict"] for law in laws} == {"not checked"}


def test_what_an_interrupted_force_left_is_removed_when_the_stage_is_up_to_date(tmp_path):
    from stages.regress import SEARCHES
    from stages.train import BACKUP

    assert orchestrate.get_stage("train").scratch == (BACKUP,)
    assert orchestrate.get_stage("regress").scratch == (SEARCHES,)
    run_dir = tmp_path / "r"
    _simulate(run_dir)
    assert invoke("train", "copernicus", "--run-dir", run_dir, *TINY).exit_code == 0
    (run_dir / BACKUP / "phase0").mkdir(parents=True)  # as a `train --force` killed midway leaves it
    result = invoke("train", "copernicus", "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0 and "up to date" in result.output
    assert "left by an interrupted run" in result.output
    assert not (run_dir / BACKUP).exists()

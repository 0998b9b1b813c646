"""A regress stage killed midway keeps the searches it finished: the next run does only the rest, and the
equations are those of a run that was never interrupted."""

import shutil

import pandas as pd
from click.testing import CliRunner

import stages.regress
from pipeline.cli import main

TINY = [
    "--set", "simulate.n_samples=60", "--set", "simulate.series_length=12",
    "--set", "train.curriculum=[4, 12]", "--set", "train.epochs=[2, 2]", "--set", "train.encoder_units=[8]",
    "--set", "regress.time_budget=1", "--set", "regress.n_rows=200", "--set", "regress.max_length=8",
    "--set", "regress.workers=1",
]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_an_interrupted_regress_redoes_only_the_searches_it_had_not_finished(tmp_path, monkeypatch):
    for stage in ("simulate", "train", "export"):
        assert invoke(stage, "copernicus", "--run-dir", tmp_path / "whole", *TINY).exit_code == 0
    shutil.copytree(tmp_path / "whole", tmp_path / "killed")  # the same latents for both
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "whole", *TINY).exit_code == 0
    searches = len(pd.read_parquet(tmp_path / "whole" / "equations.parquet")[["target", "variables"]].drop_duplicates())
    assert searches >= 2  # two variable sets per active neuron

    real, calls = stages.regress.search_task, []

    def killed_at_the_second(task):
        calls.append(task)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(task)

    monkeypatch.setattr(stages.regress, "search_task", killed_at_the_second)
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "killed", *TINY).exit_code != 0  # the crash
    assert len(list((tmp_path / "killed" / stages.regress.SEARCHES).glob("*.parquet"))) == 1

    again = []
    monkeypatch.setattr(stages.regress, "search_task", lambda task: again.append(task) or real(task))
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "killed", *TINY).exit_code == 0
    assert len(again) == searches - 1  # the finished one was kept
    assert not (tmp_path / "killed" / stages.regress.SEARCHES).exists()
    whole, resumed = (pd.read_parquet(tmp_path / r / "equations.parquet") for r in ("whole", "killed"))
    pd.testing.assert_frame_equal(whole, resumed)

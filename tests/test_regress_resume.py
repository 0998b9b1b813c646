"""A regress stage killed midway keeps the searches it finished: the next run does only the rest, and the
equations are those of a run that was never interrupted."""

import shutil

import pandas as pd

import stages.regress
from tests.test_cli import TINY as CLI_TINY
from tests.test_cli import invoke

TINY = [*CLI_TINY, "--set", "regress.workers=1"]  # the searches in this process, where the test can kill one


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


def test_a_neurons_searches_keep_its_scale_and_offset_fitted(tmp_path, monkeypatch):
    """A latent neuron's scale and offset are the network's own: its searches never snap them (``scale``);
    the law of motion, physics throughout, may be exact everywhere."""
    from tests.test_cli import PENDULUM_TINY

    seen = []
    real = stages.regress.search_task
    monkeypatch.setattr(stages.regress, "search_task", lambda task: seen.append(task) or real(task))
    for system, tiny, scale in (("copernicus", TINY, "offset"), ("pendulum", [*PENDULUM_TINY, "--set", "regress.workers=1"], "free")):
        seen.clear()
        assert invoke("run", system, "--run-dir", tmp_path / system, *tiny).exit_code in (0, 1)
        neurons = [t for t in seen if t["kind"] == "search"]
        assert neurons and all(t["search"]["scale"] == scale for t in neurons)
        assert all("scale" not in t["search"] for t in seen if t["kind"] == "family")

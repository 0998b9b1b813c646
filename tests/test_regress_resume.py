"""A regress stage killed midway keeps the searches it finished: the next run does only the rest, and the
equations are those of a run that was never interrupted."""

import shutil

import pandas as pd

import stages.regress
from tests.test_cli import TINY as CLI_TINY
from tests.test_cli import invoke

TINY = [*CLI_TINY, "--set", "regress.workers=1"]  # the searches in this process, where the test can kill one


def _killed_at_the_second(real):
    """``search_task`` that crashes on the second search, as a kill would."""
    calls = []

    def search_task(task):
        calls.append(task)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(task)

    return search_task


def test_an_interrupted_regress_redoes_only_the_searches_it_had_not_finished(tmp_path, monkeypatch):
    for stage in ("simulate", "train", "export"):
        assert invoke(stage, "copernicus", "--run-dir", tmp_path / "whole", *TINY).exit_code == 0
    shutil.copytree(tmp_path / "whole", tmp_path / "killed")  # the same latents for both
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "whole", *TINY).exit_code == 0
    searches = len(pd.read_parquet(tmp_path / "whole" / "equations.parquet")[["target", "variables"]].drop_duplicates())
    assert searches >= 2  # two variable sets per active neuron

    real = stages.regress.search_task
    monkeypatch.setattr(stages.regress, "search_task", _killed_at_the_second(real))
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "killed", *TINY).exit_code != 0  # the crash
    assert len(list((tmp_path / "killed" / stages.regress.SEARCHES).glob("*.parquet"))) == 1

    again = []
    monkeypatch.setattr(stages.regress, "search_task", lambda task: again.append(task) or real(task))
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "killed", *TINY).exit_code == 0
    assert len(again) == searches - 1  # the finished one was kept
    assert not (tmp_path / "killed" / stages.regress.SEARCHES).exists()
    whole, resumed = (pd.read_parquet(tmp_path / r / "equations.parquet") for r in ("whole", "killed"))
    pd.testing.assert_frame_equal(whole, resumed)
    # the same bytes, metadata and all, when searches come from the cache
    assert (tmp_path / "whole" / "equations.parquet").read_bytes() == (tmp_path / "killed" / "equations.parquet").read_bytes()


def test_a_neurons_searches_keep_its_scale_and_offset_fitted(tmp_path, monkeypatch):
    """A latent neuron's scale and offset are the network's own: its searches never snap them (``scale``);
    the law of motion, physics throughout, may be exact everywhere."""
    from tests.test_cli import PENDULUM_TINY

    seen = []
    real, read = stages.regress.search_task, stages.regress.read_latents
    monkeypatch.setattr(stages.regress, "search_task", lambda task: seen.append(task) or real(task))

    def every_neuron_active(ctx):  # so that a tiny training that leaves none active still searches them
        frame, meta = read(ctx)
        return frame, {**meta, "active": meta["latent_columns"]}

    monkeypatch.setattr(stages.regress, "read_latents", every_neuron_active)
    for system, tiny, scale in (
        ("copernicus", TINY, "offset"),
        ("pendulum", [*PENDULUM_TINY, "--set", "regress.workers=1"], "free"),
    ):
        seen.clear()
        assert invoke("run", system, "--run-dir", tmp_path / system, *tiny).exit_code in (0, 1)
        neurons = [t for t in seen if t["kind"] == "search"]
        assert neurons and all(t["search"]["scale"] == scale for t in neurons)
        assert all("scale" not in t["search"] for t in seen if t["kind"] == "family")


def test_a_cache_entry_that_is_no_finished_search_is_discarded_and_searched_again(tmp_path, monkeypatch):
    for stage in ("simulate", "train", "export"):
        assert invoke(stage, "copernicus", "--run-dir", tmp_path / "whole", *TINY).exit_code == 0
    shutil.copytree(tmp_path / "whole", tmp_path / "bad")
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "whole", *TINY).exit_code == 0
    whole = pd.read_parquet(tmp_path / "whole" / "equations.parquet")

    # a crash after the first search leaves one genuine entry, named by the key of a real task
    real = stages.regress.search_task
    monkeypatch.setattr(stages.regress, "search_task", _killed_at_the_second(real))
    assert invoke("regress", "copernicus", "--run-dir", tmp_path / "bad", *TINY).exit_code != 0
    monkeypatch.setattr(stages.regress, "search_task", real)
    cache = tmp_path / "bad" / stages.regress.SEARCHES
    (entry,) = cache.glob("*.parquet")
    front = pd.read_parquet(entry)
    spoilers = {
        "garbage": lambda: entry.write_bytes(b"PAR1 not really"),
        # pandas reads a folder of Parquet files as one table
        "folder": lambda: (entry.mkdir(), front.to_parquet(entry / "part.parquet")),
        "foreign": lambda: front.to_parquet(entry),  # the right columns, not written by scinet regress
        "wrong-type": lambda: stages.regress.write_parquet(
            entry, front.assign(loss=front["loss"].astype(str)), {"kind": "search"}
        ),
        "no-selection": lambda: stages.regress.write_parquet(entry, front.assign(selected=False), {"kind": "search"}),
    }
    for spoil, make in spoilers.items():
        cache.mkdir(exist_ok=True)
        make()
        result = invoke("regress", "copernicus", "--run-dir", tmp_path / "bad", *TINY, "--force")
        assert result.exit_code == 0, (spoil, result.output)
        assert "is no finished search" in result.output, spoil
        pd.testing.assert_frame_equal(whole, pd.read_parquet(tmp_path / "bad" / "equations.parquet"))
        assert not cache.exists()  # removed when the stage completes

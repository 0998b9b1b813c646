"""Progress: a bar on a terminal, plain log lines in a file, nothing under --quiet; TensorBoard logs on request."""

import pytest
from click.testing import CliRunner

from pipeline import progress
from pipeline.cli import main
from tests.test_cli import TINY


def _run(tmp_path, *extra):
    """simulate, then train, whose output is returned"""
    for stage in ("simulate", "train"):
        args = [stage, "copernicus", "--run-dir", str(tmp_path / "run"), *TINY, *extra]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


def test_piped_output_gets_plain_lines_and_no_bar(tmp_path):
    assert not progress.shown()  # pytest's captured stderr is no terminal
    result = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert "train: epoch 4/4" in result.output and "epoch/s" not in result.output


def test_on_a_terminal_a_bar_takes_the_place_of_the_epoch_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "shown", lambda: True)
    result = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert "train: epoch 4/4" not in result.output
    assert "4/4" in result.output and "val_loss" in result.output  # tqdm's bar with the loss


def test_quiet_leaves_warnings_only(tmp_path):
    result = _run(tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"train: done ({tmp_path / 'run'})"]  # where the results are, no more


def test_tensorboard_logs_are_written_on_request(tmp_path):
    pytest.importorskip("tensorboard", reason="the test extras install tensorboard")
    result = _run(tmp_path, "--set", "train.tensorboard=true")
    assert result.exit_code == 0, result.output
    events = list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"


def test_tensorboard_without_its_package_is_a_clear_error(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = _run(tmp_path, "--set", "train.tensorboard=true")
    assert result.exit_code == 1 and "pip install 'scinet[tensorboard]'" in result.output
    assert "Traceback" not in result.output

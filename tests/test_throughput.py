"""The training-throughput benchmark (and so benchmarks/gpu.sh, which runs it with JAX) on a tiny training."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--set", "simulate.n_samples=200", "--set", "train.curriculum=[5, 10]", "--set", "train.epochs=[1, 2]"]


def _load():
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks" / "train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_flop_count_is_the_dense_layers_weights(tmp_path):
    from pipeline.model import SciNet

    model = SciNet(
        encoder_angles=[True, True], answer_angles=[True, True], latent_size=2, latent_kind="circle",
        evolution="constant_step", encoder_units=[8], decoder="linear", series_length=7, seed=1,
    )  # fmt: skip
    model.save(tmp_path / "m.keras")
    # encoder: (4 -> 8) + (8 -> 4: two angles' (cos, sin)) + (8 -> 2: log sigma); decoder: (4 -> 4) per step
    enc, dec = 2 * (4 * 8 + 8 * 4 + 8 * 2), 2 * (4 * 4)
    assert _load().forward_flops(tmp_path / "m.keras", [1, 10]) == [enc + dec, enc + 10 * dec]


def test_the_benchmark_prints_samples_per_second_and_the_fraction_of_peak(tmp_path):
    backend = pipeline.keras_backend()
    out = tmp_path / "rows.json"
    cmd = [
        sys.executable,
        "benchmarks/train_throughput.py",
        "--systems",
        "copernicus",
        "--backends",
        backend,
        "--seeds",
        "0",
        "1",
        "--json",
        str(out),
        *TINY,
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GFLOP/s" in done.stdout and "samples/s" in done.stdout
    assert "mean over 2 seeds" in done.stdout
    row, other = json.loads(out.read_text())
    assert (row["seed"], other["seed"]) == (0, 1)
    assert row["backend"] == backend and row["samples_per_s"] > 0 and 0 < row["fraction_of_peak"] < 1
    assert row["epochs"] == 3 and row["train_samples"] == 160  # 80 % of 200 series
    # 3 epochs of 160 samples in ceil(160 / 64) = 3 steps each
    assert row["steps_per_s"] == pytest.approx(row["samples_per_s"] * 9 / 480)

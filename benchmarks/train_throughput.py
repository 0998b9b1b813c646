"""Training throughput: samples and optimizer steps per second, achieved GFLOP/s and the fraction of this machine's
single-precision matrix-multiply peak, for each system's default training and each Keras backend.

    python benchmarks/train_throughput.py                      # copernicus, pendulum, qubit1; every backend installed
    python benchmarks/train_throughput.py --systems copernicus --backends jax --set train.batch_size=256
    python benchmarks/train_throughput.py --systems pendulum --seeds 0 1 2     # the spread of the held-out error

Each (system, backend) pair runs the real stages, ``scinet simulate`` and ``scinet train``, in a fresh process with
``KERAS_BACKEND`` set, in a temporary run directory; the figures come from what training recorded
(``history.json``: wall time of the training, the held-out prediction RMS) and from the trained model's layers:

* samples = sum over the curriculum's phases of epochs x training samples (series for a time series);
* steps = sum of epochs x ceil(samples / batch size);
* FLOP per sample and pass = 2 x (weights of the encoder's dense layers) + steps of the series x 2 x (weights of
  the decoder's dense layers), forward; a training pass is counted as 3 forward passes (the backward pass costs
  about twice the forward one).  Element-wise work (activations, the angle features, the loss) is left out, so
  the GFLOP/s are a lower bound;
* the peak: the best of five float32 2048 x 2048 matrix products in NumPy, timed in the same run.

The models are small (Copernicus: about 30 kFLOP per series and pass), so the fraction of peak is tiny and the
time goes to per-step overhead; see the README's "Training throughput" for where it goes and what was changed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SYSTEMS = ("copernicus", "pendulum", "qubit1")


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Single-precision matrix-multiply rate of this machine through NumPy's BLAS (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up the BLAS threads
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def installed_backends() -> list[str]:
    import importlib.util

    return [
        b for b, module in (("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch")) if importlib.util.find_spec(module)
    ]


def forward_flops(model_path: Path, series_lengths: list[int]) -> list[float]:
    """Forward FLOP per sample for each phase's series length (1 for a question-and-answer system)."""
    import keras

    from pipeline.model import SciNet

    model = keras.saving.load_model(model_path, safe_mode=True, custom_objects={"SciNet": SciNet})
    encoder = [*model.encoder_hidden, *[m for m in (model.encoder_mean, model.encoder_log_sigma) if m is not None]]
    decoder = [*model.decoder_hidden, model.decoder_out]
    enc = sum(2 * int(np.prod(layer.kernel.shape)) for layer in encoder)
    dec = sum(2 * int(np.prod(layer.kernel.shape)) for layer in decoder)
    return [enc + length * dec for length in series_lengths]


def measure(system: str, backend: str, overrides: list[str], seed: int) -> dict:
    """Simulate and train ``system`` with ``backend`` in a fresh process; the figures of that training."""
    with tempfile.TemporaryDirectory(prefix=f"throughput-{system}-{backend}-") as tmp:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        sets = [arg for o in overrides for arg in ("--set", o)]
        for stage in ("simulate", "train"):
            cmd = [str(Path(sys.executable).parent / "scinet"), stage, system, "--run-dir", tmp, "--seed", str(seed), "-q", *sets]
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        history = json.loads((Path(tmp) / "history.json").read_text())
        manifest = json.loads((Path(tmp) / "manifest.json").read_text())
        train = manifest["stages"]["train"]["settings"]
        import pandas as pd

        observations = pd.read_parquet(Path(tmp) / "observations.parquet")
        is_series = "series" in observations.columns
        train_rows = observations[observations["split"] == "train"]
        n_train = train_rows["series"].nunique() if is_series else len(train_rows)
        lengths = list(train["curriculum"]) if is_series else [1]
        epochs = list(train["epochs"])
        flops = forward_flops(Path(tmp) / "model.keras", lengths)
        samples = sum(e * n_train for e in epochs)
        steps = sum(e * math.ceil(n_train / train["batch_size"]) for e in epochs)
        total_flop = sum(3 * f * e * n_train for f, e in zip(flops, epochs, strict=True))
        seconds = float(history["seconds"])
        return {
            "system": system,
            "backend": backend,
            "devices": manifest["stages"]["train"].get("devices", []),
            "batch_size": train["batch_size"],
            "epochs": sum(epochs),
            "train_samples": n_train,
            "seconds": seconds,
            "samples_per_s": samples / seconds,
            "steps_per_s": steps / seconds,
            "kflop_per_sample_pass": 3 * flops[-1] / 1e3,
            "gflops": total_flop / seconds / 1e9,
            "heldout_rms": history["prediction_rms"]["all"],
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", default=list(DEFAULT_SYSTEMS))
    parser.add_argument("--backends", nargs="+", default=None, help="default: every backend installed")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one training per seed (default: 0)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    peak = matmul_peak_gflops()
    print(f"float32 matrix-multiply peak (NumPy, 2048^3): {peak:.1f} GFLOP/s")
    header = f"{'system':12s} {'backend':10s} {'seed':>4s} {'batch':>5s} {'s':>7s} {'samples/s':>10s} {'steps/s':>8s} {'GFLOP/s':>8s} {'of peak':>8s} {'RMS':>8s}"
    print(header)
    rows = []
    for system in args.systems:
        for backend in args.backends or installed_backends():
            for seed in args.seeds:
                row = measure(system, backend, args.overrides, seed)
                row["seed"] = seed
                row["fraction_of_peak"] = row["gflops"] / peak
                row["peak_gflops"] = peak
                rows.append(row)
                print(
                    f"{system:12s} {backend:10s} {seed:4d} {row['batch_size']:5d} {row['seconds']:7.1f} {row['samples_per_s']:10.0f} "
                    f"{row['steps_per_s']:8.1f} {row['gflops']:8.3f} {row['fraction_of_peak']:8.2e} {row['heldout_rms']:8.4f}",
                    flush=True,
                )
            if len(args.seeds) > 1:
                mine = [r for r in rows if r["system"] == system and r["backend"] == backend]
                print(
                    f"{system:12s} {backend:10s} mean over {len(mine)} seeds: {np.mean([r['seconds'] for r in mine]):.1f} s, "
                    f"held-out RMS {np.mean([r['heldout_rms'] for r in mine]):.4f} "
                    f"(from {min(r['heldout_rms'] for r in mine):.4f} to {max(r['heldout_rms'] for r in mine):.4f})",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

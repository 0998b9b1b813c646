"""A real Ray cluster on this machine: a head and a second node (two `ray start` processes), a sweep on it, and the
second node killed midway.  The sweep finishes every run, with the verdict the local executor gives."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")

BIN = Path(sys.executable).parent
SWEEP = ["--latent-sizes", "0..3", "--seeds", "1", "--set", "simulate.n_samples=1500", "--set", "train.epochs=[60]"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}  # a cluster on this machine's own addresses, for the test


def _ray(*args: str) -> None:
    subprocess.run([str(BIN / "ray"), *args], check=True, capture_output=True, timeout=120, env=ENV)


def _raylets() -> dict[int, str]:
    """Raylet processes on this machine: pid -> command line."""
    out = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "raylet/raylet" in cmd:
                out[int(proc.name)] = cmd
    return out


def _sweep(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "scinet"), "sweep", "qubit1", "--run-dir", str(run_dir), *SWEEP, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )


def _verdict(run_dir: Path) -> tuple[str, float]:
    law = json.loads((run_dir / "verification.json").read_text())["laws"][0]
    return law["verdict"], law["fitted_constants"].get("degrees_of_freedom")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the second node's raylet in /proc")
def test_a_sweep_survives_the_loss_of_a_node_with_the_local_verdict(tmp_path):
    port = _free_port()
    try:
        _ray("start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats")
        before = set(_raylets())
        _ray("start", f"--address=127.0.0.1:{port}", "--num-cpus=1", "--disable-usage-stats")
        (second,) = set(_raylets()) - before
        assert "__internal_head__" not in _raylets()[second]

        sweep = _sweep(tmp_path / "ray", "--executor", "ray", "--address", f"127.0.0.1:{port}")
        # midway: once both nodes train (two runs have a training backup), the second node dies
        deadline = time.monotonic() + 300
        while len(list((tmp_path / "ray").glob("size*/.train-backup"))) < 2:
            assert sweep.poll() is None and time.monotonic() < deadline, "the sweep ended before both nodes trained"
            time.sleep(0.5)
        os.kill(second, signal.SIGKILL)
        output, _ = sweep.communicate(timeout=900)
        assert sweep.returncode == 0, output
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120, env=ENV)

    local = _sweep(tmp_path / "local", "--jobs", "2")
    output, _ = local.communicate(timeout=900)
    assert local.returncode == 0, output
    on_ray = pd.read_parquet(tmp_path / "ray" / "sweep.parquet")
    assert list(on_ray["latent_size"]) == [0, 1, 2, 3] and on_ray["rms"].notna().all()  # every run done
    assert _verdict(tmp_path / "ray") == _verdict(tmp_path / "local")
    pd.testing.assert_series_equal(on_ray["rms"], pd.read_parquet(tmp_path / "local" / "sweep.parquet")["rms"], rtol=1e-3)

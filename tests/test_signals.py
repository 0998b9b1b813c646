"""Signals: a stopped or killed `scinet regress` leaves no worker process behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import TINY, invoke

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("signals") / "r"
    assert invoke("run", "copernicus", "--run-dir", run_dir, *TINY).exit_code == 0
    return run_dir


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_workers_end_within_seconds_of_their_parent(run_dir, signum):
    slow = [*TINY, "--set", "regress.time_budget=60", "--set", "regress.workers=2", "--force"]
    cmd = [
        sys.executable,
        "-c",
        "from pipeline.cli import main; main()",
        "regress",
        "copernicus",
        "--run-dir",
        str(run_dir),
        *slow,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            workers |= {p for p in _children(proc.pid) if "multiprocessing" in Path(f"/proc/{p}/cmdline").read_text()}
            time.sleep(0.2)
        assert len(workers) >= 2, "regress did not start its workers"
        time.sleep(3)  # the workers are searching now
        os.kill(proc.pid, signum)
        proc.wait(timeout=30)
        end = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < end:
            time.sleep(0.2)
        assert not _alive(workers), f"workers {sorted(_alive(workers))} outlived their parent"
        output = proc.stdout.read().decode()
        assert "Traceback" not in output, output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _epoch(folder: Path) -> int:
    """The epochs the backup of a phase under way holds (-1: none yet)."""
    try:
        return max(int(p.name.removeprefix("epoch").removesuffix(".weights.h5")) for p in folder.glob("epoch*.weights.h5"))
    except (OSError, ValueError):
        return -1


LONG = [*TINY, "--set", "train.epochs=[3, 40]", "--set", "simulate.n_samples=300", "--set", "train.epoch_group=1"]
LONG += ["--set", "train.backup_every=0"]  # a backup at every epoch's end


def _train_and_export(run_dir: Path, kill: tuple[int, int] | None = None) -> str:
    """Simulate, train (killed with SIGKILL once the backup of phase ``kill[0]`` holds ``kill[1]`` epochs, then
    trained again to the end) and export; the output of the last training."""
    assert invoke("simulate", "copernicus", "--run-dir", run_dir, *LONG).exit_code == 0
    cmd = [sys.executable, "-c", "from pipeline.cli import main; main()", "train", "copernicus", "--run-dir", str(run_dir), *LONG]
    if kill is not None:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        folder = run_dir / ".train-backup" / f"phase{kill[0]}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and _epoch(folder) < kill[1]:
                time.sleep(0.05)
            assert proc.poll() is None, "training ended before it could be killed"
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert not (run_dir / "model.keras").exists()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert invoke("export", "copernicus", "--run-dir", run_dir, *LONG).exit_code == 0
    return again.stdout + again.stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "r"
    _train_and_export(run_dir)
    return run_dir


@pytest.mark.parametrize("kill", [(0, 1), (1, 5)], ids=["in-the-first-phase", "in-the-second-phase"])
def test_a_killed_training_resumes_to_the_bytes_of_an_uninterrupted_one(tmp_path, uninterrupted, kill):
    run_dir = tmp_path / "t"
    log = _train_and_export(run_dir, kill)
    if kill[0] == 1:
        assert "phase 1 of 2 was completed by an earlier, interrupted run" in log
    assert f"resuming phase {kill[0] + 1} of 2 at epoch" in log
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["loss"]) == 43 and history["phase"].count(1) == 40
    assert not (run_dir / ".train-backup").exists()
    # the row order and the noise of each epoch are its own: the same bytes as a run never killed
    assert history["loss"] == json.loads((uninterrupted / "history.json").read_text())["loss"]
    assert (run_dir / "latents.parquet").read_bytes() == (uninterrupted / "latents.parquet").read_bytes()


def test_a_backup_cut_short_by_a_kill_restarts_its_phase(tmp_path):
    from pipeline.config import load_config
    from pipeline.context import StageContext
    from stages.train import BACKUP, Backup, _backup_key
    from systems.copernicus import SYSTEM
    from tests.test_crash import _simulate

    run_dir = tmp_path / "r"
    _simulate(run_dir)
    config = load_config(None, [o for o in TINY if o != "--set"], system=SYSTEM)
    ctx = StageContext(system=SYSTEM, config=config, run_dir=run_dir)
    phase = Backup(ctx, _backup_key(ctx)).root / "phase0"  # a backup of the first phase that is not a model
    phase.mkdir()
    (phase / "epoch1.weights.h5").write_bytes(b"half a file")
    result = invoke("train", "copernicus", "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0, result.output
    assert "cannot be read back" in result.output and "training starts again" in result.output
    assert (run_dir / "model.keras").exists() and not (run_dir / BACKUP).exists()


@pytest.mark.parametrize(("every", "saves"), [(0, [0, 1]), (3600, [])])
def test_the_phase_under_way_is_backed_up_every_backup_every_seconds(tmp_path, monkeypatch, every, saves):
    from stages.train import Backup
    from tests.test_crash import _simulate

    saved = []
    monkeypatch.setattr(Backup, "save_epoch", lambda self, phase, model, epochs: saved.append((phase, epochs)))
    _simulate(tmp_path / "r")
    how = ["--set", f"train.backup_every={every}", "--set", "train.epoch_group=1"]
    result = invoke("train", "copernicus", "--run-dir", tmp_path / "r", *TINY, *how)
    assert result.exit_code == 0, result.output
    # TINY: two phases of two epochs; the last epoch of a phase is saved whole, as the phase
    assert saved == [(phase, 1) for phase in saves]


def test_a_backup_of_the_phase_under_way_holds_weights_and_optimizer_state(tmp_path):
    import keras
    import numpy as np

    from pipeline.config import load_config
    from pipeline.context import StageContext
    from stages.train import Backup
    from systems.copernicus import SYSTEM

    ctx = StageContext(system=SYSTEM, config=load_config(None, [], system=SYSTEM), run_dir=tmp_path)
    backup = Backup(ctx, "key")

    def model():
        m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        return m

    trained, x = model(), np.linspace(0, 1, 8, dtype="float32")[:, None]
    trained.fit(x, 2 * x, epochs=3, verbose=0)
    backup.save_epoch(0, trained, 2)
    backup.save_epoch(0, trained, 3)
    assert [p.name for p in (backup.root / "phase0").iterdir()] == ["epoch3.weights.h5"]  # the latest only
    fresh = model()
    fresh(x[:1])
    assert backup.resume_epoch(0, fresh) == 3
    for a, b in zip(fresh.variables + fresh.optimizer.variables, trained.variables + trained.optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert backup.resume_epoch(1, fresh) == 0  # nothing under way there


@pytest.mark.parametrize("spoil", ["garbage-model", "folder-model", "bad-losses", "folder-under-way", "file-for-folder"])
def test_a_backup_entry_that_is_not_ours_is_discarded_never_fatal(tmp_path, spoil):
    from pipeline.config import load_config
    from pipeline.context import StageContext
    from stages.train import BACKUP, Backup, _backup_key
    from systems.copernicus import SYSTEM
    from tests.test_crash import _simulate

    run_dir = tmp_path / "r"
    _simulate(run_dir)
    config = load_config(None, [o for o in TINY if o != "--set"], system=SYSTEM)
    ctx = StageContext(system=SYSTEM, config=config, run_dir=run_dir)
    root = Backup(ctx, _backup_key(ctx)).root  # the key is right: only the entries are wrong
    if spoil == "garbage-model":  # a finished first phase whose model is not one
        (root / "phase0.keras").write_bytes(b"PK not a model")
        (root / "phase0.json").write_text('{"loss": [1.0, 0.5], "val_loss": [null, 0.4]}')
    elif spoil == "folder-model":
        (root / "phase0.keras").mkdir()
        (root / "phase0.json").write_text('{"loss": [1.0, 0.5], "val_loss": [null, 0.4]}')
    elif spoil == "bad-losses":
        (root / "phase0.keras").write_bytes(b"PK not a model")
        (root / "phase0.json").write_text('{"loss": "many", "val_loss": 3}')
    elif spoil == "folder-under-way":
        (root / "phase0.losses").mkdir()
        (root / "phase0" / "training_metadata.json").mkdir(parents=True)
    else:
        (root / "phase0").write_bytes(b"a file where Keras keeps a folder")
    result = invoke("train", "copernicus", "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert (run_dir / "model.keras").exists() and not (run_dir / BACKUP).exists()
    # trained in full, nothing taken from the spoilt backup: the same losses as a training that never saw one
    clean = tmp_path / "clean"
    _simulate(clean)
    assert invoke("train", "copernicus", "--run-dir", clean, *TINY).exit_code == 0
    history, expected = (json.loads((r / "history.json").read_text()) for r in (run_dir, clean))
    assert history["loss"] == expected["loss"] and history["phase"] == expected["phase"]


def test_a_file_where_the_backup_folder_belongs_is_discarded(tmp_path):
    from stages.train import BACKUP
    from tests.test_crash import _simulate

    run_dir = tmp_path / "r"
    _simulate(run_dir)
    (run_dir / BACKUP).write_bytes(b"not a folder")
    result = invoke("train", "copernicus", "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0, result.output
    assert (run_dir / "model.keras").exists() and not (run_dir / BACKUP).exists()


def test_a_sigterm_swallowed_inside_a_weakref_callback_still_ends_the_command():
    script = """
import os, signal, time, weakref
from pipeline.cli import _install_signal_handlers
_install_signal_handlers()
class A: pass
a = A()
def callback(ref):  # SIGTERM arrives here, where Python only prints an exception and goes on
    os.kill(os.getpid(), signal.SIGTERM)
    total = 0
    for i in range(200000): total += i
keep = weakref.ref(a, callback)
try:
    del a
    time.sleep(3)
    print("went on")
finally:
    print("cleanup ran")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert done.returncode == 128 + signal.SIGTERM, done.stdout + done.stderr
    assert "went on" not in done.stdout and "cleanup ran" in done.stdout


KILLS = 6


@pytest.mark.slow
def test_a_run_killed_again_and_again_ends_with_the_bytes_of_one_never_killed(tmp_path):
    """The kill loop: ``scinet run`` killed with SIGKILL at random moments (any stage, mid-write even), then run
    to its end, gives byte-identical results to a run never killed, and leaves nothing of its own behind."""
    import random

    how = [*TINY, "--set", "train.epochs=[4, 8]", "--set", "train.epoch_group=1", "--set", "train.backup_every=0"]
    cmd = [sys.executable, "-c", "from pipeline.cli import main; main()", "run", "copernicus", *how]
    start = time.monotonic()
    subprocess.run([*cmd, "--run-dir", str(tmp_path / "whole")], capture_output=True, timeout=600, check=True)
    whole = time.monotonic() - start
    killed, draw = tmp_path / "killed", random.Random(20261206)
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [*cmd, "--run-dir", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            proc.wait(timeout=draw.uniform(2.0, whole))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    done = subprocess.run([*cmd, "--run-dir", str(killed)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("latents.parquet", "equations.parquet", "verification.json", "probe.parquet", "observations.parquet"):
        assert (killed / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    leftovers = {str(p.relative_to(killed)) for p in killed.rglob(".*")} - {".lock", ".lock-holder.json"}
    assert not leftovers, leftovers  # no backup, no searches, no temporary file


def test_sigterm_ends_a_command_waiting_for_a_ray_cluster_that_is_not_one(tmp_path):
    """A service that is not Ray answers at the address: Ray waits for it for 40 s; SIGTERM ends the command at once."""
    pytest.importorskip("ray")
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cmd = [sys.executable, "-c", "from pipeline.cli import main; main()", "sweep", "copernicus", "--latent-sizes", "1"]
    cmd += ["--seeds", "1", "--executor", "ray", "--address", f"127.0.0.1:{server.server_port}", "--run-dir", str(tmp_path / "s")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(8)  # connecting by now
        assert proc.poll() is None, proc.stdout.read().decode()
        os.kill(proc.pid, signal.SIGTERM)
        start = time.monotonic()
        proc.wait(timeout=30)
        assert time.monotonic() - start < 10
        assert proc.returncode == 128 + signal.SIGTERM
    finally:
        server.shutdown()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)

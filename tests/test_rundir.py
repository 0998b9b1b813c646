import subprocess
import sys

import pandas as pd
import pytest

from pipeline.errors import ArtifactError, MissingInputError
from pipeline.rundir import HOLDER, atomic_path, locked, read_parquet, write_parquet


def _write(path, system="copernicus", kind="observations"):
    write_parquet(path, pd.DataFrame({"a": [1.0, 2.0]}), {"kind": kind, "system": system, "units": {"a": "rad"}})


def test_parquet_round_trip_with_schema_metadata(tmp_path):
    path = tmp_path / "o.parquet"
    _write(path)
    frame, meta = read_parquet(path, producer="simulate", kind="observations", system="copernicus", columns=["a"])
    assert list(frame["a"]) == [1.0, 2.0]
    assert meta["units"] == {"a": "rad"}


def test_missing_corrupt_foreign_and_wrong_system_files(tmp_path):
    path = tmp_path / "o.parquet"
    with pytest.raises(MissingInputError, match="Run `scinet simulate copernicus` first"):
        read_parquet(path, producer="simulate", kind="observations", system="copernicus")
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(ArtifactError, match="not a readable Parquet file"):
        read_parquet(path, producer="simulate", kind="observations", system="copernicus")
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(ArtifactError, match="was not written by `scinet simulate`"):
        read_parquet(path, producer="simulate", kind="observations", system="copernicus")
    _write(path, system="pendulum")
    with pytest.raises(ArtifactError, match="belongs to system 'pendulum'"):
        read_parquet(path, producer="simulate", kind="observations", system="copernicus")
    _write(path)
    with pytest.raises(ArtifactError, match=r"lacks columns \['b'\]"):
        read_parquet(path, producer="simulate", kind="observations", system="copernicus", columns=["b"])


def test_atomic_path_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]


def _holder_process(run_dir):
    """A process that holds ``run_dir`` until killed (started, and holding, when this returns)."""
    code = (
        "import sys, time; sys.argv = ['scinet', 'run', 'copernicus', '--seed', '7']; from pipeline.rundir import locked\n"
        f"with locked({str(run_dir)!r}):\n    print('held', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_command_on_a_held_run_directory_fails_at_once_and_names_the_holder(tmp_path):
    from tests.test_cli import TINY, invoke

    run_dir = tmp_path / "r"
    holder = _holder_process(run_dir)
    try:
        result = invoke("simulate", "copernicus", "--run-dir", run_dir, *TINY)
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert f"process {holder.pid}" in result.output and "scinet run copernicus --seed 7" in result.output
        assert "another --run-dir" in result.output
        assert not (run_dir / "observations.parquet").exists()
    finally:
        holder.kill()
        holder.wait()
    # the killed holder left its note, not its lock: the next command runs
    assert (run_dir / HOLDER).exists()
    result = invoke("simulate", "copernicus", "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0, result.output
    assert (run_dir / "observations.parquet").exists() and not (run_dir / HOLDER).exists()


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    with locked(tmp_path), locked(tmp_path):
        assert (tmp_path / HOLDER).exists()
    assert not (tmp_path / HOLDER).exists()
    with locked(tmp_path):  # taken again
        pass


def test_a_pipe_or_folder_where_an_artifact_belongs_is_refused_not_waited_on(tmp_path):
    import os

    from pipeline.rundir import file_hash

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    for name in ("pipe", "folder"):
        with pytest.raises(ArtifactError, match="not a regular file"):
            file_hash(tmp_path / name)
    (tmp_path / "f").write_bytes(b"abc")
    assert file_hash(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")


def test_what_a_kill_left_mid_write_is_removed_and_nothing_else(tmp_path):
    from pipeline.rundir import remove_partials

    (tmp_path / "figures").mkdir()
    (tmp_path / ".train-backup").mkdir()
    # named as atomic_path names a file while it is written, and left so by a SIGKILL
    strays = [
        (tmp_path / ".equations.abcd1234.parquet"),
        (tmp_path / "figures" / ".kl.x_9y8z7w.png"),
        (tmp_path / "..lock-holder.a1b2c3d4.json"),
    ]
    for stray in strays:
        stray.write_bytes(b"half")
    kept = [tmp_path / ".lock", tmp_path / "report.md", tmp_path / ".train-backup" / ".phase0.abcd1234.keras"]
    for path in kept:
        path.write_bytes(b"ours")
    remove_partials(tmp_path)
    assert not any(p.exists() for p in strays)
    assert all(p.exists() for p in kept)  # a scratch folder's own files are its stage's to keep or remove

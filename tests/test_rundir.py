import pandas as pd
import pytest

from pipeline.errors import ArtifactError, MissingInputError
from pipeline.rundir import atomic_path, read_parquet, write_parquet


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

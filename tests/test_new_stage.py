"""A stage added from a test file, as a new module in ``stages/`` or another package's entry point would add one:
the order, the command line, the cache and the manifest take it from its declaration alone."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.stage import Output, Stage, get_stage, register_stage, stage_names, unregister_stage

CALLS: list[str] = []


def count_rows(ctx) -> None:
    CALLS.append(ctx.system.name)
    rows = len(pd.read_parquet(ctx.path("observations.parquet")))
    ctx.path("counts/rows.txt").parent.mkdir(exist_ok=True)
    ctx.path("counts/rows.txt").write_text(f"{rows}\n")


@pytest.fixture
def count_stage():
    stage = register_stage(
        Stage(
            name="count",
            help="Count the simulated rows (counts/rows.txt).",
            inputs=("observations.parquet",),
            outputs=(Output("counts/", "count", "the number of simulated rows"),),
            run=count_rows,
        )
    )
    yield stage
    unregister_stage("count")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_a_registered_stage_runs_in_its_place_with_its_own_command_and_cache(tmp_path, count_stage):
    names = stage_names()
    assert names.index("simulate") < names.index("count") < names.index("report")  # after what it reads
    assert get_stage("count") is count_stage
    assert "Count the simulated rows" in invoke("--help").output
    run_dir = tmp_path / "r"
    assert invoke("simulate", "copernicus", "--run-dir", run_dir, "--set", "simulate.n_samples=20").exit_code == 0
    CALLS.clear()
    first = invoke("count", "copernicus", "--run-dir", run_dir, "--set", "simulate.n_samples=20")
    assert first.exit_code == 0, first.output
    assert (run_dir / "counts" / "rows.txt").read_text() == "1000\n"  # 20 series of 50
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]["count"]["outputs"]) == {"counts/rows.txt"}
    again = invoke("count", "copernicus", "--run-dir", run_dir, "--set", "simulate.n_samples=20")
    assert "up to date" in again.output and CALLS == ["copernicus"]
    (run_dir / "counts" / "rows.txt").write_text("7\n")  # an edit: the next run redoes it
    invoke("count", "copernicus", "--run-dir", run_dir, "--set", "simulate.n_samples=20")
    assert CALLS == ["copernicus", "copernicus"] and (run_dir / "counts" / "rows.txt").read_text() == "1000\n"


def test_a_stage_that_reads_what_no_stage_writes_is_refused(count_stage):
    from pipeline.errors import ScinetError

    register_stage(Stage(name="orphan", help="Reads nothing made.", inputs=("nowhere.parquet",), outputs=(), run=print))
    try:
        with pytest.raises(ScinetError, match="No stage writes nowhere.parquet"):
            stage_names()
    finally:
        unregister_stage("orphan")

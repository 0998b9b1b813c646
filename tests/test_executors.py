"""Executors: local processes by default, Ray when chosen; the same results either way."""

import builtins
import math
import operator
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.errors import ConfigError
from pipeline.executors import get_executor
from tests.test_sweep import tiny_sweeps


def _square(x):
    return x * x


def test_the_local_executor_maps_in_order_and_reports_each_result():
    seen = []
    assert get_executor("local").map(_square, [1, 2, 3], workers=2, on_result=lambda i, r: seen.append((i, r))) == [1, 4, 9]
    assert sorted(seen) == [(0, 1), (1, 4), (2, 9)]


def _reciprocal(x):
    return 1 / x


def _die(x):
    import os

    if x == 2:
        os._exit(3)  # as a worker killed, or one that could not start
    return x


def test_a_worker_that_dies_ends_the_map_with_an_error_that_says_what_to_do():
    import time

    from pipeline.errors import WorkerError

    start = time.monotonic()
    with pytest.raises(WorkerError, match='if __name__ == "__main__"'):
        get_executor("local").map(_die, [1, 2, 3, 4], workers=2)
    assert time.monotonic() - start < 60  # multiprocessing.Pool would start workers again for ever
    with pytest.raises(ZeroDivisionError):  # an error in the job itself is raised as itself
        get_executor("local").map(_reciprocal, [1, 0], workers=2)


def test_unknown_executors_and_a_cluster_address_without_ray_are_errors_that_say_what_to_do():
    with pytest.raises(ConfigError, match="local, ray"):
        get_executor("slurm")
    with pytest.raises(ConfigError, match="--executor ray"):
        get_executor("local", address="10.0.0.1:6379")
    result = CliRunner().invoke(main, ["run", "copernicus", "--set", "executor.name=dask"])
    assert result.exit_code == 1 and "executor.name" in result.output and "Traceback" not in result.output


def test_without_ray_installed_the_error_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "pipeline.executors.ray_cluster", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfigError, match=r"scinet\[ray\]"):
        get_executor("ray")


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_maps_in_order_and_raises_a_job_error_as_itself(ray_local):
    # functions Ray's workers can import (this test module is not on their path)
    executor = get_executor("ray")
    seen = []
    assert executor.map(operator.neg, list(range(5)), workers=1, on_result=lambda i, r: seen.append(i)) == [0, -1, -2, -3, -4]
    assert sorted(seen) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="math domain error"):
        executor.map(math.sqrt, [1.0, 4.0, -1.0], workers=1)


def test_a_sweep_on_ray_gives_the_local_table(ray_local, tmp_path):
    tables = tiny_sweeps(tmp_path, local=["--executor", "local"], ray=["--executor", "ray"])
    pd.testing.assert_series_equal(tables["local"]["rms"], tables["ray"]["rms"], rtol=1e-4)


@pytest.mark.parametrize(
    ("backend", "cores", "workers"), [("jax", 2, 2), ("jax", 16, 16), ("tensorflow", 2, 1), ("torch", 16, 8), ("jax", 1, 1)]
)
def test_runs_at_a_time_by_default_one_per_core_on_jax_one_per_two_cores_elsewhere(monkeypatch, backend, cores, workers):
    from pipeline.executors.runs import default_workers

    monkeypatch.setenv("KERAS_BACKEND", backend)
    assert default_workers(cores) == workers


def test_a_worker_with_one_core_runs_xla_and_tensorflow_on_one_thread_keeping_the_users_xla_flags(monkeypatch):
    import os

    from pipeline.executors.runs import setup_worker

    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):  # restored after the test
        monkeypatch.setenv(name, "")
    setup_worker(1, {})
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_multi_thread_eigen=false"
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"
    setup_worker(1, {})  # once only
    assert os.environ["XLA_FLAGS"].count("multi_thread_eigen") == 1
    monkeypatch.setenv("XLA_FLAGS", "")
    setup_worker(4, {})
    assert os.environ["XLA_FLAGS"] == ""
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "4"
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")  # the user's own choice
    setup_worker(1, {})
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=true"

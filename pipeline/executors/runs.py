"""Whole runs of the pipeline as an executor's jobs: shared by a sweep (one run per latent size and seed) and a seed
ensemble (one run per seed).

A job is any dataclass with ``system`` (a registered name) and ``overrides`` (``--set`` strings).  In a worker
process each run trains with its share of the cores (TensorFlow's thread pools, or XLA's, are set before they are
imported), and the systems registered in this process are registered there too.

How many runs at a time by default (:func:`default_workers`): one per core on JAX, one per two cores otherwise.
XLA's CPU runs these small networks on about one core (a two-qubit run, 131 s wall, took 157 s of CPU), so a second
run on the other core nearly doubles the throughput (measured on 2 cores: two runs in 157 s).  TensorFlow and
PyTorch keep the earlier default, set when TensorFlow was the default backend; it was not measured again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.executors import Executor, get_executor
from pipeline.registry import register, registered

log = logging.getLogger("scinet")


def default_workers(cores: int) -> int:
    """Runs at a time where ``--jobs`` is 0: one per core on JAX, one per two cores on TensorFlow and PyTorch."""
    from pipeline import keras_backend

    if keras_backend() == "jax":
        return max(1, cores)
    return max(1, cores // 2)


def setup_worker(n: int, systems: dict) -> None:
    """Worker initializer: ``n`` threads for TensorFlow's thread pools, before it is imported, and for XLA's (one
    thread where ``n`` is 1: XLA has no flag for another count); the parent's registered systems."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    flags = os.environ.get("XLA_FLAGS", "")
    if n == 1 and "xla_cpu_multi_thread_eigen" not in flags:  # a user's own setting of it stays
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    for system in systems.values():
        register(system)


def picklable(systems: dict) -> bool:
    try:
        pickle.dumps(systems)
    except Exception:  # noqa: BLE001 - a lambda, a local function, an open file: whatever pickle refuses
        return False
    return True


def map_runs(
    func: Callable[[Any], Any],
    jobs: Sequence[Any],
    *,
    label: str,
    workers: int,
    executor: Executor | None = None,
    gpus_per_job: float = 0,
    on_result: Callable[[int, Any], None] | None = None,
    in_worker: tuple[str, ...] = (),
) -> list[Any]:
    """``[func(job) for job in jobs]``: ``workers`` at a time on the local executor (in this process where that is
    one; 0: :func:`default_workers`), or as many as a Ray cluster holds, each job asking for one CPU and
    ``gpus_per_job`` GPUs.  ``in_worker`` are overrides added to each job that runs outside this process.  A system
    that cannot be sent to a worker (a lambda, a local function) runs its jobs one at a time, with a warning."""
    executor = executor or get_executor("local")
    cores = os.cpu_count() or 1
    workers = max(1, min(workers or default_workers(cores), len(jobs)))
    systems = {job.system: registered()[job.system] for job in jobs if job.system in registered()}
    if workers > 1 and not picklable(systems):
        log.warning(
            "%s: the system %s was registered in this process with parts that cannot be sent to a worker process "
            "(a lambda or a local function); its runs go one at a time.  Define its simulator and laws as module-level "
            "functions, or install it as an entry point, to run it in parallel.",
            label,
            ", ".join(systems),
        )
        workers = 1
    local = executor.name == "local"
    elsewhere = workers > 1 or not local
    if elsewhere and in_worker:
        jobs = [dataclasses.replace(j, overrides=(*j.overrides, *in_worker)) for j in jobs]
    start = time.perf_counter()
    results = executor.map(
        func,
        jobs,
        workers=workers,
        setup=setup_worker if elsewhere else None,
        setup_args=(max(1, cores // workers) if local else 1, systems),
        on_result=on_result,
        num_cpus=1,
        num_gpus=gpus_per_job,
    )
    log.info(
        "%s: %d runs in %.0f s, %s",
        label,
        len(jobs),
        time.perf_counter() - start,
        f"{workers} at a time" if local else f"on {executor.name}",
    )
    return results

"""The Ray executor: jobs as Ray core tasks, on a cluster or on a Ray started for this command.

``ray.init(address=...)`` joins the cluster at ``--address`` (or ``RAY_ADDRESS``); with neither, Ray starts
on this machine for the command and stops with it.  Each job is a task asking for ``num_cpus`` cores and
``num_gpus`` GPUs; Ray places it where those are free.  A task whose worker or node dies is retried
(``MAX_RETRIES`` times) elsewhere: the job resumes from what it left in its deterministic place (a
sweep's run directory, whose stages skip what is done and whose training resumes from its backup).
A GPU task gets a fresh worker process (``max_calls=1``), so that TensorFlow or JAX gives its GPU
memory back when the task ends.  Ray is imported only here, when this executor is chosen.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.errors import ConfigError

log = logging.getLogger("scinet")

MAX_RETRIES = 3
"""times a task is retried after its worker process or node died (an error raised by the job is not retried)"""


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "--executor ray needs Ray, which is an optional extra. Install it with `pip install 'scinet[ray]'` "
            "(or `pip install -e '.[ray]'` in a checkout), or leave the executor local (the default)."
        ) from exc
    return ray


def _run(func: Callable[[Any], Any], item: Any, setup: Callable[..., None] | None, setup_args: tuple) -> Any:
    if setup is not None:
        setup(*setup_args)
    return func(item)


def reachable(address: str, timeout: float) -> None:
    """Refuse a cluster address where nothing answers within ``timeout`` seconds, before Ray is asked: Ray
    itself retries for minutes, deaf to SIGTERM.  ``auto`` (the cluster started on this machine) is Ray's to find."""
    if address == "auto":
        return
    match = re.fullmatch(r"(?:ray://)?\[?([^\]\s]+?)\]?:(\d{1,5})", address.strip())
    if match is None:
        raise ConfigError(
            f"--address {address!r} is not a Ray cluster's address. Give host:port of its head node, as `ray start "
            "--head` printed it (for instance 10.0.0.5:6379), or `auto` for a cluster started on this machine."
        )
    host, port = match[1], int(match[2])
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(
            f"Nothing answered at {host}:{port} within {timeout:g} s ({exc.strerror or exc}). Start a Ray cluster "
            "there (`ray start --head` on the head node), check the address (host:port of the head, as `ray start` "
            "printed it), raise executor.connect_timeout for a slow network, or leave out --address and "
            "RAY_ADDRESS to start Ray on this machine."
        ) from exc


def _init(ray, **settings) -> None:
    """``ray.init(**settings)`` in a thread of its own, waited for in short steps: the main thread stays free to
    handle SIGTERM (inside ``ray.init`` it waits until Ray gives up, 40 s against a service that is not Ray),
    and Ray installs no SIGTERM handler of its own over scinet's (it does so only from the main thread)."""
    outcome: dict[str, BaseException] = {}

    def connect() -> None:
        try:
            ray.init(**settings)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread as it is
            outcome["error"] = exc

    thread = threading.Thread(target=connect, name="ray-init", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
    if "error" in outcome:
        raise outcome["error"]


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, connect_timeout: float = 10.0):
        self.ray = _import_ray()
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.connect_timeout = connect_timeout

    def _connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        if self.address:
            reachable(self.address, self.connect_timeout)
        try:
            if self.address:
                _init(ray, address=self.address, log_to_driver=False)
            else:
                _init(ray, include_dashboard=False, log_to_driver=False)
        except ConnectionError as exc:
            raise ConfigError(
                f"Could not reach a Ray cluster at {self.address}: {exc}. Start one there (`ray start --head` on the "
                "head node), check the address (host:port of the head, as `ray start` printed it), or leave out "
                "--address and RAY_ADDRESS to start Ray on this machine."
            ) from exc
        resources = ray.cluster_resources()
        log.info(
            "ray: %s, %g CPUs, %g GPUs on %d node(s)",
            f"cluster at {self.address}" if self.address else "started on this machine",
            resources.get("CPU", 0),
            resources.get("GPU", 0),
            len([n for n in ray.nodes() if n.get("Alive")]),
        )

    def map(
        self,
        func: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        workers: int,
        setup: Callable[..., None] | None = None,
        setup_args: tuple = (),
        on_result: Callable[[int, Any], None] | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
    ) -> list[Any]:
        if not items:
            return []
        ray = self.ray
        self._connect()
        options: dict[str, Any] = {"num_cpus": num_cpus, "num_gpus": num_gpus, "max_retries": MAX_RETRIES}
        if num_gpus:
            options["max_calls"] = 1  # a fresh process per GPU task: its framework frees the GPU's memory
        task = ray.remote(_run).options(**options)
        refs = [task.remote(func, item, setup, setup_args) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(items)
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = index[ref]
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:  # the job raised: raise it here, as locally
                        raise exc.as_instanceof_cause() from None
                    if on_result is not None:
                        on_result(i, results[i])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
        return results

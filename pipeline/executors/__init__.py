"""Where independent jobs run: one interface for a sweep's trainings, regress's searches and the benchmark's equations.

============  ==================================================================================
``local``     worker processes on this machine (the default; no server to start), :mod:`.local`
``ray``       a Ray cluster (``--executor ray``; ``--address`` or ``RAY_ADDRESS``, else a local
              Ray started for the command), :mod:`.ray_cluster`; needs ``pip install 'scinet[ray]'``
============  ==================================================================================

An executor has one method, :meth:`Executor.map`: ``[func(item) for item in items]`` with the
results in order, ``on_result(i, result)`` called in this process as each finishes.  A job is
described by its item alone and writes only to its own, deterministic place (a sweep's run
directory), so a job run twice, or retried after a crashed worker, does the same thing and one
that finished is skipped; results do not depend on the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pipeline.errors import ConfigError

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    name: str

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
        """``[func(item) for item in items]``: ``workers`` at a time on this machine, or as many as the
        cluster's resources allow where each job asks for ``num_cpus`` cores and ``num_gpus`` GPUs.
        ``setup(*setup_args)`` runs in a worker before its jobs."""
        ...  # pragma: no cover - interface


def get_executor(name: str = "local", *, address: str | None = None, connect_timeout: float = 10.0) -> Executor:
    """The executor called ``name``; ``address`` is a Ray cluster's (``host:port``, or ``auto``), which must answer
    within ``connect_timeout`` seconds."""
    if name == "local":
        if address:
            raise ConfigError(
                f"--address {address} is a Ray cluster's address, but the executor is local. "
                "Add --executor ray to run on that cluster, or drop --address."
            )
        from pipeline.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from pipeline.executors.ray_cluster import RayExecutor

        return RayExecutor(address=address, connect_timeout=connect_timeout)
    raise ConfigError(f"Unknown executor {name!r}. Choose one of: {', '.join(EXECUTORS)}.")


def configured(settings) -> Executor:
    """The executor the ``[executor]`` settings (:class:`pipeline.config.ExecutorConfig`) name."""
    return get_executor(settings.name, address=settings.address or None, connect_timeout=settings.connect_timeout)


__all__ = ["EXECUTORS", "Executor", "configured", "get_executor"]

"""The local executor: worker processes on this machine that never outlive the command."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipeline.errors import WorkerError


def _exit_with_parent(parent: int, setup: Callable[..., None] | None, args: tuple) -> None:
    """Worker initializer: end this worker within a second of its parent's death (even by SIGKILL,
    which gives the parent no chance to stop it), rather than when its work is done; then ``setup``."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="scinet-parent-watch").start()
    if setup is not None:
        setup(*args)


def map_in_processes(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int,
    setup: Callable[..., None] | None = None,
    setup_args: tuple = (),
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[func(item) for item in items]``, in ``workers`` processes where that is more than one (results in order).

    However this ends (an error in one item, Ctrl-C, SIGTERM: the command line turns it into an exit),
    the workers are terminated before it returns; a parent killed outright takes them with it.  Workers
    are spawned, not forked: the parent may hold TensorFlow's threads.  A worker that dies (killed, out of
    memory, or unable to start) ends the map with :class:`WorkerError`: the standard library's
    ``ProcessPoolExecutor`` notices, where ``multiprocessing.Pool`` would start workers again for ever.
    ``setup(*setup_args)`` runs in each worker first (e.g. to size TensorFlow's thread pools before it is
    imported).  ``on_result(i, result)`` runs in this process as each item finishes, in the order they
    finish (for progress).
    """
    if workers <= 1 or len(items) <= 1:
        results = []
        for i, item in enumerate(items):
            results.append(func(item))
            if on_result is not None:
                on_result(i, results[-1])
        return results
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(), setup, setup_args),
    )
    try:
        futures = {pool.submit(func, item): i for i, item in enumerate(items)}
        results: list[Any] = [None] * len(items)
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()  # the worker's own error, raised here
            if on_result is not None:
                on_result(i, results[i])
        return results
    except BrokenProcessPool as exc:
        raise WorkerError(
            "A worker process died before it could report (killed, out of memory, or it could not start). "
            "Calling scinet from a script? Worker processes import the script again: put the call under "
            "`if __name__ == \"__main__\":`.  Otherwise give the workers less to hold (regress.workers=1, or "
            "smaller regress.n_rows) and run again; the work they finished is kept."
        ) from exc
    finally:
        for process in list((getattr(pool, "_processes", None) or {}).values()):  # none outlives this call
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


class LocalExecutor:
    """Jobs in worker processes on this machine (:func:`map_in_processes`); in this process where ``workers`` is one."""

    name = "local"

    def map(self, func, items, *, workers, setup=None, setup_args=(), on_result=None, num_cpus=1, num_gpus=0):
        return map_in_processes(func, items, workers=workers, setup=setup, setup_args=setup_args, on_result=on_result)

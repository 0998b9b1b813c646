"""Engine runs that use the cores other searches leave idle, without crowding the machine.

A regress stage runs its searches in worker processes, one search each, but
the searches are of very different lengths: the pendulum's law of motion
takes most of a minute while its two neurons take seconds, and the second
core then sits idle.  Inside one search much is independent: the engine runs
of the target transforms, and in a family of curves (:mod:`symreg.family`)
the searches of the curves and of each constant.  :func:`run_all` runs such
independent pieces in threads; the engine itself (pyoperon releases Python's
lock while it evolves) takes an *engine slot* (:func:`engine_slot`) for as
long as it runs.

The slots are a semaphore the stage shares with its worker processes
(:func:`shared`), one per core, so that however the searches are split, no
more engines run at once than there are cores: the engines' wall-clock
backstop (:mod:`symreg.operon`) is no closer than with one search per core,
and every engine run still stops at its evaluation budget, so the equations
are those of one run after another, whatever the threads' timing.  Where no
slots are shared (a search called from Python, a Ray cluster), :func:`run_all`
runs the pieces one after another, as before.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_shared: Any = None
"""the semaphore shared by the processes of one stage (one slot per core), or None"""
_one_at_a_time = threading.Lock()
"""the slot of a process that shares none: one engine run at a time, as without threads"""


def share(semaphore: Any) -> None:
    """Use ``semaphore`` (a :mod:`multiprocessing` semaphore, one slot per core) for this process's engine runs;
    a worker process's setup.  ``None`` stops sharing."""
    global _shared
    _shared = semaphore


@contextlib.contextmanager
def shared(semaphore: Any) -> Iterator[None]:
    """:func:`share` for the ``with`` block (the stage's own process, where it runs searches itself)."""
    before = _shared
    share(semaphore)
    try:
        yield
    finally:
        share(before)


def concurrent() -> bool:
    """Whether this process shares engine slots (and so runs independent pieces of a search at once)."""
    return _shared is not None


@contextlib.contextmanager
def engine_slot() -> Iterator[None]:
    """Hold an engine slot for the ``with`` block: an engine run's share of the machine."""
    slot = _shared if _shared is not None else _one_at_a_time
    slot.acquire()
    try:
        yield
    finally:
        slot.release()


_interrupted = threading.Event()
"""set while an interrupt (Ctrl-C, a SIGTERM the command line turned into an exit) unwinds a :func:`run_all`"""


def interrupted() -> bool:
    """Whether the engines should end their runs now: the process is being interrupted (an engine that reports
    its generations checks this at each, as operon's does, so that Ctrl-C need not wait for a run's end)."""
    return _interrupted.is_set()


def run_all(func: Callable[[T], R], items: Iterable[T], *, threads: bool = True) -> list[R]:
    """``[func(item) for item in items]``, in order; at once, in threads, where this process shares engine slots
    and ``threads`` (the engine allows it, see :attr:`symreg.base.Engine.concurrent`).  An exception in one item
    is raised once every item has finished.  An interrupt (only the main thread receives one) ends the engine
    runs under way at their next generation (:func:`interrupted`) and is raised once the threads have ended."""
    items = list(items)
    if len(items) <= 1 or not threads or not concurrent():
        return [func(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="scinet-search")
    interrupting = False
    try:
        futures = [pool.submit(func, item) for item in items]
        return [future.result() for future in futures]
    except BaseException as exc:
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
            interrupting = True
            _interrupted.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if interrupting:
            _interrupted.clear()  # every thread of these pieces has ended: a later search runs in full

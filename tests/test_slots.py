"""Engine slots: the independent engine runs of a search at once, never more than the slots, the same equations."""

import multiprocessing
import threading
import time
from functools import partial

import numpy as np
import pytest

from symreg import slots
from symreg.engines import make_engine
from symreg.family import search_family
from symreg.search import search


def _semaphore(n: int):
    return multiprocessing.get_context("spawn").BoundedSemaphore(n)


class _Counting:
    """A stand-in engine that records how many of its fits hold a slot at once."""

    concurrent = True
    lock = threading.Lock()
    running = 0
    most = 0

    def __init__(self, **kwargs):
        pass

    def fit(self, X, y, *, variable_names, noise_variance=0.0):
        with slots.engine_slot():
            with _Counting.lock:
                _Counting.running += 1
                _Counting.most = max(_Counting.most, _Counting.running)
            time.sleep(0.05)
            with _Counting.lock:
                _Counting.running -= 1
        self.equations_ = []
        return self


def test_run_all_keeps_the_order_and_runs_at_once_only_where_slots_are_shared():
    seen = []

    def work(i):
        seen.append(threading.current_thread().name)
        time.sleep(0.02 * (3 - i))  # the first item finishes last
        return i * i

    assert slots.run_all(work, range(3)) == [0, 1, 4]
    assert set(seen) == {threading.current_thread().name}  # no slots shared: one after another, here
    seen.clear()
    with slots.shared(_semaphore(2)):
        assert slots.concurrent()
        assert slots.run_all(work, range(3)) == [0, 1, 4]
        assert all(name.startswith("scinet-search") for name in seen)
        seen.clear()
        assert slots.run_all(work, range(3), threads=False) == [0, 1, 4]  # an engine that does not allow it
        assert set(seen) == {threading.current_thread().name}
    assert not slots.concurrent()


def test_an_error_in_one_piece_reaches_the_caller():
    def work(i):
        if i == 1:
            raise ValueError("piece 1")
        return i

    with slots.shared(_semaphore(2)), pytest.raises(ValueError, match="piece 1"):
        slots.run_all(work, range(3))


@pytest.mark.parametrize("n", [1, 2])
def test_no_more_engines_run_at_once_than_the_slots(n):
    _Counting.running = _Counting.most = 0
    X = np.linspace(1, 2, 40)[:, None]
    with slots.shared(_semaphore(n)):
        slots.run_all(lambda _: _Counting().fit(X, X[:, 0], variable_names=["x"]), range(6))
    assert _Counting.most == n


def test_a_search_runs_its_transforms_at_once_within_the_slots():
    _Counting.running = _Counting.most = 0
    X = np.random.default_rng(0).uniform(1, 2, size=(40, 2))
    # two transforms (identity and square) and the dimensionless problem (of a / b): three engine runs
    with slots.shared(_semaphore(3)):
        search(_Counting, X, X[:, 0] / X[:, 1], variable_names=["a", "b"], units={"a": "m", "b": "m"}, square=True)
    assert _Counting.most == 3


def _operon(**kw):
    return make_engine(
        "operon", **{"time_budget": 1.5, "max_length": 10, "operators": "arithmetic,exp", "seed": 3, "threads": 1, **kw}
    )


def test_operon_fits_in_threads_run_at_once_and_give_the_equations_of_fits_one_after_another(monkeypatch):
    import symreg.operon

    generations = []  # (fit, generation) in the order the generations end, across threads

    class Logged(symreg.operon.FrontStop):
        def update(self, front, spent):
            generations.append(id(self))
            return super().update(front, spent)

    monkeypatch.setattr(symreg.operon, "FrontStop", Logged)
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(300, 2))
    targets = [X[:, 0] * np.exp(X[:, 1]), X[:, 0] / (1 + X[:, 1]) + rng.normal(0, 1e-3, 300)]

    def fit(y):
        engine = _operon()
        engine.fit(X, y, variable_names=["a", "b"], noise_variance=1e-6)
        return [raw for raw, _ in engine.equations_], engine.stats_["generations"]

    alone = [fit(y) for y in targets]
    generations.clear()
    with slots.shared(_semaphore(2)):
        together = slots.run_all(fit, targets)
    assert together == alone  # each thread's fit stopped on its own front, at the same generation
    first, second = dict.fromkeys(generations)
    during = generations[generations.index(first) : len(generations) - generations[::-1].index(first)]
    assert second in during  # the fits' generations interleave: they ran at once


def test_a_family_found_with_shared_slots_is_the_family_found_without():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(30), 30)
    kk = rng.uniform(1, 2, 30)[groups]
    tt = rng.uniform(0, 3, len(groups))
    y = 2 * np.exp(-kk * tt) + 1e-3 * rng.normal(size=len(groups))
    engine = partial(make_engine, "operon", time_budget=1, max_length=10, operators="arithmetic,exp", seed=0, threads=1)
    found = partial(
        search_family, engine, kk[:, None], tt, y, groups, parameter_names=["k"], question_name="t", noise_variance=1e-6
    )
    front, record = found()
    with slots.shared(_semaphore(2)):
        front2, record2 = found()
    assert record2 == record
    assert front2["sympy_format"].tolist() == front["sympy_format"].tolist()
    assert front2["loss"].tolist() == front["loss"].tolist()


def test_an_interrupt_ends_the_pieces_under_way_and_a_later_search_runs_in_full():
    import os
    import signal

    started = threading.Barrier(3)

    def piece(i):
        started.wait()
        deadline = time.monotonic() + 30
        while not slots.interrupted():  # an engine checks this at each generation
            assert time.monotonic() < deadline, "the interrupt never reached the pieces"
            time.sleep(0.01)
        return i

    def interrupt():
        started.wait()
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: a KeyboardInterrupt in the main thread

    threading.Thread(target=interrupt).start()
    t0 = time.monotonic()
    with slots.shared(_semaphore(2)), pytest.raises(KeyboardInterrupt):
        slots.run_all(piece, range(2))
    assert time.monotonic() - t0 < 10
    assert not slots.interrupted()


def test_operon_ends_its_run_at_the_next_generation_when_interrupted(monkeypatch):
    import symreg.operon

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(300, 2))
    y = np.sin(X[:, 0]) * np.exp(X[:, 1])
    monkeypatch.setattr(symreg.operon, "interrupted", lambda: True)
    engine = _operon(patience=0)  # the budget alone would never stop it early
    engine.fit(X, y, variable_names=["a", "b"])
    assert engine.stats_["generations"] == 1

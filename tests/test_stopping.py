"""A search stops when its front is done: at the noise floor with nothing simpler, or stalled."""

from functools import partial

import numpy as np
import pytest
import sympy as sp

from symreg.engines import make_engine
from symreg.search import search
from symreg.stopping import EXACT_FLOOR, FrontStop, noise_floor


def test_noise_floor_is_the_noise_or_an_exact_fit():
    assert noise_floor(1e-4, 2.0) == 1e-4
    assert noise_floor(0.0, 2.0) == pytest.approx(2.0 * EXACT_FLOOR)


def test_it_waits_for_a_simpler_candidate_at_the_floor_then_stops():
    stop = FrontStop(floor=1e-3, patience=0.3)
    assert not stop.update([(1, 1.0), (7, 5e-4)], 0.1)  # at the floor with 7 nodes
    assert not stop.update([(1, 1.0), (5, 9e-4), (7, 5e-4)], 0.2)  # a simpler one reaches it: wait again
    assert not stop.update([(1, 1.0), (3, 0.5), (5, 9e-4)], 0.45)  # better at 3 nodes, but not at the floor
    assert stop.update([(1, 1.0), (3, 0.5), (5, 9e-4)], 0.55)  # 0.3 of the budget since 5 nodes reached it
    assert (stop.reason_, stop.generation_, stop.spent_) == ("noise floor", 4, 0.55)


def test_it_stops_when_the_front_stalls_above_the_floor():
    stop = FrontStop(floor=1e-6, patience=0.3)
    assert not stop.update([(1, 1.0), (5, 0.1)], 0.1)
    assert not stop.update([(1, 1.0), (5, 0.0995)], 0.3)  # less than 1 %: no improvement
    assert not stop.update([(1, 1.0), (3, 0.2), (5, 0.0995)], 0.35)  # better at 3 nodes
    assert not stop.update([(1, 1.0), (3, 0.2)], 0.6)  # the front lost a point: nothing gained
    assert stop.update([(1, 1.0), (3, 0.2)], 0.7)
    assert stop.reason_ == "stalled"


def test_a_single_node_at_the_floor_stops_at_once_and_zero_patience_never_stops():
    assert FrontStop(floor=1e-3, patience=0.3).update([(1, 1e-4)], 0.01)
    never = FrontStop(floor=1e-3, patience=0)
    assert not any(never.update([(1, 1e-4)], s) for s in np.linspace(0, 1, 20))
    assert never.reason_ is None


def test_operon_stops_early_on_an_exact_law_with_the_same_equation():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, size=(500, 2))
    y = X[:, 0] ** 2 * X[:, 1] + 1.5
    fronts, stats = [], []
    for patience in (0.0, 0.3):
        engine = partial(
            make_engine, "operon", time_budget=4, max_length=12, operators="arithmetic", seed=2, threads=1, patience=patience
        )
        made = []

        def keep(engine=engine, made=made, **kw):
            made.append(engine(**kw))
            return made[-1]

        front = search(keep, X, y, variable_names=["a", "b"], seed=2)
        fronts.append(front[front["selected"]]["sympy_format"].iloc[0])
        stats.append(made[0].stats_)
    a, b = sp.symbols("a b", real=True)
    assert sp.simplify(sp.sympify(fronts[1], locals={"a": a, "b": b}) - (a**2 * b + sp.Rational(3, 2))) == 0
    assert fronts[0] == fronts[1]
    assert stats[0]["stopped"] is None
    assert stats[1]["stopped"] == "noise floor"
    assert stats[1]["generations"] < stats[0]["generations"]


def test_operon_does_not_search_a_target_already_at_its_floor():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = 0.3 + rng.normal(0, 0.01, 300)
    engine = make_engine("operon", time_budget=5, max_length=10, operators="arithmetic", seed=0, threads=1)
    engine.fit(X, y, variable_names=["x"], noise_variance=1e-4 * 1.2)
    assert engine.stats_ == {"seconds": 0.0, "stopped": "noise floor", "generations": 0, "spent": 0.0}
    assert [float(e) for _, e in engine.equations_] == [pytest.approx(0.3, abs=2e-3)]
    engine = make_engine("operon", time_budget=1, max_length=10, operators="arithmetic", seed=0, threads=1)
    engine.fit(X, y, variable_names=["x"], noise_variance=0.0)  # no noise declared: searched
    assert engine.stats_["generations"] > 0


def test_search_gives_the_engine_its_stop_floor_and_keeps_the_noise_for_selection():
    seen = []

    class Stub:
        def __init__(self, **kwargs):
            pass

        def fit(self, X, y, *, variable_names, noise_variance=0.0):
            seen.append(noise_variance)
            self.equations_ = [("x", sp.Symbol("x", real=True))]
            return self

    X = np.linspace(1, 2, 50)[:, None]
    search(Stub, X, 2 * X[:, 0], variable_names=["x"], noise_variance=1e-3)
    search(Stub, X, 2 * X[:, 0], variable_names=["x"], stop_floor=1e-4)
    assert seen == [1e-3, 1e-4]


def test_operon_reports_the_share_of_its_budget_it_spent():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, size=(300, 2))
    y = X[:, 0] * X[:, 1]  # found at once: the run stops at its floor, well before its budget
    engine = make_engine("operon", time_budget=5, max_length=10, operators="arithmetic", seed=0, threads=1)
    engine.fit(X, y, variable_names=["a", "b"])
    assert engine.stats_["stopped"] is not None and 0 < engine.stats_["spent"] < 0.5
    full = make_engine("operon", time_budget=0.5, max_length=10, operators="arithmetic", seed=0, threads=1, patience=0)
    full.fit(X, np.sin(X[:, 0]) * np.exp(X[:, 1]), variable_names=["a", "b"])
    assert full.stats_["spent"] == 1.0

"""The pyoperon engine (default): multi-objective GP (accuracy vs length), Pareto front as SymPy.

Budget and determinism.  Operon stops at whichever comes first of a number of
evaluations and a wall-clock limit.  A wall-clock stop depends on the machine
and its load, so the engine sets both: ``max_evaluations = time_budget *
threads / (evaluation_seconds + rows * row_seconds)`` (the deterministic
budget: same data, seed and settings, threads included, give the same front on
any machine under any load) and ``max_time = TIME_LIMIT_FACTOR * time_budget``
(a backstop).  The rate is calibrated so that the evaluation budget binds within
``time_budget`` on a 2-core x86-64 machine with one search per core (it did on 47
of the 50 feynman_dev equations at 60 s); the backstop is three times that,
because a machine under load (a seed ensemble runs two regress stages on two
cores) spends longer on the same evaluations, and a search cut by the clock
would give other equations there.  Where the backstop binds all the same the
engine says so in the log, since the result then depends on the machine's speed
and load.

Stopping when done.  With ``patience`` set, the engine also stops as soon as
its front is done (:class:`symreg.stopping.FrontStop`: a candidate at the
target's noise floor that no simpler one has matched for ``patience`` of the
budget, or no improvement for as long; a target already at its floor as a
constant is not searched).  pyoperon's estimator builds and
runs its algorithm inside ``fit`` and passes no per-generation callback, so
its module is wrapped (:func:`_watching`) so that the NSGA-II algorithm of each
fit passes that fit's callback, one per thread; ending the evaluation budget stops
the run at the end of that generation.  Counted in evaluations, not seconds: the
result stays deterministic.  Fits may run at once in threads (:mod:`symreg.slots`):
pyoperon releases Python's lock while it evolves, and each fit holds an engine
slot while it runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import sympy as sp

from symreg.base import Engine, round_floats
from symreg.engines import EngineSpec
from symreg.errors import ExpressionError
from symreg.operators import expand_operators
from symreg.parse import parse_expression
from symreg.slots import engine_slot, interrupted
from symreg.stopping import FrontStop, noise_floor

log = logging.getLogger("scinet")

OPERON_OPERATORS = frozenset("add sub mul div sin cos tan asin acos atan exp log sqrt square pow tanh sinh cosh cbrt".split())
"""our operator names that pyoperon knows by the same names"""


def operon_symbols(operators: str) -> str:
    """pyoperon's ``allowed_symbols`` for a list of operator (or operator-set) names."""
    return ",".join(["constant", "variable", *expand_operators(operators, allowed=OPERON_OPERATORS)])


TIME_LIMIT_FACTOR = 3
"""the wall-clock backstop, in units of the time budget the evaluation budget is calibrated to"""


class _Watch:
    """One fit's per-generation callback and the evaluator its algorithm counts evaluations with."""

    def __init__(self, on_generation: Callable[[object, object], bool]):
        self.on_generation = on_generation
        self.evaluator: Any = None


_watches = threading.local()
"""the watch of the fit under way in each thread (pyoperon's estimator builds its algorithm in the calling thread)"""


class _Module:
    """pyoperon's module as its estimator sees it, except that the NSGA-II algorithm of a watched fit reports each
    generation (a fit made outside :func:`_watching` gets pyoperon's own objects)."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name: str):
        return getattr(self._module, name)

    def MultiEvaluator(self, problem):  # noqa: N802 - pyoperon's name
        evaluator = self._module.MultiEvaluator(problem)
        watch = getattr(_watches, "current", None)
        if watch is not None:
            watch.evaluator = evaluator
        return evaluator

    def NSGA2Algorithm(self, *args):  # noqa: N802 - pyoperon's name
        algorithm = self._module.NSGA2Algorithm(*args)
        watch = getattr(_watches, "current", None)
        return algorithm if watch is None else _Algorithm(algorithm, watch)


class _Algorithm:
    def __init__(self, algorithm, watch: _Watch):
        self._algorithm = algorithm
        self._watch = watch  # bound here, in the fitting thread: the generations may be reported from another

    def __getattr__(self, name: str):
        return getattr(self._algorithm, name)

    def Run(self, rng, report, threads, warm_start):  # noqa: N802 - pyoperon's name
        watch = self._watch

        def each_generation() -> None:
            if watch.on_generation(self._algorithm, watch.evaluator):
                watch.evaluator.Budget = 0  # the run ends after this generation

        return self._algorithm.Run(rng, each_generation, threads, warm_start)


_INSTALL = threading.Lock()


@contextlib.contextmanager
def _watching(on_generation: Callable[[object, object], bool]) -> Iterator[None]:
    """For one ``fit`` in this thread: pyoperon's estimator calls ``on_generation(algorithm, evaluator)`` each
    generation.  pyoperon's estimator finds its module as a global of its own; that global is replaced, once per
    process, by :class:`_Module`, which hands each thread's fit its own watch, so that fits in several threads
    (:mod:`symreg.slots`) never see one another's callbacks."""
    import pyoperon.sklearn as estimator

    with _INSTALL:
        if not isinstance(estimator.op, _Module):
            estimator.op = _Module(estimator.op)
    _watches.current = _Watch(on_generation)
    try:
        yield
    finally:
        _watches.current = None


class OperonEngine(Engine):
    """Run pyoperon's ``SymbolicRegressor`` and return its Pareto front as SymPy expressions.

    After :meth:`fit`, ``equations_`` is a list of ``(raw_string, sympy_expression)``.
    """

    concurrent = True
    """fits may run at once in threads of one process: pyoperon releases Python's lock while it evolves"""
    population_size = 1000
    local_iterations = 5
    """Levenberg-Marquardt steps on every offspring's constants"""
    evaluation_seconds = 20e-6
    row_seconds = 4e-8
    """cost of one evaluation on one thread: a fixed part and a part per row (calibrated on a
    2-core x86-64 machine; on 47 of the 50 feynman_dev equations at 60 s the evaluation budget bound first)"""

    def fit(self, X: np.ndarray, y: np.ndarray, *, variable_names: Sequence[str], noise_variance: float = 0.0) -> OperonEngine:
        from pyoperon.sklearn import SymbolicRegressor

        threads = self.threads or os.cpu_count() or 1
        time_limit = max(1, int(TIME_LIMIT_FACTOR * self.time_budget))
        reg = SymbolicRegressor(
            allowed_symbols=operon_symbols(self.operators),
            objectives=["r2", "length"],
            max_length=self.max_length,
            max_depth=max(10, self.max_length // 2),
            max_time=time_limit,
            generations=10**9,
            max_evaluations=max(1, int(self.time_budget * threads / (self.evaluation_seconds + len(y) * self.row_seconds))),
            population_size=self.population_size,
            optimizer_iterations=self.local_iterations,
            n_threads=threads,
            random_state=self.seed,
        )
        y = np.asarray(y, dtype=float)
        variance = float(np.var(y))
        stop = FrontStop(floor=noise_floor(noise_variance, variance), patience=self.patience)
        if self.patience > 0 and variance <= stop.floor:
            # a constant already fits to the noise, and nothing is simpler: nothing to search
            mean = sp.Float(float(np.mean(y)), 12)
            self.equations_: list[tuple[str, sp.Expr]] = [(str(mean), mean)]
            self.stats_ = {"seconds": 0.0, "stopped": "noise floor", "generations": 0, "spent": 0.0}
            return self

        def on_generation(algorithm, evaluator) -> bool:
            # the objectives are (-r^2, length); with linear scaling the error is (1 - r^2) var(y)
            spent = (evaluator.ResidualEvaluations + evaluator.JacobianEvaluations) / max(evaluator.Budget, 1)
            done = stop.update(((int(i.Genotype.Length), (1 + float(i[0])) * variance) for i in algorithm.BestFront), spent)
            return done or interrupted()  # Ctrl-C while fits run in threads: end now, the search is abandoned

        # each fit in its own thread sees its own callback (with patience 0 the rule never stops); it holds an
        # engine slot while it runs, so that no more engines run at once than the stage has cores (symreg.slots),
        # and its clock starts once it has one
        with engine_slot(), _watching(on_generation):
            start = time.perf_counter()
            reg.fit(np.asarray(X, dtype=float), y)
            elapsed = time.perf_counter() - start
        if self.patience > 0 and stop.generation_ == 0:
            log.warning(
                "pyoperon ran without reporting its generations (a version scinet does not know?): the search spent its whole budget."
            )
        if elapsed >= 0.98 * time_limit:
            log.warning(
                "operon stopped at its wall-clock backstop (%.0f s) before its evaluation budget: "
                "the result depends on this machine's speed and load.",
                elapsed,
            )
        names = list(variable_names)
        # Operon names variables X1..Xn in its strings; we pass our own names.
        self.equations_ = []
        for entry in reg.pareto_front_:
            raw = reg.get_model_string(entry["tree"], 12, names)
            try:
                expr = parse_expression(raw, names, caret_is_power=True)
            except ExpressionError as exc:  # undefined (a division by zero folded into a constant): no model
                log.debug("operon: %s left out (%s)", raw, exc)
                continue
            self.equations_.append((raw, round_floats(expr, 12)))
        if stop.reason_ is not None:
            log.debug(
                "operon stopped at generation %d (%.0f %% of its budget): %s", stop.generation_, 100 * stop.spent_, stop.reason_
            )
        self.stats_ = dict(
            reg.stats_,
            seconds=elapsed,
            stopped=stop.reason_,
            generations=stop.generation_ or reg.stats_.get("generations"),
            spent=min(stop.spent_, 1.0) if stop.reason_ is not None else 1.0,  # the share of the evaluation budget
        )
        return self


ENGINE = EngineSpec(name="operon", make=OperonEngine, operators=OPERON_OPERATORS)
"""the default engine (pyoperon is a dependency): see :mod:`symreg.engines`"""

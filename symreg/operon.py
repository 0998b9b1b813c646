"""The pyoperon engine (default): multi-objective GP (accuracy vs length), Pareto front as SymPy.

Budget and determinism.  Operon stops at whichever comes first of a number of
evaluations and a wall-clock limit.  A wall-clock stop depends on the machine
and its load, so the engine sets both: ``max_evaluations = time_budget *
threads / (evaluation_seconds + rows * row_seconds)`` (the deterministic
budget: same data, seed and settings, threads included, give the same front on
any machine under any load) and ``max_time = time_budget`` (the hard limit).  The rate is
calibrated so that the evaluation budget binds first on a 2-core x86-64
machine (it did on 47 of the 50 feynman_dev equations at 60 s); where the time limit binds instead the
engine says so in the log, since the result then depends on the machine's
speed and load.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

import numpy as np
import sympy as sp

from symreg.base import Engine, round_floats
from symreg.operators import expand_operators
from symreg.parse import parse_expression

log = logging.getLogger("scinet")

OPERON_OPERATORS = frozenset("add sub mul div sin cos tan asin acos atan exp log sqrt square pow tanh sinh cosh cbrt".split())
"""our operator names that pyoperon knows by the same names"""


def operon_symbols(operators: str) -> str:
    """pyoperon's ``allowed_symbols`` for a list of operator (or operator-set) names."""
    return ",".join(["constant", "variable", *expand_operators(operators, allowed=OPERON_OPERATORS)])


class OperonEngine(Engine):
    """Run pyoperon's ``SymbolicRegressor`` and return its Pareto front as SymPy expressions.

    After :meth:`fit`, ``equations_`` is a list of ``(raw_string, sympy_expression)``.
    """

    population_size = 1000
    local_iterations = 5
    """Levenberg-Marquardt steps on every offspring's constants"""
    evaluation_seconds = 20e-6
    row_seconds = 4e-8
    """cost of one evaluation on one thread: a fixed part and a part per row (calibrated on a
    2-core x86-64 machine; on 47 of the 50 feynman_dev equations at 60 s the evaluation budget bound first)"""

    def fit(self, X: np.ndarray, y: np.ndarray, *, variable_names: Sequence[str]) -> OperonEngine:
        from pyoperon.sklearn import SymbolicRegressor

        threads = self.threads or os.cpu_count() or 1
        time_limit = max(1, int(self.time_budget))
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
        start = time.perf_counter()
        reg.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
        elapsed = time.perf_counter() - start
        if elapsed >= 0.98 * time_limit:
            log.warning(
                "operon stopped at its time budget (%.0f s) before its evaluation budget: "
                "the result depends on this machine's speed and load.",
                elapsed,
            )
        names = list(variable_names)
        # Operon names variables X1..Xn in its strings; we pass our own names.
        self.equations_: list[tuple[str, sp.Expr]] = []
        for entry in reg.pareto_front_:
            raw = reg.get_model_string(entry["tree"], 12, names)
            expr = parse_expression(raw, names, caret_is_power=True)
            self.equations_.append((raw, round_floats(expr, 12)))
        self.stats_ = dict(reg.stats_, seconds=elapsed)
        return self

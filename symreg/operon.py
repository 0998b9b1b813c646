"""The pyoperon engine (default): multi-objective GP (accuracy vs length), Pareto front as SymPy."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import sympy as sp

from symreg.base import Engine, round_floats
from symreg.parse import parse_expression

OPERON_SYMBOLS = {
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "div": "div",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "square": "square",
    "pow": "pow",
    "tanh": "tanh",
}


class OperonEngine(Engine):
    """Run pyoperon's ``SymbolicRegressor`` and return its Pareto front as SymPy expressions.

    After :meth:`fit`, ``equations_`` is a list of ``(raw_string, sympy_expression)``.
    """

    def _symbols(self) -> str:
        names = [o.strip() for o in self.operators.split(",") if o.strip()]
        unknown = [o for o in names if o not in OPERON_SYMBOLS]
        if unknown:
            raise ValueError(f"Unknown operators {unknown} for the operon engine. Allowed: {sorted(OPERON_SYMBOLS)}.")
        return ",".join(["constant", "variable", *(OPERON_SYMBOLS[o] for o in names)])

    def fit(self, X: np.ndarray, y: np.ndarray, *, variable_names: Sequence[str]) -> OperonEngine:
        from pyoperon.sklearn import SymbolicRegressor

        threads = self.threads or os.cpu_count() or 1
        reg = SymbolicRegressor(
            allowed_symbols=self._symbols(),
            objectives=["r2", "length"],
            max_length=self.max_length,
            max_time=max(1, int(round(self.time_budget))),
            generations=10**6,
            max_evaluations=10**9,
            population_size=500,
            n_threads=threads,
            random_state=self.seed,
        )
        reg.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
        names = list(variable_names)
        # Operon names variables X1..Xn in its strings; we pass our own names.
        self.equations_: list[tuple[str, sp.Expr]] = []
        for entry in reg.pareto_front_:
            raw = reg.get_model_string(entry["tree"], 12, names)
            expr = parse_expression(raw, names, caret_is_power=True)
            self.equations_.append((raw, round_floats(expr, 6)))
        return self

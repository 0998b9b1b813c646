"""The PySR engine (optional).  ``pysr`` is imported only here, only when chosen.

PySR runs its search in Julia and, on import, installs Julia if it cannot find
one.  Where neither a ``julia`` executable nor an explicit juliapkg setting is
present we fail before importing, naming the cause and the ``operon`` engine.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sympy as sp

from symreg.base import Engine, round_floats
from symreg.engines import EngineSpec
from symreg.errors import BackendError
from symreg.operators import expand_operators
from symreg.parse import parse_expression
from symreg.stopping import noise_floor

# PySR operator names for our operator names.
BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}
UNARY = frozenset("sin cos tan asin acos atan exp log sqrt square tanh".split())
"""our unary operator names that PySR knows by the same names"""


def julia_available() -> bool:
    return bool(shutil.which("julia") or os.environ.get("PYTHON_JULIAPKG_EXE") or os.environ.get("JULIA_BINDIR"))


def check_available() -> None:
    """Raise :class:`BackendError` at once if PySR cannot run here."""
    if importlib.util.find_spec("pysr") is None:
        raise BackendError(
            "The PySR backend needs the `pysr` package, which is not installed. Install it with "
            "`pip install 'scinet[pysr]'` (and Julia), or use the default engine: --set regress.backend=operon."
        )
    if not julia_available():
        raise BackendError(
            "The PySR backend needs Julia, and no `julia` executable was found on PATH (PySR would try to download one "
            "at import, which fails without network access to Julia's servers). Install Julia >= 1.10 and put it on PATH, "
            "or use the default engine: --set regress.backend=operon (or --sr-backend operon)."
        )


def equations_from_pysr(table: pd.DataFrame, variable_names: Sequence[str]) -> list[tuple[str, sp.Expr]]:
    """Read PySR's documented ``equations_`` table (columns ``complexity``, ``loss``, ``score``,
    ``equation``, ``sympy_format``...): parse each ``equation`` string with the whitelist parser.

    PySR writes powers as ``^`` and names variables by ``variable_names`` (or ``x0, x1, ...``).
    """
    missing = {"complexity", "loss", "equation"} - set(table.columns)
    if missing:
        raise BackendError(f"PySR's equations_ table lacks columns {sorted(missing)}; is this PySR output?")
    names = list(variable_names)
    aliases = {f"x{i}": n for i, n in enumerate(names)}
    out = []
    for raw in table["equation"]:
        text = str(raw)
        expr = parse_expression(text, [*names, *aliases], caret_is_power=True)
        expr = expr.xreplace({sp.Symbol(a, real=True): sp.Symbol(n, real=True) for a, n in aliases.items()})
        out.append((text, round_floats(expr, 6)))
    return out


class PySREngine(Engine):
    """Build a ``PySRRegressor`` with settings equivalent to the operon engine and read its ``equations_``.

    As with operon, the budget is an iteration count (deterministic with
    ``deterministic=True`` and serial parallelism) with the time budget as the
    hard limit.  The rate was not measured (Julia cannot run on our machines).
    """

    iterations_per_second = 1.0

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, variable_names: Sequence[str], noise_variance: float = 0.0
    ) -> PySREngine:
        check_available()
        import pysr  # noqa: PLC0415  (only here: importing pysr may install Julia)

        names = expand_operators(self.operators, allowed=[*BINARY, *UNARY])
        model = pysr.PySRRegressor(
            binary_operators=[BINARY[o] for o in names if o in BINARY],
            unary_operators=[o for o in names if o in UNARY],
            maxsize=self.max_length,
            timeout_in_seconds=self.time_budget,
            niterations=max(1, int(self.time_budget * self.iterations_per_second)),
            random_state=self.seed,
            deterministic=True,
            parallelism="serial",
            model_selection="best",
            # with patience set, stop once a candidate fits to the noise floor (PySR has no stall rule)
            early_stop_condition=noise_floor(noise_variance, float(np.var(y))) if self.patience > 0 else None,
            progress=False,
            verbosity=0,
        )
        model.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float), variable_names=list(variable_names))
        self.equations_ = equations_from_pysr(model.equations_, variable_names)
        return self


ENGINE = EngineSpec(
    name="pysr",
    make=PySREngine,
    operators=frozenset(BINARY) | UNARY,
    extra="pip install 'scinet[pysr]', and Julia >= 1.10 on PATH",
    check=check_available,
)
"""PySR (Julia): imported only when chosen, see :mod:`symreg.engines`"""

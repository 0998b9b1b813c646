"""The symbolic-regression layer as an sklearn estimator, for any data: ``fit(X, y, units=...)``, ``predict``,
``equations_`` (PySR's columns), ``sympy()`` and ``latex()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.errors import ConfigError


class SymbolicRegressor(RegressorMixin, BaseEstimator):
    """A closed-form law ``y = f(X)``, found by the search ``scinet regress`` uses (:func:`symreg.search.search`:
    Operon's genetic programming, constants refitted and recognised, dimensional analysis where units are
    given, and a test for separability of the closest fit).

    Parameters
    ----------
    time_budget : float
        Seconds for the whole search (an upper bound: it stops earlier once no simpler equation can fit better).
    operators : str
        An operator set (``physics``, ``arithmetic``, ...) or a comma-separated list.
    noise_variance : float
        The target's known noise variance, if any: the search does not fit closer than it.
    separate : bool
        Test the closest fit for translation symmetry and separability, and search the parts on their own.
    seed : int
        The engine's random seed; the same seed and data give the same equations on one machine.
    threads : int or None
        Engine threads (None: every core).
    backend : str
        ``operon`` (the default) or ``pysr`` (needs Julia).

    Attributes
    ----------
    equations_ : pandas.DataFrame
        The Pareto front: ``complexity``, ``loss`` (held-out), ``score``, ``equation``, ``sympy_format``,
        ``latex`` and ``selected`` (the one chosen), as PySR's ``equations_``.
    feature_names_in_ : numpy.ndarray
        The variables' names (a DataFrame's columns, or ``variable_names``, or ``x0``, ``x1``, ...).
    """

    def __init__(
        self,
        *,
        time_budget: float = 60.0,
        operators: str = "physics",
        noise_variance: float = 0.0,
        separate: bool = True,
        seed: int = 0,
        threads: int | None = None,
        backend: str = "operon",
    ):
        self.time_budget = time_budget
        self.operators = operators
        self.noise_variance = noise_variance
        self.separate = separate
        self.seed = seed
        self.threads = threads
        self.backend = backend

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        variable_names: Sequence[str] | None = None,
        units: Mapping[str, str] | None = None,
        target_unit: str | None = None,
    ) -> SymbolicRegressor:
        """Search ``y`` as a closed form of the columns of ``X``.

        ``units``: each variable's unit in pint's notation (``{"m": "kg", "v": "m/s"}``); with ``target_unit``
        as well, dimensionally consistent equations are preferred and searched over dimensionless groups.
        """
        import os

        from symreg.engines import make_engine
        from symreg.search import search

        names = self._names(X, variable_names)
        X, y = self._arrays(X, y, len(names))
        if units is not None:
            missing = [n for n in names if n not in units]
            if missing:
                raise ConfigError(f'units gives no unit for {missing}: give every variable\'s ("1" for a pure number).')
        if target_unit is not None and units is None:
            raise ConfigError("target_unit needs the inputs' units too: give units={name: unit, ...}.")
        engine = partial(
            make_engine, self.backend, operators=self.operators, seed=self.seed, threads=self.threads or os.cpu_count() or 1
        )
        dimensions: dict[str, Any] = (
            {} if units is None else {"units": dict(units), **({} if target_unit is None else {"target_unit": target_unit})}
        )
        self.equations_ = search(
            engine,
            X,
            y,
            variable_names=names,
            noise_variance=self.noise_variance,
            time_budget=self.time_budget,
            separate=self.separate,
            seed=self.seed,
            **dimensions,
        ).reset_index(drop=True)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        return self

    def sympy(self, index: int | None = None) -> sp.Expr:
        """The selected equation (or the front's row ``index``) as a SymPy expression over real symbols."""
        from symreg.parse import parse_expression

        check_is_fitted(self, "equations_")
        row = self.equations_[self.equations_["selected"]].iloc[0] if index is None else self.equations_.iloc[index]
        return parse_expression(row["sympy_format"], list(self.feature_names_in_))

    def latex(self, index: int | None = None) -> str:
        """The selected equation (or row ``index``) in LaTeX."""
        return sp.latex(self.sympy(index))

    def predict(self, X: Any, index: int | None = None) -> np.ndarray:
        """The selected equation (or row ``index``) evaluated on the rows of ``X`` (NaN where it is undefined)."""
        check_is_fitted(self, "equations_")
        names = list(self.feature_names_in_)
        if isinstance(X, pd.DataFrame):
            missing = [n for n in names if n not in X]
            if missing:
                raise ConfigError(f"X lacks the columns {missing} the equation was fitted on.")
            X = X[names]
        X, _ = self._arrays(X, None, len(names))
        symbols = [sp.Symbol(n, real=True) for n in names]
        f = sp.lambdify(symbols, self.sympy(index), modules="numpy")
        with np.errstate(all="ignore"):
            out = np.asarray(f(*X.T), dtype=float)
        return np.broadcast_to(out, (len(X),)).copy()

    @staticmethod
    def _names(X: Any, given: Sequence[str] | None) -> list[str]:
        if given is not None:
            names = [str(n) for n in given]
        elif isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
        else:
            names = [f"x{i}" for i in range(np.shape(X)[1] if np.ndim(X) == 2 else 0)]
        bad = [n for n in names if not n.isidentifier() or n in ("pi", "E")]
        if bad or len(set(names)) != len(names):
            raise ConfigError(
                f"Variable names must be distinct Python identifiers other than pi and E. Received: {bad or names}. "
                "Rename the columns, or give variable_names=[...]."
            )
        return names

    @staticmethod
    def _arrays(X: Any, y: Any, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        try:
            X = np.asarray(X, dtype=float)
            y = None if y is None else np.asarray(y, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"X and y must hold numbers ({exc}).") from exc
        if X.ndim != 2 or X.shape[1] != width or X.shape[1] == 0:
            raise ConfigError(
                f"X must be a table of {width or 'at least one'} columns, one row per sample. Received shape {X.shape}."
            )
        if y is not None:
            if len(y) != len(X):
                raise ConfigError(f"X has {len(X)} rows and y {len(y)}: give one target value per row.")
            if len(y) < 10:
                raise ConfigError(f"{len(y)} rows are too few to find a law: give at least 10 (hundreds are better).")
            if not (np.isfinite(X).all() and np.isfinite(y).all()):
                raise ConfigError("X or y holds NaN or infinite values: drop those rows first.")
        return X, y

"""Engine-independent parts of symbolic regression: fronts, scores, model selection.

A front is a table in the schema of PySR's ``equations_`` (``complexity``,
``loss``, ``score``, ``equation``, ``sympy_format``) plus ``latex`` and
``selected``.  ``complexity`` counts the nodes of the SymPy expression tree,
``loss`` is the mean squared error on held-out rows (for angles, of the
difference wrapped to (-pi, pi]), ``score`` is PySR's
``-d log(loss) / d complexity`` between neighbours on the front, and the selected
equation follows PySR's ``"best"`` rule: the highest score among the equations
whose loss is at most 1.5 times the lowest loss; where the target's noise
variance is given and some equations reach it, the simplest of those.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sympy as sp

from symreg.stopping import PATIENCE

FRONT_COLUMNS = ["complexity", "loss", "score", "equation", "sympy_format", "latex", "selected"]
FRONT_TYPES = {"complexity": "integer", "loss": "floating", "score": "floating", "equation": "string",
               "sympy_format": "string", "latex": "string", "selected": "boolean"}  # fmt: skip
"""the kind of values each column of a front holds (pandas' ``infer_dtype``)"""
LOSS_FLOOR = 1e-30


log = logging.getLogger("scinet")


def complexity(expr: sp.Expr) -> int:
    """Number of nodes in the expression tree (every symbol, number and operation counts 1)."""
    return sum(1 for _ in sp.preorder_traversal(expr))


def _artifact(f: sp.Float) -> sp.Rational | None:
    """The simple fraction (denominator at most 1000) a float equals to double precision, or None: such a float
    comes from exact arithmetic (``1.0 * 4/3``), a fitted number does not land on one."""
    r = sp.Rational(float(f)).limit_denominator(1000)
    return r if abs(float(r) - float(f)) <= 1e-14 * max(1.0, abs(float(f))) else None


def fitted_coefficients(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every product of numbers that holds a fitted one (a float) written as one float: a fitted
    number times an exact one (``0.0857 pi``, ``sqrt(2) 1.3``) is no more exact than their product, and printing
    the exact factor would invent it."""

    def collapse(e: sp.Expr) -> sp.Expr:
        numbers = [a for a in e.args if a.is_number]
        if len(numbers) < 2 or not any(a.atoms(sp.Float) for a in numbers):
            return e
        exact = {a: _artifact(a) for a in numbers if a.is_Float}
        if all(r is not None for r in exact.values()):  # 1.0, 1.3333333333333333: SymPy's arithmetic, not a fit
            return sp.Mul(*(exact.get(a, a) for a in e.args))
        value = sp.Mul(*numbers).evalf(15)
        if not value.is_real:
            return e
        return sp.Mul(sp.Float(value, 15), *(a for a in e.args if not a.is_number))

    return expr.replace(lambda e: isinstance(e, sp.Mul), collapse)


def round_floats(expr: sp.Expr, digits: int = 6) -> sp.Expr:
    """Round every floating-point constant to ``digits`` significant digits (a product of a fitted number and
    exact ones first made one number, :func:`fitted_coefficients`)."""
    expr = fitted_coefficients(expr)
    repl = {f: sp.Float(float(f"{float(f):.{digits}g}"), 15) for f in expr.atoms(sp.Float)}
    return expr.xreplace(repl)


def without_abs(expr: sp.Expr, variables: Sequence[sp.Symbol], X: np.ndarray) -> sp.Expr:
    """``expr`` with every ``Abs(u)`` whose argument keeps one sign on the rows ``X`` written as ``u`` or ``-u``:
    SymPy turns ``sqrt(b^2)`` into ``Abs(b)`` for a real ``b``, and a damping constant that is positive
    in every sample is ``b``, as a physicist writes it."""
    swap = {}
    for node in expr.atoms(sp.Abs):
        u = evaluate(node.args[0], variables, X)
        if np.all(np.isfinite(u)) and np.all(u > 0):
            swap[node] = node.args[0]
        elif np.all(np.isfinite(u)) and np.all(u < 0):
            swap[node] = -node.args[0]
    return expr.xreplace(swap) if swap else expr


def evaluate(expr: sp.Expr, variables: Sequence[sp.Symbol], X: np.ndarray) -> np.ndarray:
    """Evaluate ``expr`` on the columns of ``X`` (NaN where undefined).

    An expression that cannot be evaluated at all (an overflow in an exact power, a function NumPy
    lacks, a recursion too deep) is undefined everywhere: all NaN, so its loss is infinite and it
    leaves the front; the reason is logged."""
    try:
        func = sp.lambdify(list(variables), expr, modules="numpy")
        with np.errstate(all="ignore"):  # an inf or a NaN where undefined: counted below, not warned of
            out = func(*[X[:, i] for i in range(X.shape[1])])
            out = np.asarray(out, dtype=complex) * np.ones(len(X))
    except (ArithmeticError, TypeError, ValueError, AttributeError, NameError, RecursionError, MemoryError) as exc:
        log.debug("an expression could not be evaluated (%s): it counts as undefined", type(exc).__name__)
        return np.full(len(X), np.nan)
    return np.where(np.abs(out.imag) > 1e-9, np.nan, out.real)


def wrap(angle: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * angle))


def loss(pred: np.ndarray, y: np.ndarray, *, circular: bool) -> float:
    """Mean squared error (of the wrapped difference for angles); inf where the prediction is undefined."""
    if not np.isfinite(pred).all():
        return math.inf
    diff = wrap(pred - y) if circular else pred - y
    return float(np.mean(diff**2))


def pareto_front(candidates: pd.DataFrame, *, noise_variance: float = 0.0) -> pd.DataFrame:
    """Keep, for increasing complexity, only equations that lower the loss; add score and selection."""
    finite = candidates[np.isfinite(candidates["loss"])].sort_values(["complexity", "loss"])
    rows, best = [], math.inf
    for _, row in finite.iterrows():
        if row["loss"] < best * (1 - 1e-9):
            rows.append(row)
            best = row["loss"]
    front = pd.DataFrame(rows).reset_index(drop=True) if rows else finite.iloc[:0].copy()
    if front.empty:
        front["score"] = pd.Series(dtype=float)
        front["selected"] = pd.Series(dtype=bool)
        return front
    logl = np.log(np.maximum(front["loss"].to_numpy(dtype=float), LOSS_FLOOR))
    cx = front["complexity"].to_numpy(dtype=float)
    score = np.zeros(len(front))
    score[1:] = -np.diff(logl) / np.maximum(np.diff(cx), 1.0)
    front["score"] = score
    front["selected"] = False
    front.loc[select_best(front, noise_variance=noise_variance), "selected"] = True
    return front


def select_best(front: pd.DataFrame, *, noise_variance: float = 0.0) -> int:
    """PySR's 'best': highest score among equations with loss <= 1.5 x the lowest loss.

    Where the target has a known noise variance (for a latent: the mean posterior
    variance sigma^2 the network itself gives it) and some equations fit to it
    (loss <= noise_variance), the simplest of those is selected instead: fitting a
    target more closely than its own noise earns an equation nothing.
    """
    if noise_variance > 0:
        at_noise = front[front["loss"] <= noise_variance]
        if not at_noise.empty:
            return int(at_noise["complexity"].idxmin())
    threshold = 1.5 * max(front["loss"].min(), LOSS_FLOOR)
    eligible = front[front["loss"] <= threshold]
    return int(eligible["score"].idxmax())


def describe(expr: sp.Expr, raw: str) -> dict[str, object]:
    """One front row: the engine's own string (``equation``, as PySR), the simplified SymPy
    expression as a string (``sympy_format``, read back with :func:`symreg.parse.parse_expression`),
    its LaTeX and its complexity."""
    return {"equation": raw, "sympy_format": str(expr), "latex": sp.latex(expr), "complexity": complexity(expr)}


class Engine:
    """Settings shared by every engine (scikit-learn style: ``__init__`` only stores them).

    ``fit(X, y, *, variable_names, noise_variance=0.0)`` fills ``equations_``, a list of
    ``(engine_string, sympy_expression)`` along the engine's Pareto front.  ``patience``
    (a share of the budget; 0: off) lets the engine stop before its budget once its front is done
    (:mod:`symreg.stopping`); ``noise_variance``, the target's known noise, sets the floor.
    """

    concurrent: bool = False
    """True where fits may run at once in threads of one process, each holding an engine slot
    (:func:`symreg.slots.engine_slot`); an engine that does not say so runs one fit at a time"""

    def __init__(
        self,
        *,
        time_budget: float = 8.0,
        max_length: int = 30,
        operators: str = "add,sub,mul,div",
        seed: int = 0,
        threads: int = 0,
        patience: float = PATIENCE,
    ):
        self.time_budget = time_budget
        self.max_length = max_length
        self.operators = operators
        self.seed = seed
        self.threads = threads
        self.patience = patience

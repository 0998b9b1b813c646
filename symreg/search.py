"""One target, one variable set: engine search, target transforms, angles on the circle.

For a target that is an angle, a 2 pi jump is no error.  A real-valued engine
cannot see that, so the angle is first written relative to an *anchor*: the
input angle ``a`` and sign ``s`` with the largest circular correlation
``|mean exp(i (z - s a))|``, with the mean offset ``c``.  What is left,
``r = wrap(z - s a - c)``, is a continuous function of the inputs, and the engine
fits it.  Besides ``r`` itself the engine also fits ``sin r`` (a transformed
target, as AI Feynman transforms ``y``): an angle given by an inverse sine,
such as a law-of-sines angle, becomes a plain sum of sines.  Each plain
candidate ``f`` is also tried as ``asin(f)`` with its constants refitted:
near its centre an arcsine is its argument, so a plain fit often returns the
argument of an inverse sine the transformed search missed.  Both fronts are
turned into expressions for ``z`` (``s a + c + f`` and ``s a + c + asin(g)``),
scored on held-out rows by the circular loss and merged into one front.  An
equation that is no function on the circle of an input angle (``0.96 a +
tanh(sin(0.14 a))``: turning ``a`` by 2 pi moves it by more than its own RMS
error) leaves the front: the data never cross the seam, so such an equation
can fit them, but no physical law of an angle jumps there.

A target of one sign may also be searched as its square (``square=True``):
``y = sqrt(g)`` (or ``-sqrt(g)``), where ``g`` is what the engine finds for
``y^2``.  Physics gives many rates and frequencies as square roots of simple
expressions (a damped oscillator's ``sqrt(kappa - b^2/4)``); the engine finds
the polynomial under the root in a few generations, while the root itself is
a needle it often misses, returning a first-order expansion with more fitted
constants.  The candidates join the same front and are judged like every other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp

from symreg.base import describe, evaluate, loss, pareto_front, round_floats, wrap
from symreg.errors import ExpressionError
from symreg.group_forms import group_forms
from symreg.parse import parse_expression
from symreg.polish import RefitBudget, integer_frequencies, recognise_constants, refit_constants
from symreg.powerlaw import power_law
from symreg.separable import TOLERANCE_FACTOR, separable_candidates, translations
from symreg.slots import run_all
from symreg.units import Dimension, as_dimension, combine, dimension_of, dimensionless_groups, prefactors

ALGEBRA_SHARE = 0.2
"""share of a search's time budget kept for constant recognition and selection"""
MAX_PREFACTORS = 3
"""simplest prefactors under which the families of one group are tried"""
MIN_STRUCTURE_SECONDS = 2.0
"""the least budget the search for structure (``separate``) is run with"""
REFIT_SECONDS = 0.02
"""what one refit and its held-out evaluation take, to turn that share into a number of refits
(10 to 40 ms measured on this project's 2-core development machine)"""


@dataclass(frozen=True)
class Anchor:
    variable: str
    sign: int
    offset: float
    correlation: float


def circular_correlation(z: np.ndarray, phi: np.ndarray) -> tuple[float, int, float]:
    """``max_s |mean exp(i (z - s phi))|`` with the best sign ``s`` and the mean offset ``arg mean exp(i(z - s phi))``."""
    best = (-1.0, 1, 0.0)
    for s in (1, -1):
        m = np.mean(np.exp(1j * (z - s * phi)))
        if abs(m) > best[0]:
            best = (float(abs(m)), s, float(np.angle(m)))
    return best


def find_anchor(X: np.ndarray, y: np.ndarray, names: Sequence[str], angle_names: Sequence[str]) -> Anchor | None:
    best: Anchor | None = None
    for j, name in enumerate(names):
        if name not in angle_names:
            continue
        corr, sign, offset = circular_correlation(y, X[:, j])
        if best is None or corr > best.correlation:
            best = Anchor(name, sign, offset, corr)
    return best


def _steadiest(options: list[list], X: np.ndarray, y: np.ndarray) -> list | None:
    """Of equally simple prefactors (``m c^2`` or ``m v^2`` for ``m c^2/sqrt(1 - v^2/c^2)``), the one
    that leaves the least for the groups to explain: the smallest spread of ``log |y / P|``."""
    if len(options) <= 1:
        return options[0] if options else None

    def spread(p) -> float:
        with np.errstate(all="ignore"):
            pre = np.prod([X[:, i] ** float(e) for i, e in enumerate(p) if e != 0], axis=0) * np.ones(len(y))
            r = np.log(np.abs(y / pre))
        r = r[np.isfinite(r)]
        return float(np.var(r)) if len(r) > 1 else np.inf

    return min(options, key=spread)


def dimensionless_problem(X: np.ndarray, y: np.ndarray, names: Sequence[str], dims, target_dim, *, prefactor=None):
    """Buckingham pi: ``y = P(x) f(pi_1, ..., pi_k)`` with ``P`` a product of powers of the inputs of
    the target's dimension (``P = 1`` where the target's dimension is unknown, ``target_dim`` None:
    a latent neuron, whose scale is the network's own) and ``pi_j`` dimensionless products of the inputs
    (:func:`symreg.units.prefactors`, the steadiest of the simplest, and
    :func:`symreg.units.dimensionless_groups`), each group of several inputs
    oriented so that its median magnitude on the data is at most 1: small parameters (``v/c``,
    ``hbar omega/(k T)`` where it is small) are the ones laws are written in.  A dimensionless input
    on its own (an angle) keeps its orientation.

    ``prefactor`` (an exponent vector, one of :func:`symreg.units.prefactors`) chooses ``P`` instead.

    Returns ``(groups, y / P, group names, back)``, ``back`` turning an expression in the groups into
    one for ``y`` in the inputs; or None where there is nothing to gain (no prefactor, or every input
    and the target already dimensionless) or the transformed data are not finite.
    """
    options = prefactors(list(dims), target_dim) if target_dim is not None else [[0] * len(names)]
    p = _steadiest(options, X, y) if prefactor is None else prefactor
    groups = dimensionless_groups(list(dims))
    if p is None or (all(e == 0 for e in p) and len(groups) == len(names) and all(sum(map(abs, g)) == 1 for g in groups)):
        return None
    with np.errstate(all="ignore"):
        values = [np.prod([X[:, i] ** float(e) for i, e in enumerate(vec) if e], axis=0) for vec in groups]
        # a group is oriented so that it is typically at most 1 (v/c, not c/v); a dimensionless input on its
        # own (an angle, a count) keeps the orientation the law is written in (cos(theta), not cos(1/pi_1))
        flip = [
            bool(np.median(np.abs(v)) > 1) and sorted(map(abs, vec)) != [0] * (len(vec) - 1) + [1]
            for v, vec in zip(values, groups, strict=True)
        ]
        groups = [[-e for e in vec] if f else vec for vec, f in zip(groups, flip, strict=True)]
        values = [1 / v if f else v for v, f in zip(values, flip, strict=True)]
    symbols = [sp.Symbol(n, real=True) for n in names]
    pre_expr = sp.Mul(*[s**e for s, e in zip(symbols, p, strict=True) if e != 0])
    group_names = [f"pi_{k}" for k in range(len(groups))]
    group_exprs = {
        sp.Symbol(g, real=True): sp.Mul(*[s**e for s, e in zip(symbols, vec, strict=True) if e])
        for g, vec in zip(group_names, groups, strict=True)
    }
    with np.errstate(all="ignore"):
        pre = (
            np.prod([X[:, i] ** float(e) for i, e in enumerate(p) if e != 0], axis=0)
            if any(e != 0 for e in p)
            else np.ones(len(y))
        )
        G = np.column_stack(values) if groups else np.zeros((len(y), 0))
        y_scaled = y / pre
    if G.shape[1] == 0 or not (np.isfinite(G).all() and np.isfinite(y_scaled).all()):
        return None

    def back(expr: sp.Expr) -> sp.Expr:
        return pre_expr * expr.xreplace(group_exprs)

    return G, y_scaled, group_names, back


def search(
    make_engine: Callable[..., Any],
    X: np.ndarray,
    y: np.ndarray,
    *,
    variable_names: Sequence[str],
    angle_names: Sequence[str] = (),
    circular: bool = False,
    validation_fraction: float = 0.3,
    noise_variance: float = 0.0,
    stop_floor: float | None = None,
    named_constants: Mapping[str, float] | None = None,
    rtol: float = 0.1,
    engine_rows: int | None = 1000,
    time_budget: float | None = None,
    units: Mapping[str, object] | None = None,
    target_unit: object | None = None,
    scale: str = "physical",
    square: bool = False,
    separate: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Pareto front (see :mod:`symreg.base`) for ``y`` as a function of the columns of ``X``.

    ``noise_variance`` is the target's known noise: the engines stop at it (:mod:`symreg.stopping`),
    and the polish and the selection do not fit closer than it.  ``stop_floor``, where given, is the
    noise the engines stop at instead, for a target whose equations are wanted exact but whose noise
    is known (a curve of a family, whose constants are refitted afterwards).

    ``units`` (variable name -> unit string in pint's notation, or exponents ``{"[length]": 1}``)
    turn on dimensional analysis (:func:`dimensionless_problem`): one more engine run
    searches the target over its dimensional prefactor as a function of dimensionless groups
    of the inputs.  With ``target_unit`` as well, the selection prefers dimensionally homogeneous
    equations (those whose dimension, numbers taken as dimensionless, is the target's) when one
    of them fits within 1.5 times the lowest held-out loss, and the families of one group
    (:mod:`symreg.group_forms`: ``1/(exp(x) + 1)``, ``(1 + a x^2)^p``, ``atan(a x)``, ...) are fitted
    whole to each group and join the candidates.  Without it (a latent neuron: its
    unit is whatever scale the network chose) the extra run searches the target as a function of
    the groups alone, and no candidate is filtered: a fitted constant may carry any unit.

    ``square``: a target of one sign is also searched as its square (see the module's text).

    ``separate``: the closest equation found is tested for multiplicative and additive separability
    (:mod:`symreg.separable`), and where it splits, each part is searched on its own variables (a
    search like this one, its target the closest equation with the other variables held fixed); the
    recombined equations join the candidates.  With ``time_budget``, it has one engine run's share of the
    budget, and what the engine runs before it left of theirs (an engine that stops when done,
    :mod:`symreg.stopping`, reports the share of its evaluations it spent, so this is as deterministic as
    the budget).
    It assumes the variables vary independently over their ranges (the mixed points it evaluates
    the closest equation at are then points of the data's domain), as in a benchmark or a designed
    experiment; it is off for the system's latents.

    ``scale`` says which constants physics fixes (:data:`symreg.polish.SCALES`): for a latent
    neuron, whose scale and offset are the network's own, ``"free"`` (a real neuron) or
    ``"offset"`` (a circle neuron) keeps them as fitted numbers, never ``4/3 pi``.

    Rows are split at random (``seed``) into fitting rows and ``validation_fraction``
    held-out rows.  The engine and the constant refits see only the fitting rows
    (the engine at most ``engine_rows`` of them: its cost grows with the rows,
    and the refits use them all); the losses on the front, the acceptance of
    exact constants (``rtol``, see :mod:`symreg.polish`) and the model selection
    use only the held-out rows.

    ``time_budget``, where given, bounds the whole search: the engine runs (one
    per target transform) share ``1 - ALGEBRA_SHARE`` of it equally, and the
    constant recognition has the rest, counted in refits (``REFIT_SECONDS``
    each) rather than read off a clock, so that the same seed gives the same
    equations on any machine and under any load (the front's equations are
    polished best first, the first one always to the end; those the refits do
    not reach keep their fitted constants).
    Without it each run has the budget ``make_engine`` gives it and the algebra
    runs to its end.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_val = max(1, int(validation_fraction * len(y)))
    val, fit = order[:n_val], order[n_val:]
    search_rows = fit[:engine_rows] if engine_rows else fit
    symbols = [sp.Symbol(n, real=True) for n in variable_names]
    anchor = find_anchor(X, y, variable_names, angle_names) if circular else None
    base, target, transforms = _transforms(X, y, variable_names, anchor, circular=circular, square=square)

    candidates: list[tuple[sp.Expr, str, str]] = []
    if circular:  # the anchor alone (s a + c, or the mean angle) is the simplest candidate
        candidates.append((base, str(base), "anchor"))
    else:
        law = power_law(X[fit], y[fit], symbols)
        if law is not None:
            candidates.append((law, str(law), "power law"))
    dims: dict[str, Dimension] = {}
    target_dim: Dimension | None = None
    problem = None
    if units is not None and not circular:
        dims = {n: as_dimension(units.get(n, "1")) for n in variable_names}
        target_dim = as_dimension(target_unit) if target_unit is not None else None
        problem = dimensionless_problem(X, y, variable_names, [dims[n] for n in variable_names], target_dim)
    separate = separate and not circular and X.shape[1] >= 2
    runs = 1 + (problem is not None) + separate  # the structure search has one engine run's share, and ...
    budget = {} if time_budget is None else {"time_budget": (1 - ALGEBRA_SHARE) * time_budget / (len(transforms) + runs - 1)}
    engine_noise = noise_variance if stop_floor is None else stop_floor
    # the engine runs are independent: one per target transform, and the dimensionless problem's; they run at once
    # where the stage shares engine slots (symreg.slots), and their equations join in this order either way
    engine_runs = _transform_runs(X, target, search_rows, transforms, variable_names, engine_noise)
    if problem is not None:
        G, y_scaled, group_names, back = problem
        # the noise is known in the target's own scale: without a prefactor (P = 1), that is the groups' target's
        engine_runs.append((G[search_rows], y_scaled[search_rows], group_names, 0.0 if target_dim is not None else engine_noise))
    engines = _fit_all(make_engine, budget, engine_runs)
    found, plain = _engine_candidates(engines[: len(transforms)], transforms, base)
    unused = 0.0
    for engine in engines:  # added in this order, as before (separable search's share of the budget)
        unused += _spare(engine, budget)
    candidates += found
    if circular:
        candidates += _arcsine_candidates(plain, base, symbols, X[fit], y[fit])
    if problem is not None:
        candidates += [(back(g), raw, "dimensionless") for raw, g in engines[-1].equations_]
    if target_dim is not None:
        candidates += _group_form_candidates(X, y, search_rows, variable_names, dims, target_dim, problem is not None)

    numbers = {sp.Symbol(n, positive=True): sp.Float(v, 15) for n, v in (named_constants or {}).items()}
    row = partial(_row, symbols=symbols, X=X[val], y=y[val], circular=circular, numbers=numbers)
    rows = [row(*c) for c in candidates]
    if separate:
        again = partial(
            search, make_engine, validation_fraction=validation_fraction, rtol=rtol, engine_rows=engine_rows, seed=seed
        )
        closest = min(rows, key=lambda r: float(r["loss"]))["expr"].xreplace(numbers)
        share = None if time_budget is None else budget["time_budget"] + unused
        for expr, kind in structure_candidates(
            again, closest, X[fit], y[fit], X[val], y[val], variable_names, units, target_dim, share
        ):
            rows.append(row(expr, str(expr), kind))
    raw_front = pareto_front(pd.DataFrame(rows).drop_duplicates("sympy_format"), noise_variance=noise_variance)
    refit_budget = None if time_budget is None else RefitBudget(int(ALGEBRA_SHARE * time_budget / REFIT_SECONDS))
    table = _polished(
        raw_front, row, symbols, X, y, fit, val,
        circular=circular, noise_variance=noise_variance, rtol=rtol, named=named_constants, budget=refit_budget, scale=scale,
    )  # fmt: skip
    if circular:
        table = _on_the_circle(table, row, symbols, X[fit], y[fit], X[val], [n for n in variable_names if n in angle_names], rtol)
    if target_dim is not None:
        table = _prefer_homogeneous(table, dims, target_dim)
    front = pareto_front(table, noise_variance=noise_variance)
    front = front.drop(columns="expr")
    if anchor is not None:
        front["anchor"] = f"{'+' if anchor.sign > 0 else '-'}{anchor.variable}"
    return front


Transform = tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[sp.Expr], sp.Expr]]
"""a target transform: its name, the map applied to the target, and the map back from an equation for it"""


def _transforms(
    X: np.ndarray, y: np.ndarray, names: Sequence[str], anchor: Anchor | None, *, circular: bool, square: bool
) -> tuple[sp.Expr, np.ndarray, list[Transform]]:
    """``(base, target, transforms)``: what the engines fit (the angle relative to its anchor, or ``y`` itself) and
    the expression it is relative to, with the target transforms tried (see the module's text)."""
    base: sp.Expr = sp.Integer(0)
    target = y
    transforms: list[Transform] = [("identity", lambda r: r, lambda g: g)]
    if circular:
        if anchor is not None:
            base = anchor.sign * sp.Symbol(anchor.variable, real=True) + sp.Float(anchor.offset, 15)
            target = wrap(y - anchor.sign * X[:, list(names).index(anchor.variable)] - anchor.offset)
        else:
            mean = float(np.angle(np.mean(np.exp(1j * y))))
            base = sp.Float(mean, 15)
            target = wrap(y - mean)
        transforms.append(("sine", np.sin, sp.asin))
    elif square and (np.all(y > 0) or np.all(y < 0)):
        sign = 1 if y[0] > 0 else -1

        def root(g: sp.Expr, sign: int = sign) -> sp.Expr:
            return sign * sp.sqrt(g)

        transforms.append(("square", np.square, root))
    return base, target, transforms


def _spare(engine: Any, budget: Mapping[str, float]) -> float:
    """The seconds of its budget an engine that stopped when done did not spend (counted in evaluations)."""
    return (1 - float(getattr(engine, "stats_", {}).get("spent", 1.0))) * budget.get("time_budget", 0.0)


EngineRun = tuple[np.ndarray, np.ndarray, Sequence[str], float]
"""one engine run's rows, target, variable names and noise variance"""


def _transform_runs(
    X: np.ndarray, target: np.ndarray, rows: np.ndarray, transforms: list[Transform], names: Sequence[str], noise: float
) -> list[EngineRun]:
    """One engine run per target transform, on the engine's ``rows``."""
    runs: list[EngineRun] = []
    for name, forward, _ in transforms:
        # the noise of y^2 is about (2 y)^2 times that of y (on every row)
        engine_noise = noise * 4 * float(np.mean(target**2)) if name == "square" else noise
        runs.append((X[rows], forward(target[rows]), names, engine_noise))
    return runs


def _fit_all(make_engine: Callable[..., Any], budget: Mapping[str, float], runs: list[EngineRun]) -> list[Any]:
    """The engines, fitted, one per run, in order: at once where the stage shares engine slots and the engine allows
    it (:mod:`symreg.slots`), else one after another, each made just before its fit (as the first says)."""
    if not runs:
        return []
    first = make_engine(**budget)

    def fit(job: tuple[int, EngineRun]) -> Any:
        i, (X, y, names, noise) = job
        engine = first if i == 0 else make_engine(**budget)
        engine.fit(X, y, variable_names=names, noise_variance=noise)
        return engine

    return run_all(fit, list(enumerate(runs)), threads=bool(getattr(first, "concurrent", False)))


def _engine_candidates(
    engines: list[Any], transforms: list[Transform], base: sp.Expr
) -> tuple[list[tuple[sp.Expr, str, str]], list[tuple[str, sp.Expr]]]:
    """The candidates for ``y`` (``base + inverse(g)``) from the engines fitted to each target transform, and the
    plain run's own equations."""
    candidates: list[tuple[sp.Expr, str, str]] = []
    plain: list[tuple[str, sp.Expr]] = []
    for engine, (name, _, inverse) in zip(engines, transforms, strict=True):
        candidates += [(base + inverse(g), raw, name) for raw, g in engine.equations_]
        if name == "identity":
            plain = list(engine.equations_)
    return candidates, plain


def _arcsine_candidates(
    plain: list[tuple[str, sp.Expr]], base: sp.Expr, symbols: list[sp.Symbol], X: np.ndarray, y: np.ndarray
) -> list[tuple[sp.Expr, str, str]]:
    """Near its centre an arcsine is its argument, so a plain fit of the angle often returns the argument of a
    missed inverse sine (0.698 sin(a - b) for asin(0.656 sin(a - b))): each plain candidate is also tried inside
    the arcsine, its constants refitted."""
    out = []
    for raw, g in plain:
        if g.free_symbols and g.atoms(sp.Float):
            inside = refit_constants(base + sp.asin(g), symbols, X, y, circular=True)
            out.append((inside, raw, "sine (from identity)"))
    return out


def _on_the_circle(
    table: pd.DataFrame, row: Callable, symbols: list[sp.Symbol], X: np.ndarray, y: np.ndarray, X_val: np.ndarray,
    angles: list[str], rtol: float,
) -> pd.DataFrame:  # fmt: skip
    """The polished candidates of an angle, each number that multiplies an input angle within ``rtol`` of an
    integer also tried as that integer (:func:`symreg.polish.integer_frequencies`, the other constants refitted),
    and then only those that are functions on the circle (:func:`_periodic`); the table as it was if none is."""
    if not angles:
        return table
    angle_symbols = [s for s in symbols if s.name in angles]
    rows = table.to_dict("records")
    for r in list(rows):
        whole = integer_frequencies(r["expr"], angle_symbols, rtol)
        if whole != r["expr"]:
            refitted = round_floats(refit_constants(whole, symbols, X, y, circular=True), 6)  # as polished rows are
            rows.append(row(refitted, r["equation"], r["transform"]))
    kept = _periodic(rows, symbols, X_val, [i for i, s in enumerate(symbols) if s.name in angles])
    return pd.DataFrame(kept).drop_duplicates("sympy_format") if kept else table


SEAM_FLOOR = 1e-10
"""rad: the jump at the seam that an exact periodic law's rounding may show (2 pi times the float precision)"""


def _periodic(rows: list[dict], symbols: list[sp.Symbol], X: np.ndarray, angles: list[int]) -> list[dict]:
    """The rows whose equation is a function on the circle of each input angle: turning one angle by 2 pi moves
    the answer (wrapped) by no more than the equation's own RMS error (its ``loss``).  An engine's
    ``0.964 a + tanh(sin(0.135 a))`` or ``cos(0.986 a)`` jumps at the seam the data never cross; a physical law of an
    angle does not.  Rows that cannot be evaluated on both sides are kept."""
    if not angles:
        return rows
    out = []
    for r in rows:
        at = evaluate(r["expr"], symbols, X)
        worst = 0.0
        for j in angles:
            turned = X.copy()
            turned[:, j] += 2 * np.pi
            jump = wrap(evaluate(r["expr"], symbols, turned) - at)
            if np.isfinite(jump).any():
                worst = max(worst, float(np.sqrt(np.nanmean(jump**2))))
        if worst <= max(np.sqrt(max(float(r["loss"]), 0.0)), SEAM_FLOOR):
            out.append(r)
    return out


def _group_form_candidates(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    names: Sequence[str],
    dims: Mapping[str, Dimension],
    target_dim: Dimension,
    grouped: bool,
) -> list[tuple[sp.Expr, str, str]]:
    """The functions physics writes of one group, each tried whole (:mod:`symreg.group_forms`), under every
    simplest prefactor: (1/sqrt(1 - x^2) - 1) is a family's under m c^2, not under m v^2 (= m c^2 x^2); where
    inputs and target are all dimensionless (no dimensionless problem, ``grouped`` false), each input is a group."""
    out: list[tuple[sp.Expr, str, str]] = []
    names_dims = [dims[n] for n in names]
    if not grouped and all(d == target_dim == as_dimension("1") for d in names_dims):
        forms = group_forms(X[rows], y[rows], list(names))
        out += [(g, str(g), "group form") for g in forms]
    for option in prefactors(names_dims, target_dim)[:MAX_PREFACTORS] if grouped else []:
        other = dimensionless_problem(X, y, names, names_dims, target_dim, prefactor=option)
        if other is not None:
            G_p, y_p, group_names_p, back_p = other
            forms = group_forms(G_p[rows], y_p[rows], group_names_p)
            out += [(back_p(g), str(g), "group form") for g in forms]
    return out


def _row(
    expr: sp.Expr,
    raw: str,
    transform: str,
    *,
    symbols: list[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    circular: bool,
    numbers: Mapping[sp.Symbol, sp.Expr],
) -> dict[str, Any]:
    """A candidate as a row of the front: its description and its loss on the held-out rows ``X``, ``y``."""
    pred = evaluate(expr.xreplace(numbers), symbols, X)
    return {**describe(expr, raw), "loss": loss(pred, y, circular=circular), "transform": transform, "expr": expr}


def _polished(
    raw_front: pd.DataFrame,
    row: Callable[..., dict[str, Any]],
    symbols: list[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    fit: np.ndarray,
    val: np.ndarray,
    *,
    circular: bool,
    noise_variance: float,
    rtol: float,
    named: Mapping[str, float] | None,
    budget: RefitBudget | None,
    scale: str,
) -> pd.DataFrame:
    """The front's equations, best first, with their constants recognised (:func:`symreg.polish.recognise_constants`;
    the first one always to the end, the rest while ``budget`` lasts), as rows."""
    # A noisy target's noise is at least its declared variance; where nothing the engines found comes
    # closer than that, the lowest held-out loss on the front is the noise the data show (noisy
    # observations make a latent no exact function of the observed values at one instant).
    floor = float(raw_front["loss"].min()) if not raw_front.empty else 0.0
    polish_noise = max(noise_variance, floor) if noise_variance > 0 else 0.0
    polished = []
    for i, (_, r) in enumerate(raw_front.sort_values("loss").iterrows()):
        expr = recognise_constants(
            r["expr"],
            symbols,
            X[fit],
            y[fit],
            X_val=X[val],
            y_val=y[val],
            circular=circular,
            noise_variance=polish_noise,
            rtol=rtol,
            named=named,
            budget=budget if i else None,
            scale=scale,
        )
        polished.append(row(expr, r["equation"], r["transform"]))
    return pd.DataFrame(polished).drop_duplicates("sympy_format")


def _prefer_homogeneous(table: pd.DataFrame, dims: Mapping[str, Dimension], target_dim: Dimension) -> pd.DataFrame:
    """The dimensionally homogeneous equations alone, where one of them fits within 1.5 times the lowest loss."""
    table["homogeneous"] = [dimension_of(e, dims) == target_dim for e in table["expr"]]
    consistent = table[table["homogeneous"]]
    if not consistent.empty and consistent["loss"].min() <= 1.5 * max(table["loss"].min(), 1e-30):
        return consistent
    return table


def structure_candidates(
    again: Callable[..., pd.DataFrame],
    closest: sp.Expr,
    X: np.ndarray,
    y: np.ndarray,
    X_check: np.ndarray,
    y_check: np.ndarray,
    names: Sequence[str],
    units: Mapping[str, object] | None,
    target_dim,
    share: float | None,
) -> list[tuple[sp.Expr, str]]:
    """Equations from the structure of the closest equation found (:mod:`symreg.separable`), each with how it
    was found.  Where the law depends on two variables of one unit only through their difference
    (``theta - theta_1``, ``x_2 - x_1``), the problem is searched again in the difference, on the real
    rows (``again``: :func:`search` with the settings bound), and may split there; otherwise, where it is a
    product or a sum of parts, each part is searched on its own variables.  ``share`` (seconds, None: the
    engines' own budgets) is what all of it may take; below :data:`MIN_STRUCTURE_SECONDS`, nothing is tried."""
    if share is not None and share < MIN_STRUCTURE_SECONDS:
        return []
    symbols = [sp.Symbol(n, real=True) for n in names]
    dims = {n: as_dimension(units.get(n, "1")) for n in names} if units is not None else None
    pred = evaluate(closest, symbols, X_check)
    if not np.all(np.isfinite(pred)):
        return []
    error = float(np.sqrt(np.mean((pred - y_check) ** 2)))
    tolerance = TOLERANCE_FACTOR * max(error, 1e-12 * float(np.std(y_check)))
    pairs = [(i, j) for i, j in itertools.combinations(range(len(names)), 2) if dims is None or dims[names[i]] == dims[names[j]]]
    shifts = translations(lambda points: evaluate(closest, symbols, points), X, pairs, tolerance)
    if shifts:
        keep = [k for k in range(len(names)) if all(k != j for _, j in shifts)]
        differences = {i: f"{names[i]}_minus_{names[j]}" for i, j in shifts}
        reduced_names = [differences.get(k, names[k]) for k in keep]
        partner = dict(shifts)
        X_reduced = np.column_stack([X[:, k] - X[:, partner[k]] if k in partner else X[:, k] for k in keep])
        front = again(
            X_reduced,
            y,
            variable_names=reduced_names,
            units=None if units is None else {differences.get(k, names[k]): units.get(names[k], "1") for k in keep},
            target_unit=target_dim,
            time_budget=share,
            separate=True,
        )
        back = {sp.Symbol(differences[i], real=True): symbols[i] - symbols[j] for i, j in shifts}
        return [(e.xreplace(back), "translation") for e in _best_first(front, reduced_names)[:2]]

    def search_part(columns: list[int], target: np.ndarray, parts: int, others: sp.Expr | None, noise: float) -> list[sp.Expr]:
        part_names = [names[c] for c in columns]
        # the part's unit: the target's over the other parts' (a product's), where they are known
        other_dim = None if target_dim is None or others is None else dimension_of(others, dims or {})
        front = again(
            X[:, columns],
            target,
            variable_names=part_names,
            units=None if units is None else {n: units.get(n, "1") for n in part_names},
            target_unit=None if other_dim is None else combine(target_dim, other_dim, -1),
            time_budget=None if share is None else share / parts,
            noise_variance=noise,
            square=True,
        )
        return _best_first(front, part_names)

    found = separable_candidates(closest, symbols, X, y, X_check, y_check, search_part)
    return [(expr, f"separable ({kind})") for expr, kind in found]


def _best_first(front: pd.DataFrame, names: Sequence[str]) -> list[sp.Expr]:
    """A front's selected equation, then the rest from the lowest held-out loss up (one that does not parse
    back is left out: a candidate, never a crash)."""
    texts = [*front.loc[front["selected"], "sympy_format"], *front.sort_values("loss")["sympy_format"]]
    out = []
    for text in dict.fromkeys(texts):
        try:
            out.append(parse_expression(text, names))
        except ExpressionError:
            continue
    return out

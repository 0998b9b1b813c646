"""A family of curves: ``y = f(t; p)``, one curve per setting of the parameters ``p``.

A law of motion is such a family: for each physical setting (damping,
spring constant) the answer is a curve in the question (time).  Searching
``f`` over all variables at once asks the engine to find a phase that grows
with ``t`` at a rate set by ``p``, a needle in a haystack; physicists instead
fit each recording, then relate the fitted constants to the parameters.  So
does :func:`search_family`:

1. **Form.** The curve of the group nearest the centre of the parameter space,
   and two more drawn by the seed, are searched alone
   (:func:`symreg.search.search`, one variable); the equations of their fronts
   give candidate forms ``f(t; c)`` with every number as a free constant ``c_k``.
2. **Constants per curve.** Each curve's constants are fitted by least squares,
   starting from those of its nearest already-fitted neighbour (continuation
   in the standardised parameter space, so an oscillation's frequency is never
   started a whole period away).  The simplest form (fewest operations) whose
   median curve fits to within ``form_tolerance`` of the best form's, or to
   the noise, is kept.  The forms are fitted simplest first, and no further
   than that choice needs (:func:`_form_settled`).
3. **Constants as laws.** Each ``c_k`` is searched as a function of the
   parameters (the curves' fitted values), and, where it keeps one sign, so is
   its square (``sqrt(kappa - b^2/4)`` is a root of a polynomial).  Its front, its mean and 0 are the
   candidates; each is pruned of the additive terms that the held-out curves
   do not need (the held-out loss may rise by ``rtol``), and, where ``units``
   are given, a candidate that is not dimensionally homogeneous
   (:mod:`symreg.units`, numbers dimensionless) keeps only its terms of the
   leading dimension, or is dropped: a network's small
   systematic errors are smooth functions of the parameters too, and junk such
   as ``sin(2.7 kappa)`` fits them.  Each candidate's constants are then
   given exact values where the held-out curves allow.  The noise the data
   show is the curves' least-squares variance or, where the network's
   systematic error keeps every candidate above it, the best candidate's
   held-out loss; of the candidates whose form (every constant fitted) comes
   within ``1 + rtol`` of it, the one with the fewest constants left fitted
   after recognition is chosen, then the simplest: a first-order
   expansion with two fitted constants (``sqrt(kappa) - 0.064 b``) loses to
   the exact form that fits as well (``sqrt(kappa - b^2/4)``), whichever of
   the two follows the network's own errors a little more closely.  Where the
   constant keeps one sign, the roots of short polynomials fitted to its square by
   least squares (:func:`symreg.powerlaw.roots_of_polynomials`) are candidates
   too, for step 4 alone: on a constant's own values the network's smooth error
   can favour a first-order expansion (``1.01 sqrt(kappa) - 0.076 b``) over the
   root (``sqrt(kappa - 0.265 b^2)``, 15 % worse on pendulum seed 0), and the
   engine's search of the square need not propose the root at all.  Two free
   coefficients follow that error too, so a root never sets the noise the data show.
4. **The law.** The selected equation of every constant is substituted into
   the form; then, constant by constant, ``0``, the constant's mean, and its
   forms with fewer fitted constants (whose curves' loss is within
   :data:`FEWER_BAND` of the best) are tried instead, in that order, the first
   kept where the law, refitted, keeps the held-out loss
   (held-out curves) within ``max(noise_variance, (1 + rtol) loss)``: the answers,
   not the constant's own curve values, decide whether a fitted term such as
   ``-0.0021 kappa/b`` (a fit to the network's own smooth error) is needed.
   Forms that tie with the selected one (as many fitted constants, within
   ``1 + rtol``), the roots whose curves' loss is within :data:`FEWER_BAND`
   of the best, and the simpler forms again (the first the answers allow need
   not be the one that becomes exact) are then tried against the law so far,
   whichever form holds the
   constant by then: one replaces it where its law, refitted, stays within the
   tolerance and, with its constants recognised, keeps fewer fitted numbers, or
   as many at a lower held-out loss.  Finally the whole law's
   constants are refitted and recognised
   (:func:`symreg.polish.recognise_constants`), held-out curves judging; every
   law is recognised so, and a simplification (an exact value, a term dropped
   as within the noise) may cost at most ``rtol`` over the larger of the noise
   and the law's own held-out loss.

The result is a front in the schema of :mod:`symreg.base`: the assembled law,
and, for comparison, the form with the constants of the central curve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp
from scipy.optimize import least_squares

from symreg.base import complexity, describe, evaluate, loss, pareto_front, without_abs
from symreg.parse import parse_expression
from symreg.polish import recognise_constants, refit_constants
from symreg.powerlaw import roots_of_polynomials
from symreg.search import search
from symreg.slots import run_all
from symreg.units import as_dimension, dimension_of

CURVES_SEARCHED = 3
"""curves searched alone for candidate forms (the central one and others drawn by the seed)"""


FEWER_BAND = 10.0
"""a constant's form with fewer fitted constants than the selected one is tried in the whole law (judged on the
answers) where its curves' loss is within this factor of the best: a bound on the refits it costs, chosen, not
measured (seed 4's root was 1.24 times the best)"""


def _numbers(expr: sp.Expr) -> list[sp.Number]:
    """The numbers of ``expr`` that become free constants (floats and non-integer rationals)."""
    found = [a for a in expr.atoms(sp.Number) if isinstance(a, sp.Float) or (isinstance(a, sp.Rational) and not a.is_integer)]
    return sorted(found, key=lambda a: (float(abs(a)), str(a)))


def parametrise(expr: sp.Expr) -> tuple[sp.Expr, list[sp.Symbol], np.ndarray]:
    """``expr`` with its numbers replaced by symbols ``_c0, _c1, ...``; returns the template, symbols and values."""
    numbers = _numbers(expr)
    params = list(sp.symbols(f"_c0:{len(numbers)}", real=True)) if numbers else []
    template = expr.xreplace(dict(zip(numbers, params, strict=True)))
    return template, params, np.array([float(n) for n in numbers])


def _order(P: np.ndarray, start: int) -> list[tuple[int, int]]:
    """(group, neighbour already fitted) pairs, nearest-first from ``start`` (Prim's order)."""
    n = len(P)
    done = np.zeros(n, bool)
    done[start] = True
    dist = np.linalg.norm(P - P[start], axis=1)
    parent = np.full(n, start)
    out = []
    for _ in range(n - 1):
        d = np.where(done, np.inf, dist)
        i = int(np.argmin(d))
        out.append((i, int(parent[i])))
        done[i] = True
        new = np.linalg.norm(P - P[i], axis=1)
        closer = new < dist
        parent[closer] = i
        dist = np.minimum(dist, new)
    return out


def unwrap_curves(t: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Angles ``y`` made continuous along each curve: each curve is unwrapped in order of ``t``
    (so successive answers must lie less than pi apart), then moved by the multiple of 2 pi
    that brings its first answer within pi of the circular mean of all first answers."""
    y = np.asarray(y, dtype=float).copy()
    firsts = {}
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        rows = rows[np.argsort(t[rows], kind="stable")]
        y[rows] = np.unwrap(y[rows])
        firsts[g] = (rows, y[rows[0]])
    centre = float(np.angle(np.mean(np.exp(1j * np.array([v for _, v in firsts.values()])))))
    for rows, first in firsts.values():
        y[rows] -= 2 * np.pi * np.round((first - centre) / (2 * np.pi))
    return y


def fit_curves(template, params, t_symbol, t, y, groups, P, c0, start):
    """Per-group least-squares constants, by continuation from ``start``.

    Returns (constants (n_groups, k), variances (n_groups, k), mse per group)."""
    func = sp.lambdify([t_symbol, *params], template, modules="numpy")
    ids = np.unique(groups)
    rows = [np.flatnonzero(groups == g) for g in ids]
    k = len(params)
    C, V, mse = np.zeros((len(ids), k)), np.zeros((len(ids), k)), np.full(len(ids), np.inf)

    def fit(i, x0):
        ti, yi = t[rows[i]], y[rows[i]]

        def res(c):
            with np.errstate(all="ignore"):
                r = np.asarray(func(ti, *c), dtype=float) * np.ones(len(ti)) - yi
            return np.where(np.isfinite(r), r, 1e3)

        try:
            sol = least_squares(res, x0, method="lm" if len(ti) > k else "trf")
        except (ValueError, FloatingPointError, ZeroDivisionError, TypeError):
            return
        r = res(sol.x)
        C[i], mse[i] = sol.x, float(np.mean(r**2))
        dof = max(len(ti) - k, 1)
        try:
            V[i] = np.diag(np.linalg.pinv(sol.jac.T @ sol.jac)) * float(r @ r) / dof
        except np.linalg.LinAlgError:
            V[i] = np.inf

    if k == 0:
        for i, r in enumerate(rows):
            with np.errstate(all="ignore"):
                pred = np.asarray(func(t[r]), dtype=float) * np.ones(len(r))
            mse[i] = float(np.mean((pred - y[r]) ** 2))
        return C, V, mse
    fit(start, c0)
    for i, parent in _order(P, start):
        fit(i, C[parent])
    return C, V, mse


def _homogeneous_part(expr: sp.Expr, dims) -> sp.Expr | None:
    """``expr`` with every sum, at any depth, cut to the terms that share the dimension of its most complex
    homogeneous term (a dimensionless offset beside a frequency goes, also under a root:
    ``sqrt(kappa - b^2/4 - 0.02)`` -> ``sqrt(kappa - b^2/4)``), or None if no homogeneous part is left."""

    def walk(e: sp.Expr) -> sp.Expr | None:
        if not e.args:
            return e
        args = [walk(a) for a in e.args]
        if any(a is None for a in args):
            return None
        e = e.func(*args)
        if not e.is_Add:
            return e
        terms = [(t, dimension_of(t, dims)) for t in e.args]
        terms = [(t, d) for t, d in terms if d is not None]
        if not terms:
            return None
        lead = max(terms, key=lambda p: complexity(p[0]))[1]
        return sp.Add(*[t for t, d in terms if d == lead])

    out = walk(expr)
    return out if out is not None and dimension_of(out, dims) is not None else None


def _judge_constant(
    exprs, symbols, P, values, *, dims, rtol: float, floor: float, seed: int, extra: Sequence[sp.Expr] = ()
) -> pd.DataFrame:
    """Candidate equations of one constant, each refitted on 70 % of the curves and pruned: an
    additive term goes where the held-out loss (the other curves) stays within ``1 + rtol`` of the
    unpruned equation's.  Where ``dims`` is given, an inhomogeneous candidate keeps only its terms of
    the leading dimension (refitted), or is dropped.  Then each candidate's constants are given exact
    values where the held-out curves allow (:func:`symreg.polish.recognise_constants`), with the noise
    the data show: the curves' least-squares ``floor`` or, where the network's systematic error is
    larger, the best candidate's held-out loss.  ``fitted`` counts the constants left fitted;
    ``fitted_loss`` is the held-out loss with every constant fitted (how well the form can follow the data),
    ``loss`` that with the exact values.  ``extra`` candidates are judged alike, but the noise is measured on
    ``exprs`` alone (``measures_noise``)."""
    order = np.random.default_rng(seed).permutation(len(values))
    n_val = max(1, int(0.3 * len(values)))
    val, fit = order[:n_val], order[n_val:]

    def refit(e):
        return refit_constants(e, symbols, P[fit], values[fit], circular=False)

    def held_out(e):
        return loss(evaluate(e, symbols, P[val]), values[val], circular=False)

    rows = []
    for i, expr in enumerate([*exprs, *extra]):
        expr = refit(expr)
        limit = (1 + rtol) * held_out(expr) + 1e-12 * float(np.var(values))
        pruned = True
        while pruned:
            pruned = False
            terms = sp.Add.make_args(expr)
            for term in sorted(terms, key=complexity, reverse=True) if len(terms) > 1 else []:
                trial = refit(expr - term)
                if held_out(trial) <= limit:
                    expr, pruned = trial, True
                    break
        if dims is not None and dimension_of(expr, dims) is None:
            expr = _homogeneous_part(expr, dims)
            if expr is None:
                continue
            expr = refit(expr)
        rows.append({**describe(expr, str(expr)), "loss": held_out(expr), "expr": expr, "measures_noise": i < len(exprs)})
    noise = max(floor, min((r["loss"] for r in rows if np.isfinite(r["loss"]) and r["measures_noise"]), default=0.0))
    for r in rows:
        if not np.isfinite(r["loss"]):
            continue
        exact = recognise_constants(
            r["expr"], symbols, P[fit], values[fit], X_val=P[val], y_val=values[val], circular=False, noise_variance=noise, rtol=rtol
        )
        r.update({**describe(exact, str(exact)), "loss": held_out(exact), "expr": exact, "fitted_loss": r["loss"]})
    table = pd.DataFrame(rows)
    if not len(table):
        table["measures_noise"] = []
    table["fitted"] = [len(e.atoms(sp.Float)) for e in table["expr"]] if len(table) else []
    if "fitted_loss" not in table:
        table["fitted_loss"] = table["loss"] if len(table) else []
    table["fitted_loss"] = table["fitted_loss"].fillna(table["loss"]) if len(table) else table["fitted_loss"]
    return table.drop_duplicates("sympy_format")


def simplest_law(
    template: sp.Expr,
    selected: Mapping[sp.Symbol, sp.Expr],
    *,
    simpler: Mapping[sp.Symbol, Sequence[sp.Expr]],
    ties: Mapping[sp.Symbol, Sequence[sp.Expr]],
    refit: Callable[[sp.Expr], sp.Expr],
    val_loss: Callable[[sp.Expr], float],
    recognised: Callable[[sp.Expr], sp.Expr],
    rtol: float,
    noise: float,
) -> tuple[dict[sp.Symbol, sp.Expr], sp.Expr]:
    """Step 4: the law from the form ``template`` and each constant's ``selected`` equation, the answers judging
    (``refit`` fits a law's numbers to them, ``val_loss`` is its held-out loss, ``recognised`` gives its numbers
    exact values where the answers allow).  Constant by constant, the first of ``simpler[c]`` (in order) whose law,
    refitted, keeps the held-out loss within ``max(noise, (1 + rtol) loss)`` replaces the selected equation; then
    each of ``ties[c]`` (forms as good on the curves with as many fitted constants, and roots) and of ``simpler[c]``
    replaces the constant's equation so far (the selected one, or the simpler one that replaced it) where its law,
    refitted, keeps the held-out loss within the tolerance and, recognised, keeps fewer fitted numbers, or as many
    at a lower held-out loss.  Returns the constants' equations
    and the recognised law."""
    chosen = dict(selected)
    current = refit(template.xreplace(chosen))
    tolerance = max(noise, (1 + rtol) * val_loss(current))
    for c, options in simpler.items():
        for option in options:
            if option == chosen[c]:
                break
            trial = refit(template.xreplace({**chosen, c: option}))
            if val_loss(trial) <= tolerance:
                chosen[c], current = option, trial
                break
    law = recognised(current)
    for c in {**simpler, **ties}:
        # the ties, then every simpler form again: the first simpler form the answers allow is not always the
        # one whose law becomes exact (seed 16: 1.007 sqrt(kappa) - 0.065 b came before sqrt(0.997 kappa -
        # 0.229 b^2), both with two fitted numbers)
        for other in dict.fromkeys([*ties.get(c, ()), *simpler.get(c, ())]):
            if other == chosen[c]:
                continue
            trial = refit(template.xreplace({**chosen, c: other}))
            if not val_loss(trial) <= tolerance:
                continue
            exact = recognised(trial)
            if (len(exact.atoms(sp.Float)), val_loss(exact)) < (len(law.atoms(sp.Float)), val_loss(law)):
                chosen[c], law = other, exact
    return chosen, law


def search_family(
    make_engine: Callable[..., object],
    params: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    parameter_names: Sequence[str],
    question_name: str,
    rtol: float = 0.1,
    form_tolerance: float = 1.5,
    noise_variance: float = 0.0,
    units: Mapping[str, str] | None = None,
    circular: bool = False,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """Front (schema of :mod:`symreg.base`) for ``y(t; params)``; ``groups`` labels the curves.

    ``params`` (n, p) must be constant within a group.  ``noise_variance`` is how far
    ``y`` is known to lie from the law (for a network's answers: its held-out mean squared
    error); fitting closer than that earns nothing.  ``circular``: ``y`` is an angle, known
    only modulo 2 pi; each curve is made continuous first (:func:`unwrap_curves`, which
    needs the questions of a curve close enough that its answer moves by less than pi from
    one to the next), and the law is found, and its losses computed, on the unwrapped angles.
    Returns the front and a record of the steps (form, per-constant equations, curve fits)
    for the report.
    """
    params, t, y, groups = (np.asarray(a) for a in (params, t, y, groups))
    if circular:
        y = unwrap_curves(t.astype(float), y, groups)
    ids, first = np.unique(groups, return_index=True)
    P = params[first].astype(float)
    Pz = (P - P.mean(0)) / np.where(P.std(0) > 0, P.std(0), 1.0)
    start = int(np.argmin(np.linalg.norm(Pz, axis=1)))
    t_symbol = sp.Symbol(question_name, real=True)
    rng = np.random.default_rng(seed)
    others = rng.permutation([i for i in range(len(ids)) if i != start])[: CURVES_SEARCHED - 1]
    threads = bool(getattr(make_engine(), "concurrent", False))  # the engine's fits may run at once (symreg.slots)
    form = _form(
        make_engine, t, y, groups, ids, [start, *others], Pz,
        question_name=question_name, noise_variance=noise_variance, form_tolerance=form_tolerance, seed=seed,
        threads=threads,
    )  # fmt: skip
    dims = {n: as_dimension(u) for n, u in units.items()} if units else None
    constants = _constant_laws(
        make_engine, P, form, parameter_names=parameter_names, dims=dims, rtol=rtol, seed=seed, threads=threads
    )

    # 4. the law: the most accurate constants first, then each constant as simple as the answers allow
    names = [*parameter_names, question_name]
    all_symbols = [*[sp.Symbol(n, real=True) for n in parameter_names], t_symbol]
    X = np.column_stack([params.astype(float), t.astype(float)])
    val_groups = rng.permutation(ids)[: max(1, int(0.3 * len(ids)))]
    val = np.isin(groups, val_groups)
    noise = max(float(noise_variance), 0.0)
    chosen, law = _law(form, constants, X, y, val, all_symbols, noise=noise, rtol=rtol)
    assembled = form.template.xreplace(chosen)
    cs = form.constants
    central_form = form.template.xreplace(dict(zip(cs, (sp.Float(v, 15) for v in form.C[form.start]), strict=True)))
    rows = []
    for expr, raw, how in ((law, str(assembled), "family"), (central_form, form.text, "central curve")):
        pred = evaluate(expr, all_symbols, X[val])
        rows.append({**describe(expr, raw), "loss": loss(pred, y[val], circular=False), "transform": how})
    front = pareto_front(pd.DataFrame(rows).drop_duplicates("sympy_format"), noise_variance=noise)
    record = {
        "form": str(form.template),
        "central_curve": str(central_form),
        "constants": {str(c): str(e) for c, e in chosen.items()},
        "candidates": {str(c): [str(e) for e in exprs] for c, exprs in constants.fronts.items()},
        "candidate_losses": {str(c): v for c, v in constants.losses.items()},
        "constant_noise": {str(c): v for c, v in constants.floors.items()},
        "curves": int(len(ids)),
        "median_curve_mse": form.median,
        "names": names,
        "circular": circular,
    }
    return front, record


def _law(
    form: _Form,
    constants: _Constants,
    X: np.ndarray,
    y: np.ndarray,
    val: np.ndarray,
    symbols: list[sp.Symbol],
    *,
    noise: float,
    rtol: float,
) -> tuple[dict[sp.Symbol, sp.Expr], sp.Expr]:
    """Step 4: the form with each constant's equation, the answers judging (held-out curves ``val``): each constant
    as simple as the answers allow (:func:`simplest_law`), then ``|b|`` written ``b`` where ``b`` keeps one sign."""

    def val_loss(expr: sp.Expr) -> float:
        return loss(evaluate(expr, symbols, X[val]), y[val], circular=False)

    def refit(expr: sp.Expr) -> sp.Expr:
        return refit_constants(expr, symbols, X[~val], y[~val], circular=False)

    def recognised(expr: sp.Expr) -> sp.Expr:
        # a simplification (an exact value, a term dropped within the noise) may not leave a law that fits the
        # answers worse than rtol over the truth (the network's noise) and over the law it came from: pendulum
        # seed 12's frequency sqrt(0.997 kappa - 0.203 b^2) lost its b^2 term, the b-dependence of the frequency,
        # at 47 % over its held-out loss and 36 % over the noise, within recognise_constants' half the noise
        return recognise_constants(
            expr, symbols, X[~val], y[~val], X_val=X[val], y_val=y[val], circular=False, noise_variance=noise,
            rtol=rtol, max_loss=(1 + rtol) * max(noise, val_loss(expr)),
        )  # fmt: skip

    # a constant that does not depend on the parameters, then its forms with fewer fitted constants
    good, cs = constants.good, form.constants
    simpler = {
        c: [sp.Integer(0), sp.Float(float(np.mean(form.C[good, cs.index(c)])), 15), *constants.fewer[c]]
        for c in constants.fronts
    }
    chosen, law = simplest_law(
        form.template, constants.selected, simpler=simpler, ties=constants.ties, refit=refit, val_loss=val_loss,
        recognised=recognised, rtol=rtol, noise=noise,
    )  # fmt: skip
    return chosen, without_abs(law, symbols, X)  # |b| for a damping that is positive in every sample is b


@dataclass(frozen=True)
class _Form:
    """The form chosen in steps 1-2: its template with free constants, each curve's fitted constants ``C`` and their
    variances ``V``, each curve's mean squared error, their median, the equation it came from and its curve."""

    median: float
    template: sp.Expr
    constants: list[sp.Symbol]
    C: np.ndarray
    V: np.ndarray
    mse: np.ndarray
    text: str
    start: int


def _form(
    make_engine: Callable[..., object],
    t: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    ids: np.ndarray,
    searched: list[int],
    Pz: np.ndarray,
    *,
    question_name: str,
    noise_variance: float,
    form_tolerance: float,
    seed: int,
    threads: bool = False,
) -> _Form:
    """Steps 1-2: candidate forms from the ``searched`` curves; the simplest that fits every curve about as well as
    the best is kept."""
    t_symbol = sp.Symbol(question_name, real=True)

    def search_curve(g: int) -> pd.DataFrame:
        rows = groups == ids[g]
        # the engine may stop once a form follows the curve to the answers' noise; the forms keep their
        # fitted constants (they become free constants below)
        return search(
            make_engine, t[rows][:, None], y[rows], variable_names=[question_name], stop_floor=float(noise_variance), seed=seed
        )

    # the curves' searches are independent (at once where the stage shares engine slots); a form proposed by more
    # than one curve starts from the first curve that proposed it
    forms, seen = [], set()
    for g, curve_front in zip(searched, run_all(search_curve, searched, threads=threads), strict=True):
        for _, row in curve_front.iterrows():
            template, cs, c0 = parametrise(parse_expression(row["sympy_format"], [question_name]))
            if str(template) not in seen:
                seen.add(str(template))
                forms.append((template, cs, c0, row["sympy_format"], g))
    # each form fitted to every curve, simplest first (a stable sort: as proposed among equals), until the choice
    # below is settled (:func:`_form_settled`): the forms not fitted could not change it
    forms.sort(key=lambda f: sp.count_ops(f[0]))
    tried = []
    for template, cs, c0, raw, g in forms:
        C, V, mse = fit_curves(template, cs, t_symbol, t.astype(float), y.astype(float), groups, Pz, c0, g)
        tried.append((float(np.median(mse)), template, cs, C, V, mse, raw, g))
        if _form_settled([f[0] for f in tried], float(noise_variance), form_tolerance):
            break
    tried = [f for f in tried if np.isfinite(f[0])]
    if not tried:
        raise ValueError("no form of the central curve could be fitted to the other curves")
    best = min(f[0] for f in tried)
    threshold = max(form_tolerance * max(best, 1e-30), float(noise_variance))
    return _Form(*next(f for f in tried if f[0] <= threshold))


def _form_settled(medians: list[float], noise: float, tolerance: float) -> bool:
    """Whether the forms fitted so far (their median curve errors, simplest first) settle step 2's choice, the simplest
    form whose median is within ``max(tolerance * best, noise)``, ``best`` the lowest median of all forms, whatever
    the forms not yet fitted (more complex ones) give.  The first form at the noise, ``i``, is within that bound
    whatever ``best`` is; a simpler form could only be chosen instead if its median were within ``tolerance * best``,
    and ``best`` is at most the lowest median seen so far, ``m``.  So where every simpler form's median exceeds
    ``max(tolerance * m, noise)``, form ``i`` is the choice, and the rest need not be fitted (the pendulum: its
    exponentially damped cosine on seed 0, the seventh of eighteen forms, with the eleven more complex ones left unfitted)."""
    at_noise = [i for i, m in enumerate(medians) if m <= noise]
    if not at_noise:
        return False
    finite = [m for m in medians if np.isfinite(m)]
    bound = max(tolerance * max(min(finite), 1e-30), noise)
    return all(m > bound for m in medians[: at_noise[0]])


@dataclass
class _Constants:
    """Step 3's result, per constant of the form: its candidate laws best first and their losses, the noise of its
    curve values, the selected law, the laws that tie with it, and those with fewer fitted constants; ``good``
    marks the curves whose fit counts."""

    good: np.ndarray
    fronts: dict[sp.Symbol, list[sp.Expr]] = field(default_factory=dict)
    losses: dict[sp.Symbol, list[float]] = field(default_factory=dict)
    floors: dict[sp.Symbol, float] = field(default_factory=dict)
    selected: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    ties: dict[sp.Symbol, list[sp.Expr]] = field(default_factory=dict)
    fewer: dict[sp.Symbol, list[sp.Expr]] = field(default_factory=dict)


def _constant_laws(
    make_engine: Callable[..., object],
    P: np.ndarray,
    form: _Form,
    *,
    parameter_names: Sequence[str],
    dims: Mapping[str, Any] | None,
    rtol: float,
    seed: int,
    threads: bool = False,
) -> _Constants:
    """Step 3: every constant as a function of the parameters: its front, each equation pruned of the terms its
    held-out curves do not need, the homogeneous ones (given units) judged by the selection rule."""
    symbols = [sp.Symbol(n, real=True) for n in parameter_names]
    out = _Constants(good=np.isfinite(form.mse) & (form.mse <= 10 * max(form.median, 1e-30)))
    good = out.good

    def constant_law(j: int) -> tuple[float, pd.DataFrame]:
        """The noise of constant ``j``'s curve values, and its candidates judged."""
        values, variances = form.C[good, j], form.V[good, j]
        floor = float(np.mean(variances[np.isfinite(variances)])) if np.isfinite(variances).any() else 0.0
        # a rate or frequency is often the root of a simple expression: its square is searched as well
        front = search(
            make_engine, P[good], values, variable_names=list(parameter_names), noise_variance=floor, square=True,
            seed=seed,
        )  # fmt: skip
        exprs = [parse_expression(s, list(parameter_names)) for s in front["sympy_format"]]
        exprs += [sp.Float(float(np.mean(values)), 15), sp.Integer(0)]
        # the root of a short polynomial, fitted to the square by least squares: the engine's search of the
        # square may miss sqrt(kappa - b^2/4) where the network's own error makes a longer form fit closer.  Two
        # free coefficients follow the network's error too, so a root is a candidate but never the measure of
        # the noise the data show (that would hold -b/2 to a root's closer fit of the error)
        roots = roots_of_polynomials(P[good], values, symbols)
        table = _judge_constant(exprs, symbols, P[good], values, dims=dims, rtol=rtol, floor=floor, seed=seed, extra=roots)
        return floor, table.sort_values("loss")

    # each constant on its own (at once where the stage shares engine slots), then in order
    judged = run_all(constant_law, range(len(form.constants)), threads=threads)
    for c, (floor, table) in zip(form.constants, judged, strict=True):
        out.floors[c] = floor
        out.fronts[c] = list(table["expr"])
        out.losses[c] = [float(v) for v in table["loss"]]
        # the noise the data show: the curves' least-squares variance, or, where the network's systematic
        # error keeps every candidate above it, the best candidate's loss.  Of the candidates within 1 + rtol
        # of it, the one with the fewest fitted constants, then the simplest: an approximation with more fitted
        # constants (sqrt(kappa) - 0.064 b) loses to the exact form that fits as well (sqrt(kappa - b^2/4))
        searched = table[table["measures_noise"]]
        noise = max(out.floors[c], float(searched["fitted_loss"].min()))
        near = searched[searched["fitted_loss"] <= (1 + rtol) * noise].sort_values(["fitted", "complexity", "loss"])
        out.selected[c] = near["expr"].iloc[0]
        # forms as good with as few fitted constants, and the roots: the whole law decides between them (step 4)
        out.ties[c] = [
            *near[near["fitted"] == near["fitted"].iloc[0]]["expr"].iloc[1:],
            *table[~table["measures_noise"] & (table["fitted_loss"] <= FEWER_BAND * noise)]["expr"],
        ]
        # forms with fewer fitted constants that come within FEWER_BAND of the best: the answers judge them (step 4)
        plausible = searched[searched["fitted_loss"] <= FEWER_BAND * noise].sort_values(["fitted", "complexity", "loss"])
        out.fewer[c] = [e for e, n in zip(plausible["expr"], plausible["fitted"], strict=True) if n < near["fitted"].iloc[0]]
    return out

"""Separability of a close fit: a law that is a product or a sum of parts in disjoint sets of variables.

Many laws split: ``p_d z / (4 pi epsilon r^5) * sqrt(x^2 + y^2)`` is a product of
a power law in ``p_d, epsilon, z, r`` and a function of ``x, y`` alone;
``n_0 (1 + p_d E cos(theta)/(k T))`` a product of ``n_0`` and the rest.  A genetic
search finds such a law's value closely (a fit with an R^2 of 0.9999999) but
seldom its form, which has to come out of one search whole.  AI Feynman
(Udrescu and Tegmark, 2020) tests a fitted model for separability and searches
the parts one by one; so does this module, with the closest equation the
engine found as the model (the *surrogate*: a closed form can be evaluated
anywhere on the ranges, which the data rows cannot).

A split of the variables into ``A`` and ``B`` is *multiplicative* where
``f(a1, b1) f(a2, b2) = f(a1, b2) f(a2, b1)`` for pairs of points, and
*additive* where ``f(a1, b1) + f(a2, b2) = f(a1, b2) + f(a2, b1)``.  The test
draws :data:`PAIRS` pairs of data rows, mixes their ``A`` and ``B`` parts, and
takes the median relative violation; a surrogate with a relative error ``e``
violates an exact split by about ``4 e``, so a split holds where the violation is
at most ``TOLERANCE_FACTOR e`` (and never above :data:`MAX_VIOLATION`).  Every
split into two sets is tried (at most :data:`MAX_VARIABLES` variables), and two
variables share a block of the finest partition when every split that holds puts
them on one side.

Each block's part is then found on its own variables (a power law where one fits it,
:func:`symreg.powerlaw.power_law`, else by a search that shares the budget with the
other parts), with the other
variables held at a reference point ``r`` (the columns' medians):
``g_k(a_k) = f(a_k, r_rest)``, the surrogate evaluated on the data rows' values of
the block.  A block on which the surrogate does not vary is a variable the law
does not use (a dummy) and is dropped.  The parts recombine as
``f = prod_k g_k / f(r)^(K - 1)`` (or ``sum_k g_k - (K - 1) f(r)``), and the
recombined equations are candidates like any other: the caller refits their
constants on the real data and scores them on held-out rows, so a split the
surrogate suggested wrongly costs time, not a wrong law.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symreg.base import evaluate
from symreg.powerlaw import power_law

PAIRS = 200
"""pairs of rows mixed in each test"""
MAX_VARIABLES = 12
"""more variables than this are not split (2^(n-1) tests)"""
TOLERANCE_FACTOR = 10.0
"""a split holds where its violation is at most this many times the surrogate's relative error"""
MAX_VIOLATION = 1e-2
"""nor where the violation is larger than this, however rough the surrogate"""
MIN_SHIFT_EFFECT = 100.0
"""a difference ``x_i - x_j`` is a symmetry only where shifting ``x_i`` alone changes the law this many times
more than shifting both"""
MIN_VARIATION = 1e-9
"""a block on which the surrogate varies relatively less than this is not used by the law"""
NOISE_FACTOR = 4.0
"""a part's noise variance is this many times the surrogate's squared error on it (a median relative error
understates the mean square)"""
MAX_COMBINATIONS = 4
"""recombined equations returned (each block's selected and closest equations, crossed)"""


@dataclass(frozen=True)
class Split:
    kind: str
    """``"product"`` or ``"sum"``"""
    blocks: tuple[tuple[int, ...], ...]
    """column indices of each part, every column in exactly one"""


def relative_error(pred: np.ndarray, y: np.ndarray, kind: str) -> float:
    """The surrogate's error in the measure its test uses: pointwise relative for a product, relative to the
    target's spread for a sum."""
    if kind == "product":
        return float(np.median(np.abs(pred - y) / np.abs(y)))
    return float(np.sqrt(np.mean((pred - y) ** 2)) / max(float(np.std(y)), 1e-300))


def violation(f: Callable[[np.ndarray], np.ndarray], X: np.ndarray, side: np.ndarray, kind: str, rng) -> float:
    """Median relative violation of the split ``side`` (True: column in ``A``) by ``f`` on mixed pairs of rows."""
    i, j = rng.integers(len(X), size=(2, min(PAIRS, len(X))))
    p11, p22 = X[i], X[j]
    p12, p21 = np.where(side, p11, p22), np.where(side, p22, p11)
    f11, f22, f12, f21 = (f(p) for p in (p11, p22, p12, p21))
    with np.errstate(all="ignore"):
        if kind == "product":
            v = np.abs(f11 * f22 - f12 * f21) / np.abs(f11 * f22)
        else:
            v = np.abs(f11 + f22 - f12 - f21) / max(float(np.std(f11)), 1e-300)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) > len(i) // 2 else np.inf


def finest_split(
    f: Callable[[np.ndarray], np.ndarray], X: np.ndarray, kind: str, tolerance: float, seed: int = 0
) -> Split | None:
    """The finest partition of the columns into parts that ``f`` is a product (a sum) of, or None where
    no split into two holds.  Every split into two sets is tested; two columns share a block when every
    split that holds puts them on one side."""
    n = X.shape[1]
    if n < 2 or n > MAX_VARIABLES:
        return None
    rng = np.random.default_rng(seed)
    holding = []
    for mask in range(1, 2 ** (n - 1)):  # the last column always on the B side: each split once
        side = np.array([bool(mask >> k & 1) for k in range(n)])
        if violation(f, X, side, kind, rng) <= tolerance:
            holding.append(side)
    if not holding:
        return None
    signature = {k: tuple(bool(s[k]) for s in holding) for k in range(n)}
    blocks: dict[tuple[bool, ...], list[int]] = {}
    for k in range(n):
        blocks.setdefault(signature[k], []).append(k)
    return Split(kind, tuple(tuple(b) for b in sorted(blocks.values())))


def translations(
    f: Callable[[np.ndarray], np.ndarray], X: np.ndarray, pairs: Sequence[tuple[int, int]], tolerance: float, seed: int = 0
) -> list[tuple[int, int]]:
    """The pairs ``(i, j)`` of columns that ``f`` depends on only through ``x_i - x_j``, disjoint, strongest first:
    shifting both by the same step changes ``f`` by at most ``tolerance`` (in ``f``'s units, median over rows),
    while shifting ``x_i`` alone changes it by more than :data:`MIN_SHIFT_EFFECT` times that.  The step is a tenth
    of the smaller of the two columns' spreads."""
    rng = np.random.default_rng(seed)
    rows = X[rng.integers(len(X), size=min(PAIRS, len(X)))]
    base = f(rows)
    found = []
    for i, j in pairs:
        step = 0.1 * min(float(np.ptp(X[:, i])), float(np.ptp(X[:, j])))
        both, alone = rows.copy(), rows.copy()
        both[:, [i, j]] += step
        alone[:, i] += step
        with np.errstate(all="ignore"):
            together = np.median(np.abs(f(both) - base))
            apart = np.median(np.abs(f(alone) - base))
        if together <= tolerance and apart > MIN_SHIFT_EFFECT * tolerance:
            found.append((together / apart, i, j))
    chosen: list[tuple[int, int]] = []
    for _, i, j in sorted(found):
        if not any({i, j} & set(c) for c in chosen):
            chosen.append((i, j))
    return chosen


def part_targets(f: Callable[[np.ndarray], np.ndarray], X: np.ndarray, split: Split) -> tuple[float, list[np.ndarray | None]]:
    """``f(r)`` at the reference point ``r`` (the columns' medians) and, for each block, ``f`` on the rows' values
    of the block with every other column at ``r``; None for a block on which ``f`` does not vary (an unused
    variable)."""
    reference = np.median(X, axis=0)
    f_ref = float(f(reference[None, :])[0])
    targets: list[np.ndarray | None] = []
    for block in split.blocks:
        points = np.tile(reference, (len(X), 1))
        points[:, block] = X[:, block]
        g = f(points)
        varies = np.isfinite(g).all() and np.ptp(g) > MIN_VARIATION * max(abs(f_ref), float(np.max(np.abs(g))))
        targets.append(g if varies else None)
    return f_ref, targets


def recombine(kind: str, parts: Sequence[sp.Expr], f_ref: float) -> sp.Expr:
    """``prod_k g_k / f(r)^(K - 1)`` or ``sum_k g_k - (K - 1) f(r)``: the law from its parts."""
    extra = len(parts) - 1
    if extra == 0:
        return parts[0]
    if kind == "product":
        return sp.Mul(*parts) / sp.Float(f_ref, 15) ** extra
    return sp.Add(*parts) - extra * sp.Float(f_ref, 15)


def separable_candidates(
    surrogate: sp.Expr,
    symbols: Sequence[sp.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    X_check: np.ndarray,
    y_check: np.ndarray,
    search_part: Callable[[list[int], np.ndarray, int, sp.Expr | None, float], list[sp.Expr]],
    *,
    seed: int = 0,
) -> list[tuple[sp.Expr, str]]:
    """Equations for ``y`` recombined from the parts of the first split (product, then sum) that the
    surrogate passes, each part searched by ``search_part(columns, target, parts, others, noise)`` (``parts``:
    how many parts share the budget; ``others``: what the part's unit is relative to the target's, the
    product of the other parts for a product whose other parts are all power laws, 1 for a sum, None where
    it is not known; ``noise``: the part's noise variance, the surrogate's error), which returns the part's
    equations, best first.  ``X_check``, ``y_check``
    (held-out rows) measure the surrogate's error.  Returns ``(expression, kind)`` pairs; none where
    nothing splits or the surrogate is too rough to tell."""

    def f(points: np.ndarray) -> np.ndarray:
        return evaluate(surrogate, symbols, points)

    pred = f(X_check)
    if not np.all(np.isfinite(pred)):
        return []
    for kind in ("product", "sum"):
        if kind == "product" and np.any(y == 0):
            continue
        error = relative_error(pred, y_check, kind)
        tolerance = min(TOLERANCE_FACTOR * max(error, 1e-12), MAX_VIOLATION)
        if error > MAX_VIOLATION:
            continue
        split = finest_split(f, X, kind, tolerance, seed)
        if split is None or len(split.blocks) < 2:
            continue
        f_ref, targets = part_targets(f, X, split)
        used = [(block, g) for block, g in zip(split.blocks, targets, strict=True) if g is not None]
        if not used:
            continue
        options: list[list[sp.Expr]] = [[] for _ in used]
        for k, (block, g) in enumerate(used):  # a part that is a power law needs no search
            law = power_law(X[:, block], g, [symbols[c] for c in block])
            if law is not None and relative_error(evaluate(law, [symbols[c] for c in block], X[:, block]), g, kind) <= tolerance:
                options[k] = [law]
        laws = [k for k, o in enumerate(options) if o]
        searched = len(used) - len(laws)
        for k, (block, g) in enumerate(used):
            if not options[k]:
                # what the part's unit is: the target's over the other parts' (all power laws), or the target's
                others = [options[j][0] for j in laws if j != k]
                known = sp.Integer(1) if kind == "sum" else sp.Mul(*others) if len(others) == len(used) - 1 else None
                # the surrogate's own error is the part's noise: what fits closer fits the surrogate, not the law
                noise = float(np.mean((error * g) ** 2)) if kind == "product" else (error * float(np.std(y))) ** 2
                options[k] = search_part(list(block), g, searched, known, NOISE_FACTOR * noise)[:2]
        if any(not o for o in options):
            continue
        # an unused block's part is f(r) itself, and drops out of either recombination
        return [
            (recombine(kind, parts, f_ref), kind) for parts in itertools.islice(itertools.product(*options), MAX_COMBINATIONS)
        ]
    return []

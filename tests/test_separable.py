"""Separability of a close fit (symreg.separable): the splits found, the parts' targets, the recombination."""

from functools import partial

import numpy as np
import pytest
import sympy as sp

from symreg.base import evaluate
from symreg.engines import make_engine
from symreg.judge import same_law
from symreg.search import dimensionless_problem, search
from symreg.separable import Split, finest_split, part_targets, recombine, separable_candidates, translations
from symreg.units import as_dimension

x = sp.symbols("x0:5", real=True)


def rows(n=600, columns=4, seed=0):
    return np.random.default_rng(seed).uniform(1, 3, (n, columns))


def as_function(expr, columns):
    return lambda points: evaluate(expr, x[:columns], points)


@pytest.mark.parametrize(
    "expr, kind, blocks",
    [
        (x[0] * x[1] ** 2 * sp.sin(x[2] + x[3]), "product", ((0,), (1,), (2, 3))),
        (x[0] ** 2 + sp.sin(x[1]) + x[2] * x[3], "sum", ((0,), (1,), (2, 3))),
        (x[0] * sp.sqrt(x[1] ** 2 + x[2] ** 2) / x[3] ** 5, "product", ((0,), (1, 2), (3,))),
        (sp.exp(x[0]) * (1 + x[1] * sp.cos(x[2]) / x[3]), "product", ((0,), (1, 2, 3))),
    ],
)
def test_finest_split_finds_the_blocks(expr, kind, blocks):
    split = finest_split(as_function(expr, 4), rows(), kind, tolerance=1e-9)
    assert split == Split(kind, blocks)


@pytest.mark.parametrize(
    "expr, kind",
    [
        (sp.sin(x[0] * x[1] + x[2] + x[3]), "product"),
        (x[0] * x[1] + x[2] * x[3], "product"),
        (x[0] * x[1] * x[2] * x[3], "sum"),
        (1 / (x[0] + x[1] + x[2] * x[3]), "sum"),
    ],
)
def test_finest_split_refuses_what_does_not_split(expr, kind):
    assert finest_split(as_function(expr, 4), rows(), kind, tolerance=1e-3) is None


def test_a_split_the_surrogate_only_nearly_passes_holds_within_its_tolerance():
    # a product spoilt by a relative error of 1e-5: holds at a tolerance of 1e-4, not at 1e-7
    f = as_function(x[0] * x[1] * (1 + 1e-5 * sp.sin(7 * x[0] * x[1])), 2)
    assert finest_split(f, rows(columns=2), "product", tolerance=1e-4) == Split("product", ((0,), (1,)))
    assert finest_split(f, rows(columns=2), "product", tolerance=1e-7) is None


@pytest.mark.parametrize(
    "expr, kind",
    [(x[0] * x[1] ** 2 * sp.sin(x[2] + x[3]), "product"), (x[0] ** 2 + sp.sin(x[1]) + x[2] * x[3], "sum")],
)
def test_the_parts_recombine_to_the_law(expr, kind):
    X = rows()
    f = as_function(expr, 4)
    split = finest_split(f, X, kind, tolerance=1e-9)
    f_ref, targets = part_targets(f, X, split)
    assert f_ref == pytest.approx(float(f(np.median(X, axis=0)[None, :])[0]))
    # each part, as a table of values, recombined: the law itself on every row
    values = [sp.Symbol(f"g{k}") for k in range(len(targets))]
    combined = sp.lambdify(values, recombine(kind, values, f_ref))(*targets)
    np.testing.assert_allclose(combined, f(X), rtol=1e-12)


def test_a_variable_the_law_does_not_use_is_a_part_that_does_not_vary():
    X = rows(columns=3)
    f = as_function(x[0] / x[1], 3)  # x2 is a dummy
    split = finest_split(f, X, "product", tolerance=1e-9)
    assert split.blocks == ((0,), (1,), (2,))
    _, targets = part_targets(f, X, split)
    assert targets[2] is None and targets[0] is not None and targets[1] is not None


def test_parts_are_searched_and_recombined_and_power_laws_need_no_search():
    X = rows()
    true = x[0] * sp.sqrt(x[1] ** 2 + x[2] ** 2) / x[3] ** 2
    y = evaluate(true, x[:4], X)
    asked = []

    def search_part(columns, target, parts, others, noise):
        asked.append((columns, parts, others))
        assert noise > 0
        return [sp.Float(float(target[0] / np.sqrt(X[0, 1] ** 2 + X[0, 2] ** 2)), 15) * sp.sqrt(x[1] ** 2 + x[2] ** 2)]

    surrogate = true * (1 + 1e-7 * sp.sin(x[0]))  # a close fit, not the law
    out = separable_candidates(surrogate, x[:4], X, y, X[:200], y[:200], search_part)
    # only the one part that is no power law was searched, and told the others (to know its unit)
    assert [(c, p) for c, p, _ in asked] == [([1, 2], 1)]
    assert asked[0][2].free_symbols == {x[0], x[3]}
    assert out and out[0][1] == "product"
    np.testing.assert_allclose(evaluate(out[0][0], x[:4], X), y, rtol=1e-5)


def test_a_rough_surrogate_is_not_split():
    X = rows()
    y = evaluate(x[0] * x[1] * x[2] * x[3], x[:4], X)
    rough = x[0] * x[1] * x[2] * x[3] + sp.sin(5 * x[0] * x[1])  # errors of tens of per cent

    def search_part(*_):
        raise AssertionError("nothing should be searched")

    assert separable_candidates(rough, x[:4], X, y, X, y, search_part) == []


def test_a_dimensionless_input_keeps_its_orientation_a_ratio_is_oriented():
    X = np.random.default_rng(0).uniform(1, 3, (500, 3))
    y = X[:, 0] * np.cos(X[:, 2]) / X[:, 1]
    dims = [as_dimension("m"), as_dimension("m"), as_dimension("1")]
    G, _, _, back = dimensionless_problem(X, y, ["a", "b", "theta"], dims, as_dimension("1"))
    pi = sp.symbols("pi_0 pi_1", real=True)
    groups = {str(back(p)) for p in pi}
    assert "theta" in groups  # not 1/theta, although theta is mostly above 1
    assert np.all(np.median(np.abs(G), axis=0)[[i for i, p in enumerate(pi) if str(back(p)) != "theta"]] <= 1)


@pytest.mark.slow
def test_a_product_of_a_power_law_and_a_root_of_squares_is_found():
    # II.6.15a's shape: the whole search, with the split on and off (the split is what finds it here)
    X = rows(n=2000, columns=4, seed=3)
    names = ["q", "a", "b", "r"]
    s = sp.symbols(names, real=True)
    true = 3 * s[0] * sp.sqrt(s[1] ** 2 + s[2] ** 2) / (4 * sp.pi * s[3] ** 5)
    y = evaluate(true, s, X)
    engine = partial(make_engine, "operon", operators="physics", seed=0, threads=2)
    units = {"q": "C*m", "a": "m", "b": "m", "r": "m"}
    front = search(engine, X, y, variable_names=names, time_budget=60, units=units, target_unit="C/m^3", separate=True)
    selected = sp.sympify(front.loc[front["selected"], "sympy_format"].iloc[0], locals=dict(zip(names, s, strict=True)))
    assert same_law(selected, true, s, [(1.0, 3.0)] * 4)


def test_a_difference_of_two_variables_is_found_and_only_where_the_law_has_it():
    X = rows(columns=4)
    law = sp.exp(-((x[0] - x[1]) ** 2)) * x[2] + sp.sin(x[3] - x[2])  # x0 - x1; not x3 - x2 (x2 also alone)
    f = as_function(law, 4)
    pairs = [(0, 1), (0, 2), (1, 2), (2, 3), (0, 3), (1, 3)]
    assert translations(f, X, pairs, tolerance=1e-9) == [(0, 1)]
    # a variable the law does not depend on is no symmetry, although shifting it changes nothing
    assert translations(as_function(x[0] * x[1], 4), X, [(2, 3)], tolerance=1e-9) == []


def test_two_parts_that_are_no_power_laws_are_each_searched_with_their_unit_unknown():
    X = rows()
    true = sp.sin(x[0]) * sp.exp(-x[1]) * x[2] ** 2 * x[3]
    asked = []

    def search_part(columns, target, parts, others, noise):
        asked.append((columns, parts, others))
        return [sp.Float(float(target[0]), 15)]  # a constant: the recombined equation is then wrong, and says so

    out = separable_candidates(
        true * (1 + 1e-9 * x[0]), x[:4], X, evaluate(true, x[:4], X), X, evaluate(true, x[:4], X), search_part
    )
    assert [(c, p, o) for c, p, o in asked] == [([0], 2, None), ([1], 2, None)]
    assert out and out[0][0].free_symbols == {x[2], x[3]}

"""symreg.group_forms: the functions physics writes of one dimensionless group, fitted whole."""

from functools import partial

import numpy as np
import pytest
import sympy as sp

from symreg.engines import make_engine
from symreg.group_forms import group_forms
from symreg.judge import same_law
from symreg.parse import parse_expression
from symreg.search import search

x = sp.Symbol("pi_0", real=True)
X = np.random.default_rng(0).uniform(0.1, 3, 400)


@pytest.mark.parametrize(
    "law",
    [
        1 / (sp.exp(x) + 1),  # Fermi-Dirac
        x * (sp.Rational(1, 2) + 1 / (sp.exp(x) - 1)),  # an oscillator's mean energy
        x**2 * sp.exp(-(x**2) / 2),  # Maxwell-Boltzmann
        1 / sp.sqrt(1 - x**2 / 10) - 1,  # a Lorentz factor less one
        (1 + x**2) ** sp.Rational(-3, 2),  # a field on a loop's axis
        sp.atan(x),  # an angle whose tangent is the group
        (sp.sin(x) / x) ** 2,  # a single slit
        sp.sqrt(1 - 2 * x / 7),  # a weak-field correction
    ],
)
def test_each_family_follows_its_law_to_rounding(law):
    y = sp.lambdify(x, law)(X)
    forms = group_forms(X[:, None], y, ["pi_0"])
    assert forms, law
    best = sp.lambdify(x, forms[0])(X)
    np.testing.assert_allclose(best, y, rtol=1e-7, atol=1e-9)


def test_data_of_no_family_give_no_form():
    y = np.random.default_rng(1).normal(size=len(X))
    assert group_forms(X[:, None], y, ["pi_0"]) == []


def test_a_relativistic_kinetic_energy_is_found_exactly_under_the_prefactor_that_makes_it_a_family():
    # the steadiest prefactor is m v^2; the law is a binomial of (v/c)^2 under m c^2
    rng = np.random.default_rng(1)
    m, v, c = rng.uniform(1, 5, 1500), rng.uniform(1, 2, 1500), rng.uniform(3, 10, 1500)
    y = m * c**2 * (1 / np.sqrt(1 - v**2 / c**2) - 1)
    engine = partial(make_engine, "operon", operators="physics", seed=0, threads=1)
    front = search(
        engine, np.column_stack([m, v, c]), y, variable_names=["m", "v", "c"], time_budget=6,
        units={"m": "kg", "v": "m/s", "c": "m/s"}, target_unit="J",
    )  # fmt: skip
    best = parse_expression(front[front["selected"]].iloc[0]["sympy_format"], ["m", "v", "c"])
    ms, vs, cs = sp.symbols("m v c", real=True)
    assert same_law(best, ms * cs**2 * (1 / sp.sqrt(1 - vs**2 / cs**2) - 1), [ms, vs, cs], [(1, 5), (1, 2), (3, 10)]), best
    assert "group form" in set(front["transform"])


def test_a_target_that_depends_on_another_group_is_not_fitted_by_a_family_of_one():
    from symreg.group_forms import one_group_share

    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.1, 3, 300), rng.uniform(0.1, 3, 300)
    assert one_group_share(a, 1 / (np.exp(a) + 1)) > 0.999
    assert one_group_share(a, 1 / (np.exp(a) + 1) + 0.3 * b) < 0.5
    assert group_forms(np.column_stack([a, b]), a * b, ["pi_0", "pi_1"]) == []
    # the family is still found on its own group when another group rides along unused
    assert group_forms(np.column_stack([a, b]), 1 / (np.exp(a) + 1), ["pi_0", "pi_1"])[0].free_symbols == {
        sp.Symbol("pi_0", real=True)
    }

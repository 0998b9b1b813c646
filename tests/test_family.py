"""A family of curves: the form from single curves, constants per curve, constants as laws."""

from functools import partial

import numpy as np
import sympy as sp

from symreg.engines import make_engine
from symreg.family import _order, parametrise, search_family, unwrap_curves
from symreg.parse import parse_expression

t, k = sp.symbols("t k", real=True)


def test_parametrise_frees_every_number_but_integers():
    template, params, values = parametrise(sp.Float(0.5) * sp.exp(sp.Float(-1.25) * t) + sp.Rational(1, 3) + t**2)
    assert len(params) == 3 and sorted(values) == sorted([0.5, -1.25, 1 / 3])
    assert template.has(t**2)


def test_continuation_visits_every_curve_from_a_fitted_neighbour():
    P = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    order = _order(P, 0)
    assert sorted(i for i, _ in order) == [1, 2, 3, 4]
    seen = {0}
    for i, parent in order:
        assert parent in seen  # started from a curve already fitted
        seen.add(i)
    assert dict(order)[3] == 2  # the nearest fitted one


def test_decay_law_is_recovered_exactly_from_noisy_curves():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 30)
    kk = rng.uniform(1, 2, 40)[groups]
    tt = rng.uniform(0, 3, len(groups))
    y = 2 * np.exp(-kk * tt) + 1e-3 * rng.normal(size=len(groups))
    engine = partial(make_engine, "operon", time_budget=2, max_length=10, operators="arithmetic,exp", seed=0, threads=1)
    front, record = search_family(
        engine, kk[:, None], tt, y, groups, parameter_names=["k"], question_name="t", noise_variance=1e-6
    )
    best = parse_expression(front[front["selected"]]["sympy_format"].item(), ["k", "t"])
    assert sp.simplify(best - 2 * sp.exp(-k * t)) == 0, (best, record)
    assert record["curves"] == 40


def test_unwrap_curves_makes_each_curve_continuous_and_aligns_their_starts():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(5), 50)
    rate = np.array([-3.0, -1.0, 0.5, 2.0, 4.0])[groups]
    tt = rng.permutation(np.tile(np.linspace(0, 4, 50), 5))  # questions in any order
    angle = 3.0 + rate * tt  # starts near the branch cut at pi
    out = unwrap_curves(tt, np.angle(np.exp(1j * angle)), groups)
    np.testing.assert_allclose(out, angle - 2 * np.pi * np.round((angle[0] - out[0]) / (2 * np.pi)), atol=1e-9)


def test_a_law_of_motion_on_the_circle_is_recovered_from_wrapped_angles():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(30), 40)
    a, b = rng.uniform(1, 3, 30)[groups], rng.uniform(-2, 2, 30)[groups]
    tt = rng.uniform(0, 4, len(groups))
    y = np.angle(np.exp(1j * (np.pi / 2 + (a + b) * tt + 1e-3 * rng.normal(size=len(groups)))))
    engine = partial(make_engine, "operon", time_budget=2, max_length=10, operators="arithmetic", seed=0, threads=1)
    front, record = search_family(
        engine,
        np.column_stack([a, b]),
        tt,
        y,
        groups,
        parameter_names=["a", "b"],
        question_name="t",
        noise_variance=1e-6,
        circular=True,
    )
    best = parse_expression(front[front["selected"]]["sympy_format"].item(), ["a", "b", "t"])
    A, B = sp.symbols("a b", real=True)
    assert sp.simplify(best - (sp.pi / 2 + (A + B) * t)) == 0, (best, record)
    assert record["circular"]


def test_a_dimensionless_offset_goes_also_under_a_root():
    """The square search's ``sqrt(kappa - 0.236 b^2 - 0.022)``: the -0.022 has no dimension beside a frequency squared."""
    import sympy as sp

    from symreg.family import _homogeneous_part
    from symreg.units import as_dimension

    b, k = sp.symbols("b kappa", real=True)
    dims = {"b": as_dimension("1/s"), "kappa": as_dimension("1/s^2")}
    assert _homogeneous_part(sp.sqrt(-0.236 * b**2 + 1.0009 * k - 0.022), dims) == sp.sqrt(-0.236 * b**2 + 1.0009 * k)
    assert _homogeneous_part(-0.07 * b + sp.sqrt(k) - 0.0102, dims) == -0.07 * b + sp.sqrt(k)
    assert _homogeneous_part(sp.sin(b), dims) is None


def test_the_absolute_value_of_a_quantity_of_one_sign_is_the_quantity():
    import numpy as np
    import sympy as sp

    from symreg.base import without_abs

    b, t = sp.symbols("b t", real=True)
    X = np.column_stack([np.linspace(0.5, 1, 20), np.linspace(-3, 3, 20)])
    law = sp.exp(-t * sp.Abs(b) / 2) * sp.cos(t * sp.Abs(t))
    assert without_abs(law, [b, t], X) == sp.exp(-t * b / 2) * sp.cos(t * sp.Abs(t))  # t takes both signs: kept
    assert without_abs(sp.Abs(-b - 1), [b, t], X) == b + 1

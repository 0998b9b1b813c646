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


def _law_rule(selected, *, simpler=(), ties=(), losses):
    """``simplest_law`` on a law ``A cos(W t)`` whose answers are judged by ``losses`` (a substring of the
    frequency's equation -> held-out loss) and whose recognition turns sqrt(kappa - 0.23 b^2) into the exact root."""
    from symreg.family import simplest_law

    A, W = sp.symbols("A W", real=True)
    B, K = sp.symbols("b kappa", real=True)
    template = A * sp.cos(W * t)

    def val_loss(expr):
        text = str(expr)
        return next((v for key, v in losses.items() if key in text), 100.0)  # anything else: far off

    def recognised(expr):
        return expr.xreplace({sp.Float(-0.23): sp.Rational(-1, 4), sp.Float(0.999): sp.Integer(1), sp.Float(1.0): 1})

    chosen, law = simplest_law(
        template,
        {A: sp.Float(1.0), W: selected},
        simpler={W: list(simpler)},
        ties={W: list(ties)},
        refit=lambda e: e,
        val_loss=val_loss,
        recognised=recognised,
        rtol=0.1,
        noise=0.0,
    )
    return chosen[W], law


B_, K_ = sp.symbols("b kappa", real=True)
JUNK = sp.Float(-0.096) * B_ + sp.Float(1.025) * sp.sqrt(K_) + sp.Float(-0.0021) * K_ / B_
FIRST_ORDER = sp.Float(-0.064) * B_ + sp.Float(1.008) * sp.sqrt(K_)
ROOT = sp.sqrt(sp.Float(-0.23) * B_**2 + sp.Float(0.999) * K_)


def test_a_form_with_fewer_fitted_constants_replaces_one_the_answers_do_not_need():
    """The pendulum's seed 4: on the curves a third fitted term (kappa/b) wins; on the answers the root with two
    fitted numbers is within 1 + rtol, and it replaces the junk (then becomes exact); 0 and the mean do not fit."""
    losses = {"kappa/b": 1.0, "sqrt(-0.23": 1.05, "2.7": 50.0}
    frequency, law = _law_rule(JUNK, simpler=[sp.Integer(0), sp.Float(2.7), ROOT], losses=losses)
    assert frequency == ROOT and not law.atoms(sp.Float)
    # where the answers do need the term, it stays
    frequency, _ = _law_rule(JUNK, simpler=[sp.Integer(0), sp.Float(2.7), ROOT], losses={**losses, "sqrt(-0.23": 1.2})
    assert frequency == JUNK


def test_of_two_forms_with_as_many_fitted_constants_the_one_whose_law_becomes_exact_wins():
    """The pendulum's seed 2: sqrt(kappa) - 0.064 b and sqrt(kappa - 0.23 b^2) fit the curves equally well with two
    fitted numbers each; only the second becomes exact on the answers, and it wins though it ranked second."""
    losses = {"sqrt(-0.23": 1.02, "sqrt(kappa)": 1.0, "sqrt(-b": 1.03}
    frequency, law = _law_rule(FIRST_ORDER, ties=[ROOT], losses=losses)
    assert frequency == ROOT and not law.atoms(sp.Float), law
    # no exact value: the first stays
    frequency, _ = _law_rule(FIRST_ORDER, ties=[sp.sqrt(sp.Float(-0.3) * B_**2 + sp.Float(0.98) * K_)], losses={"sqrt": 1.0})
    assert frequency == FIRST_ORDER


def test_the_root_of_a_short_polynomial_is_fitted_to_the_square():
    from symreg.powerlaw import roots_of_polynomials

    rng = np.random.default_rng(0)
    b, kappa = rng.uniform(0.5, 1, 300), rng.uniform(5, 10, 300)
    X = np.column_stack([b, kappa])
    for y in (np.sqrt(kappa - b**2 / 4) + rng.normal(0, 1e-3, 300), -0.0709 * b + 1.0108 * np.sqrt(kappa)):
        best = roots_of_polynomials(X, y, [B_, K_])[0]  # the root, even of a first-order expansion of it
        poly = sp.expand(best**2)
        coefficients = sp.Poly(poly, B_, K_).as_dict()
        assert set(coefficients) == {(2, 0), (0, 1)}, best
        assert abs(coefficients[(2, 0)] + 0.25) < 0.01 and abs(coefficients[(0, 1)] - 1) < 0.01
    assert roots_of_polynomials(X, -np.sqrt(kappa), [B_, K_])[0].could_extract_minus_sign()
    assert roots_of_polynomials(X, b - 0.75, [B_, K_]) == []  # changes sign: no root


def test_a_root_is_judged_on_the_answers_after_a_one_number_form_replaced_the_selected_one():
    """The pendulum's seed 4: 0.9936 sqrt(kappa), one fitted number, replaces the first-order form (the answers
    allow it); the root of the frequency's square, tried after it, becomes exact on the answers and wins."""
    one_number = sp.Float(0.9936) * sp.sqrt(K_)
    losses = {"sqrt(-0.23": 1.0, "0.9936": 1.05, "sqrt(-b": 1.0, "0.064": 1.0}
    frequency, law = _law_rule(FIRST_ORDER, simpler=[one_number], ties=[ROOT], losses=losses)
    assert frequency == ROOT and not law.atoms(sp.Float), law
    # a root that stays fitted does not replace the one-number form
    frequency, _ = _law_rule(FIRST_ORDER, simpler=[one_number], ties=[sp.sqrt(sp.Float(-0.3) * B_**2 + sp.Float(0.98) * K_)], losses={**losses, "sqrt(-0.3": 1.0})
    assert frequency == one_number


def test_of_two_simpler_forms_the_answers_allow_the_one_whose_law_becomes_exact_wins():
    """The pendulum's seed 16: the first-order form and the root each replace the selected junk on the answers;
    the first-order form comes first, the root becomes exact and wins."""
    losses = {"kappa/b": 1.0, "sqrt(-0.23": 1.05, "0.064": 1.04}
    frequency, law = _law_rule(JUNK, simpler=[sp.Integer(0), FIRST_ORDER, ROOT], losses=losses)
    assert frequency == ROOT and not law.atoms(sp.Float), law


def _chosen(medians, noise, tolerance=1.5):
    """Step 2's choice over the forms given (simplest first): the first finite median within the bound."""
    finite = [m for m in medians if np.isfinite(m)]
    bound = max(tolerance * max(min(finite), 1e-30), noise)
    return next(i for i, m in enumerate(medians) if np.isfinite(m) and m <= bound)


def test_the_forms_left_unfitted_never_change_the_form_chosen():
    from symreg.family import _form_settled

    rng = np.random.default_rng(0)
    stopped = 0
    for _ in range(5000):
        n = int(rng.integers(1, 12))
        medians = list(10 ** rng.uniform(-6, -1, n))
        for i in rng.choice(n, size=int(rng.integers(0, 3)), replace=True):
            medians[i] = np.inf  # a form that could not be fitted to every curve
        if not any(np.isfinite(medians)):
            continue
        noise = float(10 ** rng.uniform(-6, -2))
        k = next((k for k in range(1, n + 1) if _form_settled(medians[:k], noise, 1.5)), n)
        stopped += k < n
        assert _chosen(medians[:k], noise) == _chosen(medians, noise)
    assert stopped > 1000  # the rule does stop early, and often


def test_a_form_at_the_noise_does_not_settle_the_choice_while_a_simpler_one_is_near_the_best():
    from symreg.family import _form_settled

    assert _form_settled([0.1, 2e-5], noise=3e-5, tolerance=1.5)
    assert not _form_settled([3.5e-5, 2.5e-5], noise=3e-5, tolerance=1.5)  # 3.5e-5 is within 1.5 x 2.5e-5: the
    assert _chosen([3.5e-5, 2.5e-5, 2.4e-5], noise=3e-5) == 0  # forms further on decide whether it is chosen
    assert _chosen([3.5e-5, 2.5e-5, 1e-5], noise=3e-5) == 1
    assert not _form_settled([0.1, 0.05], noise=3e-5, tolerance=1.5)  # none at the noise yet

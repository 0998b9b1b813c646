from functools import partial

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from symreg.base import pareto_front
from symreg.engines import make_engine
from symreg.errors import BackendError
from symreg.polish import recognise_constants
from symreg.pysr_backend import equations_from_pysr
from symreg.search import circular_correlation, search

x, y = sp.symbols("x y", real=True)


def test_operon_recovers_a_small_law():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, size=(300, 2))
    target = X[:, 0] * X[:, 1] + 2.0
    engine = partial(make_engine, "operon", time_budget=2, max_length=10, operators="add,sub,mul,div", seed=1, threads=1)
    front = search(engine, X, target, variable_names=["x", "y"])
    best = front[front["selected"]].iloc[0]
    assert best["loss"] < 1e-8
    from symreg.parse import parse_expression

    assert sp.simplify(parse_expression(best["sympy_format"], ["x", "y"]) - (x * y + 2)) == 0


def test_circular_target_is_fitted_across_the_seam():
    rng = np.random.default_rng(1)
    theta = rng.uniform(-np.pi, np.pi, 400)
    z = np.angle(np.exp(1j * (-theta + 2.5)))  # jumps by 2 pi inside the range
    engine = partial(make_engine, "operon", time_budget=1, max_length=8, operators="add,sub,mul", seed=0, threads=1)
    front = search(engine, theta[:, None], z, variable_names=["x"], angle_names=["x"], circular=True)
    best = front[front["selected"]].iloc[0]
    assert best["loss"] < 1e-10
    assert best["anchor"] == "-x"


def test_circular_correlation_sign_and_offset():
    phi = np.linspace(-3, 3, 100)
    corr, sign, offset = circular_correlation(-phi + 1.0, phi)
    assert corr == pytest.approx(1.0)
    assert sign == -1
    assert offset == pytest.approx(1.0)
    assert circular_correlation(np.random.default_rng(0).permutation(phi), phi)[0] < 0.5


def test_constant_recognition_snaps_and_refits():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(200, 1))
    target = 0.7 * np.sin(X[:, 0])
    noisy_form = sp.Float(0.70003) * sp.sin(sp.Float(1.0002) * x) + sp.Float(1e-5)
    clean = recognise_constants(noisy_form, [x], X, target, circular=False)
    assert clean == sp.Rational(7, 10) * sp.sin(x)  # the offset dropped, 1.0002 -> 1, 0.70003 -> 7/10


def test_selection_follows_the_best_rule_and_noise_floor():
    cands = pd.DataFrame(
        {"complexity": [1, 3, 5, 9], "loss": [1.0, 1e-2, 1e-4, 0.5e-4], "sympy_format": list("abcd"), "equation": list("abcd")}
    )
    front = pareto_front(cands)
    assert front.loc[front["selected"], "sympy_format"].item() == "d"  # loss 1e-4 > 1.5 x 0.5e-4
    front = pareto_front(cands, noise_variance=2e-4)
    assert front.loc[front["selected"], "sympy_format"].item() == "c"


def test_pysr_adapter_reads_the_documented_equations_table():
    # PySRRegressor.equations_: complexity, loss, score, equation (Julia syntax, ^ for powers), sympy_format, ...
    table = pd.DataFrame(
        {
            "complexity": [1, 3, 7],
            "loss": [1.2, 0.3, 1e-12],
            "score": [0.0, 0.69, 6.2],
            "equation": ["2.0", "x0 * 1.5", "(theta_S ^ 2) * cos(x1)"],
        }
    )
    eqs = equations_from_pysr(table, ["theta_S", "r"])
    r, t = sp.Symbol("r", real=True), sp.Symbol("theta_S", real=True)
    assert [e for _, e in eqs] == [sp.Float(2.0), sp.Float(1.5) * t, t**2 * sp.cos(r)]
    with pytest.raises(BackendError, match="lacks columns"):
        equations_from_pysr(table.drop(columns="equation"), ["a"])


def test_pysr_backend_fails_fast_without_julia(monkeypatch):
    import symreg.pysr_backend as backend

    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(backend, "julia_available", lambda: False)
    with pytest.raises(BackendError, match="needs Julia.*regress.backend=operon"):
        make_engine("pysr")


def test_pysr_engine_builds_an_equivalent_regressor(monkeypatch):
    """The PySR engine without PySR: a stand-in module records the settings and answers with
    an ``equations_`` table in PySR's documented format."""
    import sys
    import types

    import symreg.pysr_backend as backend

    seen = {}

    class FakeRegressor:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def fit(self, X, y, variable_names=None):
            seen["variable_names"] = variable_names
            self.equations_ = pd.DataFrame(
                {"complexity": [1, 5], "loss": [0.5, 1e-14], "score": [0.0, 8.0], "equation": ["1.0", "a * (b ^ 2)"]}
            )
            return self

    monkeypatch.setitem(sys.modules, "pysr", types.SimpleNamespace(PySRRegressor=FakeRegressor))
    monkeypatch.setattr(backend, "check_available", lambda: None)
    engine = backend.PySREngine(time_budget=4, max_length=17, operators="physics", seed=3)
    engine.fit(np.ones((4, 2)), np.ones(4), variable_names=["a", "b"])
    assert seen["binary_operators"] == ["+", "-", "*", "/"]
    assert seen["unary_operators"] == ["square", "sqrt", "exp", "log", "sin", "cos", "asin", "tanh"]
    assert (seen["maxsize"], seen["timeout_in_seconds"], seen["random_state"], seen["deterministic"]) == (17, 4, 3, True)
    assert seen["variable_names"] == ["a", "b"]
    a_, b_ = sp.symbols("a b", real=True)
    assert [e for _, e in engine.equations_] == [sp.Float(1.0), a_ * b_**2]


def test_a_plain_fit_of_an_angle_is_also_tried_inside_the_arcsine():
    """When the transformed search misses asin(k sin(a - b)), the plain fit k' sin(a - b) leads to it."""
    import sympy as sp

    from symreg.search import search

    a, b = sp.symbols("a b", real=True)
    rng = np.random.default_rng(0)
    X = rng.uniform(-np.pi, np.pi, size=(1500, 2))
    y = np.angle(np.exp(1j * (X[:, 1] - np.arcsin(0.656 * np.sin(X[:, 1] - X[:, 0])) + 0.7)))
    calls = []

    class Stub:
        def __init__(self, **kwargs):
            calls.append(kwargs)

        def fit(self, X, y, *, variable_names, noise_variance=0.0):
            # the plain run finds the approximation, the run on sin(r) finds nothing useful
            expr = sp.Float(-0.698) * sp.sin(b - a) if len(calls) == 1 else sp.Float(0.01) * a
            self.equations_ = [(str(expr), expr)]
            return self

    front = search(Stub, X, y, variable_names=["a", "b"], angle_names=["a", "b"], circular=True, noise_variance=1e-6)
    best = front[front["selected"]].iloc[0]
    assert "asin" in best["sympy_format"] and best["transform"] == "sine (from identity)", best["sympy_format"]


def test_an_equation_of_an_angle_that_jumps_at_the_seam_is_no_candidate():
    """The sky's seed 22: the equation of the centre with a frequency a little off 1, and an approximant that fits
    the data more closely but is no function on the circle.  The first is kept with its frequency read as 1, the
    second leaves the front."""
    from functools import partial

    from symreg.search import _on_the_circle, _periodic, _row

    a = sp.Symbol("lambda_M", real=True)
    rng = np.random.default_rng(0)
    X = rng.uniform(-np.pi, np.pi, size=(4000, 1))
    e = 0.0934
    y = np.angle(np.exp(1j * (X[:, 0] - 2 * e * np.sin(X[:, 0] - 0.42) + 1.25 * e**2 * np.sin(2 * (X[:, 0] - 0.42)) + 1.28)))
    near = a - sp.Float(0.184767) * sp.cos(sp.Float(0.98558) * a - sp.Float(1.1472)) + sp.Float(1.28137)
    junk = sp.Float(0.963681) * a - sp.tanh(sp.sin(sp.Float(0.135086) * a) * sp.cos(sp.Float(0.60432) * a + sp.Float(0.415033))) + sp.Float(1.20837)
    row = partial(_row, symbols=[a], X=X[2000:], y=y[2000:], circular=True, numbers={})
    table = pd.DataFrame([row(near, "near", "identity"), row(junk, "junk", "identity")])
    out = _on_the_circle(table, row, [a], X[:2000], y[:2000], X[2000:], ["lambda_M"], 0.1)
    assert not any("tanh" in str(x) for x in out["expr"])
    whole = out[[sp.Float(0.98558) not in x.atoms(sp.Float) for x in out["expr"]]]
    assert len(whole) == 1 and whole["transform"].iloc[0] == "identity"
    # the second-order term, 5/4 e^2 = 0.011 rad, is what is left; the frequency read as 1 fits better
    assert whole["loss"].iloc[0] < min(2e-4, row(near, "near", "identity")["loss"])
    # the test itself: turning the angle by 2 pi leaves the periodic form, not the others
    rows = [{"expr": x, "loss": 1e-4} for x in (a + sp.sin(a), sp.Float(0.99) * a, a + sp.cos(sp.Float(0.9) * a))]
    assert [r["expr"] for r in _periodic(rows, [a], X, [0])] == [a + sp.sin(a)]


def test_an_expression_that_overflows_is_undefined_there_without_a_warning():
    import warnings

    from symreg.base import evaluate

    x = sp.Symbol("x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would reach the user's terminal mid-run
        out = evaluate(sp.exp(x), [x], np.array([[1.0], [1000.0]]))
    assert out[0] == pytest.approx(np.e)
    assert not np.isfinite(out[1])

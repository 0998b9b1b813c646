"""A symbolic-regression engine added from a test file, as a third-party package would through the
``scinet.engines`` entry points: the config, the command line and the search take it by name."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import ConfigError
from symreg import engines
from symreg.base import Engine
from symreg.engines import EngineSpec, engine_names, make_engine, register_engine


class LinearEngine(Engine):
    """Least squares in the variables: a two-point Pareto front (the mean, and the full linear fit)."""

    def fit(self, X, y, *, variable_names, noise_variance=0.0, **_):
        A = np.column_stack([np.ones(len(y)), X])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        x = sp.symbols(variable_names, real=True)
        full = coef[0] + sum(c * v for c, v in zip(coef[1:], x, strict=True))
        self.equations_ = [(str(float(np.mean(y))), sp.Float(np.mean(y))), (str(full), full)]
        return self


@pytest.fixture
def linear(monkeypatch):
    monkeypatch.setattr(engines, "_REGISTERED", {})
    return register_engine(EngineSpec(name="linear", make=LinearEngine, operators=frozenset({"add", "sub", "mul"})))


def test_a_registered_engine_is_chosen_by_name_and_fits(linear):
    assert "linear" in engine_names() and {"operon", "pysr"} <= set(engine_names())
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    engine = make_engine("linear", time_budget=1, operators="add,sub,mul").fit(X, 3 * X[:, 0] - 2 * X[:, 1] + 1, variable_names=["a", "b"])
    _, expr = engine.equations_[-1]
    assert sp.nsimplify(expr, tolerance=1e-9, rational=True) == 3 * sp.Symbol("a", real=True) - 2 * sp.Symbol("b", real=True) + 1


def test_the_config_and_the_command_line_read_the_registry(linear):
    config = load_config(None, ("regress.backend='linear'", "regress.operators='add,sub,mul'"), system=None)
    assert config.regress.backend == "linear"
    with pytest.raises(ConfigError, match="not usable with the linear engine"):
        load_config(None, ("regress.backend='linear'", "regress.operators='add,sin'"), system=None)
    with pytest.raises(ConfigError, match="Did you mean 'linear'"):
        load_config(None, ("regress.backend='linaer'",), system=None)
    result = CliRunner().invoke(main, ["regress", "copernicus", "--sr-backend", "linaer", "--run-dir", "/nonexistent"])
    assert result.exit_code == 2 and "Did you mean 'linear'" in result.output


def test_an_engine_that_cannot_start_says_what_it_needs(monkeypatch):
    def missing(**_):
        raise ImportError("No module named 'fancy_sr'")

    monkeypatch.setattr(engines, "_REGISTERED", {})
    register_engine(EngineSpec(name="fancy", make=missing, operators=frozenset({"add"}), extra="pip install fancy-sr"))
    with pytest.raises(engines.BackendError, match="It needs: pip install fancy-sr"):
        make_engine("fancy")

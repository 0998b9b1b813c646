"""Standard errors of fitted constants, against the textbook formula and against repeated experiments."""

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from pipeline.geometry import fit_constants

x, k, a, b = sp.symbols("x k a b", real=True)


def test_the_standard_errors_of_a_straight_line_are_the_textbook_ones():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(0, 3, 200)})
    y = 1.5 * frame["x"].to_numpy() - 0.7 + rng.normal(0, 0.2, 200)
    fitted, _, se = fit_constants(a * x + b, ["x"], frame, y, [a, b], {a: 1.0, b: 0.0}, kind="real", affine=False)
    slope, intercept = np.polyfit(frame["x"], y, 1)
    s2 = np.sum((y - slope * frame["x"] - intercept) ** 2) / (200 - 2)
    sxx = np.sum((frame["x"] - frame["x"].mean()) ** 2)
    assert fitted["a"] == pytest.approx(slope, rel=1e-6)
    assert se["a"] == pytest.approx(np.sqrt(s2 / sxx), rel=1e-3)
    assert se["b"] == pytest.approx(np.sqrt(s2 * (1 / 200 + frame["x"].mean() ** 2 / sxx)), rel=1e-3)


@pytest.mark.parametrize("kind", ["real", "circle"])
def test_the_standard_error_is_the_spread_of_the_constant_over_repeated_experiments(kind):
    """a law inside an unknown scale and offset (real) or sign and offset (circle), noise of known size"""
    rng = np.random.default_rng(1)
    estimates, errors = [], []
    for _ in range(150):
        frame = pd.DataFrame({"x": rng.uniform(0, 2, 150)})
        truth = np.exp(0.6 * frame["x"].to_numpy())  # not odd in k: no sign can stand in for the constant
        target = (2.0 * truth + 0.5 if kind == "real" else truth + 0.3) + rng.normal(0, 0.05, 150)
        fitted, _, se = fit_constants(sp.exp(k * x), ["x"], frame, target, [k], {k: 1.0}, kind=kind)
        estimates.append(fitted["k"])
        errors.append(se["k"])
    assert np.mean(estimates) == pytest.approx(0.6, abs=0.01)
    assert np.mean(errors) == pytest.approx(np.std(estimates), rel=0.2)


def test_a_constant_the_data_do_not_determine_has_no_standard_error():
    frame = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    y = 2 * frame["x"].to_numpy()
    # k and the profiled scale multiply: only their product is determined
    _, _, se = fit_constants(k * x, ["x"], frame, y + 0.01 * np.sin(40 * frame["x"]), [k], {k: 1.0}, kind="real")
    assert not se["k"] < 1e3  # NaN, or an error a thousand times the constant

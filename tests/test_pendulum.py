"""The damped pendulum's closed form against a numerical integration of its equation of motion."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from systems.pendulum import KAPPA_RANGE, T_RECORD, position, simulate


@pytest.mark.parametrize(("b", "kappa"), [(0.5, 5.0), (0.73, 7.4), (1.0, 10.0)])
def test_closed_form_solves_the_damped_oscillator(b, kappa):
    # x'' + b x' + kappa x = 0, x(0) = 1, x'(0) = -b/2 (the closed form's slope at t = 0, delta0 = 0)
    t = np.linspace(0, 10, 201)
    sol = solve_ivp(lambda _, s: [s[1], -b * s[1] - kappa * s[0]], (0, 10), [1.0, -b / 2], t_eval=t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(position(t, b, kappa), sol.y[0], atol=1e-7)


def test_simulator_columns_and_ranges():
    cols = simulate(n_samples=7, rng=np.random.default_rng(0))
    assert cols["x_record"].shape == (7, len(T_RECORD))
    np.testing.assert_allclose(cols["x_record"][:, 0], 1.0)  # A0 = 1, delta0 = 0
    np.testing.assert_allclose(cols["x_pred"], position(cols["t_pred"], cols["b"], cols["kappa"]))
    assert np.all((cols["kappa"] >= KAPPA_RANGE[0]) & (cols["kappa"] <= KAPPA_RANGE[1]))
    assert np.all(cols["kappa"] > cols["b"] ** 2 / 4)  # under-damped everywhere

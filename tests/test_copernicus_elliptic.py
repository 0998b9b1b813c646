"""Kepler ellipses: the solver of Kepler's equation against an independent root finder, the orbit against
its closed forms, and the sky seen from Earth."""

import numpy as np
import pytest
from scipy.optimize import brentq

from pipeline.config import ConfigError, load_config
from pipeline.registry import get_system
from systems import copernicus_elliptic as ce


@pytest.mark.parametrize("e", [0.0, 0.0167, 0.0934, 0.5, 0.95])
def test_kepler_equation_agrees_with_a_bracketing_root_finder(e):
    m = np.random.default_rng(0).uniform(-np.pi, np.pi, 200)
    ours = ce.eccentric_anomaly(m, e)
    theirs = np.array([brentq(lambda x, mi=mi: x - e * np.sin(x) - mi, -np.pi - 1, np.pi + 1, xtol=1e-14) for mi in m])
    np.testing.assert_allclose(ours, theirs, atol=1e-10)
    with pytest.raises(ValueError, match="eccentricity"):
        ce.eccentric_anomaly(m, 1.0)


def test_the_orbit_is_an_ellipse_with_the_sun_at_a_focus_and_obeys_the_equation_of_the_centre():
    m = np.linspace(-np.pi, np.pi, 2001)
    o = ce.orbit(m, a=ce.A_M_AU, e=ce.E_M, varpi=0.0)
    # conic with the focus at the origin: r = a (1 - e^2) / (1 + e cos nu)
    np.testing.assert_allclose(o["r"], ce.A_M_AU * (1 - ce.E_M**2) / (1 + ce.E_M * np.cos(o["nu"])), rtol=1e-12)
    # equation of the centre to second order: nu = M + 2 e sin M + 5/4 e^2 sin 2M + O(e^3)
    series = m + 2 * ce.E_M * np.sin(m) + 1.25 * ce.E_M**2 * np.sin(2 * m)
    assert np.max(np.abs(np.angle(np.exp(1j * (o["nu"] - series))))) < 2 * ce.E_M**3
    # Kepler's second law: equal areas in equal times, r^2 dnu/dM = a^2 sqrt(1 - e^2)
    dnu = np.gradient(np.unwrap(o["nu"]), m)
    np.testing.assert_allclose(o["r"] ** 2 * dnu, ce.A_M_AU**2 * np.sqrt(1 - ce.E_M**2), rtol=1e-5)


def test_simulated_sky_is_the_geometry_of_the_two_ellipses():
    c = ce.simulate(n_samples=30, series_length=20, rng=np.random.default_rng(1))
    r_e = c["r_E"] * np.exp(1j * c["lambda_E"])
    r_m = c["r_M"] * np.exp(1j * c["lambda_M"])
    np.testing.assert_allclose(np.exp(1j * c["theta_S"]), -r_e / np.abs(r_e), atol=1e-12)
    np.testing.assert_allclose(np.exp(1j * c["theta_M"]), (r_m - r_e) / np.abs(r_m - r_e), atol=1e-12)
    # the mean anomalies advance uniformly, by 7 days' worth per step
    steps = np.angle(np.exp(1j * np.diff(c["M_M"].reshape(30, 20), axis=1)))
    np.testing.assert_allclose(steps, 2 * np.pi * 7 / ce.T_M_DAYS, atol=1e-12)


def test_the_system_is_registered_and_harmonics_are_checked():
    system = get_system("copernicus-elliptic")
    assert system.degrees_of_freedom == 2 and system.is_series
    assert load_config(None, (), system=system).train.harmonics == 3
    with pytest.raises(ConfigError, match="harmonics"):
        load_config(None, ("train.harmonics=0",), system=system)

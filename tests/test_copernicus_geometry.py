"""The sky geometry against an independent computation (vectors and complex numbers)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from systems.copernicus import R_M_AU, T_E_DAYS, T_M_DAYS, heliocentric_angles, simulate, sky_angles

angles = st.floats(-np.pi, np.pi, allow_nan=False)


def _circ_diff(a, b):
    return np.abs(np.angle(np.exp(1j * (a - b))))


def test_sky_angles_match_vector_geometry():
    # Earth at (1, 0), Mars at (0, R_M): Sun direction is -x, Mars seen at atan2(R_M, -1).
    theta_s, theta_m = sky_angles(np.array([0.0]), np.array([np.pi / 2]))
    np.testing.assert_allclose(_circ_diff(theta_s, np.pi), 0, atol=1e-12)
    np.testing.assert_allclose(theta_m, np.arctan2(R_M_AU, -1.0), atol=1e-12)


@given(angles, angles)
def test_sky_angles_equal_complex_number_computation(phi_e, phi_m):
    earth = np.exp(1j * phi_e)
    mars = R_M_AU * np.exp(1j * phi_m)
    theta_s, theta_m = sky_angles(np.array([phi_e]), np.array([phi_m]))
    assert _circ_diff(theta_s[0], np.angle(0 - earth)) < 1e-9
    assert _circ_diff(theta_m[0], np.angle(mars - earth)) < 1e-9


@given(angles, angles)
def test_heliocentric_angles_invert_the_sky(phi_e, phi_m):
    theta_s, theta_m = sky_angles(np.array([phi_e]), np.array([phi_m]))
    back_e, back_m = heliocentric_angles(theta_s, theta_m)
    assert _circ_diff(back_e[0], phi_e) < 1e-9
    assert _circ_diff(back_m[0], phi_m) < 1e-9


def test_simulated_angles_advance_with_the_orbital_periods():
    cols = simulate(n_samples=3, series_length=10, rng=np.random.default_rng(0))
    phi_e = cols["phi_E"].reshape(3, 10)
    phi_m = cols["phi_M"].reshape(3, 10)
    step_e = np.angle(np.exp(1j * np.diff(phi_e, axis=1)))
    step_m = np.angle(np.exp(1j * np.diff(phi_m, axis=1)))
    np.testing.assert_allclose(step_e, 2 * np.pi * 7 / T_E_DAYS, rtol=1e-9)
    np.testing.assert_allclose(step_m, 2 * np.pi * 7 / T_M_DAYS, rtol=1e-9)
    np.testing.assert_allclose(cols["t_days"][:10], 7.0 * np.arange(10))

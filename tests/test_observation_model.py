"""``observation_model``: Mars' direction from the neurons on Kepler ellipses, and the semi-major axis ratio that
Kepler's third law takes from it."""

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from pipeline.catalog import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED
from pipeline.geometry import Match
from pipeline.laws import Evidence, Holder
from pipeline.registry import get_system
from pipeline.simulation import simulate_frame
from stages.verify import check_laws
from systems import copernicus_elliptic as ce
from systems.copernicus import sky_angles

OMEGA_E, OMEGA_M = 2 * np.pi * 7 / ce.T_E_DAYS, 2 * np.pi * 7 / ce.T_M_DAYS


def _law(system, name):
    return next(law for law in system.known_laws() if law.name == name)


def _evidence(*, noise=0.0, signs=(1, -1), offsets=(0.4, -1.1), mars="M_M", steps=True, seed=0):
    """Held-out rows of copernicus-elliptic whose neurons hold the mean anomalies (with a sign and offset each, and
    per-row reading noise), as verify would see them."""
    system = get_system("copernicus-elliptic")
    frame = simulate_frame(system, n_samples=200, seed=seed, series_length=30)
    rng = np.random.default_rng(seed + 1)
    frame["z0"] = np.angle(np.exp(1j * (signs[0] * frame["M_E"] + offsets[0] + noise * rng.standard_normal(len(frame)))))
    frame["z1"] = np.angle(np.exp(1j * (signs[1] * frame[mars] + offsets[1] + noise * rng.standard_normal(len(frame)))))
    evidence = Evidence(
        system=system,
        latents=frame,
        equations=pd.DataFrame(),
        fresh=frame,
        latent_names=["z0", "z1"],
        active=["z0", "z1"],
        kl={},
        steps=[signs[0] * OMEGA_E, signs[1] * OMEGA_M] if steps else None,
    )
    evidence.holders = {
        "M_E": Holder("z0", Match(1.0, signs[0], offsets[0])),
        "M_M": Holder("z1", Match(1.0, signs[1], offsets[1])),
    }
    return evidence


def test_the_second_order_kepler_series_is_the_sky_of_the_exact_ellipses():
    expression, definitions, (rho, e_e, varpi_e, e_m, varpi_m) = ce.kepler_sky_model("M_E", "M_M", mean_longitudes=False)
    for symbol, value in reversed(definitions):
        expression = expression.xreplace({symbol: value})
    true = {rho: ce.A_M_AU / ce.A_E_AU, e_e: ce.E_E, e_m: ce.E_M, varpi_e: ce.VARPI_E, varpi_m: ce.VARPI_M}
    f = sp.lambdify(sp.symbols("M_E M_M", real=True), expression.xreplace(true))
    rng = np.random.default_rng(0)
    m_e, m_m = rng.uniform(-np.pi, np.pi, (2, 5000))
    earth = ce.orbit(m_e, a=ce.A_E_AU, e=ce.E_E, varpi=ce.VARPI_E)
    mars = ce.orbit(m_m, a=ce.A_M_AU, e=ce.E_M, varpi=ce.VARPI_M)
    _, theta_m = sky_angles(earth["longitude"], mars["longitude"], r_e=earth["r"], r_m=mars["r"])
    error = np.angle(np.exp(1j * (f(m_e, m_m) - theta_m)))
    # third order in Mars' eccentricity (0.0934^3 = 8e-4), magnified near opposition by the parallax
    assert np.sqrt(np.mean(error**2)) < 1e-3 and np.abs(error).max() < 5e-3


def test_neurons_holding_the_mean_anomalies_give_the_semi_major_axis_ratio_and_kepler_third_law():
    evidence = _evidence(noise=0.0)
    system = evidence.system
    verdicts = {v.name: v for v in check_laws([_law(system, "orbits_from_the_sky"), _law(system, "kepler_third_law")], evidence)}
    sky = verdicts["orbits_from_the_sky"]
    assert sky.verdict == DISCOVERED and sky.checks["score"] > 0.99999
    assert sky.fitted_constants["rho"] == pytest.approx(ce.A_M_AU / ce.A_E_AU, rel=1e-3)
    assert sky.fitted_constants["e_M"] == pytest.approx(ce.E_M, rel=0.02)
    # of the equal fits with the eccentricity's sign flipped, the positive one; the perihelia as angles
    assert sky.fitted_constants["e_E"] == pytest.approx(ce.E_E, rel=0.05)
    assert sky.fitted_constants["varpi_M"] == pytest.approx(ce.VARPI_M - 2 * np.pi, abs=0.02)
    assert -np.pi < sky.fitted_constants["varpi_E"] <= np.pi
    kepler = verdicts["kepler_third_law"]
    assert kepler.verdict == DISCOVERED
    assert kepler.fitted_constants["right"] == pytest.approx((ce.T_M_DAYS / ce.T_E_DAYS) ** 2, rel=3e-3)


def test_the_series_line_removes_the_reading_noise_that_would_bias_the_ratio():
    system = get_system("copernicus-elliptic")
    law = _law(system, "orbits_from_the_sky")
    true = ce.A_M_AU / ce.A_E_AU
    smoothed = law.check(_evidence(noise=0.05))
    raw = law.check(_evidence(noise=0.05, steps=False))  # no learned steps: the readings as they are
    assert "series" in smoothed.checks["standard_errors_from"] and "series" not in raw.checks["standard_errors_from"]
    assert abs(smoothed.fitted_constants["rho"] / true - 1) < 3e-3
    assert abs(raw.fitted_constants["rho"] / true - 1) > 2 * abs(smoothed.fitted_constants["rho"] / true - 1)
    # the fitted constant's error bar covers the truth within a few standard errors
    assert abs(smoothed.deviations["rho"]) < 5


def test_a_neuron_that_holds_the_wrong_angle_fails_and_a_missing_one_is_not_checked():
    law = _law(get_system("copernicus-elliptic"), "orbits_from_the_sky")
    wrong = law.check(_evidence(mars="nu_M"))  # the true anomaly is no uniformly advancing angle
    assert wrong.verdict == NOT_DISCOVERED
    evidence = _evidence()
    del evidence.holders["M_M"]
    v = law.check(evidence)
    assert v.verdict == NOT_CHECKED and "M_M" in v.checks["reason"]


def test_the_sky_system_declares_the_same_laws_on_its_mean_longitudes():
    system = get_system("copernicus-sky")
    sky = _law(system, "orbits_from_the_sky")
    assert sky.quantities == ("L_E", "L_M") and sky.kind == "observation_model"
    assert _law(system, "kepler_third_law").true_value == pytest.approx(3.5375, rel=1e-3)
    lhs, rhs = sky.printed(system)
    assert str(lhs) == "theta_M" and {"lambda_M", "r_M", "lambda_E", "r_E"} <= {s.name for s in rhs.free_symbols}

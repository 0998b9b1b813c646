"""``step_ratio``: the learned steps' ratio, with the error that the encoder's own reading rates give it."""

import held_out
import numpy as np
import pytest

from pipeline.catalog import DISCOVERED
from pipeline.registry import get_system
from pipeline.simulation import simulate_frame
from stages.verify import check_laws
from systems import copernicus as co
from systems.laws import Holder
from systems.laws.geometry import Match

OMEGA_E, OMEGA_M = 2 * np.pi * co.DT_DAYS / co.T_E_DAYS, 2 * np.pi * co.DT_DAYS / co.T_M_DAYS
TRUE = co.T_E_DAYS / co.T_M_DAYS


def _law(name):
    return next(law for law in get_system("copernicus").known_laws() if law.name == name)


def _evidence(*, learned=(OMEGA_E, OMEGA_M), noise=0.005, signs=(1, -1), seed=0, series_length=30):
    """Copernicus held-out rows whose neurons read the heliocentric angles with a sign, an offset and reading noise,
    and whose learned steps are ``learned`` (signed as the neurons hold their angles)."""
    frame = simulate_frame(get_system("copernicus"), n_samples=200, seed=seed, series_length=series_length)
    rng = np.random.default_rng(seed + 1)
    for z, q, s, c in (("z0", "phi_E", signs[0], 0.4), ("z1", "phi_M", signs[1], -1.1)):
        frame[z] = np.angle(np.exp(1j * (s * frame[q] + c + noise * rng.standard_normal(len(frame)))))
    holders = {"phi_E": Holder("z0", Match(1.0, signs[0], 0.4)), "phi_M": Holder("z1", Match(1.0, signs[1], -1.1))}
    steps = [signs[0] * learned[0], signs[1] * learned[1]]
    return held_out.evidence(get_system("copernicus"), frame, ["z0", "z1"], steps=steps, holders=holders)


def test_steps_learned_short_of_the_readings_carry_the_difference_as_a_systematic_error():
    short = 1 - 1e-3  # Mars' step trained to 0.1 % short of the rate its neuron's readings advance by
    v = _law("step_ratio").check(_evidence(learned=(OMEGA_E, OMEGA_M * short)))
    assert v.verdict == DISCOVERED
    assert v.fitted_constants["ratio"] == pytest.approx(TRUE * short, rel=1e-9)
    assert v.checks["readings"]["ratio"] == pytest.approx(TRUE, rel=2e-4)
    assert v.systematic_errors["ratio"] == pytest.approx(TRUE * 1e-3, rel=0.2)
    assert 0 < v.standard_errors["ratio"] < 0.2 * v.systematic_errors["ratio"]
    assert abs(v.deviations["ratio"]) < 2  # the truth lies within the stated error


def test_exact_steps_have_a_small_error_that_shrinks_with_the_reading_noise():
    v = _law("step_ratio").check(_evidence(noise=0.005))
    quiet = _law("step_ratio").check(_evidence(noise=0.0005))
    total = np.hypot(v.standard_errors["ratio"], v.systematic_errors["ratio"])
    assert 0 < total < 4e-4 * TRUE  # per series 0.005/sqrt(sum t^2) = 1e-4 rad per step, over 200 series
    assert quiet.standard_errors["ratio"] < 0.2 * v.standard_errors["ratio"]
    assert abs(v.deviations["ratio"]) < 3


def test_kepler_third_law_carries_the_errors_of_the_steps_and_the_radius_ratio():
    evidence = _evidence(learned=(OMEGA_E, OMEGA_M * (1 - 1e-3)))
    evidence.fitted["rho"] = (co.R_M_AU, "mars_direction", DISCOVERED)
    evidence.errors["rho"] = (1e-4, 3e-4)
    ratio, kepler = check_laws([_law("step_ratio"), _law("kepler_third_law")], evidence)
    # right = rho^3: sigma = 3 rho^2 sigma_rho, each part apart
    assert kepler.standard_errors["right"] == pytest.approx(3 * co.R_M_AU**2 * 1e-4, rel=1e-9)
    assert kepler.systematic_errors["right"] == pytest.approx(3 * co.R_M_AU**2 * 3e-4, rel=1e-9)
    # left = (omega_E/omega_M)^2: Mars' step 0.1 % short makes it 0.2 % large, which its systematic error covers
    left = kepler.fitted_constants["left"]
    assert left == pytest.approx((co.T_M_DAYS / co.T_E_DAYS) ** 2 / (1 - 1e-3) ** 2, rel=1e-9)
    assert kepler.systematic_errors["left"] == pytest.approx(2 * left * 1e-3, rel=0.25)
    assert abs(kepler.deviations["left"]) < 2


def test_a_latent_without_series_gives_the_ratio_without_errors():
    evidence = _evidence()
    evidence.latents = evidence.latents.drop(columns=["series"])
    v = _law("step_ratio").check(evidence)
    assert v.verdict == DISCOVERED and v.standard_errors == {} and v.systematic_errors == {}

"""verify passes a true law and fails a false one (synthetic latents and equations, no network)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from stages.simulate import simulate_frame
from stages.verify import DISCOVERED, NOT_DISCOVERED, verify_laws
from systems.copernicus import DT_DAYS, SYSTEM, T_E_DAYS, T_M_DAYS

TS, TM, PE, PM = sp.symbols("theta_S theta_M phi_E phi_M", real=True)
OMEGA_E = 2 * np.pi * DT_DAYS / T_E_DAYS
OMEGA_M = 2 * np.pi * DT_DAYS / T_M_DAYS


def _equations(obs_z1, gt_z0=-PE + 0.4, gt_z1=PM - 1.0, obs_z0=-TS + 0.4 + sp.pi):
    rows = []
    for target, varset, expr in (
        ("z0", "observations", obs_z0),
        ("z0", "ground_truth", gt_z0),
        ("z1", "observations", obs_z1),
        ("z1", "ground_truth", gt_z1),
    ):
        rows.append({"target": target, "variables": varset, "selected": True, "expr": expr})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data():
    frame = simulate_frame(SYSTEM, n_series=40, series_length=20, seed=0)
    latents = frame.assign(z0=np.angle(np.exp(1j * (-frame["phi_E"] + 0.4))), z1=np.angle(np.exp(1j * (frame["phi_M"] - 1.0))))
    fresh = simulate_frame(SYSTEM, n_series=40, series_length=20, seed=1)
    return latents, fresh


def _verify(data, equations, laws=None, steps=(-OMEGA_E, OMEGA_M)):
    latents, fresh = data
    records = verify_laws(
        SYSTEM, laws or SYSTEM.known_laws(), latents=latents, equations=equations, steps=list(steps), fresh=fresh
    )
    return {r["name"]: r for r in records}


TRUE_Z1 = TM - sp.asin(sp.Float(1 / 1.52366231) * sp.sin(TS - TM)) - 1.0


def test_true_laws_are_discovered_with_fitted_constants(data):
    out = _verify(data, _equations(TRUE_Z1))
    assert {name: r["verdict"] for name, r in out.items()} == dict.fromkeys(out, DISCOVERED)
    mars = out["mars_heliocentric_angle"]
    assert mars["fitted_constants"]["rho"] == pytest.approx(1.52366231, rel=1e-6)
    assert mars["relative_errors"]["rho"] < 1e-6
    assert out["latent_holds_phi_E"]["sign"] == -1
    assert out["step_ratio"]["fitted_constants"]["ratio"] == pytest.approx(T_E_DAYS / T_M_DAYS)


def test_a_false_law_is_not_discovered(data):
    mars = next(law for law in SYSTEM.known_laws() if law.name == "mars_heliocentric_angle")
    rho = next(iter(mars.constants))
    false_law = dataclasses.replace(mars, name="mars_equal_radii", fixed={rho: 1.0})
    out = _verify(data, _equations(TRUE_Z1), laws=[*SYSTEM.known_laws()[:2], false_law])
    assert out["mars_equal_radii"]["verdict"] == NOT_DISCOVERED
    assert out["latent_holds_phi_M"]["verdict"] == DISCOVERED


def test_close_fit_of_the_wrong_form_is_not_the_law(data):
    # A polynomial that approximates the angle but is not the law of sines.
    approx = TM - sp.Float(0.69) * sp.sin(TS - TM) - 1.0
    assert _verify(data, _equations(approx))["mars_heliocentric_angle"]["verdict"] == NOT_DISCOVERED


def test_wrong_radius_ratio_and_wrong_steps_are_reported(data):
    wrong = TM - sp.asin(sp.Float(1 / 1.3) * sp.sin(TS - TM)) - 1.0
    out = _verify(data, _equations(wrong), steps=(-OMEGA_E, 0.9 * OMEGA_M))
    assert out["mars_heliocentric_angle"]["verdict"] == NOT_DISCOVERED
    assert out["mars_heliocentric_angle"]["fitted_constants"]["rho"] == pytest.approx(1.3, rel=1e-3)
    assert out["step_ratio"]["verdict"] == NOT_DISCOVERED


def test_shuffled_latents_are_not_discovered(data):
    latents, fresh = data
    shuffled = latents.assign(z1=np.random.default_rng(0).permutation(latents["z1"].to_numpy()))
    out = _verify((shuffled, fresh), _equations(TRUE_Z1))
    assert out["latent_holds_phi_M"]["verdict"] == NOT_DISCOVERED
    assert out["mars_heliocentric_angle"]["verdict"] == NOT_DISCOVERED
    assert out["step_ratio"]["verdict"] == NOT_DISCOVERED

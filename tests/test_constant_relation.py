"""``constant_relation``: Kepler's third law from the learned steps and the Mars law's radius ratio."""

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from pipeline.catalog import DISCOVERED, NOT_CHECKED, NOT_DISCOVERED
from pipeline.registry import get_system
from systems.copernicus import R_M_AU, T_E_DAYS, T_M_DAYS
from systems.laws import Evidence, Holder
from systems.laws.constant_relation import ConstantRelation
from systems.laws.geometry import Match

KEPLER = ConstantRelation(
    name="kepler",
    description="(omega_E/omega_M)^2 = rho^3",
    left=(sp.Symbol("omega_phi_E") / sp.Symbol("omega_phi_M")) ** 2,
    right=sp.Symbol("rho", positive=True) ** 3,
    tolerance=0.02,
)


def _evidence(omega_e, omega_m, rho, rho_verdict=DISCOVERED, signs=(1, -1)):
    evidence = Evidence(
        system=get_system("copernicus"),
        latents=pd.DataFrame(),
        equations=pd.DataFrame(),
        fresh=pd.DataFrame(),
        latent_names=["z0", "z1"],
        active=["z0", "z1"],
        kl={},
        steps=[omega_e * signs[0], omega_m * signs[1]],  # a neuron may hold its angle with either sign
    )
    evidence.holders = {"phi_E": Holder("z0", Match(1.0, signs[0], 0.0)), "phi_M": Holder("z1", Match(1.0, signs[1], 0.0))}
    if rho is not None:
        evidence.fitted["rho"] = (rho, "mars_heliocentric_angle", rho_verdict)
    return evidence


def test_the_true_periods_and_radii_obey_the_law_and_wrong_ones_do_not():
    omega_e, omega_m = 2 * np.pi * 7 / T_E_DAYS, 2 * np.pi * 7 / T_M_DAYS
    v = KEPLER.check(_evidence(omega_e, omega_m, R_M_AU))
    assert v.verdict == DISCOVERED
    assert v.fitted_constants["left"] == pytest.approx(3.5375, rel=1e-3) == v.fitted_constants["right"]
    assert KEPLER.check(_evidence(omega_e, omega_m, 1.45)).verdict == NOT_DISCOVERED  # rho^3 5 % low


def test_a_constant_from_a_law_that_failed_or_is_missing_leaves_it_not_checked():
    v = KEPLER.check(_evidence(0.12, 0.064, 1.52, rho_verdict=NOT_DISCOVERED))
    assert v.verdict == NOT_CHECKED and "not discovered" in v.checks["reason"]
    v = KEPLER.check(_evidence(0.12, 0.064, None))
    assert v.verdict == NOT_CHECKED and "rho" in v.checks["reason"]


def test_copernicus_declares_kepler_third_law_with_the_true_value_on_both_sides():
    law = next(law for law in get_system("copernicus").known_laws() if law.name == "kepler_third_law")
    assert law.true_value == pytest.approx(R_M_AU**3, rel=1e-3)  # Kepler: T^2 ~ a^3, true of the data as simulated

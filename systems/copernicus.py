"""Earth and Mars on circular coplanar orbits, seen from Earth against the fixed stars.

Heliocentric frame, fixed stars along +x.  Earth moves on a circle of radius
``R_E`` with angle ``phi_E``, Mars on a circle of radius ``R_M`` with angle
``phi_M``; both angles advance uniformly.  Seen from Earth:

* the Sun lies along ``-r_E``, so ``theta_S = phi_E + pi``;
* Mars lies along ``r_M - r_E``, so
  ``theta_M = atan2(R_M sin phi_M - R_E sin phi_E, R_M cos phi_M - R_E cos phi_E)``.

Inverting (law of sines in the Sun-Earth-Mars triangle, angle at Earth
``theta_M - theta_S``, angle at Mars ``theta_M - phi_M``)::

    R_E sin(theta_S - theta_M) = R_M sin(theta_M - phi_M)   (with theta_S - phi_E = pi)
    phi_M = theta_M - asin((R_E / R_M) sin(theta_S - theta_M))

The principal asin branch is the right one because Mars is the outer planet:
``|theta_M - phi_M| <= asin(R_E / R_M) < pi / 2``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from systems.base import Column, LatentSpec, PhysicalSystem

R_E_AU = 1.0
R_M_AU = 1.52366231
T_E_DAYS = 365.256
T_M_DAYS = 686.97959
DT_DAYS = 7.0
SERIES_DEFAULTS = {
    "simulate.n_samples": 2000,
    "simulate.series_length": 50,
    "train.curriculum": [5, 20, 50],
    "train.epochs": [40, 40, 140],
    "train.batch_size": 64,
    "train.beta": 1e-4,
    "train.decoder": "linear",
    "train.encoder_units": [64, 64],
    "train.epoch_group": 10,  # 25 steps an epoch: the fixed cost of an epoch was most of the time
}
"""the training of a Sun-and-Mars time series (also copernicus-elliptic's and copernicus-sky's)"""


def sky_angles(phi_e: np.ndarray, phi_m: np.ndarray, *, r_e: float = R_E_AU, r_m: float = R_M_AU):
    """Return ``(theta_S, theta_M)`` in (-pi, pi] for heliocentric angles ``phi_E, phi_M``."""
    theta_s = np.arctan2(-np.sin(phi_e), -np.cos(phi_e))
    theta_m = np.arctan2(r_m * np.sin(phi_m) - r_e * np.sin(phi_e), r_m * np.cos(phi_m) - r_e * np.cos(phi_e))
    return theta_s, theta_m


def heliocentric_angles(theta_s: np.ndarray, theta_m: np.ndarray, *, radius_ratio: float = R_M_AU / R_E_AU):
    """Return ``(phi_E, phi_M)`` in (-pi, pi] from the observed angles (the inverse of :func:`sky_angles`)."""
    phi_e = np.angle(np.exp(1j * (theta_s - np.pi)))
    phi_m = np.angle(np.exp(1j * (theta_m - np.arcsin(np.sin(theta_s - theta_m) / radius_ratio))))
    return phi_e, phi_m


def simulate(*, n_samples: int, series_length: int, rng: np.random.Generator, dt_days: float = DT_DAYS):
    """Simulate ``n_samples`` observation series, each from uniformly random initial orbital angles."""
    n_series = n_samples
    omega_e = 2 * np.pi * dt_days / T_E_DAYS
    omega_m = 2 * np.pi * dt_days / T_M_DAYS
    phi_e0 = rng.uniform(-np.pi, np.pi, size=(n_series, 1))
    phi_m0 = rng.uniform(-np.pi, np.pi, size=(n_series, 1))
    step = np.arange(series_length)[None, :]
    phi_e = np.angle(np.exp(1j * (phi_e0 + omega_e * step)))
    phi_m = np.angle(np.exp(1j * (phi_m0 + omega_m * step)))
    theta_s, theta_m = sky_angles(phi_e, phi_m)
    return {
        "series": np.repeat(np.arange(n_series), series_length),
        "step": np.tile(np.arange(series_length), n_series),
        "t_days": np.tile(np.arange(series_length) * dt_days, n_series),
        "theta_S": theta_s.ravel(),
        "theta_M": theta_m.ravel(),
        "phi_E": phi_e.ravel(),
        "phi_M": phi_m.ravel(),
    }


def _laws():
    from systems.laws import LatentFormula, LatentIsQuantity, StepRatio
    from systems.laws.constant_relation import ConstantRelation
    from systems.laws.observation_model import ObservationModel

    theta_s, theta_m, phi_e, phi_m = sp.symbols("theta_S theta_M phi_E phi_M", real=True)
    rho = sp.Symbol("rho", positive=True)
    return (
        LatentIsQuantity(
            name="latent_holds_phi_E",
            title="A neuron holds Earth's heliocentric angle",
            description="one latent neuron holds the heliocentric angle of Earth (+-phi_E + const, mod 2 pi)",
            expression=phi_e,
        ),
        LatentIsQuantity(
            name="latent_holds_phi_M",
            title="A neuron holds Mars' heliocentric angle",
            description="one latent neuron holds the heliocentric angle of Mars (+-phi_M + const, mod 2 pi)",
            expression=phi_m,
        ),
        LatentFormula(
            name="mars_heliocentric_angle",
            title="Mars' angle from the sky (law of sines)",
            description="phi_M = theta_M - asin(sin(theta_S - theta_M) / rho), rho = R_M/R_E (law of sines)",
            expression=theta_m - sp.asin(sp.sin(theta_s - theta_m) / rho),
            quantity="phi_M",
            constants={rho: R_M_AU / R_E_AU},
            initial={rho: 1.3},
        ),
        ObservationModel(
            name="mars_direction",
            title="Mars' direction from the two neurons",
            description="the network predicts Mars' direction from its two neurons as on circular orbits, theta_M = "
            "atan2(rho sin phi_M - sin phi_E, rho cos phi_M - cos phi_E), with rho = R_M/R_E within 2 %",
            observation="theta_M",
            expression=sp.atan2(rho * sp.sin(phi_m) - sp.sin(phi_e), rho * sp.cos(phi_m) - sp.cos(phi_e)),
            quantities=("phi_E", "phi_M"),
            constants={rho: R_M_AU / R_E_AU},
            initial={rho: 1.3},
            tolerances={rho: 0.02},
        ),
        StepRatio(
            name="step_ratio",
            title="Ratio of the angular steps (Kepler periods)",
            description="ratio of learned angular steps omega_M/omega_E = T_E/T_M (Kepler periods)",
            expression=sp.Symbol("omega_M") / sp.Symbol("omega_E"),
            quantities=("phi_M", "phi_E"),
            true_value=T_E_DAYS / T_M_DAYS,
        ),
        ConstantRelation(
            name="kepler_third_law",
            title="Kepler's third law",
            description="(omega_E/omega_M)^2 = rho^3: the squared ratio of the periods, from the learned steps, equals "
            "the cubed ratio of the radii, from Mars' direction as the network predicts it, within 2 %",
            left=(sp.Symbol("omega_phi_E") / sp.Symbol("omega_phi_M")) ** 2,
            right=rho**3,
            tolerance=0.02,
            true_value=(T_M_DAYS / T_E_DAYS) ** 2,
        ),
    )


SYSTEM = PhysicalSystem(
    name="copernicus",
    description="Earth and Mars on circular orbits observed from Earth (Iten et al. 2020, Fig. 4)",
    encoder=(
        Column("theta_S", "rad", angle=True, doc="direction Earth -> Sun against the fixed stars", symbol=r"\theta_S"),
        Column("theta_M", "rad", angle=True, doc="direction Earth -> Mars against the fixed stars", symbol=r"\theta_M"),
    ),
    answers=(
        Column("theta_S", "rad", angle=True, doc="direction Earth -> Sun against the fixed stars", symbol=r"\theta_S"),
        Column("theta_M", "rad", angle=True, doc="direction Earth -> Mars against the fixed stars", symbol=r"\theta_M"),
    ),
    ground_truth=(
        Column("phi_E", "rad", angle=True, doc="heliocentric angle of Earth", symbol=r"\phi_E"),
        Column("phi_M", "rad", angle=True, doc="heliocentric angle of Mars", symbol=r"\phi_M"),
    ),
    time=Column("t_days", "d", doc="time since the first observation of the series"),
    latent=LatentSpec(size=2, kind="circle", evolution="constant_step"),
    simulator=simulate,
    laws=_laws,
    regress={"observations": ("theta_S", "theta_M"), "ground_truth": ("phi_E", "phi_M")},
    defaults=dict(SERIES_DEFAULTS),
    citation="R. Iten, T. Metger, H. Wilming, L. del Rio, R. Renner, Phys. Rev. Lett. 124, 010508 (2020), Fig. 4",
    degrees_of_freedom=2,
)

"""Earth and Mars on coplanar Kepler ellipses, seen from Earth against the fixed stars (``copernicus-elliptic``).

Heliocentric ecliptic frame, fixed stars along +x.  Each planet moves on an
ellipse with the Sun at a focus: semi-major axis ``a``, eccentricity ``e``,
longitude of perihelion ``varpi``, period ``T``.  Its mean anomaly
``M = M_0 + 2 pi t / T`` advances uniformly; Kepler's equation
``M = E - e sin E`` gives the eccentric anomaly ``E`` (:func:`eccentric_anomaly`,
a vectorised Newton iteration), and

* true anomaly ``nu = 2 atan2(sqrt(1 + e) sin(E/2), sqrt(1 - e) cos(E/2))``,
* radius ``r = a (1 - e cos E)``,
* heliocentric longitude ``lambda = nu + varpi``, position ``r (cos lambda, sin lambda)``.

Seen from Earth, the Sun lies along ``-r_E`` and Mars along ``r_M - r_E``
(:func:`systems.copernicus.sky_angles` with the radii of the moment).

The elements are those of the 2018 code's elliptic variant (``a``, ``e``, ``T``
below).  The perihelion longitudes, which it leaves open, are the J2000 values
(Standish, JPL, "Keplerian elements for approximate positions of the major
planets"): 102.93768 deg for the Earth-Moon barycentre and 336.05637 deg for
Mars.  Equation of the centre, to first order in ``e``:
``nu = M + 2 e sin M + O(e^2)``, and inversely ``M = nu - 2 e sin nu + O(e^2)``.
"""

from __future__ import annotations

import numpy as np

A_E_AU = 1.00000011
A_M_AU = 1.52366231
E_E = 0.01671022
E_M = 0.09341233
T_E_DAYS = 365.256
T_M_DAYS = 686.97959
VARPI_E = np.deg2rad(102.93768)
VARPI_M = np.deg2rad(336.05637)
DT_DAYS = 7.0


def eccentric_anomaly(mean_anomaly, e: float, *, tol: float = 1e-13, max_iter: int = 50) -> np.ndarray:
    """``E`` with ``M = E - e sin E`` for every ``M`` (any shape), ``0 <= e < 1``: Newton's iteration from
    Danby's start ``E = M + 0.85 e sign(sin M)`` (``M`` reduced to (-pi, pi]), to ``|E - e sin E - M| < tol``."""
    if not 0 <= e < 1:
        raise ValueError(f"An ellipse has eccentricity 0 <= e < 1. Received: e={e}")
    m = np.asarray(mean_anomaly, dtype=float)
    turns = np.round(m / (2 * np.pi)) * 2 * np.pi
    m = m - turns
    big_e = m + 0.85 * e * np.sign(np.sin(m))
    for _ in range(max_iter):
        f = big_e - e * np.sin(big_e) - m
        if np.all(np.abs(f) < tol):
            break
        big_e = big_e - f / (1 - e * np.cos(big_e))
    return big_e + turns


def orbit(mean_anomaly, *, a: float, e: float, varpi: float) -> dict[str, np.ndarray]:
    """True anomaly, radius and heliocentric longitude (wrapped to (-pi, pi]) at the given mean anomalies."""
    big_e = eccentric_anomaly(mean_anomaly, e)
    nu = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(big_e / 2), np.sqrt(1 - e) * np.cos(big_e / 2))
    r = a * (1 - e * np.cos(big_e))
    return {"nu": _wrap(nu), "r": r, "longitude": _wrap(nu + varpi)}


def _wrap(angle):
    return np.angle(np.exp(1j * np.asarray(angle, dtype=float)))


def simulate(*, n_samples: int, series_length: int, rng: np.random.Generator, dt_days: float = DT_DAYS):
    """``n_samples`` observation series, each from uniformly random initial mean anomalies, one every ``dt_days``."""
    from systems.copernicus import sky_angles

    m_e0 = rng.uniform(-np.pi, np.pi, size=(n_samples, 1))
    m_m0 = rng.uniform(-np.pi, np.pi, size=(n_samples, 1))
    t = np.arange(series_length)[None, :] * dt_days
    m_e = _wrap(m_e0 + 2 * np.pi * t / T_E_DAYS)
    m_m = _wrap(m_m0 + 2 * np.pi * t / T_M_DAYS)
    earth = orbit(m_e, a=A_E_AU, e=E_E, varpi=VARPI_E)
    mars = orbit(m_m, a=A_M_AU, e=E_M, varpi=VARPI_M)
    theta_s, theta_m = sky_angles(earth["longitude"], mars["longitude"], r_e=earth["r"], r_m=mars["r"])
    return {
        "series": np.repeat(np.arange(n_samples), series_length),
        "step": np.tile(np.arange(series_length), n_samples),
        "t_days": np.tile(t[0], n_samples),
        "theta_S": theta_s.ravel(),
        "theta_M": theta_m.ravel(),
        "M_E": m_e.ravel(),
        "M_M": m_m.ravel(),
        "nu_E": earth["nu"].ravel(),
        "nu_M": mars["nu"].ravel(),
        "r_E": earth["r"].ravel(),
        "r_M": mars["r"].ravel(),
        "lambda_E": earth["longitude"].ravel(),
        "lambda_M": mars["longitude"].ravel(),
    }


def _laws():
    import sympy as sp

    from pipeline.laws import LatentFormula, LatentIsQuantity, StepRatio

    m_e, m_m, nu_m = sp.symbols("M_E M_M nu_M", real=True)
    e = sp.Symbol("e", positive=True)
    return (
        LatentIsQuantity(
            name="latent_holds_M_E",
            title="A neuron holds Earth's mean anomaly",
            description="one latent neuron holds Earth's mean anomaly (+-M_E + const, mod 2 pi)",
            expression=m_e,
        ),
        LatentIsQuantity(
            name="latent_holds_M_M",
            title="A neuron holds Mars' mean anomaly",
            description="one latent neuron holds Mars' mean anomaly (+-M_M + const, mod 2 pi)",
            expression=m_m,
        ),
        StepRatio(
            name="step_ratio",
            title="Ratio of the angular steps (Kepler periods)",
            description="ratio of the learned steps omega_M/omega_E = T_E/T_M",
            expression=sp.Symbol("omega_M") / sp.Symbol("omega_E"),
            quantities=("M_M", "M_E"),
            true_value=T_E_DAYS / T_M_DAYS,
        ),
        LatentFormula(
            name="equation_of_the_centre",
            title="Equation of the centre of Mars",
            description="the Mars neuron's equation in the true anomaly is M = nu - 2 e sin(nu) to first order in e, "
            "with e within 10 % of Mars' 0.0934",
            expression=nu_m - 2 * e * sp.sin(nu_m),
            quantity="M_M",
            constants={e: E_M},
            initial={e: 0.05},
            rtol=0.10,
        ),
    )


def _system():
    from systems.base import Column, LatentSpec, PhysicalSystem
    from systems.copernicus import SERIES_DEFAULTS

    def angle(name, doc, symbol):
        return Column(name, "rad", angle=True, doc=doc, symbol=symbol)

    sky = (
        angle("theta_S", "direction Earth -> Sun against the fixed stars", r"\theta_S"),
        angle("theta_M", "direction Earth -> Mars against the fixed stars", r"\theta_M"),
    )
    return PhysicalSystem(
        name="copernicus-elliptic",
        description="Earth and Mars on coplanar Kepler ellipses observed from Earth (the 2018 code's elliptic elements)",
        encoder=sky,
        answers=sky,
        ground_truth=(
            angle("M_E", "mean anomaly of Earth", "M_E"),
            angle("M_M", "mean anomaly of Mars", "M_M"),
            angle("nu_E", "true anomaly of Earth", r"\nu_E"),
            angle("nu_M", "true anomaly of Mars", r"\nu_M"),
            Column("r_E", "AU", doc="distance Sun-Earth", symbol="r_E"),
            Column("r_M", "AU", doc="distance Sun-Mars", symbol="r_M"),
            angle("lambda_E", "heliocentric ecliptic longitude of Earth", r"\lambda_E"),
            angle("lambda_M", "heliocentric ecliptic longitude of Mars", r"\lambda_M"),
        ),
        time=Column("t_days", "d", doc="time since the first observation of the series"),
        latent=LatentSpec(size=2, kind="circle", evolution="constant_step"),
        simulator=simulate,
        laws=_laws,
        regress={
            "observations": ("theta_S", "theta_M"),
            "mean_anomalies": ("M_E", "M_M"),
            "true_anomalies": ("nu_E", "nu_M"),
        },
        defaults={**SERIES_DEFAULTS, "train.harmonics": 3, "regress.time_budget": 40.0},
        citation="R. Iten, T. Metger, H. Wilming, L. del Rio, R. Renner, Phys. Rev. Lett. 124, 010508 (2020), Fig. 4; "
        "elliptic elements of its public code",
        degrees_of_freedom=2,
    )


SYSTEM = _system()

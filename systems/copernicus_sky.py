"""The real sky: the Sun and Mars seen from Earth, from the JPL ephemeris DE421 (``copernicus-sky``).

Positions come from DE421 through the ``jplephem`` and ``de421`` packages, offline.  They are
barycentric, equatorial ICRF and in km, at TDB Julian dates.
- Earth is the Earth-Moon barycentre minus the Moon's share:
  ``earth = emb - moon_geocentric / (1 + EMRAT)``.
- The geocentric direction of the Sun is ``sun - earth``, of Mars ``mars - earth``; these are geometric positions,
  with no light time or aberration.
- The heliocentric directions of the Earth-Moon barycentre and of Mars are ``emb - sun`` and ``mars - sun``.

Every vector is rotated into the ecliptic and equinox of J2000 by the obliquity
``epsilon = 84381.448"`` about the x axis, ``y' = cos(eps) y + sin(eps) z``; its
longitude is ``atan2(y', x')``.  The mean longitude of a planet is a straight
line fitted to its unwrapped heliocentric longitude against time over
1900-2050.

Samples are windows of ``series_length`` weekly observations whose first day lies on a
weekly grid from 1900-01-01.
- A window that ends by 2030-01-01 is for training.
- A window that starts on or after 2030-01-01 is held out (``split``).
- The network learns from the past and is tested on the future.
"""

from __future__ import annotations

from functools import cache

import numpy as np

JD_1900 = 2415020.5  # 1900-01-01 0h TDB
JD_2030 = 2462502.5  # 2030-01-01
JD_2050 = 2469807.5  # 2050-01-01
OBLIQUITY = np.deg2rad(84381.448 / 3600)
DT_DAYS = 7.0
T_E_DAYS = 365.256
T_M_DAYS = 686.97959
E_M_J2000 = 0.0934006  # Mars' eccentricity at J2000 (Standish, JPL approximate elements)
E_E_J2000 = 0.01671123  # the Earth-Moon barycentre's eccentricity and perihelion longitude at J2000, same source
VARPI_E_J2000_DEG = 102.93768193
A_E_J2000 = 1.00000261  # semi-major axes (AU) of the Earth-Moon barycentre and Mars, same source
A_M_J2000 = 1.52371034


@cache
def _ephemeris():
    try:
        import de421
        from jplephem import Ephemeris
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise ImportError("copernicus-sky needs the packages jplephem and de421: pip install jplephem de421") from exc
    return Ephemeris(de421)


def ecliptic_longitude(vectors: np.ndarray) -> np.ndarray:
    """Longitude in the ecliptic of J2000 of equatorial ICRF vectors, shape (3, n)."""
    x, y, z = vectors
    return np.arctan2(np.cos(OBLIQUITY) * y + np.sin(OBLIQUITY) * z, x)


def positions(jd: np.ndarray) -> dict[str, np.ndarray]:
    """Barycentric ICRF positions (km) of the Sun, the Earth, the Earth-Moon barycentre and Mars at TDB dates ``jd``."""
    eph = _ephemeris()
    jd = np.asarray(jd, dtype=float)
    emb = eph.position("earthmoon", jd)
    earth = emb - eph.position("moon", jd) * eph.earth_share
    return {"sun": eph.position("sun", jd), "earth": earth, "emb": emb, "mars": eph.position("mars", jd)}


def sky(jd: np.ndarray) -> dict[str, np.ndarray]:
    """Geocentric longitudes of the Sun and Mars, heliocentric ones of the Earth-Moon barycentre and Mars."""
    p = positions(jd)
    return {
        "theta_S": ecliptic_longitude(p["sun"] - p["earth"]),
        "theta_M": ecliptic_longitude(p["mars"] - p["earth"]),
        "lambda_E": ecliptic_longitude(p["emb"] - p["sun"]),
        "lambda_M": ecliptic_longitude(p["mars"] - p["sun"]),
    }


@cache
def mean_longitude_lines() -> dict[str, tuple[float, float]]:
    """``(L0, n)`` per planet: the least-squares line ``L0 + n (jd - JD_1900)`` through the unwrapped heliocentric
    longitude, weekly over 1900-2050."""
    jd = np.arange(JD_1900, JD_2050, DT_DAYS)
    s = sky(jd)
    out = {}
    for name in ("lambda_E", "lambda_M"):
        n, l0 = np.polyfit(jd - JD_1900, np.unwrap(s[name]), 1)
        out[name] = (float(l0), float(n))
    return out


def simulate(*, n_samples: int, series_length: int, rng: np.random.Generator, dt_days: float = DT_DAYS):
    """``n_samples`` windows of weekly observations: 80 % start at random in the past (ending by 2030), 20 % in the
    held-out future (starting in 2030 or later, ending by 2050)."""
    span = (series_length - 1) * dt_days
    past = np.arange(JD_1900, JD_2030 - span, dt_days)
    future = np.arange(JD_2030, JD_2050 - span, dt_days)
    n_test = max(1, round(0.2 * n_samples))
    starts = np.concatenate(
        [rng.choice(past, n_samples - n_test, replace=True), rng.choice(future, n_test, replace=n_test > len(future))]
    )
    jd = starts[:, None] + np.arange(series_length)[None, :] * dt_days
    s = sky(jd.ravel())
    lines = mean_longitude_lines()
    mean = {name: np.angle(np.exp(1j * (lines[name][0] + lines[name][1] * (jd.ravel() - JD_1900)))) for name in lines}
    split = np.repeat(np.where(np.arange(n_samples) < n_samples - n_test, "train", "test"), series_length)
    return {
        "series": np.repeat(np.arange(n_samples), series_length),
        "step": np.tile(np.arange(series_length), n_samples),
        "t_days": np.tile(np.arange(series_length) * dt_days, n_samples),
        "jd": jd.ravel(),
        "theta_S": s["theta_S"],
        "theta_M": s["theta_M"],
        "lambda_E": s["lambda_E"],
        "lambda_M": s["lambda_M"],
        "L_E": mean["lambda_E"],
        "L_M": mean["lambda_M"],
        "split": split,
    }


def _laws():
    import sympy as sp

    from systems.copernicus_elliptic import mean_motion_laws, orbit_laws
    from systems.laws import LatentFormula

    lam_m = sp.Symbol("lambda_M", real=True)
    e, varpi = sp.Symbol("e", positive=True), sp.Symbol("varpi", real=True)
    return (
        *mean_motion_laws("L_E", "L_M", "mean longitude", earth_body="the Earth-Moon barycentre's"),
        LatentFormula(
            name="equation_of_the_centre",
            title="Equation of the centre of Mars",
            description="the Mars neuron's equation in the heliocentric longitude is L = lambda - 2 e sin(lambda - varpi) "
            "to first order in e, with e within 10 % of Mars' 0.0934 (varpi, the perihelion longitude, J2000: 336.06 deg)",
            expression=lam_m - 2 * e * sp.sin(lam_m - varpi),
            quantity="L_M",
            constants={e: E_M_J2000, varpi: None},
            initial={e: 0.05, varpi: 0.0},
            rtol=0.10,
            first_order=True,
        ),
        *orbit_laws(
            "L_E",
            "L_M",
            mean_longitudes=True,
            a_ratio=A_M_J2000 / A_E_J2000,
            e_m=E_M_J2000,
            e_earth=E_E_J2000,
            varpi_earth=float(np.deg2rad(VARPI_E_J2000_DEG)),
            varpi_mars=None,  # Mars' perihelion turns 0.44 deg a century in the J2000 frame: no single true value
        ),
    )


def _system():
    from systems.base import Column, LatentSpec, PhysicalSystem
    from systems.copernicus import SERIES_DEFAULTS

    def angle(name, doc, symbol):
        return Column(name, "rad", angle=True, doc=doc, symbol=symbol)

    sky_columns = (
        angle("theta_S", "geocentric ecliptic longitude of the Sun (J2000), DE421", r"\theta_S"),
        angle("theta_M", "geocentric ecliptic longitude of Mars (J2000), DE421", r"\theta_M"),
    )
    return PhysicalSystem(
        name="copernicus-sky",
        description="The Sun and Mars seen from Earth, weekly, from the JPL ephemeris DE421 (1900-2050; "
        "trained on the years before 2030, tested on 2030-2050)",
        encoder=sky_columns,
        answers=sky_columns,
        ground_truth=(
            angle("lambda_E", "heliocentric ecliptic longitude of the Earth-Moon barycentre", r"\lambda_E"),
            angle("lambda_M", "heliocentric ecliptic longitude of Mars", r"\lambda_M"),
            angle("L_E", "mean longitude of the Earth-Moon barycentre (a line fitted to lambda_E)", "L_E"),
            angle("L_M", "mean longitude of Mars (a line fitted to lambda_M)", "L_M"),
            Column("jd", "d", doc="TDB Julian date of the observation", symbol="t"),
        ),
        time=Column("t_days", "d", doc="time since the first observation of the window"),
        latent=LatentSpec(size=2, kind="circle", evolution="constant_step"),
        simulator=simulate,
        laws=_laws,
        regress={
            "observations": ("theta_S", "theta_M"),
            "mean_longitudes": ("L_E", "L_M"),
            "longitudes": ("lambda_E", "lambda_M"),
        },
        defaults={**SERIES_DEFAULTS, "train.harmonics": 3},
        citation="JPL planetary ephemeris DE421 (Folkner et al. 2008), read with jplephem",
        degrees_of_freedom=2,
    )


SYSTEM = _system()

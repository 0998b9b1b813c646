"""The real sky from DE421: the rotation into the ecliptic, the Sun against a textbook formula, and the
chronological hold-out."""

import numpy as np
import pytest

from pipeline.registry import get_system
from pipeline.simulation import simulate_frame
from systems import copernicus_sky as cs


def test_the_ecliptic_rotation_takes_the_ecliptic_pole_to_the_z_axis():
    eps = cs.OBLIQUITY
    # a vector in the ecliptic at longitude 90 deg is (0, cos eps, sin eps) in equatorial coordinates
    assert cs.ecliptic_longitude(np.array([[0.0], [np.cos(eps)], [np.sin(eps)]]))[0] == pytest.approx(np.pi / 2)
    assert cs.ecliptic_longitude(np.array([[1.0], [0.0], [0.0]]))[0] == 0.0  # the equinox


def test_the_sun_agrees_with_the_low_precision_solar_formula():
    """Astronomical Almanac: L = 280.460 + 0.9856474 n, g = 357.528 + 0.9856003 n, lambda = L + 1.915 sin g +
    0.020 sin 2g (deg, n days from J2000; about 0.01 deg, mean equinox of date, so the precession of the
    equinox since J2000, 1.397 deg per century, is removed)"""
    jd = np.linspace(2451545.0 - 36525, 2451545.0 + 18262, 400)
    n = jd - 2451545.0
    g = np.deg2rad(357.528 + 0.9856003 * n)
    formula = np.deg2rad(280.460 + 0.9856474 * n + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g) - 1.397 * n / 36525)
    ours = cs.sky(jd)["theta_S"]
    assert np.max(np.abs(np.angle(np.exp(1j * (ours - formula))))) < np.deg2rad(0.02)


def test_mars_is_retrograde_near_opposition_and_the_heliocentric_and_geocentric_views_agree():
    jd = np.arange(2459100.5, 2459200.5, 1.0)  # around the opposition of 2020-10-13
    s = cs.sky(jd)
    rate = np.diff(np.unwrap(s["theta_M"]))
    assert rate.min() < 0 < rate.max()  # a retrograde loop
    opposition = jd[np.argmin(np.abs(np.angle(np.exp(1j * (s["theta_M"] - s["theta_S"] - np.pi)))))]
    assert abs(opposition - 2459135.5) < 2  # 2020-10-13
    # at opposition the Sun, Earth and Mars are in line: Mars' geocentric and heliocentric longitudes agree
    i = int(np.argmin(np.abs(jd - opposition)))
    assert abs(np.angle(np.exp(1j * (s["theta_M"][i] - s["lambda_M"][i])))) < np.deg2rad(1.5)


def test_the_past_trains_and_the_future_is_held_out():
    system = get_system("copernicus-sky")
    frame = simulate_frame(system, n_samples=50, seed=0, series_length=10)
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    assert train["jd"].max() <= cs.JD_2030 and test["jd"].min() >= cs.JD_2030 and test["jd"].max() < cs.JD_2050
    assert test["series"].nunique() == 10
    # mean longitudes: Mars' mean motion is 360 deg per 686.98 days
    assert cs.mean_longitude_lines()["lambda_M"][1] == pytest.approx(2 * np.pi / 686.98, rel=2e-3)


def _chebyshev_position(name: str, jd: np.ndarray) -> tuple[np.ndarray, float]:
    """DE421's position of ``name`` (km, ICRF), and the Earth-Moon mass ratio, evaluated here from its Chebyshev coefficients with NumPy, not with
    jplephem: the granule that holds each date, its time mapped to [-1, 1], ``chebval`` per axis."""
    import os

    import de421

    folder = os.path.dirname(de421.__file__)
    constants = {k.decode(): v for k, v in np.load(os.path.join(folder, "constants.npy"))}
    sets = np.load(os.path.join(folder, f"jpl-{name}.npy"))  # (granules, 3 axes, coefficients)
    span = (constants["jomega"] - constants["jalpha"]) / len(sets)
    out = np.empty((3, len(jd)))
    for i, t in enumerate(jd):
        k = min(int((t - constants["jalpha"]) // span), len(sets) - 1)
        x = 2 * (t - constants["jalpha"] - k * span) / span - 1
        out[:, i] = [np.polynomial.chebyshev.chebval(x, sets[k, axis]) for axis in range(3)]
    return out, constants["EMRAT"]


def test_the_observations_agree_with_an_independent_evaluation_of_de421_to_a_microradian():
    """Geocentric ecliptic longitudes of the Sun and Mars: the Earth from the Earth-Moon barycentre and the Moon,
    the equator of the ICRF turned into the ecliptic of J2000 by a rotation matrix about the equinox."""
    jd = np.linspace(cs.JD_1900 + 1, cs.JD_2050 - 1, 60)
    sun, _ = _chebyshev_position("sun", jd)
    mars, _ = _chebyshev_position("mars", jd)
    emb, emrat = _chebyshev_position("earthmoon", jd)
    moon, _ = _chebyshev_position("moon", jd)  # geocentric
    earth = emb - moon / (1 + emrat)
    eps = np.deg2rad(84381.448 / 3600)
    to_ecliptic = np.array([[1, 0, 0], [0, np.cos(eps), np.sin(eps)], [0, -np.sin(eps), np.cos(eps)]])
    ours = cs.sky(jd)
    for column, vector in (("theta_S", sun - earth), ("theta_M", mars - earth), ("lambda_M", mars - sun)):
        x, y, _ = to_ecliptic @ vector
        difference = np.angle(np.exp(1j * (ours[column] - np.arctan2(y, x))))
        assert np.abs(difference).max() < 1e-9, column

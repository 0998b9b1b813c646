"""Jupiter and Saturn seen from Earth, weekly from 1900 to 2050, from the JPL ephemeris DE421: a table of
measurements for ``examples/jupiter.toml`` and ``examples/saturn.toml``.

    python examples/outer_planets.py            # writes examples/outer-planets.csv (about 7,800 rows)

The observations are what an astronomer on Earth records: the geocentric ecliptic longitudes (J2000) of the Sun
and of each planet, in degrees.  The other columns are the truth the laws are checked against: each body's
heliocentric ecliptic longitude (the Earth's is the Earth-Moon barycentre's) and its mean longitude (a straight
line fitted to the unwrapped heliocentric longitude over the whole span).  Positions are DE421's geometric ones
(no light time, no aberration), read with ``jplephem``; nothing here uses the scinet package.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import de421
import numpy as np
import pandas as pd
from jplephem import Ephemeris

JD_1900, JD_2050 = 2415020.5, 2469807.5  # 1900-01-01 and 2050-01-01, 0h TDB
OBLIQUITY = np.deg2rad(84381.448 / 3600)  # of J2000


def longitude(v: np.ndarray) -> np.ndarray:
    """Ecliptic longitude (J2000, degrees in (-180, 180]) of equatorial ICRF vectors of shape (3, n)."""
    x, y, z = v
    return np.degrees(np.arctan2(np.cos(OBLIQUITY) * y + np.sin(OBLIQUITY) * z, x))


def mean_longitude(jd: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """A straight line fitted to the unwrapped longitude, wrapped back to (-180, 180]."""
    unwrapped = np.degrees(np.unwrap(np.radians(lam)))
    line = np.polyval(np.polyfit(jd - jd[0], unwrapped, 1), jd - jd[0])
    return (line + 180.0) % 360.0 - 180.0


def table(step_days: float = 7.0) -> pd.DataFrame:
    eph = Ephemeris(de421)
    jd = np.arange(JD_1900, JD_2050, step_days)
    emb = eph.position("earthmoon", jd)
    earth = emb - eph.position("moon", jd) * eph.earth_share
    sun = eph.position("sun", jd)
    out = {"jd": jd, "theta_Sun": longitude(sun - earth)}
    bodies = {"J": eph.position("jupiter", jd), "Sat": eph.position("saturn", jd)}
    for name, pos in bodies.items():
        out[f"theta_{name}"] = longitude(pos - earth)
    out["lambda_E"] = longitude(emb - sun)
    for name, pos in bodies.items():
        out[f"lambda_{name}"] = longitude(pos - sun)
    for name in ("E", *bodies):
        out[f"L_{name}"] = mean_longitude(jd, out[f"lambda_{name}"])
    return pd.DataFrame(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("outer-planets.csv"))
    args = parser.parse_args()
    frame = table()
    frame.to_csv(args.out, index=False, float_format="%.10g")
    print(f"wrote {args.out}: {len(frame)} weekly rows, {frame.columns.size} columns")

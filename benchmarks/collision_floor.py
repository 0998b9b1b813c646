"""How closely can anything answer the collision's question?  A floor for the network's answer RMS.

The answer's labels carry noise 0.01 per coordinate, and the recording before the
collision determines ``L = w - v_x`` only to within its own noise.  This script
fits each recording by maximum likelihood with everything the experiment fixes
(both particles meet at (0, 1) at one time ``t_c``; least squares for ``v_x, v_y,
w, t_c``, started from per-particle line fits), reads ``v_x'`` from the free
particle's path after the collision, predicts the answer by conservation of ``L``,
and prints the RMS of that prediction against the noisy labels, the number to
compare with ``history.json``'s ``prediction_rms``::

    python benchmarks/collision_floor.py --samples 2000 --seed 5

The true ``L`` and ``v_x'`` give the labels' own noise (about 0.01).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import least_squares

from systems.collision import W_RANGE, simulate


def slope(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    tm, ym = t.mean(1, keepdims=True), y.mean(1, keepdims=True)
    return ((t - tm) * (y - ym)).sum(1) / ((t - tm) ** 2).sum(1)


def rotation_rate(c) -> np.ndarray:
    """w from the rotating particle's recorded angles, each step unwrapped to the turn nearest the middle of W_RANGE."""
    raw = np.arctan2(c["rot_y"], c["rot_x"])
    dt, da = np.diff(c["rot_t"], axis=1), np.diff(raw, axis=1)
    turns = np.round((np.mean(W_RANGE) * dt - da) / (2 * np.pi))
    angle = np.concatenate([raw[:, :1], raw[:, :1] + np.cumsum(da + 2 * np.pi * turns, axis=1)], axis=1)
    return slope(c["rot_t"], angle)


def joint_fit(c, i: int, v_x: float, w: float) -> np.ndarray:
    tf, xf, yf = c["free_t"][i], c["free_x"][i], c["free_y"][i]
    tr, xr, yr = c["rot_t"][i], c["rot_x"][i], c["rot_y"][i]

    def residual(p):
        vx, vy, ww, tc = p
        a = np.pi / 2 + ww * (tr - tc)
        return np.concatenate([xf - vx * (tf - tc), yf - 1 - vy * (tf - tc), np.cos(a) - xr, np.sin(a) - yr])

    start = [v_x, slope(tf[None], yf[None])[0], w, -xf[0] / v_x]
    return least_squares(residual, start).x


def rms(c, L: np.ndarray, v_x_out: np.ndarray) -> float:
    angle = np.pi / 2 + (L + v_x_out) * c["t_p"][: len(L)]
    n = len(L)
    return float(np.sqrt(np.mean((np.cos(angle) - c["x_p"][:n]) ** 2 + (np.sin(angle) - c["y_p"][:n]) ** 2) / 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    c = simulate(n_samples=args.samples, rng=np.random.default_rng(args.seed))
    v_x, w, v_x_out = slope(c["free_t"], c["free_x"]), rotation_rate(c), slope(c["out_t"], c["out_x"])
    fits = np.array([joint_fit(c, i, v_x[i], w[i]) for i in range(args.samples)])
    L_ml, L_true = fits[:, 2] - fits[:, 0], c["w"] - c["v_x"]
    print(f"samples {args.samples}, seed {args.seed}")
    print(
        f"L from per-particle line fits:  RMS error {np.sqrt(np.mean((w - v_x - L_true) ** 2)):.4f}, answer RMS {rms(c, w - v_x, v_x_out):.4f}"
    )
    print(
        f"L by maximum likelihood:        RMS error {np.sqrt(np.mean((L_ml - L_true) ** 2)):.4f}, answer RMS {rms(c, L_ml, v_x_out):.4f}"
    )
    print(f"true L and v_x' (label noise):  answer RMS {rms(c, L_true, c['v_x_out']):.4f}")


if __name__ == "__main__":
    main()

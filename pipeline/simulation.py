"""Simulated samples as a frame: the system's simulator, checked, with a seeded held-out split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import ScinetError


def simulate_frame(
    system, *, n_samples: int, seed: int, series_length: int | None = None, test_fraction: float = 0.2, noise: float = 0.0
) -> pd.DataFrame:
    """Simulate ``n_samples`` samples (series) and mark a seeded ``test_fraction`` of them ``test`` (unless the
    simulator returns its own ``split`` column, "train" or "test" per row, which is kept).

    ``noise`` is the standard deviation of Gaussian noise added to every column the network
    sees (encoder inputs, questions, answers; angles wrapped to (-pi, pi]); the ground truth
    stays exact.  The noise has its own random stream, so the same seed gives the same
    noise-free samples with or without it.  Vector columns (``Column(size=k)``) become list
    columns (one array of ``k`` values per row).
    """
    rng = np.random.default_rng(seed)
    columns = dict(system.simulate(n_samples=n_samples, rng=rng, series_length=series_length))
    keys = ["series", "step"] if system.is_series else []
    expected = [*keys, *system.columns]
    missing = [c for c in expected if c not in columns]
    if missing:
        raise ScinetError(f"The simulator of system {system.name!r} did not return columns {missing}. Fix its module.")
    lengths = {len(np.asarray(columns[c])) for c in expected}
    if len(lengths) != 1:
        raise ScinetError(
            f"The simulator of system {system.name!r} returned columns of different lengths {sorted(lengths)}. Fix its module."
        )
    data = {}
    for name in expected:
        arr = np.asarray(columns[name])
        size = system.columns[name].size if name in system.columns else 1
        if size > 1:
            if arr.shape[1:] != (size,):
                raise ScinetError(
                    f"The simulator of system {system.name!r} returned column {name!r} with shape {arr.shape}; "
                    f"expected (n, {size}) as declared. Fix its module."
                )
            if not np.isfinite(arr).all():
                raise ScinetError(f"The simulator of system {system.name!r} returned NaN or infinite values in {name!r}.")
            data[name] = list(arr.astype(float))
        else:
            if arr.ndim != 1:
                raise ScinetError(
                    f"The simulator of system {system.name!r} returned column {name!r} with shape {arr.shape}; expected (n,)."
                )
            if name not in keys and not np.isfinite(arr.astype(float)).all():
                raise ScinetError(f"The simulator of system {system.name!r} returned NaN or infinite values in {name!r}.")
            data[name] = arr
    if noise < 0 or not np.isfinite(noise):
        raise ScinetError(f"`simulate.noise` must be a standard deviation >= 0. Received: {noise}.")
    if noise > 0:
        noise_rng = np.random.default_rng([seed, 7919])
        for col in system.observed:
            arr = np.asarray(data[col.name], dtype=float) if col.size == 1 else np.stack(data[col.name])
            arr = arr + noise_rng.normal(scale=noise, size=arr.shape)
            if col.angle:
                arr = np.angle(np.exp(1j * arr))
            data[col.name] = arr if col.size == 1 else list(arr)
    frame = pd.DataFrame(data)
    if "split" in columns:  # the simulator's own hold-out (the real sky: train on the past, test on the future)
        given = np.asarray(columns["split"]).astype(str)
        if len(given) != len(frame) or not set(given) <= {"train", "test"}:
            raise ScinetError(
                f"The simulator of system {system.name!r} returned a `split` column that is not 'train' or 'test' "
                "for every row. Fix its module."
            )
        frame.insert(len(keys), "split", given)
        return frame
    n_units = n_samples
    unit = frame["series"].to_numpy() if system.is_series else np.arange(len(frame))
    n_test = max(1, round(test_fraction * n_units))
    test = rng.permutation(n_units)[:n_test]
    frame.insert(len(keys), "split", np.where(np.isin(unit, test), "test", "train"))
    return frame


def fresh_samples(
    system, held_out: pd.DataFrame, *, n_samples: int, seed: int, series_length: int | None = None, replace: bool = False
) -> pd.DataFrame:
    """Samples the network was not trained on, for the law checks and the probe: newly simulated ones, or, for a
    system of measured data (:attr:`systems.base.PhysicalSystem.measured`), ``n_samples`` of the held-out samples
    ``held_out`` (rows of the observations or latents marked ``test``), drawn with the seed: every one of them, once
    each, where fewer are held out than asked for, unless ``replace`` (the probe's pool of questions) draws them again."""
    if not system.measured:
        return simulate_frame(system, n_samples=n_samples, seed=seed, series_length=series_length)
    rng = np.random.default_rng(seed)
    keep = [c for c in ("series", "step", *system.columns) if c in held_out.columns]
    if held_out.empty:
        return held_out[keep].reset_index(drop=True)
    if not system.is_series:
        n = n_samples if replace or n_samples <= len(held_out) else len(held_out)
        rows = rng.choice(len(held_out), n, replace=n > len(held_out))
        return held_out[keep].iloc[rows].reset_index(drop=True)
    ids = np.unique(held_out["series"].to_numpy())
    n = n_samples if replace or n_samples <= len(ids) else len(ids)
    chosen = rng.choice(ids, n, replace=n > len(ids))
    frame = held_out[keep]
    if series_length is not None:
        frame = frame[frame["step"] < series_length]
    groups = dict(tuple(frame.sort_values(["series", "step"]).groupby("series", sort=False)))
    parts = [groups[s].assign(series=i) for i, s in enumerate(chosen)]
    return pd.concat(parts, ignore_index=True)

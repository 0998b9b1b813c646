"""Model inputs and targets from a frame of samples, for either shape of experiment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.catalog import vector
from pipeline.errors import ArtifactError


def to_numpy(x) -> np.ndarray:
    """A backend tensor, a Keras variable or an array as a NumPy array: detached from the gradient and copied
    to the host (``np.asarray`` fails on a PyTorch tensor that needs a gradient or lives on a GPU)."""
    from keras import ops

    return ops.convert_to_numpy(x)


def split(frame: pd.DataFrame, name: str | None) -> pd.DataFrame:
    return frame if name is None else frame[frame["split"] == name]


def model_arrays(frame: pd.DataFrame, system) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``({"x": ..., "q": ...}, y)`` for the model.

    Question and answer: one sample per row; ``x`` (n, n_enc), ``q`` (n, n_q), ``y`` (n, n_ans).
    Time series: one series per sample, ``x`` from its first row, ``q`` and ``y`` (n, steps, .).
    """
    if not system.is_series:
        inputs = {"x": vector(frame, system.encoder_names, system)}
        if system.questions:
            inputs["q"] = vector(frame, system.question_names, system)
        return inputs, vector(frame, system.answer_names, system)
    frame = frame.sort_values(["series", "step"])
    counts = frame.groupby("series").size()
    if counts.nunique() != 1:
        raise ArtifactError(
            f"Observation series have different lengths ({counts.min()} to {counts.max()} steps). "
            f"Re-create them with `scinet simulate {system.name} --force`."
        )
    n, steps = len(counts), int(counts.iloc[0])

    def series(names):
        arr = vector(frame, names, system)
        return arr.reshape(n, steps, arr.shape[-1])

    inputs = {"x": series(system.encoder_names)[:, 0]}
    if system.questions:
        inputs["q"] = series(system.question_names)
    return inputs, series(system.answer_names)


def angle_mask(columns) -> list[bool]:
    """One flag per model input or output value: is it an angle."""
    return [c.angle for c in columns for _ in range(c.size)]


def wrapped(d: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * d))


def answer_errors(pred: np.ndarray, y: np.ndarray, system) -> np.ndarray:
    """Prediction errors (angles wrapped to (-pi, pi])."""
    err = np.asarray(pred, dtype=float) - y
    for i, is_angle in enumerate(angle_mask(system.answers)):
        if is_angle:
            err[..., i] = wrapped(err[..., i])
    return err

"""Stage 2: train the beta-VAE SciNet on the observation series."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from pipeline.errors import ArtifactError, TrainingError
from pipeline.orchestrate import StageContext
from pipeline.rundir import atomic_path, read_parquet, write_json

log = logging.getLogger("scinet")


def series_arrays(frame: pd.DataFrame, columns: list[str], split: str | None = None) -> np.ndarray:
    """Rows of ``frame`` as an array (n_series, series_length, len(columns)), ordered by series and step."""
    if split is not None:
        frame = frame[frame["split"] == split]
    frame = frame.sort_values(["series", "step"])
    counts = frame.groupby("series").size()
    if counts.nunique() != 1:
        raise ArtifactError("Observation series have different lengths. Re-create them with `scinet simulate --force`.")
    return frame[columns].to_numpy(dtype="float32").reshape(len(counts), int(counts.iloc[0]), len(columns))


def load_observations(ctx: StageContext) -> tuple[pd.DataFrame, dict]:
    system = ctx.system
    frame, meta = read_parquet(
        ctx.path("observations.parquet"),
        producer="simulate",
        kind="observations",
        system=system.name,
        columns=["series", "step", "split", *system.observation_names, *system.ground_truth_names],
    )
    values = frame[system.observation_names].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        raise ArtifactError(
            f"{ctx.path('observations.parquet')} has {bad} rows with NaN or infinite observations. "
            f"Re-create it with `scinet simulate {system.name} --force` or clean the data."
        )
    return frame, meta


def wrapped(d: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * d))


def prediction_rms(model, series: np.ndarray, angle_mask: list[bool]) -> dict[str, float]:
    """RMS error of the deterministic prediction of the whole series from its first observation."""
    pred = np.asarray(model.predict_series(series[:, 0], series.shape[1]))
    err = pred - series
    for i, is_angle in enumerate(angle_mask):
        if is_angle:
            err[..., i] = wrapped(err[..., i])
    return {
        "all": float(np.sqrt(np.mean(err**2))),
        **{str(i): float(np.sqrt(np.mean(err[..., i] ** 2))) for i in range(series.shape[-1])},
    }


def run(ctx: StageContext) -> None:
    import keras

    from stages.scinet_model import SciNet

    system, cfg = ctx.system, ctx.config.train
    if system.latent.questions:
        raise TrainingError(
            f"System {system.name!r} declares question inputs {list(system.latent.questions)}, which this SciNet "
            "does not feed to its decoder yet. Declare the system without questions or extend stages/scinet_model.py."
        )
    frame, _ = load_observations(ctx)
    names = system.observation_names
    angle_mask = [c.angle for c in system.observations]
    train = series_arrays(frame, names, "train")
    test = series_arrays(frame, names, "test")
    keras.utils.set_random_seed(ctx.config.seed)
    model = SciNet(
        angle_mask=angle_mask,
        latent_size=system.latent.size,
        latent_kind=system.latent.kind,
        encoder_units=cfg.encoder_units,
        decoder=cfg.decoder,
        decoder_units=cfg.decoder_units,
        series_length=cfg.curriculum[0],
        beta=cfg.beta,
        seed=ctx.config.seed,
    )
    history: dict[str, list] = {"loss": [], "series_length": [], "val_loss": []}
    total = sum(cfg.epochs)
    done = 0

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal done
            done += 1
            loss = float((logs or {}).get("loss", math.nan))
            if not math.isfinite(loss):
                return
            if done % 10 == 0 or done == total:
                log.info("train: epoch %d/%d  series length %d  loss %.5f", done, total, model.series_length, loss)

    for phase, (length, epochs) in enumerate(zip(cfg.curriculum, cfg.epochs, strict=True)):
        model.series_length = length
        last = phase == len(cfg.curriculum) - 1
        steps = epochs * math.ceil(len(train) / cfg.batch_size)
        lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.05) if last else cfg.learning_rate
        model.compile(optimizer=keras.optimizers.Adam(lr))
        fit = model.fit(
            train[:, 0],
            train[:, :length],
            validation_data=(test[:, 0], test[:, :length]),
            batch_size=cfg.batch_size,
            epochs=epochs,
            shuffle=True,
            verbose=0,
            callbacks=[keras.callbacks.TerminateOnNaN(), Progress()],
        )
        losses = fit.history.get("loss", [])
        if not losses or not all(math.isfinite(v) for v in losses):
            raise TrainingError(
                f"Training diverged: the loss became NaN in phase {phase + 1} (series length {length}). "
                f"Nothing was saved. Lower train.learning_rate (now {cfg.learning_rate}) or train.beta (now {cfg.beta}), "
                "or check the observations for NaN."
            )
        history["loss"] += [float(v) for v in losses]
        history["val_loss"] += [float(v) for v in fit.history.get("val_loss", [])]
        history["series_length"] += [length] * len(losses)

    model.series_length = cfg.curriculum[-1]
    rms = prediction_rms(model, test, angle_mask)
    result = {
        "history": history,
        "omega": [float(w) for w in np.asarray(model.omega)],
        "prediction_rms": {
            "series_length": int(test.shape[1]),
            "all": rms["all"],
            **{n: rms[str(i)] for i, n in enumerate(names)},
        },
        "backend": keras.backend.backend(),
    }
    log.info("train: test-series prediction RMS over %d steps: %.4f", test.shape[1], rms["all"])
    with atomic_path(ctx.path("model.keras")) as tmp:
        model.save(tmp)
    write_json(ctx.path("history.json"), result)


def load_model(ctx: StageContext):
    """Load the trained model with Keras safe mode on (no arbitrary code from the file)."""
    import keras

    from stages.scinet_model import SciNet

    path = ctx.path("model.keras")
    try:
        return keras.saving.load_model(path, safe_mode=True, custom_objects={"SciNet": SciNet})
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ArtifactError(
            f"{path} could not be loaded as a SciNet model ({type(exc).__name__}: {exc}). "
            f"Re-create it with `scinet train {ctx.system.name} --force`."
        ) from exc

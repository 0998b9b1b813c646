"""Stage 2: train the beta-VAE SciNet on the simulated samples."""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from pipeline.arrays import angle_mask, answer_errors, model_arrays, split
from pipeline.catalog import History, read_observations, write_model
from pipeline.context import StageContext
from pipeline.errors import TrainingError

log = logging.getLogger("scinet")


def build_model(ctx: StageContext, series_length: int):
    from pipeline.model import SciNet

    system, cfg = ctx.system, ctx.config.train
    return SciNet(
        encoder_angles=angle_mask(system.encoder),
        question_angles=angle_mask(system.questions),
        answer_angles=angle_mask(system.answers),
        latent_size=cfg.latent_size,
        latent_kind=system.latent.kind,
        evolution=system.latent.evolution,
        encoder_units=cfg.encoder_units,
        decoder=cfg.decoder,
        decoder_units=cfg.decoder_units,
        series_length=series_length,
        beta=cfg.beta,
        seed=ctx.config.seed,
    )


def prediction_rms(model, inputs, y, system) -> dict[str, float]:
    """RMS error of the deterministic prediction (latent means) on held-out samples, overall and per answer."""
    pred = np.asarray(model.answer(inputs, steps=y.shape[1] if system.is_series else None))
    err = answer_errors(pred, y, system)
    out = {"all": float(np.sqrt(np.mean(err**2)))}
    names = [f"{c.name}[{k}]" if c.size > 1 else c.name for c in system.answers for k in range(c.size)]
    out.update({n: float(np.sqrt(np.mean(err[..., i] ** 2))) for i, n in enumerate(names)})
    return out


def run(ctx: StageContext) -> None:
    import keras

    system, cfg = ctx.system, ctx.config.train
    frame = read_observations(ctx)
    train_in, train_y = model_arrays(split(frame, "train"), system)
    test_in, test_y = model_arrays(split(frame, "test"), system)
    lengths = cfg.curriculum if system.is_series else [1]
    keras.utils.set_random_seed(ctx.config.seed)
    model = build_model(ctx, lengths[0])
    history = History(latent_size=cfg.latent_size, backend=keras.backend.backend())
    total, done, start = sum(cfg.epochs), 0, time.perf_counter()

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal done
            done += 1
            loss = float((logs or {}).get("loss", math.nan))
            if math.isfinite(loss) and (done % max(1, total // 20) == 0 or done == total):
                log.info(
                    "train: epoch %d/%d  loss %.3g  val_loss %.3g",
                    done,
                    total,
                    loss,
                    float((logs or {}).get("val_loss", math.nan)),
                )

    for phase, (length, epochs) in enumerate(zip(lengths, cfg.epochs, strict=True)):
        model.series_length = length
        last = phase == len(lengths) - 1
        steps = epochs * math.ceil(len(train_y) / cfg.batch_size)
        lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.05) if last else cfg.learning_rate
        model.compile(optimizer=keras.optimizers.Adam(lr))
        fit = model.fit(
            train_in,
            train_y,
            validation_data=(test_in, test_y),
            batch_size=cfg.batch_size,
            epochs=epochs,
            shuffle=True,
            verbose=0,
            callbacks=[keras.callbacks.TerminateOnNaN(), Progress()],
        )
        losses = fit.history.get("loss", [])
        if not losses or not all(math.isfinite(v) for v in losses):
            where = f" in phase {phase + 1} (series length {length})" if system.is_series else ""
            raise TrainingError(
                f"Training diverged: the loss became NaN{where}. Nothing was saved. "
                f"Lower train.learning_rate (now {cfg.learning_rate}) or train.beta (now {cfg.beta}), "
                "or check the observations for NaN."
            )
        history.loss += [float(v) for v in losses]
        history.val_loss += [float(v) for v in fit.history.get("val_loss", [])]
        history.phase += [phase] * len(losses)

    model.series_length = lengths[-1]
    history.prediction_rms = prediction_rms(model, test_in, test_y, system)
    history.steps = [float(w) for w in np.asarray(model.omega)] if system.is_series else None
    history.seconds = round(time.perf_counter() - start, 2)
    log.info("train: held-out prediction RMS %.4f", history.prediction_rms["all"])
    write_model(ctx, model, history)

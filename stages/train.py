"""Stage 2: train the beta-VAE SciNet on the simulated samples."""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import time
from pathlib import Path

import numpy as np

from pipeline import progress
from pipeline.arrays import angle_mask, answer_errors, model_arrays, split, to_numpy
from pipeline.catalog import History, artifact_hash, read_observations, write_model
from pipeline.config import result_settings
from pipeline.context import StageContext
from pipeline.errors import ConfigError, TrainingError
from pipeline.rundir import atomic_path, text_hash, write_json, write_text
from pipeline.stage import Output, Stage

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
        harmonics=cfg.harmonics,
        series_length=series_length,
        beta=cfg.beta,
        seed=ctx.config.seed,
    )


def prediction_rms(model, inputs, y, system) -> dict[str, float]:
    """RMS error of the deterministic prediction (latent means) on held-out samples, overall and per answer."""
    pred = to_numpy(model.answer(inputs, steps=y.shape[1] if system.is_series else None))
    err = answer_errors(pred, y, system)
    out = {"all": float(np.sqrt(np.mean(err**2)))}
    names = [f"{c.name}[{k}]" if c.size > 1 else c.name for c in system.answers for k in range(c.size)]
    out.update({n: float(np.sqrt(np.mean(err[..., i] ** 2))) for i, n in enumerate(names)})
    return out


def _head(inputs: dict) -> dict:
    return {k: v[:2] for k, v in inputs.items()}


def read_losses(path) -> tuple[list[float], list[float]]:
    """The losses and held-out losses of one phase, epoch by epoch, from the file :func:`losses_callback`
    appends to (the last line written for an epoch counts: a resumed epoch is written again)."""
    rows: dict[int, dict] = {}
    if path.is_file():
        for text in path.read_text().splitlines():
            try:
                row = json.loads(text)
            except (ValueError, RecursionError):
                continue  # a line cut short by a kill
            if isinstance(row, dict) and isinstance(row.get("epoch"), int) and isinstance(row.get("loss"), int | float):
                rows[row["epoch"]] = {
                    "loss": row["loss"],
                    "val_loss": row.get("val_loss") if isinstance(row.get("val_loss"), int | float) else None,
                }
    ordered = [rows[k] for k in sorted(rows)]
    return [r["loss"] for r in ordered], [r["val_loss"] for r in ordered]


def losses_callback(path):
    """A Keras callback that appends each epoch's losses to ``path`` as the epoch ends, so that a phase
    resumed after a kill still reports every epoch."""
    import keras

    def append(epoch, logs=None):
        logs = logs or {}
        row = {
            "epoch": int(epoch),
            "loss": float(logs.get("loss", math.nan)),
            "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,  # every train.validate_every
        }
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")

    return keras.callbacks.LambdaCallback(on_epoch_end=append)


class _Progress:
    """Epochs done of the whole training, shown on the progress bar or logged every twentieth of it."""

    def __init__(self, total: int, pbar) -> None:
        self.total, self.done, self.pbar = total, 0, pbar
        self.val_loss = math.nan

    def advance(self, epochs: int) -> None:
        """Epochs done without a Keras epoch: a phase an earlier run finished, or the part of one it resumes."""
        self.done += epochs
        if self.pbar is not None:
            self.pbar.update(epochs)

    def callback(self, group: int):
        """The Keras callback for a phase whose Keras epochs are ``group`` epochs each."""
        import keras

        def epoch_end(epoch, logs=None):
            before, self.done = self.done, self.done + group
            loss = float((logs or {}).get("loss", math.nan))
            self.val_loss = float((logs or {}).get("val_loss", self.val_loss))  # the latest (every train.validate_every)
            every = max(1, self.total // 20)
            if self.pbar is not None:
                self.pbar.set_postfix(loss=f"{loss:.3g}", val_loss=f"{self.val_loss:.3g}")
                self.pbar.update(group)
            elif math.isfinite(loss) and (self.done // every > before // every or self.done == self.total):
                log.info("train: epoch %d/%d  loss %.3g  val_loss %.3g", self.done, self.total, loss, self.val_loss)

        return keras.callbacks.LambdaCallback(on_epoch_end=epoch_end)


def _rows(seed: int, phase: int, epoch: int, n: int, group: int) -> np.ndarray:
    """The training rows of Keras epoch ``epoch`` (0-based) of ``phase``, in order: ``group`` passes over the
    ``n`` rows, each shuffled.  The order depends on the seed, phase and epoch alone, so a run resumed at any
    epoch sees what an uninterrupted run saw, on every Keras backend."""
    rng = np.random.default_rng([seed, phase, epoch])
    return np.concatenate([rng.permutation(n) for _ in range(group)])


def _fit_data(inputs: dict, y: np.ndarray, batch_size: int, *, held_out: bool = False) -> dict:
    """The keyword arguments of ``model.fit`` that give it ``inputs`` and ``y`` in batches of ``batch_size``,
    in their order (as its validation data where ``held_out``).  On TensorFlow a plain ``tf.data`` pipeline:
    Keras builds its own anew for every call of ``fit``, at 0.1 s a call (half of it tracing).  Elsewhere
    the arrays, which Keras slices itself at no cost."""
    import keras

    if keras.backend.backend() != "tensorflow":
        if held_out:
            return {"validation_data": (inputs, y), "validation_batch_size": batch_size}
        return {"x": inputs, "y": y, "batch_size": batch_size}
    import tensorflow as tf

    batches = tf.data.Dataset.from_tensor_slices((inputs, y)).batch(batch_size).prefetch(2)
    return {"validation_data": batches} if held_out else {"x": batches}


BACKUP = ".train-backup"
"""folder in the run directory where an unfinished training keeps its state (removed when it ends)"""


class Backup:
    """Where a killed training resumes from.  Each phase that ends is saved whole (``phaseN.keras``
    with its losses in ``phaseN.json``); the phase under way is backed up at the end of a (Keras) epoch,
    every ``train.backup_every`` seconds (weights and optimizer state, ``phaseN/epochE.weights.h5``).
    Each epoch's row order and noise depend on the seed, phase and epoch alone (:func:`_rows`,
    :meth:`pipeline.model.SciNet.reseed`), so a resumed training ends with the bytes an uninterrupted
    one would.  The folder belongs to one set of inputs and settings (``key``): anything else there is
    discarded."""

    def __init__(self, ctx: StageContext, key: str):
        self.root = ctx.path(BACKUP)
        self.key = key
        if (self.root.exists() or self.root.is_symlink()) and self._key() != key:
            self.remove()
        self._start()

    def _start(self) -> None:
        """The folder, with its key (an empty backup)."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_text(self.root / "key", self.key)

    def resume_from(self, phases: int):
        """The model of the last phase that ended (every one before it ended too), loaded, with the phase;
        ``(None, -1)`` if none did.  A backup
        that cannot be read back (a file that is not ours, cut short, or a folder where a file belongs) is
        discarded whole with a warning, and the training starts again: never trusted, never fatal."""
        last = -1
        while last + 1 < phases and self.finished(last + 1) is not None:  # the phases end in order
            last += 1
        if last < 0:
            return None, -1
        try:
            return self.model(last), last
        except Exception as exc:  # noqa: BLE001 - whatever Keras raises on a file that is not a model
            log.warning("train: the backup of phase %d cannot be read back (%s): discarded, training starts again", last + 1, exc)
            self.remove()
            self._start()
            return None, -1

    def _key(self) -> str | None:
        try:
            return (self.root / "key").read_text()
        except OSError:
            return None

    def finished(self, phase: int) -> dict | None:
        """The losses of a phase that ended (None if it did not, or if its record is not a pair of lists of
        numbers, ``loss`` and ``val_loss``)."""
        path = self.root / f"phase{phase}.json"
        if not (path.is_file() and (self.root / f"phase{phase}.keras").is_file()):
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            return None
        ok = isinstance(record, dict) and all(
            isinstance(record.get(k), list) and all(v is None or isinstance(v, int | float) for v in record[k])
            for k in ("loss", "val_loss")
        )
        return record if ok else None

    def model(self, phase: int):
        import keras

        from pipeline.model import SciNet

        return keras.saving.load_model(self.root / f"phase{phase}.keras", safe_mode=True, custom_objects={"SciNet": SciNet})

    def save_phase(self, phase: int, model, losses: dict) -> None:
        for name in (f"phase{phase}.keras", f"phase{phase}.json"):  # whatever stood there, a folder even
            if (self.root / name).is_dir():
                _delete(self.root / name)
        with atomic_path(self.root / f"phase{phase}.keras") as tmp:
            model.save(tmp)
        write_json(self.root / f"phase{phase}.json", losses)
        shutil.rmtree(self.root / f"phase{phase}", ignore_errors=True)

    def save_epoch(self, phase: int, model, epochs: int) -> None:
        """Back up the phase under way after ``epochs`` of its (Keras) epochs: weights and optimizer state in
        ``phaseN/epochE.weights.h5``, written whole or not at all, then the older backups removed."""
        folder = self.root / f"phase{phase}"
        if not folder.is_dir() or folder.is_symlink():
            _delete(folder)
        with atomic_path(folder / f"epoch{epochs}.weights.h5") as tmp:
            model.save_weights(tmp)
        for old in folder.iterdir():
            if old.name != f"epoch{epochs}.weights.h5":
                _delete(old)

    def resume_epoch(self, phase: int, model) -> int:
        """Load the backup of the phase under way into ``model`` (built and compiled); the epochs it holds
        (0 if there is none).  One that does not load raises :class:`UnreadableBackup`: the model may be
        half loaded, so the training starts again."""
        folder = self.root / f"phase{phase}"
        found = sorted(
            (int(m[1]), path)
            for path in (folder.iterdir() if folder.is_dir() else ())
            if (m := re.fullmatch(r"epoch(\d{1,9})\.weights\.h5", path.name)) and path.is_file()
        )
        if not found:
            if folder.exists() or folder.is_symlink():  # nothing of ours in it
                self.discard(phase)
            return 0
        epochs, path = found[-1]
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(path)
        except Exception as exc:  # noqa: BLE001 - whatever Keras raises on a file that is not its own
            raise UnreadableBackup(f"the backup of phase {phase + 1} cannot be read back ({exc})") from exc
        return epochs

    def discard(self, phase: int) -> None:
        """Forget the unfinished backup of ``phase`` (its weights and its per-epoch losses)."""
        _delete(self.root / f"phase{phase}")
        _delete(self.root / f"phase{phase}.losses")

    def remove(self) -> None:
        _delete(self.root)


class UnreadableBackup(Exception):
    """A backup of the phase under way that Keras cannot load (a file that is not ours)."""


def _delete(path: Path) -> None:
    """Remove a file or a folder, whichever is there (a backup entry may be either, whatever it should be)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _validation_epochs(calls: int, group: int, every: int) -> list[int]:
    """The Keras epochs (1-based; each ``group`` epochs) after which the held-out loss is computed: those that
    pass a multiple of ``every`` epochs, and the phase's last."""
    return sorted({k for k in range(1, calls + 1) if k * group // every > (k - 1) * group // every} | {calls})


def _backup_key(ctx: StageContext) -> str:
    """What a backup was made from: the training settings, seed, observations and system."""
    return text_hash(
        json.dumps(
            [result_settings(ctx.config.train), ctx.config.seed, artifact_hash(ctx, "observations.parquet")]
            + [ctx.system.fingerprint()],
            sort_keys=True,
        )
    )


def _tensorboard(ctx: StageContext, phase: int) -> list:
    """Keras' TensorBoard callback writing to ``tensorboard/phase{N}`` in the run directory, where
    ``train.tensorboard = true`` (view with ``tensorboard --logdir RUN_DIR/tensorboard``)."""
    if not ctx.config.train.tensorboard:
        return []
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "train.tensorboard = true needs the tensorboard package, which TensorFlow no longer installs. "
            "Install it with `pip install 'scinet[tensorboard]'` (or `pip install tensorboard`), or leave "
            "train.tensorboard false."
        )

    return [keras.callbacks.TensorBoard(log_dir=str(ctx.path(f"tensorboard/phase{phase}")), histogram_freq=0)]


def run(ctx: StageContext) -> None:
    from pipeline.model import without_tensorflow

    with without_tensorflow():
        try:
            _train(ctx)
        except UnreadableBackup as exc:
            log.warning("train: %s: discarded, training starts again", exc)
            Backup(ctx, _backup_key(ctx)).remove()
            _train(ctx)


def _train(ctx: StageContext) -> None:
    import keras

    system, cfg = ctx.system, ctx.config.train
    frame = read_observations(ctx)
    data = (*model_arrays(split(frame, "train"), system), *model_arrays(split(frame, "test"), system))
    lengths = cfg.curriculum if system.is_series else [1]
    keras.utils.set_random_seed(ctx.config.seed)
    model = build_model(ctx, lengths[0])
    history = History(latent_size=cfg.latent_size, backend=keras.backend.backend())
    start = time.perf_counter()
    backup = Backup(ctx, _backup_key(ctx))
    with progress.bar(sum(cfg.epochs), "train", "epoch") as pbar:
        counter = _Progress(sum(cfg.epochs), pbar)
        resumed_model, resumed_phase = backup.resume_from(len(lengths))
        for phase, (length, epochs) in enumerate(zip(lengths, cfg.epochs, strict=True)):
            finished = backup.finished(phase) if phase <= resumed_phase else None
            if phase == resumed_phase:
                model = resumed_model
                log.info(
                    "train: phase %d of %d was completed by an earlier, interrupted run: resuming after it",
                    phase + 1,
                    len(lengths),
                )
            if finished is not None:
                losses, val_losses = finished["loss"], finished["val_loss"]
                counter.advance(epochs)
            else:
                last = phase == len(lengths) - 1
                losses, val_losses = _train_phase(ctx, model, backup, counter, data, phase, length, epochs, last=last)
            _record(history, cfg.epochs, phase, losses, val_losses)
    _, _, test_in, test_y = data
    model.series_length = lengths[-1]
    history.prediction_rms = prediction_rms(model, test_in, test_y, system)
    history.steps = [float(w) for w in to_numpy(model.omega)] if system.is_series else None
    history.seconds = round(time.perf_counter() - start, 2)
    log.info("train: held-out prediction RMS %.4f", history.prediction_rms["all"])
    write_model(ctx, model, history)
    backup.remove()


def _fit_epochs(
    ctx: StageContext, model, backup: Backup, callbacks: list, data: tuple, phase: int, epochs: range, group: int
) -> None:
    """The Keras epochs ``epochs`` of a phase (``group`` epochs each), one call of ``fit`` each: its rows and noise
    its own, the held-out loss where ``train.validate_every`` asks, a backup every ``train.backup_every`` seconds.
    Stops at the first epoch whose loss is not finite (the caller says so)."""
    cfg = ctx.config.train
    train_in, train_y, test_in, test_y = data
    calls = epochs.stop
    validate = set(_validation_epochs(calls, group, cfg.validate_every))
    # the same loss in fewer steps
    held_out = _fit_data(test_in, test_y, max(cfg.batch_size, 4096), held_out=True)
    saved = time.monotonic()
    for epoch in epochs:
        rows = _rows(ctx.config.seed, phase, epoch, len(train_y), group)
        model.reseed(phase, epoch)
        fitted = model.fit(
            **_fit_data({k: v[rows] for k, v in train_in.items()}, train_y[rows], cfg.batch_size),
            **(held_out if epoch + 1 in validate else {}),
            initial_epoch=epoch,
            epochs=epoch + 1,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )
        if not all(math.isfinite(v) for v in fitted.history.get("loss", [math.nan])):
            return  # diverged
        if epoch + 1 < calls and time.monotonic() - saved >= cfg.backup_every:
            backup.save_epoch(phase, model, epoch + 1)
            saved = time.monotonic()


def _record(history: History, epochs: list[int], phase: int, losses: list, val_losses: list) -> None:
    """A phase's losses appended to the history, each at the epoch of the whole training it was taken after."""
    first = sum(epochs[:phase])
    history.epoch += [first + round((i + 1) * epochs[phase] / len(losses)) for i in range(len(losses))]
    history.loss += [float(v) for v in losses]
    history.val_loss += [None if v is None else float(v) for v in val_losses]
    history.phase += [phase] * len(losses)


def _train_phase(
    ctx: StageContext,
    model,
    backup: Backup,
    counter: _Progress,
    data: tuple,
    phase: int,
    length: int,
    epochs: int,
    *,
    last: bool,
) -> tuple[list, list]:
    """One phase of the curriculum (series of ``length`` steps, ``epochs`` epochs), from its backup where an interrupted
    run left one; returns its losses and held-out losses, epoch by epoch, and backs the finished phase up."""
    import keras

    system, cfg = ctx.system, ctx.config.train
    train_in, train_y, _, _ = data
    model.series_length = length
    model.use_harmonics(cfg.harmonics if last else 1)  # higher harmonics join in the last stage
    # a group of epochs is one Keras epoch over the data repeated (train.epoch_group)
    group = math.gcd(epochs, cfg.epoch_group)
    calls = epochs // group
    steps = calls * math.ceil(group * len(train_y) / cfg.batch_size)
    lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.05) if last else cfg.learning_rate
    # Keras runs one step per call on PyTorch (it refuses more); the results are the same
    per_call = 1 if keras.backend.backend() == "torch" else cfg.steps_per_execution
    model.compile(optimizer=keras.optimizers.Adam(lr), steps_per_execution=per_call)
    model(_head(train_in))  # built, so that a backup of this phase can be restored into it
    losses_file = backup.root / f"phase{phase}.losses"
    resumed = backup.resume_epoch(phase, model)
    if not resumed:  # the phase starts afresh: no losses of an earlier try count
        _delete(losses_file)
    elif len(read_losses(losses_file)[0]) < resumed:
        raise UnreadableBackup(f"the losses of the first {resumed} epochs of phase {phase + 1} are not all there")
    if resumed:
        log.info(
            "train: resuming phase %d of %d at epoch %d/%d, where an interrupted run left it",
            phase + 1,
            len(cfg.epochs),
            resumed * group + 1,
            epochs,
        )
        counter.advance(resumed * group)
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        losses_callback(losses_file),
        counter.callback(group),
        *_tensorboard(ctx, phase),
    ]
    _fit_epochs(ctx, model, backup, callbacks, data, phase, range(resumed, calls), group)
    losses, val_losses = read_losses(losses_file)
    if len(losses) < calls or not all(math.isfinite(v) for v in losses):
        backup.remove()
        where = f" in phase {phase + 1} (series length {length})" if system.is_series else ""
        raise TrainingError(
            f"Training diverged: the loss became NaN{where}. Nothing was saved. "
            f"Lower train.learning_rate (now {cfg.learning_rate}) or train.beta (now {cfg.beta}), "
            "or check the observations for NaN."
        )
    backup.save_phase(phase, model, {"loss": losses, "val_loss": val_losses})
    return losses, val_losses


STAGE = Stage(
    name="train",
    help="Train the beta-VAE SciNet (model.keras, history.json).",
    doc="train the beta-VAE SciNet",
    inputs=("observations.parquet",),
    outputs=(
        Output("model.keras", "model", "the trained SciNet (Keras 3, loaded in safe mode)"),
        Output("history.json", "history", "losses per epoch, learned steps, held-out prediction error"),
    ),
    run=run,
    scratch=(BACKUP,),
)

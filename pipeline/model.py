"""SciNet as a Keras 3 beta-VAE, assembled from parts, written with ``keras.ops`` only (any backend).

* **Encoder**: the encoder inputs of one sample (angles as cosine and sine) ->
  latent mean and log-sigma per neuron.  For a circular latent the encoder
  outputs a 2-vector per neuron and the mean is its direction, so the latent
  lives on the circle and a 2 pi jump is no error.
* **Evolution** (optional, ``evolution="constant_step"``): ``z_t = z_0 + t omega``
  with one learned step ``omega`` per neuron.
* **Decoder**: latent (cosine and sine for a circle) together with the question
  -> the answer.  ``mlp`` is a multilayer perceptron; ``linear`` reads each
  answer as a linear combination of the latent features and the question (for
  circular latents, each observed direction as a superposition of uniform
  circular motions: the common language of Ptolemy's epicycles and Copernicus'
  orbits, with no radius, period or assignment given).  An angle answer is the
  direction of a predicted 2-vector.

Loss: reconstruction (``2 (1 - cos delta)`` for angles, squared error
otherwise, summed over the answers and averaged over samples and steps) plus
``beta`` times the KL divergence from the prior, summed over neurons.  Real
latents have a standard Gaussian prior (the usual VAE KL); for a circular
latent the KL is that of a narrow Gaussian of width sigma against the uniform
distribution on the circle, ``log(2 pi) - log(sigma sqrt(2 pi e))``, floored at
zero.

Inputs are a dict: ``{"x": (batch, n_enc)}`` plus ``"q"``: ``(batch, n_q)``, or
``(batch, steps, n_q)`` with an evolution, when the system asks questions.
"""

from __future__ import annotations

import contextlib
import math
import sys

import keras
from keras import layers, ops

from pipeline import compile_cache

if keras.backend.backend() == "jax":
    compile_cache.enable()  # before anything compiles: a run after the first loads XLA's programs from disk

_KL_CIRCLE_OFFSET = math.log(2 * math.pi) - 0.5 * math.log(2 * math.pi * math.e)


def _check(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected one of {', '.join(repr(a) for a in allowed)}. "
            f"Received: {name}={value!r}"
        )


def _features(x, angle_mask):
    """Angles -> (cos, sin); other inputs as they are."""
    if not any(angle_mask):
        return x
    parts = []
    for i, is_angle in enumerate(angle_mask):
        col = x[..., i : i + 1]
        parts.extend([ops.cos(col), ops.sin(col)] if is_angle else [col])
    return ops.concatenate(parts, axis=-1)


def _width(angle_mask) -> int:
    return sum(2 if a else 1 for a in angle_mask)


@keras.saving.register_keras_serializable(package="scinet")
class SciNet(keras.Model):
    """beta-VAE SciNet: encoder, optional constant-step evolution, decoder over latent and question."""

    def __init__(
        self,
        *,
        encoder_angles: list[bool],
        answer_angles: list[bool],
        question_angles: list[bool] | tuple[bool, ...] = (),
        latent_size: int,
        latent_kind: str = "real",
        evolution: str = "none",
        encoder_units: list[int] | tuple[int, ...] = (64, 64),
        decoder: str = "mlp",
        decoder_units: list[int] | tuple[int, ...] = (64, 64),
        harmonics: int = 1,
        series_length: int = 1,
        beta: float = 1e-3,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check("latent_kind", latent_kind, ("circle", "real"))
        _check("evolution", evolution, ("none", "constant_step"))
        _check("decoder", decoder, ("linear", "mlp"))
        if int(latent_size) < 0 or (int(latent_size) == 0 and (evolution != "none" or not question_angles)):
            raise ValueError(
                "Invalid value received for argument `latent_size`. Expected at least 1 (0, a network whose decoder "
                f"sees only the question, needs questions and no evolution). Received: latent_size={latent_size}"
            )
        self.encoder_angles = [bool(a) for a in encoder_angles]
        self.question_angles = [bool(a) for a in question_angles]
        self.answer_angles = [bool(a) for a in answer_angles]
        self.latent_size = int(latent_size)
        self.latent_kind = latent_kind
        self.evolution = evolution
        self.encoder_units = [int(u) for u in encoder_units]
        self.decoder_kind = decoder
        self.decoder_units = [int(u) for u in decoder_units]
        if int(harmonics) < 1:
            raise ValueError(f"Invalid value received for argument `harmonics`. Expected at least 1. Received: {harmonics}")
        self.harmonics = int(harmonics)
        self.active_harmonics = self.harmonics
        self.series_length = int(series_length)
        self.beta = float(beta)
        self.seed = int(seed)
        self._seed_generator = keras.random.SeedGenerator(seed)

        def glorot(offset):
            return keras.initializers.GlorotUniform(seed=seed + offset)

        # no latent neuron (a sweep's baseline: what the question alone tells): no encoder at all
        self.encoder_hidden = [
            layers.Dense(u, activation="elu", kernel_initializer=glorot(i), name=f"encoder_{i}")
            for i, u in enumerate(self.encoder_units if self.latent_size else [])
        ]
        mean_width = 2 * self.latent_size if latent_kind == "circle" else self.latent_size
        self.encoder_mean = (
            layers.Dense(mean_width, kernel_initializer=glorot(50), name="encoder_mean") if self.latent_size else None
        )
        # a real neuron starts at its prior's width (it must earn its information); a circular one narrow
        self.encoder_log_sigma = (
            layers.Dense(
                self.latent_size,
                kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(-3.0 if latent_kind == "circle" else 0.0),
                name="encoder_log_sigma",
            )
            if self.latent_size
            else None
        )
        hidden = self.decoder_units if decoder == "mlp" else []
        self.decoder_hidden = [
            layers.Dense(u, activation="elu", kernel_initializer=glorot(100 + i), name=f"decoder_{i}")
            for i, u in enumerate(hidden)
        ]
        self.decoder_out = layers.Dense(_width(self.answer_angles), kernel_initializer=glorot(200), name="decoder_out")
        self.build(None)

    @property
    def has_evolution(self) -> bool:
        return self.evolution == "constant_step"

    def build(self, input_shape):
        self.omega = self.add_weight(shape=(self.latent_size,), initializer="zeros", name="omega", trainable=self.has_evolution)
        shape = (None, _width(self.encoder_angles))
        for layer in self.encoder_hidden:
            layer.build(shape)
            shape = (None, layer.units)
        if self.latent_size:
            self.encoder_mean.build(shape)
            self.encoder_log_sigma.build(shape)
        shape = (
            None,
            (2 * self.harmonics if self.latent_kind == "circle" else 1) * self.latent_size + _width(self.question_angles),
        )
        for layer in self.decoder_hidden:
            layer.build(shape)
            shape = (None, layer.units)
        self.decoder_out.build(shape)
        self.built = True

    # -- parts ------------------------------------------------------------------------------
    def encode(self, x):
        """Latent mean and log-sigma for encoder inputs ``x`` of shape (batch, n_enc)."""
        if not self.latent_size:
            none = ops.zeros((ops.shape(x)[0], 0), dtype=self.compute_dtype)
            return none, none
        h = _features(x, self.encoder_angles)
        for layer in self.encoder_hidden:
            h = layer(h)
        raw = self.encoder_mean(h)
        if self.latent_kind == "circle":
            raw = ops.reshape(raw, (-1, self.latent_size, 2))
            mean = ops.arctan2(raw[..., 1], raw[..., 0])
        else:
            mean = raw
        return mean, self.encoder_log_sigma(h)

    def evolve(self, z0, steps: int):
        """Latent states ``z_t = z_0 + t omega`` for t = 0..steps-1: shape (batch, steps, latent)."""
        t = ops.cast(ops.arange(steps), z0.dtype)
        return z0[:, None, :] + t[None, :, None] * self.omega[None, None, :]

    def decode(self, z, q=None):
        """The answer for latent states ``z`` (..., latent) and questions ``q`` (..., n_q)."""
        if self.latent_kind == "circle":  # harmonics k = 1..K of each angle: epicycles on epicycles
            h = ops.concatenate(
                [
                    f(k * z) if k <= self.active_harmonics else ops.zeros_like(z)
                    for k in range(1, self.harmonics + 1)
                    for f in (ops.cos, ops.sin)
                ],
                axis=-1,
            )
        else:
            h = z
        if self.question_angles:
            h = ops.concatenate([h, ops.cast(_features(q, self.question_angles), h.dtype)], axis=-1)
        for layer in self.decoder_hidden:
            h = layer(h)
        out = self.decoder_out(h)
        if not any(self.answer_angles):
            return out
        preds, k = [], 0
        for is_angle in self.answer_angles:
            if is_angle:
                preds.append(ops.arctan2(out[..., k + 1], out[..., k])[..., None])
                k += 2
            else:
                preds.append(out[..., k : k + 1])
                k += 1
        return ops.concatenate(preds, axis=-1)

    def use_harmonics(self, n: int) -> None:
        """Let the decoder see only the harmonics ``1..n`` of each circular neuron (at most ``harmonics``).

        The first decoder layer's weights on the harmonics above ``n`` are set to zero, so that harmonics switched
        on later start from nothing and the decoder's function does not jump.  Training switches the higher
        harmonics on in the curriculum's last stage: with them from the start, a neuron can settle on half an
        angle (``cos 2z`` at ``z = M/2`` is ``cos M``), a minimum of the loss the network does not leave."""
        n = max(1, min(int(n), self.harmonics))
        if self.latent_kind == "circle" and n < self.harmonics:
            first = self.decoder_hidden[0] if self.decoder_hidden else self.decoder_out
            kernel = ops.convert_to_numpy(first.kernel).copy()
            kernel[2 * self.latent_size * n : 2 * self.latent_size * self.harmonics] = 0.0
            first.kernel.assign(kernel)
        self.active_harmonics = n

    def kl(self, mean, log_sigma):
        """KL divergence from the prior, per neuron."""
        if self.latent_kind == "circle":
            return ops.relu(_KL_CIRCLE_OFFSET - log_sigma)
        return 0.5 * (ops.exp(2 * log_sigma) + ops.square(mean) - 1.0) - log_sigma

    def answer(self, inputs, steps: int | None = None):
        """Deterministic prediction (latent means): (batch, n_answers), or (batch, steps, n_answers) with an evolution."""
        mean, _ = self.encode(inputs["x"])
        return self._decode_from(mean, inputs.get("q"), steps or self.series_length)

    def answer_from(self, z, q=None, steps: int | None = None):
        """The answer for given latent states ``z`` (batch, latent) at the start of a series, evolved ``steps``
        steps where the model has an evolution (default: its series length).  ``z`` and ``q`` may be NumPy arrays:
        they become tensors of the backend (PyTorch does not mix the two)."""
        z = ops.convert_to_tensor(z, dtype=self.compute_dtype)
        q = None if q is None else ops.convert_to_tensor(q, dtype=self.compute_dtype)
        return self._decode_from(z, q, steps or self.series_length)

    def _decode_from(self, z, q, steps):
        if self.has_evolution:
            z = self.evolve(z, steps)
            if q is not None:
                q = q[:, :steps]
        return self.decode(z, q)

    def reseed(self, *keys: int) -> None:
        """Start the sampling noise of training afresh from the model's seed and ``keys`` (the phase and
        epoch, say), whatever was drawn before.  The training reseeds at every epoch, so the noise of an
        epoch depends on the seed, phase and epoch alone: a run resumed from a backup draws what an
        uninterrupted one did (Keras does not save a seed generator's state with the weights)."""
        import numpy as np

        words = np.random.SeedSequence([self.seed, *keys]).generate_state(2) % 2**31  # fits int32 and uint32 seeds
        state = self._seed_generator.state
        state.assign(ops.convert_to_tensor(words.astype("int64"), dtype=state.dtype))

    # -- keras plumbing -------------------------------------------------------------------------
    def call(self, inputs, training=False):
        mean, log_sigma = self.encode(inputs["x"])
        z = mean
        if training:
            z = mean + ops.exp(log_sigma) * keras.random.normal(ops.shape(mean), seed=self._seed_generator)
        return self._decode_from(z, inputs.get("q"), self.series_length), mean, log_sigma

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        pred, mean, log_sigma = y_pred
        if self.has_evolution:
            y = y[:, : self.series_length]
        kl = ops.mean(ops.sum(self.kl(mean, log_sigma), axis=-1))
        return reconstruction_loss(y, pred, self.answer_angles) + self.beta * kl

    def get_config(self):
        return {
            "encoder_angles": self.encoder_angles,
            "question_angles": self.question_angles,
            "answer_angles": self.answer_angles,
            "latent_size": self.latent_size,
            "latent_kind": self.latent_kind,
            "evolution": self.evolution,
            "encoder_units": self.encoder_units,
            "decoder": self.decoder_kind,
            "decoder_units": self.decoder_units,
            "harmonics": self.harmonics,
            "series_length": self.series_length,
            "beta": self.beta,
            "seed": self.seed,
            "name": self.name,
        }


def reconstruction_loss(y_true, y_pred, angle_mask):
    """Mean over samples (and steps) of the summed per-answer error (``2(1-cos d)`` ~ d^2 for angles)."""
    y_pred = ops.convert_to_tensor(y_pred)
    diff = y_pred - ops.cast(y_true, y_pred.dtype)
    if not any(angle_mask):
        return ops.mean(ops.sum(ops.square(diff), axis=-1))
    mask = ops.convert_to_tensor([1.0 if a else 0.0 for a in angle_mask], dtype=y_pred.dtype)
    err = mask * 2.0 * (1.0 - ops.cos(diff)) + (1.0 - mask) * ops.square(diff)
    return ops.mean(ops.sum(err, axis=-1))


@contextlib.contextmanager
def without_tensorflow():
    """Keras as it is, except that off the TensorFlow backend it does not import TensorFlow where TensorFlow is
    installed.  Keras does so to seed it (``keras.utils.set_random_seed``) and, when it saves a model, to ask
    whether a value is a TensorFlow shape or type: no value can be one while TensorFlow is not imported.
    Nothing in scinet runs TensorFlow off its own backend.  Keras' lazy ``tensorflow`` module is told TensorFlow is
    not there for the duration, and told nothing after it.  On the TensorFlow backend, where TensorFlow is
    already imported, or on a Keras laid out otherwise, this changes nothing."""
    try:
        from keras.src.utils import module_utils

        lazy = module_utils.tensorflow
    except (ImportError, AttributeError):
        lazy = None
    if (
        lazy is None
        or getattr(lazy, "_available", True) is not None
        or keras.backend.backend() == "tensorflow"
        or "tensorflow" in sys.modules
    ):
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        if lazy._available is False and lazy.module is None:
            lazy._available = None

"""SciNet as a Keras 3 beta-VAE, written with ``keras.ops`` only (any backend).

Encoder: one observation -> latent mean and log-sigma per neuron.  For circular
latents the encoder outputs a 2-vector per neuron and the mean is its direction,
so the latent lives on the circle and a 2 pi jump is no error.

Evolution: ``z_t = z_0 + t * omega`` with one learned step ``omega`` per neuron.

Decoder: maps each latent state to the observation it predicts.  ``linear``
(the default for circular latents) reads every observed direction as a linear
combination of the latent phasors ``(cos z_i, sin z_i)``: a superposition of
uniform circular motions, the common language of Ptolemy's epicycles and
Copernicus' orbits, with no radius, frequency or assignment given.  ``mlp`` is
a general multilayer perceptron.

Loss: reconstruction over the series (``2 (1 - cos delta)`` for angles, squared
error otherwise) plus ``beta`` times the KL term.  For a circular latent the KL
is that of a narrow Gaussian of width sigma against the uniform distribution on
the circle, ``log(2 pi) - log(sigma sqrt(2 pi e))``, floored at zero.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

_KL_CIRCLE_OFFSET = math.log(2 * math.pi) - 0.5 * math.log(2 * math.pi * math.e)


@keras.saving.register_keras_serializable(package="scinet")
class SciNet(keras.Model):
    """beta-VAE SciNet: encoder, constant-step latent evolution, decoder."""

    def __init__(
        self,
        *,
        angle_mask: list[bool],
        latent_size: int,
        latent_kind: str = "circle",
        encoder_units: list[int] | tuple[int, ...] = (64, 64),
        decoder: str = "linear",
        decoder_units: list[int] | tuple[int, ...] = (64, 64),
        series_length: int = 50,
        beta: float = 1e-3,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if latent_kind not in ("circle", "real"):
            raise ValueError(
                f"Invalid value received for argument `latent_kind`. Expected 'circle' or 'real'. Received: latent_kind={latent_kind!r}"
            )
        if decoder not in ("linear", "mlp"):
            raise ValueError(
                f"Invalid value received for argument `decoder`. Expected 'linear' or 'mlp'. Received: decoder={decoder!r}"
            )
        self.angle_mask = [bool(a) for a in angle_mask]
        self.latent_size = int(latent_size)
        self.latent_kind = latent_kind
        self.encoder_units = [int(u) for u in encoder_units]
        self.decoder_kind = decoder
        self.decoder_units = [int(u) for u in decoder_units]
        self.series_length = int(series_length)
        self.beta = float(beta)
        self.seed = int(seed)
        self._seed_generator = keras.random.SeedGenerator(seed)
        init = keras.initializers.GlorotUniform(seed=seed)

        self.encoder_hidden = [
            layers.Dense(
                u, activation="elu", kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i), name=f"encoder_{i}"
            )
            for i, u in enumerate(self.encoder_units)
        ]
        mean_width = 2 * self.latent_size if latent_kind == "circle" else self.latent_size
        self.encoder_mean = layers.Dense(mean_width, kernel_initializer=init, name="encoder_mean")
        self.encoder_log_sigma = layers.Dense(
            self.latent_size,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(-3.0),
            name="encoder_log_sigma",
        )
        n_out = sum(2 if a else 1 for a in self.angle_mask)
        hidden = self.decoder_units if decoder == "mlp" else []
        self.decoder_hidden = [
            layers.Dense(
                u, activation="elu", kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 100 + i), name=f"decoder_{i}"
            )
            for i, u in enumerate(hidden)
        ]
        self.decoder_out = layers.Dense(
            n_out, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 200), name="decoder_out"
        )
        self.build((None, len(self.angle_mask)))

    def build(self, input_shape):
        self.omega = self.add_weight(shape=(self.latent_size,), initializer="zeros", name="omega")
        width = sum(2 if a else 1 for a in self.angle_mask)
        shape = (None, width)
        for layer in self.encoder_hidden:
            layer.build(shape)
            shape = (None, layer.units)
        self.encoder_mean.build(shape)
        self.encoder_log_sigma.build(shape)
        shape = (None, 2 * self.latent_size if self.latent_kind == "circle" else self.latent_size)
        for layer in self.decoder_hidden:
            layer.build(shape)
            shape = (None, layer.units)
        self.decoder_out.build(shape)
        self.built = True

    # -- pieces -------------------------------------------------------------------
    def _features(self, x):
        """Angles -> (cos, sin); other observations as they are."""
        parts = []
        for i, is_angle in enumerate(self.angle_mask):
            col = x[..., i : i + 1]
            parts.extend([ops.cos(col), ops.sin(col)] if is_angle else [col])
        return ops.concatenate(parts, axis=-1)

    def encode(self, x):
        """Return latent mean and log-sigma for observations ``x`` of shape (batch, n_obs)."""
        h = self._features(x)
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
        """Latent states ``z_t = z_0 + t * omega`` for t = 0..steps-1: shape (batch, steps, latent)."""
        t = ops.cast(ops.arange(steps), z0.dtype)
        return z0[:, None, :] + t[None, :, None] * self.omega[None, None, :]

    def decode(self, z):
        """Predicted observations for latent states ``z`` of shape (..., latent)."""
        h = ops.concatenate([ops.cos(z), ops.sin(z)], axis=-1) if self.latent_kind == "circle" else z
        for layer in self.decoder_hidden:
            h = layer(h)
        out = self.decoder_out(h)
        preds, k = [], 0
        for is_angle in self.angle_mask:
            if is_angle:
                preds.append(ops.arctan2(out[..., k + 1], out[..., k])[..., None])
                k += 2
            else:
                preds.append(out[..., k : k + 1])
                k += 1
        return ops.concatenate(preds, axis=-1)

    def kl(self, log_sigma):
        if self.latent_kind == "circle":
            return ops.relu(_KL_CIRCLE_OFFSET - log_sigma)
        mean = ops.zeros_like(log_sigma)
        return 0.5 * (ops.exp(2 * log_sigma) + ops.square(mean) - 1.0) - log_sigma

    def predict_series(self, x, steps: int):
        """Deterministic prediction (latent means) of ``steps`` observations from the first one."""
        mean, _ = self.encode(x)
        return self.decode(self.evolve(mean, steps))

    # -- keras plumbing -----------------------------------------------------------
    def call(self, x, training=False):
        mean, log_sigma = self.encode(x)
        z = mean
        if training:
            z = mean + ops.exp(log_sigma) * keras.random.normal(ops.shape(mean), seed=self._seed_generator)
        return self.decode(self.evolve(z, self.series_length)), log_sigma

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        pred, log_sigma = y_pred
        return reconstruction_loss(y, pred, self.angle_mask) + self.beta * ops.mean(ops.sum(self.kl(log_sigma), axis=-1))

    def get_config(self):
        return {
            "angle_mask": self.angle_mask,
            "latent_size": self.latent_size,
            "latent_kind": self.latent_kind,
            "encoder_units": self.encoder_units,
            "decoder": self.decoder_kind,
            "decoder_units": self.decoder_units,
            "series_length": self.series_length,
            "beta": self.beta,
            "seed": self.seed,
            "name": self.name,
        }


def reconstruction_loss(y_true, y_pred, angle_mask):
    """Mean over batch and time of the summed per-observation error (``2(1-cos d)`` ~ d^2 for angles)."""
    mask = ops.convert_to_tensor([1.0 if a else 0.0 for a in angle_mask], dtype=y_pred.dtype)
    diff = y_pred - ops.cast(y_true, y_pred.dtype)
    err = mask * 2.0 * (1.0 - ops.cos(diff)) + (1.0 - mask) * ops.square(diff)
    return ops.mean(ops.sum(err, axis=-1))

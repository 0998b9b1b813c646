"""The Keras backend scinet computes with: JAX where it is installed, unless ``KERAS_BACKEND`` says otherwise.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, and falls back
to TensorFlow.  scinet's model uses ``keras.ops`` only, so it runs on any
backend; JAX trains it fastest on a CPU (README, "Training throughput") and
gives the same verdicts and held-out errors as TensorFlow over ten seeds.  So
importing :mod:`pipeline` sets ``KERAS_BACKEND=jax`` when the variable is unset
and JAX can be imported; ``KERAS_BACKEND=tensorflow`` (or ``torch``) chooses
another one.  Every stage's manifest record names the backend it ran on.
"""

from __future__ import annotations

import importlib.util
import os

DEFAULT = "jax"


def choose_default() -> str:
    """Set ``KERAS_BACKEND`` to :data:`DEFAULT` where it is unset and JAX is installed; return the backend
    Keras will use (or is using, once imported)."""
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec(DEFAULT) is not None:
        os.environ["KERAS_BACKEND"] = DEFAULT
    return os.environ.get("KERAS_BACKEND", "tensorflow")

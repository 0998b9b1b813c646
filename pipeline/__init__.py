"""SciNet's pipeline: configuration, run directories, the model and the stages' machinery."""

import os

KERAS_BACKEND = "jax"
"""the Keras backend scinet trains on where the environment variable ``KERAS_BACKEND`` names none: set here, before
anything imports Keras (docs/run-times.md has the paired comparison with TensorFlow that chose it)"""

os.environ.setdefault("KERAS_BACKEND", KERAS_BACKEND)


def keras_backend() -> str:
    """The Keras backend this process trains on: ``KERAS_BACKEND`` where set, else :data:`KERAS_BACKEND`."""
    return os.environ.get("KERAS_BACKEND", KERAS_BACKEND)

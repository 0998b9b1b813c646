import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pipeline  # noqa: E402, F401 - scinet's default Keras backend, set before any test module imports Keras

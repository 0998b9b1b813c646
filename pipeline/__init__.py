"""scinet's application: configuration, run directories, the catalog of artifacts, executors and the CLI."""

from pipeline.backend import choose_default

choose_default()  # before anything imports Keras: JAX where it is installed (pipeline/backend.py)

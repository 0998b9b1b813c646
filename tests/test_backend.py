"""The default Keras backend: JAX where it is installed, unless KERAS_BACKEND says otherwise."""

import subprocess
import sys

import pytest

from pipeline import backend


def test_jax_is_chosen_where_nothing_is_set_and_jax_is_installed(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "unset")  # restored after the test, whatever it was
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: object() if name == "jax" else None)
    assert backend.choose_default() == "jax"
    assert backend.os.environ["KERAS_BACKEND"] == "jax"


def test_without_jax_keras_keeps_its_own_default(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "unset")
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    assert backend.choose_default() == "tensorflow"
    assert "KERAS_BACKEND" not in backend.os.environ


@pytest.mark.parametrize("chosen", ["tensorflow", "torch"])
def test_a_backend_the_user_chose_is_kept(monkeypatch, chosen):
    monkeypatch.setenv("KERAS_BACKEND", chosen)
    assert backend.choose_default() == chosen


def test_keras_imported_after_pipeline_runs_on_the_default():
    code = "import os; os.environ.pop('KERAS_BACKEND', None); import pipeline.model, keras; print(keras.backend.backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "jax"

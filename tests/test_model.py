import os
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from pipeline.arrays import to_numpy  # noqa: E402
from pipeline.model import SciNet, reconstruction_loss  # noqa: E402


def _series_model(**kw):
    args = dict(
        encoder_angles=[True, True], answer_angles=[True, True], latent_size=2, latent_kind="circle",
        evolution="constant_step", encoder_units=[8], decoder="linear", series_length=7, seed=1,
    )  # fmt: skip
    args.update(kw)
    return SciNet(**args)


def _question_model(**kw):
    args = dict(
        encoder_angles=[False] * 5, question_angles=[False], answer_angles=[False], latent_size=3, latent_kind="real",
        evolution="none", encoder_units=[8], decoder="mlp", decoder_units=[6], seed=2,
    )  # fmt: skip
    args.update(kw)
    return SciNet(**args)


def test_series_shapes_and_evolution():
    model = _series_model()
    x = np.random.default_rng(0).uniform(-3, 3, size=(5, 2)).astype("float32")
    pred, mean, log_sigma = model({"x": x})
    assert tuple(pred.shape) == (5, 7, 2)
    assert tuple(log_sigma.shape) == (5, 2) and tuple(mean.shape) == (5, 2)
    model.omega.assign([0.1, -0.2])
    z = to_numpy(model.evolve(keras.ops.zeros((1, 2)), 4))
    np.testing.assert_allclose(z[0, :, 0], [0, 0.1, 0.2, 0.3], atol=1e-6)
    np.testing.assert_allclose(z[0, :, 1], [0, -0.2, -0.4, -0.6], atol=1e-6)
    assert np.all(np.abs(to_numpy(pred)) <= np.pi + 1e-6)


def test_question_model_answers_each_question_and_has_no_evolution():
    model = _question_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5)).astype("float32")
    q = rng.uniform(0, 10, size=(4, 1)).astype("float32")
    pred = to_numpy(model.answer({"x": x, "q": q}))
    assert pred.shape == (4, 1)
    # the same latent with another question gives another answer: the decoder reads the question
    other = to_numpy(model.answer({"x": x, "q": q + 3}))
    assert not np.allclose(pred, other)
    assert not model.omega.trainable


def test_real_latent_kl_is_the_gaussian_kl():
    model = _question_model()
    mean = np.array([[0.0, 1.0, 0.0]], dtype="float32")
    log_sigma = np.array([[0.0, 0.0, np.log(0.5)]], dtype="float32")
    kl = to_numpy(model.kl(mean, log_sigma))[0]
    # KL(N(mu, s^2) || N(0, 1)) = (s^2 + mu^2 - 1)/2 - log s
    np.testing.assert_allclose(kl, [0.0, 0.5, (0.25 - 1) / 2 - np.log(0.5)], atol=1e-6)


def test_angle_loss_ignores_two_pi_jumps():
    y = np.array([[[3.1, -3.1]]], dtype="float32")
    same = y + np.array([[[-2 * np.pi, 2 * np.pi]]], dtype="float32")
    assert float(reconstruction_loss(y, same, [True, True])) < 1e-8
    assert float(reconstruction_loss(y, same, [False, False])) > 1.0


@pytest.mark.parametrize("make", [_series_model, lambda: _series_model(decoder="mlp", decoder_units=[6]), _question_model])
def test_save_and_load_round_trip_in_safe_mode(tmp_path, make):
    model = make()
    rng = np.random.default_rng(1)
    inputs = {"x": rng.uniform(-3, 3, size=(4, len(model.encoder_angles))).astype("float32")}
    if model.question_angles:
        inputs["q"] = rng.uniform(0, 10, size=(4, len(model.question_angles))).astype("float32")
    if model.has_evolution:
        model.omega.assign([0.3, 0.05])
    before = to_numpy(model.answer(inputs, steps=9 if model.has_evolution else None))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, SciNet)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(to_numpy(loaded.answer(inputs, steps=9 if model.has_evolution else None)), before, atol=1e-6)


def test_invalid_argument_message():
    with pytest.raises(ValueError, match="Expected one of 'linear', 'mlp'. Received: decoder='rnn'"):
        _series_model(decoder="rnn")
    with pytest.raises(ValueError, match="Received: evolution='rk4'"):
        _series_model(evolution="rk4")


def test_no_latent_neuron_answers_from_the_question_alone(tmp_path):
    model = _question_model(latent_size=0)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    q = np.random.default_rng(1).normal(size=(4, 1)).astype("float32")
    mean, log_sigma = model.encode(x)
    assert tuple(mean.shape) == (4, 0) and tuple(log_sigma.shape) == (4, 0)
    assert not model.encoder_hidden and model.encoder_mean is None  # no encoder at all
    other = np.random.default_rng(2).normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(to_numpy(model.answer({"x": x, "q": q})), to_numpy(model.answer({"x": other, "q": q})))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.latent_size == 0
    with pytest.raises(ValueError, match="needs questions and no evolution"):
        _series_model(latent_size=0)


def test_higher_harmonics_are_off_until_switched_on_and_then_start_from_zero():
    model = _series_model(harmonics=3)
    x = np.random.default_rng(0).uniform(-3, 3, size=(6, 2)).astype("float32")
    full = to_numpy(model.answer({"x": x}))
    model.use_harmonics(1)
    first = to_numpy(model.answer({"x": x}))
    assert not np.allclose(full, first)  # the harmonics 2 and 3 contributed before
    kernel = to_numpy(model.decoder_out.kernel)
    assert np.all(kernel[4:] == 0) and np.any(kernel[:4] != 0)  # 2 neurons x (cos, sin) of harmonic 1 kept
    # a weight change on a switched-off harmonic does not reach the answer
    model.decoder_out.kernel.assign(np.where(np.arange(12)[:, None] >= 4, 5.0, kernel).astype("float32"))
    np.testing.assert_allclose(to_numpy(model.answer({"x": x})), first, atol=1e-6)
    model.use_harmonics(1)  # zeroed again on the way in
    model.use_harmonics(3)  # switched on: they start from nothing, so the answer does not jump
    np.testing.assert_allclose(to_numpy(model.answer({"x": x})), first, atol=1e-6)
    assert model.active_harmonics == 3


def _long_series_model():
    """Series of 20 steps: where a step compiled inside a loop rounds unlike the step alone (Copernicus)."""
    return _series_model(series_length=20, encoder_units=[32, 32], harmonics=2)


@pytest.mark.parametrize("make", [_question_model, _series_model, _long_series_model], ids=["question", "series", "long"])
def test_steps_per_execution_does_not_change_training(make):
    """Several optimizer steps per call into the compiled function give the weights of one step per call
    (``train.steps_per_execution`` is a how-setting, out of the cache key).  21 batches an epoch, the last one
    smaller, 4 per call.  Exactly: a loop that rounds differently changes a sensitive training's result (the
    README's "Things tried and not adopted")."""
    if keras.backend.backend() == "torch":
        pytest.skip("Keras takes one step per call on PyTorch: there is nothing to compare")
    rng = np.random.default_rng(3)
    shape = make()
    x = {"x": rng.uniform(-1, 1, size=(163, len(shape.encoder_angles))).astype("float32")}
    if shape.has_evolution:
        y = rng.uniform(-3, 3, size=(163, shape.series_length, 2)).astype("float32")
    else:
        x["q"] = rng.uniform(-1, 1, size=(163, 1)).astype("float32")
        y = rng.uniform(-1, 1, size=(163, 1)).astype("float32")
    results = []
    for per_call in (1, 4):
        keras.utils.set_random_seed(0)
        model = make()
        model.compile(optimizer=keras.optimizers.Adam(1e-2), steps_per_execution=per_call)
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
        results.append([to_numpy(w) for w in model.weights] + [np.array(history.history["loss"])])
    for one, many in zip(*results, strict=True):
        np.testing.assert_array_equal(many, one)


def test_off_tensorflow_training_and_saving_import_no_tensorflow_and_give_keras_own_weights(tmp_path):
    """Inside ``pipeline.model.without_tensorflow`` on JAX, seeding, building, saving and loading a model leave
    TensorFlow unimported (Keras imports it wherever it is installed), with the weights Keras' own seeding gives;
    after it, Keras' lazy TensorFlow module is as it was."""
    pytest.importorskip("jax")
    script = f"""
import sys, keras, numpy as np
from keras.src.utils import module_utils
from pipeline.model import SciNet, without_tensorflow
def weights():
    model = SciNet(encoder_angles=[True, True], answer_angles=[True, True], latent_size=2, latent_kind="circle",
                   evolution="constant_step", encoder_units=[8], decoder="linear", series_length=7, seed=1)
    model.save({str(tmp_path / "m.keras")!r})
    again = keras.saving.load_model({str(tmp_path / "m.keras")!r}, custom_objects={{"SciNet": SciNet}})
    return [np.asarray(w) for w in again.weights] + [np.random.random()]
with without_tensorflow():
    keras.utils.set_random_seed(7); ours = weights()
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
assert module_utils.tensorflow._available is None
keras.utils.set_random_seed(7); theirs = weights()
for a, b in zip(ours, theirs, strict=True): np.testing.assert_array_equal(a, b)
"""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

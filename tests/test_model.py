import numpy as np
import pytest

keras = pytest.importorskip("keras")

from stages.scinet_model import SciNet, reconstruction_loss  # noqa: E402


def _model(**kw):
    args = dict(angle_mask=[True, True], latent_size=2, latent_kind="circle", encoder_units=[8], series_length=7, seed=1)
    args.update(kw)
    return SciNet(**args)


def test_shapes_and_evolution():
    model = _model()
    x = np.random.default_rng(0).uniform(-3, 3, size=(5, 2)).astype("float32")
    pred, log_sigma = model(x)
    assert tuple(pred.shape) == (5, 7, 2)
    assert tuple(log_sigma.shape) == (5, 2)
    model.omega.assign([0.1, -0.2])
    z = np.asarray(model.evolve(keras.ops.zeros((1, 2)), 4))
    np.testing.assert_allclose(z[0, :, 0], [0, 0.1, 0.2, 0.3], atol=1e-6)
    np.testing.assert_allclose(z[0, :, 1], [0, -0.2, -0.4, -0.6], atol=1e-6)
    assert np.all(np.abs(np.asarray(pred)) <= np.pi + 1e-6)


def test_angle_loss_ignores_two_pi_jumps():
    y = np.array([[[3.1, -3.1]]], dtype="float32")
    same = y + np.array([[[-2 * np.pi, 2 * np.pi]]], dtype="float32")
    assert float(reconstruction_loss(y, same, [True, True])) < 1e-8
    assert float(reconstruction_loss(y, same, [False, False])) > 1.0


def test_save_and_load_round_trip_in_safe_mode(tmp_path):
    model = _model(decoder="mlp", decoder_units=[6])
    x = np.random.default_rng(1).uniform(-3, 3, size=(4, 2)).astype("float32")
    model.omega.assign([0.3, 0.05])
    before = np.asarray(model.predict_series(x, 9))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, SciNet)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded.predict_series(x, 9)), before, atol=1e-6)


def test_invalid_argument_message():
    with pytest.raises(ValueError, match="Expected 'linear' or 'mlp'. Received: decoder='rnn'"):
        _model(decoder="rnn")

import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError
from systems.copernicus import SYSTEM as COPERNICUS
from systems.pendulum import SYSTEM as PENDULUM


def test_defaults_file_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("seed = 3\n[train]\nbeta = 0.01\nepochs = [1, 2, 3]\n")
    cfg = load_config(path, ["train.learning_rate=0.1", "regress.backend=operon"], seed=None)
    assert cfg.seed == 3
    assert cfg.train.beta == 0.01
    assert cfg.train.epochs == [1, 2, 3]
    assert cfg.train.learning_rate == 0.1
    assert load_config(path, [], seed=7).seed == 7


def test_unknown_key_suggests_the_near_miss():
    with pytest.raises(ConfigError, match="Unknown configuration key 'train.epoch'.*Did you mean 'train.epochs'"):
        load_config(None, ["train.epoch=[1, 1, 1]"])


def test_wrong_type_and_inconsistent_settings_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="expects a value of type int"):
        load_config(None, ["simulate.n_samples=many"])
    with pytest.raises(ConfigError, match="equal length"):
        load_config(None, ["train.epochs=[1, 2]"], system=COPERNICUS)
    with pytest.raises(ConfigError, match="applies to time-series systems only"):
        load_config(None, ["train.curriculum=[5]"], system=PENDULUM)
    with pytest.raises(ConfigError, match=r"must be one phase for 'pendulum'.*train.epochs=\[7\]"):
        load_config(None, ["train.epochs=[3, 4]"], system=PENDULUM)
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_system_defaults_come_before_the_file_and_overrides(tmp_path):
    cfg = load_config(None, [], system=PENDULUM)
    assert cfg.train.latent_size == 3 and cfg.train.epochs == PENDULUM.defaults["train.epochs"]
    assert cfg.train.beta == PENDULUM.defaults["train.beta"]
    path = tmp_path / "c.toml"
    path.write_text("[train]\nbeta = 0.5\n")
    cfg = load_config(path, ["train.latent_size=5"], system=PENDULUM)
    assert cfg.train.beta == 0.5 and cfg.train.latent_size == 5
    assert load_config(None, [], system=COPERNICUS).train.curriculum == [5, 20, 50]
    with pytest.raises(ConfigError, match="`train.latent_size` must lie between 0 and 64"):
        load_config(None, ["train.latent_size=-1"], system=PENDULUM)


def test_observation_noise_is_its_own_stream_and_spares_the_ground_truth():
    import numpy as np

    from pipeline.simulation import simulate_frame

    clean = simulate_frame(COPERNICUS, n_samples=5, series_length=4, seed=3)
    noisy = simulate_frame(COPERNICUS, n_samples=5, series_length=4, seed=3, noise=0.01)
    np.testing.assert_array_equal(clean["phi_M"], noisy["phi_M"])
    diff = np.angle(np.exp(1j * (noisy["theta_M"] - clean["theta_M"])))
    assert 0.003 < diff.std() < 0.03 and np.all(np.abs(noisy["theta_M"]) <= np.pi)
    assert list(clean["split"]) == list(noisy["split"])
    with pytest.raises(Exception, match="must be a standard deviation"):
        simulate_frame(COPERNICUS, n_samples=5, series_length=4, seed=3, noise=-1.0)


def test_no_latent_is_for_question_and_answer_systems():
    from systems.copernicus import SYSTEM as COPERNICUS

    assert load_config(None, ["train.latent_size=0"], system=PENDULUM).train.latent_size == 0
    with pytest.raises(ConfigError, match="is a time series"):
        load_config(None, ["train.latent_size=0"], system=COPERNICUS)


def test_every_number_and_every_name_from_a_registry_is_checked_where_its_field_is_declared():
    import dataclasses

    from pipeline.config import Config, _settings

    unchecked = [
        key
        for key, value, meta in _settings(Config())
        if isinstance(value, int | float | list) and not isinstance(value, bool) and "range" not in meta
    ]
    assert unchecked == []
    choices = {key: meta["choices"]() for key, _, meta in _settings(Config()) if "choices" in meta}
    assert set(choices) == {"train.decoder", "regress.backend", "executor.name"} and "operon" in choices["regress.backend"]
    # the one checker is the one every caller uses: a settings file and a declared system's [defaults] alike
    config = Config()
    config.train.decoder = "cnn"
    with pytest.raises(ConfigError, match="`train.decoder` must be one of 'linear', 'mlp'. Received: 'cnn'"):
        config.validate()
    with pytest.raises(ConfigError, match="`executor.name` must be one of .*Did you mean 'ray'"):
        load_config(None, ["executor.name=rya"])
    assert dataclasses.replace(Config()).validate() is None

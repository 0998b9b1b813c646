import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError


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
        load_config(None, ["simulate.n_series=many"])
    with pytest.raises(ConfigError, match="equal length"):
        load_config(None, ["train.epochs=[1, 2]"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)

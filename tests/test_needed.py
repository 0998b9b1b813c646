"""A neuron is used when the answers need it, not only when it carries information (``stages.export.needed``)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import stages.export
from stages.export import given_others, needed


class _Net:
    """A stand-in network: the encoder maps its inputs to the neurons (``encode``, the identity unless given),
    the decoder answers with a fixed linear map of them."""

    latent_kind = "real"

    def __init__(self, weights, encode=None):
        self.weights = np.asarray(weights, dtype=float)
        self.latent_size = len(weights)
        self._encode = encode or (lambda x: x[:, : self.latent_size])

    def encode(self, x):
        z = self._encode(x)
        return z, np.zeros_like(z)

    def answer_from(self, z, q=None, steps=None):
        return (z @ self.weights)[:, None]


@pytest.fixture
def run_needed(monkeypatch):
    X = np.random.default_rng(0).normal(size=(4000, 4))
    system = SimpleNamespace(is_series=False, answers=[SimpleNamespace(angle=False, size=1)])

    def run(weights, encode=None):
        net = _Net(weights, encode)
        monkeypatch.setattr(stages.export, "model_arrays", lambda frame, s: ({"x": X}, net.answer_from(net.encode(X)[0])))
        return needed(net, pd.DataFrame({"a": np.zeros(len(X))}), system, 1000, 0.05)

    return run


@pytest.mark.parametrize(
    ("weights", "dispensable"),
    [
        ([1.0, 1.0, 0.0], ["z2"]),  # carries its input, the answer ignores it
        ([1.0, 1.0, 0.1], ["z2"]),  # a little of the answer: well below 5 % of what all neurons do
        ([1.0, 1.0, 0.5], []),  # a part of the answer that matters, and the others cannot tell it
        ([1.0, 0.2, 0.2], ["z1"]),  # each alone is dispensable (3.7 %), not both (7.4 %): the removal stops at one
    ],
)
def test_a_neuron_the_answer_does_not_need_is_unused(run_needed, weights, dispensable):
    costs, given, unused = run_needed(weights)
    assert unused == dispensable, (costs, given)
    assert costs["z0"] > 0.4  # the first input, always a large part of the answer
    assert given["z0"] > 0.4  # ... and nothing the others hold


def test_a_second_copy_of_a_quantity_is_not_needed_though_the_decoder_reads_it(run_needed):
    """The pendulum's seed 0: a third neuron holds kappa again, through another function of it, and the
    decoder reads both copies.  Replaced by its mean it costs a tenth of the answer; guessed from the neuron
    that holds kappa already it costs nothing, so it goes, and the first copy stays."""
    costs, given, unused = run_needed([1.0, 1.0, 1.0], encode=lambda x: np.stack([x[:, 0], x[:, 1], np.tanh(x[:, 1])], axis=1))
    assert costs["z2"] > 0.1  # the old rule, by its mean alone, would keep it
    assert unused == ["z2"], (costs, given)
    assert given["z2"] < 0.01
    assert given["z0"] > 0.2 and given["z1"] > 0.2  # without either of the two left, the answer loses much


def test_three_neurons_on_two_quantities_keep_two(run_needed):
    """Each of three neurons is a function of the other two (z2 = z0 + z1), and the answer,
    z0 - z1 + z2 / 2 = (3 z0 - z1) / 2, is held by none of them alone: one goes, not two."""
    costs, given, unused = run_needed([1.0, -1.0, 0.5], encode=lambda x: np.stack([x[:, 0], x[:, 1], x[:, 0] + x[:, 1]], axis=1))
    assert len(unused) == 1, (costs, given)
    assert all(given[n] > 0.08 for n in ("z0", "z1", "z2") if n not in unused)


def test_a_neuron_independent_of_the_kept_ones_is_guessed_by_its_mean_and_a_copy_by_itself():
    rng = np.random.default_rng(1)
    a = rng.normal(size=3000)
    mean = np.stack([a, rng.normal(size=3000), np.sin(a)], axis=1)
    z = given_others(mean, [1, 2], circle=False, resolution=np.ones(3))
    assert np.corrcoef(z[:, 2], np.sin(a))[0, 1] > 0.99  # a function of the kept neuron
    assert abs(np.corrcoef(z[:, 1], mean[:, 1])[0, 1]) < 0.1  # nothing to go on
    assert np.array_equal(z[:, 0], a)  # the kept neuron untouched


def test_angles_are_guessed_on_the_circle():
    """A circle neuron that copies another through a shift across the seam at +-pi comes back whole."""
    rng = np.random.default_rng(2)
    phi = rng.uniform(-np.pi, np.pi, 3000)
    mean = np.stack([phi, np.angle(np.exp(1j * (phi + 3.0)))], axis=1)
    z = given_others(mean, [1], circle=True, resolution=np.ones(2))
    err = np.angle(np.exp(1j * (z[:, 1] - mean[:, 1])))
    assert np.max(np.abs(err)) < 0.1

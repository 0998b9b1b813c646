"""A neuron is used when the answers need it, not only when it carries information (``stages.export.needed``)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import stages.export
from stages.export import needed


class _Decoder:
    """A stand-in network: the encoder copies its inputs into the neurons, the decoder answers with a fixed
    linear map of them."""

    latent_kind = "real"

    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype=float)
        self.latent_size = len(weights)

    def encode(self, x):
        return x[:, : self.latent_size], np.zeros((len(x), self.latent_size))

    def answer_from(self, z, q=None, steps=None):
        return (z @ self.weights)[:, None]


@pytest.fixture
def rows(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 4))
    system = SimpleNamespace(is_series=False, answers=[SimpleNamespace(angle=False, size=1)])

    def arrays(frame, system_, weights):
        return {"x": X}, (X[:, : len(weights)] @ np.asarray(weights))[:, None]

    return X, system, monkeypatch, arrays


@pytest.mark.parametrize(
    ("weights", "dispensable"),
    [
        ([1.0, 1.0, 0.0], ["z2"]),  # carries its input, the answer ignores it
        ([1.0, 1.0, 0.1], ["z2"]),  # a little of the answer: well below 5 % of what all neurons do
        ([1.0, 1.0, 0.5], []),  # a part of the answer that matters
        ([1.0, 0.2, 0.2], ["z1"]),  # each alone is dispensable (3.7 %), not both (7.4 %): the removal stops at one
    ],
)
def test_a_neuron_the_answer_does_not_need_is_unused(rows, weights, dispensable):
    X, system, monkeypatch, arrays = rows
    monkeypatch.setattr(stages.export, "model_arrays", lambda frame, s: arrays(frame, s, weights))
    costs, unused = needed(_Decoder(weights), pd.DataFrame({"a": np.zeros(len(X))}), system, 1000, 0.05)
    assert unused == dispensable, costs
    assert costs["z0"] > 0.4  # the first input, always a large part of the answer

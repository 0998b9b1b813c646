"""The damped pendulum (Iten et al. 2020, Fig. 2): SciNet learns damping and spring constant,
and from the trained network we read back its law of motion.

A damped harmonic oscillator ``x'' + b x' + kappa x = 0`` with ``x(0) = A0 = 1`` and
initial phase ``delta0 = 0``.  Under-damped (``kappa > b^2/4`` everywhere in the
ranges below), its solution is

    x(t) = A0 exp(-b t / 2) cos(w t + delta0),   w = sqrt(kappa - b^2 / 4),

which solves the equation: with ``x = Re exp(lambda t)``, ``lambda^2 + b lambda + kappa = 0``
gives ``lambda = -b/2 +- i sqrt(kappa - b^2/4)``.  (The 2018 code writes the same as
``Re A0 exp(-b t/2) exp(i delta0 + sqrt(b^2 - 4 kappa) t / 2)``;
``tests/test_pendulum.py`` checks the closed form against a numerical integration.)

The experiment, as in the paper: ``b`` uniform in [0.5, 1], ``kappa`` uniform in
[5, 10] (the 2018 code widened both by 20 % to cover the edges; we keep the
paper's ranges).  The encoder sees ``x`` at 50 equally spaced times in [0, 5];
the question is a time ``t_pred`` uniform in [0, 10]; the answer is
``x(t_pred)``.  Three real latent neurons: two come to hold (b, kappa), the
third stays unused.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from systems.base import AnswerLawSpec, Column, LatentSpec, PhysicalSystem

B_RANGE = (0.5, 1.0)
KAPPA_RANGE = (5.0, 10.0)
T_RECORD = np.linspace(0.0, 5.0, 50)
T_PRED_RANGE = (0.0, 10.0)


def position(t, b, kappa, *, a0: float = 1.0, delta0: float = 0.0):
    """``x(t) = a0 exp(-b t/2) cos(sqrt(kappa - b^2/4) t + delta0)`` (broadcasting)."""
    omega = np.sqrt(kappa - b**2 / 4)
    return a0 * np.exp(-b * t / 2) * np.cos(omega * t + delta0)


def simulate(*, n_samples: int, rng: np.random.Generator):
    b = rng.uniform(*B_RANGE, size=n_samples)
    kappa = rng.uniform(*KAPPA_RANGE, size=n_samples)
    t_pred = rng.uniform(*T_PRED_RANGE, size=n_samples)
    return {
        "x_record": position(T_RECORD[None, :], b[:, None], kappa[:, None]),
        "t_pred": t_pred,
        "x_pred": position(t_pred, b, kappa),
        "b": b,
        "kappa": kappa,
    }


def _laws():
    from systems.laws import AnswerLaw, LatentsSpan, UnusedLatents

    b, kappa, t = sp.symbols("b kappa t_pred", real=True)
    a0, gamma, h = sp.symbols("A_0 gamma h", real=True)
    return (
        LatentsSpan(
            name="latents_span_b_kappa",
            title="Two neurons hold damping and spring constant",
            description="two active neurons together determine the damping b and the spring constant kappa",
            quantities=("b", "kappa"),
        ),
        UnusedLatents(
            name="one_unused_latent",
            title="The third neuron is unused",
            description="the third neuron is unused: it stays at the prior, or tells the decoder nothing the other two do not",
            count=1,
        ),
        AnswerLaw(
            name="law_of_motion",
            title="Damped oscillation",
            description="the network's answer is x = A0 exp(-gamma b t) cos(sqrt(kappa - h b^2) t), A0 = 1, gamma = 1/2, h = 1/4",
            expression=a0 * sp.exp(-gamma * b * t) * sp.cos(sp.sqrt(kappa - h * b**2) * t),
            constants={a0: 1.0, gamma: 0.5, h: 0.25},
        ),
    )


SYSTEM = PhysicalSystem(
    name="pendulum",
    description="A damped pendulum: from a recording of its motion, predict its position at a later time (Iten et al. 2020, Fig. 2)",
    encoder=(Column("x_record", "1", size=len(T_RECORD), doc="position x/A0 at 50 equally spaced times in [0, 5]"),),
    questions=(Column("t_pred", "s", doc="the time asked about", symbol="t"),),
    answers=(Column("x_pred", "1", doc="position x/A0 at the time asked about", symbol="x"),),
    ground_truth=(
        Column("b", "1/s", doc="damping constant"),
        Column("kappa", "1/s^2", doc="spring constant per unit mass", symbol=r"\kappa"),
    ),
    latent=LatentSpec(size=3, kind="real", evolution="none"),
    simulator=simulate,
    laws=_laws,
    regress={"ground_truth": ("b", "kappa")},
    answer_law=AnswerLawSpec(
        answer="x_pred", parameters=("b", "kappa"), question="t_pred", n_samples=300, questions_per_sample=200
    ),
    defaults={
        "simulate.n_samples": 25000,
        "train.epochs": [600],
        "train.beta": 3e-5,
        "train.batch_size": 256,
        "train.learning_rate": 3e-3,
        "train.encoder_units": [100, 100],
        "train.decoder_units": [100, 100],
    },
    heatmap=("b", "kappa"),
    citation="R. Iten, T. Metger, H. Wilming, L. del Rio, R. Renner, Phys. Rev. Lett. 124, 010508 (2020), Fig. 2",
    degrees_of_freedom=2,
)

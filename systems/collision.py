"""Conservation of angular momentum (Iten et al. 2020, Fig. 3): SciNet finds the one quantity
a collision conserves, and symbolic regression names it ``L = w - v_x``.

A particle of mass 1 rotates on a circle of radius 1 about the origin, at angle
``alpha(t) = alpha0 + w t``; a free particle of mass 1 flies in a straight line,
``(x0 + v_x t, y0 + v_y t)``, and hits it at the point (0, 1) at time
``t_c = -x0 / v_x``; so ``y0 = 1 - v_y t_c`` and ``alpha0 = pi/2 - w t_c``.
Lengths are in units of the radius and masses in units of the particles' mass,
so a velocity and an angular velocity have the same unit, 1/s.

The angular momentum about the origin, ``x p_y - y p_x``, of the rotating
particle is ``r^2 w = w``; of the free particle, whose line passes through
(0, 1), it is ``0 v_y - 1 v_x = -v_x`` (the same at every point of the line).
The total, ``L = w - v_x``, is conserved by the collision: after it the free
particle leaves (0, 1) with a velocity ``(v_x', v_y')`` drawn uniformly from
[-2, 2]^2 and has angular momentum ``-v_x'``, so the rotating particle turns
at ``w' = L + v_x'`` and is at angle ``pi/2 + (w - v_x + v_x') t_p`` a time
``t_p`` after the collision.  ``tests/test_collision.py`` checks the simulator
against an independent computation of ``x p_y - y p_x`` from finite
differences of the positions, before and after the collision.

The experiment, as in the 2018 code (branch ``angular_momentum``): ``v_x``
uniform in [1, 2], ``v_y`` in [-1, 1], ``w`` in [1, 3], ``x0`` in [-3, -1].

* Encoder: the positions (noise sigma = 0.01) and times of both particles at 5
  jittered times in [0, t_c] each (the first at 0).
* Question: the free particle's positions (noise 0.01) and times at 5
  jittered times in [0, 4] after the collision, and a time ``t_p`` in [0, 4].
* Answer: the rotating particle's position ``(cos, sin)`` at ``t_p`` after the
  collision, with noise 0.01.

One real latent neuron.  :data:`CONTROL` is the negative control: the same
experiment with ``w'`` drawn at random, so that nothing is conserved and
nothing about the recording helps to answer.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy as sp

from systems.base import AnswerLawSpec, Column, LatentSpec, PhysicalSystem

V_X_RANGE = (1.0, 2.0)
V_Y_RANGE = (-1.0, 1.0)
W_RANGE = (1.0, 3.0)
X0_RANGE = (-3.0, -1.0)
V_OUT_RANGE = (-2.0, 2.0)
T_OUT = 4.0
"""the free particle is recorded, and the rotating one asked about, up to this time after the collision"""
STEPS = 5
NOISE = 0.01
W_OUT_RANGE = (W_RANGE[0] - V_X_RANGE[1] + V_OUT_RANGE[0], W_RANGE[1] - V_X_RANGE[0] + V_OUT_RANGE[1])
"""the range of w' = w - v_x + v_x' (the negative control draws w' uniformly from it)"""


def jittered_times(end: np.ndarray, rng: np.random.Generator, steps: int = STEPS) -> np.ndarray:
    """``steps`` times per sample: equally spaced in [0, end], each moved uniformly by up to half a
    spacing, the first at 0 (as in the 2018 code).  Shape (n, steps)."""
    end = np.asarray(end, dtype=float)[:, None]
    grid = np.linspace(0.0, 1.0, steps)[None, :] * end
    spacing = end / (steps - 1)
    t = grid + rng.uniform(-0.5, 0.5, size=(len(end), steps)) * spacing
    t[:, 0] = 0.0
    return t


def angular_momentum(x, y, vx, vy):
    """``x v_y - y v_x`` (mass 1) about the origin."""
    return x * vy - y * vx


def _simulate(*, n_samples: int, rng: np.random.Generator, conserved: bool = True, noise: float = NOISE):
    n = n_samples
    v_x = rng.uniform(*V_X_RANGE, size=n)
    v_y = rng.uniform(*V_Y_RANGE, size=n)
    w = rng.uniform(*W_RANGE, size=n)
    x0 = rng.uniform(*X0_RANGE, size=n)
    t_c = -x0 / v_x
    y0 = 1.0 - v_y * t_c
    alpha0 = np.pi / 2 - w * t_c
    v_x_out = rng.uniform(*V_OUT_RANGE, size=n)
    v_y_out = rng.uniform(*V_OUT_RANGE, size=n)
    t_p = rng.uniform(0.0, T_OUT, size=n)
    w_out = w - v_x + v_x_out if conserved else rng.uniform(*W_OUT_RANGE, size=n)

    def noisy(a):
        return a + rng.normal(scale=noise, size=a.shape)

    t_free = jittered_times(t_c, rng)
    t_rot = jittered_times(t_c, rng)
    t_out = jittered_times(np.full(n, T_OUT), rng)
    angle = alpha0[:, None] + w[:, None] * t_rot
    angle_p = np.pi / 2 + w_out * t_p
    return {
        "free_x": noisy(x0[:, None] + v_x[:, None] * t_free),
        "free_y": noisy(y0[:, None] + v_y[:, None] * t_free),
        "free_t": t_free,
        "rot_x": noisy(np.cos(angle)),
        "rot_y": noisy(np.sin(angle)),
        "rot_t": t_rot,
        "out_x": noisy(v_x_out[:, None] * t_out),
        "out_y": noisy(1.0 + v_y_out[:, None] * t_out),
        "out_t": t_out,
        "t_p": t_p,
        "x_p": noisy(np.cos(angle_p)),
        "y_p": noisy(np.sin(angle_p)),
        "x0": x0,
        "y0": y0,
        "v_x": v_x,
        "v_y": v_y,
        "alpha0": alpha0,
        "w": w,
        "v_x_out": v_x_out,
        "v_y_out": v_y_out,
    }


def simulate(*, n_samples: int, rng: np.random.Generator):
    return _simulate(n_samples=n_samples, rng=rng, conserved=True)


def simulate_unconserved(*, n_samples: int, rng: np.random.Generator):
    """The negative control: ``w'`` uniform in :data:`W_OUT_RANGE`, whatever came before."""
    return _simulate(n_samples=n_samples, rng=rng, conserved=False)


def _laws():
    from systems.laws import AnswerLaw, LatentsSpan
    from systems.laws.function_of import FunctionOf

    w, v_x, v_x_out, t_p = sp.symbols("w v_x v_x_out t_p", real=True)
    phi0 = sp.Symbol("phi_0", real=True)
    return (
        LatentsSpan(
            name="latent_determines_L",
            title="A neuron determines the angular momentum",
            description="one neuron is active and determines L = w - v_x through a smooth map (a cubic polynomial of it)",
            quantities=(w - v_x,),
        ),
        FunctionOf(
            name="selects_a_function_of_L",
            title="The neuron's equation is a function of L",
            description="regressed on all eight ground-truth variables, the neuron's selected equation uses exactly w and "
            "v_x and is a function of L = w - v_x alone (its gradient along w + v_x vanishes on held-out rows), "
            "whatever monotone map the neuron holds L by",
            expression=w - v_x,
        ),
        AnswerLaw(
            name="law_of_motion",
            title="Motion after the collision",
            description="after the collision the rotating particle is at angle phi_0 + (w - v_x + v_x') t_p, phi_0 = pi/2 "
            "(the rotating particle turns at w' = L + v_x')",
            expression=phi0 + (w - v_x + v_x_out) * t_p,
            constants={phi0: sp.pi / 2},
        ),
    )


_VELOCITY = "1/s"
"""lengths are in units of the circle's radius, so a velocity has the unit of an angular velocity"""

SYSTEM = PhysicalSystem(
    name="collision",
    description="A free particle hits a rotating one: from their motion before, predict the rotating particle after "
    "(Iten et al. 2020, Fig. 3)",
    encoder=(
        Column("free_x", "1", size=STEPS, doc="free particle: x/r at 5 times before the collision (noise 0.01)"),
        Column("free_y", "1", size=STEPS, doc="free particle: y/r at those times (noise 0.01)"),
        Column("free_t", "s", size=STEPS, doc="free particle: the times, in [0, t_c]"),
        Column("rot_x", "1", size=STEPS, doc="rotating particle: x/r at 5 times before the collision (noise 0.01)"),
        Column("rot_y", "1", size=STEPS, doc="rotating particle: y/r at those times (noise 0.01)"),
        Column("rot_t", "s", size=STEPS, doc="rotating particle: the times, in [0, t_c]"),
    ),
    questions=(
        Column("out_x", "1", size=STEPS, doc="free particle: x/r at 5 times after the collision (noise 0.01)"),
        Column("out_y", "1", size=STEPS, doc="free particle: y/r at those times (noise 0.01)"),
        Column("out_t", "s", size=STEPS, doc="free particle: the times since the collision, in [0, 4]"),
        Column("t_p", "s", doc="the time since the collision asked about", symbol="t_p"),
    ),
    answers=(
        Column("x_p", "1", doc="rotating particle: x/r at t_p (noise 0.01)", symbol="x_p"),
        Column("y_p", "1", doc="rotating particle: y/r at t_p (noise 0.01)", symbol="y_p"),
    ),
    ground_truth=(
        Column("x0", "1", doc="free particle's initial x/r", symbol="x_0"),
        Column("y0", "1", doc="free particle's initial y/r", symbol="y_0"),
        Column("v_x", _VELOCITY, doc="free particle's velocity before the collision, x component", symbol="v_x"),
        Column("v_y", _VELOCITY, doc="free particle's velocity before the collision, y component", symbol="v_y"),
        Column("alpha0", "rad", angle=True, doc="rotating particle's initial angle", symbol=r"\alpha_0"),
        Column("w", _VELOCITY, doc="rotating particle's angular velocity before the collision", symbol=r"\omega"),
        Column("v_x_out", _VELOCITY, doc="free particle's velocity after the collision, x component", symbol="v_x'"),
        Column("v_y_out", _VELOCITY, doc="free particle's velocity after the collision, y component", symbol="v_y'"),
    ),
    latent=LatentSpec(size=1, kind="real", evolution="none"),
    simulator=simulate,
    laws=_laws,
    regress={"ground_truth": ("x0", "y0", "v_x", "v_y", "alpha0", "w", "v_x_out", "v_y_out")},
    answer_law=AnswerLawSpec(
        answer="alpha_p",
        angle_of=("x_p", "y_p"),
        parameters=("w", "v_x"),
        question_parameters=("v_x_out", "v_y_out"),
        question="t_p",
        n_samples=200,
        questions_per_sample=100,
    ),
    defaults={
        "simulate.n_samples": 40000,
        "train.epochs": [600],
        "train.beta": 1e-3,
        "train.batch_size": 512,
        "train.learning_rate": 3e-3,
        "train.encoder_units": [150, 100, 100],
        "train.decoder_units": [100, 100, 100, 100],
    },
    citation="R. Iten, T. Metger, H. Wilming, L. del Rio, R. Renner, Phys. Rev. Lett. 124, 010508 (2020), Fig. 3",
    degrees_of_freedom=1,
)

CONTROL = dataclasses.replace(
    SYSTEM,
    name="collision_control",
    description="Negative control for `collision`: the rotating particle's new angular velocity is drawn at random",
    simulator=simulate_unconserved,
    degrees_of_freedom=0,
)
"""Not registered: a test (or a script, with :func:`pipeline.registry.register`) runs it."""

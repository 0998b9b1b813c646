"""What a physical system declares, so that the stages can run it without knowing it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import sympy as sp

LatentKind = Literal["circle", "real"]
LawKind = Literal["latent_is_quantity", "latent_formula", "step_ratio"]


@dataclass(frozen=True)
class Column:
    """One observed or ground-truth quantity."""

    name: str
    unit: str
    angle: bool = False
    doc: str = ""


@dataclass(frozen=True)
class LatentSpec:
    """The SciNet architecture a system needs.

    ``kind="circle"``: each latent neuron is an angle (the network works with its
    cosine and sine, so a 2 pi jump costs nothing); ``"real"``: an ordinary real number.
    ``evolution="constant_step"``: ``z_{t+1} = z_t + omega`` with one learned ``omega``
    per neuron.  ``questions`` names input columns the decoder receives besides the
    latent state (none for a pure time-series prediction).
    """

    size: int
    kind: LatentKind = "real"
    evolution: Literal["constant_step"] = "constant_step"
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownLaw:
    """A law of physics the discovered equations are checked against.

    ``kind``:

    * ``latent_is_quantity``: one latent neuron equals ``+-expression + c`` (mod 2 pi for
      angles), ``expression`` in ground-truth symbols;
    * ``latent_formula``: the neuron that holds ``quantity`` is ``+-expression + c`` as a
      function of the observations, with free constants ``constants`` (true values, or
      ``None`` where physics does not fix them) to be fitted from ``initial``;
    * ``step_ratio``: the ratio of the learned steps of the neurons holding
      ``quantities[0]`` and ``quantities[1]`` equals ``true_value``.

    A constant listed in ``fixed`` is not fitted: the law asserts its value.
    """

    name: str
    kind: LawKind
    description: str
    expression: sp.Expr
    quantity: str | None = None
    quantities: tuple[str, str] | None = None
    constants: Mapping[sp.Symbol, float | None] = field(default_factory=dict)
    initial: Mapping[sp.Symbol, float] = field(default_factory=dict)
    fixed: Mapping[sp.Symbol, float] = field(default_factory=dict)
    true_value: float | None = None


Simulator = Callable[..., Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class PhysicalSystem:
    """A physical system: simulator, columns, SciNet architecture and known laws.

    ``simulator(n_series=, series_length=, rng=)`` returns equal-length columns
    ``series``, ``step``, the time column, every observation and every ground-truth
    column, one row per observation.  ``laws`` is called lazily (SymPy objects).
    """

    name: str
    description: str
    observations: tuple[Column, ...]
    ground_truth: tuple[Column, ...]
    time: Column
    latent: LatentSpec
    simulator: Simulator
    laws: Callable[[], tuple[KnownLaw, ...]]

    @property
    def observation_names(self) -> list[str]:
        return [c.name for c in self.observations]

    @property
    def ground_truth_names(self) -> list[str]:
        return [c.name for c in self.ground_truth]

    @property
    def columns(self) -> dict[str, Column]:
        return {c.name: c for c in (*self.observations, *self.ground_truth, self.time)}

    def known_laws(self) -> tuple[KnownLaw, ...]:
        return self.laws()

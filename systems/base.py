"""What a physical system declares, so that the stages can run it without knowing it.

A system is one :class:`PhysicalSystem`: the shape of its experiment (what the
encoder sees, what the decoder is asked and what it answers), the SciNet
latent it needs, its simulator, the variable sets its latents are regressed on,
its known laws and its default settings.  Nothing else in the tree names a
system; ``systems/pendulum.py`` is the worked example.

Two shapes of experiment:

* ``evolution="none"`` (question and answer, e.g. the damped pendulum): one row
  per sample.  The encoder sees the ``encoder`` columns of the row, the decoder
  gets the latent and the ``questions`` columns and predicts the ``answers``.
* ``evolution="constant_step"`` (a time series, e.g. Copernicus): one row per
  observation, with integer columns ``series`` and ``step``.  The encoder sees
  the ``encoder`` columns of a series' first row; the latent advances by a
  learned step per neuron, ``z_{t+1} = z_t + omega``; the decoder predicts the
  ``answers`` of every step (with that step's ``questions``, if any).

The simulator contract: ``simulator(n_samples=, rng=)`` (plus
``series_length=`` for a time series) returns a mapping of equal-length
columns, one row per sample (or observation): every declared column, a
vector column (``Column(size=k)``) as an array of shape ``(n, k)``.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # the law classes import SciPy and SymPy: a listing of the systems need not
    from systems.laws.base import Law

LatentKind = Literal["circle", "real"]
Evolution = Literal["none", "constant_step"]


@dataclass(frozen=True)
class Column:
    """One quantity of the experiment.

    ``size > 1`` makes it a vector per sample (a whole recording, say).  ``symbol``
    is its LaTeX (default: SymPy's rendering of ``name``).
    """

    name: str
    unit: str
    angle: bool = False
    doc: str = ""
    size: int = 1
    symbol: str = ""


@dataclass(frozen=True)
class LatentSpec:
    """The SciNet latent a system needs.

    ``kind="circle"``: each neuron is an angle (the network works with its cosine
    and sine, so a 2 pi jump costs nothing; its prior is uniform on the circle);
    ``"real"``: a real number with a standard Gaussian prior.
    ``evolution``: ``"none"`` or ``"constant_step"`` (see the module docstring).
    ``size`` is the default latent size (``train.latent_size`` overrides it).
    """

    size: int
    kind: LatentKind = "real"
    evolution: Evolution = "none"


@dataclass(frozen=True)
class AnswerLawSpec:
    """How to regress the trained network's answer as a function of the physical
    parameters and the question (a law of motion).

    For each of ``n_samples`` fresh samples the stages encode its recording and ask the
    decoder ``questions_per_sample`` questions: the ``question`` column (the one scalar
    question that is the independent variable of the family of curves, a time, say)
    takes the values of that many other fresh samples, and every other question column
    is held at the values of one more sample, so that each recording gives one curve.
    ``parameters`` are ground-truth columns of the recording; ``question_parameters``
    ground-truth columns that describe the rest of the question (taken from the sample
    that question was drawn from: the free particle's velocity after a collision, when
    the question shows its path).

    ``answer`` names the answer column the law is for, or, with ``angle_of = (x, y)``,
    the angle ``atan2(y, x)`` of the point whose coordinates two answer columns give
    (a particle on a circle): that law is an angle, fitted and judged on the circle.
    """

    answer: str
    parameters: tuple[str, ...]
    question: str
    n_samples: int = 60
    questions_per_sample: int = 80
    question_parameters: tuple[str, ...] = ()
    angle_of: tuple[str, str] | None = None

    def noise_variance(self, prediction_rms: Mapping[str, float]) -> float:
        """How far the network's answers lie from the truth, as a variance of the law's target, from the
        held-out RMS errors per answer column (``history.json``).  The angle of an answered point on the
        unit circle is off by at most the point's distance from the truth: the sum of the two coordinates'
        mean squared errors."""
        columns = self.angle_of if self.angle_of is not None else (self.answer,)
        return sum(float(prediction_rms.get(c, prediction_rms.get("all", 0.0))) ** 2 for c in columns)

    @property
    def variables(self) -> list[str]:
        """The law's variables: the parameters, those of the question, then the question."""
        return [*self.parameters, *self.question_parameters, self.question]


@dataclass(frozen=True)
class PhysicalSystem:
    """A physical system: experiment shape, simulator, SciNet latent, regression sets, laws, defaults.

    ``regress`` maps a variable-set name to the columns each active latent is
    regressed on (``{"ground_truth": ("b", "kappa")}``).  ``laws`` is called lazily and
    returns law objects (:class:`systems.laws.base.Law`, one per known law).  ``defaults`` are settings in dotted
    form (``{"train.epochs": [200]}``) that a user's TOML and ``--set`` still override.
    ``heatmap`` names two ground-truth columns over which the report draws each
    neuron's activation.
    """

    name: str
    description: str
    encoder: tuple[Column, ...]
    answers: tuple[Column, ...]
    ground_truth: tuple[Column, ...]
    latent: LatentSpec
    simulator: Callable[..., Mapping[str, np.ndarray]]
    laws: Callable[[], tuple[Law, ...]]
    questions: tuple[Column, ...] = ()
    time: Column | None = None
    regress: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    answer_law: AnswerLawSpec | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    heatmap: tuple[str, str] | None = None
    citation: str = ""
    degrees_of_freedom: int | None = None
    """how many real numbers the answer needs from the recording (what ``scinet sweep`` should find)"""
    data: str = ""
    """for a system whose samples are measured data, not simulated (one declared in a TOML file,
    :mod:`pipeline.declared`): a fingerprint of the data and of how samples are cut from them.  The stages
    then ask the network about held-out samples where they would simulate fresh ones."""
    origin: str = ""
    """the TOML file a declared system was read from (recorded in the run's manifest); empty otherwise"""

    # -- names ----------------------------------------------------------------------
    @property
    def measured(self) -> bool:
        """The samples are measured data (``data``), so there are no fresh ones to simulate."""
        return bool(self.data)

    @property
    def is_series(self) -> bool:
        return self.latent.evolution == "constant_step"

    @property
    def encoder_names(self) -> list[str]:
        return [c.name for c in self.encoder]

    @property
    def question_names(self) -> list[str]:
        return [c.name for c in self.questions]

    @property
    def answer_names(self) -> list[str]:
        return [c.name for c in self.answers]

    @property
    def ground_truth_names(self) -> list[str]:
        return [c.name for c in self.ground_truth]

    @property
    def observed(self) -> tuple[Column, ...]:
        """Every column the network sees or predicts, once each, in declaration order."""
        seen: dict[str, Column] = {}
        for c in (*self.encoder, *self.questions, *self.answers):
            seen.setdefault(c.name, c)
        return tuple(seen.values())

    @property
    def columns(self) -> dict[str, Column]:
        cols = {c.name: c for c in (*self.observed, *self.ground_truth)}
        if self.time is not None:
            cols[self.time.name] = self.time
        return cols

    @property
    def scalar_names(self) -> list[str]:
        """Columns with one value per row (those symbolic regression and the laws can use)."""
        return [n for n, c in self.columns.items() if c.size == 1]

    def known_laws(self) -> tuple[Law, ...]:
        return tuple(self.laws())

    def simulate(self, *, n_samples: int, rng: np.random.Generator, series_length: int | None = None):
        if self.is_series:
            return self.simulator(n_samples=n_samples, series_length=series_length, rng=rng)
        return self.simulator(n_samples=n_samples, rng=rng)

    def fingerprint(self, *, laws: bool = False) -> str:
        """A hash of what defines the system: its declaration and the source of its module, less the source of its
        ``laws`` function (a ``def``; a lambda's source is its whole line); with ``laws``, that source and the laws
        it returns too (every field, SymPy expressions with their assumptions).

        Part of every stage's cache key (``laws`` for the stages that read the laws, verify and report), so editing
        ``systems/NAME.py`` re-runs the stages, and editing only its ``laws`` function re-runs only verify and
        report.  Helpers the laws function calls elsewhere in the module count as the module's: editing them
        re-runs every stage.
        """
        h = hashlib.sha256(repr(self._declaration()).encode())
        simulator = getattr(self.simulator, "func", self.simulator)  # a functools.partial: its function's module
        module = sys.modules.get(getattr(simulator, "__module__", ""))
        laws_function = getattr(self.laws, "func", self.laws)
        # a lambda's source is the whole line it stands on, declaration and all: only a def is set apart
        law_source = _source(laws_function) if getattr(laws_function, "__name__", "<lambda>") != "<lambda>" else ""
        source = _source(module)
        h.update((source.replace(law_source, "") if law_source else source).encode())
        if laws:
            h.update(law_source.encode())
            h.update(_stable(self.known_laws()).encode())
        return h.hexdigest()[:16]

    def _declaration(self) -> tuple:
        return (
            self.name,
            self.encoder,
            self.questions,
            self.answers,
            self.ground_truth,
            self.time,
            self.latent,
            tuple(sorted((k, tuple(v)) for k, v in self.regress.items())),
            self.answer_law,
            tuple(sorted((k, repr(v)) for k, v in self.defaults.items())),
            *((self.data,) if self.data else ()),  # a declared system: its data
        )


def _source(obj) -> str:
    """The source text of a module or function, or "" where Python cannot find it."""
    try:
        return inspect.getsource(obj) if obj is not None else ""
    except (OSError, TypeError):
        return ""


def _stable(obj) -> str:
    """A text of ``obj`` that is the same in every process: dataclasses field by field, SymPy objects by
    ``srepr`` (which keeps their assumptions), mappings sorted, and no memory addresses."""
    import dataclasses

    import sympy as sp

    if isinstance(obj, sp.Basic):
        return sp.srepr(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = ", ".join(f"{f.name}={_stable(getattr(obj, f.name))}" for f in dataclasses.fields(obj))
        return f"{type(obj).__name__}({fields})"
    if isinstance(obj, Mapping):
        return "{" + ", ".join(sorted(f"{_stable(k)}: {_stable(v)}" for k, v in obj.items())) + "}"
    if isinstance(obj, list | tuple):
        return "(" + ", ".join(_stable(x) for x in obj) + ")"
    return re.sub(r" at 0x[0-9a-f]+", "", repr(obj))

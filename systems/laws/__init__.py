"""Law checks as plug-ins: one class per law kind, one module each, registered by ``kind``.

=====================  =========================================================
``latent_is_quantity``  one neuron holds a quantity, ``+-q + c`` (mod 2 pi for a circle)
``latent_affine``       one neuron is ``a q + c``
``selected_variables``  regressed on many variables, a neuron's equation uses exactly those of ``q``
``function_of``         ... and is a function of ``q`` alone, by whatever monotone map the neuron holds it
``latent_formula``      the neuron holding a quantity computes it by a law of the observations
``step_ratio``          the ratio of two neurons' learned steps
``latents_span``        the active neurons together determine the listed quantities
``unused_latents``      how many neurons stay at the prior
``prediction_rms``      the network's held-out answer error is at most a bound
``answer_law``          the network's answer as a function of parameters and question (a law of motion)
``constant_relation``   learned steps and constants other laws fitted obey a relation (Kepler's third law)
``observation_model``   an observation follows from the quantities the neurons hold by a model with fitted constants
=====================  =========================================================

A new kind is one new module here defining a subclass of :class:`Law` with a
``kind`` and a ``check``; importing it registers it.
"""

from __future__ import annotations

import importlib
import pkgutil

from systems.laws.answer_law import AnswerLaw
from systems.laws.base import LAW_KINDS, Evidence, Holder, Law, Order, make_law
from systems.laws.constant_relation import ConstantRelation
from systems.laws.function_of import FunctionOf
from systems.laws.latent_affine import LatentAffine
from systems.laws.latent_formula import LatentFormula
from systems.laws.latent_is_quantity import LatentIsQuantity
from systems.laws.latents_span import LatentsSpan
from systems.laws.observation_model import ObservationModel
from systems.laws.prediction_rms import PredictionRms
from systems.laws.selected_variables import SelectedVariables
from systems.laws.step_ratio import StepRatio
from systems.laws.unused_latents import UnusedLatents

for _info in pkgutil.iter_modules(__path__):  # a kind added as a module registers itself
    importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "LAW_KINDS",
    "AnswerLaw",
    "ConstantRelation",
    "Evidence",
    "FunctionOf",
    "Holder",
    "LatentAffine",
    "LatentFormula",
    "LatentIsQuantity",
    "LatentsSpan",
    "Law",
    "ObservationModel",
    "Order",
    "PredictionRms",
    "SelectedVariables",
    "StepRatio",
    "UnusedLatents",
    "make_law",
]

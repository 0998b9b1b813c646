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
``kind`` and a ``check``; importing it registers it, and :func:`load_kinds` imports every module here
(``make_law`` and a declared system's ``[[laws]]`` call it), so no other file changes.  The names below are
imported when first used (PEP 562): a module that needs only the verdicts imports no law kind.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "AnswerLaw": "answer_law",
    "ConstantRelation": "constant_relation",
    "Evidence": "base",
    "FunctionOf": "function_of",
    "Holder": "base",
    "LAW_KINDS": "base",
    "LatentAffine": "latent_affine",
    "LatentFormula": "latent_formula",
    "LatentIsQuantity": "latent_is_quantity",
    "LatentsSpan": "latents_span",
    "Law": "base",
    "ObservationModel": "observation_model",
    "Order": "base",
    "PredictionRms": "prediction_rms",
    "SelectedVariables": "selected_variables",
    "StepRatio": "step_ratio",
    "UnusedLatents": "unused_latents",
    "make_law": "base",
}
"""the module of each exported name: imported when the name is first used (PEP 562), so that a module importing
only :mod:`systems.laws.verdict` (the run directory's catalog) imports no law kind"""


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "LAW_KINDS":  # the registry, with every kind in it
        from systems.laws.base import law_kinds

        return law_kinds()
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:  # a module of the package
        return importlib.import_module(f"{__name__}.{name}")
    from systems.laws.base import LAW_KINDS

    load_kinds()  # a kind added as a module of its own is found by its class name
    for cls in LAW_KINDS.values():
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_kinds() -> None:
    """Import every module of this package, so that every law kind, a new module's included, is registered."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


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
    "load_kinds",
    "make_law",
]

"""SciNet from Python: the small public face over the pipeline (``pipeline/``, ``stages/``, ``symreg/``,
``systems/``).

>>> import scinet
>>> run = scinet.run("copernicus")          # every stage, as `scinet run copernicus`
>>> run.verdicts[["name", "verdict"]]        # one row per known law
>>> run.equations[run.equations["selected"]]  # the selected equation of each front
>>> print(run.latex())                       # equations.tex, to \\input into a paper

- :func:`run`, :func:`load`, :class:`Run`, :class:`Ensemble`: runs, with the command line's run directories,
  cache and manifest.
- :func:`systems`, :func:`register`, :class:`PhysicalSystem`, :class:`Column`, :class:`LatentSpec`,
  :class:`AnswerLawSpec` and the law classes (``LatentIsQuantity``, ``LatentFormula``, ``AnswerLaw``, ...):
  systems written in Python (see docs/adding-a-physical-system.md).
- :class:`SymbolicRegressor`: the symbolic regression on any data, as an sklearn estimator.
- :class:`ScinetError`: what bad input raises, with the message the command line prints.
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import ScinetError
from scinet.runs import Ensemble, Run, load, run
from systems.base import AnswerLawSpec, Column, LatentSpec, PhysicalSystem

_LAWS = ("AnswerLaw", "LatentAffine", "LatentFormula", "LatentIsQuantity", "LatentsSpan", "StepRatio", "UnusedLatents")


def systems() -> dict[str, PhysicalSystem]:
    """Every physical system that loads, by name: the built-in ones, plug-ins, and those :func:`register` made
    known (``scinet systems`` lists the same, with those that do not load)."""
    from pipeline.registry import available_systems

    return available_systems()


def register(system: PhysicalSystem) -> PhysicalSystem:
    """Make a system written in Python known by its name to :func:`run` and the command line run from this
    process (replacing an earlier registration of that name); returns it."""
    from pipeline.registry import register as _register

    return _register(system)


def __getattr__(name: str) -> Any:
    """The estimator and the law classes, imported when first asked for (scikit-learn and SymPy's laws are not
    needed to run a system)."""
    if name == "SymbolicRegressor":
        from scinet.estimator import SymbolicRegressor

        return SymbolicRegressor
    if name in _LAWS:
        import systems.laws

        return getattr(systems.laws, name)
    raise AttributeError(f"module 'scinet' has no attribute {name!r}")


__all__ = [
    "AnswerLawSpec",
    "Column",
    "Ensemble",
    "LatentSpec",
    "PhysicalSystem",
    "Run",
    "ScinetError",
    "SymbolicRegressor",
    *_LAWS,
    "load",
    "register",
    "run",
    "systems",
]

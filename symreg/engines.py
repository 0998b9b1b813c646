"""The symbolic-regression engines, by name: a registry read from the ``scinet.engines`` entry points.

An engine is one module that declares ``ENGINE = EngineSpec(...)``: its name, how to build an unfitted engine
(an sklearn-style estimator whose ``fit(X, y, *, variable_names)`` fills ``equations_``), the operator names it
understands, what to install for it and a check that it can run here.  The module is named in ``pyproject.toml``::

    [project.entry-points."scinet.engines"]
    operon = "symreg.operon:ENGINE"

so the names are known without importing any engine (the command line's ``--sr-backend`` and the config's check
of ``regress.backend`` read them), and an engine's module is imported only when that engine is chosen.  Another
package adds an engine the same way; a script or a test can :func:`register_engine` one it defines itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from symreg.errors import BackendError, did_you_mean

GROUP = "scinet.engines"


@dataclass(frozen=True)
class EngineSpec:
    """What an engine module declares about its engine."""

    name: str
    make: Callable[..., Any]
    """builds an unfitted engine from the search's settings (``make(**settings)``)"""
    operators: frozenset[str]
    """the operator names (:mod:`symreg.operators`) the engine understands"""
    extra: str = ""
    """what to install for it, in words (``pip install 'scinet[pysr]'`` and Julia), or "" for none"""
    check: Callable[[], None] | None = None
    """raises :class:`BackendError`, saying what to do, when the engine cannot run here"""


_REGISTERED: dict[str, EngineSpec] = {}


def register_engine(spec: EngineSpec) -> EngineSpec:
    """Make an engine known by its name in this process (replacing one of that name); returns it."""
    if not isinstance(spec, EngineSpec):
        raise TypeError(f"register_engine() expects an EngineSpec. Received: {type(spec).__name__}")
    _REGISTERED[spec.name] = spec
    return spec


@cache
def _declared() -> dict[str, str]:
    """Engine name -> ``module:attribute``, from the installed packages' entry points (this one's among them)."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def engine_names() -> tuple[str, ...]:
    """Every engine's name, without importing any engine."""
    return tuple(sorted({*_declared(), *_REGISTERED}))


def get_engine(name: str) -> EngineSpec:
    """The engine declared under ``name`` (its module imported now), or a :class:`BackendError` with a did-you-mean."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    target = _declared().get(name)
    if target is None:
        hint = did_you_mean(str(name), engine_names())
        raise BackendError(
            f"Unknown symbolic-regression backend {name!r}.{hint} Choose one of {', '.join(engine_names())}."
        )
    import importlib

    module, _, attribute = target.partition(":")
    try:
        spec = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"The engine {name!r} ({target}) cannot be loaded ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(spec, EngineSpec) or spec.name != name:
        raise BackendError(f"The engine {name!r} ({target}) is not an EngineSpec named {name!r}. Fix its module.")
    return spec


def allowed_operators(backend: str) -> frozenset[str]:
    """The operator names an engine understands."""
    return get_engine(backend).operators


def make_engine(backend: str, **settings: Any) -> Any:
    """An unfitted engine with ``fit(X, y, *, variable_names)`` filling ``equations_``; fails at once, saying what to
    install, where the engine cannot run here."""
    spec = get_engine(backend)
    if spec.check is not None:
        spec.check()
    try:
        return spec.make(**settings)
    except ImportError as exc:
        need = f" It needs: {spec.extra}." if spec.extra else ""
        raise BackendError(f"The {backend} engine cannot start ({exc}).{need} Or choose another: {', '.join(engine_names())}.") from exc

"""Physical systems: every module in the ``systems`` package that defines ``SYSTEM`` (or ``SYSTEMS``,
a tuple of variants: one qubit and two, say).

Third-party packages can add systems through the ``scinet.systems`` entry-point
group (each entry point names a :class:`systems.base.PhysicalSystem`), and a
script or test can :func:`register` one it defines itself.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from importlib.metadata import entry_points

import systems
from pipeline.errors import ScinetError
from systems.base import PhysicalSystem


class UnknownSystemError(ScinetError):
    pass


_REGISTERED: dict[str, PhysicalSystem] = {}


def register(system: PhysicalSystem) -> PhysicalSystem:
    """Make ``system`` known by its name (replacing an earlier one of that name); returns it."""
    if not isinstance(system, PhysicalSystem):
        raise TypeError(f"register() expects a PhysicalSystem. Received: {type(system).__name__}")
    _REGISTERED[system.name] = system
    return system


def registered() -> dict[str, PhysicalSystem]:
    """The systems made known by :func:`register` in this process (a worker process must be given them)."""
    return dict(_REGISTERED)


def available_systems() -> dict[str, PhysicalSystem]:
    found: dict[str, PhysicalSystem] = {}
    for info in pkgutil.iter_modules(systems.__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"systems.{info.name}")
        for system in (getattr(module, "SYSTEM", None), *getattr(module, "SYSTEMS", ())):
            if isinstance(system, PhysicalSystem):
                found[system.name] = system
    for ep in entry_points(group="scinet.systems"):
        system = ep.load()
        if isinstance(system, PhysicalSystem):
            found[system.name] = system
    found.update(_REGISTERED)
    return dict(sorted(found.items()))


def get_system(name: str) -> PhysicalSystem:
    known = available_systems()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownSystemError(
        f"Unknown system {name!r}.{hint} Known systems: {', '.join(known)}. Run `scinet systems` to list them."
    )

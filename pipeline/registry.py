"""Physical systems: every module in the ``systems`` package that defines ``SYSTEM`` (or ``SYSTEMS``,
a tuple of variants: one qubit and two, say).

Third-party packages can add systems through the ``scinet.systems`` entry-point
group (each entry point names a :class:`systems.base.PhysicalSystem`), and a
script or test can :func:`register` one it defines itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

import systems
from pipeline.errors import ScinetError
from symreg.errors import did_you_mean
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


def scan_systems() -> tuple[dict[str, PhysicalSystem], dict[str, str]]:
    """The systems found, and the problems: a module or entry point that fails to load (named, with its error),
    and an entry point that would shadow a built-in system (refused; the message names both, and the built-in
    system stays as it is).  One broken file never hides the others."""
    found: dict[str, PhysicalSystem] = {}
    origin: dict[str, str] = {}
    problems: dict[str, str] = {}
    for info in pkgutil.iter_modules(systems.__path__):
        if info.name == "base" or info.name.startswith("_") or info.ispkg:  # systems.laws: the law kinds, no system
            continue
        try:
            module = importlib.import_module(f"systems.{info.name}")
        except Exception as exc:  # noqa: BLE001 - whatever a broken system file raises
            problems[info.name] = f"systems/{info.name}.py cannot be imported ({type(exc).__name__}: {exc})"
            continue
        for system in (getattr(module, "SYSTEM", None), *getattr(module, "SYSTEMS", ())):
            if isinstance(system, PhysicalSystem):
                found[system.name] = system
                origin[system.name] = f"systems/{info.name}.py"
    for ep in entry_points(group="scinet.systems"):
        where = f"the entry point {ep.name!r} ({ep.value})"
        try:
            system = ep.load()
        except Exception as exc:  # noqa: BLE001 - whatever a broken plug-in raises
            problems[ep.name] = f"{where} cannot be loaded ({type(exc).__name__}: {exc})"
            continue
        if not isinstance(system, PhysicalSystem):
            problems[ep.name] = f"{where} names a {type(system).__name__}, not a PhysicalSystem"
        elif system.name in origin:  # the built-in one stays; the plug-in is refused
            problems[ep.name] = (
                f"{where} defines a system {system.name!r}, the name of the built-in one in {origin[system.name]}; "
                "rename the plug-in's system"
            )
        else:
            found[system.name] = system
            origin[system.name] = where
    found.update(_REGISTERED)
    return dict(sorted(found.items())), problems


def available_systems() -> dict[str, PhysicalSystem]:
    """Every system that loads (see :func:`broken_systems` for those that do not)."""
    found, problems = scan_systems()
    return {name: system for name, system in found.items() if name not in problems}


def broken_systems() -> dict[str, str]:
    """Name -> what is wrong, for each system file or plug-in that does not load or that clashes with another."""
    return scan_systems()[1]


def is_declaration(name: str) -> bool:
    """``name`` is a path to a TOML file that declares a system (:mod:`pipeline.declared`), not a system's name."""
    return name.lower().endswith(".toml")


def get_system(name: str) -> PhysicalSystem:
    """The system of that name, or the one declared in the TOML file ``name`` (read, checked and registered, so that
    worker processes are given it)."""
    found, problems = scan_systems()
    if is_declaration(name):
        from pipeline.declared import DeclarationError, load

        system = load(name)
        if system.name in found and not found[system.name].origin:
            raise DeclarationError(
                f"{name} declares a system named {system.name!r}, the name of a system written in Python. Give it "
                "another name in [system]."
            )
        return register(system)
    if name in problems:
        raise UnknownSystemError(f"The system {name!r} cannot be used: {problems[name]}. Fix it, or choose another system.")
    known = {n: s for n, s in found.items() if n not in problems}
    if name in known:
        return known[name]
    hint = did_you_mean(name, known)
    if problems:
        hint += f" ({len(problems)} more could not be loaded: {'; '.join(problems.values())}.)"
    raise UnknownSystemError(
        f"Unknown system {name!r}.{hint} Known systems: {', '.join(known)}. Run `scinet systems` to list them; for a "
        "system declared in a TOML file, give the file's path (ending in .toml)."
    )

"""The stages, by name: each stage module declares itself, and the orchestrator, the command line and the catalog
read the declarations.

A stage is one module in the ``stages`` package (or in another package, named under the ``scinet.stages`` entry
points) that defines ``run(ctx)`` and ``STAGE = Stage(...)``: its name, its help text, the artifacts it reads, the
artifacts it writes (:class:`Output`: a file, or a folder whose every file is the stage's), and how it runs.  The
order of the stages follows from what they read: a stage comes after the stages that make its inputs (ties by
name).  A script or a test can :func:`register_stage` one it defines itself.

Stage modules are imported when the registry is first read (their heavy libraries, TensorFlow, pyoperon and
matplotlib, are imported inside ``run``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pipeline.errors import ScinetError
from symreg.errors import did_you_mean

GROUP = "scinet.stages"


@dataclass(frozen=True)
class Output:
    """An artifact a stage writes: a file, or a folder (its name ends in ``/``) whose every file the stage writes."""

    file: str
    kind: str
    holds: str

    @property
    def is_folder(self) -> bool:
        return self.file.endswith("/")


@dataclass(frozen=True)
class Stage:
    """What a stage module declares about its stage."""

    name: str
    help: str
    """one or two sentences for ``scinet NAME --help`` (and the first line for ``scinet --help``)"""
    inputs: tuple[str, ...]
    """the artifacts it reads (files other stages write)"""
    outputs: tuple[Output, ...]
    run: Callable[[Any], None]
    """``run(ctx)``: reads its inputs from ``ctx.run_dir`` and writes its outputs there"""
    doc: str = ""
    """what it does, in a few words, for the log (default: the help's first sentence)"""
    reads_laws: bool = False
    """the stage reads the system's laws: its cache key holds them (:meth:`systems.base.PhysicalSystem.fingerprint`)"""
    scratch: tuple[str, ...] = ()
    """where an unfinished run of the stage keeps its state, to resume from; the stage removes it when it ends,
    and a stage found up to date removes what an interrupted ``--force`` left"""
    options: tuple[str, ...] = ()
    """extra command-line options of ``scinet NAME``: ``"engine"`` (``--sr-backend``), ``"executor"``
    (``--executor``, ``--address``)"""

    @property
    def summary(self) -> str:
        return self.doc or self.help.split(". ")[0].rstrip(".").lower()

    def files(self, run_dir: Path) -> list[str]:
        """The output files as they are in ``run_dir`` (relative names): each declared file, and every file in each
        declared folder; the files an atomic write left half-done are not outputs."""
        out = []
        for o in self.outputs:
            if not o.is_folder:
                out.append(o.file)
                continue
            folder = Path(run_dir) / o.file
            if folder.is_dir():
                out += sorted(
                    p.relative_to(run_dir).as_posix()
                    for p in folder.rglob("*")
                    if p.is_file() and not p.name.startswith(".")
                )
        return out


_REGISTERED: dict[str, Stage] = {}


def register_stage(stage: Stage) -> Stage:
    """Make a stage known by its name in this process (replacing one of that name); returns it."""
    if not isinstance(stage, Stage):
        raise TypeError(f"register_stage() expects a Stage. Received: {type(stage).__name__}")
    _REGISTERED[stage.name] = stage
    return stage


def unregister_stage(name: str) -> None:
    """Forget a stage :func:`register_stage` made known (a test's)."""
    _REGISTERED.pop(name, None)


@cache
def _declared() -> tuple[Stage, ...]:
    """The stages the ``stages`` package and the entry points declare (their modules imported once)."""
    package = importlib.import_module("stages")
    found: list[Stage] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        stage = getattr(importlib.import_module(f"stages.{info.name}"), "STAGE", None)
        if isinstance(stage, Stage):
            found.append(stage)
    for ep in entry_points(group=GROUP):
        stage = ep.load()
        if not isinstance(stage, Stage):
            raise ScinetError(f"The entry point {ep.name!r} ({ep.value}) names a {type(stage).__name__}, not a Stage.")
        found.append(stage)
    return tuple(found)


def stages() -> tuple[Stage, ...]:
    """Every stage, in the order they run: each after the stages that make its inputs (ties by name)."""
    by_name = {s.name: s for s in _declared()}
    by_name.update(_REGISTERED)
    producer = {o.file: s.name for s in by_name.values() for o in s.outputs}
    needs = {s.name: {producer[i] for i in s.inputs if i in producer} - {s.name} for s in by_name.values()}
    unknown = sorted({i for s in by_name.values() for i in s.inputs if i not in producer})
    if unknown:
        raise ScinetError(f"No stage writes {', '.join(unknown)}, which a stage reads. Declare the stage that makes it.")
    order: list[str] = []
    while len(order) < len(by_name):
        ready = sorted(n for n in by_name if n not in order and needs[n] <= set(order))
        if not ready:
            raise ScinetError(f"The stages {sorted(set(by_name) - set(order))} read each other's outputs in a circle.")
        order.append(ready[0])
    return tuple(by_name[n] for n in order)


def stage_names() -> tuple[str, ...]:
    return tuple(s.name for s in stages())


def get_stage(name: str) -> Stage:
    for stage in stages():
        if stage.name == name:
            return stage
    hint = did_you_mean(name, stage_names())
    raise ScinetError(f"Unknown stage {name!r}.{hint} Stages: {', '.join(stage_names())}.")


def producer_of(file: str) -> str:
    """The stage that writes ``file`` (a file of a folder output belongs to the folder's stage)."""
    for stage in stages():
        for o in stage.outputs:
            if o.file == file or (o.is_folder and file.startswith(o.file)):
                return stage.name
    raise ScinetError(f"No stage writes {file!r}.")


def output(file: str) -> tuple[str, Output]:
    """The stage that writes ``file`` and the declaration of that output."""
    for stage in stages():
        for o in stage.outputs:
            if o.file == file:
                return stage.name, o
    raise ScinetError(f"No stage writes {file!r}.")

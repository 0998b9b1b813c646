"""A law's verdict, as the verify stage writes it to ``verification.json`` (:mod:`pipeline.catalog` reads and
writes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DISCOVERED, NOT_DISCOVERED, NOT_CHECKED = "discovered", "not discovered", "not checked"


@dataclass
class Verdict:
    """One law's verdict, as written to ``verification.json``."""

    name: str
    kind: str
    description: str
    verdict: str
    latent: str | list[str] | None = None
    sign: int | None = None
    expression: str | None = None
    latex: str | None = None
    fitted_constants: dict[str, float] = field(default_factory=dict)
    true_constants: dict[str, float | None] = field(default_factory=dict)
    relative_errors: dict[str, float] = field(default_factory=dict)
    standard_errors: dict[str, float] = field(default_factory=dict)
    """of the fitted constants (``systems.laws.geometry.standard_errors``); NaN where the data do not determine one"""
    systematic_errors: dict[str, float] = field(default_factory=dict)
    """the network's systematic error of the fitted constants (``systems.laws.uncertainty.systematic_errors``), where
    estimated; NaN where it could not be"""
    deviations: dict[str, float] = field(default_factory=dict)
    """(fitted - true) / total error (statistical and systematic, :func:`systems.laws.uncertainty.total_error`), per
    constant with both"""
    checks: dict[str, Any] = field(default_factory=dict)

"""LaTeX text shared by the report stage and the ensemble summary: escaped prose and constant names."""

from __future__ import annotations

import sympy as sp

_SPECIAL = (
    ("\\", r"\textbackslash{}"),
    ("_", r"\_"),
    ("%", r"\%"),
    ("&", r"\&"),
    ("#", r"\#"),
    ("$", r"\$"),
    ("{", r"\{"),
    ("}", r"\}"),
)


def escape(text: str) -> str:
    """Prose as LaTeX prints it: the characters TeX treats as commands escaped."""
    for a, b in _SPECIAL:
        text = text.replace(a, b)
    return text


def constant_latex(name: str) -> str:
    """``rho`` -> ``\\rho``, ``A0`` -> ``A_{0}``; a word such as ``ratio`` upright."""
    text = sp.latex(sp.Symbol(name))
    return f"\\mathrm{{{text}}}" if text.isalpha() and len(text) > 1 else text

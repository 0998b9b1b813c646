"""Errors of the symbolic-regression library; every message says what to do.

``symreg`` is a library on its own: it imports nothing from the application
(``pipeline``, ``stages``), which catches :class:`SymregError` beside its own errors.
"""

from __future__ import annotations

from collections.abc import Iterable


class SymregError(Exception):
    """Base of every error symreg reports to a user."""


class BackendError(SymregError):
    """A symbolic-regression backend is unavailable or gave output it cannot read."""


class ExpressionError(SymregError, ValueError):
    """An expression string is not one the whitelist parser accepts."""


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the nearest of ``choices`` to ``value`` (difflib), or "" when none is near: the
    near-miss hint of every error that names an unknown name."""
    import difflib

    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""

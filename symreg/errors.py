"""Errors of the symbolic-regression library; every message says what to do.

``symreg`` is a library on its own: it imports nothing from the application
(``pipeline``, ``stages``), which catches :class:`SymregError` beside its own errors.
"""

from __future__ import annotations


class SymregError(Exception):
    """Base of every error symreg reports to a user."""


class BackendError(SymregError):
    """A symbolic-regression backend is unavailable or gave output it cannot read."""


class ExpressionError(SymregError, ValueError):
    """An expression string is not one the whitelist parser accepts."""

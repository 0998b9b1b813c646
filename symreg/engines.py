"""Choose a symbolic-regression engine by name; each is imported only when chosen."""

from __future__ import annotations

from symreg.errors import BackendError

BACKENDS = ("operon", "pysr")


def allowed_operators(backend: str) -> frozenset[str]:
    """The operator names an engine understands (without importing the engine's library)."""
    if backend == "operon":
        from symreg.operon import OPERON_OPERATORS

        return OPERON_OPERATORS
    if backend == "pysr":
        from symreg.pysr_backend import BINARY, UNARY

        return frozenset(BINARY) | UNARY
    raise BackendError(f"Unknown symbolic-regression backend {backend!r}. Choose one of {', '.join(BACKENDS)}.")


def make_engine(backend: str, **settings):
    """An unfitted engine with ``fit(X, y, *, variable_names)`` filling ``equations_``."""
    if backend == "operon":
        from symreg.operon import OperonEngine

        return OperonEngine(**settings)
    if backend == "pysr":
        from symreg.pysr_backend import PySREngine, check_available

        check_available()
        return PySREngine(**settings)
    raise BackendError(f"Unknown symbolic-regression backend {backend!r}. Choose one of {', '.join(BACKENDS)}.")

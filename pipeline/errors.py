"""One exception base for the project; every message says what to do."""

from __future__ import annotations

from symreg.errors import BackendError, SymregError

__all__ = ["BackendError", "SymregError"]


class ScinetError(Exception):
    """Base of every error the pipeline reports to a user."""


class ConfigError(ScinetError):
    """A configuration file or ``--set`` override is invalid."""


class ArtifactError(ScinetError):
    """An artifact in the run directory is missing, corrupt or from another run/system."""


class MissingInputError(ArtifactError):
    """A stage was run before the stage that produces its input."""


class BusyError(ScinetError):
    """Another command holds the run directory."""


class TrainingError(ScinetError):
    """Training diverged (NaN loss) or could not start."""


class WorkerError(ScinetError):
    """A worker process died before it could report (killed, out of memory, or a script without a main guard)."""


USER_ERRORS = (ScinetError, SymregError)
"""what the command line reports as a one-paragraph message (symreg is a library with its own base)"""

"""Progress bars for the long stages (training epochs, regression searches), on a terminal only.

A bar (``tqdm``, on standard error) shows what is done of the total, the time left and, for training, the
loss.  It is drawn only where standard error is a terminal and the command was not given ``--quiet``;
otherwise the stages write their plain log lines (every 5 % of the epochs, each finished search), which is
what a log file or a batch system wants.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

_quiet = False


def set_quiet(quiet: bool) -> None:
    """``--quiet``: no bars (the log is quieter too, which the command line sets)."""
    global _quiet
    _quiet = bool(quiet)


def shown() -> bool:
    """Whether a bar would be drawn: standard error is a terminal and the command is not quiet."""
    return not _quiet and sys.stderr.isatty()


@contextlib.contextmanager
def bar(total: int, desc: str, unit: str) -> Iterator[object | None]:
    """A tqdm bar, with the log lines written above it meanwhile; None where no bar is shown (the caller then
    logs plain lines)."""
    if not shown():
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        width = 0
    # a pseudo-terminal that reports no size would get no bar at all (tqdm hides bars below the last row)
    size = {"dynamic_ncols": True} if width else {"ncols": 100, "nrows": 24}
    with logging_redirect_tqdm(), tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, **size) as b:
        yield b

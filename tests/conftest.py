import os
import signal
import warnings

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pipeline  # noqa: E402, F401 - scinet's default Keras backend, set before any test module imports Keras


def _set_up_ctrl_c():
    """SIGINT as Python sets it up in a foreground process: a KeyboardInterrupt in the main thread, unblocked."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.fixture(autouse=True)
def _ctrl_c_as_python_sets_it_up(request):
    """Each test starts with Ctrl-C as Python sets it up, and a test that leaves it otherwise is named in a warning.

    A process started in the background by a non-interactive shell (``cmd &`` in a script, as CI harnesses and
    ``nohup``-style launchers do) begins with SIGINT ignored (POSIX), and Python then leaves it ignored.  pytest and
    its xdist workers inherit that, and so do the commands the tests start: the interrupt tests then fail."""
    _set_up_ctrl_c()
    yield
    handler = signal.getsignal(signal.SIGINT)
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    if handler is not signal.default_int_handler or blocked:
        _set_up_ctrl_c()
        warnings.warn(f"{request.node.nodeid} left SIGINT {handler!r}, blocked {blocked}: set up again", stacklevel=1)

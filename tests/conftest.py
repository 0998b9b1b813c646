import os
import signal
import warnings

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pipeline  # noqa: E402, F401 - scinet's default Keras backend, set before any test module imports Keras


@pytest.fixture(autouse=True)
def _ctrl_c_as_python_sets_it_up(request):
    """Each test starts with Ctrl-C as Python sets it up (a KeyboardInterrupt in the main thread, SIGINT unblocked)
    and a test that leaves it otherwise is named in a warning.  Under JAX, a test in a pytest-xdist worker left
    SIGINT ignored, and the worker's later interrupt tests, and the commands they start, inherited it."""
    yield
    handler = signal.getsignal(signal.SIGINT)
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    if handler is not signal.default_int_handler or blocked:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        warnings.warn(f"{request.node.nodeid} left SIGINT {handler!r}, blocked {blocked}: set up again", stacklevel=1)

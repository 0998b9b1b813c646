"""JAX's persistent compilation cache, on for scinet's runs on the JAX backend.

On this project's 2-core machine XLA spends about 7 s compiling in a Copernicus training (121 programs: the
three train steps, the held-out steps, and each small operation run eagerly) and 1.5 s in its export: half of
the training's time.  JAX can keep each compiled program on disk and load it in the next process that compiles
the same program with the same jaxlib, flags and device; a run of a system after the first (another seed, the
next size of a sweep, the next run of an ensemble) then compiles nothing.  A program loaded from the cache is the
one XLA would have compiled: the trained weights are the same to the bit (``tests/test_compile_cache.py``).

Where it lives: ``$XDG_CACHE_HOME/scinet/jax/<machine>`` (``~/.cache/scinet/jax/<machine>`` without
``XDG_CACHE_HOME``); ``<machine>`` names the processor's architecture and instruction set, so a home folder
shared by unlike machines (a cluster's nodes) never gives one of them a program compiled for another.  It holds at
most :data:`MAX_BYTES` (JAX removes the least recently used programs first, under a file lock, so runs at the same
time share it safely).

Yours to change, with JAX's own settings, which scinet never overrides: ``JAX_COMPILATION_CACHE_DIR`` puts the
cache elsewhere (then every other cache setting is left as JAX's or yours), ``JAX_ENABLE_COMPILATION_CACHE=false``
turns it off.  Deleting the folder is always safe: the next run compiles again.  A run killed while JAX writes a
program can leave it cut short; JAX then warns ("Error reading persistent compilation cache entry"), compiles it
again and goes on, on every run until the folder is deleted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from pathlib import Path

log = logging.getLogger("scinet")

MAX_BYTES = 512 * 2**20
"""at most this much on disk (a day of runs of every built-in system, an ensemble and the tests left 8.2 MB)"""

SETTINGS = {
    # scinet's choice where the user's environment says nothing: every program is kept, however quick to compile
    # (a run compiles ~100 small ones at ~0.05 s each), and the folder is bounded (which also makes JAX lock it)
    "jax_persistent_cache_min_compile_time_secs": ("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", 0.0),
    "jax_persistent_cache_min_entry_size_bytes": ("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", 0),
    "jax_compilation_cache_max_size": ("JAX_COMPILATION_CACHE_MAX_SIZE", MAX_BYTES),
}


def machine() -> str:
    """A name for this processor's architecture and instruction set: the architecture and a short hash of the
    CPU's feature flags (``/proc/cpuinfo`` on Linux; the processor's name elsewhere)."""
    features = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):  # x86 and ARM
                    features = " ".join(sorted(line.split(":", 1)[1].split()))
                    break
    except OSError:
        pass
    features = features or platform.processor()
    return f"{platform.machine() or 'cpu'}-{hashlib.sha256(features.encode()).hexdigest()[:12]}"


def default_dir() -> Path:
    """The folder scinet keeps JAX's compiled programs in where ``JAX_COMPILATION_CACHE_DIR`` names none."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scinet" / "jax" / machine()


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def enable(config=None) -> Path | None:
    """Turn JAX's persistent compilation cache on in :func:`default_dir`, unless the environment already says
    where it goes (``JAX_COMPILATION_CACHE_DIR``, or ``jax.config`` set in this process) or that it is off
    (``JAX_ENABLE_COMPILATION_CACHE=false``).  Returns the folder in use (None when the cache is off, or the
    folder cannot be written: then nothing is cached and the run is as fast as it would be without it).
    Called where scinet imports Keras on the JAX backend, before anything compiles; a no-op after the first call.
    ``config``: JAX's (``jax.config``); a JAX too old to have every setting this needs gets no cache."""
    if config is None:
        import jax

        config = jax.config
    needed = ("jax_enable_compilation_cache", "jax_compilation_cache_dir", *SETTINGS)
    if not all(hasattr(config, name) for name in needed):
        log.debug("JAX's compilation cache is off: this JAX lacks %s", [n for n in needed if not hasattr(config, n)])
        return None
    if not config.jax_enable_compilation_cache:
        return None
    if config.jax_compilation_cache_dir:  # the user's own
        return Path(config.jax_compilation_cache_dir)
    path = default_dir()
    if not _writable(path):
        log.debug("JAX's compilation cache is off: %s cannot be written", path)
        return None
    for name, (variable, value) in SETTINGS.items():
        if variable not in os.environ:
            config.update(name, value)
    config.update("jax_compilation_cache_dir", str(path))
    return path

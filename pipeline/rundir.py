"""The run directory: atomic writes, checked Parquet I/O, JSON, hashes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import filelock
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import ArtifactError, BusyError, MissingInputError

META_KEY = b"scinet"
PANDAS_ATTRS = b"PANDAS_ATTRS"  # pandas keeps DataFrame.attrs here, so a pandas round trip keeps our metadata


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffixes); on success flush it to disk and rename
    it onto ``path``.

    On failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)  # all of them: Keras asks for ``.weights.h5``
    fd, tmp = tempfile.mkstemp(prefix=_partial_prefix(path), suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield Path(tmp)
        _fsync(Path(tmp))
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _partial_prefix(path: Path) -> str:
    return f".{path.name.removesuffix(''.join(path.suffixes))}."


_PARTIAL = re.compile(r"\.\.?[^.].*\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)+")
"""the name :func:`atomic_path` gives a file while it is written: ``.NAME.XXXXXXXX.SUFFIXES``"""


def remove_partials(folder: Path) -> None:
    """Remove the temporary files :func:`atomic_path` left in ``folder`` and its visible subfolders when a kill
    stopped it mid-write (call it while holding the run directory: no one else writes there then)."""
    folder = Path(folder)
    with contextlib.suppress(OSError):
        for path in [folder, *(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))]:
            for stray in path.glob(".*"):
                if _PARTIAL.fullmatch(stray.name) and stray.is_file() and not stray.is_symlink():
                    stray.unlink(missing_ok=True)


KINDS = {"run": "manifest.json", "sweep": "sweep.parquet", "ensemble": "ensemble.json"}
"""what each command's directory holds, by which it is known: a run (``scinet run`` and the stages), a sweep
(``scinet sweep``), an ensemble of seeds (``scinet run --seeds``)"""


def check_kind(directory: Path, kind: str) -> None:
    """Refuse ``directory`` for a command of ``kind`` where it holds another kind's outputs: the command would
    write its own ``verification.json`` (and more) over them."""
    for other, marker in KINDS.items():
        if other != kind and (Path(directory) / marker).exists():
            raise ArtifactError(
                f"{directory} holds a {other} ({marker}), not a {kind}: writing a {kind} there would overwrite the "
                f"{other}'s files (its verification.json among them). Choose another --run-dir for the {kind}."
            )


LOCK = ".lock"
"""the run directory's lock file (an operating-system lock: a dead process holds none)"""
HOLDER = ".lock-holder.json"
"""who holds the lock: process id, host, command and start time, for the message a second command gets"""
_held: dict[Path, int] = {}


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for this process: a second command on it, from any process, fails at once with a message
    naming the holder's command and process id.  The lock is the operating system's (``filelock``), so a killed
    holder leaves none behind, only its :data:`HOLDER` note, which the next command replaces.  Re-entrant within a
    process (``scinet run`` holds it across its stages)."""
    run_dir = Path(run_dir).resolve()
    if run_dir in _held:
        _held[run_dir] += 1
        try:
            yield
        finally:
            _held[run_dir] -= 1
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(run_dir / LOCK, blocking=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise BusyError(
            f"The run directory {run_dir} is in use by another scinet command ({_holder(run_dir)}). Wait for it to "
            "finish, or give this command another --run-dir; two commands writing one run directory would mix their results."
        ) from None
    _held[run_dir] = 1
    try:
        note = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                "command": " ".join(["scinet", *map(shlex.quote, sys.argv[1:])])}  # fmt: skip
        write_text(run_dir / HOLDER, json.dumps(note))
        yield
    finally:
        del _held[run_dir]
        (run_dir / HOLDER).unlink(missing_ok=True)
        lock.release()


def _holder(run_dir: Path) -> str:
    try:
        note = json.loads((run_dir / HOLDER).read_text())
        return f"process {int(note['pid'])} on {note['host']}, `{note['command']}`"
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return "a process that has not said which"


def _fsync(path: Path) -> None:
    """Flush a file, or a directory's entries (the rename), to the disk: after a crash, a file
    that the manifest records is on disk with the contents it recorded."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory
        pass
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_json(path: Path, *, producer: str, system: str) -> Any:
    """A JSON artifact of ``system`` made by the stage ``producer``, parsed (its fields are its reader's to check)."""
    path = Path(path)
    redo = f"Re-create it with `scinet {producer} {system} --force`."
    if not path.exists():
        raise MissingInputError(f"{path} does not exist. Run `scinet {producer} {system}` first.")
    if not path.is_file():
        raise ArtifactError(f"{path} is not a regular file (a folder, a device or a pipe). {redo}")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}). {redo}") from exc
    except RecursionError as exc:
        raise ArtifactError(f"{path} nests deeper than any scinet record. {redo}") from exc


def write_parquet(path: Path, frame: pd.DataFrame, metadata: Mapping[str, Any]) -> None:
    """Write ``frame`` with project metadata (JSON under the ``scinet`` key of the schema)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    existing = table.schema.metadata or {}
    text = json.dumps(dict(metadata), default=_json_default)
    attrs = json.dumps({"scinet": json.loads(text)}).encode()
    table = table.replace_schema_metadata({**existing, META_KEY: text.encode(), PANDAS_ATTRS: attrs})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet(
    path: Path,
    *,
    producer: str,
    kind: str,
    system: str,
    columns: list[str] | tuple[str, ...] = (),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a Parquet artifact and check it is ours: right kind, right system, expected columns."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path} does not exist. Run `scinet {producer} {system}` first.")
    if not path.is_file():
        raise ArtifactError(
            f"{path} is not a regular file (a folder, a device or a pipe). Re-create it with `scinet {producer} {system} --force`."
        )
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ArtifactError(
            f"{path} is not a readable Parquet file ({exc}). Re-create it with `scinet {producer} {system} --force`."
        ) from exc
    schema_meta = table.schema.metadata or {}
    try:
        if META_KEY in schema_meta:
            meta = json.loads(schema_meta[META_KEY])
        else:
            meta = json.loads(schema_meta.get(PANDAS_ATTRS, b"{}")).get("scinet")
    except (json.JSONDecodeError, AttributeError, RecursionError):
        meta = None
    if not isinstance(meta, dict) or meta.get("kind") != kind:
        raise ArtifactError(
            f"{path} was not written by `scinet {producer}` (no '{kind}' metadata). It may come from another tool; "
            f"re-create it with `scinet {producer} {system} --force`."
        )
    if meta.get("system") != system:
        raise ArtifactError(
            f"{path} belongs to system {meta.get('system')!r}, not {system!r}. Use a different --run-dir for each system."
        )
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ArtifactError(f"{path} lacks columns {missing}. Re-create it with `scinet {producer} {system} --force`.")
    return table.to_pandas(), meta


def file_hash(path: Path) -> str:
    """SHA-256 of a regular file, reading at most the size it had when looked at (a file that grows while it is
    read cannot hold the command up).  A device, a pipe or a folder where an artifact belongs is refused before
    it is opened (opening a pipe would wait for a writer)."""
    path = Path(path)
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ArtifactError(
            f"{path} is not a regular file (a folder, a device or a pipe). Remove it; the stage that makes it writes it again."
        )
    h, left = hashlib.sha256(), info.st_size
    with open(path, "rb") as fh:
        while left > 0:
            chunk = fh.read(min(1 << 20, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

"""Systems declared in a TOML file over a data file (CSV or Parquet): ``scinet run path/to/experiment.toml``.

A physicist with a table of measurements (from the lab, an ephemeris, another code) writes one TOML file that
says what each column is, and every command takes the file's path where it takes a system's name.  The file
becomes a :class:`systems.base.PhysicalSystem` like the built-in ones: the same stages, cache, laws and report.
The format is documented in ``docs/your-own-data.md``; in short::

    [system]
    name = "jupiter"                       # runs go to data/runs/jupiter unless --run-dir says otherwise
    description = "..."
    data = "jupiter.csv"                   # relative to this file; .csv or .parquet

    [columns.theta_S]                      # one table per column the system uses
    roles = ["encoder", "answer"]          # encoder, question, answer, ground_truth, time
    unit = "rad"                           # as pint reads it; an angle in degrees is converted to radians
    angle = true

    [latent]                               # size, kind ("real" or "circle"), evolution ("none" or "constant_step")
    size = 2
    kind = "circle"
    evolution = "constant_step"

    [series]                               # a time series: either series = "..." and step = "..." columns,
    order = "jd"                           # or one long record, ordered by a column, cut into windows

    [split]                                # the held-out samples: a random share (default), or by a column
    column = "jd"
    test_from = 2462502.5

    [defaults]                             # training settings, dotted, as in a config file
    "train.epochs" = [40, 40, 140]

    [[laws]]                               # optional known laws: any law kind, its fields as in Python
    kind = "latent_is_quantity"
    name = "latent_holds_lambda_J"
    description = "..."
    expression = "L_J"

Every problem (a missing or misspelt column, a wrong type, NaN or infinite values, too few samples, series of
unequal lengths, a unit pint cannot read, an unknown law field) is a :class:`DeclarationError` that names the
file, the column and the fix; the data are read and checked when the file is loaded, before any stage runs.

Samples are cut from the data by :func:`sample`, the system's simulator: rows (``evolution = "none"``), the
declared series, or windows of ``simulate.series_length`` consecutive rows of one record.  A declared system is
*measured* (``PhysicalSystem.data`` is set): the stages that ask the network about fresh samples (the law of
motion's probe, the verify stage) take them from the held-out data instead (:func:`pipeline.simulation.fresh_samples`).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import ConfigError
from symreg.errors import did_you_mean

ROLES = ("encoder", "question", "answer", "ground_truth", "time")
SECTIONS = ("system", "columns", "latent", "series", "split", "regress", "law_of_motion", "defaults", "laws")
MIN_SAMPLES = 10
"""fewest samples (rows, series or windows) a declared system may have"""
SPACING_RTOL = 1e-6
"""how evenly a windowed record's ordering column must be spaced (relative to its step)"""
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DeclarationError(ConfigError):
    """A TOML declaration or its data file is not usable; the message names the file, the column and the fix."""


# -- the data ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """How a declared system's samples are cut from its data file: what :func:`sample` needs, picklable (a worker
    process reads the file again) and hashable (its reading is cached per process)."""

    path: str
    sha256: str
    columns: tuple[tuple[str, tuple[str, ...], float, int], ...]
    """(name, the file's columns it is read from: one, or one per component of a vector, factor to its unit, size)"""
    series: str | None = None
    step: str | None = None
    order: str | None = None
    time: str | None = None
    """the time column, made relative to each sample's first observation (series and windows)"""
    split_column: str | None = None
    test_from: float | None = None
    """with ``split_column``: rows whose value is at least this are held out; without it the column says
    "train" or "test" on every row"""

    @property
    def mode(self) -> str:
        return "series" if self.series else "windows" if self.order else "rows"

    def fingerprint(self) -> str:
        """What decides the samples: the data's bytes and how they are cut (the file's place does not count)."""
        fields = {k: v for k, v in self.__dict__.items() if k != "path"}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fail(table: Table | str, text: str) -> DeclarationError:
    path = table.path if isinstance(table, Table) else table
    return DeclarationError(f"{path}: {text}")


def _read_frame(path: str):
    import pandas as pd

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, comment="#", skipinitialspace=True)
    except FileNotFoundError:
        raise _fail(path, "the data file does not exist. Check `data` in [system] (a path relative to the TOML file).") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(path, f"cannot be read as a {suffix[1:].upper()} file ({first}). Fix the file or give another.") from None
    raise _fail(path, "is neither a CSV nor a Parquet file. Give a file ending in .csv or .parquet as `data`.")


def _numeric(frame, table: Table, column: str, *, integer: bool = False) -> np.ndarray:
    """A column of the data file as floats (or integers), every value finite: or the error that says which row is not."""
    import pandas as pd

    if column not in frame.columns:
        hint = did_you_mean(column, [str(c) for c in frame.columns])
        have = ", ".join(map(str, frame.columns[:20])) + (" ..." if len(frame.columns) > 20 else "")
        raise _fail(table, f"has no column {column!r}.{hint} Its columns: {have}. Rename the column in the file or in the TOML.")
    raw = frame[column]
    line = (lambda i: f"row {i + 2} (counting the header as row 1)") if table.path.lower().endswith(".csv") else (
        lambda i: f"row {i}"
    )
    if raw.dtype == object and len(raw) and isinstance(raw.iloc[0], list | np.ndarray):
        raise _fail(table, f"column {column!r} holds lists; declare it with `size` (a vector column) or give numbers.")
    values = pd.to_numeric(raw, errors="coerce") if not pd.api.types.is_bool_dtype(raw) else raw.astype(float) * np.nan
    bad = values.isna() & raw.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(
            table,
            f"column {column!r} holds {raw.iloc[i]!r} in {line(i)}, which is not a number ({int(bad.sum())} such "
            "values). Every value of a column the system uses must be a number: fix or remove those rows.",
        )
    arr = values.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise _fail(
            table,
            f"column {column!r} has {int((~np.isfinite(arr)).sum())} missing (NaN) or infinite values, the first in "
            f"{line(i)}. Remove those rows or fill them in before running.",
        )
    if integer:
        if not np.all(arr == np.round(arr)):
            raise _fail(table, f"column {column!r} must hold whole numbers (it numbers series or steps).")
        return arr.astype(np.int64)
    return arr


def _vector(frame, table: Table, name: str, parts: tuple[str, ...]) -> np.ndarray:
    if len(parts) > 1:
        return np.stack([_numeric(frame, table, p) for p in parts], axis=1)
    (column,) = parts
    if column not in frame.columns:
        raise _fail(
            table,
            f"has no column {column!r} for the vector {name!r}. Give a Parquet list column of that name, or name the "
            "file's columns of its components with `parts` (e.g. parts = \"x_{i}\").",
        )
    cells = frame[column].to_list()
    lengths = {len(c) if isinstance(c, list | np.ndarray) else -1 for c in cells}
    if lengths == {-1} or -1 in lengths:
        raise _fail(
            table,
            f"column {column!r} is declared a vector but its cells are not lists. Give a Parquet list column, or "
            "one column per component with `parts` (e.g. parts = \"x_{i}\").",
        )
    if len(lengths) != 1:
        raise _fail(table, f"the lists in column {column!r} have different lengths {sorted(lengths)[:5]}; each must have `size` values.")
    arr = np.asarray(cells, dtype=float)
    if not np.isfinite(arr).all():
        raise _fail(table, f"column {column!r} holds missing (NaN) or infinite values. Remove or fill those rows.")
    return arr


@functools.lru_cache(maxsize=4)
def read_table(table: Table) -> dict[str, Any]:
    """The data file, checked: every declared column as floats (a vector as an array ``(n, k)``), ordered (by
    series and step, or by the ordering column), with the sample each row belongs to and the held-out mark."""
    path = Path(table.path)
    if not path.is_file():
        raise _fail(table, "the data file does not exist. Check `data` in [system] (a path relative to the TOML file).")
    if _sha256(path) != table.sha256:
        raise _fail(table, "the data file changed after the system was loaded. Run the command again.")
    frame = _read_frame(table.path)
    if len(frame) == 0:
        raise _fail(table, "holds no rows. Give a data file with at least one row per sample.")
    out: dict[str, Any] = {}
    for name, parts, factor, size in table.columns:
        if size == 1:
            out[name] = _numeric(frame, table, parts[0]) * factor
            continue
        out[name] = _vector(frame, table, name, parts) * factor
        if out[name].shape[1] != size:
            raise _fail(
                table,
                f"column {parts[0]!r} holds lists of {out[name].shape[1]} values, but {name!r} is declared with size = "
                f"{size}. Make the two agree.",
            )
    n = len(frame)
    if table.split_column is not None:
        if table.test_from is not None:
            split_values = _numeric(frame, table, table.split_column)
            test = split_values >= table.test_from
        else:
            if table.split_column not in frame.columns:
                _numeric(frame, table, table.split_column)
            marks = frame[table.split_column].astype(str).str.strip().str.lower().to_numpy()
            unknown = sorted(set(marks) - {"train", "test"})
            if unknown:
                raise _fail(
                    table,
                    f"column {table.split_column!r} (the split) holds {unknown[:3]}; every row must say 'train' or 'test'. "
                    "Or give `test_from` in [split] to hold out the rows from that value on.",
                )
            test = marks == "test"
    else:
        test = None
    if table.mode == "series":
        sid = _numeric(frame, table, table.series, integer=True)
        step = _numeric(frame, table, table.step, integer=True)
        order = np.lexsort((step, sid))
        sid, step = sid[order], step[order]
        if np.any((np.diff(sid) == 0) & (np.diff(step) == 0)):
            raise _fail(table, f"column {table.step!r} repeats a step within a series. Each row of a series needs its own step.")
        ids, starts, counts = np.unique(sid, return_index=True, return_counts=True)
        if len(set(counts)) != 1:
            common = np.bincount(counts).argmax()
            odd = ids[counts != common][:3]
            raise _fail(
                table,
                f"the series have unequal lengths: most have {common} rows, series {', '.join(map(str, odd))} "
                f"{'has' if len(odd) == 1 else 'have'} {', '.join(str(c) for c in counts[counts != common][:3])}. Every series "
                "must have the same number of steps: trim them to a common length or drop the short ones.",
            )
        expected = np.tile(np.arange(counts[0]), len(ids))
        out = {k: v[order] for k, v in out.items()}
        out["series"] = np.repeat(np.arange(len(ids)), counts)
        out["step"] = expected
        if test is not None:
            test = test[order]
            mixed = [int(ids[i]) for i in range(len(ids)) if len(set(test[starts[i] : starts[i] + counts[i]])) > 1]
            if mixed:
                raise _fail(table, f"series {mixed[:3]} are partly held out and partly not by the split; a series must be one or the other.")
            test = test[starts]
        units = len(ids)
    elif table.mode == "windows":
        key = out[table.order] if table.order in out else _numeric(frame, table, table.order)
        order = np.argsort(key, kind="stable")
        key = key[order]
        gaps = np.diff(key)
        if len(gaps) and (gaps.min() <= 0 or np.ptp(gaps) > SPACING_RTOL * abs(np.median(gaps))):
            i = int(np.argmax(np.abs(gaps - np.median(gaps))))
            raise _fail(
                table,
                f"the record is not evenly spaced in {table.order!r}: most steps are {np.median(gaps):.6g}, but rows "
                f"{i} and {i + 1} (in order) are {gaps[i]:.6g} apart. The latent advances by a constant step, so "
                "observations must be evenly spaced: resample the record or drop the odd rows.",
            )
        out = {k: v[order] for k, v in out.items()}
        if test is not None:
            test = test[order]
        units = n
    else:
        units = n
    out["_test"] = test
    out["_units"] = units
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sample(*, n_samples: int, rng: np.random.Generator, series_length: int | None = None, table: Table):
    """The simulator of a declared system: ``n_samples`` samples cut from its data (all of them where the data
    hold fewer; the rows, series and windows it draws are the seed's).  Rows and series are drawn without
    replacement; windows (``series_length`` consecutive rows of the record) at random starts, a held-out window
    wholly in the held-out part of the record and a training window wholly outside it."""
    data = read_table(table)
    test = data["_test"]
    columns = {name: data[name] for name, *_ in table.columns}
    if table.mode == "rows":
        n = data["_units"]
        rows = np.arange(n) if n_samples >= n else np.sort(rng.choice(n, n_samples, replace=False))
        out = {k: v[rows] for k, v in columns.items()}
        if test is not None:
            out["split"] = np.where(test[rows], "test", "train")
        return out
    if table.mode == "series":
        n, length = data["_units"], int(data["step"].max()) + 1
        if series_length is not None and series_length > length:
            raise DeclarationError(
                f"{table.path}: simulate.series_length = {series_length}, but its series have {length} steps. Set "
                f"simulate.series_length to {length} or less (or leave it unset)."
            )
        length = series_length or length
        chosen = np.arange(n) if n_samples >= n else np.sort(rng.choice(n, n_samples, replace=False))
        keep = np.isin(data["series"], chosen) & (data["step"] < length)
        out = {k: v[keep] for k, v in columns.items()}
        out["series"] = np.searchsorted(chosen, data["series"][keep])
        out["step"] = data["step"][keep]
        if test is not None:
            out["split"] = np.repeat(np.where(test[chosen], "test", "train"), length)
    else:
        length = int(series_length or 2)
        total = data["_units"]
        starts = np.arange(max(0, total - length + 1))
        if test is not None:  # held-out rows in each window, from their running count
            count = np.concatenate([[0], np.cumsum(test)])
            held = count[starts + length] - count[starts]
            pool = np.concatenate([starts[held == 0], starts[held == length]])
        else:
            pool = starts
        if len(pool) < 2:
            raise DeclarationError(
                f"{table.path}: the record has {total} rows, too few for windows of {length} (simulate.series_length). "
                "Give a longer record or set simulate.series_length lower."
            )
        picked = np.sort(rng.choice(pool, n_samples, replace=True))
        rows = (picked[:, None] + np.arange(length)[None, :]).ravel()
        out = {k: v[rows] for k, v in columns.items()}
        out["series"] = np.repeat(np.arange(n_samples), length)
        out["step"] = np.tile(np.arange(length), n_samples)
        if test is not None:
            out["split"] = np.repeat(np.where(test[picked], "test", "train"), length)
    if table.time is not None:
        t = np.asarray(out[table.time], dtype=float)
        first = t[out["step"] == 0]
        out[table.time] = t - np.repeat(first, len(t) // max(1, len(first)))
    return out


# -- the declaration -----------------------------------------------------------------------------------------------------
def load(path: str | Path):
    """The system declared in the TOML file ``path``, its data read and checked."""
    from systems.base import AnswerLawSpec, Column, LatentSpec, PhysicalSystem

    path = Path(path).expanduser()
    where = str(path)
    if not path.is_file():
        raise DeclarationError(
            f"{where} does not exist{' (it is a folder)' if path.is_dir() else ''}. Give the path of a TOML file that "
            "declares a system (docs/your-own-data.md), or the name of a known system (`scinet systems`)."
        )
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DeclarationError(f"{where} is not valid TOML ({exc}). Fix the file (see docs/your-own-data.md).") from None
    except OSError as exc:
        raise DeclarationError(f"{where} cannot be read ({exc.strerror}).") from None
    d = _Doc(doc, where)
    d.known(doc, SECTIONS, "the file")
    head = d.table(doc, "system", required=True)
    d.known(head, ("name", "description", "data", "citation", "degrees_of_freedom", "heatmap"), "[system]")
    name = d.text(head, "name", "[system]")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise d.error(f"[system] name {name!r} must be letters, digits, '-', '_' or '.' (it names the run directory)")
    data_path = (path.parent / d.text(head, "data", "[system]")).resolve()

    columns_doc = d.table(doc, "columns", required=True)
    if not columns_doc:
        raise d.error("[columns] declares no column; declare at least one encoder column and one answer column")
    cols: dict[str, Any] = {}
    roles: dict[str, list[str]] = {}
    sources: list[tuple[str, tuple[str, ...], float, int]] = []
    for cname, spec in columns_doc.items():
        where_c = f"[columns.{cname}]"
        if not NAME.fullmatch(cname) or cname in ("series", "step", "split"):
            raise d.error(f"{where_c}: a column's name must be an identifier other than series, step and split")
        if not isinstance(spec, dict):
            raise d.error(f"{where_c} must be a table (roles, unit, ...)")
        d.known(spec, ("roles", "unit", "angle", "doc", "symbol", "size", "parts", "source"), where_c)
        role_list = spec.get("roles", [])
        role_list = [role_list] if isinstance(role_list, str) else role_list
        if not role_list or not isinstance(role_list, list) or any(r not in ROLES for r in role_list):
            raise d.error(f"{where_c}: roles = {role_list!r}; give one or more of {', '.join(ROLES)}")
        unit = spec.get("unit", "1")
        angle = spec.get("angle", False)
        if not isinstance(unit, str) or not isinstance(angle, bool):
            raise d.error(f"{where_c}: unit must be a string (as pint reads it) and angle true or false")
        factor = _unit_factor(d, where_c, unit, angle)
        size = spec.get("size", 1)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100_000:
            raise d.error(f"{where_c}: size must be a whole number from 1 (a vector's length)")
        parts = spec.get("parts")
        if parts is None:
            parts_t: tuple[str, ...] = (str(spec.get("source", cname)),)
        elif isinstance(parts, str) and "{i}" in parts:
            parts_t = tuple(parts.replace("{i}", str(i)) for i in range(size))
        elif isinstance(parts, list) and len(parts) == size and all(isinstance(p, str) for p in parts):
            parts_t = tuple(parts)
        else:
            raise d.error(f"{where_c}: parts must list the file's {size} columns of the vector, or be a pattern with {{i}} (\"x_{{i}}\")")
        if size == 1 and len(parts_t) != 1:
            raise d.error(f"{where_c}: parts is for a vector; give size too")
        roles[cname] = role_list
        cols[cname] = Column(
            cname, "rad" if angle else unit, angle=angle, doc=str(spec.get("doc", "")), size=size, symbol=str(spec.get("symbol", ""))
        )
        sources.append((cname, parts_t, factor, size))
    by_role = {r: [cols[c] for c, rs in roles.items() if r in rs] for r in ROLES}
    for need in ("encoder", "answer"):
        if not by_role[need]:
            raise d.error(f"no column has the role {need!r}; the network needs at least one encoder input and one answer")
    if len(by_role["time"]) > 1:
        raise d.error("more than one column has the role 'time'; give it to one")

    latent_doc = d.table(doc, "latent", required=True)
    d.known(latent_doc, ("size", "kind", "evolution"), "[latent]")
    latent = LatentSpec(
        size=d.integer(latent_doc, "size", "[latent]", low=1, high=64),
        kind=d.choice(latent_doc, "kind", "[latent]", ("real", "circle"), "real"),
        evolution=d.choice(latent_doc, "evolution", "[latent]", ("none", "constant_step"), "none"),
    )
    series_doc = d.table(doc, "series")
    d.known(series_doc, ("series", "step", "order"), "[series]")
    is_series = latent.evolution == "constant_step"
    if is_series and not series_doc:
        raise d.error(
            "[latent] evolution = \"constant_step\" needs [series]: give series = \"...\" and step = \"...\" (the "
            "columns that number each series and its steps), or order = \"...\" (one record cut into windows)"
        )
    if not is_series and series_doc:
        raise d.error("[series] is for a time series; set evolution = \"constant_step\" in [latent] or remove [series]")
    series, step, order = series_doc.get("series"), series_doc.get("step"), series_doc.get("order")
    if is_series and not ((series and step and not order) or (order and not series and not step)):
        raise d.error("[series] takes series and step together, or order alone")
    if order is not None and order not in cols and not isinstance(order, str):
        raise d.error("[series] order must name a column")

    split_doc = d.table(doc, "split")
    d.known(split_doc, ("column", "test_from"), "[split]")
    split_column = split_doc.get("column")
    test_from = split_doc.get("test_from")
    if split_doc and not isinstance(split_column, str):
        raise d.error("[split] needs column = \"...\": the column that holds 'train'/'test', or the one test_from is compared with")
    if test_from is not None and (isinstance(test_from, bool) or not isinstance(test_from, int | float)):
        raise d.error("[split] test_from must be a number (rows whose column is at least this are held out)")

    time_col = by_role["time"][0].name if by_role["time"] else None
    table = Table(
        path=str(data_path),
        sha256=_sha256(data_path) if data_path.is_file() else "",
        columns=tuple(sources),
        series=series,
        step=step,
        order=order,
        time=time_col if is_series else None,
        split_column=split_column,
        test_from=None if test_from is None else float(test_from),
    )
    data = read_table(table)  # every check of the data, before any stage runs
    units = int(data["series"].max()) + 1 if table.mode == "series" else data["_units"]
    kind = {"rows": "rows", "series": "series", "windows": "rows in the record"}[table.mode]
    if units < MIN_SAMPLES:
        raise _fail(table, f"has {units} {kind}; a system needs at least {MIN_SAMPLES}. Give more data.")
    if data["_test"] is not None and table.mode != "windows":
        held = int(np.sum(data["_test"]))
        if held == 0 or held == units:
            raise _fail(
                table,
                f"the split holds out {'none' if held == 0 else 'all'} of the {units} {kind}. Change [split] so that "
                "some samples are held out and some are trained on.",
            )

    names = list(cols)
    regress_doc = d.table(doc, "regress")
    regress: dict[str, tuple[str, ...]] = {}
    for key, value in regress_doc.items():
        if not NAME.fullmatch(key) or key == "law_of_motion":
            raise d.error(f"[regress] {key!r}: a variable set's name must be an identifier other than law_of_motion")
        if not isinstance(value, list) or not value:
            raise d.error(f"[regress] {key} must list the columns a neuron is regressed on")
        for v in value:
            d.column(v, names, f"[regress] {key}", scalar=cols)
        regress[key] = tuple(value)
    if not regress:
        regress["observations"] = tuple(c.name for c in by_role["encoder"] if c.size == 1)
        truth = tuple(c.name for c in by_role["ground_truth"] if c.size == 1)
        if truth:
            regress["ground_truth"] = truth
        regress = {k: v for k, v in regress.items() if v}

    answer_law = None
    motion = d.table(doc, "law_of_motion")
    if motion:
        d.known(motion, ("answer", "parameters", "question", "question_parameters", "n_samples", "questions_per_sample", "angle_of"), "[law_of_motion]")
        answer = d.text(motion, "answer", "[law_of_motion]")
        params = motion.get("parameters", [])
        qparams = motion.get("question_parameters", [])
        question = d.text(motion, "question", "[law_of_motion]")
        angle_of = motion.get("angle_of")
        for v in (*params, *qparams):
            d.column(v, [c.name for c in by_role["ground_truth"]], "[law_of_motion] parameters (ground-truth columns)", scalar=cols)
        d.column(question, [c.name for c in by_role["question"]], "[law_of_motion] question (a question column)", scalar=cols)
        if angle_of is None:
            d.column(answer, [c.name for c in by_role["answer"]], "[law_of_motion] answer (an answer column)", scalar=cols)
        elif not (isinstance(angle_of, list) and len(angle_of) == 2):
            raise d.error("[law_of_motion] angle_of must name two answer columns (x and y of the answered point)")
        else:
            for v in angle_of:
                d.column(v, [c.name for c in by_role["answer"]], "[law_of_motion] angle_of", scalar=cols)
        answer_law = AnswerLawSpec(
            answer=answer,
            parameters=tuple(params),
            question=question,
            n_samples=d.integer(motion, "n_samples", "[law_of_motion]", low=MIN_SAMPLES, high=100_000, default=60),
            questions_per_sample=d.integer(motion, "questions_per_sample", "[law_of_motion]", low=2, high=10_000, default=80),
            question_parameters=tuple(qparams),
            angle_of=None if angle_of is None else tuple(angle_of),
        )

    defaults = _defaults(d, doc, table, data)
    laws_doc = doc.get("laws", [])
    if not isinstance(laws_doc, list) or not all(isinstance(x, dict) for x in laws_doc):
        raise d.error("laws must be an array of tables: [[laws]] entries, each with kind, name, description and its fields")
    laws_json = json.dumps(laws_doc, sort_keys=True, default=str)
    scalars = tuple(n for n in names if cols[n].size == 1)
    laws = functools.partial(build_laws, laws_json, scalars, where)
    laws()  # every law checked now

    heatmap = head.get("heatmap")
    if heatmap is not None:
        if not (isinstance(heatmap, list) and len(heatmap) == 2):
            raise d.error("[system] heatmap must name two ground-truth columns")
        for v in heatmap:
            d.column(v, [c.name for c in by_role["ground_truth"]], "[system] heatmap", scalar=cols)
    dof = head.get("degrees_of_freedom")
    if dof is not None and (isinstance(dof, bool) or not isinstance(dof, int) or dof < 0):
        raise d.error("[system] degrees_of_freedom must be a whole number >= 0")
    return PhysicalSystem(
        name=name,
        description=str(head.get("description", f"declared in {path.name}")),
        encoder=tuple(by_role["encoder"]),
        questions=tuple(by_role["question"]),
        answers=tuple(by_role["answer"]),
        ground_truth=tuple(by_role["ground_truth"]),
        time=by_role["time"][0] if by_role["time"] else None,
        latent=latent,
        simulator=functools.partial(sample, table=table),
        laws=laws,
        regress=regress,
        answer_law=answer_law,
        defaults=defaults,
        heatmap=None if heatmap is None else tuple(heatmap),
        citation=str(head.get("citation", "")),
        degrees_of_freedom=dof,
        data=table.fingerprint(),
        origin=str(path.resolve()),
    )


def _unit_factor(d: _Doc, where: str, unit: str, angle: bool) -> float:
    """The factor that takes a column's values to its unit as the system stores it: radians for an angle."""
    from symreg.units import _registry, parse_unit

    try:
        parse_unit(unit)
    except ValueError as exc:
        raise d.error(f"{where}: {exc}") from None
    if not angle:
        return 1.0
    try:
        return float(_registry().Quantity(1.0, unit).to("radian").magnitude)
    except Exception:  # noqa: BLE001 - pint's DimensionalityError and relatives
        raise d.error(f"{where}: an angle's unit must be an angle (rad or deg), not {unit!r}") from None


def _defaults(d: _Doc, doc: dict, table: Table, data: dict) -> dict[str, Any]:
    """The system's default settings: the number of samples and the series' length the data give, then the file's
    own ``[defaults]`` (each checked as a setting is)."""
    from pipeline.config import Config, apply, check_fields

    out: dict[str, Any] = {}
    if table.mode == "rows":
        out["simulate.n_samples"] = int(data["_units"])
    elif table.mode == "series":
        out["simulate.n_samples"] = int(data["series"].max()) + 1
        out["simulate.series_length"] = int(data["step"].max()) + 1
    given = d.table(doc, "defaults")
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat[prefix] = value

    walk("", given)
    probe = Config()
    try:
        for key, value in flat.items():
            apply(probe, key, value)
        check_fields(probe)
    except ConfigError as exc:
        raise d.error(f"[defaults] {str(exc).rstrip('.')}") from None
    out.update(flat)
    return out


# -- laws ----------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def build_laws(laws_json: str, columns: tuple[str, ...], where: str) -> tuple[Any, ...]:
    """The law objects a declaration's ``[[laws]]`` entries describe: each field converted by the type the law
    class declares (an expression by the whitelist parser, a mapping of constants with symbol keys, ...)."""
    entries = json.loads(laws_json)
    out = []
    seen: set[str] = set()
    # the keys of a law's tables (constants, initial, fixed, tolerances, starts, a new kind's own) name its constants
    constant_names = {k for e in entries for value in e.values() if isinstance(value, dict) for k in value}
    for i, entry in enumerate(entries):
        label = f"[[laws]] #{i + 1}" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
        law = _law(entry, columns, constant_names, f"{where}: {label}")
        if law.name in seen:
            raise DeclarationError(f"{where}: {label}: two laws are named {law.name!r}; give each its own name.")
        seen.add(law.name)
        out.append(law)
    return tuple(out)


def _law(entry: dict, columns: tuple[str, ...], constant_names: set[str], where: str):
    import sympy as sp

    from systems.laws.base import law_kinds

    kinds = law_kinds()

    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        hint = did_you_mean(str(kind), list(kinds))
        raise DeclarationError(f"{where}: kind = {kind!r} is no law kind.{hint} Law kinds: {', '.join(sorted(kinds))}.")
    cls = kinds[kind]
    hints = {k: v for k, v in typing.get_type_hints(cls).items() if typing.get_origin(v) is not typing.ClassVar}
    fields = {k: v for k, v in entry.items() if k != "kind"}
    unknown = sorted(set(fields) - set(hints))
    if unknown:
        hint = did_you_mean(unknown[0], list(hints))
        raise DeclarationError(
            f"{where}: a {kind} law has no field {unknown[0]!r}.{hint} Its fields: {', '.join(hints)}."
        )
    for need in ("name", "description"):
        if not isinstance(fields.get(need), str) or not fields[need]:
            raise DeclarationError(f"{where}: give the law's {need} (a string).")
    if not NAME.fullmatch(fields["name"]):
        raise DeclarationError(f"{where}: the law's name {fields['name']!r} must be an identifier (letters, digits, _).")
    definitions = fields.get("definitions", [])
    if not isinstance(definitions, list) or not all(
        isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) and NAME.fullmatch(x[0]) for x in definitions
    ):
        raise DeclarationError(
            f"{where}: definitions must be a list of [name, expression] pairs, e.g. [[\"r_J\", \"rho*(1 - e_J*cos(L_J))\"]]."
        )
    allowed = set(columns) | constant_names | {x[0] for x in definitions}
    symbols = {n: sp.Symbol(n, real=True) for n in allowed}

    def expression(value: Any, what: str) -> sp.Expr:
        from symreg.errors import ExpressionError
        from symreg.parse import CONSTANTS, FUNCTIONS, parse_expression

        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise DeclarationError(f"{where}: {what} must be an expression in a string, e.g. \"theta_M - asin(sin(theta_S - theta_M)/rho)\".")
        text = str(value)
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - set(FUNCTIONS) - set(CONSTANTS)
        strange = sorted(n for n in names if n not in allowed and not n.startswith("omega_"))
        if strange:
            hint = did_you_mean(strange[0], sorted(allowed))
            raise DeclarationError(
                f"{where}: {what} names {strange[0]!r}, which is no column of the system and no constant of a law.{hint} "
                "Declare the column, or give the constant in the law's constants or initial."
            )
        try:
            expr = parse_expression(text, sorted(names), caret_is_power=True)
        except ExpressionError as exc:
            raise DeclarationError(f"{where}: {what}: {exc}") from None
        return expr.xreplace({sp.Symbol(n, real=True): symbols.get(n, sp.Symbol(n, real=True)) for n in names})

    def number(value: Any, what: str, *, none: bool = False, exact: bool = False):
        if none and value == "unknown":
            return None
        if isinstance(value, bool):
            raise DeclarationError(f"{where}: {what} must be a number.")
        if isinstance(value, int | float):
            if not math.isfinite(value):
                raise DeclarationError(f"{where}: {what} must be a finite number.")
            return float(value)
        if isinstance(value, str):
            expr = expression(value, what)
            if expr.free_symbols or not expr.is_number or not expr.is_real:
                raise DeclarationError(f"{where}: {what} = {value!r} must be a number or a number's expression (\"pi/2\").")
            return expr if exact else float(expr)
        raise DeclarationError(f"{where}: {what} must be a number" + (" or \"unknown\"." if none else "."))

    def convert(name: str, value: Any, hint: Any) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        what = f"{name}"
        if hint is sp.Expr:
            return expression(value, what)
        if hint is sp.Symbol:
            return symbols.get(str(value), sp.Symbol(str(value), real=True))
        if origin in (Mapping, dict, typing.Mapping):
            if not isinstance(value, dict):
                raise DeclarationError(f"{where}: {what} must be a table of constants, e.g. {{rho = 5.2}}.")
            val_hint = args[1] if len(args) == 2 else Any
            none = type(None) in typing.get_args(val_hint)
            exact = sp.Expr in typing.get_args(val_hint)
            out = {}
            for k, v in value.items():
                if not NAME.fullmatch(k):
                    raise DeclarationError(f"{where}: {what}: {k!r} is not a constant's name.")
                if typing.get_origin(val_hint) in (Sequence, list, tuple, typing.Sequence) or val_hint is Sequence:
                    if not isinstance(v, list):
                        raise DeclarationError(f"{where}: {what}.{k} must be a list of numbers.")
                    out[symbols[k]] = tuple(number(x, f"{what}.{k}") for x in v)
                else:
                    out[symbols[k]] = number(v, f"{what}.{k}", none=none, exact=exact)
            return out
        if origin is tuple:
            if isinstance(value, str) or not isinstance(value, list):
                raise DeclarationError(f"{where}: {what} must be a list.")
            if args and args[0] == tuple[sp.Symbol, sp.Expr]:  # definitions: [name, expression] pairs, in order
                return tuple((symbols[n], expression(text, f"{what} of {n}")) for n, text in value)
            if args and len(args) == 2 and args[1] is not Ellipsis and len(value) != 2:
                raise DeclarationError(f"{where}: {what} must list two names.")
            item = args[0] if args else str
            items = []
            for v in value:
                if item is sp.Symbol:
                    items.append(symbols.get(str(v), sp.Symbol(str(v), real=True)))
                elif isinstance(v, str) and (v in columns or item is str):
                    if item is str and v not in columns:
                        raise DeclarationError(f"{where}: {what} names {v!r}, which is no column of the system.")
                    items.append(v)
                else:
                    items.append(expression(v, what))
            return tuple(items)
        base = [a for a in (args or (hint,)) if a is not type(None)]
        if type(None) in args and value == "unknown":
            return None
        if float in base and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if int in base and isinstance(value, int) and not isinstance(value, bool):
            return value
        if bool in base and isinstance(value, bool):
            return value
        if str in base and isinstance(value, str):
            if name == "quantity" and value not in columns:
                raise DeclarationError(f"{where}: quantity = {value!r} is no column of the system; name a ground-truth column.")
            return value
        raise DeclarationError(f"{where}: {what} = {value!r} has the wrong type ({_type_name(hint)} expected).")

    kwargs = {k: convert(k, v, hints[k]) for k, v in fields.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DeclarationError(f"{where}: {exc}") from None


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


class _Doc:
    """Reading one TOML document, with errors that name the file."""

    def __init__(self, doc: dict, where: str):
        self.doc, self.where = doc, where

    def error(self, text: str) -> DeclarationError:
        return DeclarationError(f"{self.where}: {text.rstrip('.')}. See docs/your-own-data.md for the format.")

    def known(self, table: Mapping, allowed: Sequence[str], what: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(f"{what} has no entry {key!r}{hint}; it takes {', '.join(allowed)}")

    def table(self, doc: Mapping, key: str, *, required: bool = False) -> dict:
        value = doc.get(key)
        if value is None:
            if required:
                raise self.error(f"the file has no [{key}] table, which every declaration needs")
            return {}
        if not isinstance(value, dict):
            raise self.error(f"{key} must be a table ([{key}])")
        return value

    def text(self, table: Mapping, key: str, what: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{what} needs {key} = \"...\" (a string)")
        return value

    def integer(self, table: Mapping, key: str, what: str, *, low: int, high: int, default: int | None = None) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(f"{what} {key} must be a whole number from {low} to {high} (received {value!r})")
        return value

    def choice(self, table: Mapping, key: str, what: str, choices: Sequence[str], default: str) -> Any:
        value = table.get(key, default)
        if value not in choices:
            raise self.error(f"{what} {key} = {value!r}; choose one of {', '.join(choices)}")
        return value

    def column(self, name: Any, allowed: Sequence[str], what: str, *, scalar: Mapping) -> None:
        if not isinstance(name, str) or name not in allowed:
            hint = did_you_mean(str(name), list(allowed))
            raise self.error(f"{what} names {name!r}, which is not one of {', '.join(allowed) or 'none'}.{hint}")
        if scalar[name].size != 1:
            raise self.error(f"{what} names the vector column {name!r}; only a column of one number per row can go there")

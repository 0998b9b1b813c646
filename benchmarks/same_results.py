"""Run every system at seed 0 and print the sha256 of its ``equations.parquet`` and ``verification.json``: run it on
two versions of the code (before and after a restructuring) and compare the two records.

    python benchmarks/same_results.py --out after.json [--tiny] [--systems copernicus,pendulum] [--keep DIR]
    python benchmarks/same_results.py --compare before.json after.json

Each run is ``scinet run SYSTEM --seed 0`` in a fresh run directory, with the command line of the code in the
current directory (so a checkout of an older commit measures that commit).  ``--tiny`` runs every system on the
smallest settings that still take every stage (a check of the code paths, in minutes); without it, the systems'
own defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY_SERIES = [
    "simulate.n_samples=60", "simulate.series_length=12", "train.curriculum=[4, 12]", "train.epochs=[2, 2]",
    "train.encoder_units=[8]", "regress.time_budget=1", "regress.n_rows=200", "regress.max_length=8", "verify.n_fresh=40",
]  # fmt: skip
TINY_ROWS = [
    "simulate.n_samples=300", "train.epochs=[3]", "train.encoder_units=[8]", "train.decoder_units=[8]",
    "regress.time_budget=1", "regress.law_time_budget=1", "regress.n_rows=100", "verify.n_fresh=30",
]  # fmt: skip
SERIES = ("copernicus", "copernicus-elliptic", "copernicus-sky")
ARTIFACTS = ("equations.parquet", "verification.json")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def systems() -> list[str]:
    out = subprocess.run([sys.executable, "-c", "from pipeline.cli import main; main()", "systems"], capture_output=True, text=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def run(system: str, tiny: bool, where: Path) -> dict:
    settings = (TINY_SERIES if system in SERIES else TINY_ROWS) if tiny else []
    args = [sys.executable, "-c", "from pipeline.cli import main; main()", "run", system, "--seed", "0", "--run-dir", str(where), "-q"]
    for s in settings:
        args += ["--set", s]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    return {
        "exit": done.returncode,
        "wall_s": round(time.perf_counter() - start, 1),
        **{name: sha256(where / name) for name in ARTIFACTS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--systems", default="")
    parser.add_argument("--compare", nargs=2, type=Path)
    parser.add_argument("--keep", type=Path, help="keep each run directory under this folder (default: deleted)")
    args = parser.parse_args(argv)
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        same = 0
        for name in sorted(set(a) | set(b)):
            ra, rb = a.get(name, {}), b.get(name, {})
            equal = all(ra.get(k) == rb.get(k) and ra.get(k) not in (None, "missing") for k in ARTIFACTS)
            same += equal
            print(f"{name:22s} {'identical' if equal else 'DIFFERENT'}  " + "  ".join(f"{k} {ra.get(k, '-')[:12]} {rb.get(k, '-')[:12]}" for k in ARTIFACTS))
        print(f"{same} of {len(set(a) | set(b))} systems identical")
        return 0 if same == len(set(a) | set(b)) else 1
    names = args.systems.split(",") if args.systems else systems()
    record = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            record[name] = run(name, args.tiny, (args.keep or Path(tmp)) / name)
            print(name, record[name], flush=True)
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

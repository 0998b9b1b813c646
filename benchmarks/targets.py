"""Time every default run against its target, on this machine, in one go.

    python benchmarks/targets.py                      # every system, seed 0, the sweep and the ensemble
    python benchmarks/targets.py --systems copernicus pendulum --seeds 0 1 2 --no-sweep --no-ensemble
    python benchmarks/targets.py --json benchmarks/results/targets.json

Each run is ``scinet run SYSTEM --seed S`` in a fresh run directory and a fresh
process, so start-up (imports, the Keras backend) is part of its time.  It
prints, for each run, the wall time against the target, the stage times from
``manifest.json``, the held-out prediction RMS (``history.json``), the verdicts
(``verification.json``) and the Keras backend.  ``--sweep`` times ``scinet
sweep qubit2`` with its defaults, and ``--ensemble`` ten pendulum seeds, two at
a time (``--jobs``).  Times are of this machine; run the baseline (another
commit, another backend: ``KERAS_BACKEND=tensorflow python
benchmarks/targets.py``) in the same session to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TARGETS = {
    "copernicus": 15.0,
    "copernicus-sky": 25.0,
    "copernicus-elliptic": 60.0,
    "pendulum": 60.0,
    "collision": 150.0,
    "qubit1": None,
}
"""seconds for ``scinet run SYSTEM`` with default settings on a 2-core machine (issue 24); None: no target"""
SWEEP_TARGET = 1800.0
"""``scinet sweep qubit2`` with its defaults"""
ENSEMBLE_TARGET = 600.0
"""ten pendulum seeds, two at a time"""
STAGES = ("simulate", "train", "export", "regress", "verify", "report")


def scinet(*args: str) -> list[str]:
    """The command line of ``scinet`` in this interpreter's environment."""
    return [sys.executable, "-c", "from pipeline.cli import main; main()", *args]


def one_run(system: str, seed: int, root: Path, extra: list[str]) -> dict:
    run_dir = root / f"{system}-seed{seed}"
    start = time.perf_counter()
    done = subprocess.run(
        scinet("run", system, "--run-dir", str(run_dir), "--seed", str(seed), "-q", "--force", *extra), capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    record: dict = {"system": system, "seed": seed, "wall_s": round(wall, 1), "target_s": TARGETS.get(system), "rc": done.returncode}
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
        record["stages_s"] = {s: manifest[s]["wall_s"] for s in STAGES if s in manifest}
        record["backend"] = manifest.get("train", {}).get("backend")
        history = json.loads((run_dir / "history.json").read_text())
        record["prediction_rms"] = history["prediction_rms"]["all"]
        laws = json.loads((run_dir / "verification.json").read_text())["laws"]
        record["verdicts"] = {law["name"]: law["verdict"] for law in laws}
    except (OSError, KeyError, ValueError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}; {done.stderr[-400:]}"
    return record


def timed(command: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def verdict_summary(record: dict) -> str:
    verdicts = record.get("verdicts") or {}
    found = sum(v == "discovered" for v in verdicts.values())
    return f"{found}/{len(verdicts)} discovered" if verdicts else record.get("error", "no verdicts")[:60]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", default=list(TARGETS), help="systems to run (default: all with a target)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--sweep", action=argparse.BooleanOptionalAction, default=True, help="time `scinet sweep qubit2`")
    parser.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=True, help="ten pendulum seeds")
    parser.add_argument("--ensemble-seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time in the ensemble")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="passed to scinet")
    parser.add_argument("--json", type=Path, default=None, help="write the records here")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here (default: a temporary folder)")
    args = parser.parse_args(argv)
    extra = [x for o in args.overrides for x in ("--set", o)]
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="scinet-targets-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        print(f"backend {os.environ.get('KERAS_BACKEND', 'scinet default')}, {os.cpu_count()} cores")
        print(f"{'system':<22}{'seed':>5}{'wall s':>9}{'target':>8}{'ratio':>7}  " + "".join(f"{s[:8]:>9}" for s in STAGES) + "  rms      verdicts  backend")
        for system in args.systems:
            for seed in args.seeds:
                r = one_run(system, seed, root, extra)
                records.append(r)
                target = r["target_s"]
                ratio = f"{r['wall_s'] / target:.2f}" if target else "-"
                stages = "".join(f"{r.get('stages_s', {}).get(s, float('nan')):>9.1f}" for s in STAGES)
                rms = r.get("prediction_rms", float("nan"))
                print(
                    f"{system:<22}{seed:>5}{r['wall_s']:>9.1f}{target or '-':>8}{ratio:>7}  {stages}  {rms:.4f}   "
                    f"{verdict_summary(r)}  {r.get('backend', '?')}",
                    flush=True,
                )
        if args.ensemble:
            seeds = range(args.ensemble_seeds)
            start = time.perf_counter()
            with ThreadPoolExecutor(max(1, args.jobs)) as pool:
                runs = list(pool.map(lambda s: one_run("pendulum", s, root / "ensemble", extra), seeds))
            wall = time.perf_counter() - start
            found = sum(bool(r.get("verdicts")) and all(v == "discovered" for v in r["verdicts"].values()) for r in runs)
            records.append({"ensemble": "pendulum", "seeds": len(runs), "jobs": args.jobs, "wall_s": round(wall, 1), "runs": runs})
            print(
                f"pendulum ensemble: {len(runs)} seeds, {args.jobs} at a time: {wall:.0f} s (target {ENSEMBLE_TARGET:.0f} s, "
                f"ratio {wall / ENSEMBLE_TARGET:.2f}); every law discovered on {found} of {len(runs)}",
                flush=True,
            )
        if args.sweep:
            wall, rc, out = timed(scinet("sweep", "qubit2", "--run-dir", str(root / "sweep-qubit2"), "-q", *extra))
            answer = [line.strip() for line in out.splitlines() if "degrees of freedom" in line]
            records.append({"sweep": "qubit2", "wall_s": round(wall, 1), "rc": rc, "answer": answer})
            print(f"scinet sweep qubit2: {wall:.0f} s (target {SWEEP_TARGET:.0f} s, ratio {wall / SWEEP_TARGET:.2f}), exit {rc}")
            for line in answer:
                print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

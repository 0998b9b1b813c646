"""Time every default run against its target, on this machine, in one go.

    python benchmarks/targets.py                      # every system, seed 0, the sweep and the ensemble
    python benchmarks/targets.py --systems copernicus pendulum --seeds 0 1 2 --no-sweep --no-ensemble
    python benchmarks/targets.py --json benchmarks/results/targets.json
    python benchmarks/targets.py --backends tensorflow jax --no-sweep --no-ensemble   # both, run after run
    python benchmarks/targets.py --systems --no-sweep                                  # only the ensemble

Each run is ``scinet run SYSTEM --seed S`` in a fresh run directory and a fresh
process, so start-up (imports, the Keras backend) is part of its time.  It
prints, for each run, the wall time against the target, the stage times from
``manifest.json``, the held-out prediction RMS (``history.json``), the verdicts
(``verification.json``) and the Keras backend.  ``--sweep`` times ``scinet
sweep qubit2`` with its defaults, and ``--ensemble`` ten pendulum seeds, two at
a time, as a user runs them (``scinet run pendulum --seeds 0..9 --jobs 2``).
Times are of this machine; run the baseline (another commit, another backend:
``KERAS_BACKEND=tensorflow python benchmarks/targets.py``) in the same session
to compare; ``--backends tensorflow jax`` runs each measurement on each Keras backend in turn (each run
with ``KERAS_BACKEND`` set) and ends with each system's wall times side by side.

On JAX a run loads the programs XLA compiled for an earlier one from its compilation cache
(``pipeline/compile_cache.py``).  ``--cache warm`` times a run after one untimed run of the same command (what
every run but a machine's first sees), ``--cache cold`` gives every measurement an empty cache (a machine's first
run), ``--cache as-is`` (the default) uses the cache as it stands.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.compile_cache import SETTINGS
from pipeline.ensemble import seed_dir

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
"""ten pendulum seeds, two at a time: ``scinet run pendulum --seeds 0..9 --jobs 2``"""
STAGES = ("simulate", "train", "export", "regress", "verify", "report")


def scinet(*args: str) -> list[str]:
    """The command line of ``scinet`` in this interpreter's environment."""
    return [sys.executable, "-c", "from pipeline.cli import main; main()", *args]


COLD: Path | None = None
"""where ``--cache cold`` makes each measurement's empty compilation cache (None: the user's cache)"""


def environment(backend: str | None) -> dict[str, str] | None:
    """The environment of a run on the Keras ``backend`` (None: this process's, so scinet's default); with
    ``--cache cold``, an empty JAX compilation cache of its own, set as scinet sets its default one."""
    env = dict(os.environ) if backend is not None or COLD is not None else None
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    if COLD is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jax-cache-", dir=COLD)
        env.update({variable: str(value) for variable, value in SETTINGS.values()})
    return env


def one_run(system: str, seed: int, root: Path, extra: list[str], backend: str | None = None) -> dict:
    run_dir = root / (f"{system}-seed{seed}" + (f"-{backend}" if backend else ""))
    command = scinet("run", system, "--run-dir", str(run_dir), "--seed", str(seed), "-q", "--force", *extra)
    env = environment(backend)
    if WARM:
        subprocess.run(command, capture_output=True, text=True, env=env)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    record = read_run(run_dir, system, seed, wall, done.returncode, done.stderr)
    if backend is not None:
        record["requested"] = backend
    return record


def read_run(run_dir: Path, system: str, seed: int, wall: float | None, rc: int, stderr: str = "") -> dict:
    """A run directory's record: stage times, backend, held-out RMS and verdicts (``wall``: None for a seed of an
    ensemble, whose stages' times are its record)."""
    record: dict = {"system": system, "seed": seed, "rc": rc, "target_s": TARGETS.get(system)}
    if wall is not None:
        record["wall_s"] = round(wall, 1)
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
        record["stages_s"] = {s: manifest[s]["wall_s"] for s in STAGES if s in manifest}
        record["backend"] = manifest.get("train", {}).get("backend")
        history = json.loads((run_dir / "history.json").read_text())
        record["prediction_rms"] = history["prediction_rms"]["all"]
        laws = json.loads((run_dir / "verification.json").read_text())["laws"]
        record["verdicts"] = {law["name"]: law["verdict"] for law in laws}
    except (OSError, KeyError, ValueError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}; {stderr[-400:]}"
    return record


WARM = False
"""``--cache warm``: each measurement after one untimed run of the same command"""


def timed(command: list[str], backend: str | None = None) -> tuple[float, int, str]:
    env = environment(backend)
    if WARM:
        subprocess.run(command, capture_output=True, text=True, env=env)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def verdict_summary(record: dict) -> str:
    verdicts = record.get("verdicts") or {}
    found = sum(v == "discovered" for v in verdicts.values())
    return f"{found}/{len(verdicts)} discovered" if verdicts else record.get("error", "no verdicts")[:60]


def side_by_side(records: list[dict], backends: list[str]) -> str:
    """Each system's mean wall time on each backend, and the sum over the systems run on all of them."""
    lines, totals = [f"{'system':<22}" + "".join(f"{b:>12}" for b in backends)], dict.fromkeys(backends, 0.0)
    for system in dict.fromkeys(r["system"] for r in records if "system" in r):
        walls = {b: [r["wall_s"] for r in records if r.get("system") == system and r.get("requested") == b] for b in backends}
        if all(walls.values()):
            means = {b: sum(w) / len(w) for b, w in walls.items()}
            totals = {b: totals[b] + means[b] for b in backends}
            lines.append(f"{system:<22}" + "".join(f"{means[b]:>10.1f} s" for b in backends))
    lines.append(f"{'all of them':<22}" + "".join(f"{totals[b]:>10.1f} s" for b in backends))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--systems",
        nargs="*",
        default=list(TARGETS),
        help="systems to run (default: all with a target; none: only the ensemble and the sweep)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--sweep", action=argparse.BooleanOptionalAction, default=True, help="time `scinet sweep qubit2`")
    parser.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=True, help="ten pendulum seeds")
    parser.add_argument("--ensemble-seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time in the ensemble")
    parser.add_argument(
        "--backends",
        nargs="+",
        default=None,
        metavar="BACKEND",
        help="Keras backends, each run on each in turn (default: scinet's)",
    )
    parser.add_argument(
        "--cache",
        choices=("as-is", "cold", "warm"),
        default="as-is",
        help="JAX's compilation cache: as it stands, empty for every measurement, or filled by an untimed run first",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="passed to scinet")
    parser.add_argument("--json", type=Path, default=None, help="write the records here")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here (default: a temporary folder)")
    args = parser.parse_args(argv)
    global COLD, WARM
    WARM = args.cache == "warm"
    extra = [x for o in args.overrides for x in ("--set", o)]
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="scinet-targets-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        COLD = Path(tmp) if args.cache == "cold" else None
        backends = args.backends or [None]
        print(
            f"backend {' and '.join(args.backends or [os.environ.get('KERAS_BACKEND', 'scinet default')])}, {os.cpu_count()} cores, "
            f"compilation cache {args.cache}"
        )
        print(
            f"{'system':<22}{'seed':>5}{'wall s':>9}{'target':>8}{'ratio':>7}  "
            + "".join(f"{s[:8]:>9}" for s in STAGES)
            + "  rms      verdicts  backend"
        )
        for system in args.systems:
            for seed, backend in ((seed, backend) for seed in args.seeds for backend in backends):
                r = one_run(system, seed, root, extra, backend)
                r["cache"] = args.cache
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
        for backend in backends if args.ensemble else []:
            seeds = range(args.ensemble_seeds)
            ensemble_dir = root / f"ensemble-{backend or 'default'}"
            command = ["run", "pendulum", "--seeds", f"0..{len(seeds) - 1}", "--jobs", str(args.jobs), "-q", "--force"]
            wall, rc, out = timed(scinet(*command, "--run-dir", str(ensemble_dir), *extra), backend)
            runs = [read_run(seed_dir(ensemble_dir, s), "pendulum", s, None, rc, out) for s in seeds]
            found = sum(bool(r.get("verdicts")) and all(v == "discovered" for v in r["verdicts"].values()) for r in runs)
            records.append(
                {
                    "ensemble": "pendulum",
                    "seeds": len(runs),
                    "jobs": args.jobs,
                    "command": "scinet " + " ".join(command),
                    "rc": rc,
                    "wall_s": round(wall, 1),
                    "backend": backend,
                    "cache": args.cache,
                    "runs": runs,
                }
            )
            print(
                f"pendulum ensemble{f' ({backend})' if backend else ''}: {len(runs)} seeds, {args.jobs} at a time: {wall:.0f} s "
                f"(target {ENSEMBLE_TARGET:.0f} s, ratio {wall / ENSEMBLE_TARGET:.2f}); every law discovered on {found} of {len(runs)}",
                flush=True,
            )
        for backend in backends if args.sweep else []:
            command = scinet("sweep", "qubit2", "--run-dir", str(root / f"sweep-qubit2-{backend or 'default'}"), "-q", *extra)
            wall, rc, out = timed(command, backend)
            answer = [line.strip() for line in out.splitlines() if "degrees of freedom" in line]
            records.append(
                {"sweep": "qubit2", "wall_s": round(wall, 1), "rc": rc, "answer": answer, "backend": backend, "cache": args.cache}
            )
            print(
                f"scinet sweep qubit2{f' ({backend})' if backend else ''}: {wall:.0f} s (target {SWEEP_TARGET:.0f} s, "
                f"ratio {wall / SWEEP_TARGET:.2f}), exit {rc}"
            )
            for line in answer:
                print(f"  {line}")
        if len(backends) > 1:
            print(side_by_side(records, backends))
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

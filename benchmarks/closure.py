"""Measure a system's closure from a seed ensemble, and write it where the verify stage finds it.

The ensemble must be run at the settings the closure is for (the defaults, for a system's own closure)::

    scinet run copernicus-elliptic --seeds 20..29 --jobs 2 --run-dir data/runs/ell20
    python benchmarks/closure.py data/runs/ell20

The seeds' verdicts are read from their run directories (``seed{S}/``, each as ``scinet verify`` last wrote it),
the ensemble's summary is made again from them (``ensemble.json`` and the rest, in the same directory), and the
closure (:mod:`systems.laws.closure`: per constant, the extra error that gives the pulls RMS 1 on the runs' own
errors, a closure they state taken out, and the mean deviation from the truth) goes to
``systems/closure/SYSTEM.BACKEND.json`` (the Keras backend the seeds were trained on), or to ``--out``.  Judge a closure on seeds other than those it was measured on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from pipeline.config import load_config
    from pipeline.context import StageContext
    from pipeline.ensemble import seed_dirs, seed_record, summarise, write_outputs
    from pipeline.orchestrate import load_manifest
    from pipeline.registry import get_system
    from pipeline.rundir import atomic_path
    from systems.laws import closure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ensemble_dir", type=Path, help="the --run-dir of `scinet run SYSTEM --seeds ...`")
    parser.add_argument("--out", type=Path, default=None, help="default: systems/closure/SYSTEM.BACKEND.json")
    args = parser.parse_args()

    seeds = list(seed_dirs(args.ensemble_dir).items())
    if len(seeds) < 2:
        raise SystemExit(
            f"{args.ensemble_dir} holds {len(seeds)} seed directories (seed0, seed1, ...): a closure needs two or more"
        )
    manifests = [load_manifest(p) for _, p in seeds]
    name = manifests[0].get("system")
    system = get_system(name)
    rows = []
    for (seed, path), manifest in zip(seeds, manifests, strict=True):
        ctx = StageContext(system=system, config=load_config(None, [], seed=seed, system=system), run_dir=path)
        rows.append(seed_record(ctx, manifest))
    write_outputs(args.ensemble_dir, system, {"system": name, **summarise(rows)})
    own = summarise([{**row, "laws": [closure.without(law) for law in row["laws"]]} for row in rows])  # the runs' own errors
    data = {**closure.from_ensemble({"system": name, **own}, manifests), "definition": system.fingerprint(laws=True)}
    out = args.out or closure.path(name, data["backend"] or "tensorflow")
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{name}: closure from seeds {data['seeds'][0]}..{data['seeds'][-1]} ({len(data['seeds'])}) -> {out}")
    for c in data["constants"]:
        z = c["bias"] / c["bias_error"] if c["bias_error"] > 0 else float("nan")
        print(
            f"  {c['law']:28s} {c['constant']:8s} pulls' RMS {c['pull_rms']:.2f}, extra error {c['extra']:.3g}; "
            f"mean deviation {c['bias']:+.3g} ± {c['bias_error']:.2g} ({z:+.1f} sigma, {c['n']} seeds)"
        )


if __name__ == "__main__":
    main()

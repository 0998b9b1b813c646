"""Two seed ensembles of one system, seed by seed: the verdicts and the held-out prediction error of each.

    KERAS_BACKEND=jax scinet run copernicus --seeds 90..99 --jobs 2 --run-dir data/runs/cop-jax
    KERAS_BACKEND=tensorflow scinet run copernicus --seeds 90..99 --jobs 2 --run-dir data/runs/cop-tf
    python benchmarks/paired_ensembles.py data/runs/cop-jax data/runs/cop-tf --json paired.json

Each ensemble directory holds one run directory per seed (``seed{S}/``, as ``scinet run --seeds`` makes them); only
the seeds both hold are compared.  It prints, per seed, whether every law was discovered and the held-out RMS
(``history.json``) on each side; then the counts, the two-sided Fisher exact test of those counts, the mean and
spread of the RMS, and the paired t-test of the RMS (scipy).  It labels each side by the Keras backend its runs
were trained on (from the manifests).  The verdicts are the ones each run's verify stage last wrote.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from pipeline.ensemble import seed_dirs


def seed_row(run_dir: Path) -> dict:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    laws = json.loads((run_dir / "verification.json").read_text())["laws"]
    return {
        "backend": manifest["stages"]["train"].get("backend"),
        "prediction_rms": json.loads((run_dir / "history.json").read_text())["prediction_rms"]["all"],
        "verdicts": {law["name"]: law["verdict"] for law in laws},
        "every_law": all(law["verdict"] == "discovered" for law in laws),
        "stages_s": {name: stage.get("wall_s") for name, stage in manifest["stages"].items()},
    }


def compare(a: dict[int, dict], b: dict[int, dict]) -> dict:
    """The counts and tests of two sides' rows, seed by seed (the seeds both hold)."""
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        raise SystemExit(f"the two ensembles share {len(seeds)} seeds: a paired comparison needs two or more")
    found = [sum(side[s]["every_law"] for s in seeds) for side in (a, b)]
    rms = [[side[s]["prediction_rms"] for s in seeds] for side in (a, b)]
    table = [[found[0], len(seeds) - found[0]], [found[1], len(seeds) - found[1]]]
    return {
        "seeds": seeds,
        "every_law": found,
        "fisher_p": float(stats.fisher_exact(table)[1]),
        "rms_mean": [statistics.mean(r) for r in rms],
        "rms_sd": [statistics.stdev(r) for r in rms],
        "paired_t_p": float(stats.ttest_rel(rms[0], rms[1]).pvalue),
        "differing_verdicts": [
            {"seed": s, "law": law, "a": a[s]["verdicts"].get(law), "b": b[s]["verdicts"].get(law)}
            for s in seeds
            for law in sorted(set(a[s]["verdicts"]) | set(b[s]["verdicts"]))
            if a[s]["verdicts"].get(law) != b[s]["verdicts"].get(law)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="one ensemble directory")
    parser.add_argument("b", type=Path, help="the other")
    parser.add_argument("--json", type=Path, default=None, help="write the rows and the tests here")
    args = parser.parse_args(argv)
    sides = [{seed: seed_row(path) for seed, path in seed_dirs(d).items()} for d in (args.a, args.b)]
    result = compare(*sides)
    labels = [next(iter(side.values()))["backend"] or str(d) for side, d in zip(sides, (args.a, args.b), strict=True)]
    if labels[0] == labels[1]:  # one backend on both sides (two commits, say): the directories tell them apart
        labels = [str(args.a), str(args.b)]
    print(f"{'seed':>5}  {labels[0]:>22}  {labels[1]:>22}")
    for s in result["seeds"]:
        cells = [f"{'every law' if side[s]['every_law'] else 'not all':>10} {side[s]['prediction_rms']:.4f}" for side in sides]
        print(f"{s:>5}  {cells[0]:>22}  {cells[1]:>22}")
    n = len(result["seeds"])
    print(
        f"every law discovered: {result['every_law'][0]} of {n} against {result['every_law'][1]} of {n} "
        f"(Fisher's exact test p = {result['fisher_p']:.2f})"
    )
    print(
        f"held-out RMS: {result['rms_mean'][0]:.4f} ± {result['rms_sd'][0]:.4f} against "
        f"{result['rms_mean'][1]:.4f} ± {result['rms_sd'][1]:.4f} (paired t-test p = {result['paired_t_p']:.2f})"
    )
    for d in result["differing_verdicts"]:
        print(f"  seed {d['seed']}, {d['law']}: {d['a']} against {d['b']}")
    if args.json:
        rows = [{"seed": s, labels[0]: sides[0][s], labels[1]: sides[1][s]} for s in result["seeds"]]
        args.json.write_text(json.dumps({"sides": labels, **result, "runs": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

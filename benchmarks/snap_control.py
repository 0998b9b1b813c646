"""How often would a latent neuron's equation get "exact" constants by chance?  A control for the rule that
a neuron's scale and offset keep their fitted values (``symreg/polish.py``, ``scale=``).

    python benchmarks/snap_control.py data/runs/pendulum --maps 5
    python benchmarks/snap_control.py data/runs/collision --maps 5 --json benchmarks/results/snap_control_collision.json

For each active neuron of a finished run, the neuron is replaced by ``maps`` random affine maps of itself,
``a z + c`` (``|a|`` log-uniform in 0.3..3, either sign, ``c`` uniform in -3..3): the same information in
other units, so a constant that physics fixed would not follow the map, and any pi, e or fraction that
appears is chance.  Each is searched as the regress stage searches a neuron (its variable sets, its noise,
the run's seed and budget), once with exact-constant recognition everywhere (``scale="physical"``, as before
the rule) and once as a neuron (``"free"`` for a real neuron, ``"offset"`` for a circle one).  It prints, per
setting, how many selected equations hold pi, e or a non-integer rational.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def invented(expr: sp.Expr) -> list[str]:
    """pi, e and non-integer rationals in ``expr``."""
    found = [str(n) for n in expr.atoms(sp.Rational) if not n.is_integer]
    return found + [str(c) for c in (sp.pi, sp.E) if expr.has(c)]


def main() -> None:
    from pipeline.catalog import read_latents
    from pipeline.config import load_config
    from pipeline.context import StageContext
    from pipeline.orchestrate import load_manifest
    from pipeline.registry import get_system
    from symreg.engines import make_engine
    from symreg.parse import parse_expression
    from symreg.search import search

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--maps", type=int, default=5, help="random affine maps per neuron")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    manifest = load_manifest(args.run_dir)
    system = get_system(manifest["system"])
    seed = int(manifest["stages"]["regress"]["seed"])
    config = load_config(None, (), seed=seed, system=system)
    ctx = StageContext(system=system, config=config, run_dir=args.run_dir)
    frame, meta = read_latents(ctx)
    train = frame[frame["split"] == "train"]
    rng = np.random.default_rng(seed)
    sample = train.iloc[np.sort(rng.choice(len(train), size=min(config.regress.n_rows, len(train)), replace=False))]
    cfg = config.regress
    engine = partial(
        make_engine, cfg.backend, max_length=cfg.max_length, operators=cfg.operators, seed=seed, threads=cfg.threads,
        patience=cfg.patience, time_budget=cfg.time_budget,
    )  # fmt: skip
    circle = system.latent.kind == "circle"
    maps_rng = np.random.default_rng(12345)
    rows = []
    for target in meta["active"]:
        z = sample[target].to_numpy(dtype=float)
        noise = float(np.mean(np.exp(2 * sample[f"{target}_log_sigma"].to_numpy(dtype=float))))
        for m in range(args.maps):
            a = float(np.exp(maps_rng.uniform(np.log(0.3), np.log(3))) * maps_rng.choice([-1, 1]))
            c = float(maps_rng.uniform(-3, 3))
            y = np.angle(np.exp(1j * (np.sign(a) * z + c))) if circle else a * z + c  # a circle neuron: only sign and offset
            for varset, names in system.regress.items():
                names = list(names)
                for scale in ("physical", "offset" if circle else "free"):
                    front = search(
                        engine, sample[names].to_numpy(dtype=float), y, variable_names=names,
                        angle_names=[n for n in names if system.columns[n].angle], circular=circle,
                        noise_variance=noise * (1 if circle else a * a), units={n: system.columns[n].unit for n in names},
                        rtol=cfg.constant_rtol, scale=scale, seed=seed,
                    )  # fmt: skip
                    best = front[front["selected"]]["sympy_format"].iloc[0]
                    found = invented(parse_expression(best, names))
                    rows.append({"neuron": target, "map": m, "a": a, "c": c, "variables": varset, "scale": scale, "equation": best, "invented": found})
                    print(f"{target} map {m} (a={a:+.3f}, c={c:+.3f}) {varset:14s} {scale:9s} {'INVENTED ' + ','.join(found) if found else 'clean':20s} {best}", flush=True)
    table = pd.DataFrame(rows)
    print()
    for scale, part in table.groupby("scale"):
        k = int(part["invented"].map(bool).sum())
        print(f"scale={scale:9s}: {k} of {len(part)} selected equations hold pi, e or a fraction")
    if args.json:
        args.json.write_text(json.dumps({"run_dir": str(args.run_dir), "system": system.name, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

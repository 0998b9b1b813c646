"""The kill loop: `scinet run` killed with SIGKILL at random moments, again and again, then run to its end, against
a run never killed.  Prints how many of the loops ended with byte-identical results and how many left anything of
their own behind.

    python benchmarks/kill_loop.py --loops 20 --kills 3                 # tiny settings, a few minutes
    python benchmarks/kill_loop.py --loops 20 --kills 3 --full          # the default Copernicus run (slow)
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_cli import TINY  # noqa: E402

COMPARED = ("latents.parquet", "equations.parquet", "verification.json", "probe.parquet", "observations.parquet")
OURS = {".lock", ".lock-holder.json"}


def command(system: str, settings: list[str], run_dir: Path) -> list[str]:
    return [sys.executable, "-c", "from pipeline.cli import main; main()", "run", system, "--run-dir", str(run_dir), *settings]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="copernicus")
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--kills", type=int, default=3, help="kills per loop before the run is let finish")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--full", action="store_true", help="default settings (else tiny ones, as the slow test)")
    args = parser.parse_args()
    settings = [] if args.full else [*TINY, "--set", "train.epochs=[4, 8]", "--set", "train.epoch_group=1"]
    settings += ["--set", "train.backup_every=0"]
    draw = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "whole"
        start = time.monotonic()
        subprocess.run(command(args.system, settings, whole), capture_output=True, check=True)
        span = time.monotonic() - start
        print(f"a run never killed: {span:.1f} s")
        same = clean = 0
        for loop in range(args.loops):
            run_dir = Path(tmp) / f"loop{loop}"
            moments = []
            for _ in range(args.kills):
                proc = subprocess.Popen(
                    command(args.system, settings, run_dir),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                moment = draw.uniform(1.0, span)
                try:
                    proc.wait(timeout=moment)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    moments.append(f"{moment:.1f}")
            done = subprocess.run(command(args.system, settings, run_dir), capture_output=True, text=True)
            differ = [n for n in COMPARED if done.returncode or (run_dir / n).read_bytes() != (whole / n).read_bytes()]
            left = sorted({str(p.relative_to(run_dir)) for p in run_dir.rglob(".*")} - OURS)
            same += not differ
            clean += not left
            killed = f"killed at {', '.join(moments)} s" if moments else "never killed (each run ended first)"
            print(f"loop {loop + 1}: {killed}; "
                  f"{'same bytes' if not differ else 'differ: ' + ', '.join(differ)}; "
                  f"{'nothing left' if not left else 'left: ' + ', '.join(left)}", flush=True)  # fmt: skip
    print(f"{same} of {args.loops} byte-identical, {clean} of {args.loops} with nothing left behind")


if __name__ == "__main__":
    main()

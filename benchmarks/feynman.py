"""Exact-recovery benchmark on Feynman-style equations: this project's regression layer vs raw pyoperon.

    python benchmarks/feynman.py --csv ../shared/feynman/feynman_dev.csv --budget 60 --seed 0 --limit 50 --out results.json

For every equation of the CSV (columns ``Filename, Output, Formula, # variables,
vK_name, vK_low, vK_high``, as the AI Feynman database), data are sampled
uniformly from the variables' ranges (``--n-train`` rows to search on,
``--n-test`` fresh rows for R^2) and two engines get ``--budget`` seconds each:

* ``scinet``: :func:`symreg.search.search` with the operon engine, power-law
  candidates, constant recognition and model selection (search and algebra
  together within the budget);
* ``pyoperon``: pyoperon's ``SymbolicRegressor`` with its defaults except the
  time budget, the operator set (the same), the thread count and the seed; its
  selected model (``model_``) is parsed into SymPy.

Both are judged alike.  ``exact``: the two are the same function on the sampled
ranges (:func:`symreg.judge.same_law`: SymPy told the signs the ranges fix, then
a 50-digit comparison at points of the ranges, so ``log(1+b)/2 - log(1-b)/2`` is
``log((1+b)/(1-b))/2`` for ``|b| < 1``; floats in the selected expression taken
as they are).  ``srbench_exact``:
SRBench's looser test, the simplified difference or ratio, with floats rounded
to 3 decimals (and those below 1e-4 dropped) after or before simplifying, is a
constant.  ``r2``: on the
test rows.  ``complexity``: nodes of the SymPy tree.  ``seconds``: wall time of
the fit, algebra included.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
import zlib
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.errors import ScinetError  # noqa: E402
from pipeline.executors import EXECUTORS, get_executor  # noqa: E402
from symreg.base import complexity, evaluate  # noqa: E402
from symreg.engines import make_engine  # noqa: E402
from symreg.errors import SymregError  # noqa: E402
from symreg.judge import same_law, with_signs  # noqa: E402
from symreg.operators import OPERATOR_SETS  # noqa: E402
from symreg.parse import parse_expression  # noqa: E402
from symreg.search import search  # noqa: E402
from symreg.stopping import PATIENCE  # noqa: E402


class BenchmarkError(ScinetError):
    pass


def read_equations(path: Path) -> list[dict]:
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise BenchmarkError(f"Cannot read {path}: {exc}. Expected a CSV like ../shared/feynman/feynman_dev.csv.") from exc
    missing = {"Filename", "Formula", "# variables"} - set(table.columns)
    if missing:
        raise BenchmarkError(
            f"{path} lacks the columns {sorted(missing)}. Expected the AI Feynman layout (Filename, Formula, # variables, v1_name, ...)."
        )
    equations = []
    for _, row in table.iterrows():
        eid = str(row["Filename"])
        try:
            n = int(row["# variables"])
            names = [str(row[f"v{k}_name"]) for k in range(1, n + 1)]
            lows = [float(row[f"v{k}_low"]) for k in range(1, n + 1)]
            highs = [float(row[f"v{k}_high"]) for k in range(1, n + 1)]
            if any(not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi) for lo, hi in zip(lows, highs, strict=True)):
                raise ValueError("a variable range is empty or not finite")
            parse_expression(str(row["Formula"]), names)
        except (KeyError, ValueError, TypeError, SymregError) as exc:
            equations.append({"id": eid, "formula": str(row.get("Formula")), "error": f"{type(exc).__name__}: {exc}"})
            continue
        output = str(row["Output"]) if "Output" in table.columns and isinstance(row["Output"], str) else None
        equations.append(
            {
                "id": eid,
                "formula": str(row["Formula"]),
                "names": names,
                "low": lows,
                "high": highs,
                **({"output": output} if output else {}),
            }
        )
    return equations


UNIT_BASES = {"m": "[length]", "s": "[time]", "kg": "[mass]", "T": "[temperature]", "V": "[voltage]"}


def read_units(path: Path) -> dict[str, dict[str, float]]:
    """AI Feynman's units table (``variable, quantity, m, s, kg, T, V``): name -> exponents of the bases."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise BenchmarkError(f"Cannot read {path}: {exc}. Expected a CSV like ../shared/feynman/units.csv.") from exc
    missing = {"variable", *UNIT_BASES} - set(table.columns)
    if missing:
        raise BenchmarkError(f"{path} lacks the columns {sorted(missing)}. Expected: variable, quantity, m, s, kg, T, V.")
    return {str(r["variable"]): {UNIT_BASES[b]: float(r[b]) for b in UNIT_BASES if float(r[b])} for _, r in table.iterrows()}


def equation_units(equation: dict, units: dict | None) -> dict:
    """Search arguments for dimensional analysis, where the table knows the inputs and the output (a dummy
    variable, whose unit no table knows, is taken as dimensionless)."""
    dummies = set(equation.get("dummies", ()))
    real = [n for n in equation["names"] if n not in dummies]
    if not units or equation.get("output") not in units or any(n not in units for n in real):
        return {}
    table = {n: ({} if n in dummies else units[n]) for n in equation["names"]}
    return {"units": table, "target_unit": units[equation["output"]]}


DUMMY_DECADES = 32
"""a dummy variable is drawn from 10^(j-1) to 10^(j+1), ``|j| <= DUMMY_DECADES``, of either sign (as the
SRSD benchmark's dummy columns)"""


def with_dummies(equation: dict, count: int, seed: int) -> dict:
    """The equation with ``count`` dummy variables (``dummy1``, ...) that its law does not use, each over
    a random pair of decades of a random sign (seeded by the run's seed and the equation's id)."""
    if count <= 0 or "error" in equation:
        return equation
    rng = np.random.default_rng([seed, zlib.crc32(equation["id"].encode()), 1])
    names, lows, highs = list(equation["names"]), list(equation["low"]), list(equation["high"])
    dummies = []
    for k in range(1, count + 1):
        j = int(rng.integers(-DUMMY_DECADES, DUMMY_DECADES + 1))
        lo, hi = 10.0 ** (j - 1), 10.0 ** (j + 1)
        if rng.uniform() < 0.5:
            lo, hi = -hi, -lo
        names.append(f"dummy{k}")
        lows.append(lo)
        highs.append(hi)
        dummies.append(f"dummy{k}")
    return {**equation, "names": names, "low": lows, "high": highs, "dummies": dummies}


def sample(rng: np.random.Generator, low: list[float], high: list[float], n: int, sampling: str) -> np.ndarray:
    """``n`` rows: each variable uniform on its range, or (``log-uniform``, the SRSD protocol) uniform in
    ``log |x|`` on a range of one sign (a range that starts at or spans zero stays uniform)."""
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    u = rng.uniform(size=(n, len(lo)))
    X = lo + (hi - lo) * u
    if sampling == "log-uniform":
        one_sign = (lo > 0) | (hi < 0)
        sign = np.where(hi < 0, -1.0, 1.0)
        with np.errstate(all="ignore"):
            a, b = np.log(np.abs(np.where(hi < 0, hi, lo))), np.log(np.abs(np.where(hi < 0, lo, hi)))
            logged = sign * np.exp(a + (b - a) * u)
        X = np.where(one_sign, logged, X)
    return X


class SimplifyTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    def handler(signum, frame):
        raise SimplifyTimeout

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def round_floats_srbench(expr: sp.Expr) -> sp.Expr:
    repl = {}
    for f in expr.atoms(sp.Float):
        repl[f] = sp.Integer(0) if abs(float(f)) < 1e-4 else sp.Float(round(float(f), 3), 3)
    return expr.xreplace(repl)


def judge(
    selected: sp.Expr, true: sp.Expr, X_check: np.ndarray, symbols: list[sp.Symbol], ranges: list[tuple[float, float]]
) -> tuple[bool, bool]:
    """(exact, srbench_exact).  A numerical screen on ``X_check`` first, so that SymPy (60 s at most)
    is asked only what is plausible: exactness (:func:`symreg.judge.same_law`, on the sampled ranges)
    if the values agree, the looser test if the difference or the ratio varies by at most 1 % of the
    target's spread."""
    pred, ref = evaluate(selected, symbols, X_check), evaluate(true, symbols, X_check)
    if not np.all(np.isfinite(pred)):
        return False, False
    spread = max(float(np.ptp(ref)), 1e-12 * float(np.max(np.abs(ref))), 1e-300)
    close = np.allclose(pred, ref, rtol=1e-6, atol=1e-9 * spread)
    with np.errstate(all="ignore"):
        ratio = pred / ref
    near_constant = np.ptp(pred - ref) <= 1e-2 * spread or (
        np.all(np.isfinite(ratio)) and np.ptp(ratio) <= 1e-2 * float(np.median(np.abs(ratio)))
    )
    exact = srbench = False
    try:
        with time_limit(60):
            if close:
                exact = same_law(selected, true, symbols, ranges)
            if exact:
                srbench = True
            elif close or near_constant:
                # floats rounded after simplifying (as SRBench) or before (kinder to float-laden output)
                sel_p, true_p = (with_signs(e, symbols, ranges)[0] for e in (selected, true))
                for model in (sel_p, round_floats_srbench(sel_p)):
                    rdiff = round_floats_srbench(sp.simplify(model - true_p))
                    rratio = round_floats_srbench(sp.simplify(model / true_p))
                    if rdiff.is_constant() or (rratio != 0 and rratio.is_constant()):
                        srbench = True
                        break
    except (SimplifyTimeout, TypeError, ValueError, ZeroDivisionError, RecursionError):
        pass
    return bool(exact), bool(srbench)


def r2_score(pred: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(pred)):
        return -math.inf
    return float(1 - np.sum((pred - y) ** 2) / np.sum((y - np.mean(y)) ** 2))


def run_scinet(X, y, names, *, budget, seed, threads, operators, dimensions=None, patience=PATIENCE, separate=True):
    engine = partial(make_engine, "operon", operators=operators, seed=seed, threads=threads, patience=patience)
    front = search(engine, X, y, variable_names=names, time_budget=budget, seed=seed, separate=separate, **(dimensions or {}))
    best = front[front["selected"]].iloc[0]
    return parse_expression(best["sympy_format"], names)


def run_raw_operon(X, y, names, *, budget, seed, threads, operators, dimensions=None, patience=None, separate=None):
    from pyoperon.sklearn import SymbolicRegressor

    from symreg.operon import operon_symbols

    reg = SymbolicRegressor(
        allowed_symbols=operon_symbols(operators), max_time=max(1, int(budget)), n_threads=threads, random_state=seed
    )
    reg.fit(X, y)
    return parse_expression(reg.get_model_string(reg.model_, 12, names), names, caret_is_power=True)


ENGINES = {"scinet": run_scinet, "pyoperon": run_raw_operon}


def benchmark(equation: dict, engine: str, args) -> dict:
    true, _, (X, y, X_test, y_test) = data(equation, args.seed, args.n_train, args.n_test, args.sampling)
    start = time.perf_counter()
    dimensions = equation_units(equation, getattr(args, "unit_table", None)) if engine == "scinet" else {}
    selected = ENGINES[engine](
        X,
        y,
        equation["names"],
        budget=args.budget,
        seed=args.seed,
        threads=args.threads,
        operators=args.operators,
        dimensions=dimensions,
        patience=getattr(args, "patience", PATIENCE),
        separate=getattr(args, "separate", True),
    )
    seconds = time.perf_counter() - start
    return {
        "id": equation["id"],
        "engine": engine,
        **score(equation, selected, true, X_test, y_test),
        "seconds": round(seconds, 2),
        "expression": str(selected),
        "true": equation["formula"],
        "units": bool(dimensions),
    }


def run_job(job: tuple[dict, str, argparse.Namespace]) -> dict:
    """One (equation, engine) search, scored; a failed search is a result (not recovered), and the run goes on."""
    eq, engine, args = job
    try:
        return benchmark(eq, engine, args)
    except Exception as exc:  # noqa: BLE001
        return {"id": eq["id"], "engine": engine, "exact": False, "srbench_exact": False, "r2": -math.inf,
                "complexity": 0, "seconds": 0.0, "expression": None, "true": eq["formula"],
                "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip


def data(equation: dict, seed: int, n_train: int, n_test: int, sampling: str = "uniform"):
    """The benchmark's rows for one equation: training and test inputs and targets (seeded by the run's seed and the id)."""
    names = equation["names"]
    rng = np.random.default_rng([seed, zlib.crc32(equation["id"].encode())])
    true = parse_expression(equation["formula"], names)
    symbols = [sp.Symbol(n, real=True) for n in names]
    out = []
    for n in (n_train, n_test):
        X = sample(rng, equation["low"], equation["high"], n, sampling)
        out += [X, evaluate(true, symbols, X)]
    return true, symbols, out


def score(equation: dict, selected: sp.Expr, true: sp.Expr, X_test: np.ndarray, y_test: np.ndarray) -> dict:
    symbols = [sp.Symbol(n, real=True) for n in equation["names"]]
    ranges = list(zip(equation["low"], equation["high"], strict=True))
    exact, srbench = judge(selected, true, X_test[:50], symbols, ranges)
    dummies = {sp.Symbol(n, real=True) for n in equation.get("dummies", ())}
    return {
        "uses_dummies": bool(selected.free_symbols & dummies),
        "exact": exact,
        "srbench_exact": srbench,
        "r2": r2_score(evaluate(selected, symbols, X_test), y_test),
        "complexity": complexity(selected),
    }


def rejudge(records: list[dict], equations: dict[str, dict], args) -> list[dict]:
    out = []
    for rec in records:
        eq = equations.get(rec["id"], {})
        if "error" in eq or rec.get("expression") is None:
            out.append(rec)
            continue
        true, _, (_, _, X_test, y_test) = data(eq, args.seed, args.n_train, args.n_test, args.sampling)
        out.append({**rec, **score(eq, parse_expression(rec["expression"], eq["names"]), true, X_test, y_test)})
    return out


def summary(records: list[dict], settings: dict | None = None) -> str:
    """Per equation and engine, then per engine: exact, SRBench-exact, R^2 > 0.999, the median and the 90th
    percentile of the seconds per equation (and, with dummy variables, how many selected equations use one);
    ``settings`` are printed first."""
    frame = pd.DataFrame(records)
    lines = [] if settings is None else ["settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), ""]
    for eid, group in frame.groupby("id", sort=False):
        cells = [f"{eid:<12}"]
        for _, r in group.iterrows():
            mark = "EXACT" if r["exact"] else ("srb" if r["srbench_exact"] else "-")
            if isinstance(r.get("error"), str):
                cells.append(f"{r['engine']}: skipped ({r['error']})")
                continue
            cells.append(f"{r['engine']}: {mark:<5} R2={r['r2']:.6f} c={r['complexity']:<3} {r['seconds']:6.1f}s")
        lines.append("  ".join(cells))
    lines.append("")
    dummies = "uses_dummies" in frame and bool(settings and settings.get("dummies"))
    head = f"{'engine':<10} {'n':>3} {'exact':>7} {'srbench':>8} {'R2>0.999':>9} {'median s':>9} {'p90 s':>7}"
    lines.append(head + (f" {'uses a dummy':>13}" if dummies else ""))
    rates = {}
    for engine, group in frame.groupby("engine", sort=False):
        rates[engine] = group["exact"].mean()
        line = (
            f"{engine:<10} {len(group):>3} {group['exact'].mean():>7.1%} {group['srbench_exact'].mean():>8.1%} "
            f"{(group['r2'] > 0.999).mean():>9.1%} {group['seconds'].median():>9.1f} {group['seconds'].quantile(0.9):>7.1f}"
        )
        if dummies:
            line += f" {group['uses_dummies'].fillna(False).astype(bool).mean():>13.1%}"
        lines.append(line)
    if {"scinet", "pyoperon"} <= set(rates):
        raw = frame[frame["engine"] == "pyoperon"]
        denominators = {"exact": raw["exact"].mean(), "srbench_exact": raw["srbench_exact"].mean()}
        for name, d in denominators.items():
            ratio = rates["scinet"] / d if d else math.inf
            lines.append(f"scinet exact rate / pyoperon {name} rate: {ratio:.2f}")
    return "\n".join(lines)


def save(records: list[dict], out: Path) -> None:
    """Every record so far, written atomically: an interrupted run keeps what it measured."""
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(records, indent=1))
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, required=True, help="equations in the AI Feynman CSV layout")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per equation and engine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N equations only")
    parser.add_argument("--out", type=Path, default=Path("results.json"))
    parser.add_argument("--engines", default="scinet,pyoperon", help="comma-separated: scinet, pyoperon")
    parser.add_argument("--only", default=None, help="comma-separated equation ids")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--operators", default="physics", help=f"operator set name ({', '.join(OPERATOR_SETS)}) or list")
    parser.add_argument(
        "--patience",
        type=float,
        default=PATIENCE,
        help="scinet's engines stop after this share of the budget without progress (0: never)",
    )
    parser.add_argument(
        "--sampling",
        choices=("uniform", "log-uniform"),
        default="uniform",
        help="how each variable is drawn from its range (log-uniform: the SRSD protocol)",
    )
    parser.add_argument(
        "--dummies",
        type=int,
        default=0,
        help="variables the law does not use, added to every equation (the SRSD protocol: 1 to 3)",
    )
    parser.add_argument(
        "--separate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="test the closest equation for separability and search the parts (symreg.separable)",
    )
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--units", type=Path, default=None, help="units table (AI Feynman layout) for dimensional analysis")
    parser.add_argument("--jobs", type=int, default=1, help="searches at a time on the local executor (each with --threads)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local", help="where the searches run (ray: a Ray cluster)")
    parser.add_argument("--address", default=None, help="a Ray cluster's head, host:port (with --executor ray)")
    parser.add_argument("--resume", action="store_true", help="keep the records --out holds and run only the rest")
    parser.add_argument(
        "--rejudge", type=Path, default=None, help="score the records of an earlier --out file again, without searching"
    )
    args = parser.parse_args(argv)
    try:
        equations = read_equations(args.csv)
        args.unit_table = read_units(args.units) if args.units else None
    except BenchmarkError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        wanted = set(args.only.split(","))
        equations = [e for e in equations if e["id"] in wanted]
    equations = [with_dummies(e, args.dummies, args.seed) for e in equations[: args.limit]]
    settings = {
        k: getattr(args, k)
        for k in ("budget", "seed", "operators", "patience", "threads", "n_train", "sampling", "dummies", "separate")
    } | {"units": str(args.units) if args.units else None, "csv": str(args.csv)}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        print(f"Error: unknown engines {unknown}; choose from {sorted(ENGINES)}.", file=sys.stderr)
        return 2
    if args.rejudge is not None:
        records = rejudge(json.loads(args.rejudge.read_text()), {e["id"]: e for e in equations}, args)
        args.out.write_text(json.dumps(records, indent=1))
        print(summary(records, settings))
        return 0
    # a job is one (equation, engine) pair; one whose record --out already holds (an interrupted run) is skipped
    records = json.loads(args.out.read_text()) if args.resume and args.out.exists() else []
    done = {(r["id"], r["engine"]) for r in records}
    if done:
        print(f"resuming: {len(done)} records in {args.out} are kept", flush=True)
    pending = [(eq, engine) for eq in equations if "error" not in eq for engine in engines if (eq["id"], engine) not in done]
    for eq in equations:
        if "error" in eq and all((eq["id"], engine) not in done for engine in engines):
            for engine in engines:
                records.append(
                    {
                        "id": eq["id"],
                        "engine": engine,
                        "exact": False,
                        "srbench_exact": False,
                        "r2": -math.inf,
                        "complexity": 0,
                        "seconds": 0.0,
                        "expression": None,
                        "true": eq["formula"],
                        "error": eq["error"],
                    }
                )
            print(f"{eq['id']:<12} skipped: cannot read it ({eq['error']})", flush=True)
            save(records, args.out)

    def report(i: int, rec: dict) -> None:
        records.append(rec)
        if "error" in rec:
            print(f"{rec['id']:<12} {rec['engine']:<9} failed: {rec['error']}", flush=True)
        else:
            mark = "EXACT" if rec["exact"] else ("srbench" if rec["srbench_exact"] else "-")
            print(
                f"{rec['id']:<12} {rec['engine']:<9} {mark:<8} R2={rec['r2']:.6f} {rec['seconds']:6.1f}s  {rec['expression']}",
                flush=True,
            )
        save(records, args.out)

    try:
        executor = get_executor(args.executor, address=args.address)
    except ScinetError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    executor.map(run_job, [(eq, engine, args) for eq, engine in pending], workers=args.jobs, on_result=report)
    print()
    print(summary(records, settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

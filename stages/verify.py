"""Stage 5: decide, for each known law, whether the discovered equations express it.

Every check runs numerically on *fresh* samples (a new simulation with another
seed) and symbolically (the selected equation must have the law's form, with the
law's free constants, a sign and an offset as the only unknowns: a SymPy
pattern match).  Circular quantities are compared on the circle.

* ``latent_is_quantity``: the latent (held-out rows) and its ground-truth
  equation (fresh rows) both have circular correlation >= threshold with
  ``+-quantity``, and the equation is ``+-quantity + c``.  Neurons are assigned
  one-to-one, best correlation first.
* ``latent_formula``: the observation equation of the neuron holding
  ``quantity`` equals ``s law(constants) + c`` on fresh rows after least-squares
  fitting of the free constants; constants with a true value must be within
  ``constant_rtol``.
* ``step_ratio``: the ratio of the learned steps of the two neurons (signs
  taken from their assignment) is within ``constant_rtol`` of the true value.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp
from scipy.optimize import least_squares

from pipeline.errors import ArtifactError
from pipeline.orchestrate import StageContext
from pipeline.rundir import read_parquet, write_json
from stages.export import latent_columns, load_latents
from stages.simulate import simulate_frame
from symreg.base import evaluate
from symreg.parse import ExpressionError, parse_expression
from symreg.search import circular_correlation
from systems.base import KnownLaw, PhysicalSystem

log = logging.getLogger("scinet")

DISCOVERED, NOT_DISCOVERED = "discovered", "not discovered"
FRESH_SEED_OFFSET = 1_000_003


def load_equations(ctx: StageContext) -> pd.DataFrame:
    """The equation fronts, with every ``sympy_format`` read back by the whitelist parser into ``expr``."""
    system = ctx.system
    frame, meta = read_parquet(
        ctx.path("equations.parquet"),
        producer="regress",
        kind="equations",
        system=system.name,
        columns=["target", "variables", "complexity", "loss", "score", "equation", "sympy_format", "latex", "selected"],
    )
    variables = meta.get("variables", {})
    exprs = []
    for _, row in frame.iterrows():
        names = variables.get(row["variables"])
        if not isinstance(names, list):
            raise ArtifactError(
                f"{ctx.path('equations.parquet')} names an unknown variable set {row['variables']!r}. Re-run `scinet regress --force`."
            )
        try:
            exprs.append(parse_expression(row["sympy_format"], names))
        except ExpressionError as exc:
            raise ArtifactError(
                f"{ctx.path('equations.parquet')}: {exc} Re-create it with `scinet regress {system.name} --force`."
            ) from exc
    frame["expr"] = exprs
    return frame


def _selected(equations: pd.DataFrame, target: str, variables: str) -> sp.Expr | None:
    rows = equations[(equations["target"] == target) & (equations["variables"] == variables) & equations["selected"]]
    return None if rows.empty else rows["expr"].iloc[0]


def _symbols(names: Sequence[str]) -> list[sp.Symbol]:
    return [sp.Symbol(n, real=True) for n in names]


def _values(expr: sp.Expr, names: Sequence[str], frame: pd.DataFrame) -> np.ndarray:
    return evaluate(expr, _symbols(names), frame[list(names)].to_numpy(dtype=float))


def _matches(expr: sp.Expr | None, pattern_of_sign, variables: Sequence[sp.Symbol], wild_names: Sequence[str]) -> dict | None:
    """SymPy pattern match of ``expr`` against ``s * law + c`` for s = +1, -1."""
    if expr is None:
        return None
    for sign in (1, -1):
        wilds = {n: sp.Wild(n, exclude=list(variables)) for n in wild_names}
        found = expr.match(pattern_of_sign(sign, wilds))
        if found is not None and all(v.is_number for v in found.values()):
            return {"sign": sign, **{k.name: float(v) for k, v in found.items()}}
    return None


def _assign(laws: Sequence[KnownLaw], system: PhysicalSystem, latents: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One-to-one assignment of latent neurons to the quantities of ``latent_is_quantity`` laws."""
    gt = system.ground_truth_names
    targets = latent_columns(system.latent.size)[0]
    scores = []
    for law in laws:
        q = _values(law.expression, gt, latents)
        for t in targets:
            corr, sign, offset = circular_correlation(latents[t].to_numpy(dtype=float), q)
            scores.append((corr, law.name, t, sign, offset))
    assignment: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for corr, name, t, sign, offset in sorted(scores, reverse=True):
        if name in assignment or t in used:
            continue
        assignment[name] = {"latent": t, "sign": sign, "offset": offset, "latent_circular_correlation": corr}
        used.add(t)
    return assignment


def _fit_law(
    law: KnownLaw, names: Sequence[str], fresh: pd.DataFrame, e: np.ndarray
) -> tuple[dict[str, float], int, float, float]:
    """Fit the law's free constants, sign and offset so that ``s law + c`` matches ``e`` on the circle."""
    expr = law.expression.xreplace({k: sp.Float(v) for k, v in law.fixed.items()})
    free = [k for k in law.constants if k not in law.fixed]
    func = sp.lambdify([*_symbols(names), *free], expr, modules="numpy")
    cols = [fresh[n].to_numpy(dtype=float) for n in names]
    best: tuple[float, dict[str, float], int, float] | None = None
    for sign in (1, -1):

        def residual(p, sign=sign):
            with np.errstate(all="ignore"):
                pred = sign * np.asarray(func(*cols, *p[1:]), dtype=float) + p[0]
            r = np.concatenate([np.cos(pred) - np.cos(e), np.sin(pred) - np.sin(e)])
            return np.where(np.isfinite(r), r, 2.0)

        x0 = np.array([0.0, *[law.initial.get(k, 1.0) for k in free]])
        with np.errstate(all="ignore"):
            pred0 = sign * np.asarray(func(*cols, *x0[1:]), dtype=float)
        x0[0] = float(np.angle(np.nanmean(np.exp(1j * (e - pred0)))))
        fit = least_squares(residual, x0, method="trf")
        cost = float(np.sum(fit.fun**2))
        if best is None or cost < best[0]:
            best = (cost, {k.name: float(v) for k, v in zip(free, fit.x[1:], strict=True)}, sign, float(fit.x[0]))
    assert best is not None  # noqa: S101 (two signs were tried)
    _, constants, sign, offset = best
    with np.errstate(all="ignore"):
        pred = sign * np.asarray(func(*cols, *constants.values()), dtype=float) + offset
    corr = float(abs(np.nanmean(np.exp(1j * (e - pred))))) if np.isfinite(pred).all() else 0.0
    return constants, sign, offset, corr


def _record(law: KnownLaw, verdict: bool, **fields: Any) -> dict[str, Any]:
    return {"name": law.name, "description": law.description, "verdict": DISCOVERED if verdict else NOT_DISCOVERED, **fields}


def verify_laws(
    system: PhysicalSystem,
    laws: Sequence[KnownLaw],
    *,
    latents: pd.DataFrame,
    equations: pd.DataFrame,
    steps: Sequence[float],
    fresh: pd.DataFrame,
    threshold: float = 0.999,
    rtol: float = 0.01,
) -> list[dict[str, Any]]:
    """One record per law (see the module docstring); ``latents`` are held-out rows."""
    obs, gt = system.observation_names, system.ground_truth_names
    quantity_laws = [law for law in laws if law.kind == "latent_is_quantity"]
    assignment = _assign(quantity_laws, system, latents)
    by_quantity: dict[str, dict[str, Any]] = {}
    records = []
    for law in laws:
        if law.kind == "latent_is_quantity":
            a = assignment[law.name]
            expr = _selected(equations, a["latent"], "ground_truth")
            q_fresh = _values(law.expression, gt, fresh)
            e_corr = circular_correlation(_values(expr, gt, fresh), q_fresh)[0] if expr is not None else 0.0
            match = _matches(expr, lambda s, w, law=law: s * law.expression + w["c"], _symbols(gt), ["c"])
            ok = a["latent_circular_correlation"] >= threshold and e_corr >= threshold and match is not None
            if ok:
                by_quantity[str(law.expression)] = a
            records.append(
                _record(
                    law,
                    ok,
                    latent=a["latent"],
                    sign=a["sign"],
                    expression=None if expr is None else str(expr),
                    latex=None if expr is None else sp.latex(expr),
                    fitted_constants={"offset": a["offset"]},
                    true_constants={},
                    relative_errors={},
                    checks={
                        "latent_circular_correlation": a["latent_circular_correlation"],
                        "expression_circular_correlation": e_corr,
                        "symbolic_match": match is not None,
                        "threshold": threshold,
                    },
                )
            )
        elif law.kind == "latent_formula":
            holder = next((a for q, a in by_quantity.items() if q == law.quantity), None)
            latent = holder["latent"] if holder else None
            expr = _selected(equations, latent, "observations") if latent else None
            if expr is None:
                records.append(
                    _record(
                        law,
                        False,
                        latent=latent,
                        expression=None,
                        latex=None,
                        fitted_constants={},
                        true_constants={k.name: v for k, v in law.constants.items()},
                        relative_errors={},
                        checks={"reason": f"no neuron holds {law.quantity}"},
                    )
                )
                continue
            e = _values(expr, obs, fresh)
            constants, sign, offset, corr = _fit_law(law, obs, fresh, e)
            true = {k.name: v for k, v in law.constants.items() if k not in law.fixed}
            rel = {k: abs(constants[k] - v) / abs(v) for k, v in true.items() if v is not None}
            fixed = {k: sp.Float(v) for k, v in law.fixed.items()}
            free = [k.name for k in law.constants if k not in law.fixed]
            match = _matches(
                expr,
                lambda s, w, law=law, fixed=fixed: (
                    s * law.expression.xreplace({**fixed, **{k: w[k.name] for k in law.constants if k not in fixed}}) + w["c"]
                ),
                _symbols(obs),
                [*free, "c"],
            )
            ok = corr >= threshold and match is not None and all(r <= rtol for r in rel.values())
            records.append(
                _record(
                    law,
                    ok,
                    latent=latent,
                    sign=sign,
                    expression=str(expr),
                    latex=sp.latex(expr),
                    fitted_constants={**constants, "offset": offset},
                    true_constants={**true, **{k.name: v for k, v in law.fixed.items()}},
                    relative_errors=rel,
                    checks={
                        "expression_circular_correlation": corr,
                        "symbolic_match": match is not None,
                        "symbolic_constants": match,
                        "threshold": threshold,
                        "rtol": rtol,
                    },
                )
            )
        elif law.kind == "step_ratio":
            assert law.quantities is not None  # noqa: S101 (declared by the system)
            a, b = (by_quantity.get(q) for q in law.quantities)
            if a is None or b is None:
                records.append(
                    _record(
                        law,
                        False,
                        fitted_constants={},
                        true_constants={"ratio": law.true_value},
                        relative_errors={},
                        checks={"reason": f"no neuron holds each of {list(law.quantities)}"},
                    )
                )
                continue
            index = {t: i for i, t in enumerate(latent_columns(system.latent.size)[0])}
            omega_a = a["sign"] * steps[index[a["latent"]]]
            omega_b = b["sign"] * steps[index[b["latent"]]]
            ratio = omega_a / omega_b
            rel = abs(ratio - law.true_value) / abs(law.true_value) if law.true_value else float("nan")
            records.append(
                _record(
                    law,
                    rel <= rtol,
                    latent=[a["latent"], b["latent"]],
                    expression=f"{law.expression} = {ratio:.6g}",
                    latex=sp.latex(law.expression) + f" = {ratio:.4f}",
                    fitted_constants={
                        "ratio": ratio,
                        f"omega_{law.quantities[0]}": omega_a,
                        f"omega_{law.quantities[1]}": omega_b,
                    },
                    true_constants={"ratio": law.true_value},
                    relative_errors={"ratio": rel},
                    checks={"rtol": rtol},
                )
            )
        else:
            raise ArtifactError(f"Law {law.name!r} has unknown kind {law.kind!r}. Fix the system module.")
    return records


def verdict_table(records: Sequence[dict[str, Any]]) -> str:
    """A plain-text table for people."""
    lines = [f"{'law':28s} {'verdict':15s} fitted vs true"]
    for r in records:
        parts = []
        for k, v in r.get("true_constants", {}).items():
            fitted = r.get("fitted_constants", {}).get(k)
            err = r.get("relative_errors", {}).get(k)
            if fitted is not None and v is not None:
                parts.append(
                    f"{k} = {fitted:.5g} (true {v:.5g}, rel. err. {err:.2%})" if err is not None else f"{k} = {fitted:.5g}"
                )
        if "latent_circular_correlation" in r.get("checks", {}):
            parts.append(f"{r['latent']}: circ. corr. {r['checks']['latent_circular_correlation']:.5f}")
        lines.append(f"{r['name']:28s} {r['verdict']:15s} {'; '.join(parts)}")
    return "\n".join(lines)


def run(ctx: StageContext) -> None:
    system, cfg = ctx.system, ctx.config.verify
    latents, meta = load_latents(ctx)
    equations = load_equations(ctx)
    fresh = simulate_frame(
        system, n_series=cfg.n_fresh, series_length=ctx.config.simulate.series_length, seed=ctx.config.seed + FRESH_SEED_OFFSET
    )
    records = verify_laws(
        system,
        system.known_laws(),
        latents=latents[latents["split"] == "test"],
        equations=equations,
        steps=meta["latent_steps"],
        fresh=fresh,
        threshold=cfg.circular_correlation,
        rtol=cfg.constant_rtol,
    )
    write_json(ctx.path("verification.json"), {"system": system.name, "run": str(ctx.run_dir), "laws": records})
    for line in verdict_table(records).splitlines():
        log.info("verify: %s", line)

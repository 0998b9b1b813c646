"""Stage 5: decide, for each known law, whether the trained network and its equations express it.

The laws are plug-ins (:mod:`systems.laws`, one class per kind); this stage
gathers the evidence once (held-out latents, fresh samples from a new seed,
the parsed equations, the active neurons, the learned steps, the probe) and
asks each law for its :class:`pipeline.catalog.Verdict`.  Laws that assign
neurons to quantities run first; the verdicts keep the system's order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pipeline.catalog import Verdict, read_equations, read_history, read_latents, read_probe, write_verification
from pipeline.context import StageContext
from pipeline.errors import ArtifactError
from pipeline.orchestrate import load_manifest, stage_settings
from pipeline.simulation import fresh_samples
from pipeline.stage import Output, Stage
from systems.laws import Evidence
from systems.laws import closure as closures
from systems.laws.geometry import MIN_ROWS
from systems.laws.observation_model import cross_check
from systems.laws.uncertainty import equation_constants, with_error

log = logging.getLogger("scinet")

FRESH_SEED_OFFSET = 1_000_003


def check_laws(laws: Sequence, evidence: Evidence) -> list[Verdict]:
    results: dict[int, Verdict] = {}
    for i, law in sorted(enumerate(laws), key=lambda p: (type(p[1]).order, p[0])):
        results[i] = verdict = law.check(evidence)
        for name, value in verdict.fitted_constants.items():  # physical constants, for laws that relate them
            known = name in verdict.true_constants and value is not None
            if known:
                evidence.fitted[name] = (float(value), verdict.name, verdict.verdict)
            if known or name in verdict.standard_errors or name in verdict.systematic_errors:
                # a value and its errors always from the same law (None where that law stated none)
                evidence.errors[name] = (verdict.standard_errors.get(name), verdict.systematic_errors.get(name))
    # the decoder's difference joins the systematic error of an encoder's constant only in the records: a relation
    # checked above used the constant's last fit (a system declares the decoder's law after the encoder's, as
    # copernicus does, so that relations use the decoder's reading)
    return cross_check([results[i] for i in range(len(laws))])


def with_closure(ctx: StageContext, verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts with the system's closure stated in their systematic errors where the run's settings are the
    closure's (:mod:`systems.laws.closure`), or with the reason it is not."""
    trained = load_manifest(ctx.run_dir).get("stages", {}).get("train", {})
    try:
        closure = closures.load(ctx.system.name, trained.get("backend"))
    except ValueError as exc:
        raise ArtifactError(str(exc)) from exc
    if closure is None:
        return verdicts
    settings = {stage: stage_settings(ctx.config, stage, key=True) for stage in closures.STAGES}
    reason = closures.mismatch(closure, settings, trained.get("backend"))
    definition = ctx.system.fingerprint(laws=True)
    if reason:
        log.info("verify: no closure stated (%s)", reason)
    elif closure.definition is not None and closure.definition != definition:
        log.warning("verify: %s", closures.STALE)
    return closures.apply(verdicts, closure, reason, definition=definition)


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    """A plain-text table for people."""
    lines = [f"{'law':28s} {'verdict':15s} fitted vs true"]
    for v in verdicts:
        parts = []
        for k, true in v.true_constants.items():
            fitted = v.fitted_constants.get(k)
            err = v.relative_errors.get(k)
            if fitted is not None and true is not None:
                dev = v.deviations.get(k)
                parts.append(
                    f"{k} = {with_error(fitted, v.standard_errors.get(k), v.systematic_errors.get(k))} (true {true:.5g}"
                    + (f", rel. err. {err:.2%}" if err is not None else "")
                    + (f", {abs(dev):.1f} sigma" if dev is not None else "")
                    + ")"
                )
        if "reason" in v.checks:
            parts.append(str(v.checks["reason"]))
        lines.append(f"{v.name:28s} {v.verdict:15s} {'; '.join(parts)}")
    return "\n".join(lines)


def selected_constants(evidence: Evidence) -> list[dict]:
    """Every selected equation's numeric constants with standard errors (:mod:`systems.laws.uncertainty`), refitted
    to what the equation describes on data symbolic regression did not see: a neuron on the held-out rows, the
    answer law's target on the probe."""
    system, eq = evidence.system, evidence.equations
    out = []
    for _, row in (eq[eq["selected"]] if not eq.empty else eq).iterrows():
        target, varset = str(row["target"]), str(row["variables"])
        spec = system.answer_law
        if spec is not None and target == spec.answer and evidence.probe is not None:
            frame, names, circle = evidence.probe, spec.variables, spec.angle_of is not None
        elif target in evidence.latents and varset in system.regress:
            frame, names, circle = evidence.latents, list(system.regress[varset]), evidence.kind == "circle"
        else:
            continue
        if len(frame) < MIN_ROWS:  # too few rows for an error: the report prints the constants without one
            continue
        fit = equation_constants(row["expr"], names, frame, frame[target].to_numpy(dtype=float), circle=circle)
        out.append({"target": target, "variables": varset, "expression": str(row["expr"]), **fit})
    return out


def run(ctx: StageContext) -> None:
    system, cfg = ctx.system, ctx.config.verify
    latents, meta = read_latents(ctx)
    equations = read_equations(ctx)
    probe = read_probe(ctx)
    rms = read_history(ctx).prediction_rms
    held_out = latents[latents["split"] == "test"]
    fresh = fresh_samples(
        system,
        held_out,
        n_samples=cfg.n_fresh,
        series_length=ctx.config.simulate.series_length,
        seed=ctx.config.seed + FRESH_SEED_OFFSET,
    )
    evidence = Evidence(
        system=system,
        latents=held_out,
        equations=equations,
        fresh=fresh,
        latent_names=list(meta["latent_columns"]),
        active=list(meta["active"]),
        kl=dict(meta["kl"]),
        steps=meta.get("latent_steps"),
        probe=probe,
        prediction_rms=dict(rms),
        answer_noise=0.0 if system.answer_law is None else system.answer_law.noise_variance(rms),
        threshold=cfg.circular_correlation,
        r2=cfg.r2,
        rtol=cfg.constant_rtol,
    )
    verdicts = with_closure(ctx, check_laws(system.known_laws(), evidence))
    write_verification(ctx, verdicts, active=evidence.active, kl=evidence.kl, equations=selected_constants(evidence))
    for line in verdict_table(verdicts).splitlines():
        log.info("verify: %s", line)


STAGE = Stage(
    name="verify",
    help="Check the known laws against the discovered equations (verification.json).",
    doc="check known laws",
    inputs=("latents.parquet", "equations.parquet", "probe.parquet", "history.json"),
    outputs=(Output("verification.json", "verification", "one verdict per known law"),),
    run=run,
    reads_laws=True,
)

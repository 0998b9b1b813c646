"""Stage 3: latent means, log-sigmas and predictions for every row, the KL per neuron, and the
network's answers to many questions about fresh samples (the probe, for an answer law).

A neuron whose KL divergence from the prior, averaged over the held-out rows, is
below ``export.unused_kl`` nats, or below ``export.unused_fraction`` of the
largest KL of any neuron, is *unused*: the network sends next to nothing
through it (a neuron with 2 % of the information of its busiest neighbour is
redundant, not a concept).  A neuron is also unused when the answers do not need
it: KL measures what a neuron carries, not whether it carries anything new.  At a
small ``beta`` a neuron can hold again a quantity that another already holds (the
pendulum's third neuron on some seeds: a second copy of kappa, KL 1.5 nats, which
the decoder reads beside the first).  Replaced by its best guess from the neurons
kept (its mean over the held-out rows nearest in them, distances counted in each
neuron's posterior standard deviation), a needed neuron raises the answer's mean
squared error by at least ``export.needed_share`` (5 %) of what replacing every
neuron by its mean raises it: it accounts for at least 5 % of what the neurons
explain (the sweep's rule, on neurons), beyond what the others tell.  The neurons
that can go *together* are found greedily, cheapest first, so that of two neurons
sharing one quantity one stays (:func:`needed`).  The active neurons, the KL and
the costs are recorded in the metadata of ``latents.parquet``; regression and the
law checks use only the active ones.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pipeline.arrays import answer_errors, model_arrays, to_numpy
from pipeline.catalog import latent_names, read_model, read_observations, vector, write_latents, write_probe
from pipeline.context import StageContext
from pipeline.errors import ArtifactError
from pipeline.simulation import fresh_samples
from pipeline.stage import Output, Stage

log = logging.getLogger("scinet")

PROBE_SEED_OFFSET = 2_000_003


def _batched(func, n: int, batch: int):
    outs = [func(slice(s, s + batch)) for s in range(0, n, batch)]
    return [np.concatenate([to_numpy(o[i]) for o in outs]) for i in range(len(outs[0]))] if outs else []


def _check_model(ctx: StageContext, model) -> None:
    system = ctx.system
    expected = ctx.config.train.latent_size
    if model.latent_size != expected or model.evolution != system.latent.evolution or model.latent_kind != system.latent.kind:
        raise ArtifactError(
            f"{ctx.path('model.keras')} does not fit system {system.name!r} with train.latent_size={expected} "
            f"(the model has {model.latent_size} {model.latent_kind} neurons, evolution {model.evolution!r}). "
            f"Re-train with `scinet train {system.name} --force`."
        )


def encode_rows(model, frame: pd.DataFrame, system, batch: int) -> tuple[np.ndarray, np.ndarray]:
    x = vector(frame, system.encoder_names, system)
    if x.shape[1] != len(model.encoder_angles):
        raise ArtifactError(
            f"The model expects {len(model.encoder_angles)} encoder inputs, the data have {x.shape[1]}. Re-train it."
        )
    mean, log_sigma = _batched(lambda s: model.encode(x[s]), len(x), batch)
    return mean.astype(float), log_sigma.astype(float)


def predictions(model, frame: pd.DataFrame, system, batch: int) -> np.ndarray:
    """The model's answer for every row (for a series: predicted from the series' first row)."""
    if not system.is_series:
        inputs, _ = model_arrays(frame, system)
        (pred,) = _batched(lambda s: [model.answer({k: v[s] for k, v in inputs.items()})], len(inputs["x"]), batch)
        return pred
    ordered = frame.sort_values(["series", "step"])
    inputs, y = model_arrays(ordered, system)
    (pred,) = _batched(lambda s: [model.answer({k: v[s] for k, v in inputs.items()}, steps=y.shape[1])], len(y), batch)
    flat = pred.reshape(-1, pred.shape[-1])
    positions = frame.index.get_indexer(ordered.index)
    out = np.empty_like(flat)
    out[positions] = flat  # back to the frame's row order
    return out


def probe(ctx: StageContext, model, held_out: pd.DataFrame) -> pd.DataFrame:
    """The network's answers, for fresh samples, to questions drawn from other fresh samples.

    Sample ``i`` is asked ``m`` questions: the question column of the answer law takes the
    values of ``m`` pool samples, every other question column (and the ground truth of the
    question, ``question_parameters``) those of one more pool sample, the same for all ``m``
    (:class:`systems.base.AnswerLawSpec`).  With ``angle_of`` the answer law's column is the
    angle of the answered point, ``atan2(y, x)`` in (-pi, pi].  A system of measured data has no fresh samples:
    its held-out ones (``held_out``) stand in (:func:`pipeline.simulation.fresh_samples`).
    """
    system, spec = ctx.system, ctx.system.answer_law
    if spec is None:
        return pd.DataFrame({"sample": pd.Series(dtype="int64")})
    n, m = spec.n_samples, spec.questions_per_sample
    fresh = fresh_samples(system, held_out, n_samples=n, seed=ctx.config.seed + PROBE_SEED_OFFSET)
    n = len(fresh)  # a system of measured data: fewer where fewer are held out
    pool = fresh_samples(system, held_out, n_samples=n * m, seed=ctx.config.seed + PROBE_SEED_OFFSET + 1, replace=True)
    held = pool.iloc[np.repeat(np.arange(n) * m, m)].reset_index(drop=True)
    questions = held.copy()
    questions[spec.question] = pool[spec.question].to_numpy()
    x = vector(fresh, system.encoder_names, system)
    mean, _ = model.encode(x)
    mean = np.repeat(to_numpy(mean), m, axis=0)
    q = vector(questions, system.question_names, system)
    (answer,) = _batched(lambda s: [model.decode(mean[s], q[s])], len(q), ctx.config.export.batch_size)
    out = pd.DataFrame({"sample": np.repeat(np.arange(n), m)})
    for name in system.ground_truth_names:
        if system.columns[name].size == 1:
            source = held[name] if name in spec.question_parameters else np.repeat(fresh[name].to_numpy(), m)
            out[name] = np.asarray(source, dtype=float)
    for name in system.question_names:
        if system.columns[name].size == 1:
            out[name] = questions[name].to_numpy(dtype=float)
    for i, name in enumerate(system.answer_names):
        out[name] = np.asarray(answer)[:, i].astype(float)
    if spec.angle_of is not None:
        out[spec.answer] = np.arctan2(out[spec.angle_of[1]], out[spec.angle_of[0]])
    return out



NEIGHBOURS = 20
"""held-out rows averaged for a neuron's value given the others (:func:`given_others`)"""


def by_mean(mean: np.ndarray, removed: list[int], circle: bool) -> np.ndarray:
    """The latent means ``mean`` (rows by neurons) with each neuron in ``removed`` replaced by its mean over
    the rows (the circular mean for an angle)."""
    z = mean.copy()
    centre = np.angle(np.mean(np.exp(1j * mean), axis=0)) if circle else np.mean(mean, axis=0)
    z[:, removed] = centre[removed]
    return z


def given_others(
    mean: np.ndarray, removed: list[int], circle: bool, resolution: np.ndarray, k: int = NEIGHBOURS
) -> np.ndarray:
    """The latent means ``mean`` (rows by neurons) with each neuron in ``removed`` replaced by its best guess
    from the neurons kept: its mean over the ``k`` rows nearest in them (each row's own value left out; the
    circular mean for an angle).  Distances count each kept neuron in its own ``resolution``, the typical
    posterior standard deviation: values the decoder was trained not to tell apart are close (an angle by its
    cosine and sine).  With no neuron kept, the guess is the neuron's plain mean.  A neuron that is a function
    of the others is replaced by itself, near enough; one independent of them by its mean."""
    from sklearn.neighbors import NearestNeighbors

    kept = [i for i in range(mean.shape[1]) if i not in removed]
    if not removed or not kept or len(mean) <= k:
        return by_mean(mean, removed, circle)
    z = mean.copy()
    scale = np.where(resolution[kept] > 0, resolution[kept], 1.0)  # a posterior too narrow to express: unscaled
    if circle:
        features = np.concatenate([np.cos(mean[:, kept]) / scale, np.sin(mean[:, kept]) / scale], axis=1)
    else:
        features = mean[:, kept] / scale
    rows = NearestNeighbors(n_neighbors=k).fit(features).kneighbors(return_distance=False)  # self excluded
    values = mean[:, removed][rows]  # rows, k, removed
    z[:, removed] = np.angle(np.mean(np.exp(1j * values), axis=1)) if circle else np.mean(values, axis=1)
    return z


def needed(model, frame: pd.DataFrame, system, batch: int, share: float) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Which neurons the answers need, on the held-out rows ``frame``.

    A neuron's *cost* is the rise of the answer's mean squared error when it is replaced by its mean (circular
    mean for an angle), as a share of the rise when every neuron is: the share of the answers' variance it
    accounts for.  A set of neurons can go when, each replaced by its best guess from the neurons kept
    (:func:`given_others`), the answers lose less than ``share``: they tell the decoder nothing the kept ones
    do not.  A neuron that holds again, as a function of its own, a quantity another neuron holds (the
    pendulum's third neuron on some seeds, a second copy of kappa) costs much replaced by its mean, and nothing
    guessed from the others.  The neurons not needed are the largest such set, found greedily (the cheapest
    first, so that of two neurons sharing one quantity one stays).

    Returns (the cost of each neuron replaced by its mean; each neuron's cost *given the kept neurons*: for a
    neuron kept, the loss without it and the unused ones, for an unused one the loss without the unused ones;
    the neurons that are not needed)."""
    names = latent_names(model.latent_size)
    if not names or frame.empty:
        return {n: 0.0 for n in names}, {n: 0.0 for n in names}, []
    ordered = frame.sort_values(["series", "step"]) if system.is_series else frame
    inputs, y = model_arrays(ordered, system)
    steps = y.shape[1] if system.is_series else None
    mean, log_sigma = _batched(lambda s: model.encode(inputs["x"][s]), len(y), batch)
    circle = model.latent_kind == "circle"
    resolution = np.exp(np.median(log_sigma, axis=0))
    q = inputs.get("q")

    def error(z: np.ndarray) -> float:
        z = z.astype(mean.dtype)
        (pred,) = _batched(
            lambda s: [model.answer_from(z[s], None if q is None else q[s], steps)], len(y), batch
        )
        return float(np.mean(answer_errors(pred, y, system) ** 2))

    every = list(range(len(names)))
    full, none = error(mean), error(by_mean(mean, every, circle))
    scale = none - full
    if not np.isfinite(scale) or scale <= 0:
        zeros = {n: 0.0 for n in names}
        return zeros, dict(zeros), []  # no neuron helps: the KL rule alone decides

    def cost(z: np.ndarray) -> float:
        return (error(z) - full) / scale

    def guessed(removed: list[int]) -> float:
        return cost(given_others(mean, removed, circle, resolution))

    costs = {n: cost(by_mean(mean, [i], circle)) for i, n in enumerate(names)}
    removed: list[int] = []
    while True:
        trials = [(guessed([*removed, i]), i) for i in every if i not in removed]
        trials = [(c, i) for c, i in trials if c < share]
        if not trials:
            break
        removed.append(min(trials)[1])
    lost = guessed(removed)
    unique = {n: lost if i in removed else guessed([*removed, i]) for i, n in enumerate(names)}
    return costs, unique, [names[i] for i in sorted(removed)]


def run(ctx: StageContext) -> None:
    from pipeline.model import without_tensorflow

    with without_tensorflow():
        _export(ctx)


def _export(ctx: StageContext) -> None:
    system, cfg = ctx.system, ctx.config.export
    frame = read_observations(ctx)
    model = read_model(ctx)
    _check_model(ctx, model)
    mean, log_sigma = encode_rows(model, frame, system, cfg.batch_size)
    names = latent_names(model.latent_size)
    test = (frame["split"] == "test").to_numpy()
    kl = to_numpy(model.kl(mean[test], log_sigma[test])).astype(float).mean(axis=0)
    kl_per_neuron = {n: float(v) for n, v in zip(names, kl, strict=True)}
    floor = max(cfg.unused_kl, cfg.unused_fraction * max(kl_per_neuron.values(), default=0.0))
    costs, unique, dispensable = needed(model, frame[test], system, cfg.batch_size, cfg.needed_share)
    active = [n for n in names if kl_per_neuron[n] >= floor and n not in dispensable]
    log.info(
        "export: KL per neuron %s; share of the answers' variance each neuron accounts for %s (guessed from the neurons kept: %s); "
        "active %s",
        ", ".join(f"{n} {v:.3g}" for n, v in kl_per_neuron.items()),
        ", ".join(f"{n} {v:.3g}" for n, v in costs.items()),
        ", ".join(f"{n} {v:.3g}" for n, v in unique.items()),
        ", ".join(active) or "none",
    )
    out = frame.copy()
    for i, n in enumerate(names):
        out[n] = mean[:, i]
        out[f"{n}_log_sigma"] = log_sigma[:, i]
    pred = predictions(model, frame, system, cfg.batch_size)
    for i, n in enumerate(system.answer_names):
        out[f"{n}_pred"] = pred[:, i].astype(float)
    units = {n: "rad" if system.latent.kind == "circle" else "1" for n in names}
    write_latents(
        ctx,
        out,
        latent_kind=system.latent.kind,
        latent_columns=names,
        kl=kl_per_neuron,
        active=active,
        unused_kl=floor,
        needed=costs,
        needed_given_others=unique,
        neighbours=NEIGHBOURS,
        needed_share=cfg.needed_share,
        latent_steps=[float(w) for w in to_numpy(model.omega)] if system.is_series else None,
        latent_units=units,
    )
    write_probe(ctx, probe(ctx, model, frame[test]), answer_law=None if system.answer_law is None else vars(system.answer_law))


STAGE = Stage(
    name="export",
    help="Export latents, KL per neuron and the network's answers on fresh samples (latents.parquet, probe.parquet).",
    doc="export latents, KL per neuron and the probe",
    inputs=("observations.parquet", "model.keras"),
    outputs=(
        Output("latents.parquet", "latents", "latent means, log-sigmas and predictions per row, with inputs and ground truth"),
        Output("probe.parquet", "probe", "the network's answers to many questions about fresh samples"),
    ),
    run=run,
)

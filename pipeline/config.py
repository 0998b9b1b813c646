"""Run configuration: typed dataclasses, loaded from TOML and ``--set`` overrides.

A configuration file has one table per stage, e.g.::

    seed = 1
    [train]
    epochs = [400]
    [regress]
    time_budget = 10.0

Every key is checked against the dataclasses below; a misspelt key is an error
that names the near miss.  A system's own defaults (``PhysicalSystem.defaults``)
come before the file.  The resolved configuration is written into the run
directory's manifest.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.executors import EXECUTORS
from symreg.engines import allowed_operators, engine_names
from symreg.errors import did_you_mean
from symreg.stopping import PATIENCE

HOW = {"how": True}
"""field metadata of a setting that decides how a stage runs (what it reports, backs up or logs) and not what it
makes: it is recorded in the manifest but left out of the stage's cache key, so changing it redoes nothing"""


def result_settings(section: Any) -> dict[str, Any]:
    """A config section's settings that decide what its stage makes (all but those marked :data:`HOW`)."""
    how = {f.name for f in dataclasses.fields(section) if f.metadata.get("how")}
    return {k: v for k, v in dataclasses.asdict(section).items() if k not in how}


def setting_range(low: float, high: float, what: str) -> dict[str, Any]:
    """Field metadata: the setting (or every item of a list setting) lies in ``[low, high]``; ``what`` it is."""
    return {"range": (low, high, what)}


def setting_choices(names: Callable[[], tuple[str, ...]]) -> dict[str, Any]:
    """Field metadata: the setting is one of ``names()`` (a registry's names, read when settings are checked)."""
    return {"choices": names}


@dataclass
class SimulateConfig:
    n_samples: int = field(default=10000, metadata=setting_range(2, 10**8, "samples"))
    """independent samples (for a time-series system: series, each from a random initial state)"""
    series_length: int = field(default=50, metadata=setting_range(2, 10**5, "observations per series"))
    """observations per series (time-series systems only)"""
    test_fraction: float = field(default=0.2, metadata=setting_range(1e-6, 1 - 1e-6, "a fraction strictly between 0 and 1"))
    """fraction of samples held out from training"""
    noise: float = field(default=0.0, metadata=setting_range(0, 1e6, "a standard deviation"))
    """standard deviation of Gaussian noise on every column the network sees (angles wrapped); the ground truth stays exact"""


@dataclass
class TrainConfig:
    latent_size: int = field(default=0, metadata=setting_range(0, 64, "latent neurons; 0: none, the decoder sees only the question"))
    """latent neurons (the system's own number unless set); 0: none, the decoder sees only the question (a
    sweep's baseline; question-and-answer systems only)"""
    epochs: list[int] = field(default_factory=lambda: [200], metadata=setting_range(1, 10**6, "epochs per phase"))
    """epochs per phase (one phase, or one per curriculum step for a time series)"""
    curriculum: list[int] = field(default_factory=list, metadata=setting_range(1, 10**5, "series lengths"))
    """time series only: series lengths trained on, in order (short first); the last is the prediction horizon"""
    learning_rate: float = field(default=3e-3, metadata=setting_range(1e-12, 10, "a learning rate"))
    """Adam learning rate; the last phase decays it by a cosine schedule to 5 %"""
    batch_size: int = field(default=64, metadata=setting_range(1, 10**7, "rows per batch"))
    beta: float = field(default=1e-4, metadata=setting_range(0, 1e6, "the KL weight"))
    """weight of the KL term"""
    encoder_units: list[int] = field(default_factory=lambda: [64, 64], metadata=setting_range(1, 10**5, "units per layer"))
    decoder: str = field(default="mlp", metadata=setting_choices(lambda: ("linear", "mlp")))
    """'mlp', or 'linear' (answers as linear combinations of the latent features and the question)"""
    decoder_units: list[int] = field(default_factory=lambda: [64, 64], metadata=setting_range(1, 10**5, "units per layer"))
    """hidden layers of the 'mlp' decoder"""
    harmonics: int = field(default=1, metadata=setting_range(1, 64, "harmonics per circular neuron (1: one circle)"))
    """circular latents: the decoder sees cos(k z), sin(k z) for k = 1..harmonics (an ellipse as epicycles);
    the harmonics above the first join in the curriculum's last stage"""
    tensorboard: bool = field(default=False, metadata=HOW)
    """write Keras' TensorBoard logs to ``tensorboard/`` in the run directory"""
    epoch_group: int = field(default=1, metadata=setting_range(1, 10**6, "epochs per group (1: every epoch on its own)"))
    """epochs run as one Keras epoch over the training data repeated: the fixed cost of an epoch (the input
    pipeline, validation, callbacks, the backup) is paid once per group, which pays where an epoch is a few
    steps (a time series of 1600 series: 25).  A phase of E epochs groups gcd(E, epoch_group) of them; its
    losses, held-out losses and backups come once per group (``history.epoch``).  It changes the order in
    which samples are drawn, and so a run's numbers"""
    steps_per_execution: int = field(default=32, metadata=setting_range(1, 10**4, "optimizer steps per call"))
    """optimizer steps per call into the compiled training function (fewer Python round trips for small models;
    the same results).  PyTorch takes one step per call whatever this says (Keras' limit there)"""
    validate_every: int = field(default=10, metadata={**HOW, **setting_range(1, 10**6, "epochs between held-out losses (1: every epoch)")})
    """epochs between held-out losses (``history.val_loss``, null between); each costs a pass over the held-out
    samples and Keras' evaluation overhead (a quarter of a pendulum epoch).  It does not change the training"""
    backup_every: float = field(default=10.0, metadata={**HOW, **setting_range(0, 86400, "seconds between backups (0: every epoch)")})
    """seconds between backups of the phase under way (at an epoch's end; 0: every epoch): a killed training
    redoes at most this much.  A backup writes the weights and the optimizer's state (35 ms for the pendulum).
    It does not change the training"""


@dataclass
class ExportConfig:
    batch_size: int = field(default=4096, metadata=setting_range(1, 10**7, "rows per batch"))
    unused_kl: float = field(default=0.1, metadata=setting_range(0, 1e6, "nats"))
    """a neuron whose KL divergence from the prior, averaged over held-out rows, is below this (nats) is unused"""
    unused_fraction: float = field(default=0.05, metadata=setting_range(0, 1, "a fraction"))
    """... or below this fraction of the largest KL of any neuron"""
    needed_share: float = field(default=0.05, metadata=setting_range(0, 1, "a fraction"))
    """... or the answers do not need it: without it (and the other such neurons) their held-out mean squared error
    rises by less than this share of its rise without every neuron (0: KL alone decides)"""


@dataclass
class RegressConfig:
    backend: str = field(default="operon", metadata=setting_choices(engine_names))
    """'operon' (default, embedded) or 'pysr' (needs Julia)"""
    time_budget: float = field(default=5.0, metadata=setting_range(0.01, 86400, "seconds"))
    """seconds of search per target, variable set and target transform"""
    law_time_budget: float = field(default=20.0, metadata=setting_range(0.01, 86400, "seconds"))
    """seconds of search for each part of an answer law (the law of motion)"""
    n_rows: int = field(default=1500, metadata=setting_range(20, 10**7, "rows"))
    """rows sampled from the training split for the search"""
    max_length: int = field(default=20, metadata=setting_range(3, 500, "expression nodes"))
    """largest expression (tree nodes) the engine may build"""
    operators: str = "physics"
    """operator names (add,sub,mul,div,square,sqrt,exp,log,sin,cos,asin,tanh,...) or a set: 'arithmetic', 'physics'"""
    constant_rtol: float = field(default=0.1, metadata=setting_range(0, 100, "a relative tolerance"))
    """an exact constant may raise the held-out loss by at most this fraction"""
    workers: int = field(default=0, metadata={**HOW, **setting_range(0, 1024, "processes (0: one per core)")})
    """searches run at once, one process each; 0 = one per core.  It is also how many engine runs go at once
    (symreg.slots: a long search uses the cores the others leave idle).  It does not change the equations: the
    engine's budget is counted in evaluations per engine thread"""
    threads: int = field(default=1, metadata=setting_range(1, 1024, "threads"))
    """engine threads per search (the evaluation budget grows with them, so they change the equations)"""
    patience: float = field(default=PATIENCE, metadata=setting_range(0, 1, "a share of the budget; 0: always spend the whole budget"))
    """an engine stops once its front has not improved for this share of its budget, or has a candidate at
    the target's noise floor that nothing simpler matched for as long (symreg.stopping); 0: spend the budget"""


@dataclass
class VerifyConfig:
    n_fresh: int = field(default=400, metadata=setting_range(0, 10**7, "fresh samples"))
    """fresh samples (series) simulated for the numerical checks"""
    circular_correlation: float = field(default=0.999, metadata=setting_range(1e-6, 1, "a correlation in (0, 1]"))
    """threshold on |mean exp(i (z - s phi))| for 'the same angle'"""
    r2: float = field(default=0.99, metadata=setting_range(1e-6, 1, "an R^2 in (0, 1]"))
    """threshold on R^2 for 'determines' and 'is affine in'"""
    constant_rtol: float = field(default=0.01, metadata=setting_range(0, 100, "a relative tolerance"))
    """relative error allowed on constants whose true value physics fixes"""


@dataclass
class ReportConfig:
    dpi: int = field(default=150, metadata=setting_range(10, 1200, "dots per inch"))


@dataclass
class ExecutorConfig:
    name: str = field(default="local", metadata=setting_choices(lambda: EXECUTORS))
    """where independent jobs (a sweep's runs, regress's searches) run: 'local' (worker processes on this machine)
    or 'ray' (a Ray cluster; ``pip install 'scinet[ray]'``).  Results do not depend on it, nor do stages' caches"""
    address: str = ""
    """a Ray cluster's address, host:port of its head (empty: RAY_ADDRESS, else Ray started for the command)"""
    gpus_per_job: float = field(default=0.0, metadata=setting_range(0, 1024, "GPUs per job (0: none)"))
    """GPUs each of a sweep's trainings asks Ray for (0: none; Ray gives GPU tasks fresh worker processes)"""
    connect_timeout: float = field(default=10.0, metadata=setting_range(0.1, 3600, "seconds to reach a Ray cluster"))
    """seconds to wait for the Ray cluster at ``address`` to answer before the command fails with a message"""


@dataclass
class Config:
    seed: int = field(default=0, metadata=setting_range(0, 2**32 - 1, "a random seed"))
    simulate: SimulateConfig = field(default_factory=SimulateConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    regress: RegressConfig = field(default_factory=RegressConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, system=None) -> None:
        """Every setting checked, in this one place: each against its own range or choices (declared on its field:
        :func:`setting_range`, :func:`setting_choices`), then the rules that tie settings to each other and to the
        ``system``.  A bad setting is a :class:`ConfigError` that names it and the fix."""
        check_fields(self)
        _check_keras_backend()
        t = self.train
        if not t.epochs:
            raise ConfigError(f"`train.epochs` must be a non-empty list of positive epoch counts. Received: {t.epochs}.")
        if system is not None and t.latent_size == 0 and (system.is_series or not system.questions):
            raise ConfigError(
                f"`train.latent_size` = 0 (no latent: the decoder sees only the question) needs a question-and-answer "
                f"system with questions; {system.name!r} "
                + ("is a time series, whose latent evolves." if system.is_series else "asks none.")
                + " Set it to 1 or more."
            )
        if system is not None and system.is_series:
            if len(t.curriculum) != len(t.epochs) or not t.curriculum:
                raise ConfigError(
                    f"`train.curriculum` and `train.epochs` must be non-empty lists of equal length for the time-series "
                    f"system {system.name!r}. Received: curriculum={t.curriculum}, epochs={t.epochs}. "
                    "Give one epoch count per series length."
                )
            if max(t.curriculum) > self.simulate.series_length or min(t.curriculum) < 1:
                raise ConfigError(
                    f"`train.curriculum` asks for series of {max(t.curriculum)} steps but `simulate.series_length` is "
                    f"{self.simulate.series_length}. Lower the curriculum or raise simulate.series_length."
                )
        elif system is not None and t.curriculum:
            raise ConfigError(
                f"`train.curriculum` applies to time-series systems only; {system.name!r} answers questions. "
                f"Remove it and give the epochs as one phase, e.g. train.epochs=[{sum(t.epochs)}]."
            )
        elif system is not None and len(t.epochs) != 1:
            raise ConfigError(
                f"`train.epochs` must be one phase for {system.name!r}, which answers questions (a curriculum of "
                f"phases is for time series). Received: {t.epochs}. Give one number, e.g. train.epochs=[{sum(t.epochs)}]."
            )
        from symreg.operators import expand_operators

        try:
            if not expand_operators(self.regress.operators, allowed=allowed_operators(self.regress.backend)):
                raise ValueError("No operators given.")
        except ValueError as exc:
            raise ConfigError(
                f"`regress.operators` = {self.regress.operators!r} is not usable with the {self.regress.backend} engine: {exc}"
            ) from exc



KERAS_BACKENDS = {"tensorflow": "tensorflow", "jax": "jax[cpu]", "torch": "torch"}
"""the Keras backends that train, each with the package that pip installs it from"""


def _check_keras_backend() -> None:
    """``KERAS_BACKEND`` (scinet's default where unset: :data:`pipeline.KERAS_BACKEND`) names a backend Keras can
    train with, and it is installed: checked before any work, not when the training stage first imports Keras."""
    from pipeline import KERAS_BACKEND, keras_backend

    name = keras_backend()
    if name not in KERAS_BACKENDS:
        raise ConfigError(
            f"The environment variable KERAS_BACKEND={name!r} names no Keras backend that trains. "
            f"Set it to one of {', '.join(KERAS_BACKENDS)} (e.g. export KERAS_BACKEND=tensorflow), "
            f"or unset it for scinet's default, {KERAS_BACKEND}."
        )
    if importlib.util.find_spec(name) is None:
        default = " (scinet's default where KERAS_BACKEND is unset)" if name == KERAS_BACKEND else ""
        raise ConfigError(
            f"Keras is to train on {name}{default}, which is not installed here. "
            f"Install it (pip install '{KERAS_BACKENDS[name]}'; `pip install -e .` in scinet's folder installs "
            f"{KERAS_BACKEND} and tensorflow), or set KERAS_BACKEND to a backend you have "
            f"({', '.join(b for b in KERAS_BACKENDS if importlib.util.find_spec(b) is not None) or 'none found'})."
        )


def check_fields(config: Config) -> None:
    """Every setting against the range or choices its own field declares (:func:`setting_range`,
    :func:`setting_choices`): the part of :meth:`Config.validate` that needs neither the system nor the environment
    (a declared system's ``[defaults]`` are checked by it)."""
    for key, value, meta in _settings(config):
        _check_setting(key, value, meta)


def _settings(config: Config) -> list[tuple[str, Any, Mapping[str, Any]]]:
    """``(dotted key, value, field metadata)`` of every setting, in the order the dataclasses declare them."""
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out += [(f"{f.name}.{g.name}", getattr(value, g.name), g.metadata) for g in dataclasses.fields(value)]
        else:
            out.append((f.name, value, f.metadata))
    return out


def _check_setting(key: str, value: Any, meta: Mapping[str, Any]) -> None:
    if "range" in meta:
        low, high, what = meta["range"]
        for v in value if isinstance(value, list) else [value]:
            if not low <= v <= high:  # NaN fails too
                raise ConfigError(
                    f"`{key}` must lie between {_number(low)} and {_number(high)} ({what}). Received: {value!r}. "
                    f"Set it in range, e.g. --set {key}={_example(key)}."
                )
    if "choices" in meta:
        names = meta["choices"]()
        if value not in names:
            listed = ", ".join(map(repr, names))
            raise ConfigError(f"`{key}` must be one of {listed}. Received: {value!r}.{did_you_mean(str(value), names)}")


RANGES: dict[str, tuple[float, float, str]] = {
    key: meta["range"] for key, _, meta in _settings(Config()) if "range" in meta
}
"""the range of every numeric setting (``(lowest, highest, what it is)``, both ends included, NaN never in range),
read from the fields' metadata: :meth:`Config.validate` checks them"""


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e12 else f"{x:g}"


def _example(key: str) -> str:
    default: Any = Config()
    for part in key.split("."):
        default = getattr(default, part)
    return repr(default).replace("'", "") if not isinstance(default, list) else str(default or [1])


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"`{key}` expects a list, e.g. {key}=[1, 2]. Received: {value!r}.")
        return [_coerce(f"{key}[]", v, item) for v in value]
    if origin in (typing.Union, types.UnionType):
        return value
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if annotation is str and isinstance(value, str):
        return value
    if annotation is bool and isinstance(value, bool):
        return value
    raise ConfigError(f"`{key}` expects a value of type {annotation.__name__}. Received: {value!r}.")


def _unknown(key: str, known: list[str]) -> ConfigError:
    hint = did_you_mean(key, known)
    return ConfigError(f"Unknown configuration key {key!r}.{hint} Known keys: {', '.join(known)}.")


def _known_keys() -> list[str]:
    keys = []
    for name, annotation in _field_types(Config).items():
        if dataclasses.is_dataclass(annotation):
            keys += [f"{name}.{k}" for k in _field_types(annotation)]
        else:
            keys.append(name)
    return keys


def apply(config: Config, key: str, value: Any) -> None:
    """Set dotted ``key`` (e.g. ``train.beta``) to ``value`` after checking the key and type."""
    parts = key.split(".")
    target: Any = config
    for i, part in enumerate(parts):
        types_ = _field_types(type(target))
        if part not in types_:
            raise _unknown(key, _known_keys())
        if i == len(parts) - 1:
            if dataclasses.is_dataclass(types_[part]):
                raise ConfigError(
                    f"`{key}` is a section; set one of its keys, e.g. {key}.{next(iter(_field_types(types_[part])))}=..."
                )
            setattr(target, part, _coerce(key, value, types_[part]))
        else:
            target = getattr(target, part)
            if not dataclasses.is_dataclass(target):
                raise _unknown(key, _known_keys())


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items = []
    for k, v in data.items():
        if isinstance(v, dict):
            items += _flatten(v, f"{prefix}{k}.")
        else:
            items.append((f"{prefix}{k}", v))
    return items


def resolved_settings(
    path: Path | None = None, overrides: list[str] | tuple[str, ...] = (), *, seed: int | None = None, system=None
) -> list[dict[str, Any]]:
    """Every setting :func:`load_config` resolves (checked as it checks them), with where its value came from
    (``default``, ``system``, ``file``, ``--set``, ``--seed``) and its range where it has one."""
    config = load_config(path, overrides, seed=seed, system=system)
    source: dict[str, str] = {}
    if system is not None:
        source["train.latent_size"] = "system"
        source.update({key: "system" for key in system.defaults})
    if path is not None:
        source.update({key: "file" for key, _ in _flatten(tomllib.loads(Path(path).read_text()))})
    source.update({parse_override(text)[0]: "--set" for text in overrides})
    if seed is not None:
        source["seed"] = "--seed"
    rows = []
    for key, value in _flatten(dataclasses.asdict(config)):
        low, high, what = RANGES.get(key, (None, None, ""))
        rows.append({"key": key, "value": value, "source": source.get(key, "default"), "low": low, "high": high, "what": what})
    return rows


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with a TOML value (bare words are strings): ``train.epochs=[10, 10, 20]``."""
    if "=" not in text:
        raise ConfigError(f"Invalid override {text!r}: expected KEY=VALUE, e.g. --set train.beta=1e-4.")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError as exc:
        raise ConfigError(f"The value of {key!r} nests deeper than any setting: {raw[:40]!r}... Give a plain value.") from exc
    return key, value


def load_config(
    path: Path | None = None, overrides: list[str] | tuple[str, ...] = (), *, seed: int | None = None, system=None
) -> Config:
    """Defaults, then the system's defaults and latent size, then the TOML file, then ``--set`` overrides, then ``--seed``."""
    config = Config()
    if system is not None:
        config.train.latent_size = system.latent.size
        for key, value in system.defaults.items():
            try:
                apply(config, key, value)
            except ConfigError as exc:
                raise ConfigError(f"System {system.name!r} declares a bad default: {exc}") from exc
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"Configuration file {str(path)!r} does not exist. Check the --config path.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Configuration file {str(path)!r} is not valid TOML: {exc}. Fix the file and run again.") from exc
        except RecursionError as exc:
            raise ConfigError(f"Configuration file {str(path)!r} nests deeper than any setting. Fix the file and run again.") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"Configuration file {str(path)!r} is not UTF-8 text ({exc.reason}). Save it as UTF-8 TOML."
            ) from exc
        except (IsADirectoryError, PermissionError) as exc:
            raise ConfigError(f"Cannot read configuration file {str(path)!r}: {exc.strerror}. Check the --config path.") from exc
        for key, value in _flatten(data):
            apply(config, key, value)
    for text in overrides:
        apply(config, *parse_override(text))
    if seed is not None:
        config.seed = seed
    config.validate(system)
    return config

"""The ``scinet`` command line.  Thin: each command resolves its inputs and makes one call.

Heavy libraries (TensorFlow/Keras, pyoperon, matplotlib) are imported inside the
stages, so ``scinet --help`` and ``scinet systems`` answer at once.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shlex
import sys
from functools import partial
from pathlib import Path

import click

from pipeline.errors import USER_ERRORS
from pipeline.stage import stage_names
from symreg.engines import engine_names
from symreg.errors import did_you_mean

log = logging.getLogger("scinet")


class FiniteFloat(click.FloatRange):
    """click's FloatRange, refusing NaN and infinities (click lets NaN through every range)."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        out = super().convert(value, param, ctx)
        if not math.isfinite(out):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return out


def _setup_logging(verbose: bool, quiet: bool = False) -> None:
    from pipeline import progress

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", force=True)
    progress.set_quiet(quiet)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _context(system_name: str, run_dir: Path | None, config_file: Path | None, overrides: tuple[str, ...], seed: int | None):
    from pipeline.config import Config, load_config
    from pipeline.orchestrate import StageContext, recorded_seed
    from pipeline.registry import get_system

    system = get_system(system_name)
    config = load_config(config_file, overrides, seed=seed, system=system)
    run_dir = run_dir or Path("data/runs") / system.name
    if seed is None and config.seed == Config().seed:
        # no seed asked for: the run directory's own, so that one stage run again in a seed's directory of an
        # ensemble (`scinet verify SYSTEM --run-dir runs/seed3`) does not quietly mix seed 0 into seed 3's run
        recorded = recorded_seed(run_dir)
        if recorded is not None and recorded != config.seed:
            log.info("seed %d, the seed %s was run with (--seed to choose another)", recorded, run_dir)
            config.seed = recorded
    ctx = StageContext(system=system, config=config, run_dir=run_dir)
    click.get_current_context().meta[RUN_DIR_KEY] = ctx.run_dir
    return ctx


def _run_dir(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """The run directory: not empty, and not below a file."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("is empty. Give a directory, e.g. --run-dir runs/first.", ctx, param)
    path = Path(value)
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise click.BadParameter(f"{value!r} lies under {str(parent)!r}, which is a file, not a directory.", ctx, param)
    return path


def common_options(func, *, force: bool = True):
    if force:
        func = click.option("--force", is_flag=True, help="Redo the stage(s) even if inputs and settings are unchanged.")(func)
    func = click.option("--seed", type=int, default=None, help="Random seed (default 0, or the config file's).")(func)
    func = click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a setting, e.g. --set train.beta=1e-4 (repeatable).",
    )(func)
    func = click.option(
        "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="TOML configuration file."
    )(func)
    func = click.option(
        "--run-dir",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        callback=_run_dir,
        help="Run directory [default: data/runs/SYSTEM].",
    )(func)
    func = click.option("-v", "--verbose", is_flag=True, help="More log output.")(func)
    func = click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only; no progress bars.")(func)
    return click.argument("system")(func)


class _RegistryName(click.ParamType):
    """A name checked, when given, against a registry that is read only then (an engine's, a stage's: listing
    their names imports no engine)."""

    def __init__(self, name: str, what: str, names):
        self.name, self._what, self._names = name, what, names

    def convert(self, value, param, ctx):
        names = self._names()
        if value not in names:
            self.fail(f"{value!r} is not {self._what}.{did_you_mean(value, names)} Choose one of {', '.join(names)}.", param, ctx)
        return value

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in self._names() if n.startswith(incomplete)]


def sr_backend_option(func):
    return click.option(
        "--sr-backend",
        type=_RegistryName("engine", "an engine", engine_names),  # the engine registry (symreg/engines.py)
        default=None,
        help="Symbolic-regression engine (same as --set regress.backend=...). pysr needs Julia.",
    )(func)


def executor_options(func):
    """``--executor`` and ``--address``: where independent jobs run (the same as --set executor.name=..., executor.address=...)."""
    from pipeline.executors import EXECUTORS

    func = click.option(
        "--address",
        default=None,
        metavar="HOST:PORT",
        help="A Ray cluster's head (with --executor ray) [default: RAY_ADDRESS, else Ray started for this command].",
    )(func)
    return click.option(
        "--executor",
        type=click.Choice(EXECUTORS),
        default=None,
        help="Where independent jobs run: local worker processes [default] or a Ray cluster (pip install 'scinet[ray]').",
    )(func)


def _executor_overrides(executor: str | None, address: str | None) -> tuple[str, ...]:
    return tuple(f"executor.{key}={value}" for key, value in (("name", executor), ("address", address)) if value is not None)


_SUGGESTED = re.compile(r"`scinet (?P<stage>[a-z]+) (?P<system>[A-Za-z0-9_]+)(?P<rest>(?: --force)?)`")


def _fail(exc: Exception, run_dir: Path | None = None, overrides: tuple[str, ...] = ()) -> click.ClickException:
    """The error as a one-paragraph message; a command it suggests (`scinet STAGE SYSTEM`) gets the
    user's own --run-dir and --set options, so that it can be run as it stands."""
    text = str(exc)
    if run_dir is not None or overrides:
        extra = _user_options(run_dir, overrides)
        text = _SUGGESTED.sub(lambda m: f"`scinet {m['stage']} {m['system']}{extra}{m['rest']}`", text)
    return click.ClickException(text)


def _user_options(run_dir: Path | None, overrides: tuple[str, ...]) -> str:
    """The user's --run-dir and --set options, quoted for a shell, each with a leading space."""
    options = [("--run-dir", str(run_dir))] if run_dir is not None else []
    options += [("--set", o) for o in overrides]
    return "".join(f" {flag} {shlex.quote(value)}" for flag, value in options)


RUN_DIR_KEY = "scinet.run_dir"
"""where a command leaves its run directory in click's context meta, once known (for the crash log)"""


def _crash_log(exc: BaseException, run_dir: Path | None) -> Path:
    """Write the full traceback to ``scinet-error.log`` in the run directory (or the temporary
    directory where there is none yet, or it cannot be written) and return its path."""
    import tempfile
    import traceback
    from datetime import UTC, datetime

    text = f"{datetime.now(UTC).isoformat(timespec='seconds')}  scinet {' '.join(sys.argv[1:])}\n"
    text += "".join(traceback.format_exception(exc))
    for folder in (*([run_dir] if run_dir else []), Path(tempfile.gettempdir())):
        try:
            if folder.is_dir():
                path = folder / "scinet-error.log"
                path.write_text(text)
                return path
        except OSError:
            continue
    return Path("(could not be written)")


class _Group(click.Group):
    """The commands, and one per stage read from the stage registry when asked for (:mod:`pipeline.stage`: a
    command that is no stage, ``scinet systems`` say, imports no stage).  Every unexpected exception becomes a
    one-paragraph message and a log file, not a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*stage_names(), *sorted(n for n in super().list_commands(ctx) if n not in stage_names())]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        return _stage_command(cmd_name) if cmd_name in stage_names() else None

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand:  # suggest among the stages too, not only the fixed commands
            raise click.exceptions.NoSuchCommand(str(args[0]), possibilities=self.list_commands(ctx), ctx=ctx) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:  # the file system: permissions, a full disk, a path that is no directory
            where = f" ({exc.filename})" if exc.filename else ""
            raise click.ClickException(
                f"The file system refused: {exc.strerror or exc}{where}. Check that the run directory and its files "
                "can be written (permissions, free disk space) and run again; the stages that finished are kept, "
                "the one that failed recorded nothing."
            ) from exc
        except MemoryError as exc:
            raise click.ClickException(
                "Ran out of memory. Use smaller settings (simulate.n_samples, train.batch_size, regress.n_rows, "
                "regress.workers) or a machine with more memory; the stages that finished are kept."
            ) from exc
        except Exception as exc:
            log_path = _crash_log(exc, ctx.meta.get(RUN_DIR_KEY))
            raise click.ClickException(
                f"Unexpected error: {type(exc).__name__}: {exc}. This is a bug in scinet (or a case it does not "
                f"check yet), not something your settings should cause. The full traceback is in {log_path}; please "
                "report it with that file. The stage that failed recorded nothing, so the next run redoes it."
            ) from exc


def _terminated(signum, frame) -> None:
    """SIGTERM ends scinet as Ctrl-C does: cleanup runs (temporary files removed, regress workers
    stopped) and the stage that was running records nothing."""
    exc = SystemExit(128 + signum)
    exc.scinet_signal = signum  # type: ignore[attr-defined]
    raise exc


def _install_signal_handlers() -> None:
    """SIGTERM raises :class:`SystemExit` in the main thread.  Where it lands inside a weakref callback or a
    ``__del__`` Python only prints the exception and goes on: the hook for such exceptions then delivers the
    signal again, and the handler raises it where it ends the command."""
    import signal
    import sys
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _terminated)
    previous = sys.unraisablehook

    def swallowed(unraisable) -> None:
        signum = getattr(unraisable.exc_value, "scinet_signal", None)
        if signum is None:
            previous(unraisable)
        else:  # sent again from another thread, so that it is handled after the callback, not inside this hook
            threading.Timer(0.01, signal.pthread_kill, (threading.main_thread().ident, signum)).start()

    sys.unraisablehook = swallowed


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scinet")
def main() -> None:
    """SciNet: from what a network learned about a physical system to equations a physicist can check.

    `scinet run copernicus` runs every stage; `scinet STAGE SYSTEM` runs one.  SYSTEM is a name
    (`scinet systems`) or the path of a TOML file that declares a system over your data
    (docs/your-own-data.md).
    """
    _install_signal_handlers()


@main.command()
@click.argument("name", required=False)
def systems(name) -> None:
    """List the physical systems, or describe one (NAME): its columns, latent, laws and defaults."""
    from pipeline.registry import scan_systems

    if name is not None:
        try:
            from pipeline.registry import get_system

            click.echo(_describe(get_system(name)))
        except USER_ERRORS as exc:
            raise _fail(exc) from exc
        return

    found, broken = scan_systems()  # once: every system module imported, every plug-in loaded
    known = {name: system for name, system in found.items() if name not in broken}
    width = max((len(name) for name in [*known, *broken]), default=0) + 1
    for name, system in known.items():
        click.echo(f"{name:{width}s} {system.description}")
    for name, problem in broken.items():
        click.echo(f"{name:{width}s} (cannot be used: {problem})", err=True)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e12 else f"{x:g}"


def _describe(system) -> str:
    """What ``scinet systems NAME`` prints of a system."""

    def columns(role: str, cols) -> list[str]:
        return [f"  {role:13s} {c.name}" + (f"[{c.size}]" if c.size > 1 else "") + f" ({c.unit}{', angle' if c.angle else ''})"
                + (f": {c.doc}" if c.doc else "") for c in cols]  # fmt: skip

    lines = [f"{system.name}: {system.description}"]
    if system.citation:
        lines.append(f"after {system.citation}")
    lines.append("columns:")
    lines += columns("encoder", system.encoder) + columns("question", system.questions) + columns("answer", system.answers)
    lines += columns("time", [system.time] if system.time else []) + columns("ground truth", system.ground_truth)
    latent = system.latent
    lines.append(
        f"latent: {latent.size} {latent.kind} neurons"
        + (f", evolved by {latent.evolution}" if latent.evolution != "none" else "")
    )
    if system.regress:
        lines.append("regressed on: " + "; ".join(f"{k} ({', '.join(v)})" for k, v in system.regress.items()))
    laws = system.known_laws()
    lines.append(
        f"known laws ({len(laws)}):" if laws else "known laws: none (discovery: nothing is checked against known physics)"
    )
    lines += [f"  {law.name} [{law.kind}]: {law.description}" for law in laws]
    if system.defaults:
        lines.append("defaults: " + ", ".join(f"{k}={v}" for k, v in system.defaults.items()))
    lines.append(f"(`scinet config {system.name}` prints every setting a run would use)")
    return "\n".join(lines)


@main.command("config")
@click.argument("system")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="TOML configuration file."
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting (repeatable).")
@click.option("--seed", type=int, default=None, help="Random seed.")
def config_command(system, config_file, overrides, seed) -> None:
    """Print the settings a run of SYSTEM would use: each value, where it came from (default, system, file,
    --set, --seed) and its range."""
    try:
        from pipeline.config import resolved_settings
        from pipeline.registry import get_system

        rows = resolved_settings(config_file, overrides, seed=seed, system=get_system(system))
    except USER_ERRORS as exc:
        raise _fail(exc) from exc
    width = max(len(r["key"]) for r in rows) + 1
    values = [str(r["value"]).replace("True", "true").replace("False", "false") for r in rows]
    vwidth = min(max(len(v) for v in values), 40) + 1
    click.echo(f"{'setting':{width}s} {'value':{vwidth}s} {'from':8s} range")
    for r, value in zip(rows, values, strict=True):
        bounds = "" if r["low"] is None else f"{_number(r['low'])} .. {_number(r['high'])}  {r['what']}"
        click.echo(f"{r['key']:{width}s} {value:{vwidth}s} {r['source']:8s} {bounds}".rstrip())


@main.command()
@common_options
@sr_backend_option
@executor_options
@click.option(
    "--seeds",
    default=None,
    metavar="0..9|3,7,9",
    help="An ensemble: every stage on each seed (a range or a list), each in RUN_DIR/seed{S}, then what holds across them "
    "(ensemble.md, ensemble.json) [default RUN_DIR: data/runs/SYSTEM-seeds].",
)
@click.option(
    "--jobs",
    type=click.IntRange(0, 1024),
    default=0,
    help="Seeds at a time with --seeds [default 0: one per core on JAX, one per two cores on TensorFlow or PyTorch].",
)
def run(system, run_dir, config_file, overrides, seed, force, verbose, quiet, sr_backend, executor, address, seeds, jobs) -> None:
    """Run all stages for SYSTEM (each skipped when up to date)."""
    _setup_logging(verbose, quiet)
    overrides = (*overrides, *_executor_overrides(executor, address))
    if sr_backend:
        overrides = (*overrides, f"regress.backend={sr_backend}")
    if seeds is not None:
        if seed is not None:
            raise click.UsageError("--seed and --seeds ask for one run and for an ensemble: give one of them.")
        _ensemble(system, run_dir, config_file, overrides, seeds, jobs, force)
        return
    try:
        from pipeline.orchestrate import run_all

        ctx = _context(system, run_dir, config_file, overrides, seed)
        result = run_all(ctx, force=force)
    except USER_ERRORS as exc:
        raise _fail(exc, run_dir, overrides) from exc
    ran = [k for k, v in result.items() if v == "ran"]
    if ran:
        click.echo(f"Ran {', '.join(ran)}; results in {ctx.run_dir}")
        _echo_verdicts(ctx.run_dir, _again("run", system, ctx.run_dir, overrides))
    else:
        click.echo(f"Nothing to do: every stage is up to date in {ctx.run_dir} (use --force to redo).")


def _ensemble(system, run_dir, config_file, overrides, seeds_text, jobs, force) -> None:
    """``scinet run SYSTEM --seeds ...``: every seed's run, then the ensemble's tables (:mod:`pipeline.ensemble`)."""
    try:
        from pipeline import ensemble
        from pipeline.registry import get_system

        found = get_system(system)
        ensemble_dir = run_dir or Path("data/runs") / f"{found.name}-seeds"
        click.get_current_context().meta[RUN_DIR_KEY] = ensemble_dir
        seeds = ensemble.parse_seeds(seeds_text)
        _, record = ensemble.run_seeds(found, ensemble_dir, seeds, tuple(overrides), config_file, force=force, jobs=jobs)
    except USER_ERRORS as exc:
        raise _fail(exc) from exc
    click.echo(f"Ran {len(seeds)} seeds; results in {ensemble_dir} (ensemble.md)")
    for name, law in record["laws"].items():
        click.echo(f"  discovered on {law['discovered']:>3d} of {law['seeds']:<3d} {name}")
    for c in record["constants"]:
        covered = f"; truth within a seed's 2 sigma on {c['covered']} of {c['with_error']}" if c["with_error"] else ""
        click.echo(
            f"  {c['law']}: {c['constant']} = {ensemble._g(c['mean'], 6)} +- {ensemble._g(c.get('error_of_mean'), 2)}, "
            f"spread {ensemble._g(c['spread'], 2)} over "
            f"{c['n']} seeds (true {ensemble._g(c['true'], 6)}){covered}"
        )


@main.command()
@click.argument("system")
@click.option(
    "--latent-sizes",
    default=None,
    metavar="0..K",
    help="Latent sizes: a range 0..K or a list 0,1,2 [default: 0 (1 for a time series) to one more than the system's own].",
)
@click.option(
    "--seeds",
    "seeds_text",
    default="3",
    show_default=True,
    metavar="N|0..9|3,7,9",
    help="Seeds per latent size: a count N (seeds 0..N-1; unlike `run --seeds`, where 7 is seed 7), a range or a "
    "list (one seed S: S..S).",
)
@click.option(
    "--jobs",
    type=click.IntRange(0, 1024),
    default=0,
    help="Runs at a time [default 0: one per core on JAX, one per two cores on TensorFlow or PyTorch].",
)
@click.option(
    "--tolerance", type=FiniteFloat(0, 1), default=0.05, show_default=True, help="Share of the error range the rule allows."
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    callback=_run_dir,
    help="Sweep directory [default: data/runs/SYSTEM-sweep].",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="TOML file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
@click.option("-q", "--quiet", is_flag=True, help="Warnings and errors only.")
@executor_options
@click.option(
    "--gpus-per-job",
    type=FiniteFloat(0, 1024),
    default=None,
    help="GPUs each run asks Ray for (with --executor ray) [default 0].",
)
def sweep(
    system,
    latent_sizes,
    seeds_text,
    jobs,
    tolerance,
    run_dir,
    config_file,
    overrides,
    verbose,
    quiet,
    executor,
    address,
    gpus_per_job,
) -> None:
    """How many latent neurons does SYSTEM need? One run (simulate, train, export) per latent size and seed; the
    error against the latent size, and the number of degrees of freedom (sweep.md, sweep.parquet, verification.json)."""
    _setup_logging(verbose, quiet)
    try:
        from pipeline import sweep as sweeping
        from pipeline.config import load_config
        from pipeline.registry import get_system

        found = get_system(system)
        sweep_dir = run_dir or Path("data/runs") / f"{found.name}-sweep"
        click.get_current_context().meta[RUN_DIR_KEY] = sweep_dir
        sizes = sweeping.parse_sizes(latent_sizes) if latent_sizes else sweeping.default_sizes(found)
        seeds = sweeping.parse_seed_set(seeds_text)
        overrides = (*overrides, *_executor_overrides(executor, address))
        if gpus_per_job is not None:
            overrides = (*overrides, f"executor.gpus_per_job={gpus_per_job}")
        for size in sizes:  # every setting checked before the first run
            config = load_config(config_file, (*overrides, f"train.latent_size={size}"), system=found)
        from pipeline.rundir import check_kind

        check_kind(sweep_dir, "sweep")
        jobs_list = [
            sweeping.Job(found.name, sweep_dir / f"size{size}-seed{seed}", size, seed, tuple(overrides), config_file)
            for size in sizes
            for seed in seeds
        ]
        from pipeline.executors import configured

        table = sweeping.run_sweep(
            jobs_list, workers=jobs, executor=configured(config.executor), gpus_per_job=config.executor.gpus_per_job
        )
        result = sweeping.verdict(found, table, tolerance)
        sweeping.write_outputs(sweep_dir, found, table, result, tolerance)
    except USER_ERRORS as exc:
        raise _fail(exc) from exc
    dof = result.fitted_constants.get("degrees_of_freedom")
    click.echo(f"Swept latent sizes {sizes} x seeds {seeds}; results in {sweep_dir}")
    click.echo(f"  degrees of freedom: {'none found' if dof is None else int(dof)}  ({result.verdict})")


def _echo_verdicts(run_dir: Path, command: str) -> None:
    """Print the verdicts; a law left `not checked` for lack of evidence makes the command fail."""
    import json

    path = run_dir / "verification.json"
    if not path.exists():
        return
    try:
        laws = [law for law in json.loads(path.read_text())["laws"] if isinstance(law, dict)]
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return  # the stage that read it has said what is wrong with it
    if not laws:
        click.echo("  no known laws: nothing was checked against known physics (report.md says what the network learned)")
    for law in laws:
        click.echo(f"  {law['verdict']:>15s}  {law['name']}")
    short = [law for law in laws if law.get("checks", {}).get("evidence") == "insufficient"]
    if short:
        reasons = "; ".join(f"{law['name']}: {law['checks']['reason']}" for law in short)
        raise click.ClickException(
            f"{len(short)} of {len(laws)} laws could not be checked for lack of evidence ({reasons}). "
            "The verdicts are in verification.json, the other results are kept. Give verify more data "
            f"(--set verify.n_fresh=..., or more simulate.n_samples for more held-out rows) and run `{command}` again."
        )


def _again(command: str, system: str, run_dir: Path, overrides: tuple[str, ...]) -> str:
    """The command line to run again, with the user's run directory and overrides."""
    return f"scinet {command} {system}{_user_options(run_dir, overrides)}"


def _stage_command(name: str) -> click.Command:
    """``scinet NAME SYSTEM``: one stage, as its module declares it (help text, extra options)."""
    from pipeline.stage import get_stage

    stage = get_stage(name)

    def command(
        system, run_dir, config_file, overrides, seed, force, verbose, quiet, sr_backend=None, executor=None, address=None
    ) -> None:
        _setup_logging(verbose, quiet)
        overrides = (*overrides, *_executor_overrides(executor, address))
        if sr_backend:
            overrides = (*overrides, f"regress.backend={sr_backend}")
        try:
            from pipeline.orchestrate import run_stage

            ctx = _context(system, run_dir, config_file, overrides, seed)
            status = run_stage(ctx, name, force=force)
        except USER_ERRORS as exc:
            raise _fail(exc, run_dir, overrides) from exc
        click.echo(
            f"{name}: {'up to date, nothing to do (use --force to redo)' if status == 'skipped' else 'done'} ({ctx.run_dir})"
        )
        if status == "ran" and any(o.file == "verification.json" for o in stage.outputs):
            _echo_verdicts(ctx.run_dir, _again(name, system, ctx.run_dir, overrides))

    command.__doc__ = stage.help
    if "engine" in stage.options:
        command = sr_backend_option(command)
    if "executor" in stage.options:
        command = executor_options(command)
    return click.command(name=name)(common_options(command))


@main.command()
@click.argument("stage", type=_RegistryName("stage", "a stage", stage_names))
@partial(common_options, force=False)
def accept(stage, system, run_dir, config_file, overrides, seed, verbose, quiet) -> None:
    """Keep STAGE's outputs as they are now (edited on purpose) as its results.

    A stage's output that is not what its last completed run wrote (a run killed midway, or an
    edit) is redone by the next run.  To keep an edit, for instance noise added by hand to
    observations.parquet, accept it first: `scinet accept simulate copernicus --run-dir DIR`; the
    next `scinet run` keeps it and redoes the stages after it.  Give the same --set, --config and
    --seed as the run.
    """
    _setup_logging(verbose, quiet)
    try:
        from pipeline.orchestrate import accept_stage

        ctx = _context(system, run_dir, config_file, overrides, seed)
        recorded = accept_stage(ctx, stage)
    except USER_ERRORS as exc:
        raise _fail(exc, run_dir, overrides) from exc
    click.echo(f"{stage}: accepted {', '.join(recorded)} as they are ({ctx.run_dir}); the stages after it will use them.")

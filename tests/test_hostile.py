"""Hostile inputs: every bad input or fault ends in a one-paragraph error that says what to do, a non-zero
exit, no traceback on the terminal, and nothing written outside the run directory."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.test_cli import TINY, invoke

SYS = "copernicus"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finished") / "r"
    result = invoke("run", SYS, "--run-dir", run_dir, *TINY)
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture
def world(tmp_path, finished, monkeypatch):
    """A copy of a finished run in ``runs/r``, an empty working directory, and what lies outside the run."""
    run_dir = tmp_path / "runs" / "r"
    shutil.copytree(finished, run_dir)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return run_dir


def _outside(tmp_path: Path, run_dir: Path) -> dict[str, float]:
    return {
        str(p): p.stat().st_mtime
        for p in tmp_path.rglob("*")
        if run_dir not in p.parents and p != run_dir and p.name != "scinet-error.log"
    }


def _rewrite_parquet(path: Path, change) -> None:
    """Rewrite a Parquet artifact through ``change(frame)`` keeping its scinet metadata."""
    table = pq.read_table(path)
    frame = change(table.to_pandas())
    out = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(out.replace_schema_metadata({**(out.schema.metadata or {}), **(table.schema.metadata or {})}), path)


def _set_meta(path: Path, **changes) -> None:
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    scinet = json.loads(meta[b"scinet"])
    scinet.update(changes)
    meta[b"scinet"] = json.dumps(scinet).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def _equations_with(expr: str):
    def change(frame):
        frame = frame.copy()
        first = frame.index[0]
        front = (frame["target"] == frame.loc[first, "target"]) & (frame["variables"] == frame.loc[first, "variables"])
        frame.loc[front, "selected"] = False  # the edited equation is its front's one selection
        frame.loc[first, "sympy_format"] = expr
        frame.loc[first, "selected"] = True
        return frame

    return lambda r: _rewrite_parquet(r / "equations.parquet", change)


def _write(name: str, content: bytes | str):
    def setup(r):
        path = r / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return setup


def _folder(name: str):
    def setup(r):
        (r / name).unlink()
        (r / name).mkdir()

    return setup


def _pipe(name: str):
    def setup(r):
        (r / name).unlink()
        os.mkfifo(r / name)

    return setup


def _keras_not_scinet(r):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    (r / "model.keras").unlink()
    model.save(r / "model.keras")


def _verdict_field(field, value, law=0):
    """Set one field of one law in verification.json (``field`` may be ``dict/key``)."""

    def setup(r):
        data = json.loads((r / "verification.json").read_text())
        record = data["laws"][law]
        if "/" in field:
            outer, key = field.split("/")
            record.setdefault(outer, {})[key] = value
        else:
            record[field] = value
        (r / "verification.json").write_text(json.dumps(data))

    return setup


def _history_field(field, value):
    def setup(r):
        data = json.loads((r / "history.json").read_text())
        data[field] = value
        (r / "history.json").write_text(json.dumps(data))

    return setup


def _equations_column(column, value):
    return lambda r: _rewrite_parquet(r / "equations.parquet", lambda f: f.assign(**{column: value}))


def _drop_column(column):
    return lambda r: _rewrite_parquet(r / "observations.parquet", lambda f: f.drop(columns=[column]))


NOTHING = None
# (case id, setup of the run directory, command after the system name, text the message must hold)
CASES = [
    # -- command line and settings ---------------------------------------------------------------
    ("unknown-system", NOTHING, ["run", "copernicos"], "Did you mean 'copernicus'"),
    ("misspelt-key", NOTHING, ["simulate", SYS, "--set", "simulate.n_sample=5"], "Did you mean 'simulate.n_samples'"),
    ("override-without-equals", NOTHING, ["simulate", SYS, "--set", "simulate.noise"], "expected KEY=VALUE"),
    ("section-as-key", NOTHING, ["simulate", SYS, "--set", "train=1"], "is a section"),
    ("list-expected", NOTHING, ["train", SYS, "--set", "train.epochs=abc"], "expects a list"),
    ("nan-budget", NOTHING, ["regress", SYS, "--set", "regress.time_budget=nan"], "`regress.time_budget` must lie between"),
    ("negative-budget", NOTHING, ["regress", SYS, "--set", "regress.time_budget=-1"], "`regress.time_budget` must lie"),
    ("zero-batch", NOTHING, ["train", SYS, "--set", "train.batch_size=0"], "`train.batch_size` must lie"),
    ("negative-batch", NOTHING, ["train", SYS, "--set", "train.batch_size=-5"], "`train.batch_size` must lie"),
    ("zero-width", NOTHING, ["train", SYS, "--set", "train.encoder_units=[0]"], "`train.encoder_units` must lie"),
    ("zero-decoder-width", NOTHING, ["train", SYS, "--set", "train.decoder_units=[4, 0]"], "`train.decoder_units` must lie"),
    ("zero-dpi", NOTHING, ["report", SYS, "--set", "report.dpi=0"], "`report.dpi` must lie"),
    ("zero-max-length", NOTHING, ["regress", SYS, "--set", "regress.max_length=0"], "`regress.max_length` must lie"),
    ("zero-rows", NOTHING, ["regress", SYS, "--set", "regress.n_rows=0"], "`regress.n_rows` must lie"),
    ("unknown-operator", NOTHING, ["regress", SYS, "--set", "regress.operators=add,cosine"], "Unknown operators ['cosine']"),
    ("no-operator", NOTHING, ["regress", SYS, "--set", "regress.operators=''"], "regress.operators"),
    ("unknown-backend", NOTHING, ["regress", SYS, "--set", "regress.backend=julia"], "must be one of 'operon', 'pysr'"),
    ("unknown-decoder", NOTHING, ["train", SYS, "--set", "train.decoder=cnn"], "must be one of 'linear', 'mlp'"),
    ("test-fraction-one", NOTHING, ["simulate", SYS, "--set", "simulate.test_fraction=1"], "simulate.test_fraction"),
    ("negative-noise", NOTHING, ["simulate", SYS, "--set", "simulate.noise=-0.1"], "`simulate.noise` must lie"),
    ("negative-seed", NOTHING, ["simulate", SYS, "--seed", "-1"], "`seed` must lie"),
    ("huge-seed", NOTHING, ["simulate", SYS, "--seed", str(2**40)], "`seed` must lie"),
    ("no-epochs", NOTHING, ["train", SYS, "--set", "train.epochs=[]"], "train.epochs"),
    ("negative-epochs", NOTHING, ["train", SYS, "--set", "train.epochs=[-3, 2]"], "`train.epochs` must lie"),
    ("curriculum-too-long", NOTHING, ["train", SYS, "--set", "train.curriculum=[4, 999]"], "train.curriculum"),
    ("latent-size-huge", NOTHING, ["train", SYS, "--set", "train.latent_size=1000"], "`train.latent_size` must lie"),
    ("r2-above-one", NOTHING, ["verify", SYS, "--set", "verify.r2=2"], "`verify.r2` must lie"),
    ("fraction-above-one", NOTHING, ["export", SYS, "--set", "export.unused_fraction=2"], "`export.unused_fraction`"),
    ("bool-for-int", NOTHING, ["simulate", SYS, "--set", "simulate.n_samples=true"], "expects a value of type int"),
    ("workers-negative", NOTHING, ["regress", SYS, "--set", "regress.workers=-1"], "`regress.workers` must lie"),
    ("nan-backup", NOTHING, ["train", SYS, "--set", "train.backup_every=nan"], "`train.backup_every` must lie"),
    ("nan-gpus", NOTHING, ["train", SYS, "--set", "executor.gpus_per_job=nan"], "`executor.gpus_per_job` must lie"),
    ("huge-harmonics", NOTHING, ["train", SYS, "--set", "train.harmonics=100000"], "`train.harmonics` must lie"),
    ("huge-steps", NOTHING, ["train", SYS, "--set", "train.steps_per_execution=1000000000"], "train.steps_per_execution"),
    ("zero-epoch-group", NOTHING, ["train", SYS, "--set", "train.epoch_group=0"], "`train.epoch_group` must lie"),
    ("sweep-nan-tolerance", NOTHING, ["sweep", SYS, "--tolerance", "nan"], "is not a finite number"),
    ("sweep-nan-gpus", NOTHING, ["sweep", SYS, "--gpus-per-job", "nan"], "is not a finite number"),
    ("sweep-sizes-overflow", NOTHING, ["sweep", SYS, "--latent-sizes", "0..99999999999999999999"], "at most 64"),
    ("sweep-sizes-huge", NOTHING, ["sweep", SYS, "--latent-sizes", "0..1000000000"], "at most 64"),
    ("sweep-sizes-list-huge", NOTHING, ["sweep", SYS, "--latent-sizes", "1,99999999999999999999"], "at most 64"),
    # -- configuration files ---------------------------------------------------------------------
    ("config-missing", NOTHING, ["simulate", SYS, "--config", "nowhere.toml"], "does not exist"),
    (
        "config-not-utf8",
        _write("../bad.toml", b"\xff\xfe\x00seed = 1"),
        ["simulate", SYS, "--config", "{run}/../bad.toml"],
        "not UTF-8",
    ),
    (
        "config-not-toml",
        _write("../bad.toml", "seed = = 1"),
        ["simulate", SYS, "--config", "{run}/../bad.toml"],
        "not valid TOML",
    ),
    (
        "config-unknown-key",
        _write("../bad.toml", "[train]\nbetta = 1"),
        ["train", SYS, "--config", "{run}/../bad.toml"],
        "Did you mean 'train.beta'",
    ),
    (
        "config-bad-type",
        _write("../bad.toml", "seed = 'one'"),
        ["simulate", SYS, "--config", "{run}/../bad.toml"],
        "expects a value of type int",
    ),
    # -- the run directory and the file system ---------------------------------------------------
    ("run-dir-empty-string", NOTHING, ["simulate", SYS, "--run-dir", ""], "is empty"),
    ("run-dir-under-a-file", _write("../afile", "x"), ["simulate", SYS, "--run-dir", "{run}/../afile/sub"], "which is a file"),
    ("run-dir-is-a-file", _write("../afile", "x"), ["simulate", SYS, "--run-dir", "{run}/../afile"], "is a file"),
    ("other-system", NOTHING, ["simulate", "pendulum"], "holds a run of system 'copernicus'"),
    ("manifest-malformed", _write("manifest.json", "{not json"), ["simulate", SYS], "manifest.json"),
    ("manifest-a-list", _write("manifest.json", "[1, 2]"), ["simulate", SYS], "not a scinet manifest"),
    ("manifest-binary", _write("manifest.json", b"\xff\x00\xfe"), ["simulate", SYS], "manifest.json"),
    # -- observations ----------------------------------------------------------------------------
    (
        "observations-garbage",
        _write("observations.parquet", b"garbage"),
        ["train", SYS, "--force"],
        "not a readable Parquet file",
    ),
    ("observations-empty-file", _write("observations.parquet", b""), ["train", SYS, "--force"], "not a readable Parquet file"),
    (
        "observations-foreign",
        lambda r: pd.DataFrame({"a": [1.0]}).to_parquet(r / "observations.parquet"),
        ["train", SYS, "--force"],
        "was not written by `scinet simulate`",
    ),
    ("observations-missing-column", _drop_column("theta_M"), ["train", SYS, "--force"], "lacks columns ['theta_M']"),
    (
        "observations-nan",
        lambda r: _rewrite_parquet(r / "observations.parquet", lambda f: f.assign(theta_M=np.nan)),
        ["train", SYS, "--force"],
        "NaN",
    ),
    (
        "observations-inf-truth",
        lambda r: _rewrite_parquet(r / "observations.parquet", lambda f: f.assign(phi_E=np.inf)),
        ["train", SYS, "--force"],
        "observations.parquet",
    ),
    (
        "observations-strings",
        lambda r: _rewrite_parquet(r / "observations.parquet", lambda f: f.assign(theta_M="north")),
        ["train", SYS, "--force"],
        "theta_M",
    ),
    (
        "observations-no-rows",
        lambda r: _rewrite_parquet(r / "observations.parquet", lambda f: f.iloc[:0]),
        ["train", SYS, "--force"],
        "no rows in its 'train' split",
    ),
    (
        "observations-no-train-split",
        lambda r: _rewrite_parquet(r / "observations.parquet", lambda f: f.assign(split="test")),
        ["train", SYS, "--force"],
        "no rows in its 'train' split",
    ),
    (
        "observations-other-system",
        lambda r: _set_meta(r / "observations.parquet", system="pendulum"),
        ["train", SYS, "--force"],
        "belongs to system 'pendulum'",
    ),
    # -- model ------------------------------------------------------------------------------------
    ("model-garbage", _write("model.keras", b"garbage"), ["export", SYS, "--force"], "could not be loaded as a SciNet model"),
    ("model-not-scinet", _keras_not_scinet, ["export", SYS, "--force"], "SciNet"),
    ("model-missing", lambda r: (r / "model.keras").unlink(), ["export", SYS, "--force"], "model.keras"),
    # -- latents, probe, history -------------------------------------------------------------------
    (
        "latents-garbage",
        _write("latents.parquet", b"PAR1garbagePAR1"),
        ["regress", SYS, "--force"],
        "not a readable Parquet file",
    ),
    (
        "latents-bad-metadata",
        lambda r: _set_meta(r / "latents.parquet", active="z0"),
        ["regress", SYS, "--force"],
        "latents.parquet",
    ),
    (
        "latents-nan-sigma",
        lambda r: _rewrite_parquet(r / "latents.parquet", lambda f: f.assign(z0_log_sigma=np.nan)),
        ["regress", SYS, "--force"],
        "latents.parquet",
    ),
    (
        "latents-no-test-rows",
        lambda r: _rewrite_parquet(r / "latents.parquet", lambda f: f.assign(split="train")),
        ["verify", SYS, "--force"],
        "lack of evidence",
    ),
    ("probe-garbage", _write("probe.parquet", b"garbage"), ["verify", SYS, "--force"], "probe.parquet"),
    ("history-malformed", _write("history.json", "{oops"), ["report", SYS, "--force"], "history.json"),
    ("history-a-list", _write("history.json", "[]"), ["report", SYS, "--force"], "history.json"),
    ("history-a-folder", _folder("history.json"), ["report", SYS, "--force"], "not a regular file"),
    ("latents-a-folder", _folder("latents.parquet"), ["regress", SYS, "--force"], "not a regular file"),
    ("observations-a-pipe", _pipe("observations.parquet"), ["train", SYS, "--force"], "not a regular file"),
    # -- equations and verdicts ----------------------------------------------------------------------
    ("equations-garbage", _write("equations.parquet", b"garbage"), ["verify", SYS, "--force"], "not a readable Parquet file"),
    (
        "equations-nested-powers",
        _equations_with("((((((10**64)**64)**64)**64)**64)**64)"),
        ["verify", SYS, "--force"],
        "equations.parquet",
    ),
    (
        "equations-code",
        _equations_with("__import__('os').system('touch /tmp/scinet-pwned')"),
        ["verify", SYS, "--force"],
        "equations.parquet",
    ),
    ("equations-unknown-name", _equations_with("theta_X + 1"), ["verify", SYS, "--force"], "theta_X"),
    (
        "equations-no-selection",
        lambda r: _rewrite_parquet(r / "equations.parquet", lambda f: f.drop(columns=["selected"])),
        ["report", SYS, "--force"],
        "lacks columns ['selected']",
    ),
    ("verification-malformed", _write("verification.json", "{]"), ["report", SYS, "--force"], "verification.json"),
    (
        "verification-wrong-shape",
        _write("verification.json", '{"laws": [1, 2]}'),
        ["report", SYS, "--force"],
        "verification.json",
    ),
    # -- every field read is checked, and parsing is bounded -------------------------------------------
    ("verdict-latex", _verdict_field("verdict", r"\input{/etc/passwd}"), ["report", SYS, "--force"], "has the verdict"),
    ("law-name-caret", _verdict_field("name", "kepler^3"), ["report", SYS, "--force"], "is named 'kepler^3'"),
    ("constant-name-latex", _verdict_field("fitted_constants/\\input{x}", 1.0), ["report", SYS, "--force"], "constant named"),
    ("constant-a-string", _verdict_field("fitted_constants/rho", "1.5"), ["report", SYS, "--force"], "not a number"),
    ("true-constant-a-list", _verdict_field("true_constants/rho", [1]), ["report", SYS, "--force"], "not a number"),
    ("verdict-sign-two", _verdict_field("sign", 2), ["report", SYS, "--force"], "sign"),
    ("verdict-latent-number", _verdict_field("latent", 3), ["report", SYS, "--force"], "latent neuron"),
    ("verdict-reason-number", _verdict_field("checks", {"reason": 3}), ["report", SYS, "--force"], "checks"),
    (
        "verdict-record-string",
        _write("verification.json", '{"laws": ["discovered"]}'),
        ["report", SYS, "--force"],
        "is not a record",
    ),
    (
        "verification-deep",
        _write("verification.json", '{"laws": ' + "[" * 100000 + "]" * 100000 + "}"),
        ["report", SYS, "--force"],
        "nests deeper",
    ),
    ("history-rms-a-string", _history_field("prediction_rms", "small"), ["report", SYS, "--force"], "prediction_rms"),
    ("history-steps-a-string", _history_field("steps", "many"), ["report", SYS, "--force"], "'steps'"),
    ("history-seconds-a-list", _history_field("seconds", [1]), ["report", SYS, "--force"], "'seconds'"),
    ("history-loss-strings", _history_field("loss", ["a"]), ["report", SYS, "--force"], "'loss'"),
    ("equations-selected-text", _equations_column("selected", "yes"), ["report", SYS, "--force"], "column 'selected' holds"),
    ("equations-loss-text", _equations_column("loss", "low"), ["verify", SYS, "--force"], "column 'loss' holds"),
    ("equations-score-bool", _equations_column("score", True), ["verify", SYS, "--force"], "column 'score' holds"),
    ("equations-all-selected", _equations_column("selected", True), ["verify", SYS, "--force"], "selects"),
    ("equations-foreign-set", _equations_column("variables", "\\input{x}"), ["verify", SYS, "--force"], "variable set"),
    (
        "equations-foreign-variables",
        lambda r: _set_meta(r / "equations.parquet", variables={"observations": ["theta_X"], "ground_truth": ["x"]}),
        ["verify", SYS, "--force"],
        "which this system does not have",
    ),
    ("equations-division-by-zero", _equations_with("theta_S/0"), ["verify", SYS, "--force"], "undefined"),
    ("equations-flat-sum", _equations_with("+".join(["theta_S"] * 1500)), ["verify", SYS, "--force"], "too large"),
    (
        "latents-no-rows",
        lambda r: _rewrite_parquet(r / "latents.parquet", lambda f: f.iloc[:0]),
        ["regress", SYS, "--force"],
        "has no rows",
    ),
    ("manifest-deep", _write("manifest.json", "[" * 100000 + "]" * 100000), ["report", SYS], "not a readable scinet manifest"),
    (
        "config-deep",
        _write("deep.toml", "a = " + "[" * 100000 + "]" * 100000),
        ["simulate", SYS, "--config", "{run}/deep.toml"],
        "nests deeper",
    ),
    ("set-deep", NOTHING, ["simulate", SYS, "--set", "simulate.noise=" + "[" * 100000 + "]" * 100000], "nests deeper"),
    ("sweep-into-a-run", NOTHING, ["sweep", SYS, "--latent-sizes", "1", "--seeds", "1"], "holds a run"),
    ("ensemble-into-a-run", NOTHING, ["run", SYS, "--seeds", "0,1"], "holds a run"),
    (
        "run-into-a-sweep",
        lambda r: (r.parent / "sweep").mkdir() or _write("../sweep/sweep.parquet", b"x")(r),
        ["run", SYS, "--run-dir", "{run}/../sweep"],
        "holds a sweep",
    ),
    (
        "ray-nothing-listens",
        NOTHING,
        ["sweep", SYS, "--executor", "ray", "--address", "127.0.0.1:1", "--run-dir", "{run}/../s2"],
        "Nothing answered at 127.0.0.1:1",
    ),
]


@pytest.mark.parametrize(("case", "setup", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_cleanly(world, tmp_path, case, setup, args, message):
    run_dir = world
    if setup is not None:
        setup(run_dir)
    before = _outside(tmp_path, run_dir)
    args = [a.replace("{run}", str(run_dir)) for a in args]
    if "--run-dir" not in args:
        args = [*args, "--run-dir", str(run_dir)]
    result = invoke(*args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output, result.output
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()[-1]) > 30  # a sentence, not a bare exception name
    assert _outside(tmp_path, run_dir) == before
    assert not any(Path.cwd().iterdir())
    assert not Path("/tmp/scinet-pwned").exists()


def test_latex_comes_from_the_parsed_expression_never_from_the_file(world):
    run_dir = world
    payload = r"\input{/etc/passwd} $ & % # _ ^ ~ { }"

    def change(frame):
        frame = frame.copy()
        frame["latex"] = payload
        frame["equation"] = payload
        return frame

    _rewrite_parquet(run_dir / "equations.parquet", change)
    verification = json.loads((run_dir / "verification.json").read_text())
    for law in verification["laws"]:  # every text field a verdict may hold
        law["description"] = law["expression"] = law["latex"] = law["kind"] = payload
        law["checks"] = {"reason": payload}
        law["fitted_constants"]["r2_-v_x + w"] = 0.5  # a check's figure named after an expression is a fine name
    (run_dir / "verification.json").write_text(json.dumps(verification))
    result = invoke("report", SYS, "--run-dir", run_dir, *TINY, "--force")
    assert result.exit_code == 0, result.output
    for tex in ("equations.tex", "paper.tex"):
        text = (run_dir / tex).read_text()
        assert "/etc/passwd" not in text and "\\input{/" not in text, tex  # the file's text reaches no LaTeX


def test_an_equation_target_that_is_no_neuron_is_refused(world):
    run_dir = world
    _rewrite_parquet(run_dir / "equations.parquet", lambda f: f.assign(target=r"\input{/etc/passwd}"))
    result = invoke("report", SYS, "--run-dir", run_dir, *TINY, "--force")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "equations.parquet" in result.output and "target" in result.output
    assert r"\input{/etc/passwd}" not in (run_dir / "equations.tex").read_text()


def test_a_suggested_command_keeps_the_users_run_dir_and_settings(world):
    run_dir = world
    (run_dir / "observations.parquet").write_bytes(b"garbage")
    result = invoke("train", SYS, "--run-dir", run_dir, "--set", "train.beta=0.001", "--force")
    assert result.exit_code != 0
    assert f"`scinet simulate {SYS} --run-dir {run_dir} --set train.beta=0.001 --force`" in result.output


def test_a_file_system_refusal_is_a_message_not_a_bug_report(world, monkeypatch):
    import pipeline.rundir

    def full_disk(path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(pipeline.rundir, "_fsync", full_disk)
    result = invoke("simulate", SYS, "--run-dir", world, *TINY, "--force", "--seed", "3")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "No space left on device" in result.output and "free disk space" in result.output
    assert "bug" not in result.output


def test_an_unknown_keras_backend_is_refused_before_any_work(world, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "nonsense")
    before = sorted(p.name for p in world.iterdir())
    result = invoke("train", SYS, "--run-dir", world, "--force")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "KERAS_BACKEND='nonsense'" in result.output and "jax" in result.output
    assert sorted(p.name for p in world.iterdir()) == before


def test_a_manifest_record_of_another_shape_is_redone_not_a_crash(world):
    manifest = json.loads((world / "manifest.json").read_text())
    manifest["stages"]["report"] = "done"
    manifest["stages"]["verify"]["outputs"] = ["verification.json"]
    (world / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("run", SYS, "--run-dir", world, *TINY)
    assert result.exit_code == 0, result.output
    assert "verify: check known laws" in result.output and "report: write report" in result.output  # both redone


def test_a_probe_without_the_law_of_motions_columns_is_refused(tmp_path):
    from tests.test_cli import PENDULUM_TINY

    run_dir = tmp_path / "p"
    assert invoke("run", "pendulum", "--run-dir", run_dir, *PENDULUM_TINY).exit_code in (0, 1)
    _rewrite_parquet(run_dir / "probe.parquet", lambda f: f.drop(columns=["kappa"]))
    result = invoke("verify", "pendulum", "--run-dir", run_dir, *PENDULUM_TINY, "--force")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "lacks the columns ['kappa']" in result.output and "scinet export pendulum" in result.output


def test_a_keras_backend_that_is_not_installed_is_refused_before_any_work(world, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # scinet's default
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else find_spec(name, *a))
    before = sorted(p.name for p in world.iterdir())
    result = invoke("train", SYS, "--run-dir", world, "--force")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "jax (scinet's default where KERAS_BACKEND is unset), which is not installed" in result.output
    assert "pip install 'jax[cpu]'" in result.output and "tensorflow" in result.output
    assert sorted(p.name for p in world.iterdir()) == before

"""Systems declared in a TOML file over a data file (pipeline/declared.py): each shape of data runs end to end,
laws written as expressions are checked, and every broken declaration or data file gets a one-paragraph error that
names the file and the column, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.declared import DeclarationError, load, read_table, sample
from pipeline.registry import get_system
from systems.copernicus import sky_angles

TIMES = np.linspace(0.0, 5.0, 10)

OSCILLATOR = """
[system]
name = "oscillator-table"
description = "a damped oscillator, recorded at ten times"
data = "oscillator.csv"
heatmap = ["b", "kappa"]

[columns.x]
roles = ["encoder"]
size = 10
parts = "x_{i}"
unit = "m"

[columns.t_pred]
roles = ["question"]
unit = "s"

[columns.x_pred]
roles = ["answer"]
unit = "m"

[columns.b]
roles = ["ground_truth"]
unit = "1/s"

[columns.kappa]
roles = ["ground_truth"]
unit = "1/s^2"

[latent]
size = 3

[law_of_motion]
answer = "x_pred"
parameters = ["b", "kappa"]
question = "t_pred"
n_samples = 12
questions_per_sample = 10

[[laws]]
kind = "latents_span"
name = "latents_span_b_kappa"
description = "the active neurons determine b and kappa"
quantities = ["b", "kappa"]

[[laws]]
kind = "answer_law"
name = "law_of_motion"
description = "x(t) = exp(-b t/2) cos(sqrt(kappa - b^2/4) t)"
expression = "exp(-b*t_pred/2)*cos(sqrt(kappa - b^2/4)*t_pred)"
"""

TINY_ROWS = [
    "--set", "train.epochs=[2]", "--set", "train.encoder_units=[8]", "--set", "train.decoder_units=[8]",
    "--set", "regress.time_budget=1", "--set", "regress.law_time_budget=1", "--set", "regress.n_rows=100",
    "--set", "verify.n_fresh=30",
]  # fmt: skip
TINY_SERIES = [
    "--set", "simulate.n_samples=60", "--set", "simulate.series_length=12", "--set", "train.curriculum=[4, 12]",
    "--set", "train.epochs=[2, 2]", "--set", "train.encoder_units=[8]", "--set", "regress.time_budget=1",
    "--set", "regress.n_rows=200", "--set", "regress.max_length=8", "--set", "verify.n_fresh=40",
]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def oscillator(folder: Path, n: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    b, kappa = rng.uniform(0.5, 1.0, n), rng.uniform(5.0, 10.0, n)
    w = np.sqrt(kappa - b**2 / 4)
    frame = pd.DataFrame({f"x_{i}": np.exp(-b * t / 2) * np.cos(w * t) for i, t in enumerate(TIMES)})
    frame["t_pred"] = rng.uniform(0, 10, n)
    frame["x_pred"] = np.exp(-b * frame["t_pred"] / 2) * np.cos(w * frame["t_pred"])
    frame["b"], frame["kappa"] = b, kappa
    frame.to_csv(folder / "oscillator.csv", index=False)
    (folder / "oscillator.toml").write_text(OSCILLATOR)
    return folder / "oscillator.toml"


SKY = """
[system]
name = "two-planets"
description = "the Sun and an outer planet seen from Earth, circular orbits"
data = "sky.csv"

[columns.theta_S]
roles = ["encoder", "answer"]
unit = "deg"
angle = true

[columns.theta_M]
roles = ["encoder", "answer"]
unit = "deg"
angle = true

[columns.phi_E]
roles = ["ground_truth"]
unit = "deg"
angle = true

[columns.phi_M]
roles = ["ground_truth"]
unit = "deg"
angle = true

[latent]
size = 2
kind = "circle"
evolution = "constant_step"

[series]
order = "day"

[defaults]
"simulate.n_samples" = 200
"train.curriculum" = [5, 20]
"train.epochs" = [20, 20]

[split]
column = "day"
test_from = 8000

[[laws]]
kind = "latent_is_quantity"
name = "latent_holds_phi_E"
description = "a neuron holds Earth's angle"
expression = "phi_E"

[[laws]]
kind = "step_ratio"
name = "step_ratio"
description = "omega_M/omega_E = T_E/T_M"
expression = "omega_M/omega_E"
quantities = ["phi_M", "phi_E"]
true_value = 0.5317
"""


def sky_record(folder: Path, days: int = 10_000, step: float = 7.0) -> Path:
    day = np.arange(0, days, step)
    phi_e, phi_m = 2 * np.pi * day / 365.256, 2 * np.pi * day / 686.98 + 1.0
    theta_s, theta_m = sky_angles(phi_e, phi_m)
    wrap = lambda a: np.degrees(np.angle(np.exp(1j * a)))  # noqa: E731
    frame = pd.DataFrame(
        {"day": day, "theta_S": wrap(theta_s), "theta_M": wrap(theta_m), "phi_E": wrap(phi_e), "phi_M": wrap(phi_m)}
    )
    frame.sample(frac=1.0, random_state=0).to_csv(folder / "sky.csv", index=False)  # rows in any order
    (folder / "sky.toml").write_text(SKY)
    return folder / "sky.toml"


def series_table(folder: Path, n: int = 40, length: int = 12, parquet: bool = False) -> Path:
    """Copernicus series with their own series and step columns, rows shuffled."""
    from systems.copernicus import simulate

    data = simulate(n_samples=n, series_length=length, rng=np.random.default_rng(1))
    frame = pd.DataFrame({k: v for k, v in data.items() if k != "t_days"}).rename(columns={"series": "run", "step": "k"})
    frame = frame.sample(frac=1.0, random_state=2)
    name = "series.parquet" if parquet else "series.csv"
    frame.to_parquet(folder / name) if parquet else frame.to_csv(folder / name, index=False)
    text = SKY.replace('data = "sky.csv"', f'data = "{name}"').replace('order = "day"', 'series = "run"\nstep = "k"')
    text = text.replace('"simulate.n_samples" = 200\n', "").replace("[5, 20]", "[4, 12]").replace('unit = "deg"', 'unit = "rad"').replace("[split]\ncolumn = \"day\"\ntest_from = 8000\n", "")
    (folder / "series.toml").write_text(text)
    return folder / "series.toml"


# -- reading -------------------------------------------------------------------------------------------------------------
def test_a_declaration_becomes_a_system_with_its_columns_laws_and_defaults(tmp_path):
    system = load(oscillator(tmp_path))
    assert system.measured and system.origin == str((tmp_path / "oscillator.toml").resolve())
    assert system.encoder_names == ["x"] and system.columns["x"].size == 10
    assert system.question_names == ["t_pred"] and system.answer_names == ["x_pred"]
    assert system.ground_truth_names == ["b", "kappa"]
    assert system.answer_law.parameters == ("b", "kappa") and system.answer_law.question == "t_pred"
    assert system.regress == {"ground_truth": ("b", "kappa")}  # the encoder's only column is a vector
    assert system.defaults["simulate.n_samples"] == 300  # every row, unless the file's [defaults] say otherwise
    assert [law.name for law in system.known_laws()] == ["latents_span_b_kappa", "law_of_motion"]


def test_the_law_expressions_evaluate_as_written(tmp_path):
    import sympy as sp

    law = load(oscillator(tmp_path)).known_laws()[1]
    f = sp.lambdify([sp.Symbol("b", real=True), sp.Symbol("kappa", real=True), sp.Symbol("t_pred", real=True)], law.expression)
    assert f(0.8, 7.0, 2.5) == pytest.approx(np.exp(-0.8 * 2.5 / 2) * np.cos(np.sqrt(7.0 - 0.16) * 2.5))


def test_angles_in_degrees_are_read_in_radians_and_a_record_is_ordered_and_cut_into_windows(tmp_path):
    system = load(sky_record(tmp_path))
    data = system.simulate(n_samples=50, rng=np.random.default_rng(0), series_length=20)
    assert len(data["series"]) == 50 * 20
    theta_s = data["theta_S"].reshape(50, 20)
    steps = np.angle(np.exp(1j * np.diff(theta_s, axis=1)))
    assert np.allclose(steps, 2 * np.pi * 7 / 365.256, atol=1e-6)  # consecutive weeks, in radians
    assert np.all(np.abs(data["phi_M"]) <= np.pi + 1e-12)
    split = data["split"].reshape(50, 20)
    assert (split == split[:, :1]).all() and {"train", "test"} <= set(split[:, 0])


def test_series_are_read_from_their_own_columns_in_csv_and_parquet(tmp_path):
    for parquet in (False, True):
        system = load(series_table(tmp_path, parquet=parquet))
        assert system.defaults["simulate.n_samples"] == 40 and system.defaults["simulate.series_length"] == 12
        data = system.simulate(n_samples=40, rng=np.random.default_rng(0), series_length=12)
        assert np.array_equal(data["step"], np.tile(np.arange(12), 40))
        theta = data["theta_S"].reshape(40, 12)
        assert np.allclose(np.angle(np.exp(1j * np.diff(theta, axis=1))), 2 * np.pi * 7 / 365.256, atol=1e-9)


def test_the_fingerprint_follows_the_data_and_a_changed_file_is_noticed(tmp_path):
    path = oscillator(tmp_path)
    first = load(path)
    frame = pd.read_csv(tmp_path / "oscillator.csv")
    frame.loc[0, "b"] = 0.77
    frame.to_csv(tmp_path / "oscillator.csv", index=False)
    # this process keeps the data it checked and hashed; a worker process reading the file anew refuses it
    assert first.simulate(n_samples=300, rng=np.random.default_rng(0))["b"][0] != 0.77
    read_table.cache_clear()
    with pytest.raises(DeclarationError, match="changed after the system was loaded"):
        first.simulate(n_samples=10, rng=np.random.default_rng(0))
    assert load(path).fingerprint() != first.fingerprint()


def test_a_declared_name_may_not_shadow_a_system_written_in_python(tmp_path):
    path = oscillator(tmp_path)
    path.write_text(OSCILLATOR.replace('name = "oscillator-table"', 'name = "pendulum"'))
    with pytest.raises(DeclarationError, match="system written in Python"):
        get_system(str(path))


# -- broken declarations and data ----------------------------------------------------------------------------------------
def _edit_csv(column, value, row=3):
    def edit(folder):
        frame = pd.read_csv(folder / "oscillator.csv")
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        frame.to_csv(folder / "oscillator.csv", index=False)

    return edit


def _edit_toml(old, new):
    def edit(folder):
        path = folder / "oscillator.toml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    return edit


BROKEN = {
    "misspelt column": (_edit_toml("[columns.kappa]", "[columns.kapa]"), ["oscillator.csv", "'kapa'", "kappa"]),
    "missing vector part": (lambda f: pd.read_csv(f / "oscillator.csv").drop(columns="x_4").to_csv(f / "oscillator.csv", index=False), ["'x_4'"]),
    "NaN": (_edit_csv("b", np.nan), ["'b'", "NaN", "row 5"]),
    "infinite": (_edit_csv("kappa", np.inf), ["'kappa'", "infinite"]),
    "a string": (_edit_csv("t_pred", "twelve"), ["'t_pred'", "'twelve'", "not a number"]),
    "bad unit": (_edit_toml('unit = "1/s^2"', 'unit = "furlongz"'), ["[columns.kappa]", "furlongz"]),
    "angle in metres": (_edit_toml('[columns.b]\nroles = ["ground_truth"]\nunit = "1/s"', '[columns.b]\nroles = ["ground_truth"]\nunit = "m"\nangle = true'), ["[columns.b]", "angle"]),
    "unknown role": (_edit_toml('roles = ["question"]', 'roles = ["questions"]'), ["[columns.t_pred]", "question"]),
    "unknown entry": (_edit_toml("[latent]\nsize = 3", "[latent]\nsize = 3\nkinds = \"real\""), ["[latent]", "'kinds'", "kind"]),
    "unknown section": (_edit_toml("[latent]", "[latents]\n[latent]"), ["'latents'", "latent"]),
    "unknown law kind": (_edit_toml('kind = "latents_span"', 'kind = "latent_span"'), ["latent_span", "latents_span"]),
    "unknown law field": (_edit_toml('quantities = ["b", "kappa"]', 'quantity_list = ["b", "kappa"]'), ["quantity_list", "latents_span_b_kappa"]),
    "law constants not a table": (_edit_toml('expression = "exp(', 'constants = 5\nexpression = "exp('), ["law_of_motion", "constants", "table"]),
    "law sets its order": (_edit_toml('quantities = ["b", "kappa"]', 'quantities = ["b", "kappa"]\norder = 1'), ["'order'", "latents_span_b_kappa"]),
    "bad default choice": (_edit_toml("[latent]", "[defaults]\n\"train.decoder\" = \"cnn\"\n\n[latent]"), ["[defaults]", "train.decoder", "'mlp'"]),
    "law names no column": (_edit_toml("cos(sqrt(kappa - b^2/4)*t_pred)", "cos(sqrt(kapa - b^2/4)*t_pred)"), ["'kapa'", "kappa", "law_of_motion"]),
    "law is code": (_edit_toml('expression = "exp(', 'expression = "__import__(\'os\').system(\'true\') + exp('), ["law_of_motion"]),
    "law of motion names a non-question": (_edit_toml('question = "t_pred"', 'question = "b"'), ["[law_of_motion]", "'b'"]),
    "too few rows": (lambda f: pd.read_csv(f / "oscillator.csv").head(5).to_csv(f / "oscillator.csv", index=False), ["5 rows", "at least 10"]),
    "empty data": (lambda f: (f / "oscillator.csv").write_text("x_0,b\n"), ["no rows"]),
    "data missing": (lambda f: (f / "oscillator.csv").unlink(), ["oscillator.csv", "does not exist"]),
    "not toml": (lambda f: (f / "oscillator.toml").write_text("[system\nname ="), ["oscillator.toml", "not valid TOML"]),
    "bad default": (_edit_toml("[latent]", "[defaults]\n\"train.beta\" = -1\n\n[latent]"), ["[defaults]", "train.beta"]),
    "split holds out nothing": (_edit_toml("[latent]", "[split]\ncolumn = \"b\"\ntest_from = 5.0\n\n[latent]"), ["holds out none"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_declaration_or_data_file_is_one_paragraph_that_names_it_and_nothing_is_written(tmp_path, case):
    path = oscillator(tmp_path)
    edit, words = BROKEN[case]
    edit(tmp_path)
    run_dir = tmp_path / "run"
    result = invoke("run", path, "--run-dir", run_dir)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "oscillator" in result.output  # the file
    for word in words:
        assert word in result.output, (word, result.output)
    assert not run_dir.exists() or not any(run_dir.iterdir())


def test_unequal_series_and_repeated_steps_are_named(tmp_path):
    path = series_table(tmp_path)
    frame = pd.read_csv(tmp_path / "series.csv")
    frame[~((frame["run"] == 7) & (frame["k"] == 11))].to_csv(tmp_path / "series.csv", index=False)
    with pytest.raises(DeclarationError, match=r"unequal lengths: most have 12 rows, series 7 has 11"):
        load(path)
    pd.concat([frame, frame.head(1)]).to_csv(tmp_path / "series.csv", index=False)
    with pytest.raises(DeclarationError, match="repeats a step"):
        load(path)


def test_an_unevenly_spaced_record_is_refused(tmp_path):
    path = sky_record(tmp_path)
    frame = pd.read_csv(tmp_path / "sky.csv")
    frame = frame[frame["day"] != 700.0]
    frame.to_csv(tmp_path / "sky.csv", index=False)
    with pytest.raises(DeclarationError, match="not evenly spaced in 'day'"):
        load(path)


# -- end to end ----------------------------------------------------------------------------------------------------------
def test_a_declared_question_and_answer_system_runs_and_its_probe_asks_about_held_out_samples(tmp_path):
    path = oscillator(tmp_path)
    run_dir = tmp_path / "run"
    result = invoke("run", path, "--run-dir", run_dir, *TINY_ROWS)
    assert result.exit_code == 0, result.output
    probe = pd.read_parquet(run_dir / "probe.parquet")
    assert len(probe) == 12 * 10 and probe["sample"].nunique() == 12
    held_out = pd.read_parquet(run_dir / "observations.parquet").query("split == 'test'")
    assert set(np.round(probe["b"], 12)) <= set(np.round(held_out["b"], 12))  # the held-out samples, not new ones
    laws = json.loads((run_dir / "verification.json").read_text())["laws"]
    assert [law["name"] for law in laws] == ["latents_span_b_kappa", "law_of_motion"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["system"] == "oscillator-table" and manifest["declared_in"] == str(path.resolve())
    equations = pd.read_parquet(run_dir / "equations.parquet")
    assert "law_of_motion" in set(equations["variables"])


def test_a_declared_series_runs_end_to_end_from_a_record_and_reloads_in_python(tmp_path):
    import scinet
    from pipeline import registry

    path = sky_record(tmp_path)
    run_dir = tmp_path / "run"
    result = invoke("run", path, "--run-dir", run_dir, *TINY_SERIES)
    assert result.exit_code == 0, result.output
    observations = pd.read_parquet(run_dir / "observations.parquet")
    held_out = observations[observations["split"] == "test"]
    assert not held_out.empty and observations.groupby("series")["split"].nunique().max() == 1
    registry._REGISTERED.pop("two-planets", None)  # a new session: the name alone is unknown
    run = scinet.load(run_dir)
    assert run.system.name == "two-planets" and not run.verdicts.empty


def test_the_commands_take_a_toml_path_where_they_take_a_name(tmp_path):
    path = series_table(tmp_path)
    described = invoke("systems", path)
    assert described.exit_code == 0 and "theta_S" in described.output and "step_ratio" in described.output
    config = invoke("config", path)
    assert config.exit_code == 0 and "simulate.series_length" in config.output


def test_without_laws_the_run_is_a_discovery(tmp_path):
    path = series_table(tmp_path)
    path.write_text(path.read_text().split("[[laws]]")[0])
    run_dir = tmp_path / "run"
    result = invoke("run", path, "--run-dir", run_dir, *TINY_SERIES)
    assert result.exit_code == 0, result.output
    assert "no known laws" in result.output
    assert "Nothing was checked against known physics" in (run_dir / "report.md").read_text()


def test_read_table_checks_every_column_once_per_process(tmp_path):
    system = load(oscillator(tmp_path))
    table = system.simulator.keywords["table"]
    assert read_table(table) is read_table(table)
    assert sample(n_samples=7, rng=np.random.default_rng(0), table=table)["b"].shape == (7,)


def test_an_ensemble_of_seeds_runs_a_declared_system_in_worker_processes(tmp_path):
    path = sky_record(tmp_path)
    result = invoke("run", path, "--seeds", "0..1", "--jobs", "2", "--run-dir", tmp_path / "ens", *TINY_SERIES)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "ens" / "ensemble.json").read_text())
    assert record["system"] == "two-planets" and len(record["seeds"]) == 2


@pytest.mark.slow
def test_a_sweep_runs_a_declared_system(tmp_path):
    path = sky_record(tmp_path)
    result = invoke("sweep", path, "--latent-sizes", "1,2", "--run-dir", tmp_path / "sweep", *TINY_SERIES)
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "sweep" / "sweep.parquet")) == 6


def test_a_vector_is_read_from_a_parquet_list_column_and_its_size_is_checked(tmp_path):
    path = oscillator(tmp_path)
    frame = pd.read_csv(tmp_path / "oscillator.csv")
    parts = [f"x_{i}" for i in range(10)]
    frame["x"] = list(frame[parts].to_numpy())
    frame.drop(columns=parts).to_parquet(tmp_path / "oscillator.parquet")
    text = OSCILLATOR.replace('data = "oscillator.csv"', 'data = "oscillator.parquet"').replace('parts = "x_{i}"\n', "")
    path.write_text(text)
    data = load(path).simulate(n_samples=300, rng=np.random.default_rng(0))
    assert data["x"].shape == (300, 10) and np.allclose(data["x"], frame[parts].to_numpy())
    path.write_text(text.replace("size = 10", "size = 12"))
    with pytest.raises(DeclarationError, match="lists of 10 values, but 'x' is declared with size = 12"):
        load(path)
    path.write_text(text.replace('data = "oscillator.parquet"', 'data = "oscillator.csv"'))
    with pytest.raises(DeclarationError, match="has no column 'x' for the vector 'x'. Give a Parquet list column"):
        load(path)


def test_fresh_samples_of_measured_data_are_held_out_ones_each_once_unless_drawn_again(tmp_path):
    from pipeline.simulation import fresh_samples

    system = load(oscillator(tmp_path))
    held_out = pd.DataFrame({k: list(v) if v.ndim > 1 else v for k, v in system.simulate(n_samples=20, rng=np.random.default_rng(0)).items()})
    fresh = fresh_samples(system, held_out, n_samples=50, seed=0)
    assert len(fresh) == 20 and fresh["b"].nunique() == 20
    assert len(fresh_samples(system, held_out, n_samples=50, seed=0, replace=True)) == 50
    series = load(sky_record(tmp_path))
    rows = series.simulate(n_samples=6, rng=np.random.default_rng(0), series_length=5)
    again = fresh_samples(series, pd.DataFrame(rows), n_samples=40, seed=0, series_length=5)
    assert again["series"].nunique() == 6 and len(again) == 30

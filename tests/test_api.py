"""The Python API (`import scinet`): runs with the command line's run directories, cache and manifest; the
symbolic regression as an sklearn estimator."""

import numpy as np
import pandas as pd
import pytest
import sympy as sp

import scinet
from pipeline.config import parse_override
from tests.test_cli import TINY, invoke

SETTINGS = dict(parse_override(text) for text in TINY if text != "--set")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return scinet.run("copernicus", run_dir=tmp_path_factory.mktemp("api") / "r", settings=SETTINGS)


def test_a_run_from_python_reads_what_the_command_line_writes(finished, tmp_path):
    run = finished
    assert isinstance(run, scinet.Run) and run.system.name == "copernicus"
    equations = run.equations
    assert {"target", "variables", "complexity", "loss", "score", "equation", "sympy_format", "latex", "selected"} <= set(equations)
    assert (equations.groupby(["target", "variables"])["selected"].sum() == 1).all()
    assert all(isinstance(e, sp.Expr) for e in equations["expr"])
    verdicts = run.verdicts
    assert set(verdicts["verdict"]) <= {"discovered", "not discovered", "not checked"} and len(verdicts) >= 5
    assert "\\begin{table}" in run.latex()
    assert run.report_path.name == "report.md" and run.report_path.is_file()
    assert "kl" in run.figures and run.figure("kl").is_file()
    with pytest.raises(scinet.ScinetError, match="has no figure 'nope'"):
        run.figure("nope")
    assert run.latents.attrs["scinet"]["latent_columns"] == ["z0", "z1"]
    assert len(run.history.loss) > 0
    assert "known laws discovered" in repr(run)
    # the command line, same seed and settings elsewhere: the same bytes
    assert invoke("run", "copernicus", "--run-dir", tmp_path / "cli", *TINY).exit_code in (0, 1)
    for name in ("latents.parquet", "equations.parquet", "verification.json"):
        assert (tmp_path / "cli" / name).read_bytes() == (run.run_dir / name).read_bytes(), name


def test_a_finished_run_is_loaded_and_not_redone(finished):
    manifest = (finished.run_dir / "manifest.json").read_bytes()
    again = scinet.run("copernicus", run_dir=finished.run_dir, settings=SETTINGS)
    assert (finished.run_dir / "manifest.json").read_bytes() == manifest  # every stage up to date: nothing redone
    loaded = scinet.load(finished.run_dir)
    assert loaded.system.name == "copernicus"
    pd.testing.assert_frame_equal(loaded.verdicts, again.verdicts)
    with pytest.raises(scinet.ScinetError, match="holds no scinet run"):
        scinet.load(finished.run_dir / "figures")


def test_chosen_stages_run_and_bad_input_says_what_to_do(tmp_path):
    run = scinet.run("copernicus", run_dir=tmp_path / "r", settings=SETTINGS, stages=["simulate"])
    assert (tmp_path / "r" / "observations.parquet").is_file() and not (tmp_path / "r" / "model.keras").exists()
    with pytest.raises(scinet.ScinetError, match="does not exist"):
        run.latex()
    with pytest.raises(scinet.ScinetError, match="Did you mean 'simulate.n_samples'"):
        scinet.run("copernicus", run_dir=tmp_path / "s", settings={"simulate.n_sample": 5})
    with pytest.raises(scinet.ScinetError, match="Unknown stages"):
        scinet.run("copernicus", run_dir=tmp_path / "s", stages=["fit"])
    with pytest.raises(scinet.ScinetError, match="Did you mean 'copernicus'"):
        scinet.run("copernicos")
    with pytest.raises(scinet.ScinetError, match="experiment.toml does not exist"):
        scinet.run("experiment.toml")
    assert not (tmp_path / "s").exists()


def test_the_public_names_are_documented():
    assert "copernicus" in scinet.systems() and isinstance(scinet.systems()["pendulum"], scinet.PhysicalSystem)
    for name in scinet.__all__:
        assert getattr(scinet, name).__doc__, name


def test_the_estimator_finds_a_law_and_behaves_as_sklearn_asks():
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"m": rng.uniform(1, 5, 400), "v": rng.uniform(1, 5, 400)})
    y = 0.5 * X["m"] * X["v"] ** 2
    model = scinet.SymbolicRegressor(time_budget=10, threads=1)
    assert clone(model).get_params() == model.get_params()
    model.fit(X, y, units={"m": "kg", "v": "m/s"}, target_unit="J")
    m, v = sp.symbols("m v", real=True)
    assert sp.simplify(model.sympy() - m * v**2 / 2) == 0
    assert model.latex() == sp.latex(model.sympy())
    assert {"complexity", "loss", "score", "equation", "sympy_format", "latex", "selected"} <= set(model.equations_)
    assert list(model.feature_names_in_) == ["m", "v"]
    np.testing.assert_allclose(model.predict(X.iloc[:5]), y.iloc[:5], rtol=1e-9)
    assert model.score(X, y) > 0.999999


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.ones((5, 2)), np.ones(5), "too few"),
        (np.ones((20, 2)), np.ones(19), "one target value per row"),
        (np.full((20, 2), np.nan), np.ones(20), "NaN"),
        (pd.DataFrame({"pi": np.ones(20)}), np.ones(20), "identifiers other than pi and E"),
        (np.array([["a"] * 2] * 20), np.ones(20), "numbers"),
    ],
)
def test_the_estimator_refuses_bad_data_with_a_message(X, y, message):
    with pytest.raises(scinet.ScinetError, match=message):
        scinet.SymbolicRegressor(time_budget=1).fit(X, y)


def test_an_ensemble_from_python(tmp_path):
    ensemble = scinet.run("copernicus", run_dir=tmp_path / "e", seeds=[0, 1], settings=SETTINGS, jobs=1)
    assert isinstance(ensemble, scinet.Ensemble) and [r.run_dir.name for r in ensemble.runs] == ["seed0", "seed1"]
    assert (tmp_path / "e" / "ensemble.json").is_file()
    assert set(ensemble.laws["seeds"]) == {2} and "discovered" in ensemble.laws
    assert all(len(run.verdicts) for run in ensemble.runs)
    with pytest.raises(scinet.ScinetError, match="leave stages out"):
        scinet.run("copernicus", seeds=[0], stages=["simulate"])


def test_a_system_without_known_laws_gets_a_discovery_report(tmp_path):
    import dataclasses

    from systems.copernicus import SYSTEM

    blind = scinet.register(dataclasses.replace(SYSTEM, name="copernicus-blind", laws=lambda: ()))
    result = invoke("run", blind.name, "--run-dir", tmp_path / "r", *TINY)
    assert result.exit_code == 0, result.output
    assert "no known laws: nothing was checked against known physics" in result.output
    run = scinet.load(tmp_path / "r")
    assert run.verdicts.empty and len(run.equations) > 0  # what the network learned, checked against nothing
    report = run.report_path.read_text()
    assert "**Nothing was checked against known physics**" in report and "| law | verdict |" not in report
    assert "## Selected equations" in report and "## Latent neurons" in report
    tex = run.latex()
    assert "Nothing was checked against known physics" in tex and "\\begin{tabularx}" not in tex

"""Seed ensembles: ``scinet run SYSTEM --seeds``, what holds across seeds, and the constants' coverage."""

import json
import statistics

import pytest
import sympy as sp

from pipeline.ensemble import constant_summary, form, parse_seeds, summarise
from pipeline.errors import ConfigError
from tests.test_cli import TINY, invoke


def test_seeds_are_a_range_or_a_list_and_bounded_before_any_list_is_built():
    assert parse_seeds("0..3") == [0, 1, 2, 3]
    assert parse_seeds(" 9, 3,7,3 ") == [3, 7, 9]
    for bad in ("3..1", "", "a,b", "-1", "0..99999999999", "0..1000000000", "1,,2", "0..9999999999999999999999"):
        with pytest.raises(ConfigError, match="seeds"):
            parse_seeds(bad)


def test_a_form_is_the_equation_with_free_constants_and_without_its_sign():
    a, b = sp.symbols("a b", real=True)
    one = -a + sp.asin(sp.Float(0.655) * sp.sin(a - b)) + sp.Float(1.2)
    other = a - sp.asin(sp.Float(0.657) * sp.sin(a - b)) - sp.Float(0.3)
    assert form(one) == form(other)
    assert form(one) != form(a + sp.Float(0.2))


def _law(verdict, value=None, error=None, true=1.5):
    fitted = {} if value is None else {"rho": value}
    errors = {} if error is None else {"rho": error}
    return {"name": "mars", "verdict": verdict, "fitted_constants": fitted, "standard_errors": errors, "true_constants": {"rho": true}}


def test_the_summary_counts_discoveries_and_tests_each_seeds_interval_against_the_truth():
    rows = [
        {"seed": 0, "run_dir": "s0", "wall_s": 1.0, "laws": [_law("discovered", 1.51, 0.004)], "equations": []},
        {"seed": 1, "run_dir": "s1", "wall_s": 1.0, "laws": [_law("discovered", 1.49, 0.004)], "equations": []},
        {"seed": 2, "run_dir": "s2", "wall_s": 1.0, "laws": [_law("discovered", 1.503, 0.004)], "equations": []},
        {"seed": 3, "run_dir": "s3", "wall_s": 1.0, "laws": [_law("not discovered", 9.0, 0.1)], "equations": []},
        {"seed": 4, "run_dir": "s4", "wall_s": 1.0, "laws": [_law("not checked")], "equations": []},
    ]
    record = summarise(rows)
    assert record["laws"]["mars"] == {"discovered": 3, "checked": 4, "seeds": 5, "discovered_seeds": [0, 1, 2]}
    (c,) = record["constants"]
    assert c["n"] == 3 and c["mean"] == pytest.approx(1.501)  # the seed that did not discover the law is left out
    assert c["spread"] == pytest.approx(statistics.stdev([1.51, 1.49, 1.503]))
    assert c["standard_error_of_mean"] == pytest.approx(statistics.stdev([1.51, 1.49, 1.503]) / 3**0.5)
    assert c["covered"] == 1 and c["with_error"] == 3  # |1.51 - 1.5| and |1.49 - 1.5| exceed 2 x 0.004


def test_a_count_is_no_constant():
    law = {"name": "unused", "verdict": "discovered", "fitted_constants": {"unused": 1}, "standard_errors": {}, "true_constants": {"unused": 1}}
    rows = [{"seed": s, "run_dir": "d", "wall_s": 1.0, "laws": [law], "equations": []} for s in (0, 1)]
    record = summarise(rows)
    assert record["laws"]["unused"]["discovered"] == 2 and record["constants"] == []


def test_a_single_seed_has_no_spread():
    c = constant_summary("law", "k", [(0, 2.0, 0.1)], 2.05)
    assert c["spread"] is None and c["standard_error_of_mean"] is None and c["covered"] == 1


def test_an_ensemble_runs_each_seed_in_its_own_directory_and_writes_its_tables(tmp_path):
    ensemble_dir = tmp_path / "ens"
    result = invoke("run", "copernicus", "--seeds", "0,1", "--jobs", "1", "--run-dir", ensemble_dir, *TINY)
    assert result.exit_code == 0, result.output
    assert "discovered on" in result.output
    for seed in (0, 1):
        assert json.loads((ensemble_dir / f"seed{seed}" / "verification.json").read_text())["laws"]
    record = json.loads((ensemble_dir / "ensemble.json").read_text())
    assert record["seeds"] == [0, 1] and set(record["laws"]) >= {"latent_holds_phi_E", "mars_heliocentric_angle"}
    assert all(law["seeds"] == 2 for law in record["laws"].values())
    assert sum(e["count"] for e in record["equations"] if e["variables"] == "observations") >= 2
    for name in ("ensemble.md", "ensemble.tex"):
        assert (ensemble_dir / name).stat().st_size > 100
    model = ensemble_dir / "seed1" / "model.keras"
    before = model.stat().st_mtime_ns
    again = invoke("run", "copernicus", "--seeds", "0,1", "--jobs", "1", "--run-dir", ensemble_dir, *TINY)
    assert again.exit_code == 0, again.output
    assert model.stat().st_mtime_ns == before  # every stage was up to date: nothing trained again
    assert json.loads((ensemble_dir / "ensemble.json").read_text())["laws"] == record["laws"]


def test_seed_and_seeds_together_are_refused(tmp_path):
    result = invoke("run", "copernicus", "--seed", "1", "--seeds", "0..2", "--run-dir", tmp_path / "x")
    assert result.exit_code != 0 and "--seed and --seeds" in result.output
    bad = invoke("run", "copernicus", "--seeds", "5..1", "--run-dir", tmp_path / "y")
    assert bad.exit_code != 0 and "runs backwards" in bad.output and "Traceback" not in bad.output


def test_the_means_error_keeps_the_systematic_part_that_seeds_share():
    """Five seeds all 0.004 high with spread 0.001: the standard error of the mean alone puts the truth 9 sigma
    away; with the seeds' median systematic error (0.005) the mean's error covers it."""
    values = [(s, 0.504 + d, 0.005) for s, d in enumerate((-0.001, -0.0005, 0.0, 0.0005, 0.001))]
    c = constant_summary("law", "gamma", values, 0.5, [0.005] * 5)
    assert c["deviation_of_mean_statistical"] > 8
    assert c["systematic_error_of_mean"] == pytest.approx(0.005)
    assert abs(c["deviation_of_mean"]) < 1
    assert constant_summary("law", "gamma", values, 0.5)["error_of_mean"] == pytest.approx(c["standard_error_of_mean"])


def test_the_figure_sets_many_constants_in_rows_of_panels(tmp_path, monkeypatch):
    import warnings

    from pipeline import ensemble, figures

    # nine constants, as copernicus-elliptic has: three rows of three panels, laid out without overlap (one row of
    # nine drew its labels over each other, and tight_layout warned that it could not fit them)
    def laws(seed):
        return [{**_law("discovered", 1.5 + 0.001 * seed, 0.002), "name": f"law{k}"} for k in range(9)]

    record = summarise([{"seed": s, "run_dir": "d", "wall_s": 1.0, "laws": laws(s), "equations": []} for s in range(10)])
    assert len(record["constants"]) == 9
    drawn, save = [], figures.save
    monkeypatch.setattr(figures, "save", lambda fig, path: (drawn.append(fig), save(fig, path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ensemble._figure(tmp_path, record)
    boxes = [ax.get_position() for ax in drawn[0].axes if ax.get_visible()]
    assert len(boxes) == 9 and len({round(b.y0, 3) for b in boxes}) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert (tmp_path / "ensemble.png").exists()


def test_a_constant_no_seed_gave_a_value_of_gets_no_panel(tmp_path):
    """qubit1's prediction bound has a true value but no fitted one: its ensemble's summary once stopped at the
    figure, after every seed had run (a panel of no seeds)."""
    from pipeline import ensemble
    from pipeline.registry import get_system

    bound = {"name": "bound", "verdict": "discovered", "fitted_constants": {"max_rms": None}, "standard_errors": {}}
    bound["true_constants"] = {"max_rms": 0.01}
    rows = [{"seed": s, "run_dir": "d", "wall_s": 1.0, "laws": [bound], "equations": []} for s in range(3)]
    record = {"system": "qubit1", **summarise(rows)}
    assert [c["values"] for c in record["constants"]] == [[]]
    ensemble.write_outputs(tmp_path, get_system("qubit1"), record)
    assert not (tmp_path / "ensemble.png").exists()
    assert "ensemble.png" not in (tmp_path / "ensemble.md").read_text()  # no link to a figure not drawn
    rows = [{**row, "laws": [bound, {**_law("discovered", 1.5 + 0.001 * row["seed"], 0.002), "name": "mars"}]} for row in rows]
    record = {"system": "qubit1", **summarise(rows)}
    ensemble.write_outputs(tmp_path, get_system("qubit1"), record)
    assert (tmp_path / "ensemble.png").exists() and "](ensemble.png)" in (tmp_path / "ensemble.md").read_text()


def test_an_ensemble_directory_s_seed_runs_are_found_by_seed_in_order(tmp_path):
    from pipeline.ensemble import seed_dir, seed_dirs

    for name in ("seed10", "seed2", "seedx", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "seed3").write_text("a file, not a run")
    assert seed_dirs(tmp_path) == {2: tmp_path / "seed2", 10: tmp_path / "seed10"}
    assert list(seed_dirs(tmp_path)) == [2, 10]
    assert seed_dir(tmp_path, 7) == tmp_path / "seed7"

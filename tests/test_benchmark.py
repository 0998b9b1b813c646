"""The Feynman benchmark's own parts: reading the CSV and judging exactness (the benchmark itself is not a test)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("feynman_benchmark", ROOT / "benchmarks" / "feynman.py")
feynman = importlib.util.module_from_spec(spec)
spec.loader.exec_module(feynman)

q, r, eps = sp.symbols("q r epsilon", positive=True)
TRUE = q / (4 * sp.pi * eps * r**2)
POINTS = np.random.default_rng(0).uniform(1, 3, size=(20, 3))


@pytest.mark.parametrize(
    ("selected", "exact", "srbench"),
    [
        (q * r / (4 * sp.pi * eps * r**3), True, True),  # the same law written otherwise
        (sp.Float(0.0795774715459477) * q / (eps * r**2), False, True),  # a float for 1/(4 pi): close, not exact
        (TRUE + 1, False, True),  # off by a constant
        (q / (eps * r**2), False, True),  # off by a factor
        (q / (4 * sp.pi * eps * r), False, False),  # wrong power
    ],
)
def test_judge(selected, exact, srbench):
    assert feynman.judge(selected, TRUE, POINTS, [q, eps, r], [(1, 3)] * 3) == (exact, srbench)


def test_reads_the_feynman_layout_and_rejects_others(tmp_path):
    good = tmp_path / "eq.csv"
    good.write_text(
        "Filename,Number,Output,Formula,# variables,v1_name,v1_low,v1_high,v2_name,v2_low,v2_high\nX.1,1,F,a*b,2,a,1,2,b,3,4\n"
    )
    (eq,) = feynman.read_equations(good)
    assert eq == {"id": "X.1", "formula": "a*b", "names": ["a", "b"], "low": [1.0, 3.0], "high": [2.0, 4.0], "output": "F"}
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nx,1\n")
    with pytest.raises(feynman.BenchmarkError, match="lacks the columns"):
        feynman.read_equations(bad)


def test_runs_end_to_end_on_a_tiny_file(tmp_path, capsys):
    csv = tmp_path / "eq.csv"
    csv.write_text(
        "Filename,Number,Output,Formula,# variables,v1_name,v1_low,v1_high,v2_name,v2_low,v2_high\nX.1,1,F,a*b/2,2,a,1,2,b,3,4\n"
    )
    out = tmp_path / "results.json"
    assert (
        feynman.main(
            ["--csv", str(csv), "--budget", "2", "--seed", "1", "--out", str(out), "--n-train", "300", "--n-test", "200"]
        )
        == 0
    )
    import json

    records = json.loads(out.read_text())
    assert [(r["id"], r["engine"]) for r in records] == [("X.1", "scinet"), ("X.1", "pyoperon")]
    assert set(records[0]) >= {"id", "engine", "exact", "srbench_exact", "r2", "complexity", "seconds", "expression"}
    assert records[0]["exact"] and records[0]["expression"] == "a*b/2"
    assert "scinet exact rate / pyoperon" in capsys.readouterr().out


def test_ln_is_read_and_an_unreadable_row_is_skipped_with_its_reason(tmp_path, capsys):
    csv = tmp_path / "eq.csv"
    csv.write_text(
        "Filename,Number,Output,Formula,# variables,v1_name,v1_low,v1_high,v2_name,v2_low,v2_high\n"
        "X.1,1,F,a*ln(b),2,a,1,2,b,3,4\n"
        "X.2,2,F,a*zeta(b),2,a,1,2,b,3,4\n"
        "X.3,3,F,a*c,2,a,1,2,b,3,4\n"
    )
    first, second, third = feynman.read_equations(csv)
    assert "error" not in first and first["formula"] == "a*ln(b)"
    assert "zeta" in second["error"] and "'c'" in third["error"]
    out = tmp_path / "results.json"
    args = ["--csv", str(csv), "--budget", "1", "--out", str(out), "--n-train", "200", "--n-test", "100", "--engines", "scinet"]
    assert feynman.main(args) == 0
    printed = capsys.readouterr().out
    assert "X.2" in printed and "skipped: cannot read it" in printed
    import json

    records = {r["id"]: r for r in json.loads(out.read_text())}
    assert set(records) == {"X.1", "X.2", "X.3"} and records["X.2"]["exact"] is False and records["X.2"]["error"]


def test_judge_sees_identities_between_hyperbolic_and_exponential_forms():
    h, w, T, kb = sp.symbols("h omega T kb", positive=True)
    planck = (h / (2 * sp.pi)) * w / (sp.exp((h / (2 * sp.pi)) * w / (kb * T)) - 1)
    via_coth = -h * w * (1 - 1 / sp.tanh(h * w / (4 * sp.pi * T * kb))) / (4 * sp.pi)
    X = np.random.default_rng(0).uniform(1, 5, size=(50, 4))
    assert feynman.judge(via_coth, planck, X, [h, w, T, kb], [(1, 5)] * 4) == (True, True)
    assert feynman.judge(via_coth * 1.01, planck, X, [h, w, T, kb], [(1, 5)] * 4)[0] is False


def test_an_interrupted_benchmark_resumes_with_only_the_missing_searches(tmp_path, capsys):
    import json

    csv = tmp_path / "eq.csv"
    csv.write_text(
        "Filename,Number,Output,Formula,# variables,v1_name,v1_low,v1_high,v2_name,v2_low,v2_high\nX.1,1,F,a*b/2,2,a,1,2,b,3,4\n"
    )
    out = tmp_path / "results.json"
    common = ["--csv", str(csv), "--budget", "1", "--out", str(out), "--n-train", "200", "--n-test", "100"]
    assert feynman.main([*common, "--engines", "scinet"]) == 0
    first = json.loads(out.read_text())
    capsys.readouterr()
    assert feynman.main([*common, "--resume", "--jobs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "resuming: 1 records" in printed and "X.1          scinet" not in printed
    records = json.loads(out.read_text())
    assert [(r["id"], r["engine"]) for r in records] == [("X.1", "scinet"), ("X.1", "pyoperon")]
    assert records[0] == first[0]  # kept as it was


def test_dummy_variables_are_added_over_decades_of_either_sign_and_have_no_unit():
    eq = {"id": "X.1", "formula": "a*b", "names": ["a", "b"], "low": [1.0, 3.0], "high": [2.0, 4.0], "output": "F"}
    out = feynman.with_dummies(eq, 2, seed=0)
    assert out["names"] == ["a", "b", "dummy1", "dummy2"] and out["dummies"] == ["dummy1", "dummy2"]
    for lo, hi in zip(out["low"][2:], out["high"][2:], strict=True):
        assert lo < hi and (lo > 0 or hi < 0)
        assert abs(hi / lo) == pytest.approx(100.0) if lo > 0 else abs(lo / hi) == pytest.approx(100.0)
    assert feynman.with_dummies(eq, 2, seed=0) == out and feynman.with_dummies(eq, 0, seed=0) == eq
    units = {"a": {"[mass]": 1.0}, "b": {"[length]": 1.0}, "F": {"[mass]": 1.0, "[length]": 1.0}}
    table = feynman.equation_units(out, units)["units"]
    assert table["dummy1"] == {} and table["a"] == {"[mass]": 1.0}


def test_log_uniform_sampling_spreads_evenly_over_the_decades_of_a_one_signed_range():
    rng = np.random.default_rng(0)
    X = feynman.sample(rng, [1e-2, -1e3, -1.0], [1e2, -1e-1, 1.0], 20000, "log-uniform")
    assert (X[:, 0] >= 1e-2).all() and (X[:, 0] <= 1e2).all() and (X[:, 1] < 0).all()
    assert np.median(np.log10(X[:, 0])) == pytest.approx(0.0, abs=0.05)  # half the rows below 1: the geometric centre
    assert np.median(np.log10(-X[:, 1])) == pytest.approx(1.0, abs=0.05)
    assert np.median(X[:, 2]) == pytest.approx(0.0, abs=0.05)  # a range across zero stays uniform


def test_the_summary_gives_the_settings_the_90th_percentile_and_the_dummies_used():
    records = [
        {"id": f"X.{i}", "engine": "scinet", "exact": i < 3, "srbench_exact": i < 3, "r2": 1.0, "complexity": 5,
         "seconds": float(i), "uses_dummies": i == 4}
        for i in range(10)
    ]  # fmt: skip
    text = feynman.summary(records, {"budget": 60, "dummies": 1})
    assert text.startswith("settings: budget=60, dummies=1")
    last = text.strip().splitlines()[-1].split()
    assert last[:3] == ["scinet", "10", "30.0%"] and last[5:] == ["4.5", "8.1", "10.0%"]

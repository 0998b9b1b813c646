"""benchmarks/paired_ensembles.py: two seed ensembles compared seed by seed."""

import importlib.util
import json
from pathlib import Path

import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("paired_ensembles", ROOT / "benchmarks" / "paired_ensembles.py")
paired = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paired)


def _ensemble(root: Path, backend: str, rows: dict[int, tuple[float, str]]) -> Path:
    for seed, (rms, verdict) in rows.items():
        run = root / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "manifest.json").write_text(json.dumps({"stages": {"train": {"backend": backend, "wall_s": 1.0}}}))
        (run / "history.json").write_text(json.dumps({"prediction_rms": {"all": rms}}))
        laws = [{"name": "law_a", "verdict": "discovered"}, {"name": "law_b", "verdict": verdict}]
        (run / "verification.json").write_text(json.dumps({"laws": laws}))
    (root / "ensemble.json").write_text("{}")  # not a seed: ignored
    return root


def test_the_seeds_both_hold_are_paired_and_tested(tmp_path, capsys):
    a = _ensemble(
        tmp_path / "a",
        "jax",
        {1: (0.010, "discovered"), 2: (0.012, "discovered"), 3: (0.011, "not discovered"), 9: (0.5, "discovered")},
    )
    b = _ensemble(
        tmp_path / "b", "tensorflow", {1: (0.011, "discovered"), 2: (0.012, "not discovered"), 3: (0.013, "not discovered")}
    )
    out = tmp_path / "paired.json"
    assert paired.main([str(a), str(b), "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["seeds"] == [1, 2, 3]  # seed 9 is on one side only
    assert record["sides"] == ["jax", "tensorflow"] and record["every_law"] == [2, 1]
    assert record["paired_t_p"] == pytest.approx(stats.ttest_rel([0.010, 0.012, 0.011], [0.011, 0.012, 0.013]).pvalue)
    assert record["fisher_p"] == pytest.approx(stats.fisher_exact([[2, 1], [1, 2]])[1])
    assert record["differing_verdicts"] == [{"seed": 2, "law": "law_b", "a": "discovered", "b": "not discovered"}]
    printed = capsys.readouterr().out
    assert "every law discovered: 2 of 3 against 1 of 3" in printed and "seed 2, law_b" in printed


def test_too_few_shared_seeds_is_an_error_that_says_so(tmp_path):
    a = _ensemble(tmp_path / "a", "jax", {1: (0.01, "discovered")})
    b = _ensemble(tmp_path / "b", "tensorflow", {2: (0.01, "discovered")})
    with pytest.raises(SystemExit, match="share 0 seeds"):
        paired.main([str(a), str(b)])


def test_one_backend_on_both_sides_is_told_apart_by_the_directories(tmp_path):
    a = _ensemble(tmp_path / "before", "tensorflow", {1: (0.010, "discovered"), 2: (0.012, "discovered")})
    b = _ensemble(tmp_path / "after", "tensorflow", {1: (0.011, "discovered"), 2: (0.013, "discovered")})
    out = tmp_path / "paired.json"
    assert paired.main([str(a), str(b), "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["sides"] == [str(a), str(b)]
    assert record["runs"][0][str(a)]["prediction_rms"] == 0.010 and record["runs"][0][str(b)]["prediction_rms"] == 0.011

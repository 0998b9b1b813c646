"""Paper-ready output: the laws in their own notation with uncertainties, and a paper.tex that compiles."""

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from pipeline.catalog import Verdict
from pipeline.cli import main
from pipeline.registry import available_systems, get_system
from stages.report import law_latex
from tests.test_cli import PENDULUM_TINY, TINY


def test_the_mars_law_is_printed_in_textbook_form_with_its_constant_and_error():
    system = get_system("copernicus")
    law = next(law for law in system.known_laws() if law.name == "mars_heliocentric_angle")
    verdict = Verdict(
        name=law.name,
        kind=law.kind,
        description=law.description,
        verdict="discovered",
        fitted_constants={"rho": 1.52714, "scale": 1.0, "offset": 0.1},
        true_constants={"rho": 1.5237},
        relative_errors={"rho": 0.0023},
        standard_errors={"rho": 0.00432},
        deviations={"rho": 0.8},
    )
    equation, constants = law_latex(law, verdict, system)
    # the law of sines as a physicist writes it, in the system's symbols; the constant beside it
    assert equation == r"\phi_M = \theta_M + \arcsin{\left(\frac{\sin{\left(\theta_M - \theta_S \right)}}{\rho} \right)}"
    assert constants == [r"\rho = 1.527 \pm 0.004\ (\text{true } 1.5237,\ 0.23\,\%,\ 0.8\,\sigma)"]


def _compile(run_dir):
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=run_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (run_dir / "paper.pdf").stat().st_size > 1000


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex is not installed (Debian: texlive-latex-base, texlive-latex-recommended)"
)
@pytest.mark.parametrize(("system", "tiny"), [("copernicus", TINY), ("pendulum", PENDULUM_TINY)])
def test_paper_tex_compiles_with_pdflatex(tmp_path, system, tiny):
    run_dir = tmp_path / system
    result = CliRunner().invoke(main, ["run", system, "--run-dir", str(run_dir), *tiny], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # a tiny run may leave laws `not checked`
    figures = ("latents", "answers", "kl", "pareto") + (("series",) if system == "copernicus" else ())
    for figure in figures:
        assert (run_dir / "figures" / f"{figure}.pdf").is_file() and (run_dir / "figures" / f"{figure}.png").is_file()
    assert "\\input{equations.tex}" in (run_dir / "paper.tex").read_text()
    _compile(run_dir)


def _overfull(log: str) -> list[str]:
    """pdflatex's ``Overfull \\hbox (X pt too wide)`` lines with X over 1 pt."""
    import re

    return [m.group(0) for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*", log) if float(m.group(1)) > 1]


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex is not installed (Debian: texlive-latex-base, texlive-latex-recommended)"
)
@pytest.mark.parametrize("name", sorted(available_systems()))
def test_no_line_of_the_page_runs_into_the_margin(tmp_path, name):
    """Every law of every system with all its constants fitted (value, error, truth, deviation), and a
    selected equation far wider than the page: pdflatex sets all of it within the text width."""
    import pandas as pd
    import sympy as sp

    from stages.report import equations_tex, paper_tex

    system = get_system(name)
    verdicts = []
    for law in system.known_laws():
        printed = law.printed(system)
        names = sorted(s.name for s in printed[1].free_symbols if s.name not in system.columns) if printed else []
        names = names or ["scale", "offset"]
        verdicts.append(
            Verdict(
                name=law.name,
                kind=law.kind,
                description=law.description,
                verdict="not discovered",
                fitted_constants={n: 1.234567891 for n in names},
                true_constants={n: 1.2345 for n in names},
                relative_errors={n: 0.0000567 for n in names},
                standard_errors={n: 0.000123 for n in names},
                deviations={n: 12.3 for n in names},
            )
        )
    columns = [sp.Symbol(n, real=True) for n in system.columns][:4]
    terms = [sp.Float(1.23456 + k) * sp.sin(sp.Float(0.98765) * c + sp.Float(0.345678)) for k, c in enumerate(columns * 3)]
    one_long_term = sp.asin(sp.Add(*terms) / 20)
    equations = pd.DataFrame(
        {
            "target": ["z0", "z1"],
            "variables": ["long_sum", "long_term"],
            "expr": [sp.Add(*terms), one_long_term],
            "selected": [True, True],
        }
    )
    (tmp_path / "equations.tex").write_text(equations_tex(system, equations, verdicts))
    (tmp_path / "paper.tex").write_text(paper_tex(system, {}))
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert not _overfull((tmp_path / "paper.log").read_text(errors="replace")), _overfull((tmp_path / "paper.log").read_text())

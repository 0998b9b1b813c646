"""Paper-ready output: the laws in their own notation with uncertainties, and a paper.tex that compiles."""

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from pipeline.catalog import Verdict
from pipeline.cli import main
from pipeline.registry import get_system
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

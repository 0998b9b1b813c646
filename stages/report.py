"""Stage 6: report.md, equations.tex (to ``\\input`` into a paper) and figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.orchestrate import StageContext
from pipeline.rundir import atomic_path, read_json, write_text
from stages.export import latent_columns, load_latents
from stages.verify import load_equations


def _latex_escape(text: str) -> str:
    return text.replace("_", r"\_")


def _symbol_latex(name: str) -> str:
    import sympy as sp

    return sp.latex(sp.Symbol(name))


def equations_tex(system_name: str, equations: pd.DataFrame, records: list[dict[str, Any]]) -> str:
    lines = [
        f"% Discovered equations and verdicts for system '{system_name}', written by scinet.",
        "% \\input{equations.tex} needs amsmath and booktabs.",
        "\\begin{align}",
    ]
    selected = equations[equations["selected"]]
    rows = [
        f"  {_symbol_latex(r['target'])} &= {r['latex']} \\label{{eq:{system_name}-{r['target']}-{r['variables']}}}"
        for _, r in selected.iterrows()
    ]
    lines.append(" \\\\\n".join(rows))
    lines += [
        "\\end{align}",
        "",
        "\\begin{table}[h]",
        "\\centering",
        "\\begin{tabular}{llll}",
        "\\toprule",
        "Law & Verdict & Fitted & True \\\\",
        "\\midrule",
    ]
    for r in records:
        fitted = ", ".join(
            f"{_latex_escape(k)} = {v:.5g}" for k, v in r.get("fitted_constants", {}).items() if k in r.get("true_constants", {})
        )
        true = ", ".join(f"{_latex_escape(k)} = {v:.5g}" for k, v in r.get("true_constants", {}).items() if v is not None)
        lines.append(f"{_latex_escape(r['name'])} & {r['verdict']} & {fitted or '--'} & {true or '--'} \\\\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{Known laws of the {_latex_escape(system_name)} system checked against the "
        "equations discovered from SciNet's latent neurons.}",
        f"\\label{{tab:{system_name}-verdicts}}",
        "\\end{table}",
        "",
    ]
    return "\n".join(lines)


def report_md(ctx: StageContext, equations: pd.DataFrame, records: list[dict[str, Any]], history: dict[str, Any]) -> str:
    system = ctx.system
    rms = history.get("prediction_rms", {})
    out = [
        f"# SciNet run: {system.name}",
        "",
        system.description,
        "",
        f"Run directory `{ctx.run_dir}`, seed {ctx.config.seed}, Keras backend `{history.get('backend', '?')}`.",
        "",
        "## Prediction",
        "",
        f"Held-out series, predicted from their first observation over {rms.get('series_length', '?')} steps: "
        f"RMS error {rms.get('all', float('nan')):.4f} "
        + ", ".join(f"({n}: {rms[n]:.4f})" for n in system.observation_names if n in rms)
        + ".",
        "",
        f"Learned latent steps per time step: {', '.join(f'{w:.6f}' for w in history.get('omega', []))}.",
        "",
        "## Verdicts",
        "",
        "| law | verdict | expression | fitted | true | rel. error |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        fitted = ", ".join(f"{k} = {v:.5g}" for k, v in r.get("fitted_constants", {}).items())
        true = ", ".join(f"{k} = {v:.5g}" for k, v in r.get("true_constants", {}).items() if v is not None)
        rel = ", ".join(f"{k}: {v:.2%}" for k, v in r.get("relative_errors", {}).items())
        out.append(f"| {r['name']} | **{r['verdict']}** | `{r.get('expression')}` | {fitted} | {true} | {rel} |")
    out += ["", "## Selected equations", ""]
    for _, r in equations[equations["selected"]].iterrows():
        out.append(
            f"- `{r['target']}` from the {r['variables'].replace('_', ' ')}: `{r['sympy_format']}` "
            f"(complexity {r['complexity']}, loss {r['loss']:.3g})"
        )
    out += ["", "## Pareto fronts", ""]
    for (target, varset), front in equations.groupby(["target", "variables"], sort=False):
        out += [
            f"### {target} from the {varset.replace('_', ' ')}",
            "",
            "| complexity | loss | score | equation | selected |",
            "|---|---|---|---|---|",
        ]
        for _, r in front.iterrows():
            out.append(
                f"| {r['complexity']} | {r['loss']:.3g} | {r['score']:.3g} | `{r['sympy_format']}` | {'yes' if r['selected'] else ''} |"
            )
        out.append("")
    out += ["## Figures", "", "![latents](figures/latents.png)", "", "![pareto](figures/pareto.png)", ""]
    return "\n".join(out)


def figures(ctx: StageContext, latents: pd.DataFrame, equations: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    system = ctx.system
    targets = latent_columns(system.latent.size)[0]
    gt = system.ground_truth_names
    test = latents[latents["split"] == "test"]
    test = test.sample(min(len(test), 3000), random_state=0)
    fig, axes = plt.subplots(len(targets), len(gt), figsize=(3.2 * len(gt), 3.0 * len(targets)), squeeze=False)
    for i, t in enumerate(targets):
        for j, g in enumerate(gt):
            ax = axes[i, j]
            ax.scatter(test[g], test[t], s=2, alpha=0.4)
            ax.set_xlabel(f"${_symbol_latex(g)}$ [{system.columns[g].unit}]")
            ax.set_ylabel(f"latent ${_symbol_latex(t)}$")
    fig.suptitle(f"{system.name}: latent activations against the ground truth (held-out rows)")
    fig.tight_layout()
    with atomic_path(ctx.path("figures/latents.png")) as tmp:
        fig.savefig(tmp, dpi=ctx.config.report.dpi)
    plt.close(fig)

    groups = list(equations.groupby(["target", "variables"], sort=False))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.4 * len(groups), 3.0), squeeze=False)
    for ax, ((target, varset), front) in zip(axes[0], groups, strict=True):
        ax.plot(front["complexity"], np.maximum(front["loss"], 1e-16), "o-")
        sel = front[front["selected"]]
        ax.plot(sel["complexity"], np.maximum(sel["loss"], 1e-16), "r*", ms=12, label="selected")
        ax.set_yscale("log")
        ax.set_xlabel("complexity")
        ax.set_ylabel("held-out loss")
        ax.set_title(f"{target} ({varset.replace('_', ' ')})", fontsize=9)
    axes[0][0].legend()
    fig.tight_layout()
    with atomic_path(ctx.path("figures/pareto.png")) as tmp:
        fig.savefig(tmp, dpi=ctx.config.report.dpi)
    plt.close(fig)


def run(ctx: StageContext) -> None:
    latents, _ = load_latents(ctx)
    equations = load_equations(ctx)
    verification = read_json(ctx.path("verification.json"), producer="verify")
    history = read_json(ctx.path("history.json"), producer="train")
    records = verification.get("laws", [])
    figures(ctx, latents, equations)
    write_text(ctx.path("equations.tex"), equations_tex(ctx.system.name, equations, records))
    write_text(ctx.path("report.md"), report_md(ctx, equations, records, history))

"""Stage 6: report.md, equations.tex (to ``\\input`` into a paper) and figures.

Every word about the physics comes from the system (its description, citation,
columns and laws); every equation is printed from the parsed SymPy expression,
never copied from a file.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import sympy as sp

from pipeline import figures as page
from pipeline.catalog import Verdict, read_equations, read_history, read_latents, read_probe, read_verification
from pipeline.context import StageContext
from pipeline.latex import constant_latex, escape
from pipeline.rundir import write_text
from pipeline.stage import Output, Stage
from symreg.base import evaluate
from systems.laws.geometry import match, wrap
from systems.laws.uncertainty import latex_with_error, round_expression, with_error


def symbol_names(system) -> dict[sp.Symbol, str]:
    names = {sp.Symbol(n, real=True): c.symbol for n, c in system.columns.items() if c.symbol}
    return names


def latex_of(expr: sp.Expr, system) -> str:
    return sp.latex(expr, symbol_names=symbol_names(system), inv_trig_style="full")


def _target_latex(target: str, system) -> str:
    col = system.columns.get(target)
    if col is not None:
        return col.symbol or sp.latex(sp.Symbol(target))
    return sp.latex(sp.Symbol(target))


def _errors_by_value(constants: list[dict] | None, target: str, variables: str) -> dict[float, float]:
    """value -> standard error of a selected equation's constants (``verification.json``'s ``equations``)."""
    for entry in constants or []:
        if entry.get("target") == target and entry.get("variables") == variables:
            return dict(zip(entry.get("constants", []), entry.get("standard_errors", []), strict=False))
    return {}


def _quantity_latex(name: str, system) -> str:
    col = system.columns.get(name)
    sym = col.symbol if col is not None and col.symbol else sp.latex(sp.Symbol(name))
    unit = rf"~[\mathrm{{{col.unit}}}]" if col is not None and col.unit not in ("", "1") else ""
    return f"${sym}{unit}$"


def _quantity_of(law, system) -> str | None:
    """The quantity a law is about, where it names one: the left side of a law that is an equation, or the
    quantity a neuron holds."""
    if law is None:
        return None
    printed = law.printed(system)
    if printed is not None and isinstance(printed[0], sp.Symbol):
        return printed[0].name
    expression = getattr(law, "expression", None)
    return expression.name if isinstance(expression, sp.Symbol) and expression.name in system.columns else None


def law_latex(law, verdict: Verdict, system) -> tuple[str, list[str]] | None:
    """A law as a physicist writes it, in the system's symbols, and one line per fitted constant: its value to
    the digits its standard error supports, the error, the true value and the deviation.  The constants stand
    beside the law rather than inside it: a number put in place of ``rho`` loses its name, and SymPy would
    rewrite the law around it."""
    printed = law.printed(system)
    if printed is None or not verdict.fitted_constants:
        return None
    left, right = printed
    constants = {c.name: c for c in right.free_symbols if c.name in verdict.fitted_constants}
    equation = f"{latex_of(left, system)} = {latex_of(right, system)}"
    lines = []
    for name in sorted(constants):
        fitted, true = verdict.fitted_constants.get(name), verdict.true_constants.get(name)
        if fitted is None:
            continue
        text = (
            f"{constant_latex(name)} = "
            f"{latex_with_error(fitted, verdict.standard_errors.get(name), verdict.systematic_errors.get(name))}"
        )
        if true is not None:
            text += rf"\ (\text{{true }} {true:.6g}"
            if name in verdict.relative_errors:
                text += rf",\ {100 * verdict.relative_errors[name]:.2g}\,\%"
            if name in verdict.deviations:
                text += rf",\ {abs(verdict.deviations[name]):.1f}\,\sigma"
            text += ")"
        lines.append(text)
    return equation, lines


FIT_MACRO = r"""\makeatletter
\@ifundefined{scinetfit}{%
  \newsavebox\scinet@box
  % math set in display style, shrunk to 0.8\linewidth where it is wider (a long fitted equation)
  \newcommand\scinetfit[1]{\sbox\scinet@box{$\displaystyle #1$}%
    \ifdim\wd\scinet@box>0.8\linewidth\resizebox{0.8\linewidth}{!}{\usebox\scinet@box}\else\usebox\scinet@box\fi}%
}{}
\makeatother"""
"""defines ``\\scinetfit``: no equation runs into the margin, whatever the network's equations hold"""

LINE_CHARACTERS = 60
"""printed characters (estimated, :func:`_printed_width`) of a selected equation's right side per line"""


def _printed_width(latex: str) -> int:
    """Characters a LaTeX math string prints, roughly: commands count as one, braces and sizing as none."""
    text = re.sub(r"\\(left|right|displaystyle)", "", latex)
    text = re.sub(r"\\[a-zA-Z]+", "x", text)
    return len(re.sub(r"[{}\s^_]", "", text))


def _lines(expr: sp.Expr, system) -> list[str]:
    """The right side of an equation in LaTeX, as lines of about :data:`LINE_CHARACTERS` printed characters,
    broken between the terms of its top-level sum (each line after the first starts with its sign)."""
    whole = latex_of(expr, system)
    if _printed_width(whole) <= LINE_CHARACTERS or not expr.is_Add:
        return [whole]
    lines: list[str] = []
    for term in sp.Add.make_args(expr):
        text = latex_of(term, system)
        if lines and _printed_width(lines[-1] + text) <= LINE_CHARACTERS:
            lines[-1] += text if text.startswith("-") else f" + {text}"
        else:
            lines.append(text if not lines or text.startswith("-") else f"+ {text}")
    return lines


def equations_tex(system, equations: pd.DataFrame, verdicts: list[Verdict], constants: list[dict] | None = None) -> str:
    """The laws in their own notation, the selected equations, and the verdict table (``\\input`` it; needs
    amsmath, booktabs, graphicx and tabularx).  Nothing runs into the margin: a selected equation is broken
    between its terms and, like every law, shrunk where it is still too wide; each fitted constant has its
    own line; the table's text columns wrap."""
    lines = [
        f"% The laws, discovered equations and verdicts of the system '{system.name}', written by scinet.",
        "% \\input{equations.tex} needs amsmath, booktabs, graphicx and tabularx.",
        FIT_MACRO,
        "",
    ]
    by_name = {v.name: v for v in verdicts}
    printed = [
        (law, by_name[law.name], law_latex(law, by_name[law.name], system)) for law in system.known_laws() if law.name in by_name
    ]
    printed = [(law, v, p) for law, v, p in printed if p is not None]
    for law, v, (equation, constants_lines) in printed:
        lines += [
            f"% {law.heading}: {v.verdict}",
            "\\begin{equation}",
            f"  \\scinetfit{{{equation}}}",
            f"  \\label{{eq:{system.name}-{law.name}}}",
            "\\end{equation}",
        ]
        if constants_lines:
            lines += [
                "with",
                "\\begin{gather*}",
                " \\\\\n".join(f"  \\scinetfit{{{c}}}" for c in constants_lines),
                "\\end{gather*}",
            ]
        lines.append("")
    selected = equations[equations["selected"]] if not equations.empty else equations
    if len(selected):
        lines.append("\\begin{align}")
        rows = []
        for _, r in selected.iterrows():
            expr = round_expression(r["expr"], _errors_by_value(constants, r["target"], r["variables"]))
            parts = _lines(expr, system)
            label = f"\\label{{eq:{system.name}-{r['target']}-{r['variables']}}}"
            first = f"  {_target_latex(r['target'], system)} &= \\scinetfit{{{parts[0]}}}"
            rest = [f"  &\\quad \\scinetfit{{{{}}{p}}}" for p in parts[1:]]
            body = [first, *rest]
            body = [f"{b} \\nonumber" for b in body[:-1]] + [f"{body[-1]} {label}"]
            rows.append(" \\\\\n".join(body))
        lines += [" \\\\\n".join(rows), "\\end{align}", ""]
    if not verdicts:  # discovery: no table of verdicts, and it says so
        plain = DISCOVERY.replace("**", "").replace("`", "")
        return "\n".join([*lines, f"\\noindent {escape(plain)}", ""])
    lines += [
        "\\begin{table}[h]",
        "\\centering",
        "\\small",
        "\\begin{tabularx}{\\linewidth}{@{}>{\\raggedright\\arraybackslash}X l l "
        ">{\\raggedright\\arraybackslash}X >{\\raggedright\\arraybackslash}X@{}}",
        "\\toprule",
        "Law & Quantity & Verdict & Fitted & True \\\\",
        "\\midrule",
    ]
    laws = {law.name: law for law in system.known_laws()}
    for v in verdicts:
        law = laws.get(v.name)
        heading = law.heading if law is not None else v.name.replace("_", " ")
        quantity = _quantity_of(law, system)
        fitted = ", ".join(
            f"${constant_latex(k)} = {latex_with_error(x, v.standard_errors.get(k), v.systematic_errors.get(k))}$"
            for k, x in v.fitted_constants.items()
            if k in v.true_constants and x is not None
        )
        true = ", ".join(f"${constant_latex(k)} = {x:.6g}$" for k, x in v.true_constants.items() if x is not None)
        lines.append(
            f"{escape(heading)} & {_quantity_latex(quantity, system) if quantity else '--'} & {v.verdict} & "
            f"{fitted or '--'} & {true or '--'} \\\\"
        )
    lines += [
        "\\bottomrule",
        "\\end{tabularx}",
        f"\\caption{{Known laws of the {escape(system.name)} system checked against what SciNet learned; "
        "fitted constants with their standard errors.}",
        f"\\label{{tab:{system.name}-verdicts}}",
        "\\end{table}",
        "",
    ]
    return "\n".join(lines)


FIGURES = ("latents", "quantities", "answers", "series", "kl", "pareto")


def paper_tex(system, figures: dict[str, float]) -> str:
    """A standalone LaTeX document that ``\\input``s ``equations.tex`` and includes the figures (PDF; name ->
    width in inches).  Every figure is scaled by the same factor, the text width over a journal page's
    (:data:`pipeline.figures.PAGE_INCHES`), so all have the same type size: a one-column figure is not
    blown up to the page's width."""
    lines = [
        "% A standalone page of the results of a scinet run: pdflatex paper.tex",
        "\\documentclass[11pt]{article}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage{amsmath,amssymb,booktabs,graphicx,tabularx}",
        "\\usepackage[margin=2.5cm]{geometry}",
        "\\begin{document}",
        f"\\section*{{SciNet: {escape(system.name)}}}",
        escape(system.description) + ".",
        (f"After {escape(system.citation)}." if system.citation else ""),
        "",
        "\\input{equations.tex}",
        "",
    ]
    for name, width in figures.items():
        lines += [
            "\\begin{figure}[h]",
            "\\centering",
            f"\\includegraphics[width={min(width / page.PAGE_INCHES, 1.0):.3f}\\linewidth]{{figures/{name}.pdf}}",
            f"\\caption{{{escape(FIGURE_CAPTIONS.get(name, name))}}}",
            "\\end{figure}",
        ]
    lines += ["\\end{document}", ""]
    return "\n".join(lines)


FIGURE_CAPTIONS = {
    "latents": "Latent neurons against the ground truth (held-out samples).",
    "quantities": "Each neuron against the quantity a law says it holds.",
    "answers": "The network's answers against the true ones, and, where the system has a law of motion, the network's "
    "answers along three probed curves (dots) with the true law (lines), each curve's parameters below it.",
    "series": "Held-out series: the observations (lines) and the network's predictions from the first one (dots); "
    "the series shown are those whose answers turn back most often (for Mars: its retrograde loops).",
    "kl": "KL divergence of each neuron's posterior from the prior; grey: unused.",
    "pareto": "Pareto fronts of symbolic regression; the star is the selected equation.",
}


def _fmt(x) -> str:
    return f"{x:.5g}" if isinstance(x, int | float) else str(x)


DISCOVERY = (
    "**Nothing was checked against known physics**: this system declares no known laws (discovery).  What the "
    "network learned is all there is: which neurons it uses (above), what each active one is a function of (its "
    "selected equation and Pareto front over the candidate variables, below) and, where the system asks questions, "
    "the law of motion it answers with.  `scinet sweep` counts the degrees of freedom it needs."
)
"""what the report and equations.tex say where a system declares no known laws"""


def report_md(ctx: StageContext, equations, verdicts, history, meta, probe, constants: list[dict] | None = None) -> str:
    """``report.md``: the experiment, the prediction, the neurons, the verdicts, the equations and the figures."""
    system = ctx.system
    out = [f"# SciNet run: {system.name}", "", system.description + ".", ""]
    if system.citation:
        out += [f"After {system.citation}.", ""]
    out += [
        f"Run directory `{ctx.run_dir}`, seed {ctx.config.seed}, Keras backend `{history.backend}`, "
        f"{history.latent_size} {system.latent.kind} latent neurons, trained in {history.seconds:.0f} s.",
        "",
    ]
    out += _experiment_md(system)
    out += _prediction_md(history)
    out += _neurons_md(meta)
    out += _verdicts_md(verdicts)
    out += _selected_md(system, equations, probe, constants)
    out += _fronts_md(equations)
    out += [
        "## Figures",
        "",
        "Each as PNG and as PDF (vector, one journal column wide; point clouds as one image at `report.dpi`); "
        "`paper.tex` includes the PDFs.",
        "",
    ]
    for name in shown_figures(ctx.system, verdicts):
        out += [f"![{name}](figures/{name}.png)\n", f"*{FIGURE_CAPTIONS.get(name, name)}*\n"]
    return "\n".join(out)


def _experiment_md(system) -> list[str]:
    """The table of the system's columns: role, unit, meaning."""
    out = ["## The experiment", "", "| column | role | unit | meaning |", "|---|---|---|---|"]
    roles = {}
    for role, cols in (
        ("encoder input", system.encoder),
        ("question", system.questions),
        ("answer", system.answers),
        ("ground truth", system.ground_truth),
    ):
        for c in cols:
            roles.setdefault(c.name, [c, []])[1].append(role)
    for name, (c, rs) in roles.items():
        size = f" ({c.size} values)" if c.size > 1 else ""
        out.append(f"| `{name}`{size} | {', '.join(rs)} | {c.unit} | {c.doc} |")
    return [*out, ""]


def _prediction_md(history) -> list[str]:
    rms = history.prediction_rms
    out = [
        "## Prediction",
        "",
        f"Held-out samples, predicted from the latent means: RMS error {rms.get('all', float('nan')):.4f} "
        + ", ".join(f"({n}: {v:.4f})" for n, v in rms.items() if n != "all")
        + ".",
        "",
    ]
    if history.steps is not None:
        out += [f"Learned latent steps per time step: {', '.join(f'{w:.6f}' for w in history.steps)}.", ""]
    return out


def _neurons_md(meta) -> list[str]:
    """Each neuron's KL, the share of the answers it accounts for, and whether it is used, and the rule that decided it."""
    share, given = meta.get("needed", {}), meta.get("needed_given_others", {})

    def cell(table: dict, n: str) -> str:
        return f"{100 * table[n]:.3g} %" if n in table else "not measured"

    out = [
        "## Latent neurons",
        "",
        "| neuron | KL from the prior (nats) | answers' share, replaced by its mean | guessed from the neurons kept | status |",
        "|---|---|---|---|---|",
    ]
    for n, kl in meta["kl"].items():
        out.append(
            f"| `{n}` | {kl:.4g} | {cell(share, n)} | {cell(given, n)} | {'active' if n in meta['active'] else 'unused'} |"
        )
    return out + [
        "",
        f"A neuron is unused, and left out of regression and of the law checks, when its KL is below "
        f"{meta.get('unused_kl', 0.0):.3g} nats, or when the answers do not need it: replaced by its best guess from "
        f"the neurons kept (its mean over the {meta.get('neighbours', '?')} held-out rows nearest in them), it accounts for less than "
        f"{100 * meta.get('needed_share', 0.0):.3g} % of the rise of the answers' error without any neuron. "
        "A neuron that holds again what another holds already costs much replaced by its mean, and nothing guessed "
        "from the other; the last column gives, for a neuron kept, the share lost without it and the unused ones, "
        "for an unused one the share lost without the unused ones.",
        "",
    ]


def _closure_md(verdicts) -> list[str]:
    """A line on the system's closure: the seeds it was measured on, or why this run states none."""
    records = [v.checks["closure"] for v in verdicts if isinstance(v.checks.get("closure"), dict)]
    if not records:
        return []
    applied = [r for r in records if r.get("applied")]
    if applied:
        seeds = applied[0].get("seeds") or []
        span = f"{min(seeds)}-{max(seeds)}" if seeds else "?"
        return [f"The closure stated here was measured over seeds {span} ({applied[0].get('source', '')}).", ""]
    return [f"No closure is stated: {records[0].get('reason', '')}.", ""]


def _verdicts_md(verdicts) -> list[str]:
    """The verdicts' table, with the fitted constants' errors; where no law is declared, says so."""
    if not verdicts:
        return ["## Verdicts", "", DISCOVERY, ""]
    out = [
        "## Verdicts",
        "",
        "Fitted constants carry a statistical error (least-squares covariance, scaled by the residual variance; "
        "`standard_errors_from` in verification.json says which fit) and, where estimated, a systematic one: the "
        "network's own distortion, from refits with each of ten regions of the inputs left out (a grouped jackknife, "
        "`systems.laws.uncertainty`), and where the network gives a second reading of the same constant, the "
        "difference of the two: a law of motion fitted to the network's answers and to the observed ones, a "
        "neuron's line and its raw readings, the learned steps and the rates the encoder's readings advance by, "
        "the encoder's neuron and the decoder's predictions (`docs/results-for-a-paper.md`).  A constant read from "
        "the decoder has the bias that noise in the decoder's inputs gives a least-squares fit removed, and that "
        "amount added to its systematic error (`input_noise_bias` in verification.json).  Constants a model needs "
        "but its observation fixes poorly are fitted and not reported (`nuisance` in verification.json); another "
        "law measures them where the system has one.  A distortion shared "
        "by every seed shows in no single run: `scinet run --seeds` measures it, and where the system has a "
        "closure (`systems/closure/NAME.BACKEND.json`: from a seed ensemble of simulated data at the same settings and Keras backend, the "
        "extra error that gives the seeds' deviations from the truth, in units of their stated errors, an RMS of "
        "1), that extra error joins the constant's systematic error in quadrature; the value is not moved "
        "(`closure` in verification.json, with the ensemble's mean deviation).  The deviation from the "
        "true value is given relative and in sigma (statistical and systematic together).  The verdict uses the "
        "relative tolerance.",
        "",
        *_closure_md(verdicts),
        "| law | verdict | what it says | equation | fitted | true | rel. error |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        fitted = ", ".join(
            f"{k} = {with_error(x, v.standard_errors.get(k), v.systematic_errors.get(k)) if k in v.standard_errors else _fmt(x)}"
            for k, x in v.fitted_constants.items()
            if x is not None
        )
        true = ", ".join(f"{k} = {_fmt(x)}" for k, x in v.true_constants.items() if x is not None)
        rel = ", ".join(
            f"{k}: {x:.2%}" + (f" ({abs(v.deviations[k]):.1f} sigma)" if k in v.deviations else "")
            for k, x in v.relative_errors.items()
        )
        why = f" ({v.checks['reason']})" if "reason" in v.checks else ""
        out.append(f"| {v.name} | **{v.verdict}**{why} | {v.description} | `{v.expression}` | {fitted} | {true} | {rel} |")
    return out


def _selected_md(system, equations, probe, constants) -> list[str]:
    """Each search's selected equation with its constants' errors, and how the law of motion was read."""
    out = ["", "## Selected equations", ""]
    if equations.empty:
        out.append("None: no neuron is active.")
    for _, r in equations[equations["selected"]].iterrows() if not equations.empty else []:
        errors = _errors_by_value(constants, r["target"], r["variables"])
        out.append(
            f"- `{r['target']}` from {', '.join(f'`{n}`' for n in _names(r['variables'], system))}: "
            f"`{round_expression(r['expr'], errors)}` (complexity {r['complexity']}, held-out loss {r['loss']:.3g})"
        )
        if errors:
            out.append("  constants: " + ", ".join(with_error(c, e) for c, e in errors.items()))
    if probe is not None and system.answer_law is not None:
        spec = system.answer_law
        out += [
            "",
            f"The law of motion: the network was asked {spec.questions_per_sample} questions (`{spec.question}`) about each of "
            f"{probe['sample'].nunique()} fresh samples; its answers `{spec.answer}` were fitted as a family of curves in "
            f"`{spec.question}` whose constants are functions of "
            f"{', '.join(f'`{p}`' for p in (*spec.parameters, *spec.question_parameters))} (`symreg/family.py`"
            + (f"; `{spec.answer}` is the angle of the answered point, fitted on the circle" if spec.angle_of else "")
            + ").",
        ]
    return out


def _fronts_md(equations) -> list[str]:
    """Every search's Pareto front as a table."""
    out = ["", "## Pareto fronts", ""]
    for (target, varset), front in equations.groupby(["target", "variables"], sort=False) if not equations.empty else []:
        out += [
            f"### {target} from {varset.replace('_', ' ')}",
            "",
            "| complexity | loss | score | equation | selected |",
            "|---|---|---|---|---|",
        ]
        for _, r in front.iterrows():
            out.append(
                f"| {r['complexity']} | {r['loss']:.3g} | {r['score']:.3g} | `{r['sympy_format']}` | {'yes' if r['selected'] else ''} |"
            )
        out.append("")
    return out


def shown_figures(system, verdicts) -> list[str]:
    return [
        name
        for name in FIGURES
        if (name != "quantities" or _held_quantities(system, verdicts)) and (name != "series" or system.is_series)
    ]


def _series_figure(ctx: StageContext, plt, test: pd.DataFrame, count: int = 3) -> float | None:
    """A few held-out series over time, each answer observed and predicted; the series chosen are those whose answers
    change direction most often (angles unwrapped first): where a prediction has most to get right."""
    system = ctx.system
    if test.empty:
        return None
    answers = system.answer_names

    def turns(rows: pd.DataFrame) -> int:
        total = 0
        for name in answers:
            v = rows.sort_values("step")[name].to_numpy(dtype=float)
            v = np.unwrap(v) if system.columns[name].angle else v
            total += int(np.sum(np.diff(np.sign(np.diff(v))) != 0))
        return total

    groups = dict(list(test.groupby("series")))
    chosen = sorted(groups, key=lambda k: (-turns(groups[k]), k))[:count]
    time = system.time.name if system.time is not None else "step"
    fig, axes = plt.subplots(1, len(answers), figsize=_size(len(answers)), squeeze=False)
    for ax, name in zip(axes[0], answers, strict=True):
        for i, key in enumerate(chosen):
            rows = groups[key].sort_values("step")
            true, pred = rows[name].to_numpy(dtype=float), rows[f"{name}_pred"].to_numpy(dtype=float)
            if system.columns[name].angle:  # continuous in time, the prediction on the same turn as the truth
                true = np.unwrap(true)
                pred = true + np.angle(np.exp(1j * (pred - true)))
            ax.plot(rows[time], true, "-", lw=0.8, color=f"C{i}", label=f"series {key}")
            ax.plot(rows[time], pred, ".", ms=2.5, color=f"C{i}")
        ax.set_xlabel(_label(time, system))
        ax.set_ylabel(_label(name, system))
    axes[0][0].legend()
    fig.tight_layout()
    return _save(ctx, fig, "series")


def _names(varset: str, system) -> list[str]:
    if varset in system.regress:
        return list(system.regress[varset])
    if system.answer_law is not None:
        return system.answer_law.variables
    return []


MAX_PANELS = 5
"""panels side by side at most in a figure one page wide (more wrap to the next row)"""


def _size(cols: int, rows: int = 1, panel_height: float = 2.4) -> tuple[float, float]:
    """One column wide for one panel, the page's width for several side by side."""
    return (page.COLUMN_INCHES if cols == 1 else page.PAGE_INCHES), panel_height * rows * (1.0 if cols <= 2 else 0.8)


def _save(ctx: StageContext, fig, name: str) -> float:
    """The figure as PNG (for report.md) and as PDF (vector, for a paper; point clouds at ``report.dpi``); returns its
    width in inches."""
    width = float(fig.get_size_inches()[0])
    page.save(fig, ctx.path(f"figures/{name}"), dpi=ctx.config.report.dpi)
    return width


def _label(name: str, system) -> str:
    col = system.columns.get(name)
    sym = col.symbol if col and col.symbol else sp.latex(sp.Symbol(name))
    return f"${sym}$" + (f" [{col.unit}]" if col and col.unit not in ("", "1") else "")


def _held_quantities(system, verdicts: list[Verdict]) -> list[tuple[str, sp.Expr, Verdict]]:
    """(neuron, quantity, verdict) for every law that assigns a neuron to a quantity and named it."""
    by_name = {v.name: v for v in verdicts}
    out = []
    for law in system.known_laws():
        v = by_name.get(law.name)
        if law.assigns and v is not None and isinstance(v.latent, str):
            out.append((v.latent, law.expression, v))
    return out


def _symbol_map(system) -> dict[sp.Symbol, sp.Symbol]:
    """Ground-truth symbols to their declared LaTeX symbols (``w`` -> ``\\omega``)."""
    return {
        sp.Symbol(n, real=True): sp.Symbol(c.symbol, real=True) for n, c in system.columns.items() if c.symbol and c.size == 1
    }


def figures(
    ctx: StageContext, latents: pd.DataFrame, meta, equations: pd.DataFrame, probe, verdicts: list[Verdict] = ()
) -> dict[str, float]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(page.STYLE):
        return _figures(ctx, plt, latents, meta, equations, probe, verdicts)


def _figures(ctx: StageContext, plt, latents: pd.DataFrame, meta, equations: pd.DataFrame, probe, verdicts) -> dict[str, float]:
    """Every figure the run shows, each drawn by its own function; returns each one's width in inches."""
    system = ctx.system
    test = latents[latents["split"] == "test"]
    test = test.sample(min(len(test), 3000), random_state=0)
    widths = {"latents": _latents_figure(ctx, plt, test, meta)}
    held = _held_quantities(system, verdicts)
    if held:
        widths["quantities"] = _quantities_figure(ctx, plt, test, held)
    widths["answers"] = _answers_figure(ctx, plt, test, probe)
    if system.is_series and "series" in latents:
        width = _series_figure(ctx, plt, latents[latents["split"] == "test"])
        if width is not None:
            widths["series"] = width
    widths["kl"] = _kl_figure(ctx, plt, meta)
    widths["pareto"] = _pareto_figure(ctx, plt, equations)
    return widths


def _latents_figure(ctx: StageContext, plt, test: pd.DataFrame, meta) -> float:
    """Each neuron over the system's two heatmap quantities, or against each ground-truth quantity."""
    system = ctx.system
    neurons = list(meta["latent_columns"])
    gt = [n for n in system.ground_truth_names if system.columns[n].size == 1]
    if not neurons:  # a network without latent neurons (a sweep's baseline): nothing to draw of them
        fig, ax = plt.subplots(figsize=(page.COLUMN_INCHES, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no latent neurons (train.latent_size = 0)", ha="center", va="center")
    elif system.heatmap:
        xa, ya = system.heatmap
        fig, axes = plt.subplots(1, len(neurons), figsize=_size(len(neurons)), squeeze=False)
        for ax, n in zip(axes[0], neurons, strict=True):
            sc = ax.scatter(test[xa], test[ya], c=test[n], s=6, cmap="viridis", rasterized=True)
            fig.colorbar(sc, ax=ax)
            ax.set_xlabel(_label(xa, system))
            ax.set_ylabel(_label(ya, system))
            ax.set_title(f"neuron {n}" + ("" if n in meta["active"] else " (unused)"))
    else:  # each neuron against each quantity: a neuron's panels fill rows of at most MAX_PANELS
        cols = min(len(gt), MAX_PANELS)
        per_neuron = -(-len(gt) // cols)
        fig, axes = plt.subplots(len(neurons) * per_neuron, cols, figsize=_size(cols, len(neurons) * per_neuron), squeeze=False)
        for i, n in enumerate(neurons):
            for j, g in enumerate(gt):
                ax = axes[i * per_neuron + j // cols, j % cols]
                ax.scatter(test[g], test[n], s=2, alpha=0.4, rasterized=True)
                ax.set_xlabel(_label(g, system))
                ax.set_ylabel(f"neuron {n}" + ("" if n in meta["active"] else " (unused)"))
        for i in range(len(neurons)):  # the empty panels of a neuron's last row
            for k in range(len(gt), per_neuron * cols):
                axes[i * per_neuron + k // cols, k % cols].axis("off")
    fig.tight_layout()
    return _save(ctx, fig, "latents")


def _quantities_figure(ctx: StageContext, plt, test: pd.DataFrame, held) -> float:
    """As in the paper: each neuron against the quantity a law says it holds."""
    system = ctx.system
    gt = [n for n in system.ground_truth_names if system.columns[n].size == 1]
    fig, axes = plt.subplots(1, len(held), figsize=_size(len(held)), squeeze=False)
    for ax, (neuron, expr, verdict) in zip(axes[0], held, strict=True):
        q = evaluate(expr, [sp.Symbol(n, real=True) for n in gt], test[gt].to_numpy(dtype=float))
        z = test[neuron].to_numpy(dtype=float)
        label = f"${sp.latex(expr.xreplace(_symbol_map(system)))}$"
        if system.latent.kind == "circle":  # no 2 pi seam: the neuron with its fitted sign and offset removed
            m = match(z, q, "circle")
            ax.scatter(wrap(q), wrap(m.sign * (z - m.offset)), s=2, alpha=0.4, rasterized=True)
            ax.set_xlabel(f"{label} [rad]")
            ax.set_ylabel(f"neuron {neuron} [rad]")
        else:
            ax.scatter(q, z, s=2, alpha=0.4, rasterized=True)
            ax.set_xlabel(label)
            ax.set_ylabel(f"neuron {neuron}")
        ax.set_title(f"{verdict.name}: {verdict.verdict}")
    fig.tight_layout()
    return _save(ctx, fig, "quantities")


def _answers_figure(ctx: StageContext, plt, test: pd.DataFrame, probe) -> float:
    """Each answer predicted against the true one, and, where the system declares a law of motion, a panel of the
    network's answers along three probed curves with the true law as lines."""
    system = ctx.system
    answers = system.answer_names
    panels = len(answers) + (1 if probe is not None else 0)
    law_panel = probe is not None and system.answer_law is not None
    # a law panel's legend goes below it: the figure is taller by its three lines
    fig, axes = plt.subplots(1, panels, figsize=_size(panels, panel_height=2.8 if law_panel else 2.4), squeeze=False)
    for ax, a in zip(axes[0], answers, strict=False):
        ax.scatter(test[a], test[f"{a}_pred"], s=2, alpha=0.4, rasterized=True)
        lo, hi = float(test[a].min()), float(test[a].max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"true {_label(a, system)}")
        ax.set_ylabel("predicted")
    if law_panel:
        _law_of_motion_panel(system, axes[0][-1], probe)
    fig.tight_layout()
    return _save(ctx, fig, "answers")


def _law_of_motion_panel(system, ax, probe: pd.DataFrame) -> None:
    spec = system.answer_law
    laws = [law for law in system.known_laws() if law.true_expression() is not None]
    names, held = spec.variables, [*spec.parameters, *spec.question_parameters]
    for k, s in enumerate(sorted(probe["sample"].unique())[:3]):
        rows = probe[probe["sample"] == s].sort_values(spec.question)
        label = ", ".join(f"{p} = {rows[p].iloc[0]:.2g}" for p in held)
        answer = rows[spec.answer].to_numpy(dtype=float)
        true = None
        if laws:  # the true law on the same questions, as a line
            grid = pd.DataFrame({p: rows[p].iloc[0] for p in held}, index=range(400))
            grid[spec.question] = np.linspace(rows[spec.question].min(), rows[spec.question].max(), 400)
            true = evaluate(
                laws[0].true_expression(), [sp.Symbol(n, real=True) for n in names], grid[names].to_numpy(dtype=float)
            )
        if spec.angle_of is not None:  # an angle: the network's answers continuous along the curve, as the law
            answer = np.unwrap(answer)
            if true is not None and np.isfinite(true[0]):
                answer -= 2 * np.pi * np.round((answer[0] - true[0]) / (2 * np.pi))
        ax.plot(rows[spec.question], answer, ".", ms=3, color=f"C{k}", label=label)
        if true is not None:
            ax.plot(grid[spec.question], true, "-", lw=0.8, color=f"C{k}")
    ax.set_xlabel(_label(spec.question, system))
    ax.set_ylabel(_label(spec.answer, system))
    # below the panel, where it hides no curve: each curve's parameters (the network's answers as dots, the
    # true law as lines: the caption says so)
    ax.legend(fontsize=5, loc="upper center", bbox_to_anchor=(0.5, -0.32), frameon=False, handletextpad=0.2)


def _kl_figure(ctx: StageContext, plt, meta) -> float:
    """Each neuron's KL divergence from the prior, the unused ones grey, the threshold dashed."""
    neurons = list(meta["latent_columns"])
    fig, ax = plt.subplots(figsize=_size(1))
    kl = [meta["kl"][n] for n in neurons]  # (no bars for a network without latent neurons)
    ax.bar(neurons, kl, color=["C0" if n in meta["active"] else "0.6" for n in neurons])
    ax.axhline(meta.get("unused_kl", 0.0), color="k", ls="--", lw=0.8)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylabel("KL from the prior (nats)")
    fig.tight_layout()
    return _save(ctx, fig, "kl")


def _pareto_figure(ctx: StageContext, plt, equations: pd.DataFrame) -> float:
    """Each search's Pareto front, held-out loss over complexity, the selected equation starred."""
    groups = list(equations.groupby(["target", "variables"], sort=False)) if not equations.empty else []
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=_size(max(len(groups), 1)), squeeze=False)
    for ax, ((target, varset), front) in zip(axes[0], groups, strict=False):
        ax.plot(front["complexity"], np.maximum(front["loss"], 1e-16), "o-")
        sel = front[front["selected"]]
        ax.plot(sel["complexity"], np.maximum(sel["loss"], 1e-16), "r*", ms=12, label="selected")
        ax.set_yscale("log")
        ax.set_xlabel("complexity")
        ax.set_ylabel("held-out loss")
        ax.set_title(f"{target} ({varset.replace('_', ' ')})")
    if groups:
        axes[0][0].legend()
    fig.tight_layout()
    return _save(ctx, fig, "pareto")


def run(ctx: StageContext) -> None:
    latents, meta = read_latents(ctx)
    equations = read_equations(ctx)
    verdicts, record = read_verification(ctx)
    constants = record.get("equations", [])
    history = read_history(ctx)
    probe = read_probe(ctx)
    widths = figures(ctx, latents, meta, equations, probe, verdicts)
    write_text(ctx.path("equations.tex"), equations_tex(ctx.system, equations, verdicts, constants))
    shown = shown_figures(ctx.system, verdicts)
    write_text(ctx.path("paper.tex"), paper_tex(ctx.system, {name: widths.get(name, page.PAGE_INCHES) for name in shown}))
    write_text(ctx.path("report.md"), report_md(ctx, equations, verdicts, history, meta, probe, constants))


STAGE = Stage(
    name="report",
    help="Write report.md, equations.tex, paper.tex and the figures.",
    doc="write report, LaTeX and figures",
    inputs=("latents.parquet", "equations.parquet", "verification.json", "history.json", "probe.parquet"),
    outputs=(
        Output("report.md", "report", "the report"),
        Output("equations.tex", "latex", "selected equations and verdicts, to \\input into a paper"),
        Output("paper.tex", "latex", "a standalone page of the results (pdflatex paper.tex)"),
        Output("figures/", "figure", "every figure, as PNG (for report.md) and PDF (for LaTeX)"),
    ),
    run=run,
    reads_laws=True,
)

"""Figures for papers: sizes of a journal page, and every figure written as PDF (vector; point clouds drawn
``rasterized=True`` are one image at ``dpi``) and PNG."""

from __future__ import annotations

from pathlib import Path

from pipeline.rundir import atomic_path

COLUMN_INCHES = 3.4
"""one column of a two-column journal page (Physical Review: 3 3/8 in)"""
PAGE_INCHES = 7.0
"""both columns: a figure of several panels side by side"""
STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 6}
"""8-point type, as in a journal's figures"""


def save(fig, stem: Path, dpi: int = 150) -> None:
    """``stem.png`` (for Markdown) and ``stem.pdf`` (for LaTeX; rasterized artists at ``dpi``), each written
    atomically; closes the figure.  The PDF
    carries no creation date, so that the same run draws the same bytes (the catalog hashes every figure)."""
    import matplotlib.pyplot as plt

    with atomic_path(stem.with_suffix(".png")) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    with atomic_path(stem.with_suffix(".pdf")) as tmp:
        fig.savefig(tmp, dpi=dpi, format="pdf", metadata={"CreationDate": None})
    plt.close(fig)

"""How every chart is saved and coloured: matplotlib's default style on the Agg backend, saved without a
timestamp or version stamp at a fixed dpi, so the same inputs give byte-identical files."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from charlm.io import atomic_path

DPI = 110
# One colour per kind of entry (charlm.report.compare.ranking); "neural" for the bits charts' best neural model.
KIND_COLORS = {"neural": "tab:blue", "comparison": "tab:blue", "champion": "tab:purple", "dynamic": "tab:red",
               "mixture": "tab:green", "context mixer": "tab:brown", "n-gram": "tab:orange", "compressor": "tab:gray"}


def save_png(fig: plt.Figure, path: Path) -> None:
    """Write `fig` to `path` atomically with no metadata that changes between runs, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)

"""The report's comparison charts: learning curves, test bpc with CIs, per-book heatmap, curves against compute."""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from charlm.report.compare import Collected
from charlm.report.draw.png import KIND_COLORS, save_png
from charlm.report.results import Anchor, ModelResult

CURVE_Y = "validation bits per character (forward)"
TEST_AXIS = "test bits per character (lower is better)"
# No chart has a time axis: wall time varies run to run, and every chart is a DVC output that must not.
CHART_FILES = ("val_bpc_by_epoch.png", "test_bpc.png", "test_bpc_by_book.png", "efficiency.png")


def draw_charts(c: Collected, out_dir: Path) -> list[Path]:
    """Draw every chart into `out_dir` (of `c.entries`, only the ranked rows); returns the paths, in CHART_FILES
    order."""
    paths = [out_dir / name for name in CHART_FILES]
    ranked = c.entries[c.entries["ranked"]]
    with plt.style.context("default"):   # ignore any matplotlibrc on the machine
        save_png(learning_curves(c.inputs.results), paths[0])
        save_png(test_bpc_bars(ranked), paths[1])
        save_png(book_heatmap(ranked[ranked["book_bpc"].map(len) > 0], c.inputs.titles), paths[2])
        save_png(efficiency(c.inputs.results, c.inputs.anchor), paths[3])
    return paths


def entry_labels(df: pd.DataFrame) -> list[str]:
    """'lstm', 'champion (dynamic)', 'ensemble', 'zpaq': an entry as the charts name it."""
    return [f"{m} (dynamic)" if k == "dynamic" else m for m, k in zip(df["model"], df["kind"])]


def nothing_ranked(title: str) -> plt.Figure:
    """A chart with no data, saying why: every entry has unknown tokens (the report's Not ranked)."""
    fig, ax = plt.subplots(figsize=(8, 2))
    ax.text(0.5, 0.5, "No ranked entry: every one has unknown tokens (see Not ranked in the report)",
            ha="center", va="center")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def finish(fig: plt.Figure, ax: plt.Axes, title: str, xlabel: str, ylabel: str, legend_title: str | None
           ) -> plt.Figure:
    """Title, axis labels, a light grid and the legend: what every line or scatter chart here carries."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(title=legend_title)
    return fig


def ci_errors(df: pd.DataFrame) -> np.ndarray:
    """(2, n) distances from each test bpc down to its CI low and up to its high, for error bars."""
    return np.clip(np.vstack([df["test_bpc"] - df["ci_low"], df["ci_high"] - df["test_bpc"]]), 0, None)


def learning_curves(results: list[ModelResult]) -> plt.Figure:
    """Validation bpc of every neural model against epochs, the best n-gram as a reference line."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        if r.curve is not None:
            ax.plot(r.curve["epoch"], r.curve["val_bpc"], marker="o", markersize=3, label=r.name)
    best_ngram_line(ax, results)
    return finish(fig, ax, "Validation bpc against epochs", "epochs (passes over the training split)", CURVE_Y,
                  "model")


def best_ngram_line(ax: plt.Axes, results: list[ModelResult], metric: str = "val.bpc") -> None:
    """A dashed horizontal line at the best n-gram's `metric`: the bar a trained model has to clear."""
    ngrams = [r for r in results if r.kind == "n-gram"]
    if ngrams:
        best = min(ngrams, key=lambda r: r.eval[metric])
        ax.axhline(best.eval[metric], color="gray", linestyle="--", label=f"best n-gram ({best.name})")


def test_bpc_bars(df: pd.DataFrame) -> plt.Figure:
    """Horizontal bars of the ranked entries' test bpc, best at the top, coloured by kind, with 95% bootstrap
    intervals as error bars (none for the compressor)."""
    title = "Test bpc with 95% block-bootstrap intervals"
    if df.empty:
        return nothing_ranked(title)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(df) + 1.6))
    y = np.arange(len(df))[::-1]
    ax.barh(y, df["test_bpc"], color=df["kind"].map(KIND_COLORS))
    has_ci = df["ci_low"].notna().to_numpy()   # no error bar at all for the compressor, not a zero-width one
    ax.errorbar(df["test_bpc"][has_ci], y[has_ci], xerr=ci_errors(df[has_ci]), fmt="none", capsize=3, color="black")
    ends = df["ci_high"].fillna(df["test_bpc"])
    for yi, value, end in zip(y, df["test_bpc"], ends):
        ax.text(end + 0.03, yi, f"{value:.3f}", va="center", fontsize=9)
    ax.set_yticks(y, entry_labels(df))
    ax.set_xlim(0, ends.max() * 1.15)
    ax.set_xlabel(TEST_AXIS)
    ax.set_ylabel("entry")
    ax.set_title(title)
    kinds = [k for k in KIND_COLORS if k in set(df["kind"])]
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=KIND_COLORS[k]) for k in kinds], kinds, title="kind",
              loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="x", alpha=0.3)
    return fig


def book_heatmap(df: pd.DataFrame, book_titles: dict) -> plt.Figure:
    """Entries (rows, best first) × books (columns) of test bpc, each cell labelled."""
    if df.empty:
        return nothing_ranked("Test bpc per book")
    books = list(book_titles)
    grid = np.array([[per_book.get(str(b), np.nan) for b in books] for per_book in df["book_bpc"]])
    fig, ax = plt.subplots(figsize=(max(6, 1.0 * len(books) + 2.5), 0.5 * len(df) + 2.5))
    image = ax.imshow(grid, cmap="viridis_r", aspect="auto")
    middle = np.nanmean(grid)
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if value > middle else "black")
    ax.set_xticks(range(len(books)), [textwrap.shorten(book_titles[b], 22, placeholder="…") for b in books],
                  rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(df)), entry_labels(df))
    ax.set_xlabel("book (test part)")
    ax.set_ylabel("entry (best first)")
    ax.set_title("Test bpc per book")
    fig.colorbar(image, ax=ax, label=TEST_AXIS)
    return fig


def efficiency(results: list[ModelResult], anchor: Anchor) -> plt.Figure:
    """Each neural model's whole validation curve against the training compute spent so far, log x; the
    best n-gram's and zpaq's val bpc as horizontal reference lines.

    Compute is 6·N FLOPs per token times the tokens seen at each evaluation (ModelResult.train_flops),
    from params and token counts, not a measured time, so the chart is the same on any machine. N-grams and
    zpaq have no such cost (they count, they do not train by gradient), so they are lines, not curves.
    """
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        if r.curve is None:
            continue
        curve = r.curve[r.curve["tokens"] > 0]   # a log axis has no 0
        champion = r.role == "champion"
        label = f"{r.name} (champion)" if champion and r.name != "champion" else r.name
        ax.plot(curve["tokens"] * r.flops_per_token, curve["val_bpc"], marker="o", markersize=3,
                linewidth=2.5 if champion else 1.5, label=label)
    best_ngram_line(ax, results)
    if anchor.metrics is not None:
        ax.axhline(anchor.metrics["val.bpc"], color="black", linestyle=":",
                   label=f"zpaq -m{anchor.metrics['method']}")
    ax.set_xscale("log")
    return finish(fig, ax, "Validation bpc against training compute",
                  "training compute so far, 6·N·D FLOPs (N weights, D training tokens seen; log scale)",
                  CURVE_Y, None)
